"""How the readers of the pod layer's private documents may change.

Who reads a document is decided by :mod:`podsync.trust.ledger` from signed
records only: the pod document and the collections named in the founding
record are read by the whole pod; a private document by the readers its
creation record names, changed afterwards only as its kind's reader rule
allows. Nothing here reads a document's content.

- ``feedback-thread``: the readers named at creation, never the leader, and
  never changed (:func:`podsync.pod.feedback.thread_readers` says why).
- ``feedback-statement``: the readers named at creation (the giver, the
  stewards and the leader, or the whole pod when made public), never changed;
  a kind without a rule keeps its creation readers, so it registers none.

Importing this module registers the rules, so it must be imported wherever a
ledger is opened, before it is asked who reads anything.
"""

from __future__ import annotations

from podsync.pod import feedback
from podsync.trust.ledger import READER_RULES

READER_RULES[feedback.THREAD_KIND] = feedback.thread_readers
