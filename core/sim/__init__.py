"""The built-in exchange simulator: a seeded market model served over loopback in the Bybit v5
and Binance COIN-M/spot wire formats (public streams, REST, private streams, accounts) and the
OKX v5 and Deribit JSON-RPC public formats (market data), with fault injection. Each venue
lives in ``core.sim.venues.<venue>``; nothing here imports the clients it serves
(``core.feeds``, ``core.brokers``) or the domain's math."""

from core.sim.chaos import ChaosSpec, ChaosSpecError, parse_chaos
from core.sim.exchange import SimExchange
from core.sim.hub import SimStats
from core.sim.model import DEFAULT_COINS, MarketModel, ModelParams, Settlement, UnknownCoinError

__all__ = [
    "DEFAULT_COINS",
    "ChaosSpec",
    "ChaosSpecError",
    "MarketModel",
    "ModelParams",
    "Settlement",
    "SimExchange",
    "SimStats",
    "UnknownCoinError",
    "parse_chaos",
]
