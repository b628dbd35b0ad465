"""Offline sync, server side: one request per sync (push ops, pull changes) over the shared rules.

Every merge goes through ``wallet_protocol.sync`` (the SDK replica imports the same functions), so
server and devices cannot disagree on a rule. Modules: :mod:`.history` (the learner's locked change
history and its rows), :mod:`.service` (client registration and the sync algorithm),
:mod:`.changes` (server-originated changes), :mod:`.actions` (server actions queued offline),
:mod:`.compaction` (tombstone purge) and :mod:`.encoding` (gzip bodies). The protocol, with the
invariants I1-I16 that docstrings cite, is ``docs/sync.md``.
"""
