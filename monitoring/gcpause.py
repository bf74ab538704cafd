"""Pause Python's cyclic garbage collector around bulk work (pure: no Django).

Parsing and storing a batch allocate a few objects per log event and none of them form
cycles: the generational collections those allocations trigger traverse every object alive
(the whole batch) and free nothing; they cost parsing a third of its time and storing more
than half. Reference counting still frees everything as usual; a cycle made meanwhile waits
for the next collection. Threads share the collector, so pauses are counted: the parse of
the next batch and the store of this one may overlap (benchmarks/ingest.py's pipeline).

The logs collector keeps the collector paused for its whole read of an account's log
groups in a region: between two batches, the next one is already parsed, and the first
collection after a pause would traverse it all (measured: 6 % of the Python side's time).
A cycle made meanwhile waits for the end of that read.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
