"""The stress screen (``S``): the whole book at price moves of the hedged coins, the first
liquidation (the exact move, which hedge, what it loses) and the funding forecast.

It reads the app's latest snapshot once a second (``core.stress`` computes the grid in about
a millisecond and a half) and never reaches into the session beyond the contract specs in use.
``s`` cycles what the grid shows: the portfolio, each holding, each hedge. The recorded
funding rates (averages and range) come from the history database, read once in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from core.forecast import (
    EMPTY_STATS,
    Projection,
    RateBasis,
    RateStats,
    hedge_forecast,
    total_usd,
)
from core.instruments import ContractSpec, UnknownInstrument, lookup
from core.snapshot import PortfolioSnapshot
from core.stress import (
    LiquidationPoint,
    StressGrid,
    StressRow,
    scenario_for_move,
    stress_grid,
    stress_row,
)
from tui.widgets import format as fmt
from tui.widgets.panes import TextPane, paint, signed

REFRESH_S = 1.0
Subject = tuple[str, str]  # ("portfolio", "") | ("holding", coin) | ("hedge", hedge_id)


def specs_for(
    snap: PortfolioSnapshot, known: Mapping[str, ContractSpec] | None
) -> dict[str, ContractSpec]:
    """The spec in use per hedge (the session's, else the built-in table's)."""
    out: dict[str, ContractSpec] = {}
    for h in snap.hedges:
        spec = (known or {}).get(h.hedge_id)
        if spec is None:
            try:
                spec = lookup(h.venue, h.symbol)
            except UnknownInstrument:
                continue
        out[h.hedge_id] = spec
    return out


def liquidation_markup(p: LiquidationPoint | None, direction: str) -> str:
    if p is None:
        return f"[$muted]on a {direction}:[/] " + paint("no move liquidates a hedge", "gain")
    cls = "alert" if abs(p.move_pct) < 20 else ("warn" if abs(p.move_pct) < 50 else "")
    return (
        f"[$muted]on a {direction}:[/] "
        + paint(f"{p.hedge_id} at {p.move_pct:+.2f} %", cls)
        + f" (mark {fmt.num(p.tick_price)} USD, equity = maintenance "
        f"{escape(fmt.coin(p.maintenance_coin, p.coin))}): loses its {p.lost_what}, "
        f"{escape(fmt.coin(p.lost_coin, p.coin))} = {fmt.usd(p.lost_usd, 0)}"
    )


def grid_columns(subject: Subject, snap: PortfolioSnapshot) -> list[str]:
    kind, key = subject
    if kind == "portfolio":
        return ["move", "hedged USD", "change", "unhedged USD", "change", "hedge PnL", "gone"]
    if kind == "holding":
        return ["move", "price USD", "hedged USD", "unhedged USD", "hedge PnL", "ratio", "δ USD"]
    h = snap.hedge(key)
    c = h.coin if h else "coin"
    return ["move", "mark USD", f"PnL {c}", "PnL USD", f"equity {c}", "margin %", "to liq"]


def grid_cells(subject: Subject, row: StressRow, snap: PortfolioSnapshot) -> list[str]:
    kind, key = subject
    label = row.scenario.label
    if row.scenario.move_pct is not None and not float(row.scenario.move_pct).is_integer():
        label = f"{row.scenario.move_pct:+.2f} %"
    if kind == "portfolio":

        def change(v: float | None, now: float | None) -> str:
            return fmt.compact_usd(None if v is None or now is None else v - now, sign=True)

        return [
            label,
            fmt.num(row.value_usd, 0),
            change(row.value_usd, snap.total_value_usd),
            fmt.num(row.unhedged_value_usd, 0),
            change(row.unhedged_value_usd, snap.unhedged_value_usd),
            fmt.compact_usd(row.hedge_pnl_usd, sign=True),
            ",".join(row.liquidated),
        ]
    if kind == "holding":
        c = row.holding(key)
        if c is None:
            return [label, *([fmt.DASH] * 6)]
        return [
            label,
            fmt.num(c.price_usd),
            fmt.num(c.value_usd, 0),
            fmt.num(c.unhedged_value_usd, 0),
            fmt.compact_usd(c.hedge_pnl_usd, sign=True),
            fmt.ratio_pct(c.hedge_ratio),
            fmt.compact_usd(c.net_delta_usd, sign=True),
        ]
    cell = row.hedge(key)
    if cell is None:
        return [label, *([fmt.DASH] * 6)]
    to_liq = (
        "LIQUIDATED"
        if cell.liquidated
        else ("none" if cell.liq_distance_pct is None else fmt.pct(cell.liq_distance_pct, 1))
    )
    return [
        label,
        fmt.num(cell.mark),
        fmt.num(cell.pnl_coin, sign=True),
        fmt.compact_usd(cell.pnl_usd, sign=True),
        fmt.num(cell.equity_coin),
        fmt.pct(cell.margin_ratio_pct, 2, sign=False),
        to_liq,
    ]


def forecast_markup(snap: PortfolioSnapshot, stats: Mapping[str, RateStats]) -> str:
    """The funding forecast, one line per hedge and the total (> 0 received): the next
    payment in coin, 7 and 30 days at the rate in force, 30 days at the recorded 24 h and
    7 d averages and at the lowest..highest recorded rate (USD)."""
    forecasts = [
        hedge_forecast(h, stats.get(h.hedge_id, EMPTY_STATS))
        for h in snap.hedges
        if h.expiry_ms is None
    ]
    dated = [
        fmt.no_funding_note(h.hedge_id, h.expiry_ms, h.days_to_expiry, h.basis_locked_apr_pct)
        for h in snap.hedges
        if h.expiry_ms is not None
    ]

    def u(p: Projection | None, width: int = 7) -> str:
        value = None if p is None else p.usd
        return signed(f"{fmt.compact_usd(value, sign=True):>{width}}", value)

    width = max([5, *(len(f.hedge_id) for f in forecasts)])
    lines = [
        "[b]Funding forecast[/b] [$muted](> 0 received, USD; 30 d also at the recorded "
        "averages and range)[/]",
        f"[$muted]{'hedge':<{width}} {'rate now':>9} {'next':>16} {'7 d':>7} {'30 d':>7} "
        f"{'@24h':>7} {'@7d':>7} {'range 30 d':>15}[/]",
    ]
    for f in forecasts:
        lo, hi = f.projection(RateBasis.LOW, 30), f.projection(RateBasis.HIGH, 30)
        rate = fmt.DASH if f.rate is None else f"{f.rate * 100:+.4f}%"
        rng = fmt.DASH
        if lo and hi and lo.usd is not None and hi.usd is not None:
            a, b = sorted((lo.usd, hi.usd))
            rng = f"{fmt.compact_usd(a, sign=True)}..{fmt.compact_usd(b, sign=True)}"
        nxt = fmt.coin(f.next_coin, f.coin, sign=True)
        lines.append(
            f"{escape(f.hedge_id):<{width}} {rate:>9} "
            + signed(escape(f"{nxt:>16}"), f.next_coin)
            + f" {u(f.projection(RateBasis.CURRENT, 7))} {u(f.projection(RateBasis.CURRENT, 30))}"
            + f" {u(f.projection(RateBasis.AVG_24H, 30))} {u(f.projection(RateBasis.AVG_7D, 30))}"
            + f" {rng:>15}"
        )
    lines += [f"[$muted]{escape(d)}[/]" for d in dated]
    t7 = total_usd(forecasts, RateBasis.CURRENT, 7)
    t30 = total_usd(forecasts, RateBasis.CURRENT, 30)
    lines.append(
        "[b]total[/b] at the current rates: 7 d "
        + signed(fmt.usd(t7, 0, sign=True), t7)
        + ", 30 d "
        + signed(fmt.usd(t30, 0, sign=True), t30)
    )
    return "\n".join(lines)


class StressScreen(Screen[None]):
    """See the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,S", "close", "Back", id="stress_close"),
        Binding("s", "next_subject", "Subject", id="stress_subject"),
    ]
    DEFAULT_CSS = """
    StressScreen #stress-title { height: 2; padding: 0 1; background: $panel; }
    StressScreen #stress-grid { height: 1fr; min-height: 8; }
    StressScreen #stress-liq { height: auto; padding: 0 1; border-top: solid $panel; }
    StressScreen #stress-funding { height: auto; padding: 0 1; border-top: solid $panel;
        text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(
        self,
        latest: Callable[[], PortfolioSnapshot | None],
        *,
        specs: Callable[[], Mapping[str, ContractSpec] | None] = lambda: None,
        history_db: Path | None = None,
    ) -> None:
        super().__init__(id="stress")
        self.latest = latest
        self.specs = specs
        self.history_db = history_db
        self.subjects: list[Subject] = [("portfolio", "")]
        self.subject_index = 0
        self.grid: StressGrid | None = None
        self.stats: dict[str, RateStats] = {}
        self._shown: tuple[int, Subject] | None = None

    def compose(self) -> ComposeResult:
        yield TextPane(id="stress-title")
        yield DataTable(id="stress-grid", cursor_type="row", zebra_stripes=True)
        yield TextPane(id="stress-liq")
        yield TextPane(id="stress-funding")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_grid()
        self.set_interval(REFRESH_S, self.refresh_grid, name="stress refresh")
        if self.history_db is not None and self.history_db.is_file():
            self._load_stats(self.history_db)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load_stats(self, path: Path) -> None:
        from storage.history import HistoryError, open_history
        from storage.review_queries import funding_rate_stats

        snap = self.latest()
        if snap is None:
            return
        try:
            with open_history(path) as hist:
                stats = funding_rate_stats(hist, snap.ts_ms)
        except HistoryError:
            return
        self.app.call_from_thread(self._stats_loaded, stats)

    def _stats_loaded(self, stats: dict[str, RateStats]) -> None:
        self.stats = stats
        self._shown = None
        self.refresh_grid()

    @property
    def subject(self) -> Subject:
        return self.subjects[self.subject_index % len(self.subjects)]

    def refresh_grid(self) -> None:
        snap = self.latest()
        title = self.query_one("#stress-title", TextPane)
        if snap is None:
            title.set_text("[b]Stress grid[/b]  waiting for the first snapshot…")
            return
        if self._shown == (snap.ts_ms, self.subject):
            return
        self.subjects = [
            ("portfolio", ""),
            *(("holding", h.coin) for h in snap.holdings),
            *(("hedge", h.hedge_id) for h in snap.hedges),
        ]
        specs = specs_for(snap, self.specs())
        grid = stress_grid(snap, specs)
        self.grid = grid
        self._shown = (snap.ts_ms, self.subject)
        kind, key = self.subject
        what = "portfolio" if kind == "portfolio" else f"{kind} {key}"
        followers = ", ".join(f"{c} ×{k:g}" for c, k in grid.multipliers.items() if k != 1.0)
        beta = (
            f"  [$muted]proxy holdings move β × the row: {escape(followers)}[/]"
            if followers
            else ""
        )
        title.set_text(
            f"[b]Stress grid[/b] {escape(what)}  [$muted]s subject · esc back[/]{beta}\n"
            f"[$muted]every coin moved by the row; unknown prices —; a hedge past its "
            f"liquidation has lost its margin[/]",
        )
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        labels = grid_columns(self.subject, snap)
        first = grid.first
        rows = list(grid.rows)
        moves = [r.scenario.move_pct for r in rows if r.scenario.move_pct is not None]
        cliff: StressRow | None = None
        if first is not None and moves and min(moves) <= first.move_pct <= max(moves):
            # the exact move as a row of its own, where it falls in the grid
            cliff = stress_row(snap, specs, scenario_for_move(grid.multipliers, first.move_pct))
            at = next(
                (i for i, r in enumerate(rows) if (r.scenario.move_pct or 0) > first.move_pct),
                len(rows),
            )
            rows.insert(at, cliff)
        body: list[list[str]] = []
        for row in rows:
            cells = grid_cells(self.subject, row, snap)
            if row is cliff:
                cells[0] = f"▲{cells[0]} liq"
            elif row.scenario.move_pct == 0:
                cells[0] = f"{cells[0]} now"
            body.append(cells)
        # widths from the cells' text: a column sized by its header cuts -162.4k to -162.4
        for i, label in enumerate(labels):
            width = max([len(label), *(len(Text.from_markup(c[i]).plain) for c in body)])
            table.add_column(label, width=width)
        for cells in body:
            table.add_row(*cells)
        if 0 <= cursor < table.row_count:
            table.move_cursor(row=cursor)
        self.query_one("#stress-liq", TextPane).set_text(
            "[b]First liquidation[/b] (exact move: equity = the venue's maintenance margin)\n"
            + liquidation_markup(grid.first_down, "fall")
            + "\n"
            + liquidation_markup(grid.first_up, "rise")
        )
        self.query_one("#stress-funding", TextPane).set_text(forecast_markup(snap, self.stats))

    def action_next_subject(self) -> None:
        self.subject_index = (self.subject_index + 1) % max(len(self.subjects), 1)
        self.refresh_grid()

    def action_close(self) -> None:
        self.app.pop_screen()
