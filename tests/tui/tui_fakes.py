"""Scripted snapshot sources and a fake trader for the dashboard's tests.

The snapshots are built with the foundation math (core.inverse), not copied from the app, so
tests comparing the table with them compare two independent computations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from core import inverse
from core.config import AlertConfig, Config
from core.demo import demo_config
from core.engine import Engine, ResizePlan
from core.events import (
    AlertEvent,
    AlertState,
    FeedHealth,
    FeedState,
    Fill,
    Kind,
    MarginTransfer,
    OrderRoute,
    OrderSide,
    Quote,
)
from core.instruments import ContractSpec
from core.ledger import MemoryLedger
from core.resize import MarginPlan, PlanRefused
from core.session.accounts import AccountHealth
from core.session.live import LiveOrder
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

T0 = 1_764_100_000_000  # 2025-11-25 19:46:40 UTC, a fixed clock


def hedge(
    hedge_id: str = "bybit-btc",
    *,
    venue: str = "bybit",
    symbol: str = "BTCUSD",
    coin: str = "BTC",
    hedged_coin: str | None = None,
    contracts: int = 50_000,
    face: float = 1.0,
    entry: float = 100_000.0,
    mark: float = 95_000.0,
    index: float = 94_950.0,
    margin_coin: float = 0.5,
    liq_price: float | None = None,
    funding_rate: float = 0.0001,
    stale: bool = False,
    now_ms: int = T0,
    margin_model: str | None = "bybit_inverse_isolated",
) -> HedgeSnapshot:
    q = contracts * face
    pnl = inverse.pnl_coin("short", q, entry, mark) if contracts else None
    next_funding = now_ms - now_ms % 28_800_000 + 28_800_000
    return HedgeSnapshot(
        hedge_id=hedge_id,
        venue=venue,
        symbol=symbol,
        coin=coin,
        hedged_coin=hedged_coin or coin,
        beta=1.0 if hedged_coin in (None, coin) else 1.4,
        side="short",
        contracts=contracts,
        size_usd=q,
        entry=entry if contracts else None,
        margin_coin=margin_coin,
        margin_mode="isolated",
        leverage=1.0,
        mark=mark,
        index=index,
        last=mark,
        position_value_coin=q / mark,
        pnl_coin=pnl,
        pnl_usd=None if pnl is None else pnl * mark,
        realized_pnl_coin=0.0,
        equity_coin=None if pnl is None else margin_coin + pnl,
        maintenance_margin_coin=0.005 * q / mark,
        liq_price=liq_price,
        liq_distance_pct=inverse.liq_distance_pct(liq_price, mark),
        basis_usd=inverse.basis_usd(mark, index),
        basis_pct=inverse.basis_pct(mark, index),
        basis_annual_pct=inverse.basis_annual_pct(mark, index),
        funding_rate=funding_rate,
        funding_interval_ms=28_800_000,
        next_funding_ms=next_funding,
        funding_countdown_ms=next_funding - now_ms,
        funding_apr_pct=inverse.funding_apr_pct(funding_rate, 28_800_000),
        funding_next_coin=inverse.funding_coin("short", q, mark, funding_rate),
        funding_accrued_coin=0.0012,
        funding_accrued_usd=0.0012 * mark,
        stale=stale,
        margin_model=margin_model if contracts else None,
        tier_source="built-in",
    )


def holding(
    coin: str,
    amount: float,
    price: float,
    hedges: tuple[HedgeSnapshot, ...],
    *,
    margin_coin: float = 0.0,
    target: float = 1.0,
    stale: bool = False,
) -> HoldingSnapshot:
    hedged = sum(h.size_usd / h.entry for h in hedges if h.entry and h.coin == coin)
    exposure = amount + margin_coin
    ratio = hedged / exposure if exposure else None
    net = exposure - hedged
    return HoldingSnapshot(
        coin=coin,
        label="cold wallet",
        amount_coin=amount,
        price_usd=price,
        spot_value_usd=amount * price,
        hedge_ids=tuple(h.hedge_id for h in hedges),
        margin_coin=margin_coin,
        net_delta_coin=net,
        net_delta_usd=net * price,
        hedge_ratio=ratio,
        target_ratio=target,
        drift=None if ratio is None else ratio - target,
        band=0.05,
        value_usd=exposure * price,
        unhedged_value_usd=exposure * price,
        stale=stale,
    )


def portfolio(
    *,
    now_ms: int = T0,
    btc_mark: float = 95_000.0,
    stale: bool = False,
    alerts: tuple[AlertEvent, ...] = (),
    fills: tuple[Fill, ...] = (),
    contracts: int = 50_000,
    n_extra: int = 0,
) -> PortfolioSnapshot:
    btc = hedge(mark=btc_mark, index=btc_mark - 50, now_ms=now_ms, stale=stale, contracts=contracts)
    liq = hedge(
        "binance-eth",
        venue="binance",
        symbol="ETHUSD_PERP",
        coin="ETH",
        contracts=300,
        face=10.0,
        entry=3_000.0,
        mark=3_100.0,
        index=3_098.0,
        margin_coin=0.2,
        liq_price=3_300.0,
        funding_rate=-0.0002,
        now_ms=now_ms,
    )
    hedges = [btc, liq]
    holdings = [
        holding("BTC", 0.1, btc_mark, (btc,), margin_coin=0.5, stale=stale),
        holding("ETH", 1.0, 3_100.0, (liq,)),
        holding("ADA", 1000.0, 0.5, ()),
    ]
    for i in range(n_extra):
        h = hedge(
            f"x{i}",
            symbol=f"X{i}USD",
            coin=f"X{i}",
            mark=10.0 + i,
            index=10.0 + i,
            entry=10.0,
            contracts=100,
            margin_coin=10.0,
            now_ms=now_ms,
        )
        hedges.append(h)
        holdings.append(holding(f"X{i}", 10.0, 10.0 + i, (h,)))
    total = sum(h.value_usd or 0 for h in holdings) + sum(h.pnl_usd or 0 for h in hedges)
    unhedged = sum(h.unhedged_value_usd or 0 for h in holdings)
    return PortfolioSnapshot(
        ts_ms=now_ms,
        session_start_ms=T0 - 3_600_000,
        holdings=tuple(holdings),
        hedges=tuple(hedges),
        total_value_usd=total,
        unhedged_value_usd=unhedged,
        net_delta_usd=sum(h.net_delta_usd or 0 for h in holdings),
        session_change_usd=123.45,
        unhedged_session_change_usd=-2_345.6,
        feeds=(
            FeedHealth(
                venue="bybit", url="ws://x", state=FeedState.LIVE, last_message_ms=now_ms - 200
            ),
            FeedHealth(
                venue="binance",
                url="ws://y",
                state=FeedState.RECONNECTING,
                reconnects=2,
                last_message_ms=now_ms - 15_000,
            ),
        ),
        active_alerts=alerts,
        recent_fills=fills,
        stale=stale,
    )


def unpriced_portfolio() -> PortfolioSnapshot:
    """The book before the feeds answer: no marks, every liquidation unknown (never "never")."""
    snap = portfolio()
    hedges = tuple(
        replace(
            h,
            mark=None,
            index=None,
            last=None,
            pnl_coin=None,
            pnl_usd=None,
            equity_coin=None,
            maintenance_margin_coin=None,
            position_value_coin=None,
            liq_price=None,
            liq_distance_pct=None,
            basis_usd=None,
            basis_pct=None,
            basis_annual_pct=None,
            funding_next_coin=None,
            funding_accrued_usd=None,
            margin_model=None,
            stale=True,
        )
        for h in snap.hedges
    )
    feeds = tuple(
        FeedHealth(venue=f.venue, url=f.url, state=FeedState.CONNECTING) for f in snap.feeds
    )
    return replace(snap, hedges=hedges, feeds=feeds, stale=True)


def alert(key: str = "liq_distance:binance:ETHUSD_PERP", ts_ms: int = T0) -> AlertEvent:
    return AlertEvent(
        ts_ms=ts_ms,
        key=key,
        rule="liq_distance",
        subject="ETH",
        state=AlertState.RAISED,
        message="ETHUSD_PERP liquidation 6.5% away",
        value=6.5,
    )


class SessionFacts:
    """The side facts of ``tui.session_protocols.SnapshotSource``, for the fake sources: no
    listeners, problems or accounts; the config's default alert rules; no contract specs."""

    def __init__(self) -> None:
        self.announces = False  # the app polls ``latest`` (tests set it and call app.tick)
        self.on_snapshot: list[Callable[[PortfolioSnapshot], object]] = []
        self.feed_errors: list[str] = []
        self.account_notes: list[str] = []
        self.alert_rules = AlertConfig()
        self.accounts: tuple[AccountHealth, ...] = ()

    def account_health(self, now_ms: int) -> tuple[AccountHealth, ...]:
        return self.accounts

    def specs(self) -> Mapping[str, ContractSpec]:
        return {}

    def quotes_of_kind(self, kind: Kind) -> tuple[Quote, ...]:
        return ()


