"""The detail pane's second view (``L`` toggles it with the liquidation explanation): for the
selected hedge, its linear twin (``core.linear``: the same coins shorted USDT-margined), its
funding forecast (``core.forecast``) and, where the feed carries one, the venue's dated
future on the same coin (``core.dated``). Pure text: no Textual here but the markup.

"Today" counts from the first mark this session saw on the current UTC day (``DayOpen``):
the label says from when, so a session started at 14:00 does not pass its afternoon off as
the day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.markup import escape

from core.dated import DEFAULT_ROLL_DAYS, DatedVsPerp, compare_with_perp, dated_basis
from core.events import Kind, Quote
from core.forecast import H8_MS, RateBasis, hedge_forecast
from core.instruments import UnknownInstrument, lookup
from core.linear import compare
from core.snapshot import HedgeSnapshot
from tui.widgets import format as fmt
from tui.widgets.panes import paint, signed

DAY_MS = 86_400_000


@dataclass
class DayOpen:
    """The first mark of each hedge seen on the current UTC day."""

    day: int | None = None
    marks: dict[str, tuple[int, float]] = field(default_factory=dict)

    def observe(self, ts_ms: int, hedges: Iterable[HedgeSnapshot]) -> None:
        day = ts_ms // DAY_MS
        if day != self.day:
            self.day = day
            self.marks.clear()
        for h in hedges:
            if h.mark is not None and h.hedge_id not in self.marks:
                self.marks[h.hedge_id] = (ts_ms, h.mark)

    def of(self, hedge_id: str) -> tuple[int, float] | None:
        return self.marks.get(hedge_id)


def dated_for(
    h: HedgeSnapshot,
    quotes: Iterable[Quote],
    now_ms: int,
    *,
    roll_days: float = DEFAULT_ROLL_DAYS,
) -> DatedVsPerp | None:
    """The nearest dated future of ``h``'s venue and coin among ``quotes`` against the
    perpetual's current rate, the next one as the roll; None without one. For a dated
    hedge, the hedge itself against its perpetual (the engine's ``perp_funding_rate``), the
    next listed contract as the roll."""
    index = h.index
    if index is None:
        return None
    own = None
    if h.expiry_ms is not None:
        own = dated_basis(h.symbol, h.mark or 0.0, index, h.size_usd, now_ms)
        if own is None:
            return None
    dated = []
    for q in quotes:
        if q.kind is not Kind.INVERSE_FUTURE or q.venue != h.venue:
            continue
        if not q.symbol.upper().startswith(h.coin):
            continue
        price = q.mark or q.last
        d = dated_basis(q.symbol, price or 0.0, index, h.size_usd, now_ms)
        if d is not None and d.days_left > 0:
            dated.append(d)
    dated.sort(key=lambda d: d.expiry_ms)
    if own is not None:
        later = [d for d in dated if d.expiry_ms > own.expiry_ms]
        return compare_with_perp(
            own,
            size_usd=h.size_usd,
            perp_rate=h.perp_funding_rate,
            interval_ms=H8_MS,
            side=h.side,
            next_contract=later[0] if later else None,
            roll_days=roll_days,
        )
    if not dated:
        return None
    return compare_with_perp(
        dated[0],
        size_usd=h.size_usd,
        perp_rate=h.funding_rate,
        interval_ms=h.funding_interval_ms or H8_MS,
        side=h.side,
        next_contract=dated[1] if len(dated) > 1 else None,
        roll_days=roll_days,
    )


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M")


def _px(price: float) -> str:
    """A price short enough for one line: 179.1k, 18.00M, 0.6143."""
    return fmt.compact_usd(price) if price >= 10_000 else fmt.num(price)


def linear_line(h: HedgeSnapshot, day_open: tuple[int, float] | None) -> str:
    if h.entry is None or h.contracts == 0 or h.mark is None:
        return "[b]Linear twin[/b] " + paint("no open position", "muted")
    try:
        spec = lookup(h.venue, h.symbol)
    except UnknownInstrument:
        return "[b]Linear twin[/b] " + paint("unknown contract", "muted")
    c = compare(
        spec,
        h.side,
        h.size_usd,
        h.entry,
        max(h.margin_coin, 0.0),
        h.mark,
        mode=h.margin_mode,
        day_open=day_open[1] if day_open else None,
    )
    liq = "none" if c.liq_price is None else f"{_px(c.liq_price)} {fmt.pct(c.liq_distance_pct, 1)}"
    inv_liq = "none" if c.inverse_liq_price is None else _px(c.inverse_liq_price)
    m30 = next((m for m in c.at_moves if m.move_pct == -30.0), None)
    head = (
        f"[b]Linear[/b] {escape(fmt.coin(c.qty_coin, h.coin))} · "
        f"{fmt.num(c.margin_usdt, 0)} [b]USDT[/b] margin (inv. "
        f"{escape(fmt.coin(c.inverse_margin_coin, h.coin))}) · liq {liq} (inv. {inv_liq})"
    )
    today = "[$muted]today[/] —"
    if day_open is not None and c.today_pnl_usd is not None:
        inv_usd = c.inverse_today_pnl_usd
        today = (
            f"[$muted]today ({_day(day_open[0])})[/] linear "
            + signed(fmt.usd(c.today_pnl_usd, sign=True), c.today_pnl_usd)
            + ", inverse "
            + signed(escape(fmt.coin(c.inverse_today_pnl_coin, h.coin, sign=True)), inv_usd)
        )
    at = ""
    if m30 is not None:
        at = (
            f" · at −30 % margin {fmt.compact_usd(m30.inverse_margin_usd)} vs "
            f"{fmt.compact_usd(m30.linear_margin_usd)} USD"
        )
    return f"{head}\n{today}{at}"


def forecast_line(h: HedgeSnapshot) -> str:
    f = hedge_forecast(h)
    p7 = f.projection(RateBasis.CURRENT, 7)
    p30 = f.projection(RateBasis.CURRENT, 30)
    u7 = p7.usd if p7 else None
    u30 = p30.usd if p30 else None
    return (
        "[b]Funding[/b] at the rate now: next "
        + signed(escape(fmt.coin(f.next_coin, h.coin, sign=True)), f.next_coin)
        + " · 7 d "
        + signed(fmt.usd(u7, 0, sign=True), u7)
        + " · 30 d "
        + signed(fmt.usd(u30, 0, sign=True), u30)
        + " [$muted]· S: averages[/]"
    )


def dated_line(vs: DatedVsPerp | None) -> str:
    if vs is None:
        return "[b]Dated[/b] " + paint(
            "no dated future of this venue and coin in the feed", "muted"
        )
    d = vs.dated
    adv = vs.advantage_usd
    roll = datetime.fromtimestamp(vs.roll_ms / 1000, UTC).strftime("%Y-%m-%d")
    nxt = ""
    if vs.next_contract is not None:
        n = vs.next_contract
        nxt = f", next {escape(n.symbol)} {fmt.pct(n.annual_pct, 1)}/y"
    return (
        f"[b]Dated[/b] {escape(d.symbol)} {d.days_left:.0f} d: locks "
        f"{fmt.pct(d.annual_pct, 1)} a year = {fmt.compact_usd(d.locked_usd, sign=True)} vs "
        f"perp {fmt.compact_usd(vs.perp_funding_usd, sign=True)}: "
        + signed(fmt.compact_usd(adv, sign=True), adv)
        + f" USD · roll {roll}{nxt}"
    )


def risk_markup(
    h: HedgeSnapshot | None,
    *,
    day_open: tuple[int, float] | None = None,
    dated: DatedVsPerp | None = None,
) -> str:
    """Four lines, the height of the liquidation view it alternates with."""
    if h is None:
        return ""
    return "\n".join([linear_line(h, day_open), forecast_line(h), dated_line(dated)])
