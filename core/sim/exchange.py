"""The built-in exchange: the seeded ``MarketModel`` served over loopback by each venue of
``core.sim.venues`` (public streams, REST, private streams, accounts).

One server per real host, as the venues split them: Bybit's stream host (``/v5/public/*`` and
``/v5/private``), Binance COIN-M's stream host (market streams and the user data stream),
Binance spot's stream host, then the REST hosts (Bybit ``api``, Binance ``dapi``, Binance
``api``), then OKX's host (``/ws/v5/public`` and ``/api/v5/public/instruments``) and
Deribit's (JSON-RPC at ``/ws/api/v2`` and ``/api/v2/public/*``). With ``port=P`` > 0 they
listen on P, P+1, … P+7 (see ``_port_plan``); with 0 each gets an ephemeral port. OKX and
Deribit serve public market data only (no accounts).

Clock: with ``autostep`` (the default) a task advances the model in fixed simulated steps of
``interval_ms · speed`` and publishes once per ``interval_ms`` of wall time, so the price path
depends only on the seed (the wall clock decides when, never what). With ``autostep=False``
nothing moves until the caller awaits ``advance(ms)``: tests step simulated time and never
sleep to synchronise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from core.sim.chaos import ChaosSpec
from core.sim.hub import Hub, SimStats
from core.sim.model import DEFAULT_COINS, MarketModel, ModelParams, Settlement, coin_params
from core.sim.seed import AccountSeed
from core.sim.venues.base import Endpoint, SimVenue
from core.sim.venues.binance import BinanceVenue
from core.sim.venues.bybit import BybitVenue
from core.sim.venues.deribit import DeribitVenue
from core.sim.venues.okx import OkxVenue

MAX_CATCH_UP_STEPS = 50
log = logging.getLogger("hedgetop.sim")


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SimExchange:
    """A local exchange on loopback. ``await start()`` returns the public ws:// URLs keyed like
    ``core.feeds.DEFAULT_URLS`` (``endpoints`` lists every URL, REST and private included);
    ``await stop()`` closes everything.

    ``now_ms()`` is the simulated clock (ms since the epoch, accelerated by ``speed``),
    ``price(coin)`` the current index in USD. ``interval_ms`` is the wall time between two
    updates of each instrument; ``start_ms`` the simulated start time (default: wall time now).
    ``api_clock_ms`` is the clock signed requests' timestamps are checked against (the wall
    clock: what a client can know; see the venues' ``rest`` modules); ``limit_clock_ms`` the one
    the rate limiters count windows on (default: the API clock; tests freeze it).
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        speed: float = 1.0,
        coins: Sequence[str] = DEFAULT_COINS,
        chaos: ChaosSpec | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        interval_ms: float = 100.0,
        start_ms: int | None = None,
        params: ModelParams | None = None,
        wall_clock: Callable[[], float] = time.monotonic,
        api_clock_ms: Callable[[], int] = wall_ms,
        limit_clock_ms: Callable[[], int] | None = None,
        autostep: bool = True,
        accounts: AccountSeed | None = None,
        rate_limits: bool = True,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        if not interval_ms > 0:
            raise ValueError(f"interval_ms must be > 0, got {interval_ms!r}")
        self.coins: tuple[str, ...] = tuple(dict.fromkeys(coin_params(c).coin for c in coins))
        top = 65535 - self.port_count() + 1
        if not 0 <= port <= top:
            raise ValueError(f"port must be between 0 and {top}, got {port!r}")
        self.seed = seed
        self.speed = float(speed)
        self.chaos = chaos or ChaosSpec()
        self.host = host
        self.port = port
        self.interval_ms = float(interval_ms)
        self.step_ms = max(1, round(self.interval_ms * self.speed))
        self.autostep = autostep
        if start_ms is None:
            start_ms = wall_ms()
        self.model = MarketModel(self.coins, seed=seed, start_ms=start_ms, params=params)
        self.hub = Hub(
            self.model,
            self.chaos,
            seed=seed,
            wall_clock=wall_clock,
            api_clock_ms=api_clock_ms,
            limit_clock_ms=limit_clock_ms,
        )
        self.seed_accounts = accounts or AccountSeed()
        self.bybit = BybitVenue(self.hub, self.coins, self.seed_accounts, rate_limits=rate_limits)
        self.binance = BinanceVenue(
            self.hub, self.coins, self.seed_accounts, rate_limits=rate_limits
        )
        self.okx = OkxVenue(self.hub, self.coins)
        self.deribit = DeribitVenue(self.hub, self.coins)
        self.venues: list[SimVenue] = [self.bybit, self.binance, self.okx, self.deribit]
        self.on_settlement: Callable[[Settlement], None] | None = None
        self._steps = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self.endpoints: list[Endpoint] = []
        self._bound: list[tuple[int, ...]] = []

    @staticmethod
    def port_count() -> int:
        """Servers opened (see ``_port_plan``)."""
        return 8

    # -- public --------------------------------------------------------------------------------

    @property
    def stats(self) -> SimStats:
        return self.hub.stats

    @property
    def stall_started(self) -> asyncio.Event | None:
        return self.hub.stall_started

    @property
    def on_frame_sent(self) -> Callable[[str], None] | None:
        return self.hub.on_frame_sent

    @on_frame_sent.setter
    def on_frame_sent(self, hook: Callable[[str], None] | None) -> None:
        self.hub.on_frame_sent = hook

    def now_ms(self) -> int:
        """The simulated clock, in ms since the epoch."""
        return self.model.now_ms

    def price(self, coin: str) -> float:
        """The current index price of ``coin`` in USD."""
        return self.model.price(coin)

    @property
    def urls(self) -> dict[tuple[str, str], str]:
        """The public market-stream URLs, keyed (venue, socket) like ``core.feeds``."""
        return {
            (venue, what): url
            for venue, what, url in self.endpoints
            if what in ("inverse", "spot") and url.startswith("ws")
        }

    def endpoint(self, venue: str, what: str) -> str:
        for v, w, url in self.endpoints:
            if (v, w) == (venue, what):
                return url
        raise KeyError((venue, what))

    async def start(self) -> dict[tuple[str, str], str]:
        """Open the servers and start the clock; returns the public ws:// URLs."""
        if self._started:
            return self.urls
        hub = self.hub
        hub.tick_event = asyncio.Event()
        hub.stall_started = asyncio.Event()
        for v in self.venues:
            v.refresh()
        self._started = True
        try:
            # The public stream hosts first (P, P+1, P+2 as before), then the REST hosts.
            plan = self._port_plan()
            self.endpoints.clear()
            bound: list[tuple[int, ...]] = []
            for v, ports in zip(self.venues, plan, strict=True):
                served = await v.start(self.host, ports)
                self.endpoints.extend(served)
                bound.append(_ports_of(served))
            self._bound = bound
        except OSError:
            await self.stop()
            raise
        hub.t0 = hub.wall()
        self._steps = 0
        if self.autostep:
            self._tasks.append(asyncio.create_task(self._clock()))
        if self.chaos.drop_every_s is not None:
            self._tasks.append(asyncio.create_task(self._dropper(self.chaos.drop_every_s)))
        return self.urls

    def _port_plan(self) -> list[tuple[int, ...]]:
        """Ports per venue: Bybit stream P, Binance streams P+1 and P+2, then Bybit REST P+3,
        Binance dapi P+4 and api P+5, OKX P+6, Deribit P+7 (all 0 when ``port`` is 0).

        Started again after ``stop``, each server reopens on the port it had, as an exchange
        comes back at its address after an outage (and no neighbouring port must be free)."""
        if self._bound:
            return list(self._bound)
        if not self.port:
            return [tuple(0 for _ in range(v.port_count())) for v in self.venues]
        p = self.port
        fixed = [(p, p + 3), (p + 1, p + 2, p + 4, p + 5), (p + 6,), (p + 7,)]
        return [ports[: v.port_count()] for v, ports in zip(self.venues, fixed, strict=True)]

    async def stop(self) -> None:
        """Stop the clock, close every connection and server."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        for v in self.venues:
            await v.stop()
        for t in list(self.hub.side_tasks):
            t.cancel()
        self.hub.side_tasks.clear()
        self._started = False

    def elapsed_s(self) -> float:
        """Wall seconds since ``start``."""
        return self.hub.elapsed_s()

    def stalled(self) -> bool:
        return self.hub.stalled()

    async def advance(self, ms: int) -> None:
        """Move simulated time ``ms`` forward in steps of ``step_ms`` (the last one shorter),
        settling funding, filling resting orders and liquidating on the way, then publish.
        Private pushes caused by the steps are written before this returns."""
        left = int(ms)
        while left > 0:
            dt = min(self.step_ms, left)
            self._step(dt)
            left -= dt
        self._publish()
        await asyncio.sleep(0)  # let the writers run

    async def shock(self, coin: str, rel: float) -> None:
        """Jump ``coin``'s price by ``rel`` now (0.1: 10 % up), then let the venues react (fill
        resting orders, liquidate) and publish, as after a step of the market."""
        self.model.shock(coin, rel)
        for v in self.venues:
            v.stepped()
        self._publish()
        await asyncio.sleep(0)

    # -- clock ---------------------------------------------------------------------------------

    def _step(self, dt_ms: int) -> None:
        for st in self.model.advance(dt_ms):
            for v in self.venues:
                if v.name == st.venue:
                    v.settle(st)
            self._settled(st)
        for v in self.venues:
            v.stepped()

    async def _clock(self) -> None:
        interval_s = self.interval_ms / 1000.0
        hub = self.hub
        while True:
            due = int((hub.wall() - hub.t0) / interval_s)
            steps = due - self._steps
            if steps > MAX_CATCH_UP_STEPS:
                # Far behind (a suspended laptop, a busy machine): simulated time slows down
                # rather than the server spending seconds catching up.
                self._steps = due - MAX_CATCH_UP_STEPS
                steps = MAX_CATCH_UP_STEPS
            try:
                for _ in range(max(0, steps)):
                    self._step(self.step_ms)
                if steps > 0:
                    self._publish()
            except Exception:  # a bug in one tick must not stop the market
                hub.stats.tick_errors += 1
                log.exception("sim tick failed")
            self._steps += max(0, steps)
            next_at = hub.t0 + (self._steps + 1) * interval_s
            await asyncio.sleep(max(0.0, next_at - hub.wall()))

    def _settled(self, st: Settlement) -> None:
        if self.on_settlement is None:
            return
        try:
            self.on_settlement(st)
        except Exception:  # a listener's bug must not stop the market
            self.hub.stats.listener_errors += 1

    def _publish(self) -> None:
        hub = self.hub
        hub.stats.ticks += 1
        for v in self.venues:
            v.refresh()
        if self.stalled():
            hub.stats.stalled_ticks += 1
            if hub.stall_started is not None:
                hub.stall_started.set()
        ev = hub.tick_event
        hub.tick_event = asyncio.Event()
        if ev is not None:
            ev.set()

    # -- chaos ---------------------------------------------------------------------------------

    async def _dropper(self, every_s: float) -> None:
        k = 0
        while True:
            await asyncio.sleep(every_s)
            for conn in list(self.hub.conns):
                k += 1
                self.hub.stats.drops += 1
                if k % 2:
                    conn.abort()
                else:
                    conn.close_soon()


def _ports_of(served: Sequence[Endpoint]) -> tuple[int, ...]:
    """The ports a venue's endpoints listen on, in the order its servers were opened (each
    venue lists its endpoints server by server)."""
    ports: list[int] = []
    for _, _, url in served:
        port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        if port not in ports:
            ports.append(port)
    return tuple(ports)
