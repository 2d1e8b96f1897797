"""Header, status bar and detail pane: text widgets updated only when their text changes.

Each takes the latest snapshot and renders markup that uses the theme's variables
(``$gain``, ``$loss``, ``$warning``, ``$stale``...), never literal colours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Region
from textual.reactive import Reactive
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions
from textual.widgets import Sparkline, Static

from core.accounts.streams import StreamState
from core.events import AlertEvent, FeedHealth, FeedState, Fill
from core.liquidation import MODEL_LABEL, MarginModel
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot
from tui.widgets import format as fmt
from tui.widgets.columns import TextColumns
from tui.widgets.lines import (
    LinesVisual,
    MarkupLines,
    StripTemplates,
    line_height,
    self_contained,
)
from tui.widgets.rows import liq_class, liq_state
from tui.widgets.spark import RunSparkline

if TYPE_CHECKING:
    from textual.css.styles import RulesMap

    from core.session.accounts import AccountHealth
    from storage.recorder import RecorderHealth

_CLASS_VAR = {
    "gain": "$gain",
    "loss": "$loss",
    "warn": "$warning",
    "alert": "$alert",
    "stale": "$stale",
    "unknown": "$stale",  # a figure that cannot be known now: "—" in the stale colour
    "muted": "$muted",
}


def paint(text: str, cls: str) -> str:
    """Markup for ``text`` in the theme colour of ``cls`` ("" = plain)."""
    var = _CLASS_VAR.get(cls)
    return f"[{var}]{escape(text)}[/]" if var else escape(text)


def signed(text: str, value: float | None) -> str:
    return paint(text, fmt.sign_class(value))


class TextPane(Static):
    """A Static that skips updates whose markup did not change and, when only some lines
    changed (same line count, same wrapped heights), repaints only their rows
    (``tui.widgets.lines``); a layout pass only when the line count changed.

    No markup shown here carries a link (``@click``), so the pass that styles links (over
    every line of the text at each repaint, changed or not) is off.

    A repainted row is served from the kept strips of its line (``LinesVisual.row``), not by
    rendering the whole text again as a ``Static`` does for any dirty row; with a selection
    or a content alignment, or a text shown whole, the ``Static`` path renders."""

    auto_links: Reactive[bool] = Reactive(False)

    def __init__(
        self,
        text: str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(text, id=id, classes=classes)
        self.text = text
        self.updates = 0
        self._markup: list[str] = text.split("\n")
        self._lines: LinesVisual | None = None  # None: the text is shown whole (a Static's)
        self._parse = MarkupLines().parse
        self._templates = StripTemplates()
        self._rows_served = False  # rows came from ``_lines``: the Static's render is stale
        #: how rows render in the current ``render_lines`` pass (None: as a Static)
        self._rows: tuple[LinesVisual, int, int, VisualStyle, RenderOptions] | None = None
        self._contained = all(map(self_contained, self._markup))  # each line alone renders
        self._in_pass = False  # within ``render_lines``: ``_rows`` holds for every row

    def set_text(self, text: str, *, layout: bool = False) -> bool:
        """Show ``text`` if it differs; a layout pass only when the line count changed."""
        if text == self.text:
            return False
        layout = layout or text.count("\n") != self.text.count("\n")
        self.text = text
        self.updates += 1
        old, new = self._markup, text.split("\n")
        self._markup = new
        if self._contained and len(old) == len(new):
            contained = all(a == b or self_contained(b) for a, b in zip(old, new, strict=True))
        else:
            contained = all(map(self_contained, new))
        self._contained = contained
        if not contained:
            self._lines = None
            self.update(text, layout=layout)
            return True
        if not layout and self._lines is not None and self._repaint_lines(old, new):
            return True
        visual = LinesVisual([self._parse(line) for line in new], self._theme, self._templates)
        if self._lines is not None:
            for i, line in enumerate(new[: len(old)]):
                if old[i] == line:
                    visual.keep(i, self._lines, i)
        self._lines = visual
        self.update(visual, layout=layout)
        return True

    def _repaint_lines(self, old: list[str], new: list[str]) -> bool:
        """Swap the changed lines into the shown visual and refresh their rows only; False
        (nothing done) when that cannot be exact: a changed wrapped height, no size yet."""
        lines = self._lines
        width = self.size.width
        if lines is None or not width or self.visual is not lines:  # (updated around us)
            return False
        changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        fresh = {i: self._parse(new[i]) for i in changed}
        styles = cast("RulesMap", self.styles)  # what Textual itself hands a Visual's get_height
        if styles.get("text_wrap") == "nowrap" and styles.get("text_overflow") != "fold":
            tops = [(i, i, 1) for i in changed]  # a row per line: cut, never wrapped or folded
        else:
            heights = lines.line_heights(styles, width)
            if any(line_height(fresh[i], styles, width) != heights[i] for i in changed):
                return False
            tops = [(i, sum(heights[:i]), heights[i]) for i in changed]
        for i in changed:
            lines.replace(i, fresh[i])
        self.refresh(*(Region(0, top, width, height) for _, top, height in tops))
        return True

    def _theme(self) -> str:
        return self.app.theme

    def render_lines(self, crop: Region) -> list[Strip]:
        self._rows = None
        self._in_pass = True  # how rows render is read at the first row that needs it
        try:
            return super().render_lines(crop)
        finally:
            self._in_pass = False
            self._rows = None

    def _row_context(self) -> tuple[LinesVisual, int, int, VisualStyle, RenderOptions] | None:
        """How this pass renders rows from ``_lines``; None: as a Static."""
        lines = self._lines
        if (
            lines is None
            or self.visual is not lines
            or self.text_selection is not None
            or self.styles.content_align != ("left", "top")
        ):
            return None
        width, height = self.size
        options = RenderOptions(self._get_style, cast("RulesMap", self.styles))
        return (lines, width, height, self.visual_style, options)

    def render_line(self, y: int) -> Strip:
        rows = self._rows
        if rows is None or rows[0] is not self._lines:
            rows = self._row_context()
            if self._in_pass:
                self._rows = rows
        if rows is None:
            if self._rows_served:  # what the Static rendered last may be out of date
                self._rows_served = False
                self._dirty_regions.add(self.outer_size.region)
            return super().render_line(y)
        self._rows_served = True
        self._dirty_regions.clear()  # (the Static's render-all flag: rows are served here)
        lines, width, height, style, options = rows
        strip = lines.row(y, width, style, options) if width and y < height else None
        return strip if strip is not None else Strip.blank(width, style.rich_style)


# --- header -----------------------------------------------------------------------------------


def nearest_liquidation(snap: PortfolioSnapshot) -> str:
    """The open hedge closest to its liquidation, as markup. Any open hedge whose liquidation
    is unknown makes the whole figure unknown ("—" in the stale colour): the nearest one may
    be the one we cannot see."""
    states = [(h, liq_state(h)) for h in snap.hedges]
    open_ = [(h, s) for h, s in states if s != "flat"]
    if not open_:
        return "[$muted]liq[/] " + paint(fmt.DASH, "muted")
    unknown = [h for h, s in open_ if s == "unknown"]
    if unknown:
        return "[$muted]liq[/] " + paint(f"{fmt.DASH} (no price: {unknown[0].symbol})", "unknown")
    priced = [h for h, s in open_ if s == "price" and h.liq_distance_pct is not None]
    if not priced:
        return "[$muted]liq[/] " + paint("none in range", "gain")
    h = min(priced, key=lambda x: abs(x.liq_distance_pct or 0.0))
    dist = h.liq_distance_pct
    return f"[$muted]liq[/] {paint(fmt.pct(dist, 1), liq_class(dist))} {escape(h.symbol)}"


#: The header's mode marker: what pressing a resize key would do.
MODE_CLASS = {"LIVE TRADING": "alert", "PAPER": "gain", "SIMULATOR": "gain", "READ-ONLY": "warn"}


def header_markup(
    snap: PortfolioSnapshot | None,
    *,
    paused: bool,
    read_only: bool,
    source: str,
    live: bool = False,
    simulated: bool = False,
) -> str:
    """``simulated``: resizes go through ccxt to the built-in simulator's accounts."""
    mode = "READ-ONLY" if read_only else ("LIVE TRADING" if live else "PAPER")
    if mode == "PAPER" and simulated:
        mode = "SIMULATOR"
    flags = [f"[b]{paint(f' {mode} ', MODE_CLASS[mode])}[/b]"]
    if paused:
        flags.append(paint(" PAUSED ", "warn"))
    tail = " ".join(flags)
    if snap is None:
        return f"{tail} [b]hedgetop[/b]  waiting for prices from {escape(source)}…"
    clock = datetime.fromtimestamp(snap.ts_ms / 1000, UTC).strftime("%m-%d %H:%M:%S UTC")
    total = snap.total_value_usd
    effect = (
        None
        if total is None or snap.unhedged_value_usd is None
        else total - snap.unhedged_value_usd
    )
    funded = funding_earned_usd(snap)
    # Most important first: the header does not wrap, a narrow screen cuts the tail.
    line1 = " │ ".join(
        [
            f"{tail} [b]Total {fmt.usd(total)}[/b]",
            nearest_liquidation(snap),
            f"net delta {fmt.usd(snap.net_delta_usd, 0, sign=True)}",
            "hedging " + signed(fmt.usd(effect, sign=True), effect),
        ]
    )
    session = snap.session_change_usd
    unhedged = snap.unhedged_session_change_usd
    line2 = " │ ".join(
        [
            "session " + signed(fmt.usd(session, sign=True), session),
            "unhedged " + signed(fmt.usd(unhedged, sign=True), unhedged),
            "funding " + signed(fmt.usd(funded, sign=True), funded),
            f"[$muted]{clock}[/]",
        ]
    )
    stale = paint(" STALE ", "stale") + " " if snap.stale else ""
    return f"{line1}\n{stale}{line2}"


