"""What the screens and the command palette read of the app that hosts them, as a protocol:
they import this, never ``tui.app`` (which imports them), so that no import circle joins the
app and its screens. ``tui.app.HedgetopApp`` satisfies it (mypy checks the app's uses)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from textual.binding import BindingType

from core.events import FeedHealth

if TYPE_CHECKING:
    from core.session.accounts import AccountHealth
    from storage.recorder import RecorderHealth


class DashboardHost(Protocol):
    """The dashboard's mode and the side facts its panes show beside the snapshot."""

    BINDINGS: list[BindingType]
    paused: bool
    read_only: bool
    read_only_reason: str
    live_trading: bool
    trading_refusal: str | None  # ccxt asked for, a gate closed: why
    sim_orders: bool
    ACTING: frozenset[str]  # the ids of the keys that act (disabled when read-only)
    ratio_step: float
    source_label: str
    keymap_overrides: Mapping[str, str]
    order_note: str | None
    basis_history: Mapping[str, deque[float]]
    feed_label: Callable[[FeedHealth], str] | None

    def price_ticks(self) -> dict[str, float]: ...

    def recorder_health(self) -> RecorderHealth | None: ...

    def account_health(self, now_ms: int) -> tuple[AccountHealth, ...]: ...

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None: ...
