"""Resize and margin planning on ``core.sizing``: the previewed order or transfer on one hedge
and the portfolio as it would be after it, computed from the book's positions by the caller's
``compute`` (``core.portfolio.compute`` over the current quotes); and the checks a plan must
still pass when it runs. Nothing here writes the ledger or holds state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from core import isolated_margin, sizing
from core.config import Config
from core.events import Fill, MarginTransfer, OrderSide
from core.instruments import size_usd_from_contracts
from core.position import Position, apply_fill, order_side
from core.resize import MarginPlan, PlanRefused, ResizePlan
from core.snapshot import HedgeSnapshot, HoldingSnapshot

#: account -> coin -> the free coins of its futures wallet, as the last read left them
#: (``core.accounts.reconcile.free_wallet_coins``): exposure too, and what an order's initial
#: margin or a margin transfer is drawn from
Wallets = Mapping[str, Mapping[str, float]]


class Compute(Protocol):
    """The snapshots of a book of positions (the hedges', the holdings') at one time and
    quotes; ``wallets``: free wallet coins other than the book's (a what-if's)."""

    def __call__(
        self, positions: Mapping[str, Position], wallets: Wallets | None = None
    ) -> tuple[tuple[HedgeSnapshot, ...], tuple[HoldingSnapshot, ...]]: ...


def free_coins(pos: Position, wallets: Wallets) -> float | None:
    """The free coins of the futures wallet behind ``pos`` when the venue keeps its isolated
    margin apart from them and its account was read; None: not known (the paper model, where
    the margin holds everything)."""
    if pos.cfg.margin_mode != "isolated" or pos.cfg.account is None:
        return None
    free = wallets.get(pos.cfg.account)
    return None if free is None else free.get(pos.spec.coin, 0.0)


def with_free(wallets: Wallets, pos: Position, change: float) -> dict[str, dict[str, float]]:
    """``wallets`` with ``change`` added to the free coins behind ``pos``."""
    out = {account: dict(coins) for account, coins in wallets.items()}
    assert pos.cfg.account is not None
    coins = out.setdefault(pos.cfg.account, {})
    coins[pos.spec.coin] = coins.get(pos.spec.coin, 0.0) + change
    return out


def venue_margin(  # noqa: PLR0917 (a fill's figures)
    before: Position,
    after: Position,
    increase: bool,
    size_usd: float,
    price: float,
    booked: float,
    wallets: Wallets,
) -> tuple[dict[str, dict[str, float]], float] | None:
    """What the venue does on a fill of an isolated position whose account was read
    (``core.isolated_margin``): ``after`` (the position past the fill, with ``booked``, the
    realised PnL less the fee, in its margin as the paper model keeps it) gets the venue's
    margin instead, and the wallets get ``booked`` less the margin moved. Returns the wallets
    after and the free coins left (< 0: the venue would refuse the order); None when the
    venue's figures are not known (no read, or no leverage to size the initial margin)."""
    free = free_coins(before, wallets)
    leverage = before.cfg.leverage
    if free is None or not leverage:
        return None
    moved = isolated_margin.margin_moved(
        before.margin_coin,
        before.size_usd if before.entry is not None else 0.0,
        opened_usd=size_usd if increase else 0.0,
        closed_usd=0.0 if increase else size_usd,
        price=price,
        leverage=leverage,
    )
    after.margin_coin = before.margin_coin + moved
    return with_free(wallets, before, booked - moved), free + booked - moved


class Pricing(Protocol):
    """What a plan asks of the broker: its fill price at a mark and its fee (the paper
    broker's, ``core.brokers.paper.PaperBroker``)."""

    @property
    def fee_rate(self) -> float: ...

    def fill_price(self, side: OrderSide, mark: float) -> float: ...

    def fee_coin(self, size_usd: float, price: float) -> float: ...


