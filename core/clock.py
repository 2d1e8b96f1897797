"""The wall clock, declared once. Code that needs the time takes a clock (``Callable[[], int]``)
or a ``now_ms``; this is the default that the composition root and the commands pass in."""

from __future__ import annotations

import time


def wall_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000