def funding_earned_usd(snap: PortfolioSnapshot) -> float | None:
    """Funding settled since each hedge was opened, in USD at today's marks (None: a hedge
    that has funding has no mark to value it)."""
    total = 0.0
    for h in snap.hedges:
        if h.funding_accrued_coin == 0:
            continue
        if h.funding_accrued_usd is None:
            return None
        total += h.funding_accrued_usd
    return total


# --- status bar -------------------------------------------------------------------------------


def feed_age(ms: int | None) -> str:
    """Age of a feed's last message, coarse on purpose: a live feed reads "<1s" and the
    status bar does not repaint on every tick for a number nobody needs to the tenth."""
    if ms is None:
        return "no data"
    if ms < 1000:
        return "<1s"
    return f"{ms // 1000}s" if ms < 10_000 else fmt.duration(ms)


def feed_markup(
    feeds: Sequence[FeedHealth], now_ms: int, label: Callable[[FeedHealth], str] | None = None
) -> str:
    if not feeds:
        return paint("no feeds", "muted")
    parts = []
    for f in feeds:
        age = None if f.last_message_ms is None else now_ms - f.last_message_ms
        if f.state is FeedState.LIVE and not f.stale_symbols:
            state, cls = "live", "gain"
        elif f.state is FeedState.LIVE:
            state, cls = f"stale {len(f.stale_symbols)} sym", "stale"
        elif f.state is FeedState.RECONNECTING:
            state, cls = f"reconnecting ({f.reconnects})", "warn"
        else:
            state, cls = f.state.value, "muted"
        name = label(f) if label is not None else f.venue
        bad = f.parse_errors
        garbage = "" if not bad else " " + paint(f"{bad:,} bad msg{'s' if bad > 1 else ''}", "warn")
        parts.append(
            f"{escape(name)} {paint('●', cls)} {paint(state, cls)} {feed_age(age)}{garbage}"
        )
    return "feeds: " + "  ".join(parts)


