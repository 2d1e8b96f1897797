"""One hedge's snapshot from its position and its quote: what the position alone decides
(``Fixed``: the liquidation model, the hedged coins), kept while the position is unchanged, and
what the quotes and the clock move (mark, PnL, liquidation distance, basis, funding), patched
into a copy when only the clock moved. ``core.portfolio`` composes them into the portfolio's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import dated, inverse, liquidation, sizing
from core.events import Quote
from core.frozen_build import FrozenBuilder
from core.instruments import native_symbol
from core.position import Position
from core.snapshot import HedgeSnapshot

H8_MS = 8 * 3600 * 1000
# Snapshots are made per hedge and tick: built without their constructors.
_HEDGES = FrozenBuilder(HedgeSnapshot)
StaleKeys = set[tuple[str, str]]
Quotes = Mapping[tuple[str, str], Quote]


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
    hedged_coin: float | None  # what a direct hedge offsets (``core.portfolio.hedged_coin``)


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


def _fresh(quotes: Quotes, venue: str, symbol: str, stale: StaleKeys) -> Quote | None:
    q = quotes.get((venue, symbol))
    return None if q is None or (venue, symbol) in stale else q


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


def _gap_pct(ours: float | None, theirs: float | None) -> float | None:
    """Our liquidation price against the exchange's, in % of theirs (None: either unknown)."""
    if ours is None or theirs is None or theirs <= 0 or not math.isfinite(ours):
        return None
    return (ours / theirs - 1.0) * 100.0
