"""What the dashboard needs of a session, as protocols: ``core.session.LiveSession`` satisfies
both (mypy checks it where ``tui.commands.dashboard`` hands it to the app), and the test fakes
implement them. The app asks these questions and nothing else: it never reaches into the
session's engine, config or accounts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from core.config import AlertConfig
from core.events import Fill, Kind, OrderRoute, Quote
from core.instruments import ContractSpec
from core.resize import MarginPlan, ResizePlan
from core.snapshot import PortfolioSnapshot

if TYPE_CHECKING:
    from core.events import MarginTransfer
    from core.session.accounts import AccountHealth
    from core.session.live import LiveOrder
    from storage.recorder import RecorderHealth


class SnapshotSource(Protocol):
    """The snapshots and the side facts the panes show beside them."""

    @property
    def latest(self) -> PortfolioSnapshot | None: ...

    #: True: ``on_snapshot`` is called once per new snapshot, the app's only way in; False:
    #: the app polls ``latest`` on a timer instead
    @property
    def announces(self) -> bool: ...

    @property
    def on_snapshot(self) -> list[Callable[[PortfolioSnapshot], object]]: ...

    #: lines the user should see once: a feed without a URL, a spec refresh that failed
    @property
    def feed_errors(self) -> Sequence[str]: ...

    #: one line per account read problem or difference from the exchange
    @property
    def account_notes(self) -> Sequence[str]: ...

    #: the thresholds of the alert rules (the start-up liquidation check, the roll date)
    @property
    def alert_rules(self) -> AlertConfig: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def account_health(self, now_ms: int) -> tuple[AccountHealth, ...]: ...

    def specs(self) -> Mapping[str, ContractSpec]:
        """Each hedge's contract spec in use (hedge id -> spec)."""
        ...

    def quotes_of_kind(self, kind: Kind) -> tuple[Quote, ...]: ...


class Trader(Protocol):
    """What resizing and moving margin need: plan at the session's clock, then carry out a
    confirmed plan where ``order_route`` says (``execute``/``move_margin`` on the paper broker,
    the ``*_live`` pair through ccxt); each raises for a refused or outdated plan."""

    #: ccxt asked for but a config gate is closed: why (the dashboard is then read-only)
    @property
    def trading_refusal(self) -> str | None: ...

    #: every gate open: confirmed resizes are real orders
    @property
    def live_trading(self) -> bool: ...

    #: some hedges' orders go through ccxt to the built-in simulator's accounts
    @property
    def simulator_orders(self) -> bool: ...

    def order_route(self, hedge_id: str) -> OrderRoute: ...

    def plan_resize(
        self,
        hedge_id: str,
        *,
        target_ratio: float | None = None,
        delta_contracts: int | None = None,
        close: bool = False,
    ) -> ResizePlan: ...

    def execute(self, plan: ResizePlan) -> Fill: ...

    async def execute_live(self, plan: ResizePlan, *, confirmed: bool) -> LiveOrder: ...

    def plan_margin(self, hedge_id: str, amount_coin: float) -> MarginPlan: ...

    def move_margin(self, plan: MarginPlan) -> MarginTransfer: ...

    async def move_margin_live(self, plan: MarginPlan, *, confirmed: bool) -> MarginTransfer: ...


class Recording(Protocol):
    """What the dashboard needs of the recorder (``storage.recorder.Recorder``)."""

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def health(self) -> RecorderHealth: ...