def account_markup(accounts: Sequence[AccountHealth]) -> str:
    """The accounts' read state for the status bar, each like a feed: the age of the last
    good read, loud when the last read failed or is overdue (its figures are then old)."""
    parts = []
    for a in accounts:
        if a.age_ms is None and a.problem is None:
            state, cls = "reading", "muted"
        elif a.problem is not None:
            last = "" if a.age_ms is None else f", last good {feed_age(a.age_ms)} ago"
            state, cls = f"read failed{last}", "alert"
        elif a.overdue:
            state, cls = f"read {feed_age(a.age_ms)} ago", "stale"
        else:
            state, cls = f"read {feed_age(a.age_ms)} ago", "gain"
        parts.append(f"{escape(a.name)} {paint('●', cls)} {paint(state, cls)}{_stream_part(a)}")
    return ("  account " + "  ".join(parts)) if parts else ""


def _stream_part(a: AccountHealth) -> str:
    """The account's private stream beside its read: live, or down and polled (said loud)."""
    poll = "" if a.poll_s is None else f", polling {feed_age(int(a.poll_s * 1000))}"
    if a.stream is StreamState.LIVE:
        text, cls = "stream live", "gain"
    elif a.stream is StreamState.CONNECTING:
        text, cls = "stream connecting", "muted"
    elif a.stream is StreamState.DOWN:
        text, cls = f"stream down{poll}", "warn"
    elif a.poll_s is not None:
        text, cls = f"no stream{poll}", "muted"
    else:
        return ""
    bad = (
        ""
        if not a.dropped
        else " " + paint(f"{a.dropped:,} bad msg{'s' * (a.dropped > 1)}", "warn")
    )
    return f" {paint('·', 'muted')} {paint(text, cls)}{bad}"


