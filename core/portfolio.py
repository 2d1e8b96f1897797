"""The portfolio's figures: (positions, quotes, stale keys, now) -> the hedges' and holdings'
snapshots and the portfolio's totals, with the pure functions of ``core.inverse`` /
``core.liquidation`` / ``core.sizing``. Nothing here reads a clock or keeps state of its own:
what one snapshot reuses from the previous one (``Memo``) is handed in by its owner.

Attribution (so that the portfolio total counts everything once), the one proxy convention
of ``core.sizing``:
- a hedge's margin coins are exposure in its *settlement* coin (the BTC margin of a BTC proxy
  short counts in the BTC holding, ``M``);
- a hedge's short leg (hedged amount, PnL) belongs to the holding it *hedges*: it offsets
  ``core.sizing.hedged_coin`` coins of it (a proxy short of Q USD at entry P0 on coin c hedges
  ``(Q/P0)·P_c / (beta·P_h)`` coins of holding h).
Liquidation, bankruptcy and the maintenance margin come from ``core.liquidation.assess``,
each venue's own model.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import dated, inverse, liquidation, sizing
from core.book import spot_symbol
from core.config import Config, HedgeConfig
from core.events import FeedHealth, Fill, Quote
from core.frozen_build import FrozenBuilder
from core.instruments import native_symbol
from core.position import Position
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

H8_MS = 8 * 3600 * 1000
RECENT_FILLS = 10
# Snapshots are made per hedge (and coin) and tick: built without their constructors.
_HEDGES = FrozenBuilder(HedgeSnapshot)
_HOLDINGS = FrozenBuilder(HoldingSnapshot)
_STALE = operator.attrgetter("stale")
_CFG = operator.attrgetter("cfg")
#: the session's baseline for the change figures: (total value, unhedged value) in USD
Baseline = tuple[float, float]
StaleKeys = set[tuple[str, str]]
Quotes = Mapping[tuple[str, str], Quote]
#: ``compute``'s: the hedges' snapshots (in the book's order) and the holdings' (coins' order)
Computed = tuple[tuple[HedgeSnapshot, ...], tuple[HoldingSnapshot, ...]]


class Memo:
    """What one book's snapshots reuse from the previous one, owned by the engine: each hedge's
    snapshot with the inputs it was computed from (``hedge_cached``), the hedges' grouping
    (``groups``) and the config's coins. ``clear`` forgets it all (the next snapshot is then
    computed from scratch, to the same figures)."""

    __slots__ = ("coins_of", "groups", "hedges")

    def __init__(self) -> None:
        # hedge id -> [the inputs it was computed from, its snapshot, its Fixed]
        self.hedges: dict[str, list[Any]] = {}
        self.groups: Groups | None = None
        self.coins_of: tuple[Config, tuple[str, ...]] | None = None

    def clear(self) -> None:
        self.hedges.clear()
        self.groups = None
        self.coins_of = None


def snapshot(  # noqa: PLR0917 (the parts of a portfolio snapshot)
    hedges: tuple[HedgeSnapshot, ...],
    holdings: tuple[HoldingSnapshot, ...],
    now_ms: int,
    session_start_ms: int,
    feeds: Sequence[FeedHealth],
    fills: Sequence[Fill],
    baseline: Baseline | None,
) -> tuple[PortfolioSnapshot, Baseline | None]:
    """The portfolio snapshot of ``hedges`` and ``holdings`` (``compute``'s) at ``now_ms``,
    its totals, its most recent ``fills``, and the session's baseline after it: the first
    complete snapshot becomes the baseline (``baseline`` None until then) for the change
    figures."""
    total = _sum_or_none(h.value_usd for h in holdings)
    unhedged = _sum_or_none(h.unhedged_value_usd for h in holdings)
    delta = _sum_or_none(h.net_delta_usd for h in holdings)
    if baseline is None and total is not None and unhedged is not None:
        baseline = (total, unhedged)
    change = unh_change = None
    if baseline is not None and total is not None and unhedged is not None:
        change = total - baseline[0]
        unh_change = unhedged - baseline[1]
    snap = PortfolioSnapshot(
        ts_ms=now_ms,
        session_start_ms=session_start_ms,
        holdings=holdings,
        hedges=hedges,
        total_value_usd=total,
        unhedged_value_usd=unhedged,
        net_delta_usd=delta,
        session_change_usd=change,
        unhedged_session_change_usd=unh_change,
        feeds=tuple(feeds),
        recent_fills=tuple(fills[-RECENT_FILLS:]),
        stale=any(map(_STALE, hedges)) or any(map(_STALE, holdings)),
    )
    return snap, baseline


def stale_keys(
    quotes: Quotes, feeds: Sequence[FeedHealth], wall_ms: int | None, stale_after_ms: int
) -> StaleKeys:
    """The (venue, symbol) keys whose quote is stale, decided once per snapshot: listed stale
    by its feed's health, or (given ``wall_ms``) received more than ``stale_after_ms`` ago. A
    quote that is absent is stale too (``hedge_cached``, ``prices``)."""
    stale = {(f.venue, s) for f in feeds for s in f.stale_symbols}
    if wall_ms is not None:
        limit = stale_after_ms
        stale.update(k for k, q in quotes.items() if wall_ms - q.received_ms > limit)
    return stale


def coins(config: Config, memo: Memo) -> tuple[str, ...]:
    """``config.coins()``, computed once per config (it walks every hedge)."""
    if memo.coins_of is None or memo.coins_of[0] is not config:
        memo.coins_of = (config, config.coins())
    return memo.coins_of[1]


def _fresh(quotes: Quotes, venue: str, symbol: str, stale: StaleKeys) -> Quote | None:
    q = quotes.get((venue, symbol))
    return None if q is None or (venue, symbol) in stale else q


def groups(rows: Sequence[Position], config: Config, spot_venue: str | None, memo: Memo) -> Groups:
    """``Groups`` of ``rows``, reused (from ``memo``) while they hold the same config objects
    (and the same ``config`` and ``spot_venue``): a hedge's settlement coin cannot change
    (``update_specs`` refuses a spec of another coin)."""
    cfgs = list(map(_CFG, rows))
    g = memo.groups
    if g is None or g.cfgs != cfgs or g.of != (config, spot_venue):
        own: dict[str, list[int]] = {}
        protecting: dict[str, list[int]] = {}
        keys: dict[str, dict[tuple[str, str], None]] = {}
        if spot_venue is not None:
            for coin in coins(config, memo):
                keys[coin] = {(spot_venue, spot_symbol(spot_venue, coin)): None}
        for i, p in enumerate(rows):
            own.setdefault(p.spec.coin, []).append(i)
            protecting.setdefault(p.cfg.hedges, []).append(i)
            keys.setdefault(p.spec.coin, {})[(p.cfg.venue, p.cfg.symbol)] = None
        g = memo.groups = Groups(
            (config, spot_venue),
            cfgs,
            {c: tuple(v) for c, v in own.items()},
            {c: tuple(v) for c, v in protecting.items()},
            {c: tuple(rows[i].cfg.id for i in v) for c, v in protecting.items()},
            {c: tuple(v) for c, v in keys.items()},
        )
    return g


def prices(
    groups: Groups, quotes: Quotes, coins: Iterable[str], stale: StaleKeys
) -> dict[str, tuple[float | None, bool]]:
    """Price of each coin and whether it is stale: spot mid/last, else a same-coin hedge's
    index, else its mark (in the hedges' order); a fresh source first, a stale one used
    but marked."""
    out: dict[str, tuple[float | None, bool]] = {}
    for coin in coins:
        price: float | None = None
        is_stale = True
        later: list[Quote] = []  # the stale sources, in order, tried after the fresh ones
        for key in groups.quote_keys.get(coin, ()):
            q = quotes.get(key)
            if q is None:
                continue
            if key in stale:
                later.append(q)
                continue
            price = _quote_price(q)
            if price is not None:
                is_stale = False
                break
        else:
            for q in later:
                price = _quote_price(q)
                if price is not None:
                    break
        out[coin] = (price, is_stale)
    return out


def compute(  # noqa: PLR0917 (the book, the holdings and the memo)
    positions: Mapping[str, Position],
    quotes: Quotes,
    stale: StaleKeys,
    now_ms: int,
    config: Config,
    spot_venue: str | None,
    amounts: Mapping[str, float],
    labels: Mapping[str, str],
    free_wallet: Mapping[str, Mapping[str, float]],
    memo: Memo,
) -> Computed:
    """Every hedge's and holding's snapshot at ``now_ms`` (market clock) from ``positions``
    and ``quotes`` (``stale``: ``stale_keys``'s), the holdings' coins ``amounts`` and
    ``labels`` (``holding_amounts``, ``holding_labels``), the accounts' ``free_wallet`` coins
    (account -> coin -> coins backing no isolated position: exposure, as the margin is) and
    ``config``'s targets; ``memo`` keeps what the next call may reuse."""
    rows = tuple(positions.values())
    grouped = groups(rows, config, spot_venue, memo)
    all_coins = coins(config, memo)
    price_of = prices(grouped, quotes, all_coins, stale)
    cache = memo.hedges
    hedges = tuple([hedge_cached(p, quotes, stale, now_ms, cache) for p in rows])
    holdings = []
    targets = config.targets
    for coin in all_coins:
        price, price_stale = price_of[coin]
        spot = amounts.get(coin, 0.0)
        protecting = grouped.protecting.get(coin, ())
        margin = sum((rows[i].margin_coin for i in grouped.own.get(coin, ())), 0.0)
        margin += sum(free.get(coin, 0.0) for free in free_wallet.values())
        hedged: float | None = 0.0
        pnl_usd: float | None = 0.0
        stale_any = price_stale
        for i in protecting:
            p, hs = rows[i], hedges[i]
            stale_any = stale_any or hs.stale
            if p.contracts == 0:
                continue
            if p.cfg.proxy:
                h_coin = hedged_coin(p, hs, price)
            else:  # a direct hedge's coins do not move with the prices
                fixed: Fixed = cache[p.cfg.id][2]
                h_coin = fixed.hedged_coin
            hedged = None if hedged is None or h_coin is None else hedged + h_coin
            # the short leg's PnL in USD, valued at its own coin's price
            c_price = price_of[p.spec.coin][0]
            if pnl_usd is None or hs.pnl_coin is None or c_price is None:
                pnl_usd = None
            else:
                pnl_usd += hs.pnl_coin * c_price
        exposure = spot + margin
        ratio = None if hedged is None or exposure <= 0 else hedged / exposure
        delta = None if hedged is None else exposure - hedged
        target = targets.get(coin)
        value = unhedged = None
        if price is not None:
            unhedged = exposure * price
            value = None if pnl_usd is None else unhedged + pnl_usd
        d = _HOLDINGS.new()
        d.coin = coin
        d.label = labels.get(coin, "")
        d.amount_coin = spot
        d.price_usd = price
        d.spot_value_usd = None if price is None else spot * price
        d.hedge_ids = grouped.protecting_ids.get(coin, ())
        d.margin_coin = margin
        d.net_delta_coin = delta
        d.net_delta_usd = None if delta is None or price is None else delta * price
        d.hedge_ratio = ratio
        d.target_ratio = None if target is None else target.ratio
        d.drift = None if target is None or ratio is None else ratio - target.ratio
        d.band = None if target is None else target.band
        d.value_usd = value
        d.unhedged_value_usd = unhedged
        d.stale = stale_any
        holdings.append(_HOLDINGS.freeze(d))
    return hedges, tuple(holdings)


def hedged_coin(p: Position, hs: HedgeSnapshot, holding_price: float | None) -> float | None:
    """Coins of the protected holding that this hedge offsets (short > 0, long < 0)."""
    if p.entry is None or p.contracts == 0:
        return 0.0
    return sizing.hedged_coin(
        p.cfg.side,
        p.size_usd,
        p.entry,
        beta=p.cfg.beta,
        proxy=p.cfg.proxy,
        contract_price=hs.mark,
        holding_price=holding_price,
    )


def hedge_cached(
    p: Position, quotes: Quotes, stale: StaleKeys, now_ms: int, cache: dict[str, list[Any]]
) -> HedgeSnapshot:
    """The hedge's snapshot, reused while its inputs are unchanged: the quote object (quotes
    are frozen and replaced on arrival), the position's figures, its spec and whether it
    is stale. Only the funding countdown and a dated future's days to expiry (and the
    basis it locks a year) move with the clock alone; they are patched into a copy. When
    only the quotes moved, what the position alone decides (``Fixed``, with the fields
    it fills) is kept from the previous snapshot. ``cache``: ``Memo.hedges``."""
    cfg = p.cfg
    qkey = (cfg.venue, cfg.symbol)
    q = quotes.get(qkey)
    perp = None if p.spec.expiry_ms is None else perp_quote(p, quotes, stale)
    fixed_key = (
        cfg,
        p.spec,
        p.contracts,
        p.entry,
        p.margin_coin,
        p.realized_pnl_coin,
        p.funding_accrued_coin,
        p.exchange,
    )
    is_stale = q is None or qkey in stale
    key = (fixed_key, perp, q, is_stale)
    hit = cache.get(cfg.id)
    if hit is not None and hit[0] == key:
        hs: HedgeSnapshot = hit[1]
        draft = None
        nf = hs.next_funding_ms
        countdown = None if nf is None else max(0, nf - now_ms)
        if countdown != hs.funding_countdown_ms:
            draft = _HEDGES.copy(hs)
            draft.funding_countdown_ms = countdown
        if hs.expiry_ms is not None:
            days, apr = _dated_figures(hs.expiry_ms, hs.basis_pct, now_ms)
            if days != hs.days_to_expiry:
                draft = draft or _HEDGES.copy(hs)
                draft.days_to_expiry = days
                draft.basis_locked_apr_pct = draft.basis_annual_pct = apr
        if draft is not None:
            hs = hit[1] = _HEDGES.freeze(draft)
        return hs
    if hit is not None and hit[0][0] == fixed_key:
        draft = _HEDGES.copy(hit[1])
        fixed: Fixed = hit[2]
    else:
        draft = _HEDGES.new()
        fixed = fixed_of(p)
        fill_fixed(draft, p, fixed)
    fill_quoted(draft, p, q, perp, is_stale, now_ms, fixed)
    hs = _HEDGES.freeze(draft)
    cache[cfg.id] = [key, hs, fixed]
    return hs


def perp_quote(p: Position, quotes: Quotes, stale: StaleKeys) -> Quote | None:
    """A dated hedge's perpetual of the same venue and coin, when fresh (None otherwise,
    and for a perpetual hedge)."""
    if p.spec.expiry_ms is None:
        return None
    return _fresh(quotes, p.cfg.venue, native_symbol(p.cfg.venue, p.spec.coin), stale)


def fill_quoted(  # noqa: PLR0917 (the hedge and what it is computed from)
    d: Any,
    p: Position,
    q: Quote | None,
    pq: Quote | None,
    is_stale: bool,
    now_ms: int,
    fixed: Fixed,
) -> None:
    """Set the hedge's snapshot fields that depend on the quotes (and the clock) on the
    draft ``d``; ``fill_fixed`` sets the others. ``q``: the hedge's quote; ``pq``: a
    dated hedge's fresh perpetual (``perp_quote``); ``is_stale``: ``q`` is missing or
    stale; ``fixed``: ``fixed_of(p)``."""
    cfg, spec = p.cfg, p.spec
    mark = q.mark if q is not None else None
    index = q.index if q is not None else None
    size = fixed.size
    open_ = fixed.open_
    pvc = pnl_c = pnl_u = equity = mm = liq = dist = None
    risk: liquidation.Liquidation | None = None  # assess_position's, used at the mark
    far = False
    if mark is not None and mark > 0:
        pvc = inverse.position_value_coin(size, mark)
        mm = 0.0
        if open_ and p.entry is not None:
            pnl_c = inverse.pnl_coin(cfg.side, size, p.entry, mark)
            pnl_u = inverse.pnl_usd(cfg.side, size, p.entry, mark)
            equity = inverse.equity_coin(p.margin_coin, cfg.side, size, p.entry, mark)
            risk = fixed.risk
            if risk is not None:
                liq, mm = risk.price, None  # no threshold at a mark that is not finite
                if math.isfinite(mark):
                    mm, _, far = liquidation.mark_figures(
                        risk, spec, cfg.side, size, p.entry, max(p.margin_coin, 0.0), mark
                    )
            dist = inverse.liq_distance_pct(liq, mark)
        else:
            pnl_c, pnl_u, equity = 0.0, 0.0, p.margin_coin
    is_dated = spec.expiry_ms is not None
    interval = (q.funding_interval_ms if q is not None else None) or spec.funding_interval_ms
    if is_dated:
        interval = None
    continuous = spec.funding_interval_ms is None and not is_dated
    basis_u = basis_p = basis_a = None
    if mark is not None and index is not None and index > 0:
        basis_u = inverse.basis_usd(mark, index)
        basis_p = inverse.basis_pct(mark, index)
        basis_a = inverse.basis_annual_pct(mark, index, interval or H8_MS)
    days = locked = None
    if spec.expiry_ms is not None:
        days, locked = _dated_figures(spec.expiry_ms, basis_p, now_ms)
        basis_a = locked  # a dated basis converges at expiry, not each funding interval
    perp_rate = perp_apr = None
    if is_dated:
        perp_rate = pq.funding_rate if pq is not None else None
        if perp_rate is not None and pq is not None:
            perp_interval = pq.funding_interval_ms or H8_MS
            perp_apr = inverse.funding_apr_pct(perp_rate, perp_interval, cfg.side)
    rate = q.funding_rate if q is not None and not is_dated else None
    nf = None if continuous or is_dated or q is None else q.next_funding_ms
    apr = nxt = None
    if is_dated:
        nxt = 0.0  # a dated future pays no funding
    elif rate is not None:
        apr = inverse.funding_apr_pct(rate, interval or H8_MS, cfg.side)
        if mark is not None and mark > 0 and open_:
            nxt = inverse.funding_coin(cfg.side, size, mark, rate)
        elif open_ is False:
            nxt = 0.0
    leverage = cfg.leverage
    if pvc is not None and equity is not None and equity > 0 and open_:
        leverage = pvc / equity
    d.leverage = leverage
    d.mark = mark
    d.index = index
    d.last = q.last if q is not None else None
    d.position_value_coin = pvc
    d.pnl_coin = pnl_c
    d.pnl_usd = pnl_u
    d.equity_coin = equity
    d.maintenance_margin_coin = mm
    d.liq_price = liq
    d.liq_distance_pct = dist
    d.basis_usd = basis_u
    d.basis_pct = basis_p
    d.basis_annual_pct = basis_a
    d.funding_rate = rate
    d.funding_interval_ms = interval if interval is not None else (H8_MS if continuous else None)
    d.next_funding_ms = nf
    d.funding_countdown_ms = None if nf is None else max(0, nf - now_ms)
    d.funding_apr_pct = apr
    d.funding_next_coin = nxt
    d.funding_accrued_usd = None if mark is None else p.funding_accrued_coin * mark
    d.stale = is_stale
    d.bankruptcy_price = risk.bankruptcy_price if risk is not None else None
    d.margin_model = fixed.model if risk is not None else None
    d.liq_beyond_10x = far
    d.tier_estimate = risk.tier.estimate if risk is not None else False
    d.days_to_expiry = days
    d.basis_locked_apr_pct = locked
    d.perp_funding_rate = perp_rate
    d.perp_funding_apr_pct = perp_apr
    ex = p.exchange
    d.liq_gap_pct = _gap_pct(liq, ex.liq_price if ex is not None else None)


def _dated_figures(
    expiry_ms: int, basis_pct: float | None, now_ms: int
) -> tuple[float, float | None]:
    """A dated future's days to expiry and the basis a short locks, annualised over them
    (``basis % · 365 / days``; None without a basis or once expired)."""
    days = dated.days_left(expiry_ms, now_ms)
    locked = basis_pct * 365.0 / days if basis_pct is not None and days > 0 else None
    return days, locked


@dataclass(frozen=True, slots=True)
class Fixed:
    """What a hedge's snapshot takes from its position alone, not from the quotes: kept (with
    the fields ``fill_fixed`` set) while the config, spec, contracts, entry, margin, realised
    PnL, funding booked and the exchange's figures are unchanged, since most ticks only move
    the quotes. ``risk``: ``core.liquidation.assess_position`` (its prices, model and tier do
    not depend on the mark), None for a flat position or one the model refuses."""

    size: float
    open_: bool
    risk: liquidation.Liquidation | None
    model: str | None
    hedged_coin: float | None  # what a direct hedge offsets (``hedged_coin``)


@dataclass(frozen=True, slots=True)
class Groups:
    """Which hedges (by position in the book's order) settle in each coin (``own``: their
    margin is exposure in it) and protect each holding, and where each coin's price may come
    from (its spot pair first, then its hedges' instruments), for the hedges' configs ``cfgs``
    under the config and spot venue ``of``."""

    of: tuple[Config, str | None]
    cfgs: list[HedgeConfig]
    own: dict[str, tuple[int, ...]]
    protecting: dict[str, tuple[int, ...]]
    protecting_ids: dict[str, tuple[str, ...]]
    quote_keys: dict[str, tuple[tuple[str, str], ...]]


def fixed_of(p: Position) -> Fixed:
    """``Fixed`` of ``p``. A wallet driven below zero (fees, funding) is priced as an empty
    one, and input the model refuses gives no risk figures rather than a crashed tick."""
    cfg = p.cfg
    open_ = p.contracts > 0 and p.entry is not None
    size = p.size_usd
    risk = None
    if open_ and p.entry is not None:
        try:
            risk = liquidation.assess_position(
                p.spec, cfg.side, size, p.entry, max(p.margin_coin, 0.0), mode=cfg.margin_mode
            )
        except ValueError:
            risk = None
    hedged: float | None = 0.0
    if p.entry is not None and p.contracts != 0:
        hedged = sizing.hedged_coin(cfg.side, size, p.entry, beta=cfg.beta, proxy=False)
    return Fixed(size, open_, risk, str(risk.model) if risk is not None else None, hedged)


def fill_fixed(d: Any, p: Position, fixed: Fixed) -> None:
    """Set the snapshot fields of draft ``d`` that come from the position alone (the
    config, spec, position figures and the exchange's), ``fixed`` being ``fixed_of(p)``."""
    cfg, spec, ex = p.cfg, p.spec, p.exchange
    d.hedge_id = cfg.id
    d.venue = cfg.venue
    d.symbol = cfg.symbol
    d.coin = spec.coin
    d.hedged_coin = cfg.hedges
    d.beta = cfg.beta
    d.side = cfg.side
    d.contracts = p.contracts
    d.size_usd = fixed.size
    d.entry = p.entry
    d.margin_coin = p.margin_coin
    d.margin_mode = cfg.margin_mode
    d.realized_pnl_coin = p.realized_pnl_coin
    d.funding_accrued_coin = p.funding_accrued_coin
    d.tier_source = spec.tier_source.describe()
    d.expiry_ms = spec.expiry_ms
    d.exchange_liq_price = ex.liq_price if ex is not None else None
    d.funding_received_coin = ex.funding_received_coin if ex is not None else None
    d.funding_received_since_ms = ex.funding_since_ms if ex is not None else None
    d.instrument_status = spec.status
    d.delist_ms = spec.delist_ms


def _quote_price(q: Quote) -> float | None:
    spot = q.kind == "spot"
    if spot and q.bid is not None and q.ask is not None and q.bid > 0 and q.ask > 0:
        return (q.bid + q.ask) / 2.0
    for v in (q.last, q.bid) if q.kind == "spot" else (q.index, q.mark):
        if v is not None and v > 0:
            return v
    return None


def _gap_pct(ours: float | None, theirs: float | None) -> float | None:
    """Our liquidation price against the exchange's, in % of theirs (None: either unknown)."""
    if ours is None or theirs is None or theirs <= 0 or not math.isfinite(ours):
        return None
    return (ours / theirs - 1.0) * 100.0


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def holding_amounts(config: Config) -> dict[str, float]:
    """The coins held of each of ``config``'s coins (its holdings summed)."""
    return {c: sum((h.amount for h in config.holdings if h.coin == c), 0.0) for c in config.coins()}


def holding_labels(config: Config) -> dict[str, str]:
    """The labels of each coin's holdings, joined (empty for a coin without one)."""
    return {
        c: ", ".join(h.label for h in config.holdings if h.coin == c and h.label)
        for c in config.coins()
    }
