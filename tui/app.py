"""HedgetopApp: the dashboard. A thin view over the engine's latest snapshot.

The app never reacts to a quote: the session announces each new snapshot (at most 20 a
second) and the app pushes it into the widgets inside one ``batch_update``; each widget
repaints only what changed. A source that does not announce is polled instead (a timer at
``refresh_hz``), never both. Nothing renders while paused or while another full screen (history)
hides the main one. Resizes go through a preview that only ``enter`` confirms.

Real orders: when the trader says ``live_trading`` (``core.session.LiveSession`` with every config
gate open) the header shows LIVE TRADING, the preview says "REAL ORDER on <venue>" and only
``Y`` confirms it; the order then runs in a worker on the app's loop
(``trader.execute_live``), one at a time, and its outcome is a notification (plus a line in the
alerts area when it filled partially, was rejected or failed). A trader announcing
``trading_refusal`` (ccxt asked for, a gate closed) makes the dashboard read-only, saying why.
"""

from __future__ import annotations

import gc
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from core.clock import wall_ms
from core.events import AlertState, FeedHealth, Kind, OrderRoute
from core.resize import MarginPlan, ResizePlan
from core.snapshot import PortfolioSnapshot
from tui import themes as theme_files
from tui.palette import HedgetopCommands
from tui.screens.main import MainScreen
from tui.session_protocols import Recording, SnapshotSource, Trader
from tui.widgets import format as fmt

if TYPE_CHECKING:
    from core.session.accounts import AccountHealth
    from storage.recorder import RecorderHealth

log = logging.getLogger(__name__)


#: the preview's line saying where a confirmed order goes, for the routes other than the obvious
#: (paper: the engine; a real venue: the preview's REAL ORDER banner)
_VIA = {
    OrderRoute.SIMULATOR: "sent through ccxt to the built-in simulator's account (its demo keys)"
}


