"""Every size, count and time limit of the sync engine, with the reason for its value.

Times are seconds on the caller's monotonic clock (the engine has none of its own).
"""

from __future__ import annotations

# Largest WebSocket frame accepted from a peer. JS automerge-repo's `ws` server
# allows 100 MiB and Python `websockets` 1 MiB by default; a cold sync of a large
# document is one V2 message holding the whole saved document, so 1 MiB is far too
# small. A pod document of 20,000 changes saves to about 35 KB, so 16 MiB covers
# documents hundreds of times bigger than a pod's, while bounding what one hostile
# frame makes us hold: aiohttp buffers the frame, CBOR decoding copies its byte
# string and automerge copies it again, about four frames' worth in all. The
# runtime sets its WebSocket `max_msg_size` to this value so oversized frames
# never reach the engine.
MAX_FRAME_BYTES = 16 * 1024 * 1024

# Items (map keys, values, array elements) and nesting in one frame's CBOR. A
# protocol message is one map of at most a dozen fields; the longest honest lists
# are `supportedProtocolVersions` and the heads of `remote-heads-changed`. cbor2
# builds a Python object per item (about 8 bytes of pointer plus the object), so
# a frame of four million one-byte nulls became 31 MiB; past these limits a frame
# is refused before it is decoded (see cbor_bounds.py).
MAX_CBOR_ITEMS = 4096
MAX_CBOR_DEPTH = 8

# What one input from outside may cost automerge once inflated (see cost.py): a
# sync message's changes, a whole document, a local app's write. Measured on
# this 2-core machine (tests/bench/intake_bench.py, each input in a fresh
# process): automerge spends up to about 0.54 microseconds and 55 bytes of peak
# memory per column entry (a single change of 200,000 new map keys; list
# insertions and typed text come close), whatever the encoding: a run-length
# bomb of a million conflicting puts, 90 bytes on the wire, took 0.98 s and
# 381 MiB. Each chunk costs about as much as 32 entries (its hash, header and
# change record). So 1,500,000 weighted entries keep one input under
# LOOP_BUDGET_SECONDS (0.8 s) and near 85 MiB. Inflated bytes cost about four
# times their size while automerge loads them (a 250 MB string, 243 KB on the
# wire, held 971 MiB at its peak), so 16 MiB bounds that part near 64 MiB.
# Honest inputs are far below: a pod document of 20,000 changes saves to
# 320,000 entries. A document past these limits is sent in parts, each within
# them (guards.first_part, guards.saved_prefix); see MAX_DOCUMENT_*.
MAX_INPUT_ENTRIES = 1_500_000
MAX_INPUT_BYTES = 16 * 1024 * 1024
CHUNK_ENTRY_WEIGHT = 32

# The longest one input may hold the event loop. automerge holds the GIL while it
# works, so a thread does not help; instead every input is bounded (above) so
# that its measured worst case stays under this. Well inside the 2.5 s a
# WebSocket heartbeat waits for its pong, so other links never time out.
# Together with the peer budgets below, one peer holds the loop at most a
# quarter of the time on average.
LOOP_BUDGET_SECONDS = 1.0

# A document stored on disk is checked the same way before it is loaded at start,
# when nothing else is served yet, so it may be larger than one input: it grew
# from many. Past these it is quarantined (kept on disk, reported, not loaded).
MAX_STORED_ENTRIES = 4 * MAX_INPUT_ENTRIES
MAX_STORED_BYTES = 4 * MAX_INPUT_BYTES

# How large a document may grow through inputs from outside. Below the stored
# limits by one input, so that a document that reached it still loads at the
# next start. Past it, changes to that document are answered doc-unavailable.
# (A document beyond one input's limits goes to a peer in parts, each within
# them; only a single change past them is left out of that peer's sync rather
# than sent for it to refuse.)
MAX_DOCUMENT_ENTRIES = MAX_STORED_ENTRIES - MAX_INPUT_ENTRIES
MAX_DOCUMENT_BYTES = MAX_STORED_BYTES - MAX_INPUT_BYTES

# Frames bigger than this are measured (cost.py) on a worker thread, so a large
# frame's walk never holds the event loop; smaller ones are measured inline.
INLINE_MEASURE_BYTES = 64 * 1024

# Per peer, what its link may make this node take in, as token buckets: a burst
# of one full input, then a steady rate. A peer past its budget is not read from
# until the budget refills (TCP pushes back on it); nothing is dropped. The
# rates leave most of the loop to everyone else: a quarter of the entries one
# second of loop time can apply, and a few frames' worth of bytes a second.
PEER_ENTRIES_PER_SECOND = MAX_INPUT_ENTRIES // 4
PEER_BYTES_PER_SECOND = 8 * 1024 * 1024

# Documents a peer may make this node take up that it never held before (and so
# keep in memory and on disk), as a token bucket per proven peer that survives
# reconnects: a whole pod's worth at once (a newcomer's first sync), then a
# trickle. Past it, further new documents from that peer are answered
# doc-unavailable, and this node asks the peer for them, one per token, as the
# budget refills (guards.Intake.due).
# A pod's worth: the benchmarks' largest node holds 10,000 documents (4,096
# left a newcomer 5,900 short, see tests/bench/memory_bench.py).
PEER_NEW_DOCUMENTS_BURST = 16_384
PEER_NEW_DOCUMENTS_PER_SECOND = 1.0

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

# Whole documents one engine call sends a peer, in bytes. Past it the rest wait
# for the runtime's next report of the link's backlog: the frames already made
# leave, and the peer loads them while the next ones are saved (a new member of a
# pod of some years otherwise waited seconds for every document to be saved
# before the first left).
WHOLE_BYTES_PER_CALL = 1024 * 1024

# Documents a peer asked for, or claimed to hold (a `sync` with heads), that
# nobody here holds, and that stay registered so the content can follow if it
# turns up later. A peer asking for random ids, or sending made-up heads, must not
# grow our memory without bound; past this, such frames are answered
# `doc-unavailable` without keeping anything. Counted per proven peer across all
# its links, asks and claims apart (asks a node relays for others must not
# crowd out its own announcements); a link's wants are forgotten when it closes.
MAX_UNKNOWN_WANTS_PER_PEER = 1024

# (link's peer, sessionId) pairs remembered for ephemeral de-duplication. Every
# repo instance that ever broadcast adds one; the oldest is forgotten first.
MAX_EPHEMERAL_SESSIONS = 4096
