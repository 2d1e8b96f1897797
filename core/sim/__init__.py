"""The built-in exchange simulator: a seeded market model served over loopback websockets in
the Bybit v5 and Binance COIN-M/spot wire formats, with fault injection."""

from core.sim.chaos import ChaosSpec, ChaosSpecError, parse_chaos
from core.sim.model import DEFAULT_COINS, MarketModel, ModelParams, Settlement, UnknownCoinError
from core.sim.server import SimExchange, SimStats

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
