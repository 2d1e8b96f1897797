"""Number formatting for the panes: every figure with its unit, ``—`` when unknown.

Pure functions, no Textual: the table, the detail pane and the tests share them.
"""

from __future__ import annotations

DASH = "—"


def _decimals_for(value: float) -> int:
    a = abs(value)
    if a >= 10_000:
        return 1
    if a >= 100:
        return 2
    if a >= 1:
        return 3
    if a >= 0.01:
        return 4
    return 6


def num(value: float | None, decimals: int | None = None, *, sign: bool = False) -> str:
    """A number with thousands separators; ``decimals`` None picks them by magnitude."""
    if value is None:
        return DASH
    d = _decimals_for(value) if decimals is None else decimals
    text = f"{value:+,.{d}f}" if sign else f"{value:,.{d}f}"
    if text.lstrip("+-").strip("0.,") == "":  # -0.00 reads as a loss: show it neutral
        text = text.lstrip("+-")
        text = f"±{text}" if sign else text
    return text


def usd(value: float | None, decimals: int | None = 2, *, sign: bool = False) -> str:
    """``12,345.67 USD`` (or ``—``)."""
    return DASH if value is None else f"{num(value, decimals, sign=sign)} USD"


def tick_decimals(tick: float) -> int:
    """The decimals a tick needs: 0.5 -> 1, 0.01 -> 2, 0.0001 -> 4, 5 -> 0."""
    if tick <= 0:
        return 2
    text = f"{tick:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def price(value: float | None, tick: float | None = None) -> str:
    """A price in USD without the unit (the column header carries it): rounded to the
    instrument's tick when it is known, else by magnitude (the same rule everywhere)."""
    if value is None or tick is None or tick <= 0:
        return num(value)
    return num(round(value / tick) * tick, tick_decimals(tick))


def usd_price(value: float | None, tick: float | None = None) -> str:
    """``0.6143 USD``: a price to its tick (or by magnitude), with the unit."""
    return DASH if value is None else f"{price(value, tick)} USD"


def coin(value: float | None, code: str, decimals: int | None = None, *, sign: bool = False) -> str:
    """``0.51230 BTC`` (or ``—``)."""
    if value is None:
        return DASH
    d = decimals if decimals is not None else (4 if abs(value) >= 1 else 6)
    return f"{num(value, d, sign=sign)} {code}"


def coin_in(value: float | None, code: str, width: int) -> str:
    """``coin`` with fewer decimals where the usual ones do not fit ``width`` cells
    (``30,000.0000 ADA`` -> ``30,000.00 ADA``): the digits that matter are never cut."""
    text = coin(value, code)
    d = 4 if value is not None and abs(value) >= 1 else 6
    while len(text) > width and d > 0:
        d -= 1
        text = coin(value, code, d)
    return text


def pct(value: float | None, decimals: int = 2, *, sign: bool = True) -> str:
    """A figure already in percent: ``+1.25%``."""
    return DASH if value is None else f"{num(value, decimals, sign=sign)}%"


def ratio_pct(value: float | None, decimals: int = 1) -> str:
    """A ratio (0.95) as percent: ``95.0%``."""
    return DASH if value is None else f"{value * 100:.{decimals}f}%"


def compact_usd(value: float | None, *, sign: bool = False) -> str:
    """A short USD amount for narrow cells: ``1.23M``, ``45.6k``, ``789``; no unit."""
    if value is None:
        return DASH
    a = abs(value)
    s = "+" if sign and value > 0 else ("-" if value < 0 else "")
    if a >= 1e9:
        return f"{s}{a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{s}{a / 1e6:.2f}M"
    if a >= 1e4:
        return f"{s}{a / 1e3:.1f}k"
    return f"{s}{a:,.2f}"  # below 10k: cents, as every other USD amount


def duration(ms: int | None) -> str:
    """A countdown or an age: ``3h12m``, ``4m05s``, ``12s``, ``0.4s``."""
    if ms is None:
        return DASH
    ms = max(ms, 0)
    if ms < 10_000:
        return f"{ms / 1000:.1f}s"
    s = ms // 1000
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def interval(ms: int | None) -> str:
    """A funding interval: ``8h``, ``1h``, ``cont.`` for continuous funding."""
    if ms is None:
        return "cont."
    h = ms / 3_600_000
    return f"{h:g}h" if h >= 1 else f"{ms / 60_000:g}m"


def sign_class(value: float | None) -> str:
    """The theme class a signed figure gets: ``gain``, ``loss`` or ``""``."""
    if value is None or value == 0:
        return ""
    return "gain" if value > 0 else "loss"


#: A liquidation price further than this multiple of the mark (either way) says nothing a
#: hedger can use: it is drawn as "none in range" rather than as a nine-digit price.
LIQ_FAR_MULTIPLE = 10.0


def liq_state(
    *,
    contracts: int,
    mark: float | None,
    liq_price: float | None,
    model_known: bool,
    beyond_far: bool = False,
) -> str:
    """What is known about a position's liquidation, one of:

    ``flat`` (no position), ``unknown`` (no price, or no margin model answered: never drawn as
    safe), ``never`` (the model says no price liquidates it, and prices are known), ``far``
    (further than ``LIQ_FAR_MULTIPLE`` x the mark) or ``price`` (a usable liquidation price).
    """
    if contracts == 0:
        return "flat"
    if mark is None or mark <= 0 or not model_known:
        return "unknown"
    if liq_price is None:
        return "never"
    if beyond_far or liq_price > mark * LIQ_FAR_MULTIPLE or liq_price < mark / LIQ_FAR_MULTIPLE:
        return "far"
    return "price"


def no_funding_note(
    hedge_id: str, expiry_ms: int, days_left: float | None, locked_apr_pct: float | None
) -> str:
    """A dated future's line where a perpetual's funding forecast goes: it pays none, its
    basis is what it locks until settlement (not a zero rate, which would read as known)."""
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(expiry_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    days = f" ({days_left:.0f} d)" if days_left is not None else ""
    return (
        f"{hedge_id}: a dated future pays no funding; it settles {when}{days}, "
        f"its basis locks {pct(locked_apr_pct, 1)} a year"
    )
