"""The pod's practices as signed records with validated, event-sourced operations.

Documents, by kind, and who reads them (decided by podsync.trust.ledger from
signed records only):

- ``pod``: membership (podsync.trust), teams (:mod:`.teams`), stewards
  (:mod:`.stewards`), where feedback ended up (:mod:`.statements`) — pod.
- ``needs``: the needs board (:mod:`.needs`) — pod.
- ``agreements``: agreements and their versions (:mod:`.agreements`) — pod.
- ``decisions``: advice-process decisions (:mod:`.decisions`) — pod.
- ``capacity``: check-ins (:mod:`.capacity`), "are you mobilizing?" asks
  (:mod:`.discernment`) and allies (:mod:`.allies`) — pod.
- ``team-items``: matters a team is asked to attend to (:mod:`.teams`) — pod.
- ``feedback-thread``: one private thread (:mod:`.feedback`) — giver and stewards.
- ``feedback-statement``: a clarified statement for a leader (:mod:`.statements`)
  — stewards and leader (and the giver, if they chose that their name travels),
  or the pod when made public with the giver's consent.

An item is the record that created it plus every counted record about it
(:class:`.events.Item`). Each later record is an event ``{id, at, by (the
signer's member), op, after, args}``; a state event's ``after`` names the latest
state events its author's node had seen, and the current state is derived on
read by replaying events (:mod:`.events`). Different state changes made while
apart show the item as ``needs_reconciliation`` with every candidate state,
until a member settles it; identical ones merge; notes, advice and volunteers
made while apart all survive.

Operations are pure: ``op(item, by, ...)`` validates its arguments
(:class:`~podsync.errors.InvalidInput`), reads the item's state, refuses what the
practice does not allow (:class:`~podsync.errors.TransitionRefused`,
:class:`~podsync.errors.NotPermitted`, :class:`~podsync.errors.NotFound`) and
returns a :class:`~podsync.records.format.Draft` for the caller to sign and
store. Replay applies the same rules, so a signed record that breaks them
changes nothing. Reading functions take items and return msgspec Structs;
anything time-dependent takes ``now``.
"""