def recorder_markup(health: RecorderHealth | None) -> str:
    """The recorder's state for the status bar: quiet when fine, loud when writes fail
    (monitoring goes on either way)."""
    if health is None:
        return ""
    if health.ok:
        return "  " + paint("● history", "muted")
    error = health.last_error or "write failed"
    return "  " + paint(f"● history NOT SAVED: {error}", "alert")


#: What each alert rule is about, in words (the rule names are the config's, not the user's).
RULE_WORDS = {
    "liq_distance": "liquidation distance",
    "hedge_ratio": "hedge ratio",
    "funding_against": "funding against the hedge",
    "basis": "basis",
    "feed_stale": "feed",
}


def _hedge_of(snap: PortfolioSnapshot, subject: str) -> HedgeSnapshot | None:
    name, _, hid = subject.partition("#")
    venue, _, symbol = name.partition(":")
    return next(
        (
            h
            for h in snap.hedges
            if h.venue == venue and h.symbol == symbol and (not hid or h.hedge_id == hid)
        ),
        None,
    )


def alert_message(
    a: AlertEvent,
    snap: PortfolioSnapshot | None,
    label: Callable[[FeedHealth], str] | None = None,
) -> str:
    """An alert in words with today's figures (not those frozen when it was raised), naming
    the socket a feed alert is about; no rule names. Falls back to the event's own text."""
    if snap is None:
        return a.message
    raised = a.state.value == "raised"
    words = RULE_WORDS.get(a.rule, a.rule.replace("_", " "))
    now = ""
    if a.rule == "feed_stale":
        venue, _, url = a.subject.partition(":")
        f = next((x for x in snap.feeds if x.venue == venue and x.url == url), None)
        if f is not None:
            name = label(f) if label is not None else f.venue
            state = f.state.value
            if f.stale_symbols:
                state += f", stale: {', '.join(f.stale_symbols)}"
            now = f"{name} feed {state}"
    elif a.rule == "hedge_ratio":
        hold = next((x for x in snap.holdings if x.coin == a.subject), None)
        if hold is not None:
            now = (
                f"{hold.coin} hedge ratio {fmt.ratio_pct(hold.hedge_ratio)} "
                f"(target {fmt.ratio_pct(hold.target_ratio, 0)})"
            )
    else:
        h = _hedge_of(snap, a.subject)
        if h is not None:
            where = f"{h.symbol} on {h.venue}"
            if a.rule == "liq_distance":
                now = f"{where}: liquidation {fmt.pct(h.liq_distance_pct, 1)} from mark"
            elif a.rule == "funding_against":
                now = f"{where}: funding {fmt.pct(h.funding_apr_pct, 1)} APR for the hedge"
            elif a.rule == "basis":
                now = f"{where}: basis {fmt.pct(h.basis_pct, 3)}"
    if not now:
        return a.message if raised else f"{a.subject}: {words} back to normal"
    return now if raised else f"{words} back to normal: {now}"


def alerts_markup(
    alerts: Sequence[AlertEvent],
    snap: PortfolioSnapshot | None = None,
    label: Callable[[FeedHealth], str] | None = None,
) -> str:
    if not alerts:
        return paint("no alerts", "muted")
    latest = sorted(alerts, key=lambda a: a.ts_ms, reverse=True)
    head = paint(f"▲ {len(alerts)} alert{'s' if len(alerts) > 1 else ''}", "alert")
    return head + ": " + " · ".join(escape(alert_message(a, snap, label)) for a in latest[:3])


