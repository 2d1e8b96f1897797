"""The shape every simulated venue has, as the exchange drives it."""

from __future__ import annotations

from typing import Protocol

from core.sim.model import Settlement

Endpoint = tuple[str, str, str]  # (venue, what, url), e.g. ("bybit", "rest", "http://…")


class SimVenue(Protocol):
    name: str

    async def start(self, host: str, ports: tuple[int, ...]) -> list[Endpoint]:
        """Open this venue's servers (``ports``: one per server, 0 = ephemeral); return what
        they serve."""
        ...

    async def stop(self) -> None: ...

    def refresh(self) -> None:
        """Rebuild this tick's public payloads from the model."""
        ...

    def stepped(self) -> None:
        """The market moved one step: fill resting orders, check liquidations."""
        ...

    def settle(self, st: Settlement) -> None:
        """A funding settlement of one of this venue's perpetuals fell in the step."""
        ...

    def port_count(self) -> int: ...
