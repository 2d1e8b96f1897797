"""What the hedge review (``core.review``) and the funding forecast (``core.forecast``) read
from the history file: the portfolio's hedged and unhedged value, each hedge's mark and basis
at both ends of a range, its recorded funding rates, and the fills and settlements. Read-only,
through ``storage.history.History``."""

from __future__ import annotations

from collections.abc import Mapping

from core.events import Fill, FundingEvent
from core.forecast import DAY_MS, RateStats, rate_stats
from core.review import BasisLeg, Review, review
from storage.history import History

#: Points per series the review reads (the variance is of the changes between them).
REVIEW_POINTS = 2000


def portfolio_points(
    hist: History, start_ms: int, end_ms: int, *, max_points: int = REVIEW_POINTS
) -> list[tuple[int, float | None, float | None]]:
    """``(ts_ms, value_usd, unhedged_value_usd)`` per bucket."""
    data = hist.series(
        start_ms, end_ms, max_points=max_points, keys=("value_usd", "unhedged_value_usd")
    )
    unhedged = dict(data["unhedged_value_usd"])
    return [(t, v, unhedged.get(t)) for t, v in data["value_usd"]]


def _ends(points: list[tuple[int, float | None]]) -> tuple[float, float] | None:
    vals = [v for _t, v in points if v is not None]
    return (vals[0], vals[-1]) if vals else None


def basis_legs(
    hist: History, start_ms: int, end_ms: int, *, sides: Mapping[str, str] | None = None
) -> list[BasisLeg] | None:
    """Each recorded hedge's mark and basis at the start and end of the range (``sides``:
    hedge id -> "short"/"long", default short); None when one hedge lacks them."""
    legs = []
    for sub in hist.subjects():
        if sub.kind != "hedge":
            continue
        data = hist.series(
            start_ms,
            end_ms,
            subject=f"hedge:{sub.key}",
            max_points=REVIEW_POINTS,
            keys=("mark_usd", "basis_pct", "size_usd"),
        )
        if not data["n"]:
            continue  # not recorded in this range
        marks, basis, size = (_ends(data[k]) for k in ("mark_usd", "basis_pct", "size_usd"))
        if marks is None or basis is None or size is None:
            return None
        legs.append(
            BasisLeg(
                hedge_id=sub.key,
                side=(sides or {}).get(sub.key, "short"),
                size_usd=size[1],
                mark_start=marks[0],
                basis_start_pct=basis[0],
                mark_end=marks[1],
                basis_end_pct=basis[1],
            )
        )
    return legs


def events(hist: History, start_ms: int, end_ms: int) -> tuple[list[Fill], list[FundingEvent]]:
    fills: list[Fill] = []
    funding: list[FundingEvent] = []
    for ev in hist.events(start_ms, end_ms):
        if isinstance(ev.event, Fill):
            fills.append(ev.event)
        elif isinstance(ev.event, FundingEvent):
            funding.append(ev.event)
    return fills, funding


def hedge_review(
    hist: History, start_ms: int, end_ms: int, *, sides: Mapping[str, str] | None = None
) -> Review:
    """``core.review.review`` of the range, from the file."""
    fills, funding = events(hist, start_ms, end_ms)
    return review(
        portfolio_points(hist, start_ms, end_ms),
        fills,
        funding,
        basis_legs(hist, start_ms, end_ms, sides=sides),
        start_ms=start_ms,
        end_ms=end_ms,
    )


def funding_rate_stats(hist: History, now_ms: int) -> dict[str, RateStats]:
    """Hedge id -> the stats of its recorded funding rates over the last 7 days to
    ``now_ms`` (averages over 24 h and 7 d, lowest and highest)."""
    start = now_ms - 7 * DAY_MS
    out: dict[str, RateStats] = {}
    for sub in hist.subjects():
        if sub.kind != "hedge":
            continue
        data = hist.series(
            start, now_ms, subject=f"hedge:{sub.key}", max_points=2016, keys=("funding_rate",)
        )
        out[sub.key] = rate_stats(data["funding_rate"], now_ms)
    return out