# --- detail pane ------------------------------------------------------------------------------


def liquidation_explanation(h: HedgeSnapshot) -> str:
    """Why the hedge can (or cannot) be liquidated, in one or two sentences."""
    if h.contracts == 0 or h.entry is None:
        return "No open position: nothing to liquidate."
    if h.liq_price is None:
        backing = h.size_usd / h.entry
        if h.side == "short" and h.margin_coin >= backing * 0.999 and h.coin == h.hedged_coin:
            return (
                f"1x short: margin {fmt.coin(h.margin_coin, h.coin)} ≥ Q/P0 = "
                f"{fmt.coin(backing, h.coin)}, so equity stays Q/P coin and always covers the "
                f"maintenance margin mmr·Q/P: no price liquidates it (fees, funding aside)."
            )
        return "the equity stays above the maintenance margin at every price."
    direction = "rise" if h.liq_price > (h.mark or 0) else "fall"
    text = (
        f"the mark must {direction} that far for the equity M + PnL "
        f"({fmt.coin(h.equity_coin, h.coin)} now) to fall to the maintenance margin."
    )
    if h.venue == "bybit" and h.side == "short" and h.margin_coin >= h.size_usd / h.entry * 0.999:
        text += " Even at 1x: Bybit fixes the margin on the entry value, the equity Q/P shrinks."
    return text


def _model_line(h: HedgeSnapshot, tick: float | None = None) -> str:
    """Bankruptcy price, the margin model that served, the tiers' source; a proxy's margin."""
    parts: list[str] = []
    if h.margin_model is not None:
        bankrupt = (
            "never" if h.bankruptcy_price is None else fmt.usd_price(h.bankruptcy_price, tick)
        )
        parts.append(f"[$muted]bankrupt[/] {bankrupt}")
        parts.append(escape(MODEL_LABEL.get(MarginModel(h.margin_model), h.margin_model)))
        tiers = h.tier_source + (", estimate" if h.tier_estimate else "")
        parts.append(f"[$muted]tiers[/] {escape(tiers)}")
    if h.coin != h.hedged_coin:
        parts.append(f"margin counted in {escape(h.coin)}, not {escape(h.hedged_coin)}")
    parts += _exchange_parts(h, tick)
    return " · ".join(parts)


def _exchange_parts(h: HedgeSnapshot, tick: float | None) -> list[str]:
    """What the account read says beside our figures: the venue's own liquidation price (our
    gap to it flagged beyond ``LIQ_GAP_FLAG_PCT``) and the funding it booked."""
    if h.funding_received_since_ms is None and h.exchange_liq_price is None:
        return []  # no account behind this hedge (or not read yet)
    venue_liq = (
        "none" if h.exchange_liq_price is None else fmt.usd_price(h.exchange_liq_price, tick)
    )
    gap = "" if h.liq_gap_pct is None else f" (ours {fmt.pct(h.liq_gap_pct, 2)})"
    liq = paint(f"venue liq {venue_liq}{gap}", "alert" if h.liq_gap_flagged else "")
    parts = [liq + (" differs: a tier, a fee, or our model?" if h.liq_gap_flagged else "")]
    if h.funding_received_coin is not None and h.funding_received_since_ms is not None:
        since = datetime.fromtimestamp(h.funding_received_since_ms / 1000, UTC)
        got = fmt.coin(h.funding_received_coin, h.coin, sign=True)
        parts.append(
            f"[$muted]venue booked[/] {signed(got, h.funding_received_coin)} "
            f"[$muted]funding since {since:%m-%d}[/]"
        )
    return parts


def _kv(label: str, value: str) -> str:
    return f"[$muted]{escape(label):<7}[/]{value}"