class ScriptedSource(SessionFacts):
    """A source whose ``latest`` is set by the test; it 'goes quiet' when the test stops."""

    def __init__(self, snapshots: list[PortfolioSnapshot] | None = None) -> None:
        super().__init__()
        self.latest: PortfolioSnapshot | None = snapshots[0] if snapshots else None
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


class FakeTrader:
    """Plans against the source's latest snapshot (real ``ResizePlan``s); execute replaces
    that snapshot with one where the position moved."""

    trading_refusal: str | None = None
    live_trading = False
    simulator_orders = False

    def __init__(self, source: ScriptedSource, *, refuse: str | None = None) -> None:
        self.source = source
        self.refuse = refuse
        self.plans: list[dict[str, Any]] = []
        self.executed: list[ResizePlan] = []
        self.fills: list[Fill] = []

    def plan_resize(
        self,
        hedge_id: str,
        *,
        target_ratio: float | None = None,
        delta_contracts: int | None = None,
        close: bool = False,
    ) -> ResizePlan:
        snap = self.source.latest
        assert snap is not None
        self.plans.append(
            {"hedge_id": hedge_id, "target_ratio": target_ratio, "close": close, "ts": snap.ts_ms}
        )
        h = snap.hedge(hedge_id)
        assert h is not None
        assert h.entry is not None
        assert h.mark is not None
        hold = next(x for x in snap.holdings if hedge_id in x.hedge_ids)
        exposure = hold.amount_coin + hold.margin_coin
        want = 0.0 if close else (target_ratio or 0.0) * exposure * h.entry
        delta = round(want - h.size_usd)
        return ResizePlan(
            hedge_id=hedge_id,
            venue=h.venue,
            symbol=h.symbol,
            created_ms=snap.ts_ms,
            side=OrderSide.SELL if delta > 0 else OrderSide.BUY,
            contracts=abs(delta),
            size_usd=float(abs(delta)),
            mark=h.mark,
            expected_price=h.mark,
            fee_coin=abs(delta) / h.mark * 0.0005,
            coin=h.coin,
            contracts_before=h.contracts,
            contracts_after=h.contracts + delta,
            ratio_before=hold.hedge_ratio,
            ratio_after=0.0 if close else target_ratio,
            target_ratio=hold.target_ratio,
            net_delta_after_coin=exposure - want / h.entry,
            net_delta_after_usd=(exposure - want / h.entry) * h.mark,
            liq_price_after=None,
            hedge_after=None,
            holding_after=None,
            refusal=self.refuse,
        )

    def order_route(self, hedge_id: str) -> OrderRoute:
        return OrderRoute.VENUE if self.live_trading else OrderRoute.PAPER

    def plan_margin(self, hedge_id: str, amount_coin: float) -> MarginPlan:
        raise PlanRefused("the scripted trader moves no margin")

    def move_margin(self, plan: MarginPlan) -> MarginTransfer:
        raise PlanRefused("the scripted trader moves no margin")

    async def move_margin_live(self, plan: MarginPlan, *, confirmed: bool) -> MarginTransfer:
        raise PlanRefused("the scripted trader moves no margin")

    async def execute_live(self, plan: ResizePlan, *, confirmed: bool) -> LiveOrder:
        raise AssertionError("the scripted trader sends no real order")

    def execute(self, plan: ResizePlan) -> Fill:
        snap = self.source.latest
        assert snap is not None
        if not plan.ok:
            raise ValueError(f"refused: {plan.refusal}")
        self.executed.append(plan)
        h = snap.hedge(plan.hedge_id)
        assert h is not None
        fill = Fill(
            ts_ms=snap.ts_ms,
            hedge_id=plan.hedge_id,
            venue=h.venue,
            symbol=h.symbol,
            side=plan.side or OrderSide.SELL,
            contracts=plan.contracts,
            size_usd=plan.size_usd,
            price=plan.expected_price or 0.0,
            fee_coin=plan.fee_coin or 0.0,
            realized_pnl_coin=0.0,
            contracts_after=plan.contracts_after,
            entry_after=h.entry,
        )
        self.source.latest = replace(
            portfolio(now_ms=snap.ts_ms, contracts=plan.contracts_after), recent_fills=(fill,)
        )
        self.fills.append(fill)
        return fill


