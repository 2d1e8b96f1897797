"""The resize preview: what an order would do, and nothing happens without ``enter``."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.widgets import format as fmt


def _get(plan: Any, *names: str) -> Any:
    for name in names:
        value = getattr(plan, name, None)
        if value is not None:
            return value
    return None


def plan_refusal(plan: Any) -> str | None:
    reason = _get(plan, "refusal", "refused", "reason")
    return str(reason) if reason else None


def plan_lines(plan: Any) -> list[tuple[str, str]]:
    """(label, value) pairs of a ResizePlan, every value with its unit."""
    hedge = _get(plan, "hedge_after", "hedge")
    holding = _get(plan, "holding_after", "holding")
    code = getattr(hedge, "coin", None) or _get(plan, "coin") or "coin"
    side = _get(plan, "side")
    side_text = getattr(side, "value", side)
    contracts = _get(plan, "contracts")
    size_usd = _get(plan, "size_usd")
    order = f"{str(side_text).upper()} {contracts:,} contracts" if contracts is not None else "—"
    if size_usd is not None:
        order += f" ({fmt.usd(size_usd, 0)} face)"
    ratio = _get(plan, "ratio_after", "ratio_reached", "reached_ratio")
    net_coin = _get(plan, "net_delta_coin_after", "net_delta_coin")
    net_usd = _get(plan, "net_delta_usd_after", "net_delta_usd")
    liq = _get(plan, "liq_price_after", "new_liq_price", "liq_price")
    if liq is None and hedge is not None and getattr(hedge, "contracts", 0):
        liq_text = "none (cannot be liquidated)"
    elif liq is None:
        liq_text = "—"
    else:
        liq_text = fmt.usd(liq)
    contracts_after = getattr(hedge, "contracts", None)
    lines = [
        ("order", order),
        ("expected price", fmt.usd(_get(plan, "expected_price", "price"))),
        ("estimated fee", fmt.coin(_get(plan, "fee_coin", "fee"), code)),
        ("ratio reached", fmt.ratio_pct(ratio)),
        (
            "net delta after",
            f"{fmt.coin(net_coin, getattr(holding, 'coin', code), sign=True)}"
            + (f" = {fmt.usd(net_usd, sign=True)}" if net_usd is not None else ""),
        ),
        ("liquidation after", liq_text),
    ]
    if contracts_after is not None:
        lines.append(("position after", f"{contracts_after:,} contracts"))
    return lines


class PreviewScreen(ModalScreen[bool]):
    """Dismisses with True only on ``enter`` (and only for a plan that was not refused)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Confirm", id="preview_confirm"),
        Binding("escape", "cancel", "Cancel", id="preview_cancel"),
    ]
    DEFAULT_CSS = """
    PreviewScreen { align: center middle; }
    PreviewScreen > Vertical {
        width: 72; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    PreviewScreen #preview-keys { margin-top: 1; }
    """

    def __init__(self, plan: Any, *, title: str) -> None:
        super().__init__()
        self.plan = plan
        self.title_text = title
        self.refusal = plan_refusal(plan)

    def compose(self) -> ComposeResult:
        body = "\n".join(
            f"[$muted]{label:>18}[/]  {escape(value)}" for label, value in plan_lines(self.plan)
        )
        with Vertical():
            yield Static(f"[b]Resize preview[/b]  {escape(self.title_text)}\n", id="preview-title")
            yield Static(body, id="preview-body")
            if self.refusal or not _get(self.plan, "contracts"):
                reason = self.refusal or "nothing to do: already there (rounded to the lot)"
                yield Static(f"\n[$alert]refused: {escape(reason)}[/]", id="preview-refusal")
                yield Static("[b]esc[/b] close", id="preview-keys")
            else:
                yield Static("[b]enter[/b] send the order    [b]esc[/b] cancel", id="preview-keys")

    def action_confirm(self) -> None:
        if self.refusal or not _get(self.plan, "contracts"):
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
