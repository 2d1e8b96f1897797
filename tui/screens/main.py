"""The main screen: header, holdings table, detail pane, status bar with feeds and alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from core.snapshot import PortfolioSnapshot
from tui.widgets.panes import (
    DetailPane,
    TextPane,
    account_markup,
    alerts_markup,
    feed_markup,
    header_markup,
    paint,
    recorder_markup,
)
from tui.widgets.rows import Row, build_rows
from tui.widgets.table import HedgeTable

if TYPE_CHECKING:
    from tui.host import DashboardHost


class MainScreen(Screen[None]):
    """Everything live. ``show(snapshot)`` is the only way data gets in."""

    def __init__(self) -> None:
        super().__init__(id="main")
        self.snapshot: PortfolioSnapshot | None = None

    @property
    def hedgetop(self) -> DashboardHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TextPane(id="header")
        yield HedgeTable(id="table")
        yield DetailPane(id="detail")
        yield TextPane(id="feeds")
        yield TextPane(id="alerts")
        yield Footer()

    def on_resize(self) -> None:
        # 80 columns: the compact footer keeps help, pause, quit and every acting key visible
        footer = self.query_one(Footer)
        footer.compact = self.size.width < 100
        footer.show_command_palette = self.size.width >= 90

    def on_mount(self) -> None:
        self.show_flags()
        self.query_one(HedgeTable).focus()

    def ticks(self) -> dict[str, float]:
        """Each hedge's price tick (hedge id -> tick); prices without one go by magnitude."""
        return self.hedgetop.price_ticks()

    def selected_row(self) -> Row | None:
        return self.query_one(HedgeTable).selected

    def show_flags(self) -> None:
        """Header only: for pause/resume and before the first snapshot."""
        app = self.hedgetop
        self.query_one("#header", TextPane).set_text(
            header_markup(
                self.snapshot,
                paused=app.paused,
                read_only=app.read_only,
                source=app.source_label,
                live=app.live_trading,
                simulated=app.sim_orders,
            )
            + _gate_line(app)
        )

    def show(self, snap: PortfolioSnapshot) -> None:
        """Push one snapshot into every pane (one frame, one snapshot: the table and the
        detail pane never show different ticks); each repaints only what changed."""
        self.snapshot = snap
        self.show_flags()
        ticks = self.ticks()
        table = self.query_one(HedgeTable)
        table.update_rows(build_rows(snap, ticks))
        self.query_one("#feeds", TextPane).set_text(
            feed_markup(snap.feeds, snap.ts_ms, self.hedgetop.feed_label)
            + account_markup(self.hedgetop.account_health(snap.ts_ms))
            + recorder_markup(self.hedgetop.recorder_health())
        )
        self.show_alerts()
        self._show_detail(ticks)

    def show_alerts(self) -> None:
        """The active alerts, and the last real order's problem (partial, rejected, failed)."""
        snap = self.snapshot
        text = alerts_markup(snap.active_alerts if snap else (), snap, self.hedgetop.feed_label)
        note = self.hedgetop.order_note
        if note:
            text += "\n" + paint(note, "alert")
        self.query_one("#alerts", TextPane).set_text(text)

    def show_detail(self) -> None:
        """Redraw the detail pane now (e.g. after its view was toggled)."""
        if self.snapshot is not None:
            self._show_detail()

    def _show_detail(self, ticks: dict[str, float] | None = None) -> None:
        row = self.selected_row()
        app = self.hedgetop
        hedge_id = row.hedge_id if row else None
        basis = list(app.basis_history.get(hedge_id, ())) if hedge_id else []
        self.query_one(DetailPane).show(
            self.snapshot,
            hedge_id,
            row.holding if row else None,
            basis,
            self.ticks() if ticks is None else ticks,
        )

    def on_hedge_table_selected(self, _event: HedgeTable.Selected) -> None:
        self._show_detail()


def _gate_line(app: DashboardHost) -> str:
    """A closed live-trading gate, with its reason, on a line of the header (issue 8 item 2:
    e.g. orders to the real venue priced by a simulator's feed)."""
    refusal = app.trading_refusal
    if not refusal:
        return ""
    return "\n" + paint(f"LIVE TRADING OFF: {refusal}", "warn")
