"""Binance COIN-M (``dapi``, ``dstream``) and spot (``api``, ``stream``) as the simulator serves
them: market streams, REST and the COIN-M user data stream."""

from core.sim.venues.binance.venue import BinanceVenue

__all__ = ["BinanceVenue"]
