"""A live session: (optionally) the built-in simulator, one feed runner per venue socket, the
engine, alerts and a fixed-rate tick, composed for the dashboard and for ``hedgetop record``.

Flow: feed runners hand each quote to ``Engine.on_quote`` (which only stores it); every
``config.snapshot_interval_ms`` the tick settles funding, computes a snapshot, evaluates the
alerts and calls the listeners. Listeners are plain callables in lists (``on_snapshot``,
``on_fill``, ``on_funding``, ``on_alert``), called on the event loop: keep them quick. A
listener that raises is logged and counted; the tick goes on. Notifications (``core.notify``,
apprise) are two such listeners when ``[notify]`` names URLs; they only queue, a thread sends.

Clocks: the *market* clock (funding times, countdowns, snapshot ``ts_ms``) is the simulator's
when the session runs on it (so an accelerated market settles funding on its own schedule),
else the wall clock; receive times and staleness always use the wall clock.

Contract specs: off the simulator, ``start()`` also refreshes the hedges' specs (margin tiers,
tick, lot, funding interval) from ccxt markets in the background (``core.markets``: fresh disk
cache, else ccxt, else stale cache, else the built-in table) and hands them to
``Engine.update_specs`` on the loop. Until then, and whenever that fails, the built-in table
serves; failures land in ``feed_errors`` and ``spec_notes``, never in a crash. On the
simulator the demo keeps the built-in table; the simulator's accounts are seeded from the
config (``core.sim_accounts``), ready for account reading through ccxt.

Real orders: with ``[broker] kind = "ccxt"`` and ``trading_enabled = true`` (and not on the
simulator) the session holds a ``CcxtLiveBroker`` (``live_trading`` is True); ``execute``
(the paper path) then refuses, and ``execute_live(plan, confirmed=True)`` sends the order and
records what the venue says filled through ``Engine.apply_fill``. When the config asks for
ccxt but a gate is closed, ``trading_refusal`` says which and nothing executes at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.alerts import AlertEngine
from core.config import Config
from core.engine import Engine, PlanRefused, ResizePlan
from core.events import AlertEvent, AlertState, FeedHealth, Fill, FundingEvent
from core.instruments import ContractSpec, size_usd_from_contracts
from core.ledger import Ledger, MemoryLedger
from core.snapshot import PortfolioSnapshot

if TYPE_CHECKING:
    from core.brokers.ccxt_live import CcxtLiveBroker, ExchangeFactory, OrderResult
    from core.feeds.runner import FeedRunner
    from core.notify import Notifier
    from core.sim import SimExchange

log = logging.getLogger("hedgetop.live")

T = TypeVar("T")
SpecLoader = Callable[..., Mapping[tuple[str, str], ContractSpec]]


def wall_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """A real order's outcome: the venue's answer, the fill recorded (None: nothing filled
    or it could not be recorded) and one line for the user."""

    result: OrderResult
    fill: Fill | None
    message: str
    problem: bool  # partial, rejected, unknown or not recorded: worth an alert line


class LiveSession:
    """See the module docstring. ``config=None`` is the demo portfolio on the simulator.

    ``sim_interval_ms`` is the simulator's push interval (wall ms per update per instrument);
    ``urls`` overrides feed URLs per (venue, socket) after the config's (tests).
    ``refresh_specs`` (off the simulator only; off by default so that tests and benchmarks never
    reach for the network: the commands turn it on) refreshes contract specs in the background
    with ``spec_loader`` (default ``core.markets.load_specs_for``, called in a thread as
    ``spec_loader(pairs, now_ms=..., cache_dir=..., on_error=...)``); ``spec_cache_dir``
    defaults to ``core.markets.default_cache_dir()``. ``specs_done`` is set once that is over
    (applied, failed or not needed). ``environ`` (default ``os.environ``) holds the API keys and
    ``exchange_factory`` builds the ccxt exchange of real orders (tests inject fakes).
    ``notify`` (default on) sends the alerts through apprise when ``[notify]`` or
    ``HEDGETOP_NOTIFY_URLS`` names URLs (``core.notify``), one process per database when
    ``notify_lock`` names the database's lock file.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        ledger: Ledger | None = None,
        specs: Mapping[tuple[str, str], ContractSpec] | None = None,
        wall_clock: Callable[[], int] = wall_ms,
        tick_ms: int | None = None,
        sim_interval_ms: float = 100.0,
        urls: Mapping[tuple[str, str], str] | None = None,
        refresh_specs: bool = False,
        spec_loader: SpecLoader | None = None,
        spec_cache_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        exchange_factory: ExchangeFactory | None = None,
        notify: bool = True,
        notify_lock: Path | None = None,
    ) -> None:
        if config is None:
            from core.demo import demo_config

            config = demo_config()
        self.config = config
        self.ledger: Ledger = ledger if ledger is not None else MemoryLedger()
        self._wall = wall_clock
        self.tick_ms = tick_ms or config.snapshot_interval_ms
        self._urls = dict(urls or {})
        self.sim: SimExchange | None = None
        if config.simulator.enabled:
            from core.sim import SimExchange, parse_chaos
            from core.sim.model import COIN_TABLE
            from core.sim_accounts import seed_from_config

            s = config.simulator
            self.sim = SimExchange(
                seed=s.seed,
                speed=s.speed,
                coins=[c for c in config.coins() if c in COIN_TABLE],
                chaos=parse_chaos(s.chaos) if s.chaos else None,
                interval_ms=sim_interval_ms,
                accounts=seed_from_config(config),
            )
        self.engine = Engine(config, specs, self.ledger, self.now_ms())
        self.alerts = AlertEngine(config.alerts)
        self.on_snapshot: list[Callable[[PortfolioSnapshot], None]] = []
        self.on_fill: list[Callable[[Fill], None]] = []
        self.on_funding: list[Callable[[FundingEvent], None]] = []
        self.on_alert: list[Callable[[AlertEvent], None]] = []
        self.latest: PortfolioSnapshot | None = None
        self.ticks = 0
        self.quotes = 0
        self.listener_errors = 0
        self.tick_errors = 0
        self.feed_errors: list[str] = []
        self.notifier: Notifier | None = None
        if notify:
            from core.notify import Notifier

            notifier = Notifier(
                config.notify,
                wall_clock=wall_clock,
                describe=self.alerts.describe,
                environ=environ,
                lock_path=notify_lock,
                on_problem=self.feed_errors.append,
            )
            if notifier.enabled:
                self.notifier = notifier
                self.on_alert.append(notifier.on_alert)
                self.on_snapshot.append(notifier.on_snapshot)
        self.runners: list[FeedRunner] = []
        self.runner_keys: list[tuple[str, str]] = []  # (venue, socket) of each runner
        self._tasks: list[asyncio.Task[Any]] = []
        self._tick_task: asyncio.Task[None] | None = None
        self._ticked: asyncio.Condition | None = None
        self._started = False
        self.refresh_specs = refresh_specs
        self._spec_loader = spec_loader
        self._spec_cache_dir = spec_cache_dir
        self._spec_task: asyncio.Task[None] | None = None
        self.spec_notes: list[str] = []  # what the spec refresh did or why it did not
        self.specs_done = asyncio.Event()
        self.live_broker: CcxtLiveBroker | None = None
        self.trading_refusal: str | None = None  # ccxt asked for, a gate closed: why
        if config.broker.kind == "ccxt":
            from core.brokers.ccxt_live import CcxtLiveBroker, TradingDisabled

            try:
                if self.sim is not None:
                    raise TradingDisabled(
                        "live trading is off while [simulator] enabled = true "
                        "(its prices are not the venue's)"
                    )
                self.live_broker = CcxtLiveBroker(
                    config.broker, environ=environ, exchange_factory=exchange_factory
                )
            except TradingDisabled as exc:
                self.trading_refusal = str(exc)
                log.warning("%s", exc)

    @property
    def live_trading(self) -> bool:
        """True when confirmed resizes send real orders (every config gate open)."""
        return self.live_broker is not None

    # --- clocks ---------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The market clock: the simulator's when on it, else the wall clock."""
        return self.sim.now_ms() if self.sim is not None else self._wall()

    def wall_ms(self) -> int:
        return self._wall()

    # --- lifecycle ------------------------------------------------------------------------

    def feed_urls(self) -> dict[tuple[str, str], str]:
        """The URL of every (venue, socket) this session reads: explicit overrides, then the
        config's, then the simulator's (when it runs), then the real venues'."""
        from core.feeds import DEFAULT_URLS

        out: dict[tuple[str, str], str] = {}
        sim_urls = self.sim.urls if self.sim is not None else {}
        for key in self.engine.subscriptions():
            url = (
                self._urls.get(key)
                or self.config.feeds.urls.get(key)
                or sim_urls.get(key)
                or DEFAULT_URLS.get(key)
            )
            if url is not None:
                out[key] = url
        return out

    async def start(self) -> None:
        """Start the simulator (if any), the feeds and the tick. Returns once they run."""
        if self._started:
            return
        self._started = True
        from core.feeds import make_adapter
        from core.feeds.runner import FeedRunner

        self._ticked = asyncio.Condition()
        if self.sim is not None:
            await self.sim.start()
        urls = self.feed_urls()
        for key, symbols in self.engine.subscriptions().items():
            url = urls.get(key)
            if url is None:
                self.feed_errors.append(f"no feed URL for {key[0]} {key[1]}")
                continue
            runner = FeedRunner(
                make_adapter(*key),
                url,
                symbols,
                self._on_quote,
                stale_after_ms=self.config.feeds.stale_after_ms,
                now_ms=self._wall,
            )
            self.runners.append(runner)
            self.runner_keys.append(key)
            self._tasks.append(asyncio.create_task(self._run_feed(runner), name=f"feed {url}"))
        if self.notifier is not None:
            self.notifier.start()
        self._tick_task = asyncio.create_task(self._tick_loop(), name="hedgetop tick")
        if self.sim is None and self.refresh_specs and self.config.hedges:
            self._spec_task = asyncio.create_task(self._refresh_specs(), name="hedgetop specs")
        else:
            self.specs_done.set()

    async def stop(self) -> None:
        """Stop the tick, the feeds and the simulator; safe to call more than once."""
        if self._spec_task is not None:
            # the loader's thread cannot be interrupted: it is a daemon, left to finish alone
            self._spec_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._spec_task
            self._spec_task = None
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        for r in self.runners:
            r.stop()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=5.0)
            for t in pending:
                t.cancel()
            for t in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            self._tasks.clear()
        if self.sim is not None:
            await self.sim.stop()
        self.alerts.close()
        if self.notifier is not None:  # what waits goes out (a daemon: never holds the exit)
            await _in_daemon_thread(self.notifier.close, name="hedgetop notify close")

    async def __aenter__(self) -> LiveSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run_feed(self, runner: FeedRunner) -> None:
        try:
            await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a URL that can never work: reported, the rest goes on
            msg = f"{runner.adapter.venue} feed {runner.url}: {exc}"
            self.feed_errors.append(msg)
            log.error("%s", msg)

    # --- contract specs -------------------------------------------------------------------

    async def _refresh_specs(self) -> None:
        """Load refreshed specs off the loop, then apply them on it (see the module doc)."""
        pairs = list(dict.fromkeys((h.venue, h.symbol) for h in self.config.hedges))
        errors: list[str] = []  # appended from the loader's thread
        loader = self._spec_loader
        cache_dir = self._spec_cache_dir
        now = self._wall()

        def load() -> Mapping[tuple[str, str], ContractSpec]:
            nonlocal loader, cache_dir
            if loader is None or cache_dir is None:
                from core import markets  # ccxt itself is imported only when asked

                # margin tiers too; Binance's signed bracket call with the trading keys, if set
                loader = loader or functools.partial(
                    markets.load_specs_for, tiers=True, credentials=_tier_credentials
                )
                cache_dir = cache_dir or markets.default_cache_dir()
            return loader(pairs, now_ms=now, cache_dir=cache_dir, on_error=errors.append)

        try:
            specs = await _in_daemon_thread(load, name="hedgetop specs")
            for err in errors:
                self._spec_problem(f"contract specs: {err} (the cache or built-in table serves)")
            warnings = self.engine.update_specs(specs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._spec_problem(
                f"contract specs not refreshed ({type(exc).__name__}: {exc}); "
                "using the built-in table"
            )
        else:
            for warning in warnings:
                self._spec_problem(f"contract specs: {warning}")
            used = self.engine.specs()
            sources = sorted(
                {
                    f"{s.venue} {s.symbol}: {s.source or 'built-in'}, "
                    f"tiers {s.tier_source.describe()}"
                    for s in used.values()
                }
            )
            self.spec_notes.append("contract specs in use: " + "; ".join(sources))
            log.info("%s", self.spec_notes[-1])
        finally:
            self.specs_done.set()

    def _spec_problem(self, msg: str) -> None:
        self.spec_notes.append(msg)
        self.feed_errors.append(msg)
        log.warning("%s", msg)

    def _on_quote(self, quote: Any) -> None:
        self.quotes += 1
        self.engine.on_quote(quote)

    # --- the tick -------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.tick_ms / 1000.0
        t0 = loop.time()
        n = 0
        while True:
            try:
                self.tick()
            except Exception:  # a bug must not freeze the screen: counted, logged, next tick
                self.tick_errors += 1
                log.exception("tick failed")
            if self._ticked is not None:
                async with self._ticked:
                    self._ticked.notify_all()
            n += 1
            delay = t0 + n * interval - loop.time()
            if delay < -interval:  # fell behind (busy machine): skip, never burst
                t0, n, delay = loop.time(), 0, 0.0
            await asyncio.sleep(max(0.0, delay))

    def health(self) -> tuple[FeedHealth, ...]:
        now = self._wall()
        return tuple(r.health(now) for r in self.runners)

    def tick(self) -> PortfolioSnapshot:
        """One tick: settle funding, snapshot, alerts, listeners. Returns the snapshot."""
        now = self.now_ms()
        for funding in self.engine.advance(now):
            self._emit(self.on_funding, funding)
        snap = self.engine.snapshot(now, feeds=self.health(), wall_ms=self._wall())
        changes = self.alerts.evaluate(snap)
        snap = dataclasses.replace(snap, active_alerts=self.alerts.active)
        self.latest = snap
        self.ticks += 1
        for alert in changes:
            self._emit(self.on_alert, alert)
        self._emit(self.on_snapshot, snap)
        return snap

    def _emit(self, listeners: list[Callable[[Any], None]], item: Any) -> None:
        for fn in list(listeners):
            try:
                fn(item)
            except Exception:
                self.listener_errors += 1
                log.exception("listener %r failed", fn)

    async def wait_for(
        self, predicate: Callable[[PortfolioSnapshot], bool], timeout: float
    ) -> PortfolioSnapshot:
        """The first snapshot (latest or to come) satisfying ``predicate``; TimeoutError after
        ``timeout`` seconds."""
        if self._ticked is None:
            raise RuntimeError("the session is not started")
        cond = self._ticked

        async def _wait() -> PortfolioSnapshot:
            async with cond:
                while self.latest is None or not predicate(self.latest):
                    await cond.wait()
                return self.latest

        return await asyncio.wait_for(_wait(), timeout)

    # --- acting ---------------------------------------------------------------------------

    def plan_resize(
        self,
        hedge_id: str,
        *,
        target_ratio: float | None = None,
        delta_contracts: int | None = None,
        close: bool = False,
    ) -> ResizePlan:
        """``Engine.plan_resize`` at the session's clocks and feed health. Trading for real,
        a venue without API keys in the environment refuses the plan (saying which)."""
        plan = self.engine.plan_resize(
            hedge_id,
            target_ratio=target_ratio,
            delta_contracts=delta_contracts,
            close=close,
            now_ms=self.now_ms(),
            feeds=self.health(),
            wall_ms=self._wall(),
        )
        if self.live_broker is not None and plan.ok:
            from core.brokers.ccxt_live import TradingDisabled

            try:
                self.live_broker.check_credentials(plan.venue)
            except TradingDisabled as exc:
                plan = dataclasses.replace(plan, refusal=str(exc))
        return plan

    def execute(self, plan: ResizePlan) -> Fill:
        """Execute a previewed plan on the paper broker; ``on_fill`` listeners hear of it.
        Raises ``core.engine.PlanRefused`` for a refused or outdated plan, and always when
        the session trades for real (see ``execute_live``)."""
        if self.live_broker is not None:
            raise PlanRefused("this session sends real orders: confirm them on the preview")
        if self.trading_refusal is not None:
            raise PlanRefused(self.trading_refusal)
        fill = self.engine.execute(plan, self.now_ms())
        self._emit(self.on_fill, fill)
        return fill

    async def execute_live(self, plan: ResizePlan, *, confirmed: bool) -> LiveOrder:
        """Send ``plan`` as a real order (``confirmed``: the user pressed the live key), then
        record what filled, at the venue's average price and fee (else the configured fee
        rate). Raises ``TradingDisabled`` (a gate closed), ``OrderFailed`` (not placed) or
        ``PlanRefused`` (refused or outdated plan): one line each, nothing recorded."""
        from core.brokers.ccxt_live import TradingDisabled

        broker = self.live_broker
        if broker is None:
            raise TradingDisabled(
                self.trading_refusal or 'live trading needs [broker] kind = "ccxt"'
            )
        spec = self.engine.specs().get(plan.hedge_id)
        if spec is None:
            raise PlanRefused(f"unknown hedge {plan.hedge_id!r}")
        self.engine.check_plan(plan)  # refused or outdated: nothing is sent
        result = await broker.place(plan, confirmed=confirmed, spec=spec, now_ms=self._wall())
        fill: Fill | None = None
        message = result.message
        problem = not result.complete
        if result.filled_contracts > 0:
            price = result.average_price
            note = ""
            if price is None:
                price = plan.expected_price or plan.mark or 0.0
                note = " (the venue gave no average price: recorded at the preview's)"
            fee = result.fee_coin
            if fee is None:
                size = size_usd_from_contracts(spec, result.filled_contracts)
                fee = self.engine.broker.fee_coin(size, price)
            try:
                fill = self.engine.apply_fill(
                    plan, price, result.filled_contracts, fee, self.now_ms(), broker_name="ccxt"
                )
            except Exception as exc:
                log.exception("recording the fill of order %s failed", result.client_order_id)
                message = (
                    f"{result.message}, but it was NOT recorded ({type(exc).__name__}: {exc}): "
                    f"the venue holds the position, check it (order {result.client_order_id})"
                )
                problem = True
            else:
                message = (
                    f"{result.message} (at {price:,.2f} USD, fee {fee:.8f} {spec.coin}; "
                    f"now {fill.contracts_after:,} contracts){note}"
                )
                self._emit(self.on_fill, fill)
        if problem:
            self._emit(
                self.on_alert,
                AlertEvent(
                    ts_ms=self.now_ms(),
                    key=f"order:{plan.venue}:{plan.symbol}:{result.client_order_id}",
                    rule="order",
                    subject=spec.coin,
                    state=AlertState.RAISED,
                    message=message,
                    value=float(result.filled_contracts),
                ),
            )
        return LiveOrder(result=result, fill=fill, message=message, problem=problem)


async def _in_daemon_thread(fn: Callable[[], T], *, name: str) -> T:
    """``fn()`` in a daemon thread, awaited on the loop. Unlike ``asyncio.to_thread`` (the
    loop's default executor, which ``asyncio.run`` joins at exit), a slow call such as ccxt
    waiting on an unreachable venue never holds up the program's exit; cancelling the
    awaiting task abandons the result."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if fut.done():  # cancelled meanwhile
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn())
        except Exception as exc:
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(deliver, *outcome)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await fut


def _tier_credentials(venue: str) -> Mapping[str, str] | None:
    """The venue's API keys from the environment (Binance's tiers are a signed call), or
    None: without them the built-in tiers serve. Never logged."""
    from core.brokers.ccxt_live import TradingDisabled, credentials_from_env

    try:
        return credentials_from_env(venue)
    except TradingDisabled:
        return None
