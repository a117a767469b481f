"""The pod's practices as automerge documents with validated, event-sourced operations.

Documents, by kind (root key ``@kind``), and who reads them:

- ``pod``: ``teams`` and ``stewards`` here (:mod:`.teams`), ``roster`` in trust — pod.
- ``needs``: the needs board (:mod:`.needs`) — pod.
- ``agreements``: agreements and their versions (:mod:`.agreements`) — pod.
- ``decisions``: advice-process decisions (:mod:`.decisions`) — pod.
- ``capacity``: check-ins and "are you mobilizing?" asks (:mod:`.capacity`) — pod.
- ``team-items``: matters a team is asked to attend to (:mod:`.teams`) — pod.
- ``feedback-thread``: one private thread (:mod:`.feedback`) — giver and stewards.
- ``feedback-statement``: a clarified statement for a leader — giver, stewards and
  leader, or the pod when made public with the giver's consent.

Items are maps: immutable creation fields plus an append-only ``events`` list.
Each event is ``{id, at (ISO UTC), by (member id), op, after, ...args}``; a state
event's ``after`` names the latest state events its author's node had seen, and
the current state is derived on read by replaying events (:mod:`.events`).
Different state changes made while apart show the item as
``needs_reconciliation`` with every candidate state, until a member settles it;
identical ones merge; notes, advice and volunteers made while apart all survive.

Every operation is ``op(tx, ..., by, at, ...)``: it validates its arguments
(:class:`~podsync.errors.InvalidInput`), reads the current state, refuses a
transition the practice does not allow (:class:`~podsync.errors.TransitionRefused`,
:class:`~podsync.errors.NotPermitted`, :class:`~podsync.errors.NotFound`) before
writing anything, then appends. Reading functions take a document (or a
transaction) and return msgspec Structs; anything time-dependent takes ``now``.
Containers are created once, by ``init_*`` in the document's creating
transaction (see :mod:`.common` for why never lazily).
"""

from podsync.pod.access import POD, readers
from podsync.pod.export import export_json, export_markdown

__all__ = ["POD", "export_json", "export_markdown", "readers"]