class HedgetopApp(App[int]):
    """The live dashboard."""

    TITLE = "hedgetop"
    CSS_PATH = "hedgetop.tcss"
    COMMANDS = App.COMMANDS | {HedgetopCommands}
    # Footer order: what must stay visible at 80 columns first (help, pause, quit).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="help"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("plus", "ratio_up", "Ratio+", id="ratio_up"),
        Binding("minus,underscore", "ratio_down", "Ratio−", id="ratio_down"),
        Binding("equals_sign", "typed_target", "Type ratio", id="typed_target", show=False),
        Binding("t", "to_target", "Target", id="to_target"),
        Binding("0", "close_hedge", "Close", id="close_hedge"),
        Binding("h", "history", "History", id="history"),
        Binding("m", "margin", "Margin", id="margin", show=False),
        # not in the footer (it is full at 80 columns): the help and the palette list them
        Binding("S", "stress", "Stress", id="stress", show=False),
        Binding("L", "detail_view", "Linear/forecast", id="detail_view", show=False),
        Binding("T", "themes", "Theme", id="themes", show=False),
        # read-only hides the acting keys from the footer (check_action); these unlisted
        # bindings catch the same keys then, to say why nothing happens
        Binding(
            "plus,minus,underscore,equals_sign,t,0,m",
            "refuse_read_only",
            show=False,
        ),
    ]
    ACTING = frozenset(
        {"ratio_up", "ratio_down", "typed_target", "to_target", "close_hedge", "margin"}
    )

    def __init__(
        self,
        source: SnapshotSource,
        *,
        trader: Trader | None = None,
        read_only: bool = False,
        ratio_step: float = 0.05,
        refresh_hz: float = 8.0,
        keymap: Mapping[str, str] | None = None,
        theme_name: str | None = None,
        theme_dirs: Sequence[Traversable] | None = None,
        state_path: Path | None = None,
        history_db: Path | None = None,
        recorder: Recording | None = None,
        source_label: str = "the built-in simulator",
        feed_label: Callable[[FeedHealth], str] | None = None,
        no_trader_reason: str = "no broker in this session",
    ) -> None:
        super().__init__()
        self.source = source
        self.trader = trader
        refusal = None if trader is None else trader.trading_refusal
        #: no broker, or one that refuses: read-only for good (the palette cannot lift it)
        self.read_only_locked = trader is None or refusal is not None
        self.read_only = read_only or self.read_only_locked
        if trader is None:
            self.read_only_reason = no_trader_reason
        elif refusal is not None:
            self.read_only_reason = str(refusal)
        else:
            self.read_only_reason = "started with --read-only" if read_only else ""
        #: real orders: every config gate open and not read-only
        self.live_trading = trader is not None and trader.live_trading and not self.read_only
        #: some resizes go through ccxt to the built-in simulator's accounts (the demo)
        self.sim_orders = trader is not None and trader.simulator_orders
        #: why real orders are off though ccxt was asked for (the header says it)
        self.trading_refusal = refusal
        self.order_in_flight = False
        self._quit_warned = False
        self.order_note: str | None = None  # the last order problem, for the alerts area
        self.ratio_step = ratio_step
        self.refresh_hz = min(max(refresh_hz, 1.0), 20.0)
        self.keymap_overrides = dict(keymap or {})
        self.state_path = state_path
        self.history_db = history_db
        self.recorder = recorder
        self.source_label = source_label
        self.feed_label = feed_label
        self.paused = False
        self.frames = 0  # snapshots pushed to the widgets
        self.first_frame_ms: int | None = None  # wall ms of the first frame, every hedge priced
        self.basis_history: dict[str, deque[float]] = {}
        self._basis_ts: dict[str, int] = {}
        self._raised: set[str] = set()
        self._problems_seen: dict[str, int] = {}  # lines of each session list already shown
        self._liq_checked = False  # the start-up liquidation-band check ran
        self._rendered: PortfolioSnapshot | None = None
        self._listening: list[Any] | None = None
        self._frozen = False  # the start-up heap is out of the collector's full passes
        self._main = MainScreen()
        from tui.widgets.risk_pane import DayOpen

        self.day_open = DayOpen()  # the first mark of each hedge today: "today's PnL"
        dirs = (
            list(theme_dirs)
            if theme_dirs is not None
            else [
                theme_files.builtin_theme_dir(),
                theme_files.user_theme_dir(),
            ]
        )
        loaded = theme_files.load_themes(dirs)
        self.theme_errors = loaded.errors
        self.theme_names = tuple(loaded.themes)
        for theme in loaded.themes.values():
            self.register_theme(theme)
        # a remembered or configured name may be a house theme or one of Textual's own
        known = self.available_themes
        remembered = theme_files.load_theme_choice(state_path) if state_path else None
        for candidate in (remembered, theme_name, theme_files.DEFAULT_THEME):
            if candidate and candidate in known:
                self.theme = candidate
                break
        self.bad_theme_name = theme_name if theme_name and theme_name not in known else None
        self._saved_theme = self.theme

    # --- lifecycle ---------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # Textual's own themes (command palette) lack our variables: fall back to the house's.
        return dict(theme_files.APP_VARIABLES)

    def on_mount(self) -> None:
        # Any theme change (the house picker, or Textual's "Theme" command with its built-in
        # themes) is remembered; the picker's live preview is not a choice yet.
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.keymap_overrides:
            self.set_keymap(self.keymap_overrides)
        self.push_screen(self._main)
        for error in self.theme_errors:  # each bad file once; already logged by the loader
            self.notify(error, title="theme skipped", severity="warning", timeout=8)
        if self.bad_theme_name:
            self.notify(
                f"theme {self.bad_theme_name!r} from the config is unknown; using {self.theme}",
                severity="warning",
            )
        # One way in: a source that announces its snapshots (LiveSession: once per engine
        # tick) is drawn when it says so, and paces the screen; one that does not is polled.
        if self.source.announces:
            listeners = self.source.on_snapshot
            listeners.append(self._snapshot_ready)
            self._listening = listeners
        else:
            self.set_interval(1.0 / self.refresh_hz, self.tick, name="redraw")
        self.run_worker(self._start_source(), name="source", exit_on_error=False)

    async def _start_source(self) -> None:
        try:
            await self.source.start()
        except Exception as exc:  # a session that cannot start is shown, not a traceback
            log.exception("session start failed")
            self.notify(f"cannot start the session: {exc}", severity="error", timeout=30)

    async def action_quit(self) -> None:
        if self.order_in_flight and not self._quit_warned:
            self._quit_warned = True
            what = "a REAL order" if self.live_trading else "an order"
            self.notify(
                f"{what} is on its way: quitting now would not record its fill. "
                "Press q again to quit anyway",
                severity="warning",
                timeout=15,
            )
            return
        await self.shutdown()
        self.exit(0)

    def _snapshot_ready(self, _snap: PortfolioSnapshot) -> None:
        self.call_later(self.tick)

    def on_unmount(self) -> None:
        self._thaw_heap()  # (an app that exits without shutdown())

    def _thaw_heap(self) -> None:
        if self._frozen:
            self._frozen = False
            gc.unfreeze()

    async def shutdown(self) -> None:
        """Stop the session, then flush and close the recorder (idempotent)."""
        self._thaw_heap()
        if self._listening is not None:
            self._listening.remove(self._snapshot_ready)
            self._listening = None
        try:
            await self.source.stop()
        except Exception:
            log.exception("session stop failed")
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            try:
                recorder.flush()
                recorder.close()
            except Exception:
                log.exception("recorder close failed")

    def account_health(self, now_ms: int) -> tuple[AccountHealth, ...]:
        """The session's accounts kept live (``core.session.accounts``), if any."""
        return self.source.account_health(now_ms)

    def price_ticks(self) -> dict[str, float]:
        """Each hedge's price tick (hedge id -> tick) from the contract specs in use."""
        return {hid: spec.tick_size for hid, spec in self.source.specs().items()}

    def recorder_health(self) -> RecorderHealth | None:
        """The recorder's health (None: no recorder in this session)."""
        return None if self.recorder is None else self.recorder.health()

    # --- the redraw tick ---------------------------------------------------------------------

    @property
    def main_visible(self) -> bool:
        screen = self.screen
        return screen is self._main or (
            isinstance(screen, ModalScreen) and self.screen_stack[-2:-1] == [self._main]
        )

    def tick(self) -> None:
        """Called at ``refresh_hz``: push a new snapshot into the widgets, if any."""
        snap = self.source.latest
        if snap is None or snap is self._rendered or not self.is_running:
            return  # (not running: shutting down, the widgets are being removed)
        self._sample(snap)
        self._startup_liquidation(snap)
        self.day_open.observe(snap.ts_ms, snap.hedges)
        self._alerts(snap)
        self._session_problems()
        if self.paused or not self.main_visible:
            return
        # One frame, one snapshot: the table, the detail pane, the header and the status bar
        # all render from this object (each text pane repaints only what changed).
        with self.batch_update():
            self._main.show(snap)
        self._rendered = snap
        self.frames += 1
        if self.first_frame_ms is None and snap.hedges and all(h.mark for h in snap.hedges):
            self.first_frame_ms = wall_ms()  # the first frame in which every hedge is priced
            self._freeze_heap()

    def _freeze_heap(self) -> None:
        """Leave what start-up built (modules, widgets, config) out of the garbage collector's
        full passes: over that heap one pass took 60-190 ms, a frame that late every few
        seconds; afterwards it walks only what the session allocates. Undone at shutdown."""
        if not self._frozen:
            self._frozen = True
            gc.freeze()

    def _sample(self, snap: PortfolioSnapshot) -> None:
        """Keep one basis sample per hedge per snapshot second for the detail chart."""
        for h in snap.hedges:
            if h.basis_pct is None:
                continue
            last = self._basis_ts.get(h.hedge_id)
            if last is not None and snap.ts_ms - last < 1000:
                continue
            self._basis_ts[h.hedge_id] = snap.ts_ms
            self.basis_history.setdefault(h.hedge_id, deque(maxlen=120)).append(h.basis_pct)

    def _alerts(self, snap: PortfolioSnapshot) -> None:
        raised = {a.key for a in snap.active_alerts if a.state is AlertState.RAISED}
        new = raised - self._raised
        self._raised = raised
        if new:
            from tui.widgets.panes import alert_message

            self.bell()
            # One toast per tick, short-lived: a flapping feed must not stack toasts over the
            # table; the alerts line under it keeps the live wording.
            fresh = [a for a in snap.active_alerts if a.key in new]
            text = alert_message(fresh[0], snap, self.feed_label)
            if len(fresh) > 1:
                text += f" (+{len(fresh) - 1} more: see the alerts line)"
            self.notify(text, title="alert", severity="warning", timeout=6)

    def _startup_liquidation(self, snap: PortfolioSnapshot) -> None:
        """Once, at the first snapshot where every open hedge is priced: warn of a position
        already inside the liquidation alert band (the alert rule fires only on crossing)."""
        if self._liq_checked:
            return
        from tui.widgets.rows import liq_state

        states = {h.hedge_id: liq_state(h) for h in snap.hedges}
        if any(s == "unknown" for s in states.values()):
            return  # not yet: wait for every price
        self._liq_checked = True
        band = self.source.alert_rules.liq_distance_pct
        near = [
            h
            for h in snap.hedges
            if states[h.hedge_id] == "price"
            and h.liq_distance_pct is not None
            and abs(h.liq_distance_pct) < band
        ]
        for h in near:
            self.notify(
                f"{h.symbol} on {h.venue} is already {fmt.pct(h.liq_distance_pct, 1)} from "
                f"liquidation (alert band {band:g}%)",
                title="liquidation near at start-up",
                severity="error",
                timeout=20,
            )

    def _session_problems(self) -> None:
        """Show each new session problem once (a feed without a URL, a contract-spec refresh
        that failed) and each account line (a read that failed, a difference between the
        exchange and hedgetop's books): they never stop the session, but the user should know."""
        said = (
            ("feed_errors", "session", self.source.feed_errors),
            ("account_notes", "account", self.source.account_notes),
        )
        for attr, title, lines in said:
            seen = self._problems_seen.get(attr, 0)
            if len(lines) <= seen:
                continue
            for line in lines[seen:]:
                self.notify(str(line), title=title, severity="warning", timeout=15)
            self._problems_seen[attr] = len(lines)

    # --- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys about the live table mean nothing over the history screen: hide them there.
        if (
            action in self.ACTING | {"history", "export_history", "pause", "stress"}
            and not self.main_visible
        ):
            return False
        if action in self.ACTING and (self.read_only or self.trader is None):
            return False  # not offered in the footer; refuse_read_only answers the key
        if action == "refuse_read_only":
            return self.main_visible and (self.read_only or self.trader is None)
        return True

    def action_refuse_read_only(self) -> None:
        self.notify(
            f"read-only: resizing is disabled ({self.read_only_reason})", severity="warning"
        )

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._main.show_flags()
        if not self.paused:
            self.tick()

    def action_themes(self) -> None:
        from tui.screens.themes import ThemePicker

        def chosen(name: str | None) -> None:
            if name is None:
                return
            self.theme = name
            self._remember_theme(name)

        self.push_screen(ThemePicker(self.theme_names, self.theme), chosen)

    def _theme_changed(self, theme: Any) -> None:
        from tui.screens.themes import ThemePicker

        if not isinstance(self.screen, ThemePicker):  # a preview is not a choice
            self._remember_theme(theme.name)

    def _remember_theme(self, name: str) -> None:
        if self.state_path is None or name == self._saved_theme:
            return
        self._saved_theme = name
        error = theme_files.save_theme_choice(self.state_path, name)
        if error:
            self.notify(error, severity="warning")

    def action_toggle_read_only(self) -> None:
        """Read-only on, or off again where a broker allows it (never past a config gate)."""
        if not self.read_only:
            self.read_only = True
            self.read_only_reason = "turned on from the command palette"
            self.live_trading = False
        elif self.read_only_locked:
            self.notify(
                f"read-only cannot be lifted here: {self.read_only_reason}", severity="warning"
            )
            return
        else:
            self.read_only = False
            self.read_only_reason = ""
            self.live_trading = self.trader is not None and self.trader.live_trading
        self.notify("read-only: resizing is disabled" if self.read_only else "resizing allowed")
        if self._main.is_mounted:
            self._main.show_flags()

    def action_history(self, export: bool = False) -> None:
        if self.history_db is None:
            self.notify("no history database: start with --db PATH (or set database in the config)")
            return
        from tui.screens.history import HistoryScreen

        row = self._main.selected_row()
        subject = None if row is None else row.holding.split(":", 1)[0]
        self.push_screen(HistoryScreen(self.history_db, subject=subject, export_now=export))

    def action_detail_view(self) -> None:
        """The detail pane's liquidation section, or the linear twin, the funding forecast
        and a dated future (``tui.widgets.risk_pane``)."""
        from tui.widgets.panes import DetailPane
        from tui.widgets.risk_pane import dated_for, risk_markup

        pane = self._main.query_one(DetailPane)
        if pane.alt is not None:
            pane.alt = None
        else:

            def alt(h: Any) -> str:
                snap = self.source.latest
                dated = None
                if h is not None and snap is not None:
                    dated = dated_for(
                        h,
                        self.source.quotes_of_kind(Kind.INVERSE_FUTURE),
                        snap.ts_ms,
                        roll_days=self.source.alert_rules.roll_days,
                    )
                day = self.day_open.of(h.hedge_id) if h is not None else None
                return risk_markup(h, day_open=day, dated=dated)

            pane.alt = alt
        self._main.show_detail()

    def action_stress(self) -> None:
        """The stress grid and funding forecast of the live book (``tui.screens.stress``)."""
        from tui.screens.stress import StressScreen

        self.push_screen(
            StressScreen(
                lambda: self.source.latest,
                specs=self.source.specs,
                history_db=self.history_db,
            )
        )

    def action_export_history(self) -> None:
        """The history of the selected holding, exported as soon as it is loaded."""
        self.action_history(export=True)

    def action_ratio_up(self) -> None:
        self._resize("up")

    def action_ratio_down(self) -> None:
        self._resize("down")

    def action_to_target(self) -> None:
        self._resize("target")

    def action_typed_target(self) -> None:
        """``=``: type a ratio or a contract count, then the usual preview."""
        from tui.screens.typed import Typed, TypedTarget

        if self.read_only or self.trader is None:
            self.action_refuse_read_only()
            return
        snap = self.source.latest
        row = self._main.selected_row()
        if snap is None or row is None or row.hedge_id is None:
            self.notify("select a hedge first", severity="warning")
            return
        holding = next((x for x in snap.holdings if f"{x.coin}:{x.label}" == row.holding), None)
        h = snap.hedge(row.hedge_id)
        ratio = holding.hedge_ratio if holding is not None else None
        current = f"{ratio * 100:.1f}%" if ratio is not None else "—"
        if h is not None:
            current += f", {h.contracts:,} contracts"

        def typed(got: Typed | None) -> None:
            if got is None:
                return
            if got.ratio is not None:
                self._resize("typed", typed_ratio=got.ratio)
            elif got.contracts is not None and h is not None:
                self._resize("contracts", delta_contracts=got.contracts - h.contracts)

        self.push_screen(TypedTarget(row.hedge_id, current), typed)

    def action_margin(self) -> None:
        """``m``: type the isolated margin to move, then a preview of the liquidation price
        before and after, confirmed like a resize (``Y`` on a real venue)."""
        from tui.screens.margin import TypedMargin
        from tui.screens.preview import PreviewScreen

        if self.read_only or self.trader is None:
            self.action_refuse_read_only()
            return
        trader = self.trader
        if self.order_in_flight:
            self.notify("an order is on its way to the exchange: wait for its answer")
            return
        snap = self.source.latest
        row = self._main.selected_row()
        h = snap.hedge(row.hedge_id) if snap is not None and row and row.hedge_id else None
        if h is None:
            self.notify("select a hedge first", severity="warning")
            return
        tick = self._main.ticks().get(h.hedge_id)
        current = f"{fmt.coin(h.margin_coin, h.coin)} {h.margin_mode}"

        def typed(amount: float | None) -> None:
            if amount is None:
                return
            plan = trader.plan_margin(h.hedge_id, amount)
            route = self._route(h.hedge_id)
            live = route is OrderRoute.VENUE
            via = _VIA.get(route)

            def confirmed(ok: bool | None) -> None:
                if not ok:
                    self.notify("margin transfer cancelled: nothing was sent")
                elif route is OrderRoute.PAPER:
                    self._move_margin(plan)
                else:
                    self.order_in_flight = True
                    self.run_worker(
                        self._move_margin_live(plan, real=live),
                        name="margin transfer",
                        group="orders",
                        exit_on_error=False,
                    )

            sign = "+" if amount > 0 else "−"
            title = f"{h.hedge_id}: margin {sign}{fmt.coin(abs(amount), h.coin)}"
            self.push_screen(
                PreviewScreen(plan, title=title, live=live, tick=tick, via=via), confirmed
            )

        self.push_screen(TypedMargin(h.hedge_id, h.coin, current), typed)

    def _move_margin(self, plan: MarginPlan) -> None:
        assert self.trader is not None  # (the preview was only offered with one)
        try:
            moved = self.trader.move_margin(plan)
        except Exception as exc:  # refused: reported, the dashboard goes on
            self.notify(f"margin transfer failed: {exc}", severity="error", timeout=15)
            return
        self.notify(
            self._moved_text(plan, moved.amount_coin, moved.margin_after_coin), title="margin"
        )

    async def _move_margin_live(self, plan: MarginPlan, *, real: bool) -> None:
        assert self.trader is not None
        try:
            try:
                moved = await self.trader.move_margin_live(plan, confirmed=True)
            except Exception as exc:  # one line (keys masked by the broker), never a crash
                log.warning("margin transfer failed: %s", exc)
                self._order_problem(f"margin transfer failed: {exc}")
                return
            self.notify(
                self._moved_text(plan, moved.amount_coin, moved.margin_after_coin),
                title="REAL margin" if real else "margin",
            )
        finally:
            self.order_in_flight = False

    @staticmethod
    def _moved_text(plan: MarginPlan, amount: float, after: float) -> str:
        verb = "added" if amount > 0 else "taken out"
        return (
            f"{fmt.coin(abs(amount), plan.coin)} {verb} on {plan.venue} {plan.symbol}: margin "
            f"now {fmt.coin(after, plan.coin)}, liquidation "
            f"{fmt.usd_price(plan.liq_price_after)}"
        )

    def action_close_hedge(self) -> None:
        self._resize("close")

    def _resize(
        self, kind: str, *, typed_ratio: float | None = None, delta_contracts: int = 0
    ) -> None:
        from tui.screens.preview import PreviewScreen

        if self.read_only or self.trader is None:
            self.notify(
                f"read-only: resizing is disabled ({self.read_only_reason})", severity="warning"
            )
            return
        if self.order_in_flight:
            self.notify("an order is on its way to the exchange: wait for its answer")
            return
        snap = self.source.latest
        row = self._main.selected_row()
        if snap is None or row is None or row.hedge_id is None:
            self.notify("select a hedge first", severity="warning")
            return
        holding = next((x for x in snap.holdings if f"{x.coin}:{x.label}" == row.holding), None)
        kwargs: dict[str, Any] = {}
        if kind == "close":
            kwargs["close"] = True
            what = "close the hedge"
        elif kind == "target":
            if holding is None or holding.target_ratio is None:
                self.notify("this holding has no target ratio", severity="warning")
                return
            kwargs["target_ratio"] = holding.target_ratio
            what = "back to target"
        elif kind == "typed" and typed_ratio is not None:
            kwargs["target_ratio"] = typed_ratio
            what = f"typed {typed_ratio * 100:g}%"
        elif kind == "contracts":
            kwargs["delta_contracts"] = delta_contracts
            what = f"{delta_contracts:+,} contracts"
        else:
            current = holding.hedge_ratio if holding is not None else None
            if current is None:
                self.notify("no hedge ratio yet (waiting for prices)", severity="warning")
                return
            step = self.ratio_step if kind == "up" else -self.ratio_step
            target = max(current + step, 0.0)
            kwargs["target_ratio"] = target
            what = f"ratio {'+' if step > 0 else '−'}{abs(step) * 100:g} pt"
        try:
            plan = self.trader.plan_resize(row.hedge_id, **kwargs)
        except ValueError as exc:
            self.notify(f"cannot plan: {exc}", severity="error")
            return
        if kind != "close" and plan.ratio_after is not None:
            # the title says what the plan reaches (after lot rounding), as its body does
            what += f": {fmt.ratio_pct(plan.ratio_before)} → {fmt.ratio_pct(plan.ratio_after)}"

        route = self._route(row.hedge_id)
        live = route is OrderRoute.VENUE

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.notify("resize cancelled: nothing was sent")
            elif route is OrderRoute.PAPER:
                self._execute(plan)
            else:
                self.order_in_flight = True
                self.run_worker(
                    self._execute_live(plan, real=live),
                    name="live order",
                    group="orders",
                    exit_on_error=False,
                )

        tick = self._main.ticks().get(row.hedge_id)
        via = _VIA.get(route)
        self.push_screen(
            PreviewScreen(plan, title=f"{row.hedge_id}: {what}", live=live, tick=tick, via=via),
            confirmed,
        )

    def _route(self, hedge_id: str) -> OrderRoute:
        """Where the trader sends this hedge's orders (no trader: nowhere but paper)."""
        return OrderRoute.PAPER if self.trader is None else self.trader.order_route(hedge_id)

    async def _execute_live(self, plan: ResizePlan, *, real: bool = True) -> None:
        """Send a confirmed order through ccxt (off the UI's way: awaited in a worker) and
        report; ``real``: to a real venue, else to the built-in simulator."""
        trader = self.trader
        assert trader is not None
        what = "REAL order" if real else "order to the simulator"
        try:
            self.notify(
                f"sending {what}: {plan.side.value if plan.side else '?'} "
                f"{plan.contracts:,} contracts {plan.symbol} on {plan.venue}…",
                severity="warning" if real else "information",
            )
            try:
                outcome = await trader.execute_live(plan, confirmed=True)
            except Exception as exc:  # one line (keys masked by the broker), never a crash
                log.warning("%s failed: %s", what, exc)
                self._order_problem(f"order failed: {exc}")
                return
            if outcome.problem:
                self._order_problem(outcome.message)
            else:
                self.notify(outcome.message, title="REAL fill" if real else "fill")
        finally:
            self.order_in_flight = False

    def _order_problem(self, message: str) -> None:
        self.order_note = message
        self.notify(message, title="order", severity="error", timeout=20)
        if self._main.is_mounted:
            self._main.show_alerts()

    def _execute(self, plan: ResizePlan) -> None:
        assert self.trader is not None
        try:
            fill = self.trader.execute(plan)
        except Exception as exc:  # a refused order is reported, the dashboard goes on
            log.exception("execute failed")
            self.notify(f"order failed: {exc}", severity="error", timeout=15)
            return
        self.notify(
            f"filled {fill.side.value} {fill.contracts:,} contracts {fill.symbol} @ "
            f"{fmt.usd_price(fill.price, self._main.ticks().get(fill.hedge_id))}; "
            f"now {fill.contracts_after:,} contracts",
            title="fill",
        )
