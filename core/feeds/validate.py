"""The door every quote passes: bad numbers are refused before anything can price with them.

Two small pure pieces, both without clocks of their own (the quote carries its receive time):

``QuoteGate`` checks each normalised ``Quote`` (every venue, live and replayed): each price
(mark, index, last, bid, ask) finite, positive and inside a sane absolute range; inside a band
of the instrument's last good price; the mark inside a band of the index; the funding rate
inside the venue's cap. ``check`` returns None (accept) or a one-line reason (reject). The last
good price survives reconnects but ages out ``reanchor_ms`` after the last accepted quote (by
the receive clock or by the exchange's timestamps), so
that a real move larger than the band (after a long outage) re-anchors instead of leaving the
instrument stale for ever; meanwhile the runner flags it stale, which is the truth.

``Sequencer`` (used by the adapters *before* merging a delta, so that an old delta never
overwrites newer fields) drops a message whose exchange stamp (Bybit's ``cs``, else the
exchange time) is older than the last one of the same stream, and an exact duplicate.

The hot path is a few chained comparisons: ``lo <= x <= hi`` is False for NaN and ±inf as well
as for a price outside the band, so one test per field covers all of them.
"""

from __future__ import annotations

import math

from core.events import Quote

#: A venue's funding rate per interval beyond this is not a rate, it is bad data. The caps are
#: deliberately generous (the venues' own caps are 0.3 %..2 % per interval: Bybit's ticker says
#: ``fundingCap`` 0.005 on BTCUSDT, OKX and Binance scale theirs with the margin tier,
#: Deribit's ``funding_8h`` is capped per instrument): only nonsense is refused.
FUNDING_CAP: dict[str, float] = {
    "bybit": 0.05,
    "binance": 0.05,
    "okx": 0.05,
    "deribit": 0.05,
}
DEFAULT_FUNDING_CAP = 0.05

#: No price we read is outside this (USD or a stablecoin per unit of the coin).
MIN_PRICE = 1e-8
MAX_PRICE = 1e9

_FIELDS = ("mark", "index", "last", "bid", "ask")


def _fmt(x: float) -> str:
    return f"{x:.10g}"


