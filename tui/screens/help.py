"""The help screen (``?``): every key, as currently mapped, and what it does."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.host import DashboardHost

DESCRIPTIONS = {
    "cursor_up": "select the row above",
    "cursor_down": "select the row below",
    "ratio_up": "raise the selected hedge's ratio by one step (preview first)",
    "ratio_down": "lower the selected hedge's ratio by one step (preview first)",
    "typed_target": "type a target ratio (65) or contracts (12000ct), then the preview",
    "to_target": "bring the holding back to its target ratio (preview first)",
    "close_hedge": "close the selected hedge (preview first)",
    "margin": "move isolated margin in (0.1) or out (-0.05): liquidation before and after",
    "history": "history of the selected holding (or the portfolio)",
    "stress": "stress grid: the book at price moves, first liquidation, funding forecast",
    "detail_view": "detail pane: liquidation, or the linear twin, funding forecast, dated",
    "themes": "choose a colour theme (remembered)",
    "pause": "pause / resume screen updates",
    "help": "this help",
    "quit": "quit: stop the feeds, flush the recorder",
}


KEY_NAMES = {
    "question_mark": "?",
    "equals_sign": "=",
    "plus": "+",
    "minus": "-",
    "underscore": "_",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def help_lines(
    bindings: list[Binding],
    keymap: dict[str, str],
    read_only: bool,
    acting: frozenset[str] = frozenset(),
) -> list[str]:
    """``acting``: the ids of the keys that act (the app's ``ACTING``), marked disabled when
    read-only."""
    lines = []
    for b in bindings:
        if b.id is None or b.id not in DESCRIPTIONS:
            continue
        keys = keymap.get(b.id, b.key)
        shown = escape(", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(",")))
        text = DESCRIPTIONS[b.id]
        if read_only and b.id in acting:
            text += " [$warning](disabled: read-only)[/]"
        lines.append(f"[b]{shown:>14}[/b]  {text}")
    lines.append(
        f"[b]{'ctrl+p':>14}[/b]  command palette: these commands, export, read-only, themes"
    )
    return lines


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help_close")
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 1 2;
    }
    """

    def compose(self) -> ComposeResult:
        from tui.widgets.table import HedgeTable

        app = cast("DashboardHost", self.app)
        bindings = [b for b in HedgeTable.BINDINGS if isinstance(b, Binding)]
        bindings += [b for b in app.BINDINGS if isinstance(b, Binding)]
        lines = help_lines(bindings, dict(app.keymap_overrides), app.read_only, app.ACTING)
        if app.read_only:
            mode = f"[$warning]read-only mode[/]: resizing disabled ({app.read_only_reason})"
        elif app.live_trading:
            mode = (
                "[b $warning]LIVE TRADING[/]: resizes send REAL orders. The preview says "
                "REAL ORDER; [b]Y[/b] (shift-y) sends it, [b]enter[/b] does not, "
                "[b]esc[/b] cancels."
            )
        else:
            mode = "Resizes open a preview: [b]enter[/b] confirms, [b]esc[/b] cancels."
        with Vertical():
            yield Static("[b]hedgetop keys[/b]\n")
            yield Static("\n".join(lines))
            yield Static(
                f"\n{mode}\n+/- step: {app.ratio_step * 100:g} percentage points of hedge ratio."
                '\nKeys can be remapped in the config (\\[keys] section: action = "key").'
            )
            yield Static("\n[$muted]esc closes[/]")