def position_markup(h: HedgeSnapshot, tick: float | None = None) -> str:
    title = f"[b]{escape(h.venue)} {escape(h.symbol)}[/b] {escape(h.side)}"
    if h.coin != h.hedged_coin:
        title += f" [$muted]proxy {escape(h.hedged_coin)} β{h.beta:g}[/]"
    return "\n".join(
        [
            title,
            _kv("size", f"{h.contracts:,} ct = {fmt.usd(h.size_usd, 0)}"),
            _kv("entry", fmt.usd_price(h.entry, tick)),
            _kv("mark", fmt.usd_price(h.mark, tick)),
            _kv("index", fmt.usd_price(h.index, tick)),
            _kv("PnL", signed(fmt.coin(h.pnl_coin, h.coin, sign=True), h.pnl_coin)),
            _kv("", signed(fmt.usd(h.pnl_usd, sign=True), h.pnl_usd)),
            _kv(
                "real.",
                signed(fmt.coin(h.realized_pnl_coin, h.coin, sign=True), h.realized_pnl_coin),
            ),
            _kv("basis", f"{fmt.usd(h.basis_usd, sign=True)} {fmt.pct(h.basis_pct, 3)}"),
            _kv("", f"{fmt.pct(h.basis_annual_pct, 1)} a year"),
        ]
    )


def margin_ratio(h: HedgeSnapshot) -> float | None:
    """The venue's margin ratio of one position: maintenance margin / equity (100 %:
    liquidation). None without a price."""
    if h.maintenance_margin_coin is None or h.equity_coin is None or h.contracts == 0:
        return None
    if h.equity_coin <= 0:
        return float("inf")
    return h.maintenance_margin_coin / h.equity_coin


def wallet_margin_ratio(snap: PortfolioSnapshot, venue: str, coin: str) -> float | None:
    """The margin ratio of one futures wallet (a venue's coin wallet): the maintenance
    margins of its open positions over their equity. None when any of them has no price."""
    mm = eq = 0.0
    for h in snap.hedges:
        if h.venue != venue or h.coin != coin or h.contracts == 0:
            continue
        if h.maintenance_margin_coin is None or h.equity_coin is None:
            return None
        mm += h.maintenance_margin_coin
        eq += h.equity_coin
    if eq <= 0:
        return None if mm == 0 else float("inf")
    return mm / eq


def _ratio_text(r: float | None) -> str:
    if r is None:
        return paint(fmt.DASH, "unknown")
    if r == float("inf"):
        return paint("≥100% (no equity)", "alert")
    cls = "alert" if r >= 0.8 else ("warn" if r >= 0.5 else "")
    return paint(f"{r * 100:.2f}%", cls)


def _per_year(pct: float | None) -> str:
    return signed(f"{fmt.pct(pct, 2)}/y", pct) if pct is not None else paint(fmt.DASH, "unknown")


def margin_markup(h: HedgeSnapshot, wallet_ratio: float | None = None) -> str:
    from tui.widgets.rows import funding_per_day

    lev = "" if h.leverage is None else f" {h.leverage:.3g}x"
    mode = "iso" if h.margin_mode == "isolated" else h.margin_mode
    if h.contracts == 0:
        mode, lev = "flat", ""  # a closed hedge has no margin mode or leverage to show
    rate = "—" if h.funding_rate is None else fmt.pct(h.funding_rate * 100, 4)
    when = "cont." if h.next_funding_ms is None else f"in {fmt.duration(h.funding_countdown_ms)}"
    day_coin, day_usd = funding_per_day(h)
    fund = _kv("fund.", f"{rate}/{fmt.interval(h.funding_interval_ms)} {when}")
    apr = _kv("APR", signed(fmt.pct(h.funding_apr_pct, 2), h.funding_apr_pct))
    nxt = _kv("next", signed(fmt.coin(h.funding_next_coin, h.coin, sign=True), h.funding_next_coin))
    if h.expiry_ms is not None:  # a dated future: no funding; the basis it locks instead
        exp = datetime.fromtimestamp(h.expiry_ms / 1000, UTC)
        days = fmt.DASH if h.days_to_expiry is None else f"{h.days_to_expiry:.1f}d"
        fund = _kv("expiry", f"{exp:%Y-%m-%d} {days}")
        apr = _kv("locked", _per_year(h.basis_locked_apr_pct))
        nxt = _kv("perp", _per_year(h.perp_funding_apr_pct))
    return "\n".join(
        [
            _kv("margin", f"{fmt.coin(h.margin_coin, h.coin)} {escape(mode)}{lev}"),
            _kv("equity", fmt.coin(h.equity_coin, h.coin)),
            _kv("maint.", fmt.coin(h.maintenance_margin_coin, h.coin)),
            fund,
            _kv("m.rat.", f"{_ratio_text(margin_ratio(h))} wallet {_ratio_text(wallet_ratio)}"),
            apr,
            nxt,
            _kv("a day", signed(fmt.coin(day_coin, h.coin, sign=True), day_coin)),
            _kv("", signed(fmt.usd(day_usd, sign=True), day_usd)),
            _kv(
                "accr.",
                signed(fmt.coin(h.funding_accrued_coin, h.coin, sign=True), h.funding_accrued_coin),
            ),
            _kv("", signed(fmt.usd(h.funding_accrued_usd, sign=True), h.funding_accrued_usd)),
        ]
    )


