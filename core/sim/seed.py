"""What a simulated account starts with: the simulator's own seed types.

The simulator takes its accounts in these plain dataclasses, never as hedgetop's config: the
conversion from a config or the demo portfolio lives with the command / session that starts the
simulator, so ``core.sim`` shares no code with the clients it serves.

Sizes are the venue's own order units: Bybit inverse contracts are 1 USD each; Binance COIN-M
contracts are ``face`` USD each (100 for BTC, 10 for the others).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class MarginMode(enum.Enum):
    ISOLATED = "isolated"
    CROSS = "cross"


class PositionSide(enum.Enum):
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class PositionSeed:
    """An open position: ``contracts`` in the venue's unit, at ``entry`` (USD per coin).
    ``margin_coin`` is the isolated margin (ignored for cross: the wallet backs it)."""

    coin: str
    side: PositionSide
    contracts: int
    entry: float
    leverage: float
    margin_mode: MarginMode = MarginMode.ISOLATED
    margin_coin: float = 0.0


@dataclass(frozen=True, slots=True)
class ListingSeed:
    """What the venue's instrument list says of one coin's inverse perpetual: ``status`` in
    the venue's own word (Bybit ``Trading``/``Closed``/…, Binance ``TRADING``/``SETTLING``/…;
    empty: its trading word) and ``delivery_ms``, the delisting time it publishes (0: none).
    The simulator only reports it; it does not close positions at that time."""

    status: str = ""
    delivery_ms: int = 0


@dataclass(frozen=True, slots=True)
class VenueSeed:
    """One venue's account: spot coins, futures wallet balance per coin (isolated margins
    included), open positions. ``unified`` (Bybit only) makes it a Unified Trading Account.
    ``listings`` (coin -> ``ListingSeed``): a status and delisting date the venue's instrument
    list reports for that coin (Bybit instruments-info, Binance exchangeInfo)."""

    spot: Mapping[str, float] = field(default_factory=dict)
    futures: Mapping[str, float] = field(default_factory=dict)
    positions: tuple[PositionSeed, ...] = ()
    unified: bool = False
    listings: Mapping[str, ListingSeed] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountSeed:
    """The API key and secret that authenticate the account on every venue, and what each
    venue's account holds (a venue missing from ``venues`` starts empty)."""

    api_key: str = "demo"
    api_secret: str = "demo-secret"
    venues: Mapping[str, VenueSeed] = field(default_factory=dict)

    def venue(self, name: str) -> VenueSeed:
        return self.venues.get(name, VenueSeed())
