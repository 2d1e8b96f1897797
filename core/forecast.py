"""Funding forecasts per hedge and in total: pure functions of a snapshot and the recorded
rate history (``storage.review_queries`` reads it); no clock (``now_ms`` is passed).

One payment of an inverse contract is ``s·Q/P·rate`` coin (``core.inverse.funding_coin``;
> 0 received), ``s·Q·rate`` USD at the mark it settles at. Over ``d`` days a hedge is paid
``n = d·24 h / interval`` times (Deribit funds continuously on an 8-hour rate: ``n = 3·d``
eight-hour equivalents). A forecast at a rate is ``n`` payments at the current mark and size:
at a constant rate it is exactly ``rate × payments`` (× Q/P). The rates forecast at: the rate
in force, the recorded 24-hour and 7-day averages (the mean of the recorded samples in the
window, with the span they cover: a window the history does not fill says so), and the
lowest and highest rates recorded, which bound what the history says the range is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from core import inverse
from core.snapshot import HedgeSnapshot

DAY_MS = 86_400_000
H8_MS = 8 * 3_600_000
#: The horizons forecast, in days.
HORIZON_DAYS: tuple[int, ...] = (7, 30)


class RateBasis(StrEnum):
    """Which rate a forecast assumes."""

    CURRENT = "current"
    AVG_24H = "avg_24h"
    AVG_7D = "avg_7d"
    LOW = "low"  # the lowest recorded
    HIGH = "high"  # the highest recorded


RATE_LABEL: dict[RateBasis, str] = {
    RateBasis.CURRENT: "at the current rate",
    RateBasis.AVG_24H: "at the 24 h average",
    RateBasis.AVG_7D: "at the 7 d average",
    RateBasis.LOW: "at the lowest recorded",
    RateBasis.HIGH: "at the highest recorded",
}


@dataclass(frozen=True, slots=True)
class RateStats:
    """What the recorded rates of one hedge say (None: no sample in the window)."""

    avg_24h: float | None
    avg_7d: float | None
    low: float | None
    high: float | None
    samples: int
    covered_24h_ms: int  # the span of the samples inside the 24 h window
    covered_7d_ms: int


EMPTY_STATS = RateStats(None, None, None, None, 0, 0, 0)


def rate_stats(samples: Iterable[tuple[int, float | None]], now_ms: int) -> RateStats:
    """Stats of ``(ts_ms, rate)`` samples up to ``now_ms`` (None rates skipped)."""
    pts = sorted((t, r) for t, r in samples if r is not None and t <= now_ms)
    if not pts:
        return EMPTY_STATS

    def window(ms: int) -> tuple[float | None, int]:
        inside = [(t, r) for t, r in pts if t > now_ms - ms]
        if not inside:
            return None, 0
        return sum(r for _t, r in inside) / len(inside), inside[-1][0] - inside[0][0]

    a24, c24 = window(DAY_MS)
    a7, c7 = window(7 * DAY_MS)
    rates = [r for _t, r in pts]
    return RateStats(a24, a7, min(rates), max(rates), len(pts), c24, c7)


@dataclass(frozen=True, slots=True)
class Projection:
    basis: RateBasis
    rate: float | None  # per interval (Deribit: per 8 h)
    days: int
    payments: float
    coin: float | None  # > 0 received
    usd: float | None


@dataclass(frozen=True, slots=True)
class HedgeForecast:
    hedge_id: str
    coin: str
    interval_ms: int  # the funding interval (Deribit: its 8-hour reference)
    continuous: bool
    rate: float | None  # in force now
    next_ms: int | None  # the next payment time (None: continuous or unknown)
    next_coin: float | None
    next_usd: float | None
    stats: RateStats
    projections: tuple[Projection, ...]

    def projection(self, basis: RateBasis, days: int) -> Projection | None:
        return next((p for p in self.projections if p.basis is basis and p.days == days), None)


def payments_in(days: float, interval_ms: int) -> float:
    """How many payments ``days`` hold at one per ``interval_ms``."""
    return days * DAY_MS / interval_ms


def hedge_forecast(
    h: HedgeSnapshot, stats: RateStats = EMPTY_STATS, *, days: Sequence[int] = HORIZON_DAYS
) -> HedgeForecast:
    """The forecast of ``h`` at every rate basis and horizon (unknown: None)."""
    interval = h.funding_interval_ms or H8_MS
    continuous = h.next_funding_ms is None and h.venue == "deribit" and h.expiry_ms is None
    open_ = h.contracts > 0 and h.entry is not None and h.mark is not None and h.mark > 0
    rates = {
        RateBasis.CURRENT: h.funding_rate,
        RateBasis.AVG_24H: stats.avg_24h,
        RateBasis.AVG_7D: stats.avg_7d,
        RateBasis.LOW: stats.low,
        RateBasis.HIGH: stats.high,
    }
    projections = []
    for basis, rate in rates.items():
        for d in days:
            n = payments_in(d, interval)
            coin = usd = None
            if h.expiry_ms is not None:  # a dated future pays no funding at any rate
                coin = usd = 0.0
            elif rate is not None and open_ and h.mark is not None:
                coin = n * inverse.funding_coin(h.side, h.size_usd, h.mark, rate)
                usd = coin * h.mark
            elif rate is not None and h.contracts == 0:
                coin = usd = 0.0
            projections.append(Projection(basis, rate, d, n, coin, usd))
    next_coin = h.funding_next_coin
    return HedgeForecast(
        hedge_id=h.hedge_id,
        coin=h.coin,
        interval_ms=interval,
        continuous=continuous,
        rate=h.funding_rate,
        next_ms=h.next_funding_ms,
        next_coin=next_coin,
        next_usd=None if next_coin is None or h.mark is None else next_coin * h.mark,
        stats=stats,
        projections=tuple(projections),
    )


def total_usd(forecasts: Iterable[HedgeForecast], basis: RateBasis, days: int) -> float | None:
    """The USD sum over hedges of one projection; None when any hedge's is unknown."""
    total = 0.0
    for f in forecasts:
        p = f.projection(basis, days)
        if p is None or p.usd is None:
            return None
        total += p.usd
    return total


def next_total_usd(forecasts: Iterable[HedgeForecast]) -> float | None:
    total = 0.0
    for f in forecasts:
        if f.next_usd is None:
            return None
        total += f.next_usd
    return total
