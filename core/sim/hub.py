"""What every venue of the simulator shares at run time: the market model, the fault spec, the
counters, the tick signal that wakes the public streams, the open connections (for ``drop``)
and the random source of the wire (conn ids, sequence numbers, chaos draws).

The hub holds no venue code; the venues (``core.sim.venues.*``) read it and the exchange
(``core.sim.exchange``) drives it.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from core.sim.chaos import ChaosSpec
from core.sim.model import MarketModel


@dataclass(slots=True)
class SimStats:
    """Counters of what the simulator did, for tests and the ``sim`` command's summary."""

    connections: int = 0
    frames: int = 0  # public data frames sent (garbage and repeats included)
    garbage: int = 0
    repeated: int = 0
    swapped: int = 0
    drops: int = 0
    refused: int = 0
    stalled_ticks: int = 0
    ticks: int = 0
    listener_errors: int = 0
    tick_errors: int = 0
    requests: int = 0  # REST requests answered (errors included)
    http_500: int = 0  # chaos: answered 500 without doing anything
    dropped_responses: int = 0  # chaos: done, then the reply was lost
    rate_limited: int = 0  # answered with the venue's rate-limit reply
    auth_failures: int = 0
    private_frames: int = 0  # private stream pushes
    liquidations: int = 0


class Droppable(Protocol):
    """An open websocket connection the ``drop`` fault can close."""

    def abort(self) -> None: ...

    def close_soon(self) -> None: ...


class Hub:
    """The shared run-time state; see the module doc."""

    def __init__(
        self,
        model: MarketModel,
        chaos: ChaosSpec,
        *,
        seed: int,
        wall_clock: Callable[[], float],
        api_clock_ms: Callable[[], int],
        limit_clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.model = model
        self.chaos = chaos
        self.stats = SimStats()
        self.rng = random.Random(seed * 7919 + 17)
        # REST chaos draws from its own stream, so enabling it never changes the market wire.
        self.rest_rng = random.Random(seed * 104_729 + 3)
        # Account ids (orders, fills, listen keys, private message ids): their own stream too.
        self.ids_rng = random.Random(seed * 15_485_863 + 11)
        self.wall = wall_clock
        self.api_clock_ms = api_clock_ms  # the clock signed requests are checked against
        self.limit_clock_ms = limit_clock_ms or api_clock_ms  # the rate limiters' windows
        self.t0 = 0.0
        self.tick_event: asyncio.Event | None = None
        self.stall_started: asyncio.Event | None = None
        self.conns: set[Droppable] = set()
        self.side_tasks: set[asyncio.Task[Any]] = set()
        # Called with each public data frame just before it is written (benchmarks time it).
        self.on_frame_sent: Callable[[str], None] | None = None

    def now_ms(self) -> int:
        """The market (simulated) clock."""
        return self.model.now_ms

    def elapsed_s(self) -> float:
        return self.wall() - self.t0

    def stalled(self) -> bool:
        return self.chaos.stalled(self.elapsed_s())

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.side_tasks.add(task)
        task.add_done_callback(self.side_tasks.discard)

    def conn_id(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        head = "".join(self.rng.choice(alphabet) for _ in range(20))
        tail = "".join(self.rng.choice(alphabet) for _ in range(5))
        return f"{head}-{tail}"

    def garble(self, text: str, rng: random.Random) -> str:
        kind = rng.randrange(3)
        if kind == 0:
            return text[: max(1, len(text) // 2)]
        if kind == 1:
            return "\x00sim-garbage\ufffd" + text[:8]
        return text + "}"
