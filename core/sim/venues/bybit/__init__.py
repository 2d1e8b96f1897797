"""Bybit v5 as the simulator serves it: public tickers, REST (market and private) and the
private stream, one account per API key."""

from core.sim.venues.bybit.venue import BybitVenue

__all__ = ["BybitVenue"]
