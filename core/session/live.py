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
from core.config import AccountConfig, AlertConfig, Config
from core.engine import Engine
from core.events import (
    AlertEvent,
    AlertState,
    FeedHealth,
    Fill,
    FundingEvent,
    Kind,
    MarginTransfer,
    OrderRoute,
    Quote,
)
from core.instruments import ContractSpec, size_usd_from_contracts
from core.ledger import Ledger, MemoryLedger
from core.resize import MarginPlan, PlanRefused, ResizePlan
from core.session.accounts import (
    DEFAULT_INTERVAL_S,
    AccountHealth,
    AccountRead,
    AccountReader,
    AccountWatcher,
    StreamMaker,
)
from core.session.broker import choose_live_broker, simulator_broker
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
#: the account reads (ccxt's import, a dozen requests per read) wait for the first snapshot in
#: which every hedge is priced, so that the first frame with live numbers does not wait for
#: them; they start this long after the session at the latest (a venue's feed may never come)
ACCOUNTS_AFTER_S = 3.0


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
    ``account_streams`` (default on) keeps each account's private stream open beside its poll
    (``core.accounts.streams``; only with the ccxt reader: an injected ``account_reader`` is
    polled alone).
    ``notify`` (default on) sends the alerts through apprise when ``[notify]`` or
    ``HEDGETOP_NOTIFY_URLS`` names URLs (``core.notify``), one process per database when
    ``notify_lock`` names the database's lock file.
    """

    #: every snapshot is announced to ``on_snapshot`` (the dashboard needs no timer)
    announces = True

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
        account_streams: bool = True,
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
        # the simulator's accounts start where the ledger left the portfolio (fills and
        # margin moved by earlier sessions), as a real venue's would: else the first account
        # read would report hedgetop's own past orders as trades made elsewhere
        self.engine = Engine(config, specs, self.ledger, self._wall())
        seeded = config
        if config.simulator.enabled and config.accounts:
            seeded = dataclasses.replace(config, hedges=self.engine.held())
        self.sim: SimExchange | None = build_simulator(
            seeded, interval_ms=sim_interval_ms, autostep=sim_autostep
        )
        self.engine.session_start_ms = self.now_ms()  # the market's clock, now there is one
        self.alerts = AlertEngine(config.alerts)
        self.on_snapshot: list[Callable[[PortfolioSnapshot], object]] = []
        self.on_fill: list[Callable[[Fill], object]] = []
        self.on_funding: list[Callable[[FundingEvent], object]] = []
        self.on_alert: list[Callable[[AlertEvent], object]] = []
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
        #: set by the first snapshot in which every hedge has a mark
        self.priced = asyncio.Event()
        self._ccxt_ready: asyncio.Future[Any] | None = None
        if config.accounts:
            self.accounts = self._account_watcher(
                account_reader, environ, account_interval_s, account_streams
            )
        self.live_broker: CcxtLiveBroker | None
        self.trading_refusal: str | None  # ccxt asked for, a gate closed: why
        self.live_broker, self.trading_refusal = choose_live_broker(
            config,
            on_simulator=self.sim is not None,
            environ=environ,
            exchange_factory=exchange_factory,
            feed_urls=self.feed_urls(),
        )
        #: on the simulator: the ccxt broker to its accounts, and the hedges it sends for
        self.sim_broker: CcxtLiveBroker | None = None
        self._sim_routed: frozenset[str] = frozenset()
        if self.sim is not None:
            self.sim_broker, self._sim_routed = simulator_broker(config, self.sim)

    @property
    def live_trading(self) -> bool:
        """True when confirmed resizes send real orders (every config gate open)."""
        return self.live_broker is not None

    @property
    def simulator_orders(self) -> bool:
        """Some hedges' confirmed resizes go through ccxt to the simulator's accounts."""
        return bool(self._sim_routed)

    @property
    def alert_rules(self) -> AlertConfig:
        return self.config.alerts

    def account_health(self, now_ms: int) -> tuple[AccountHealth, ...]:
        """The accounts kept live (none without ``[[accounts]]``)."""
        return () if self.accounts is None else self.accounts.health(now_ms)

    def specs(self) -> dict[str, ContractSpec]:
        """Each hedge's contract spec in use (hedge id -> spec)."""
        return self.engine.specs()

    def quotes_of_kind(self, kind: Kind) -> tuple[Quote, ...]:
        return self.engine.quotes_of_kind(kind)

    def order_route(self, hedge_id: str) -> OrderRoute:
        """Where a confirmed resize of ``hedge_id`` goes (``execute`` for the paper broker,
        ``execute_live`` for the other two)."""
        if self.live_broker is not None:
            return OrderRoute.VENUE
        if hedge_id in self._sim_routed:
            return OrderRoute.SIMULATOR
        return OrderRoute.PAPER

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
            self._account_task = asyncio.create_task(
                self._accounts_once_priced(self.accounts), name="hedgetop accounts"
            )
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
        for broker in (self.live_broker, self.sim_broker):
            if broker is not None:  # its kept ccxt clients
                await broker.close()
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
        streams: bool,
    ) -> AccountWatcher:
        make_stream: StreamMaker | None = None
        if reader is None and streams:
            from core.accounts.streams import AccountStream, no_stream_reason

            def make_stream(
                account: AccountConfig, ring: Callable[[], None], note: Callable[[str], None]
            ) -> AccountStream | None:
                if no_stream_reason(account) is not None:
                    return None
                return AccountStream(
                    account,
                    environ,
                    on_event=ring,
                    on_note=note,
                    poll_s=interval_s,
                    target=lambda: self._account_target(account, environ),
                    ready=self._ccxt_imported,
                )

        if reader is None:
            from core.accounts.reader import read_account

            async def read(account: AccountConfig, now_ms: int) -> AccountState:
                await self._ccxt_imported()
                account, env = self._account_target(account, environ)
                return await read_account(account, now_ms=now_ms, environ=env)

            reader = read
        watcher = AccountWatcher(
            self.config,
            reader,
            now_ms=self.now_ms,
            positions=self.engine.held,
            adopt=self.engine.adopt,
            wallet=self.engine.take_wallet,
            interval_s=interval_s,
            streams=make_stream,
        )
        watcher.on_read.append(self._account_read)
        watcher.on_note.append(self._account_note)
        return watcher

    async def _accounts_once_priced(self, accounts: AccountWatcher) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ACCOUNTS_AFTER_S):
                await self.priced.wait()
        await accounts.run()

    async def _ccxt_imported(self) -> None:
        """Import ccxt off the loop, once (ccxt.pro, which brings ccxt.async_support): the
        import takes about a second, which the loop would otherwise spend frozen. One module
        for reads and streams alike: two threads importing the two at once deadlock on
        ccxt's shared modules (``_DeadlockError`` on ``ccxt.async_support.base.exchange``)."""
        if self._ccxt_ready is None:
            import importlib

            self._ccxt_ready = asyncio.ensure_future(
                in_daemon_thread(lambda: importlib.import_module("ccxt.pro"), name="import ccxt")
            )
        await asyncio.shield(self._ccxt_ready)

    def _account_target(
        self, account: AccountConfig, environ: Mapping[str, str] | None
    ) -> tuple[AccountConfig, Mapping[str, str] | None]:
        """On the built-in simulator an account without URLs of its own is read there, with
        the simulator's keys: the user's real keys are never sent to a simulator."""
        if self.sim is None or account.rest_url is not None:
            return account, environ
        from core.session.sim_accounts import simulator_target

        found = simulator_target(self.sim, account)
        return found if found is not None else (account, environ)

    def _account_read(self, read: AccountRead) -> None:
        """Every read problem and difference becomes a line the screen shows once."""
        said = [read.problem] if read.problem is not None and read.new_problem else []
        said += [event.text for event in read.events] + list(read.notes)
        for line in said:
            self.account_notes.append(f"account {read.account}: {line}")
            log.info("account %s: %s", read.account, line)

    def _account_note(self, account: str, line: str) -> None:
        self.account_notes.append(f"account {account}: {line}")

    def _reads_held(self, hedge_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold back the reads of ``hedge_id``'s account while its order or transfer is in
        flight (``AccountWatcher.holding``): the stream rings on the fill before the engine
        is told, and a read then would report hedgetop's own order as a trade elsewhere."""
        hedge = next((h for h in self.config.hedges if h.id == hedge_id), None)
        if self.accounts is None or hedge is None or not hedge.account:
            return contextlib.nullcontext()
        return self.accounts.holding(hedge.account)

    def _order_sent(self, plan: ResizePlan | MarginPlan) -> None:
        """An order moves its account: the REST read that checks it comes now, not at the
        next poll (the hedge's account, else every account on the plan's venue)."""
        if self.accounts is None:
            return
        hedge = next((h for h in self.config.hedges if h.id == plan.hedge_id), None)
        if hedge is not None and hedge.account:
            names = [hedge.account]
        else:
            names = [a.name for a in self.config.accounts if a.venue.value == plan.venue]
        for name in names:
            self.accounts.request_read(name)

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
        if not self.priced.is_set() and all(h.mark for h in snap.hedges):
            self.priced.set()
        self.ticks += 1
        for alert in changes:
            self._emit(self.on_alert, alert)
        self._emit(self.on_snapshot, snap)
        return snap

    def _emit(self, listeners: list[Callable[[Any], object]], item: Any) -> None:
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

    def plan_margin(self, hedge_id: str, amount_coin: float) -> MarginPlan:
        """``Engine.plan_margin`` at the session's clocks and feed health (> 0 adds isolated
        margin to the position, < 0 takes it out)."""
        return self.engine.plan_margin(
            hedge_id, amount_coin, now_ms=self.now_ms(), feeds=self.health(), wall_ms=self._wall()
        )

    def move_margin(self, plan: MarginPlan) -> MarginTransfer:
        """Move a previewed transfer on the paper broker. PlanRefused for a hedge whose orders
        go through ccxt (``move_margin_live``)."""
        if self.order_route(plan.hedge_id) is not OrderRoute.PAPER:
            raise PlanRefused(f"{plan.hedge_id}'s margin is on the venue: move_margin_live")
        if self.trading_refusal is not None:
            raise PlanRefused(self.trading_refusal)
        return self.engine.apply_margin(plan, self.now_ms())

    async def move_margin_live(self, plan: MarginPlan, *, confirmed: bool) -> MarginTransfer:
        """Move a previewed transfer on the venue (or the simulator's account) through ccxt,
        then record what moved. The plan is checked again at send time (fresh prices, the
        position unchanged). Raises as ``execute_live``; nothing is recorded on a failure."""
        from core.brokers.ccxt_live import OrderRefused, TradingDisabled

        route = self.order_route(plan.hedge_id)
        broker = self.live_broker if route is OrderRoute.VENUE else self.sim_broker
        if broker is None or route is OrderRoute.PAPER:
            raise TradingDisabled(
                self.trading_refusal or 'moving margin on a venue needs [broker] kind = "ccxt"'
            )
        now = self.plan_margin(plan.hedge_id, plan.amount_coin)
        if now.refusal is not None:
            raise OrderRefused(f"not sent: {now.refusal}")
        if now.contracts != plan.contracts:
            raise PlanRefused("the position changed since the preview: preview again")
        async with self._reads_held(plan.hedge_id):
            moved = await broker.move_margin(plan, confirmed=confirmed)
            transfer = self.engine.apply_margin(
                plan, self.now_ms(), amount_coin=moved, broker_name="ccxt"
            )
        self._order_sent(plan)
        return transfer

    def execute(self, plan: ResizePlan) -> Fill:
        """Execute a previewed plan on the paper broker; ``on_fill`` listeners hear of it.
        Raises ``core.engine.PlanRefused`` for a refused or outdated plan, and always when
        the session trades for real (see ``execute_live``)."""
        if self.live_broker is not None:
            raise PlanRefused("this session sends real orders: confirm them on the preview")
        if plan.hedge_id in self._sim_routed:
            raise PlanRefused(
                f"{plan.hedge_id} trades through ccxt on the simulator's account: execute_live"
            )
        if self.trading_refusal is not None:
            raise PlanRefused(self.trading_refusal)
        fill = self.engine.execute(plan, self.now_ms())
        self._emit(self.on_fill, fill)
        return fill

    async def execute_live(self, plan: ResizePlan, *, confirmed: bool) -> LiveOrder:
        """Send ``plan`` as a real order (``confirmed``: the user pressed the live key), then
        record what filled, at the venue's average price and fee (else the configured fee
        rate). The plan is checked again at send time: fresh prices (the preview's may have
        gone stale since) and, for a hedge read from an account, a known position (the
        account's last read worked and is not overdue). Raises ``TradingDisabled`` (a gate
        closed; ``OrderRefused`` for a guard), ``OrderFailed`` (not placed) or
        ``PlanRefused`` (refused or outdated plan): one line each, nothing recorded."""
        from core.brokers.ccxt_live import OrderRefused, TradingDisabled

        route = self.order_route(plan.hedge_id)
        broker = self.live_broker if route is OrderRoute.VENUE else self.sim_broker
        if broker is None or route is OrderRoute.PAPER:
            raise TradingDisabled(
                self.trading_refusal or 'live trading needs [broker] kind = "ccxt"'
            )
        spec = self.engine.specs().get(plan.hedge_id)
        if spec is None:
            raise PlanRefused(f"unknown hedge {plan.hedge_id!r}")
        self.engine.check_plan(plan)  # refused or outdated: nothing is sent
        mark: float | None = None  # the send-time mark a limit order is set from
        if confirmed:
            now_plan = self.plan_resize(
                plan.hedge_id, delta_contracts=plan.contracts_after - plan.contracts_before
            )
            if now_plan.refusal is not None:
                raise OrderRefused(f"not sent: {now_plan.refusal}")
            mark = now_plan.mark
            hedge = next((h for h in self.config.hedges if h.id == plan.hedge_id), None)
            if hedge is not None and hedge.account is not None:
                health = None
                if self.accounts is not None:
                    health = next(
                        (a for a in self.accounts.health(self.now_ms()) if a.name == hedge.account),
                        None,
                    )
                unknown = f"not sent: the {plan.venue} position of {plan.hedge_id} is unknown"
                if health is None or health.age_ms is None:
                    raise OrderRefused(f"{unknown} (account {hedge.account} not read yet)")
                if health.problem is not None:
                    raise OrderRefused(
                        f"{unknown} (account {hedge.account}'s last read failed: {health.problem})"
                    )
                if health.overdue:
                    raise OrderRefused(
                        f"{unknown} (account {hedge.account} last read "
                        f"{health.age_ms / 1000:,.0f} s ago)"
                    )
        async with self._reads_held(plan.hedge_id):
            result = await broker.place(
                plan,
                confirmed=confirmed,
                spec=spec,
                now_ms=self._wall(),
                mark=mark,
            )
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
        self._order_sent(plan)
        return LiveOrder(result=result, fill=fill, message=message, problem=problem)
