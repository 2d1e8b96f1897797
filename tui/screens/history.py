"""The history screen (``h``): what was recorded for a holding, a hedge or the portfolio.

It reads the database read-only (``storage.history``), so it works while the recorder writes
and on a database written elsewhere: the range ends at the last recorded instant, not at the
local clock. Charts (textual-plotext): hedged vs unhedged USD value, PnL in USD and coin,
basis, funding, liquidation distance; fills (F), funding (f) and alerts (!) are marked as
vertical lines on every chart; the events are listed in a table; ``e`` exports the range to
CSV (series and events).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.containers import Grid, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from storage.history import History, HistoryError, HistoryEvent, Point, Subject, open_history
from tui.event_text import event_text

HOUR_MS = 3_600_000
RANGES: tuple[tuple[str, int | None], ...] = (
    ("1h", HOUR_MS),
    ("24h", 24 * HOUR_MS),
    ("7d", 7 * 24 * HOUR_MS),
    ("30d", 30 * 24 * HOUR_MS),
    ("all", None),
)
MAX_POINTS = 300
FOLLOW_EVERY_S = 10.0  # how often an open history screen looks for newly recorded data
MAX_MARKS = 60
EVENT_MARK_VAR = {"fill": "primary", "funding": "gain", "alert": "alert"}


@dataclass(frozen=True)
class ChartLine:
    label: str
    points: list[Point]
    color_var: str  # a theme variable name


@dataclass(frozen=True)
class Chart:
    key: str
    title: str  # carries the unit
    lines: list[ChartLine]


def fmt_time(ts_ms: int, span_ms: int) -> str:
    """A time-axis label at the range's scale: seconds under ten minutes (five ticks over one
    minute must not all read 22:08), minutes within two days, dates beyond."""
    dt = datetime.fromtimestamp(ts_ms / 1000, UTC)
    if span_ms <= HOUR_MS // 6:
        return dt.strftime("%H:%M:%S")
    if span_ms <= 2 * 24 * HOUR_MS:
        return dt.strftime("%H:%M")
    return dt.strftime("%m-%d %H:%M") if span_ms <= 10 * 24 * HOUR_MS else dt.strftime("%m-%d")


def _full(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _hedges_of(subjects: Sequence[Subject], sub: Subject) -> list[Subject]:
    if sub.kind == "hedge":
        return [sub]
    hedges = [s for s in subjects if s.kind == "hedge"]
    if sub.kind == "holding":
        return [s for s in hedges if s.hedged_coin == sub.key]
    return hedges


def build_charts(
    hist: History, sub: Subject, start_ms: int, end_ms: int, *, max_points: int = MAX_POINTS
) -> list[Chart]:
    """The charts of one subject over a range (hedge series summed up by chart, one line
    per hedge)."""
    name = None if sub.kind == "portfolio" else f"{sub.kind}:{sub.key}"
    own = hist.series(start_ms, end_ms, subject=name, max_points=max_points)
    hedges = _hedges_of(hist.subjects(), sub)
    per_hedge = {
        h.key: hist.series(start_ms, end_ms, subject=f"hedge:{h.key}", max_points=max_points)
        for h in hedges
    }
    palette = ("chart-hedged", "loss", "warning", "chart-unhedged", "accent", "primary")

    def lines(key: str, suffix: str = "") -> list[ChartLine]:
        return [
            ChartLine(f"{hid}{suffix}", s.get(key, []), palette[i % len(palette)])
            for i, (hid, s) in enumerate(per_hedge.items())
            if any(v is not None for _, v in s.get(key, []))
        ]

    charts: list[Chart] = []
    if sub.kind == "hedge":
        charts.append(
            Chart(
                "value",
                "futures wallet equity, coin",
                [ChartLine("equity coin", own.get("equity_coin", []), "chart-hedged")],
            )
        )
    else:
        charts.append(
            Chart(
                "value",
                "value USD: hedged vs unhedged",
                [
                    ChartLine("hedged", own.get("value_usd", []), "chart-hedged"),
                    ChartLine("unhedged", own.get("unhedged_value_usd", []), "chart-unhedged"),
                ],
            )
        )
    charts.append(Chart("pnl_usd", "hedge PnL USD", lines("pnl_usd")))
    charts.append(Chart("pnl_coin", "hedge PnL coin", lines("pnl_coin")))
    charts.append(Chart("basis", "basis % (mark vs index)", lines("basis_pct")))
    funding = [
        ChartLine(
            line.label,
            [(t, None if v is None else v * 100) for t, v in line.points],
            line.color_var,
        )
        for line in lines("funding_rate")
    ]
    charts.append(Chart("funding", "funding rate % per interval", funding))
    charts.append(Chart("liq", "liquidation distance % (min)", lines("liq_distance_pct")))
    return charts


class HistoryScreen(Screen[None]):
    """History of the selected holding (``s`` cycles: holding, its hedges, the portfolio)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "Back", id="history_close"),
        Binding("r", "next_range", "Range", id="history_range"),
        Binding("left,left_square_bracket", "step(-1)", "Earlier", id="history_back"),
        Binding("right,right_square_bracket", "step(1)", "Later", id="history_forward"),
        Binding("s", "next_subject", "Subject", id="history_subject"),
        Binding("e", "export", "Export CSV", id="history_export"),
        Binding("v", "review", "Review", id="history_review"),
    ]
    DEFAULT_CSS = """
    HistoryScreen #history-title { height: 2; padding: 0 1; background: $panel; }
    HistoryScreen Grid { grid-size: 3 2; height: 1fr; }
    HistoryScreen PlotextPlot { height: 1fr; min-height: 6; }
    HistoryScreen #history-events { height: 9; border-top: solid $panel; }
    HistoryScreen #history-empty { padding: 1 2; color: $muted; }
    """

    def __init__(
        self,
        db_path: Path,
        *,
        subject: str | None = None,
        export_dir: Path | None = None,
        export_now: bool = False,
    ) -> None:
        super().__init__(id="history")
        self.export_now = export_now  # export the first range shown (the palette's command)
        self.db_path = db_path
        self.wanted_subject = subject
        self.export_dir = export_dir or Path.cwd()
        self.hist: History | None = None
        self.error: str | None = None
        self.subjects: list[Subject] = []
        self.subject_index = 0
        self.range_index = 1  # 24h
        self.end_ms = 0
        self.step_notice: str | None = None  # why the last [ / ] step could not move
        self.bounds: tuple[int, int] | None = None
        self.charts: list[Chart] = []
        self.events: list[HistoryEvent] = []
        self.exported: list[Path] = []

    def compose(self) -> ComposeResult:
        yield Static(id="history-title")
        with Vertical(id="history-body"):
            with Grid():
                for i in range(6):
                    yield PlotextPlot(id=f"chart-{i}")
            yield DataTable(id="history-events", cursor_type="row", zebra_stripes=True)
        yield Footer()

    # --- data --------------------------------------------------------------------------------

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("time UTC", "kind", "subject", "event")
        try:
            self.hist = open_history(self.db_path)
            self.bounds = self.hist.bounds()
            self.subjects = self._subject_cycle(self.hist.subjects())
        except HistoryError as exc:
            self.error = str(exc)
        if self.bounds is not None:
            self.end_ms = self.bounds[1]
            # everything when less than a day is recorded (else the last 24h): data fills
            # the charts instead of a sliver at their right edge
            short = self.bounds[1] - self.bounds[0] <= 24 * HOUR_MS
            self.range_index = len(RANGES) - 1 if short else 1
        self.reload()
        self.set_interval(FOLLOW_EVERY_S, self.follow, name="history follow")
        if self.export_now:
            self.action_export()

    def follow(self) -> None:
        """While the range ends at the last record, move it with what the recorder adds."""
        if self.hist is None or self.bounds is None or self.end_ms < self.bounds[1]:
            return
        try:
            bounds = self.hist.bounds()
        except (sqlite3.Error, HistoryError):  # a busy or vanished file: keep what is shown
            return
        if bounds is not None and bounds[1] > self.bounds[1]:
            self.bounds = bounds
            self.end_ms = bounds[1]
            self.reload()

    def on_resize(self) -> None:
        # Three charts abreast need width; on a narrow terminal use two, and a shorter table.
        grid = self.query_one(Grid)
        grid.styles.grid_size_columns = 3 if self.size.width >= 150 else 2
        grid.styles.grid_size_rows = 2 if self.size.width >= 150 else 3
        self.query_one(DataTable).styles.height = 9 if self.size.height >= 40 else 5

    def on_unmount(self) -> None:
        if self.hist is not None:
            self.hist.close()

    def _subject_cycle(self, subs: list[Subject]) -> list[Subject]:
        """The selected holding first, then its hedges, then the portfolio; else portfolio
        first, then everything recorded."""
        portfolio = next((s for s in subs if s.kind == "portfolio"), Subject("portfolio", ""))
        holding = next(
            (s for s in subs if s.kind == "holding" and s.key == self.wanted_subject), None
        )
        if holding is None:
            return [portfolio, *(s for s in subs if s.kind != "portfolio")]
        hedges = [s for s in subs if s.kind == "hedge" and s.hedged_coin == holding.key]
        rest = [s for s in subs if s not in (holding, portfolio, *hedges)]
        return [holding, *hedges, portfolio, *rest]

    @property
    def subject(self) -> Subject:
        if not self.subjects:
            return Subject("portfolio", "")
        return self.subjects[self.subject_index % len(self.subjects)]

    @property
    def span(self) -> tuple[int, int]:
        _label, width = RANGES[self.range_index]
        if width is None:
            if self.bounds is None:
                return (self.end_ms - HOUR_MS, self.end_ms)
            return self.bounds
        return (self.end_ms - width, self.end_ms)

    def reload(self) -> None:
        title = self.query_one("#history-title", Static)
        if self.error or self.hist is None:
            title.update(f"[b]History[/b]  [$alert]{escape(self.error or 'no database')}[/]")
            return
        if self.bounds is None:
            title.update(
                f"[b]History[/b]  {escape(str(self.db_path))}: nothing recorded yet "
                "(the recorder writes one snapshot a second)"
            )
            return
        start, end = self.span
        try:
            self.charts = build_charts(self.hist, self.subject, start, end)
            name = None if self.subject.kind == "portfolio" else self.subject.key
            self.events = self.hist.events(start, end, subject=name)
        except HistoryError as exc:
            title.update(f"[b]History[/b]  [$alert]{escape(str(exc))}[/]")
            return
        span = end - start
        label = RANGES[self.range_index][0]
        first, last = self.bounds
        title.update(
            f"[b]History[/b] {escape(self.subject.name)}  [b]{label}[/b] "
            f"{fmt_time(start, span + 3 * 24 * HOUR_MS)} → {fmt_time(end, span + 3 * 24 * HOUR_MS)}"
            f" UTC   {len(self.events)} event{'' if len(self.events) == 1 else 's'}\n"
            f"[$muted]{escape(str(self.db_path))}: recorded {_full(first)} → {_full(last)}"
            f"   marks: │ fill, funding, alert   r range  [ ] step  s subject  e CSV  v review[/]"
        )
        for i, plot in enumerate(self.query(PlotextPlot)):
            self._draw(plot, self.charts[i] if i < len(self.charts) else None, start, end)
        table = self.query_one(DataTable)
        table.clear()
        for ev in reversed(self.events[-500:]):
            when = datetime.fromtimestamp(ev.ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
            table.add_row(when, ev.kind, ev.subject, event_text(ev))

    def _rgb(self, var: str) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(var) or self.app.theme_variables.get("foreground")
        try:
            return Color.parse(value or "white").rgb
        except Exception:
            return (200, 200, 200)

    def _draw(self, plot: PlotextPlot, chart: Chart | None, start: int, end: int) -> None:
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if chart is None:
            plot.refresh()
            return
        plt.title(chart.title)
        drawn = False
        for line in chart.lines:
            pts = [(t / 1000, v) for t, v in line.points if v is not None]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            plt.plot(list(xs), list(ys), label=line.label[:18], color=self._rgb(line.color_var))
            drawn = True
        if not drawn:
            plt.title(f"{chart.title}: no data in range")
        for ev in self.events[-MAX_MARKS:]:
            plt.vline(ev.ts_ms / 1000, self._rgb(EVENT_MARK_VAR.get(ev.kind, "muted")))
        span = max(end - start, 1)
        ticks = [start + span * i // 4 for i in range(5)]
        plt.xticks([t / 1000 for t in ticks], [fmt_time(t, span) for t in ticks])
        plt.xlim(start / 1000, end / 1000)
        plot.refresh()

    # --- actions -----------------------------------------------------------------------------

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_next_range(self) -> None:
        self.range_index = (self.range_index + 1) % len(RANGES)
        if self.bounds is not None:
            self.end_ms = self.bounds[1]
        self.reload()

    def action_step(self, direction: int) -> None:
        """Move the window one range earlier or later; a step that cannot move says why
        instead of doing nothing (the last notice is kept in ``step_notice``)."""
        label, width = RANGES[self.range_index]
        if self.bounds is None:
            return self._step_notice("no history recorded yet: nothing to step through")
        if width is None:
            return self._step_notice("range 'all' shows everything recorded (r: 1h/24h/7d/30d)")
        first, last = self.bounds
        end = min(max(self.end_ms + direction * width, first + width), last)
        if end == self.end_ms:
            edge = "earliest" if direction < 0 else "latest"
            when = fmt_time(first if direction < 0 else last, 3 * 24 * HOUR_MS)
            return self._step_notice(f"already at the {edge} {label} of history ({when})")
        self.step_notice = None
        self.end_ms = end
        self.reload()

    def _step_notice(self, text: str) -> None:
        self.step_notice = text
        self.notify(text, timeout=3)

    def action_next_subject(self) -> None:
        if self.subjects:
            self.subject_index = (self.subject_index + 1) % len(self.subjects)
            self.reload()

    def action_review(self) -> None:
        """What the hedge did over this range (``tui.screens.review``)."""
        if self.hist is None or self.bounds is None:
            self.notify("nothing recorded to review", severity="warning")
            return
        from tui.screens.review import RANGES as REVIEW_RANGES
        from tui.screens.review import ReviewScreen

        label = RANGES[self.range_index][0]
        index = next((i for i, r in enumerate(REVIEW_RANGES) if r[0] == label), 1)
        self.app.push_screen(ReviewScreen(self.hist, (self.bounds[0], self.end_ms), index))

    def action_export(self) -> None:
        if self.hist is None or self.bounds is None:
            self.notify("nothing to export", severity="warning")
            return
        from storage.export import write_csv

        start, end = self.span
        sub = self.subject
        name = "portfolio" if sub.kind == "portfolio" else f"{sub.kind}-{sub.key}"
        stamp = datetime.fromtimestamp(end / 1000, UTC).strftime("%Y%m%dT%H%M%S")
        label = RANGES[self.range_index][0]
        base = self.export_dir / f"hedgetop-{name}-{label}-{stamp}"
        subject = None if sub.kind == "portfolio" else f"{sub.kind}:{sub.key}"
        try:
            series_path = base.with_name(base.name + ".csv")
            events_path = base.with_name(base.name + "-events.csv")
            with series_path.open("w", encoding="utf-8", newline="") as out:
                rows = write_csv(
                    self.hist, out, start, end, subjects=[subject], describe=event_text
                )
            with events_path.open("w", encoding="utf-8", newline="") as out:
                n_events = write_csv(
                    self.hist, out, start, end, subjects=[subject], events=True, describe=event_text
                )
        except (OSError, HistoryError) as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        self.exported = [series_path, events_path]
        self.notify(f"exported {rows} rows to {series_path} and {n_events} events to {events_path}")
