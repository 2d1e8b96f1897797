"""Funding settlement, as pure functions of a position's funding state, its quote and the clock.

Interval venues: a hedge watches the quote's next funding time; once the clock passes it, or
the venue moves it on, the rate in force just before (the last rate seen while that time was
announced) is settled at the mark. Deribit (continuous): the 8h rate accrues per elapsed time
and is booked as one event per hour. A dated future settles none (the caller skips it).

Each function reads the position and returns how it changes (its new watch or accrual state,
what enters its margin, the time it marks settled) and the event to book; ``core.book``
applies it.
"""

from __future__ import annotations

from core import inverse
from core.events import FundingEvent, Quote
from core.position import Position

H8_MS = 8 * 3600 * 1000
HOUR_MS = 3600 * 1000

#: an interval hedge's watch: (next funding time watched, the rate in force for it, the mark)
Watch = tuple[int | None, float | None, float | None]
#: continuous funding: (accrued up to here, the hour being booked, accrued but not yet booked)
Accrual = tuple[int | None, int | None, float]


def event(pos: Position, ts_ms: int, rate: float, mark: float, amount: float) -> FundingEvent:
    return FundingEvent(
        ts_ms=ts_ms,
        hedge_id=pos.cfg.id,
        venue=pos.cfg.venue,
        symbol=pos.cfg.symbol,
        rate=rate,
        mark=mark,
        size_usd=pos.size_usd,
        amount_coin=amount,
    )


def settle_interval(
    pos: Position, q: Quote | None, now_ms: int
) -> tuple[Watch, int | None, FundingEvent | None]:
    """An interval hedge's step, ``pos`` only read: (its watch after, the funding time now
    settled or None, the event booked or None, whose ``amount_coin`` enters the margin)."""
    t = pos.pending_ms
    if q is None:
        return (t, pos.pending_rate, pos.pending_mark), None, None
    nf = q.next_funding_ms
    if t is None or (nf is not None and nf < t):
        # (re)start watching the announced funding time
        if nf is not None and nf > now_ms and nf not in pos.settled_ms:
            return (nf, q.funding_rate, q.mark), None, None
        return (None, pos.pending_rate, pos.pending_mark), None, None
    rolled = nf is not None and nf > t
    if not rolled and now_ms < t:
        return (t, q.funding_rate, q.mark), None, None  # the rate in force
    # t has passed: by our clock (the quote may still announce it), or the venue rolled on
    after: Watch
    if rolled:
        rate, mark = pos.pending_rate, pos.pending_mark or q.mark
        after = (nf, q.funding_rate, q.mark)
    else:
        rate, mark = q.funding_rate, q.mark
        after = (None, None, None)
    if t in pos.settled_ms:
        return after, None, None
    if rate is None or mark is None or mark <= 0 or pos.contracts == 0:
        return after, t, None
    amount = inverse.funding_coin(pos.cfg.side, pos.size_usd, mark, rate)
    return after, t, event(pos, t, rate, mark, amount)


def accrue_continuous(
    pos: Position, q: Quote | None, now_ms: int
) -> tuple[Accrual, float, FundingEvent | None]:
    """A continuous hedge's step, ``pos`` only read: (its accrual after, the coins accrued now,
    which enter the margin, the hour's event booked or None, whose time is then settled)."""
    hour0 = pos.cont_hour
    unbooked = pos.cont_unbooked_coin
    if q is None or q.funding_rate is None or q.mark is None or pos.contracts == 0:
        return (None, hour0, unbooked), 0.0, None
    last = pos.cont_last_ms
    if hour0 is None:
        hour0 = now_ms // HOUR_MS
    if last is None or now_ms <= last:
        return (now_ms, hour0, unbooked), 0.0, None
    per_8h = inverse.funding_coin(pos.cfg.side, pos.size_usd, q.mark, q.funding_rate)
    amount = per_8h * (now_ms - last) / H8_MS
    unbooked += amount
    hour = now_ms // HOUR_MS
    if hour == hour0:
        return (now_ms, hour0, unbooked), amount, None
    return (now_ms, hour, 0.0), amount, event(pos, now_ms, q.funding_rate, q.mark, unbooked)
