"""What the hedge did over a range: risk with and without it, and what it cost, decomposed.
Pure: the recorded series and events in (``storage.review_queries`` reads them), one value
out.

Risk. From the portfolio's USD value hedged ``V`` and unhedged ``U`` (the same coins without
any hedge, as the engine records them) at each recorded point: the variance of the changes
between consecutive points (the usual measure of hedge effectiveness: a hedge that removes
price risk leaves changes near zero), the variance cut ``1 − var(ΔV)/var(ΔU)`` in percent,
and the maximum drawdown (largest fall from a running peak) of each, in USD and percent.

Cost, in USD (> 0 the hedge earned it, < 0 it cost):
- funding received and paid: each settlement ``amount_coin · mark`` at its settlement;
- trading fees: ``fee_coin · price`` of each fill (a cost);
- slippage against the mark of each fill: an inverse order of Q USD at price p against mark
  m changes the position's coin by ``s·Q·(1/m − 1/p)`` (s = +1 a sell, −1 a buy; a sell
  below the mark or a buy above it costs), valued at the mark; a fill recorded without its
  mark is counted as unknown;
- basis drag: a short of Q gains ``Q·(1 − P/P0)`` where an index-priced hedge would gain
  ``Q·(1 − I/I0)``; with ``P = I·(1 + b)`` the difference over the range is
  ``s·Q·(P1/P0)·(b0 − b1)/(1 + b1)``: the premium earned when the basis narrows, paid when it
  widens;
- upside given away: over the steps where the unhedged value rose, what the hedged value
  did not follow, ``Σ max(0, ΔU − ΔV)`` (reported apart: it is the hedge working, the price
  of the protection in a rally, not money paid).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.events import Fill, FundingEvent, OrderSide


@dataclass(frozen=True, slots=True)
class BasisLeg:
    """One hedge's mark and basis at the start and end of the range."""

    hedge_id: str
    side: str
    size_usd: float
    mark_start: float
    basis_start_pct: float
    mark_end: float
    basis_end_pct: float


@dataclass(frozen=True, slots=True)
class Drawdown:
    usd: float  # largest fall from a running peak (>= 0)
    pct: float | None  # of that peak
    peak_ms: int | None
    trough_ms: int | None


@dataclass(frozen=True, slots=True)
class Review:
    start_ms: int
    end_ms: int
    points: int
    change_usd: float | None  # hedged value: last − first
    unhedged_change_usd: float | None
    variance: float | None  # of the hedged value's changes, USD²
    unhedged_variance: float | None
    variance_cut_pct: float | None
    drawdown: Drawdown | None
    unhedged_drawdown: Drawdown | None
    funding_received_usd: float
    funding_paid_usd: float  # <= 0
    fees_usd: float  # <= 0
    slippage_usd: float
    slippage_unknown_fills: int
    basis_usd: float | None
    upside_given_usd: float | None
    fills: int
    settlements: int

    @property
    def cost_usd(self) -> float | None:
        """The sum the hedge earned (> 0) or cost (< 0): funding, fees, slippage, basis."""
        if self.basis_usd is None:
            return None
        return (
            self.funding_received_usd
            + self.funding_paid_usd
            + self.fees_usd
            + self.slippage_usd
            + self.basis_usd
        )

    @property
    def saved_usd(self) -> float | None:
        """How much better (> 0) the hedged book did than the unhedged one."""
        if self.change_usd is None or self.unhedged_change_usd is None:
            return None
        return self.change_usd - self.unhedged_change_usd


def _diffs(values: Sequence[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(values)]


def variance(values: Sequence[float]) -> float | None:
    """Population variance; None with fewer than two values."""
    if len(values) < 2:
        return None
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / len(values)


def max_drawdown(points: Sequence[tuple[int, float]]) -> Drawdown | None:
    """The largest fall from a running peak of ``(ts_ms, value)`` points."""
    if not points:
        return None
    peak_t, peak = points[0]
    best = Drawdown(0.0, 0.0 if peak > 0 else None, None, None)
    for t, v in points:
        if v > peak:
            peak_t, peak = t, v
        fall = peak - v
        if fall > best.usd:
            best = Drawdown(fall, fall / peak * 100.0 if peak > 0 else None, peak_t, t)
    return best


def slippage_usd(fill: Fill) -> float | None:
    """The fill's slippage against its mark (module docstring); None without the mark."""
    if fill.mark is None or fill.mark <= 0 or fill.price <= 0:
        return None
    s = 1.0 if fill.side is OrderSide.SELL else -1.0
    return s * fill.size_usd * (1.0 / fill.mark - 1.0 / fill.price) * fill.mark


def basis_drag_usd(leg: BasisLeg) -> float:
    s = 1.0 if leg.side == "short" else -1.0
    b0, b1 = leg.basis_start_pct / 100.0, leg.basis_end_pct / 100.0
    return s * leg.size_usd * (leg.mark_end / leg.mark_start) * (b0 - b1) / (1.0 + b1)


def review(
    points: Iterable[tuple[int, float | None, float | None]],
    fills: Iterable[Fill],
    funding: Iterable[FundingEvent],
    legs: Iterable[BasisLeg] | None,
    *,
    start_ms: int,
    end_ms: int,
) -> Review:
    """The review of ``[start_ms, end_ms]``: ``points`` are ``(ts_ms, value_usd,
    unhedged_value_usd)`` (points with either missing are skipped); ``legs`` None when the
    basis is not known for every hedge."""
    pts = [(t, v, u) for t, v, u in points if v is not None and u is not None]
    pts = [(t, v, u) for t, v, u in pts if start_ms <= t <= end_ms]
    pts.sort()
    hedged = [v for _t, v, _u in pts]
    unhedged = [u for _t, _v, u in pts]
    dv, du = _diffs(hedged), _diffs(unhedged)
    var_h, var_u = variance(dv), variance(du)
    cut = None
    if var_h is not None and var_u is not None and var_u > 0:
        cut = (1.0 - var_h / var_u) * 100.0
    upside = sum(max(0.0, a - b) for a, b in zip(du, dv, strict=True) if a > 0) if dv else None
    received = paid = 0.0
    settlements = 0
    for e in funding:
        if not start_ms <= e.ts_ms <= end_ms:
            continue
        settlements += 1
        usd = e.amount_coin * e.mark
        if usd >= 0:
            received += usd
        else:
            paid += usd
    fees = slip = 0.0
    unknown = n_fills = 0
    for f in fills:
        if not start_ms <= f.ts_ms <= end_ms:
            continue
        n_fills += 1
        fees -= f.fee_coin * f.price
        s = slippage_usd(f)
        if s is None:
            unknown += 1
        else:
            slip += s
    basis = None if legs is None else math.fsum(basis_drag_usd(leg) for leg in legs)
    return Review(
        start_ms=start_ms,
        end_ms=end_ms,
        points=len(pts),
        change_usd=hedged[-1] - hedged[0] if len(hedged) >= 2 else None,
        unhedged_change_usd=unhedged[-1] - unhedged[0] if len(unhedged) >= 2 else None,
        variance=var_h,
        unhedged_variance=var_u,
        variance_cut_pct=cut,
        drawdown=max_drawdown([(t, v) for t, v, _u in pts]),
        unhedged_drawdown=max_drawdown([(t, u) for t, _v, u in pts]),
        funding_received_usd=received,
        funding_paid_usd=paid,
        fees_usd=fees,
        slippage_usd=slip,
        slippage_unknown_fills=unknown,
        basis_usd=basis,
        upside_given_usd=upside,
        fills=n_fills,
        settlements=settlements,
    )
