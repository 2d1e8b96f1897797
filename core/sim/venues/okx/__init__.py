"""OKX v5 as the simulator serves it: the public websocket (``/ws/v5/public``: ``tickers``,
``mark-price``, ``index-tickers``, ``funding-rate``) and the public instruments list over
REST on the same host. Public market data only: no account, no private channels."""

from core.sim.venues.okx.venue import OkxVenue

__all__ = ["OkxVenue"]
