"""Live market data: one thin adapter per venue, one shared connection runner.

``make_adapter(venue, socket)`` builds the adapter for a venue's ``inverse`` (coin-margined
perpetuals) or ``spot`` socket; ``DEFAULT_URLS`` holds the real venues' public sockets, keyed
the same way; ``core.feeds.runner.FeedRunner`` connects one adapter to one URL.
"""

from __future__ import annotations

from core.feeds.base import Adapter, FeedParseError, Heartbeat
from core.feeds.binance import BinanceAdapter
from core.feeds.bybit import BybitAdapter
from core.feeds.deribit import DeribitAdapter
from core.feeds.okx import OkxAdapter

__all__ = [
    "DEFAULT_URLS",
    "VENUES",
    "Adapter",
    "FeedParseError",
    "Heartbeat",
    "UnknownFeed",
    "guess_socket",
    "make_adapter",
]

VENUES: tuple[str, ...] = ("bybit", "binance", "okx", "deribit")

DEFAULT_URLS: dict[tuple[str, str], str] = {
    ("bybit", "inverse"): "wss://stream.bybit.com/v5/public/inverse",
    ("bybit", "spot"): "wss://stream.bybit.com/v5/public/spot",
    ("binance", "inverse"): "wss://dstream.binance.com/stream",
    ("binance", "spot"): "wss://stream.binance.com:9443/stream",
    ("okx", "inverse"): "wss://ws.okx.com:8443/ws/v5/public",
    ("okx", "spot"): "wss://ws.okx.com:8443/ws/v5/public",
    ("deribit", "inverse"): "wss://www.deribit.com/ws/api/v2",
}

_ADAPTERS: dict[str, type[Adapter]] = {
    "bybit": BybitAdapter,
    "binance": BinanceAdapter,
    "okx": OkxAdapter,
    "deribit": DeribitAdapter,
}


class UnknownFeed(ValueError):  # noqa: N818 (reads better at the call site)
    """A venue or socket we have no adapter for; the message names it."""


def make_adapter(venue: str, socket: str = "inverse") -> Adapter:
    """A fresh adapter for ``venue`` (bybit, binance, okx, deribit) on ``socket``."""
    cls = _ADAPTERS.get(venue.strip().lower())
    if cls is None:
        raise UnknownFeed(f"unknown venue {venue!r} (known: {', '.join(VENUES)})")
    if socket not in ("inverse", "spot"):
        raise UnknownFeed(f"unknown socket {socket!r} (known: inverse, spot)")
    if (cls.venue, socket) not in DEFAULT_URLS:
        raise UnknownFeed(f"{cls.venue} has no {socket} feed here")
    return cls(socket)


def guess_socket(venue: str, symbols: list[str], url: str | None = None) -> str:
    """Which socket a list of venue-native symbols belongs to: ``spot`` when every symbol is
    a spot pair (``BTCUSDT``, ``BTC-USDT``, ``BTC_USDC``) or the URL says so, else ``inverse``."""
    v = venue.strip().lower()
    if v in ("okx", "deribit"):
        return "inverse"  # one socket carries everything we read there
    if url is not None:
        path = url.lower()
        if "/inverse" in path or "dstream." in path:
            return "inverse"
        if "/spot" in path or "stream.binance.com" in path:
            return "spot"
    spotty = [s.upper().endswith(("USDT", "USDC", "BUSD")) for s in symbols]
    return "spot" if symbols and all(spotty) else "inverse"