def proxy_margin_coin(snap: PortfolioSnapshot, hold: HoldingSnapshot) -> float:
    """Coins of ``hold`` in futures wallets that back proxy hedges of other holdings (a BTC
    contract hedging SOL): the engine counts them as this holding's exposure."""
    return sum(
        h.margin_coin for h in snap.hedges if h.coin == hold.coin and h.hedged_coin != hold.coin
    )


def holding_markup(hold: HoldingSnapshot, proxy_margin: float = 0.0) -> str:
    ratio = f"{fmt.ratio_pct(hold.hedge_ratio)} / {fmt.ratio_pct(hold.target_ratio)}"
    band = "" if hold.band is None else f" ±{fmt.ratio_pct(hold.band)}"
    drift_cls = (
        "warn"
        if hold.drift is not None and hold.band is not None and abs(hold.drift) > hold.band
        else ""
    )
    lines = [
        f"[b]{escape(hold.coin)}[/b] {escape(hold.label)}",
        _kv("spot", fmt.coin(hold.amount_coin, hold.coin)),
        _kv("", fmt.usd(hold.spot_value_usd)),
        _kv(
            "price",
            paint(fmt.usd(hold.price_usd, None), "unknown" if hold.price_usd is None else ""),
        ),
        _kv("wallet", fmt.coin(hold.margin_coin, hold.coin)),
        _kv("delta", fmt.coin(hold.net_delta_coin, hold.coin, sign=True)),
        _kv("", fmt.usd(hold.net_delta_usd, sign=True)),
        _kv("ratio", paint(ratio + band, drift_cls)),
        _kv("value", fmt.usd(hold.value_usd)),
        _kv("unhedg", fmt.usd(hold.unhedged_value_usd)),
    ]
    if proxy_margin:
        lines.append(
            paint(
                f"incl. {fmt.coin(proxy_margin, hold.coin)} margin of proxy hedges: "
                f"coins in a {hold.coin} wallet are {hold.coin} exposure",
                "muted",
            )
        )
    if hold.stale:
        lines[0] += " " + paint(" STALE ", "stale")
    return "\n".join(lines)


def liquidation_head(h: HedgeSnapshot, tick: float | None = None) -> str:
    """The liquidation figure as markup: unknown as "—" in the stale colour, never as safe."""
    state = liq_state(h)
    if state == "flat":
        return paint(fmt.DASH + " (flat)", "muted")
    if state == "unknown":
        return paint(fmt.DASH, "unknown")
    if state == "never":
        return paint("none", "gain")
    if state == "far":
        return paint("none in range (beyond 10× the mark)", "gain")
    dist = h.liq_distance_pct
    return paint(f"{fmt.usd_price(h.liq_price, tick)} ({fmt.pct(dist, 1)})", liq_class(dist))


def liquidation_markup(h: HedgeSnapshot | None, tick: float | None = None) -> str:
    if h is None:
        return ""
    if liq_state(h) == "unknown":
        why = (
            "no mark price yet: the liquidation price cannot be computed, so it is not shown "
            "as safe."
            if h.mark is None
            else "no margin model answered for this position: not shown as safe."
        )
        return f"[b]Liquidation[/b] {liquidation_head(h)}: {escape(why)}"
    why = liquidation_explanation(h)
    text = f"[b]Liquidation[/b] {liquidation_head(h, tick)}: {escape(why)}"
    line = _model_line(h, tick)
    return f"{text}\n{line}" if line else text


