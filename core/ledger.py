"""The ledger: what happened to the hedges since the config was written (fills, funding).

The config gives the starting positions; the ledger replays everything since, so positions
survive restarts. The engine is handed a ``Ledger`` and never opens a file itself: the durable
implementation is ``storage.ledger.SqliteLedger``; ``MemoryLedger`` serves tests and the
throw-away demo session.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.events import Fill, FundingEvent, MarginTransfer


@runtime_checkable
class Ledger(Protocol):
    """Append-only record of fills and funding settlements.

    ``append_fill`` must be durable when it returns (the engine updates the position only
    after it returned): a crash right after an execution never loses the fill.
    """

    def load(self) -> list[Fill]:
        """Every fill recorded, oldest first."""
        ...

    def append_fill(self, fill: Fill) -> None: ...

    def append_funding(self, event: FundingEvent) -> None: ...

    def load_funding(self) -> list[FundingEvent]:
        """Every funding settlement recorded, oldest first."""
        ...

    def append_margin(self, transfer: MarginTransfer) -> None:
        """Durable when it returns, as ``append_fill``."""
        ...

    def load_margin(self) -> list[MarginTransfer]:
        """Every isolated-margin transfer recorded, oldest first."""
        ...


class MemoryLedger:
    """A ledger kept in lists: for tests and for sessions that need no memory."""

    def __init__(
        self, fills: list[Fill] | None = None, funding: list[FundingEvent] | None = None
    ) -> None:
        self.fills: list[Fill] = list(fills or [])
        self.funding: list[FundingEvent] = list(funding or [])
        self.margin: list[MarginTransfer] = []

    def load(self) -> list[Fill]:
        return list(self.fills)

    def append_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def append_funding(self, event: FundingEvent) -> None:
        self.funding.append(event)

    def load_funding(self) -> list[FundingEvent]:
        return list(self.funding)

    def append_margin(self, transfer: MarginTransfer) -> None:
        self.margin.append(transfer)

    def load_margin(self) -> list[MarginTransfer]:
        return list(self.margin)
