"""Deribit as the simulator serves it: JSON-RPC 2.0 over the websocket ``/ws/api/v2``
(``public/subscribe`` to tickers, heartbeats, ``public/get_instruments``, …) and the same
public methods over HTTP at ``/api/v2/public/<method>``. Public market data only."""

from core.sim.venues.deribit.venue import DeribitVenue

__all__ = ["DeribitVenue"]