def plan_resize(
    positions: Mapping[str, Position],
    hedge_id: str,
    *,
    target_ratio: float | None = None,
    delta_contracts: int | None = None,
    close: bool = False,
    now_ms: int,
    compute: Compute,
    broker: Pricing,
    config: Config,
    wallets: Wallets,
) -> ResizePlan:
    """Preview an order on ``hedge_id``: to reach ``target_ratio`` on the holding it
    protects, or by ``delta_contracts`` (> 0 enlarges the hedge), or ``close`` it.

    Sizing is ``core.sizing``'s (exact for inverse contracts, fee-aware, the holding's
    other hedges counted): the holding needs ``d = T·(S+M) − H`` more hedged coins; the
    fee and realised PnL of a direct hedge land in its margin, which is exposure too. A
    proxy's coins convert by ``P_c / (beta·P_h)``. Whole contracts: the nearest lot.
    Limits and targets are ``config``'s; prices and fees ``broker``'s."""
    if sum((target_ratio is not None, delta_contracts is not None, close)) != 1:
        raise ValueError("give exactly one of target_ratio, delta_contracts, close")
    pos = positions.get(hedge_id)
    if pos is None:
        raise KeyError(f"unknown hedge {hedge_id!r}")
    hedges, holdings = compute(positions)
    hs = next(h for h in hedges if h.hedge_id == hedge_id)
    holding = next(h for h in holdings if h.coin == pos.cfg.hedges)
    target = config.targets.get(pos.cfg.hedges)
    refusal: str | None = None
    delta = 0
    mark = hs.mark
    if close:
        delta = -pos.contracts
    elif delta_contracts is not None:
        delta = int(delta_contracts)
    if mark is None or mark <= 0:
        refusal = f"no mark price yet for {pos.cfg.venue} {pos.cfg.symbol}"
    elif hs.stale:
        refusal = f"{pos.cfg.venue} {pos.cfg.symbol} prices are stale: wait for fresh data"
    elif target_ratio is not None:
        if target_ratio < 0:
            raise ValueError(f"target_ratio must be >= 0, not {target_ratio}")
        sized = contracts_for(pos, hs, holding, target_ratio, broker)
        if sized is None:
            refusal = (
                f"cannot size {hedge_id} to a ratio: no {pos.cfg.hedges} exposure, or its "
                "price is missing"
            )
        else:
            # a target ratio (>= 0) never means the other side: at most, close
            delta = max(sized, -pos.contracts)
    if refusal is None:
        if pos.contracts + delta < 0:
            refusal = (
                f"would flip the {pos.cfg.side} of {pos.contracts} contracts to the other "
                f"side (asked {delta:+d}); close it instead"
            )
        elif abs(delta) > config.broker.max_contracts_per_action:
            refusal = (
                f"{abs(delta)} contracts exceed the per-action maximum "
                f"(broker.max_contracts_per_action = "
                f"{config.broker.max_contracts_per_action})"
            )
        elif (
            config.broker.max_usd_per_action is not None
            and size_usd_from_contracts(pos.spec, abs(delta)) > config.broker.max_usd_per_action
        ):
            refusal = (
                f"{size_usd_from_contracts(pos.spec, abs(delta)):,.0f} USD exceeds the "
                f"per-action maximum (broker.max_usd_per_action = "
                f"{config.broker.max_usd_per_action:,.0f} USD)"
            )
        elif delta % pos.spec.lot_contracts != 0:
            refusal = (
                f"{delta:+d} contracts is not a multiple of the lot ({pos.spec.lot_contracts})"
            )
        elif delta == 0:
            refusal = "nothing to do: already within one lot of the target"
    side = None
    price = fee = None
    hedge_after = holding_after = None
    size = size_usd_from_contracts(pos.spec, abs(delta))
    if refusal is None and mark is not None:
        increase = delta > 0
        side = order_side(pos.cfg.side, increase)
        price = broker.fill_price(side, mark)
        fee = broker.fee_coin(size, price)
        what_if = {k: (v.copy() if k == hedge_id else v) for k, v in positions.items()}
        realized, _ = apply_fill(what_if[hedge_id], increase, abs(delta), price, fee)
        venue = venue_margin(pos, what_if[hedge_id], increase, size, price, realized - fee, wallets)
        hedges_after, holdings_after = compute(what_if, None if venue is None else venue[0])
        hedge_after = next(h for h in hedges_after if h.hedge_id == hedge_id)
        holding_after = next(h for h in holdings_after if h.coin == pos.cfg.hedges)
        if venue is not None and venue[1] < 0:
            refusal = (
                f"the order needs more initial margin than the {pos.cfg.venue} futures wallet "
                f"holds free ({_coins(free_coins(pos, wallets), pos.spec.coin)}): add "
                f"{_coins(-venue[1], pos.spec.coin)} there, or resize less"
            )
    return ResizePlan(
        hedge_id=hedge_id,
        venue=pos.cfg.venue,
        symbol=pos.cfg.symbol,
        created_ms=now_ms,
        side=side,
        contracts=abs(delta) if refusal is None else 0,
        size_usd=size if refusal is None else 0.0,
        mark=mark,
        expected_price=price,
        fee_coin=fee,
        coin=pos.spec.coin,
        contracts_before=pos.contracts,
        contracts_after=pos.contracts + delta if refusal is None else pos.contracts,
        ratio_before=holding.hedge_ratio,
        ratio_after=holding_after.hedge_ratio if holding_after else None,
        target_ratio=target_ratio
        if target_ratio is not None
        else (target.ratio if target else None),
        net_delta_after_coin=holding_after.net_delta_coin if holding_after else None,
        net_delta_after_usd=holding_after.net_delta_usd if holding_after else None,
        liq_price_after=hedge_after.liq_price if hedge_after else None,
        hedge_after=hedge_after,
        holding_after=holding_after,
        refusal=refusal,
    )