class EngineSource(SessionFacts):
    """The real engine behind a scripted feed that goes quiet: the test pushes quotes and
    ticks the engine at a frozen clock; plan/execute are the engine's own."""

    trading_refusal: str | None = None
    live_trading = False
    simulator_orders = False

    def __init__(self, config: Config | None = None, *, now_ms: int = T0) -> None:
        super().__init__()
        self.config = config or demo_config()
        self.alert_rules = self.config.alerts
        self.now = now_ms
        self.engine = Engine(self.config, None, MemoryLedger(), now_ms)
        self.latest: PortfolioSnapshot | None = None
        self.fills: list[Fill] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def quote_all(self, prices: dict[str, float], *, premium: float = 0.001) -> None:
        """One quote per subscribed symbol at ``prices[coin]`` (perps at a premium)."""
        for (venue, socket), symbols in self.engine.subscriptions().items():
            for symbol in symbols:
                coin = next(c for c in prices if symbol.upper().startswith(c))
                p = prices[coin]
                if socket == "spot":
                    q = Quote(
                        venue=venue,
                        symbol=symbol,
                        kind=Kind.SPOT,
                        last=p,
                        bid=p,
                        ask=p,
                        received_ms=self.now,
                    )
                else:
                    q = Quote(
                        venue=venue,
                        symbol=symbol,
                        kind=Kind.INVERSE_PERP,
                        mark=p * (1 + premium),
                        index=p,
                        last=p * (1 + premium),
                        funding_rate=0.0001,
                        next_funding_ms=self.now - self.now % 28_800_000 + 28_800_000,
                        funding_interval_ms=28_800_000,
                        received_ms=self.now,
                    )
                self.engine.on_quote(q)

    def tick(self) -> PortfolioSnapshot:
        self.latest = self.engine.snapshot(self.now, wall_ms=self.now)
        return self.latest

    def plan_resize(self, hedge_id: str, **kwargs: Any) -> ResizePlan:
        return self.engine.plan_resize(hedge_id, now_ms=self.now, wall_ms=self.now, **kwargs)

    def execute(self, plan: ResizePlan) -> Fill:
        fill = self.engine.execute(plan, self.now)
        self.fills.append(fill)
        return fill

    def specs(self) -> Mapping[str, ContractSpec]:
        return self.engine.specs()

    def quotes_of_kind(self, kind: Kind) -> tuple[Quote, ...]:
        return self.engine.quotes_of_kind(kind)

    def order_route(self, hedge_id: str) -> OrderRoute:
        return OrderRoute.PAPER

    def plan_margin(self, hedge_id: str, amount_coin: float) -> MarginPlan:
        return self.engine.plan_margin(hedge_id, amount_coin, now_ms=self.now, wall_ms=self.now)

    def move_margin(self, plan: MarginPlan) -> MarginTransfer:
        return self.engine.apply_margin(plan, self.now)

    async def move_margin_live(self, plan: MarginPlan, *, confirmed: bool) -> MarginTransfer:
        raise AssertionError("the engine source moves no margin on a venue")

    async def execute_live(self, plan: ResizePlan, *, confirmed: bool) -> LiveOrder:
        raise AssertionError("the engine source sends no real order")