def fills_markup(
    fills: Sequence[Fill],
    hedge_id: str | None,
    coins: dict[str, str],
    ticks: Mapping[str, float] | None = None,
) -> str:
    mine = [f for f in fills if hedge_id is None or f.hedge_id == hedge_id][-3:]
    if not mine:
        return "[$muted]last fills: none this session[/]"
    lines = ["[$muted]last fills[/]"]
    for f in reversed(mine):
        t = datetime.fromtimestamp(f.ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(
            f"{t} {f.side.value} {f.contracts:,} ct @ "
            f"{fmt.usd_price(f.price, (ticks or {}).get(f.hedge_id))} "
            f"fee {fmt.coin(f.fee_coin, coins.get(f.hedge_id, 'coin'))}"
        )
    return "\n".join(lines)


class DetailPane(Vertical):
    """Everything about the selected row: position, margin and funding, the holding, the
    liquidation explanation, a basis sparkline and the last fills."""

    DEFAULT_CSS = """
    DetailPane { height: 1fr; min-height: 6; border-top: solid $panel; padding: 0 1; }
    DetailPane Horizontal { height: auto; }
    DetailPane #detail-liq { height: auto; margin-bottom: 1; }
    DetailPane #basis-row { height: 1fr; min-height: 3; max-height: 6; margin-top: 1; }
    DetailPane #basis-label { width: 16; height: 3; text-wrap: nowrap; }
    DetailPane Sparkline { width: 1fr; height: 1fr; margin-right: 2; }
    DetailPane Sparkline > .sparkline--max-color { color: $chart-hedged; }
    DetailPane Sparkline > .sparkline--min-color { color: $chart-unhedged; }
    DetailPane #detail-fills { width: 2fr; height: 4; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    #: The alternative to the liquidation section (``L``: the linear twin, the funding
    #: forecast, a dated future; ``tui.widgets.risk_pane``); None shows the liquidation.
    alt: Callable[[HedgeSnapshot | None], str] | None = None

    def compose(self) -> ComposeResult:
        # The liquidation first: on a short screen the pane is cut from the bottom.
        yield TextPane(id="detail-liq")
        yield TextColumns(3, id="detail-cols")  # the position, its margin, the holding
        with Horizontal(id="basis-row"):
            yield TextPane(id="basis-label")
            yield RunSparkline([], id="basis-chart")
            yield TextPane(id="detail-fills")

    def show(
        self,
        snap: PortfolioSnapshot | None,
        hedge_id: str | None,
        holding_key: str | None,
        basis: Sequence[float],
        ticks: Mapping[str, float] | None = None,
    ) -> None:
        columns = self.query_one("#detail-cols", TextColumns)
        if snap is None:
            columns.set_texts(["waiting for the first snapshot…", *columns.texts[1:]])
            return
        h = snap.hedge(hedge_id) if hedge_id else None
        hold = next((x for x in snap.holdings if f"{x.coin}:{x.label}" == holding_key), None)
        tick = (ticks or {}).get(h.hedge_id) if h else None
        wallet = wallet_margin_ratio(snap, h.venue, h.coin) if h else None
        columns.set_texts(
            [
                position_markup(h, tick) if h else paint("no hedge on this holding", "warn"),
                margin_markup(h, wallet) if h else "",
                holding_markup(hold, proxy_margin_coin(snap, hold)) if hold else "",
            ]
        )
        liq = self.alt(h) if self.alt is not None else liquidation_markup(h, tick)
        self.query_one("#detail-liq", TextPane).set_text(liq)
        label = self.query_one("#basis-label", TextPane)
        if h is not None and basis:
            label.set_text(
                f"[$muted]basis, {len(basis)} s[/]\n"
                f"max {fmt.pct(max(basis), 3)}\nmin {fmt.pct(min(basis), 3)}"
            )
        else:
            label.set_text("[$muted]basis: no data[/]")
        chart = self.query_one("#basis-chart", Sparkline)
        data = [x for x in basis if math.isfinite(x)]  # Sparkline cannot draw NaN or inf
        if list(chart.data or []) != data:
            chart.data = data
        coins = {x.hedge_id: x.coin for x in snap.hedges}
        self.query_one("#detail-fills", TextPane).set_text(
            fills_markup(snap.recent_fills, hedge_id, coins, ticks)
        )