def contracts_for(
    pos: Position, hs: HedgeSnapshot, holding: HoldingSnapshot, target: float, broker: Pricing
) -> int | None:
    """Signed contracts (> 0 enlarges) of ``pos`` that bring its holding's ratio to
    ``target``, sized by ``core.sizing.size_change_usd`` (fee-aware; the other hedges of
    the holding are in its hedged amount) at the broker's fill prices and rounded to the
    lot. None when there is nothing to hedge or the hedged amount is unknown (a proxy
    without prices)."""
    exposure = holding.amount_coin + holding.margin_coin
    if exposure <= 0 or holding.hedge_ratio is None or hs.mark is None:
        return None
    if pos.cfg.proxy and holding.price_usd is None:
        return None
    side = pos.cfg.side
    change = sizing.size_change_usd(
        target,
        exposure_coin=exposure,
        hedged_coin_total=holding.hedge_ratio * exposure,
        side=side,
        size_usd=pos.size_usd if pos.entry is not None else 0.0,
        entry=pos.entry,
        add_price=broker.fill_price(order_side(side, True), hs.mark),
        reduce_price=broker.fill_price(order_side(side, False), hs.mark),
        fee_rate=broker.fee_rate,
        proxy=pos.cfg.proxy,
        beta=pos.cfg.beta,
        contract_price=hs.mark,
        holding_price=holding.price_usd,
    )
    return sizing.round_to_lots(pos.spec, change)


def plan_margin(
    positions: Mapping[str, Position],
    hedge_id: str,
    amount_coin: float,
    *,
    now_ms: int,
    compute: Compute,
    wallets: Wallets,
) -> MarginPlan:
    """Preview moving ``amount_coin`` of isolated margin into (> 0) or out of (< 0)
    ``hedge_id``'s position: its liquidation price and distance before and after, by the
    venue's own formula (the same computation as the snapshot's), and the holding's ratio
    after (margin coins are exposure too). Refused: a cross-margin or flat position, no
    fresh mark, taking out more than the position holds, or leaving it at or past its
    liquidation price."""
    pos = positions.get(hedge_id)
    if pos is None:
        raise KeyError(f"unknown hedge {hedge_id!r}")
    hedges, holdings = compute(positions)
    hs = next(h for h in hedges if h.hedge_id == hedge_id)
    holding = next(h for h in holdings if h.coin == pos.cfg.hedges)
    what = f"{pos.cfg.venue} {pos.cfg.symbol}"
    free = free_coins(pos, wallets)
    refusal: str | None = None
    if not math.isfinite(amount_coin):
        refusal = f"{amount_coin!r} {pos.spec.coin} is not an amount"
    elif pos.cfg.margin_mode != "isolated":
        refusal = f"{what} is on cross margin: its margin is the wallet, move coins on the venue"
    elif pos.contracts == 0:
        refusal = f"{what} has no position to put margin on"
    elif hs.mark is None or hs.mark <= 0:
        refusal = f"no mark price yet for {what}"
    elif hs.stale:
        refusal = f"{what} prices are stale: wait for fresh data"
    elif amount_coin == 0:
        refusal = "nothing to move"
    elif pos.margin_coin + amount_coin <= 0:
        refusal = (
            f"cannot take {-amount_coin:.8f} {pos.spec.coin} out: the position holds "
            f"{pos.margin_coin:.8f} {pos.spec.coin}"
        )
    elif free is not None and amount_coin > free:
        refusal = (
            f"cannot add {amount_coin:.8f} {pos.spec.coin}: the {pos.cfg.venue} futures wallet "
            f"holds {free:.8f} {pos.spec.coin} free"
        )
    hedge_after = holding_after = None
    if refusal is None:
        what_if = {k: (v.copy() if k == hedge_id else v) for k, v in positions.items()}
        what_if[hedge_id].margin_coin += amount_coin
        # from the wallet's free coins when they are known: the exposure stays
        wallets_after = None if free is None else with_free(wallets, pos, -amount_coin)
        hedges_after, holdings_after = compute(what_if, wallets_after)
        hedge_after = next(h for h in hedges_after if h.hedge_id == hedge_id)
        holding_after = next(h for h in holdings_after if h.coin == pos.cfg.hedges)
        dist = hedge_after.liq_distance_pct
        if dist is not None and dist <= 0:
            refusal = (
                f"taking {-amount_coin:.8f} {pos.spec.coin} out would leave {what} at or "
                "past its liquidation price"
            )
    return MarginPlan(
        hedge_id=hedge_id,
        venue=pos.cfg.venue,
        symbol=pos.cfg.symbol,
        coin=pos.spec.coin,
        created_ms=now_ms,
        amount_coin=amount_coin if refusal is None else 0.0,
        margin_before=pos.margin_coin,
        margin_after=pos.margin_coin + (amount_coin if refusal is None else 0.0),
        contracts=pos.contracts,
        mark=hs.mark,
        liq_price_before=hs.liq_price,
        liq_price_after=hedge_after.liq_price if hedge_after else None,
        liq_distance_before_pct=hs.liq_distance_pct,
        liq_distance_after_pct=hedge_after.liq_distance_pct if hedge_after else None,
        ratio_before=holding.hedge_ratio,
        ratio_after=holding_after.hedge_ratio if holding_after else None,
        hedge_after=hedge_after,
        refusal=refusal,
    )


