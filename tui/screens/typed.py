"""The typed target (``=``): type a hedge ratio (``65`` or ``65%``) or a number of contracts
(``12000ct``); the same preview and confirmation as ``+``/``-`` follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

#: A typed ratio above this (in percent) is refused here: the config caps targets at 300 %.
MAX_TYPED_RATIO_PCT = 300.0


@dataclass(frozen=True, slots=True)
class Typed:
    """What was typed: a hedge ratio (0.65) or a contract count for the position."""

    ratio: float | None = None
    contracts: int | None = None


def parse_target(text: str) -> Typed | str:
    """``Typed`` for ``65``, ``65%``, ``65.5 %`` (percent of the exposure) or ``12000ct``
    (the position's contracts after the order); otherwise one line saying what is wanted."""
    t = text.strip().lower().replace(",", "").replace("_", "")
    if not t:
        return "type a hedge ratio in percent (65) or contracts (12000ct)"
    if t.endswith(("ct", "c")):
        digits = t.rstrip("ct").strip()
        if not digits.isdigit():
            return f"{text.strip()!r}: contracts are a whole number, e.g. 12000ct"
        return Typed(contracts=int(digits))
    t = t.rstrip("%").strip()
    try:
        value = float(t)
    except ValueError:
        return f"{text.strip()!r} is not a ratio: type a percentage (65) or contracts (12000ct)"
    if not 0.0 <= value <= MAX_TYPED_RATIO_PCT:  # (NaN fails the comparison too)
        return f"{value:g}% is outside 0-{MAX_TYPED_RATIO_PCT:g}%"
    return Typed(ratio=value / 100.0)


class TypedTarget(ModalScreen[Typed | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="typed_cancel")
    ]
    DEFAULT_CSS = """
    TypedTarget { align: center middle; }
    TypedTarget > Vertical {
        width: 60; max-width: 100%; height: auto;
        border: round $primary; background: $surface; padding: 0 1;
    }
    TypedTarget #typed-error { color: $warning; height: auto; }
    """

    def __init__(self, subject: str, current: str) -> None:
        super().__init__()
        self.subject = subject
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.subject}[/b]: target (now {self.current})")
            yield Input(placeholder="65 (%), or 12000ct", id="typed-input")
            yield Static("", id="typed-error")
            yield Static("[$muted]enter previews · esc cancels[/]")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        got = parse_target(event.value)
        if isinstance(got, str):
            self.query_one("#typed-error", Static).update(got)
            return
        self.dismiss(got)

    def action_cancel(self) -> None:
        self.dismiss(None)
