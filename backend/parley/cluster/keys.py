"""What instances keep in Redis: the keys, the scripts, the entries of a conversation's
stream, the run claims and the control messages (the layout is in the package's docstring)."""

from __future__ import annotations

from typing import Literal, cast

import redis
from pydantic import BaseModel, Field

RUNS_KEY = "parley:runs"
CONTROL_CHANNEL = "parley:control"
# How long one blocking read of a stream or of the control channel waits (a reader whose
# sockets have all gone notices within this).
READ_BLOCK_MS = 1000
READ_COUNT = 500
# After an error talking to Redis, a loop waits this long before trying again.
RETRY_S = 1.0
# A stream nobody has written to for this long is dropped (its events are in the database).
STREAM_TTL_S = 24 * 3600
# Shutdown waits at most this long for events still on their way to Redis.
DRAIN_S = 5.0

# Create the counter above `floor` if it is missing, then hand out `count` seqs.
ALLOCATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCRBY', KEYS[1], ARGV[2])
"""
# Claim the conversation for a run and list the run as this instance's, or nothing.
CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""
# Count a login attempt under both rules unless one says to wait: the milliseconds to wait, or
# 0 with the attempt counted. Redis's clock, so instances whose clocks differ agree.
# KEYS: the (username, address) key, the address key; ARGV: the window in ms, each key's
# limit, a member naming this attempt.
LOGIN_ATTEMPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('ZREMRANGEBYRANK', key, 0, -tonumber(ARGV[i + 1]) - 1)
  redis.call('PEXPIRE', key, window)
end
return 0
"""
# Count an answer of a user unless the user has `limit` on instances whose lease holds (the
# answers of instances that are gone are forgotten here): 1 when counted, else 0.
# KEYS: the user's answers (ticket -> instance); ARGV: the ticket, this instance, the limit,
# the key's safety expiry in seconds, the lease keys' prefix.
ANSWER_ENTER = """
local live = 0
local answers = redis.call('HGETALL', KEYS[1])
for i = 1, #answers, 2 do
  if redis.call('EXISTS', ARGV[5] .. answers[i + 1]) == 1 then
    live = live + 1
  else
    redis.call('HDEL', KEYS[1], answers[i])
  end
end
if live >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
LEASE_PREFIX = "parley:i:"
# A user's answers key outlives the longest answer; a key of instances all gone goes then.
ANSWERS_TTL_S = 24 * 3600
# Count a socket of a user unless the user holds `limit` whose hold has not run out (those of
# an instance that stopped renewing them are dropped here): 1 when counted, else 0. Scores are
# when each hold ends, in ms of Redis's clock, so instances whose clocks differ agree.
# KEYS: the user's sockets; ARGV: the socket, the limit, the hold in ms.
SOCKET_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
# Hold a user's sockets (those open on the calling instance) for another hold from now; one
# missing (Redis lost it, or it was let in while Redis failed) is counted again.
# KEYS: the user's sockets; ARGV: the hold in ms, then the sockets.
SOCKET_RENEW = """
local t = redis.call('TIME')
local ends = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], ends, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0
"""


def seq_key(conversation_id: str) -> str:
    return f"parley:c:{conversation_id}:seq"


def events_key(conversation_id: str) -> str:
    return f"parley:c:{conversation_id}:events"


def run_key(conversation_id: str) -> str:
    return f"parley:c:{conversation_id}:run"


def lease_key(instance_id: str) -> str:
    return f"{LEASE_PREFIX}{instance_id}"


def answers_key(user_id: str) -> str:
    return f"parley:u:{user_id}:answers"


def sockets_key(user_id: str) -> str:
    return f"parley:u:{user_id}:sockets"


def login_keys(username: str, address: str) -> list[str]:
    """The throttle's keys: per (username, address), and per address. The address's length
    goes first, so no username and address pair reads as another."""
    return [
        f"parley:login:u:{len(address)}:{address}:{username.lower()}",
        f"parley:login:a:{address}",
    ]


# A stream entry: its id and the frame's JSON.
Entry = tuple[str, str]


def entries_of(raw: object) -> list[Entry]:
    """Stream entries as redis-py gives them (decoded): (id, {"f": frame}) pairs."""
    pairs = cast(list[tuple[str, dict[str, str]]], raw or [])
    return [(str(entry_id), str(fields["f"])) for entry_id, fields in pairs]


def entry_seq(entry_id: str) -> int | None:
    """The seq of a stream entry; None for a status frame."""
    seq, _, part = entry_id.partition("-")
    return int(seq) if part == "0" else None


class RunClaim(BaseModel):
    run_id: str
    message_id: str
    conversation_id: str
    instance_id: str


class ControlMessage(BaseModel):
    op: Literal["stop", "close"]
    conversation_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    # A WebSocket close code and reason (at most 123 bytes, what a close frame holds).
    code: int = Field(0, ge=0, le=4999)
    reason: str = Field("", max_length=123)


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: no password."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"


def check_reachable(url: str) -> None:
    """Raises ValueError with one clear line when Redis at `url` does not answer."""
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise ValueError(
            f"cannot reach Redis at {redacted(url)} (PARLEY_REDIS_URL): {exc}"
        ) from exc
    finally:
        client.close()
