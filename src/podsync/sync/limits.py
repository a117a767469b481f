"""Every size, count and time limit of the sync engine, with the reason for its value.

Times are seconds on the caller's monotonic clock (the engine has none of its own).
"""

from __future__ import annotations

# Largest WebSocket frame accepted from a peer. JS automerge-repo's `ws` server
# allows 100 MiB and Python `websockets` 1 MiB by default; a cold sync of a large
# document is one V2 message holding the whole saved document, so 1 MiB is far too
# small, while 64 MiB covers documents hundreds of times bigger than a pod's while
# bounding what one hostile frame can make us allocate. The runtime should set its
# WebSocket `max_size` to this value so oversized frames never reach the engine.
MAX_FRAME_BYTES = 64 * 1024 * 1024

# How long a link may stay without a completed handshake. The JS client retries
# every 5 s and sends `join` as soon as the socket opens; a LAN peer answers in
# milliseconds. Anything slower is a dead or hostile socket holding a slot.
HANDSHAKE_TIMEOUT = 15.0

# How long a request for a document nobody here holds waits for the peers it was
# forwarded to (and how long a local find waits). JS handles give up after 60 s,
# so a relay must answer well before; a peer that holds the document answers its
# first message within one round trip, so only silent peers ever reach this.
REQUEST_TIMEOUT = 10.0

# Documents whose sync this engine started unasked (announcements) and that have
# not yet gone quiet, per peer. JS announces every open document at once, which is
# what made an announce-everything client with about 100 handles spike the CPU of
# its server; 16 keeps a LAN round trip busy while a reconnect with thousands of
# documents streams through at the pace the peer answers.
MAX_DOCS_IN_FLIGHT = 16

# An announced sync that neither settles nor gets an answer frees its slot after
# this long, so one stuck document cannot stall the rest of the queue.
IN_FLIGHT_TIMEOUT = 60.0

# How long we withhold announcements from a podsync peer while waiting for its
# summary. It sends the summary right after the handshake; if it does not arrive
# in this time we fall back to announcing every document one by one.
SUMMARY_TIMEOUT = 10.0

# Send backlog (bytes written to the link but not yet drained by the socket, as
# reported by the runtime). Above the pause mark no new announcements start for
# that peer; above the limit the peer is closed as too slow. The limit is twice the
# largest frame so that one maximal document can always be in the pipe.
SEND_BACKLOG_PAUSE_BYTES = 8 * 1024 * 1024
SEND_BACKLOG_LIMIT_BYTES = 2 * MAX_FRAME_BYTES

# Documents a peer asked for that nobody here holds and that stay registered so the
# content can follow if it turns up later. A peer asking for random ids must not
# grow our memory without bound; past this, requests are answered
# `doc-unavailable` without keeping anything.
MAX_UNKNOWN_WANTS_PER_PEER = 1024

# (senderId, sessionId) pairs remembered for ephemeral de-duplication. Every repo
# instance that ever broadcast adds one; the oldest is forgotten first.
MAX_EPHEMERAL_SESSIONS = 4096