class QuoteGate:
    """Per-instrument last-good state and the checks; one per feed (adapter)."""

    __slots__ = ("_band", "_index_band", "_ref", "cap", "reanchor_ms", "refresh_ms")

    def __init__(
        self,
        venue: str,
        *,
        band: float = 1.5,
        index_band: float = 2.0,
        reanchor_ms: int = 60_000,
        refresh_ms: int = 1_000,
        funding_cap: float | None = None,
    ) -> None:
        """``band``: a price may move by at most this factor from the last good one (1.5:
        from 2/3 to 3/2 of it); ``index_band``: the mark may be at most this factor away from
        the index (basis in a crash has reached ~1.7), and without a last good price every
        field this far from the quote's mark; ``refresh_ms``: how often the band follows the
        price (the last good one may be up to this old)."""
        if not (band > 1 and index_band > 1):
            raise ValueError("bands are factors above 1")
        self._band = band
        self._index_band = index_band
        self.reanchor_ms = reanchor_ms
        self.refresh_ms = refresh_ms
        self.cap = (
            funding_cap if funding_cap is not None else FUNDING_CAP.get(venue, DEFAULT_FUNDING_CAP)
        )
        # symbol -> (lowest, highest acceptable price, received_ms and exchange_ms of the last
        # good quote)
        self._ref: dict[str, tuple[float, float, int, int | None]] = {}

    def forget(self) -> None:
        self._ref.clear()

    def check(self, q: Quote) -> str | None:
        """None when ``q`` may be used; else why not (``"mark=nan: not a finite price"``).
        An accepted quote becomes the instrument's last good price.

        Written for the hot path (one call per quote): the band is kept as (lo, hi) and is
        moved at most every ``refresh_ms``; everything else is in ``_slow``."""
        ref = self._ref.get(q.symbol)
        if ref is None:
            return self._slow(q, None)
        lo, hi, at, at_stamp = ref
        refresh = self.refresh_ms
        stamp = q.exchange_ms
        if q.received_ms - at >= refresh or (
            stamp is not None and at_stamp is not None and stamp - at_stamp >= refresh
        ):
            return self._slow(q, ref)
        mark = q.mark
        index = q.index
        if (
            (mark is not None and not lo <= mark <= hi)
            or (index is not None and not lo <= index <= hi)
            or (q.last is not None and not lo <= q.last <= hi)
            or (q.bid is not None and not lo <= q.bid <= hi)
            or (q.ask is not None and not lo <= q.ask <= hi)
        ):
            return self._why(q, lo, hi)
        if mark is not None and index is not None:
            k = self._index_band
            if not (mark < index * k and index < mark * k):
                return f"mark={_fmt(mark)}: too far from index {_fmt(index)}"
        rate = q.funding_rate
        if rate is not None and not -self.cap <= rate <= self.cap:
            return f"funding_rate={_fmt(rate)}: beyond the {self.cap:g} cap"
        interval = q.funding_interval_ms
        if interval is not None and interval <= 0:
            return f"funding_interval_ms={interval}: not positive"
        return None

    def _slow(self, q: Quote, ref: tuple[float, float, int, int | None] | None) -> str | None:
        """The check when the band is due to move (or missing, or too old to trust): the same
        tests, then the band follows this quote if it is accepted."""
        if ref is not None:
            lo, hi, at, at_stamp = ref
            stamp = q.exchange_ms
            moved = 0 if stamp is None or at_stamp is None else stamp - at_stamp
            if q.received_ms - at > self.reanchor_ms or moved > self.reanchor_ms:
                ref = None
        mark, index = q.mark, q.index
        if ref is None:  # nothing recent to compare with: absolute range, fields agree
            reason = self._fresh(q)
        else:
            reason = self._why(q, lo, hi)
            if reason is None and mark is not None and index is not None:
                k = self._index_band
                if not (mark < index * k and index < mark * k):
                    reason = f"mark={_fmt(mark)}: too far from index {_fmt(index)}"
        if reason is not None:
            return reason
        rate = q.funding_rate
        if rate is not None and not -self.cap <= rate <= self.cap:
            return f"funding_rate={_fmt(rate)}: beyond the {self.cap:g} cap"
        interval = q.funding_interval_ms
        if interval is not None and interval <= 0:
            return f"funding_interval_ms={interval}: not positive"
        anchor = mark if mark is not None else index
        if anchor is None:
            anchor = q.last if q.last is not None else q.bid if q.bid is not None else q.ask
        if anchor is not None:
            b = self._band
            self._ref[q.symbol] = (anchor / b, anchor * b, q.received_ms, q.exchange_ms)
        return None

    def _fresh(self, q: Quote) -> str | None:
        """The checks without a last good price: every price inside the absolute range and
        inside ``index_band`` of the quote's anchor (its mark, else its index...)."""
        reason = self._why(q, MIN_PRICE, MAX_PRICE)
        if reason is not None:
            return reason
        values = [(name, getattr(q, name)) for name in _FIELDS]
        present = [(name, x) for name, x in values if x is not None]
        if not present:
            return None
        anchor_name, anchor = present[0]
        k = self._index_band
        for name, x in present[1:]:
            if not anchor / k < x < anchor * k:
                return f"{name}={_fmt(x)}: too far from {anchor_name} {_fmt(anchor)}"
        return None

    @staticmethod
    def _why(q: Quote, lo: float, hi: float) -> str | None:
        """Which price is outside ``lo..hi``, and how; None when none is."""
        for name in _FIELDS:
            x: float | None = getattr(q, name)
            if x is None or lo <= x <= hi:
                continue
            if not math.isfinite(x):
                return f"{name}={_fmt(x)}: not a finite price"
            if x <= 0:
                return f"{name}={_fmt(x)}: not a positive price"
            if lo == MIN_PRICE and hi == MAX_PRICE:
                return f"{name}={_fmt(x)}: outside {MIN_PRICE:g}..{MAX_PRICE:g}"
            return f"{name}={_fmt(x)}: outside {_fmt(lo)}..{_fmt(hi)} around the last good price"
        return None


class Sequencer:
    """Per-stream last exchange stamp: refuse what is older, or an exact repeat.

    ``key`` names one ordered stream (a symbol, or a symbol and a channel where a venue pushes
    several independent ones); ``stamp`` is its sequence (Bybit's ``cs``) or exchange time;
    None means the venue gave none and nothing is checked. The same stamp with different
    content is accepted (two updates within one millisecond); the same stamp with the same raw
    bytes is a duplicate.
    """

    __slots__ = ("_raw", "_stamp", "duplicates", "older")

    def __init__(self) -> None:
        self._stamp: dict[str, int] = {}
        self._raw: dict[str, str | bytes] = {}
        self.older = 0
        self.duplicates = 0

    def forget(self) -> None:
        """A new connection is a new stream (its counters carry on)."""
        self._stamp.clear()
        self._raw.clear()

    def admit(self, key: str, stamp: int | None, raw: str | bytes) -> bool:
        if stamp is None:
            return True
        prev = self._stamp.get(key)
        if prev is not None and stamp <= prev:
            if stamp < prev:
                self.older += 1
                return False
            if raw == self._raw[key]:
                self.duplicates += 1
                return False
        self._stamp[key] = stamp
        self._raw[key] = raw
        return True