def position_for(positions: Mapping[str, Position], plan: ResizePlan) -> Position:
    """The position ``plan`` acts on, if the plan may still run; PlanRefused otherwise."""
    if not plan.ok or plan.side is None:
        raise PlanRefused(plan.refusal or "nothing to execute")
    pos = positions.get(plan.hedge_id)
    if pos is None:
        raise PlanRefused(f"unknown hedge {plan.hedge_id!r}")
    if pos.contracts != plan.contracts_before:
        raise PlanRefused("the position changed since the preview: preview again")
    return pos


def fill_of(  # noqa: PLR0917 (a fill's fields)
    pos: Position,
    plan: ResizePlan,
    contracts: int,
    price: float,
    fee: float,
    now_ms: int,
    broker_name: str,
    *,
    mark: float | None = None,
    wallets: Wallets | None = None,
) -> tuple[Fill, Position, dict[str, dict[str, float]] | None]:
    """The fill of ``contracts`` of ``plan`` at ``price`` (``fee`` paid), the position it
    leaves (a copy: ``pos`` is unchanged until the fill is durable) and, on a read account
    whose venue keeps the isolated margin apart, its wallets after (``venue_margin``; None:
    unchanged). ``mark``: the mark the order filled against (the review measures slippage)."""
    assert plan.side is not None
    increase = plan.contracts_after > plan.contracts_before
    size = size_usd_from_contracts(pos.spec, contracts)
    trial = pos.copy()
    realized, entry_after = apply_fill(trial, increase, contracts, price, fee)
    venue = venue_margin(pos, trial, increase, size, price, realized - fee, wallets or {})
    fill = Fill(
        ts_ms=now_ms,
        hedge_id=pos.cfg.id,
        venue=pos.cfg.venue,
        symbol=pos.cfg.symbol,
        side=plan.side,
        contracts=contracts,
        size_usd=size,
        price=price,
        fee_coin=fee,
        realized_pnl_coin=realized,
        contracts_after=trial.contracts,
        entry_after=entry_after,
        broker=broker_name,
        mark=mark,
    )
    return fill, trial, None if venue is None else venue[0]


def margin_transfer(
    positions: Mapping[str, Position],
    plan: MarginPlan,
    now_ms: int,
    amount_coin: float | None,
    broker_name: str,
) -> MarginTransfer:
    """``plan``'s transfer (``amount_coin``: what the venue moved, None: the plan's), if the
    plan may still run; PlanRefused otherwise."""
    if not plan.ok:
        raise PlanRefused(plan.refusal or "nothing to move")
    pos = positions.get(plan.hedge_id)
    if pos is None:
        raise PlanRefused(f"unknown hedge {plan.hedge_id!r}")
    if pos.contracts != plan.contracts:
        raise PlanRefused("the position changed since the preview: preview again")
    amount = plan.amount_coin if amount_coin is None else amount_coin
    if not math.isfinite(amount) or amount == 0:
        raise PlanRefused(f"{amount!r} {pos.spec.coin} is not an amount moved")
    return MarginTransfer(
        ts_ms=now_ms,
        hedge_id=pos.cfg.id,
        venue=pos.cfg.venue,
        symbol=pos.cfg.symbol,
        amount_coin=amount,
        margin_after_coin=pos.margin_coin + amount,
        broker=broker_name,
    )


def _coins(amount: float | None, coin: str) -> str:
    return "—" if amount is None else f"{amount:.8f} {coin}"
