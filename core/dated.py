"""Dated coin-margined futures as hedges (Binance COIN-M quarterlies, Deribit, OKX, Bybit
inverse futures): expiry from the venue-native symbol, the basis a short locks, its
comparison with the perpetual's funding forecast, and the roll. Pure: ``now_ms`` is passed.

- Expiry: Binance ``BTCUSD_260327`` / OKX ``BTC-USD-260327`` (YYMMDD), Deribit
  ``BTC-27MAR26`` (DMMMYY), settled at 08:00 UTC (Binance "Quarterly Futures Contracts":
  delivery at 08:00 UTC on the delivery date; Deribit: expiry 08:00 UTC; OKX: 08:00 UTC);
  Bybit ``BTCUSDH26`` (month code + year), the last Friday of that month at 08:00 UTC
  (Bybit "Inverse Futures Contract": expiry at 8 AM UTC on the last Friday of the month).
- Basis locked by a short of Q USD face value at future price F against index I, held to
  expiry (where F converges to the index): ``(F − I)/I`` of the hedged value, annualised
  over the days left ``· 365/d``; in USD ``Q·(1 − I/F)`` (the short's USD PnL
  ``Q·(1 − P/F)`` at convergence P = I, prices unchanged).
- The perpetual alternative over the same days: funding ``s·Q·rate`` USD per payment,
  ``d·24h/interval`` payments (``core.forecast``): the hedge that earns more is the one the
  comparison names; the dated one's is locked, the perpetual's floats.
- The roll: ``roll_days`` before expiry (default 2) the short moves to the next contract;
  what that contract's basis would lock today is its own ``(F2 − I)/I`` annualised over its
  own days left (> 0 earned by the short: a premium; < 0 a cost).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from core.forecast import DAY_MS, payments_in

SETTLE_HOUR_UTC = 8
DEFAULT_ROLL_DAYS = 7.0  # [alerts] roll_days' default: the L view's roll date is the alert's
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_CODES = {c: i + 1 for i, c in enumerate("FGHJKMNQUVXZ")}  # futures month codes
_YYMMDD = re.compile(r"[_-](\d{2})(\d{2})(\d{2})$")
_DERIBIT = re.compile(r"-(\d{1,2})([A-Z]{3})(\d{2})$")
_BYBIT = re.compile(r"USD([FGHJKMNQUVXZ])(\d{2})$")


def _ms(year: int, month: int, day: int) -> int:
    dt = datetime(year, month, day, SETTLE_HOUR_UTC, tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _last_friday(year: int, month: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = max(d for d in range(last - 6, last + 1) if calendar.weekday(year, month, d) == 4)
    return day


def expiry_ms(symbol: str) -> int | None:
    """The settlement time of a dated symbol in its venue's naming; None for a perpetual or
    a name this does not read."""
    s = symbol.strip().upper()
    if m := _YYMMDD.search(s):
        yy, mm, dd = (int(g) for g in m.groups())
        try:
            return _ms(2000 + yy, mm, dd)
        except ValueError:
            return None
    if m := _DERIBIT.search(s):
        month = _MONTHS.get(m.group(2))
        if month is None:
            return None
        try:
            return _ms(2000 + int(m.group(3)), month, int(m.group(1)))
        except ValueError:
            return None
    if m := _BYBIT.search(s):
        year, month = 2000 + int(m.group(2)), _CODES[m.group(1)]
        return _ms(year, month, _last_friday(year, month))
    return None


QUARTER_MONTHS = (3, 6, 9, 12)


def next_quarterly(expiry: int) -> int:
    """The quarterly settling after ``expiry``: the last Friday of the next March, June,
    September or December, 08:00 UTC (Binance, OKX, Deribit and Bybit all list these), the
    contract a roll moves to."""
    d = datetime.fromtimestamp(expiry / 1000, UTC)
    year, month = d.year, d.month
    while True:
        if month in QUARTER_MONTHS:
            t = _ms(year, month, _last_friday(year, month))
            if t > expiry:
                return t
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def days_left(expiry: int, now_ms: int) -> float:
    """Days from ``now_ms`` to ``expiry`` (0 once expired)."""
    return max(0.0, (expiry - now_ms) / DAY_MS)


@dataclass(frozen=True, slots=True)
class DatedBasis:
    symbol: str
    expiry_ms: int
    days_left: float
    price: float  # the future's mark (or last)
    index: float
    basis_pct: float  # (F − I)/I · 100
    annual_pct: float | None  # over the days left; None at expiry
    locked_usd: float  # for a short of ``size_usd``: Q·(1 − I/F)


def dated_basis(
    symbol: str, price: float, index: float, size_usd: float, now_ms: int
) -> DatedBasis | None:
    """The basis a short of ``size_usd`` locks in ``symbol`` at ``price`` against ``index``;
    None when the symbol is not dated or a price is missing."""
    exp = expiry_ms(symbol)
    if exp is None or not (price > 0 and index > 0):
        return None
    d = days_left(exp, now_ms)
    basis = (price - index) / index * 100.0
    return DatedBasis(
        symbol=symbol,
        expiry_ms=exp,
        days_left=d,
        price=price,
        index=index,
        basis_pct=basis,
        annual_pct=basis * 365.0 / d if d > 0 else None,
        locked_usd=size_usd * (1.0 - index / price),
    )


@dataclass(frozen=True, slots=True)
class DatedVsPerp:
    dated: DatedBasis
    perp_rate: float | None  # per interval, the rate the forecast assumes
    perp_funding_usd: float | None  # over the dated contract's days left; > 0 received
    perp_apr_pct: float | None
    advantage_usd: float | None  # locked − perp funding: > 0 the dated short earns more
    roll_ms: int  # when to roll (``roll_days`` before expiry)
    next_contract: DatedBasis | None  # what the next contract locks today


def compare_with_perp(
    dated: DatedBasis,
    *,
    size_usd: float,
    perp_rate: float | None,
    interval_ms: int,
    side: str = "short",
    next_contract: DatedBasis | None = None,
    roll_days: float = DEFAULT_ROLL_DAYS,
) -> DatedVsPerp:
    """The dated short against the perpetual's funding at ``perp_rate`` for as long."""
    sign = 1.0 if side == "short" else -1.0
    funding = apr = adv = None
    if perp_rate is not None:
        funding = sign * size_usd * perp_rate * payments_in(dated.days_left, interval_ms)
        apr = sign * perp_rate * (365 * DAY_MS / interval_ms) * 100.0
        adv = sign * dated.locked_usd - funding
    return DatedVsPerp(
        dated=dated,
        perp_rate=perp_rate,
        perp_funding_usd=funding,
        perp_apr_pct=apr,
        advantage_usd=adv,
        roll_ms=dated.expiry_ms - int(roll_days * DAY_MS),
        next_contract=next_contract,
    )
