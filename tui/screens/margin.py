"""Isolated margin from the keyboard (``m``): type the coins to move (``0.1`` adds, ``-0.05``
takes out), then a preview of the liquidation price before and after, confirmed like a resize.
It is how a hedger moves liquidation away without touching the hedge."""

from __future__ import annotations

import math
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from core.resize import MarginPlan
from tui.widgets import format as fmt


def parse_margin(text: str, coin: str) -> float | str:
    """The signed amount of ``coin`` typed (``0.1``, ``+0.1``, ``-0.05``, ``0.1 BTC``), or one
    line saying what is wanted."""
    t = text.strip().replace(",", "").replace("_", "")
    if t.upper().endswith(coin.upper()):
        t = t[: -len(coin)].strip()
    if not t:
        return f"type the {coin} to move: 0.1 adds, -0.05 takes out"
    try:
        value = float(t)
    except ValueError:
        return f"{text.strip()!r} is not an amount of {coin}: e.g. 0.1 or -0.05"
    if not math.isfinite(value) or value == 0:
        return f"{text.strip()!r}: type a non-zero amount of {coin}"
    return value


def margin_lines(plan: MarginPlan, tick: float | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs of a margin preview, every value with its unit; an unknown
    liquidation price is "—", never safe."""
    code = plan.coin

    def liq(price: float | None, dist: float | None) -> str:
        if price is None:
            return "none in range, or unknown (—)"
        return f"{fmt.usd_price(price, tick)} ({fmt.pct(dist, 1)} from mark)"

    verb = "add to" if plan.amount_coin > 0 else "take out of"
    move = (
        f"{verb} the position: {fmt.coin(abs(plan.amount_coin), code)}"
        if plan.ok
        else "no transfer"
    )
    return [
        ("transfer", f"{move}, {plan.venue} {plan.symbol}"),
        ("margin", f"{fmt.coin(plan.margin_before, code)} → {fmt.coin(plan.margin_after, code)}"),
        ("liquidation now", liq(plan.liq_price_before, plan.liq_distance_before_pct)),
        (
            "liquidation after",
            liq(plan.liq_price_after, plan.liq_distance_after_pct)
            if plan.ok
            else "— (no transfer)",
        ),
        (
            "hedge ratio",
            f"{fmt.ratio_pct(plan.ratio_before)} → {fmt.ratio_pct(plan.ratio_after)} "
            "(margin coins are exposure too)",
        ),
        ("position", f"{plan.contracts:,} contracts, unchanged"),
    ]


class TypedMargin(ModalScreen[float | None]):
    """Asks for the signed amount of the settlement coin to move."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="margin_cancel")
    ]
    DEFAULT_CSS = """
    TypedMargin { align: center middle; }
    TypedMargin > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: round $primary; background: $surface; padding: 0 1;
    }
    TypedMargin #margin-error { color: $warning; height: auto; }
    """

    def __init__(self, subject: str, coin: str, current: str) -> None:
        super().__init__()
        self.subject = subject
        self.coin = coin
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.subject}[/b]: isolated margin (now {self.current})")
            yield Input(placeholder=f"0.1 adds, -0.05 takes out ({self.coin})", id="margin-input")
            yield Static("", id="margin-error")
            yield Static("[$muted]enter previews · esc cancels[/]")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        got = parse_margin(event.value, self.coin)
        if isinstance(got, str):
            self.query_one("#margin-error", Static).update(got)
            return
        self.dismiss(got)

    def action_cancel(self) -> None:
        self.dismiss(None)
