"""The resize preview: what an order would do, and nothing happens without ``enter``.

When the session sends real orders (``live=True``) the preview says so in the warning colour
("REAL ORDER on <venue>") and ``enter`` does NOT send it: only the distinct key ``Y``
(shift-y) does; ``esc`` cancels either way."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from core.resize import MarginPlan, ResizePlan
from tui.screens.margin import margin_lines
from tui.widgets import format as fmt
from tui.widgets.rows import liq_state


def plan_lines(plan: ResizePlan, tick: float | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs of a plan, every value with its unit."""
    code = plan.coin
    holding = plan.holding_after
    held = holding.coin if holding is not None else code
    if plan.side is None or plan.contracts == 0:
        order = "no order"
    else:
        order = (
            f"{plan.side.value.upper()} {plan.contracts:,} contracts = "
            f"{fmt.usd(plan.size_usd, 0)} face, {plan.venue} {plan.symbol}"
        )
    hedge = plan.hedge_after
    state = liq_state(hedge) if hedge is not None else "unknown"
    if not plan.ok:
        liq = "— (no order)"  # unknown is never shown as safe
    elif not plan.contracts_after:
        liq = "— (flat)"
    elif state == "unknown" or hedge is None:
        liq = "— (no price or margin model: unknown)"
    elif state == "never":
        liq = "none (cannot be liquidated)"
    elif state == "far":
        liq = "none in range (beyond 10× the mark)"
    else:
        dist = hedge.liq_distance_pct
        liq = f"{fmt.usd_price(plan.liq_price_after, tick)} ({fmt.pct(dist, 1)} from mark)"
    # the plan carries the holding's target even when refused (no holding_after then)
    known = plan.target_ratio if plan.target_ratio is not None else None
    if known is None and holding is not None:
        known = holding.target_ratio
    target = fmt.ratio_pct(known)
    net = fmt.coin(plan.net_delta_after_coin, held, sign=True)
    if plan.net_delta_after_usd is not None:
        net += f" = {fmt.usd(plan.net_delta_after_usd, sign=True)}"
    lines = [
        ("order", order),
        ("expected price", fmt.usd_price(plan.expected_price, tick)),
        ("estimated fee", fmt.coin(plan.fee_coin, code)),
        (
            "ratio reached",
            f"{fmt.ratio_pct(plan.ratio_before)} → {fmt.ratio_pct(plan.ratio_after)}",
        ),
        ("holding target", target),
        ("net delta after", net),
        ("liquidation after", liq),
        ("position", f"{plan.contracts_before:,} → {plan.contracts_after:,} contracts"),
    ]
    if plan.hedge_after is not None and code != held:
        # one proxy convention (core.sizing): the short offsets the holding by beta, its
        # margin (fee and PnL included) is the contract coin's exposure
        lines.append(("proxy margin", f"counted in the {code} holding, not {held}"))
    return lines


#: The key that sends a REAL order (deliberately not ``enter``).
LIVE_KEY = "Y"


class PreviewScreen(ModalScreen[bool]):
    """Dismisses with True only on ``enter`` for a paper plan, only on ``Y`` for a live one
    (and only for a plan that was not refused)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Confirm", id="preview_confirm"),
        Binding(LIVE_KEY, "confirm_live", "Send REAL order", id="preview_confirm_live"),
        Binding("escape", "cancel", "Cancel", id="preview_cancel"),
    ]
    DEFAULT_CSS = """
    PreviewScreen { align: center middle; }
    PreviewScreen > Vertical {
        width: 84; max-width: 100%; height: auto;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    PreviewScreen #preview-keys { margin-top: 1; }
    """

    def __init__(
        self,
        plan: ResizePlan | MarginPlan,
        *,
        title: str,
        live: bool = False,
        tick: float | None = None,
        via: str | None = None,
    ) -> None:
        super().__init__()
        self.via = via  # where a non-live order goes, when not the paper broker
        self.tick = tick
        self.plan = plan
        self.title_text = title
        self.live = live

    def compose(self) -> ComposeResult:
        body = "\n".join(
            f"[$muted]{label:>18}[/]  {escape(value)}"
            for label, value in (
                plan_lines(self.plan, self.tick)
                if isinstance(self.plan, ResizePlan)
                else margin_lines(self.plan, self.tick)
            )
        )
        with Vertical():
            if self.live:
                yield Static(
                    f"[b $warning]REAL ORDER on {escape(self.plan.venue)}[/]  "
                    "[$warning]sent to the exchange with your API keys[/]",
                    id="preview-live",
                )
            kind = "Resize" if isinstance(self.plan, ResizePlan) else "Margin"
            yield Static(f"[b]{kind} preview[/b]  {escape(self.title_text)}\n", id="preview-title")
            yield Static(body, id="preview-body")
            if self.via is not None and self.plan.ok:
                yield Static(f"\n[$muted]{escape(self.via)}[/]", id="preview-via")
            if not self.plan.ok:
                reason = self.plan.refusal or "nothing to do: already there (rounded to the lot)"
                if isinstance(self.plan, MarginPlan):
                    reason = self.plan.refusal or "nothing to move"
                yield Static(f"\n[$alert]refused: {escape(reason)}[/]", id="preview-refusal")
                yield Static("[b]esc[/b] close", id="preview-keys")
            elif self.live:
                yield Static(
                    f"[b $warning]{LIVE_KEY}[/] (shift-{LIVE_KEY.lower()}) send the REAL order    "
                    "[b]esc[/b] cancel    [$muted](enter does not send it)[/]",
                    id="preview-keys",
                )
            else:
                yield Static("[b]enter[/b] send the order    [b]esc[/b] cancel", id="preview-keys")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the live key exists only on a live preview (enter there only explains itself)
        if action == "confirm_live":
            return self.live
        return True

    def action_confirm(self) -> None:
        if not self.plan.ok:
            return
        if self.live:
            self.notify(
                f"enter does not send a REAL order: press {LIVE_KEY} (shift-{LIVE_KEY.lower()}) "
                "to send it, esc to cancel",
                severity="warning",
            )
            return
        self.dismiss(True)

    def action_confirm_live(self) -> None:
        if not self.live or not self.plan.ok:
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
