"""The ``LiveSession`` façade: lifecycle, the tick, listeners and acting (see ``core.session``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.alerts import AlertEngine
from core.clock import wall_ms
from core.config import AccountConfig, Config
from core.engine import Engine
from core.events import AlertEvent, AlertState, FeedHealth, Fill, FundingEvent, Quote
from core.instruments import ContractSpec, size_usd_from_contracts
from core.ledger import Ledger, MemoryLedger
from core.resize import PlanRefused, ResizePlan
from core.session.accounts import (
    DEFAULT_INTERVAL_S,
    AccountRead,
    AccountReader,
    AccountWatcher,
)
from core.session.broker import choose_live_broker
from core.session.endpoints import classify
from core.session.feeds import build_runners, feed_urls
from core.session.simulator import build_simulator
from core.session.specs import EndpointOf, SpecLoader, refresh_specs, split_local
from core.session.threads import in_daemon_thread
from core.snapshot import PortfolioSnapshot

if TYPE_CHECKING:
    from core.accounts.model import AccountState
    from core.brokers.ccxt_live import CcxtLiveBroker, ExchangeFactory, OrderResult
    from core.feeds.runner import FeedRunner
    from core.notify import Notifier
    from core.sim import SimExchange

log = logging.getLogger("hedgetop.live")
#: quotes wake the tick at most this often (the screen renders each snapshot once)
MAX_TICK_HZ = 20.0
#: a woken tick waits this long for the rest of the burst: a venue pushes its symbols
#: together (a few ms apart), and one snapshot per burst is one frame instead of two
SETTLE_S = 0.005


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
    with ``sim_autostep=False`` its market moves only on ``sim.advance`` (tests step it);
    ``urls`` overrides feed URLs per (venue, socket) after the config's (tests).
    ``refresh_specs`` (off the simulator only; off by default so that tests and benchmarks never
    reach for the network: the commands turn it on) refreshes contract specs in the background
    with ``spec_loader`` (default ``core.markets.load_specs_for``, called in a thread as
    ``spec_loader(pairs, now_ms=..., cache_dir=..., on_error=...)``); ``spec_cache_dir``
    defaults to ``core.markets.default_cache_dir()``; a venue whose feeds all lead to a
    simulator (``endpoint_of``, default ``core.session.endpoints.classify``) is not asked.
    ``specs_done`` is set once that is over (applied, failed or not needed). ``environ``
    (default ``os.environ``) holds the API keys and ``exchange_factory`` builds the ccxt
    exchange of real orders (tests inject fakes).
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
        sim_autostep: bool = True,
        urls: Mapping[tuple[str, str], str] | None = None,
        refresh_specs: bool = False,
        spec_loader: SpecLoader | None = None,
        spec_cache_dir: Path | None = None,
        endpoint_of: EndpointOf | None = None,
        account_reader: AccountReader | None = None,
        account_interval_s: float = DEFAULT_INTERVAL_S,
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
        self.sim: SimExchange | None = build_simulator(
            config, interval_ms=sim_interval_ms, autostep=sim_autostep
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
        self._changed: asyncio.Event | None = None  # a quote came since the last tick
        self._started = False
        self.refresh_specs = refresh_specs
        self._spec_loader = spec_loader
        self._spec_cache_dir = spec_cache_dir
        self._endpoint_of = endpoint_of or classify
        self._spec_task: asyncio.Task[None] | None = None
        self.spec_notes: list[str] = []  # what the spec refresh did or why it did not
        self.specs_done = asyncio.Event()
        #: the [[accounts]] kept live, and one line per read problem or difference found
        self.accounts: AccountWatcher | None = None
        self.account_notes: list[str] = []
        self._account_task: asyncio.Task[None] | None = None
        if config.accounts:
            self.accounts = self._account_watcher(account_reader, environ, account_interval_s)
        self.live_broker: CcxtLiveBroker | None
        self.trading_refusal: str | None  # ccxt asked for, a gate closed: why
        self.live_broker, self.trading_refusal = choose_live_broker(
            config,
            on_simulator=self.sim is not None,
            environ=environ,
            exchange_factory=exchange_factory,
            feed_urls=self.feed_urls(),
        )

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
        config's, then the simulator's (when it runs), then the testnets' (``[broker]
        sandbox``: where its orders go), then the real venues'."""
        from core.session.endpoints import TESTNET_URLS

        sim_urls = self.sim.urls if self.sim is not None else {}
        b = self.config.broker
        testnets = TESTNET_URLS if b.kind == "ccxt" and b.sandbox else {}
        return feed_urls(
            self.engine.subscriptions(), self._urls, self.config.feeds.urls, sim_urls, testnets
        )

    async def start(self) -> None:
        """Start the simulator (if any), the feeds and the tick. Returns once they run."""
        if self._started:
            return
        self._started = True
        self._ticked = asyncio.Condition()
        if self.sim is not None:
            await self.sim.start()
        runners = build_runners(
            self.engine.subscriptions(),
            self.feed_urls(),
            self._on_quote,
            stale_after_ms=self.config.feeds.stale_after_ms,
            wall_clock=self._wall,
            on_missing=self.feed_errors.append,
        )
        for key, runner in runners:
            self.runners.append(runner)
            self.runner_keys.append(key)
            self._tasks.append(
                asyncio.create_task(self._run_feed(runner), name=f"feed {runner.url}")
            )
        if self.notifier is not None:
            self.notifier.start()
        self._tick_task = asyncio.create_task(self._tick_loop(), name="hedgetop tick")
        if self.accounts is not None:
            self._account_task = asyncio.create_task(self.accounts.run(), name="hedgetop accounts")
        if self.sim is None and self.refresh_specs and self.config.hedges:
            self._spec_task = asyncio.create_task(self._refresh_specs(), name="hedgetop specs")
        else:
            self.specs_done.set()

    async def stop(self) -> None:
        """Stop the tick, the feeds and the simulator; safe to call more than once."""
        if self._account_task is not None:
            self._account_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._account_task
            self._account_task = None
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
            await in_daemon_thread(self.notifier.close, name="hedgetop notify close")

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

    # --- accounts -------------------------------------------------------------------------

    def _account_watcher(
        self,
        reader: AccountReader | None,
        environ: Mapping[str, str] | None,
        interval_s: float,
    ) -> AccountWatcher:
        if reader is None:
            from core.accounts.reader import read_account

            async def read(account: AccountConfig, now_ms: int) -> AccountState:
                account, env = self._account_target(account, environ)
                return await read_account(account, now_ms=now_ms, environ=env)

            reader = read
        watcher = AccountWatcher(
            self.config,
            reader,
            now_ms=self.now_ms,
            positions=self.engine.held,
            adopt=self.engine.adopt,
            interval_s=interval_s,
        )
        watcher.on_read.append(self._account_read)
        return watcher

    def _account_target(
        self, account: AccountConfig, environ: Mapping[str, str] | None
    ) -> tuple[AccountConfig, Mapping[str, str] | None]:
        """On the built-in simulator an account without URLs of its own is read there, with
        the simulator's keys: the user's real keys are never sent to a simulator."""
        if self.sim is None or account.rest_url is not None:
            return account, environ
        venue = account.venue.value
        try:
            rest = self.sim.endpoint(venue, "rest")
        except KeyError:  # a venue the simulator keeps no accounts on
            return account, environ
        spot: str | None = None
        with contextlib.suppress(KeyError):
            spot = self.sim.endpoint(venue, "spot-rest")
        keys = self.sim.seed_accounts
        env = {account.api_key_env: keys.api_key, account.api_secret_env: keys.api_secret}
        if account.passphrase_env:
            env[account.passphrase_env] = ""
        target = dataclasses.replace(account, rest_url=rest, spot_rest_url=spot, sandbox=False)
        return target, env

    def _account_read(self, read: AccountRead) -> None:
        """Every read problem and difference becomes a line the screen shows once."""
        said = [read.problem] if read.problem is not None and read.new_problem else []
        said += [event.text for event in read.events] + list(read.notes)
        for line in said:
            self.account_notes.append(f"account {read.account}: {line}")
            log.info("account %s: %s", read.account, line)

    # --- contract specs -------------------------------------------------------------------

    async def _refresh_specs(self) -> None:
        """Load refreshed specs off the loop, then apply them on it (``core.session.specs``);
        venues whose feeds are local are not asked."""
        try:
            pairs = list(dict.fromkeys((h.venue, h.symbol) for h in self.config.hedges))
            pairs, local_notes = split_local(pairs, self.feed_urls(), self._endpoint_of)
            for local in local_notes:
                self.spec_notes.append(local)
                log.info("%s", local)
            if not pairs:
                return
            note = await refresh_specs(
                self.engine,
                pairs,
                now_ms=self._wall(),
                loader=self._spec_loader,
                cache_dir=self._spec_cache_dir,
                problem=self._spec_problem,
            )
            if note is not None:
                self.spec_notes.append(note)
                log.info("%s", note)
        finally:
            self.specs_done.set()

    def _spec_problem(self, msg: str) -> None:
        self.spec_notes.append(msg)
        self.feed_errors.append(msg)
        log.warning("%s", msg)

    def _on_quote(self, quote: Quote) -> None:
        self.quotes += 1
        self.engine.on_quote(quote)
        if self._changed is not None:
            self._changed.set()

    # --- the tick -------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        """Snapshot on change: a quote wakes the tick, at most ``MAX_TICK_HZ`` times a second
        (quotes in between are coalesced into the next snapshot), ``SETTLE_S`` after the quote
        that woke it at the soonest (the rest of its burst comes with it), and without quotes
        the tick still comes every ``tick_ms`` (countdowns, staleness and funding move with the
        clock). A busy machine delays ticks; it never bursts them."""
        loop = asyncio.get_running_loop()
        interval = self.tick_ms / 1000.0
        min_gap = min(interval, 1.0 / MAX_TICK_HZ)
        changed = self._changed = asyncio.Event()
        while True:
            started = loop.time()
            changed.clear()
            try:
                self.tick()
            except Exception:  # a bug must not freeze the screen: counted, logged, next tick
                self.tick_errors += 1
                log.exception("tick failed")
            if self._ticked is not None:
                async with self._ticked:
                    self._ticked.notify_all()
            # the fixed tick sets the event too; no wait_for: on 3.11 it can swallow the
            # cancellation that stop() sends when a quote arrives at the same moment
            timer = loop.call_at(started + interval, changed.set)
            try:
                await changed.wait()
            finally:
                timer.cancel()
            await asyncio.sleep(max(SETTLE_S, started + min_gap - loop.time()))

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
