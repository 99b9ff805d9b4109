"""Instances that share a Redis behave as one server (PARLEY_REDIS_URL).

Per conversation, Redis holds:

- `parley:c:{id}:seq`, the seq counter: every seq comes from one atomic INCRBY, so no two
  instances ever hand out the same one. It starts above what the database has reserved, and
  instances keep reserving in the database as one process does, so a Redis that lost its data
  never hands out a seq a client has seen.
- `parley:c:{id}:events`, the stream of the conversation's events. An event with seq `n` is
  entry `n-0`, so Redis itself refuses one out of order; a status frame (no seq) after seq
  `n` is `n-1`, `n-2`... Every instance with sockets on the conversation reads the stream and
  fans it out to them. When a run ends, its last event, the end of its claim and the trimming
  of the stream to that event go in one transaction: what was trimmed is in the database.
- `parley:c:{id}:run`, the active run's claim (SET NX): the busy check of every instance.

And for the whole cluster: `parley:runs` (answer id -> its conversation and instance),
`parley:i:{instance}` (the instance's lease, a key that expires unless renewed) and the
pub/sub channel `parley:control` (stop a run, close sockets, on every instance). The counts
kept across instances: `parley:u:{user}:answers` (counters.py: a user's answers in progress,
ticket -> instance: those of an instance whose lease ended no longer count),
`parley:u:{user}:sockets` (counters.py: a user's open sockets, each scored by when its hold
ends; each instance renews its own every third of `run_lease_s`) and `parley:login:...`
(accounts/throttle.py: the login throttle's failures in a window, sorted by Redis's clock).
connection.py is this instance's link to it all; registry.py owns it.

A socket joining reads the stream first, then the database, and takes live entries that
arrive meanwhile: whatever was trimmed before the stream was read is in the database read
after it, so replay after `after_seq` has no gap, and every event is sent once by seq.

When an instance dies its lease expires; within `run_lease_s + run_lease_s / 3` another one
finds its runs, saves each with all the text its stream holds as `interrupted`, and sends the
run's `error` (code `interrupted`) to every socket.
"""
