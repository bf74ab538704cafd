"""A token bucket per customer account × region × API, kept in Redis and shared by all
workers (docs/architecture.md §4): botocore's `adaptive` mode keeps its rate state per process, which
lets N workers spend N times a customer's quota."""

from __future__ import annotations

import time
from functools import cache

import redis
from django.conf import settings

from .quotas import Pace

# Refill by elapsed time (Redis clock, so workers' clocks do not matter), take one token
# if there is one; else return how many milliseconds until there will be.
_TAKE = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
return wait
"""


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def take(key: str, pace: Pace, *, timeout: float = 60.0) -> float:
    """Block until a token is ours; return the seconds waited. Raises TimeoutError."""
    script = _client(settings.REDIS_URL).register_script(_TAKE)
    waited = 0.0
    while True:
        wait_ms = int(script(keys=[f"dashbird:pace:{key}"], args=[pace.rate, pace.burst]))
        if wait_ms <= 0:
            return waited
        if waited + wait_ms / 1000 > timeout:
            raise TimeoutError(f"no AWS call budget for {key} within {timeout:.0f}s")
        time.sleep(wait_ms / 1000)
        waited += wait_ms / 1000
