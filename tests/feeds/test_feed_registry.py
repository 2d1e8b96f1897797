"""The venue registry: default URLs (the team contract), adapter construction, socket guess."""

from __future__ import annotations

import pytest

from core.feeds import DEFAULT_URLS, UnknownFeed, guess_socket, make_adapter


def test_default_urls_are_the_real_public_sockets() -> None:
    assert DEFAULT_URLS == {
        ("bybit", "inverse"): "wss://stream.bybit.com/v5/public/inverse",
        ("bybit", "spot"): "wss://stream.bybit.com/v5/public/spot",
        ("binance", "inverse"): "wss://dstream.binance.com/stream",
        ("binance", "spot"): "wss://stream.binance.com:9443/stream",
        ("okx", "inverse"): "wss://ws.okx.com:8443/ws/v5/public",
        ("okx", "spot"): "wss://ws.okx.com:8443/ws/v5/public",
        ("deribit", "inverse"): "wss://www.deribit.com/ws/api/v2",
    }


@pytest.mark.parametrize(("venue", "socket"), sorted(DEFAULT_URLS))
def test_every_default_socket_has_an_adapter(venue: str, socket: str) -> None:
    adapter = make_adapter(venue, socket)
    assert adapter.venue == venue
    assert adapter.socket == socket


@pytest.mark.parametrize(
    ("venue", "socket", "needle"),
    [("kraken", "inverse", "kraken"), ("bybit", "linear", "linear"), ("deribit", "spot", "spot")],
)
def test_unknown_feed_names_what_is_wrong(venue: str, socket: str, needle: str) -> None:
    with pytest.raises(UnknownFeed, match=needle):
        make_adapter(venue, socket)


@pytest.mark.parametrize(
    ("venue", "symbols", "url", "socket"),
    [
        ("bybit", ["BTCUSD"], None, "inverse"),
        ("bybit", ["BTCUSDT", "ETHUSDT"], None, "spot"),
        ("bybit", ["BTCUSDT", "BTCUSD"], None, "inverse"),
        ("bybit", ["BTCUSD"], "ws://127.0.0.1:1/v5/public/spot", "spot"),
        ("binance", ["BTCUSDT"], "ws://127.0.0.1:1/stream", "spot"),
        ("binance", ["BTCUSDT"], "wss://dstream.binance.com/stream", "inverse"),
        ("binance", ["BTCUSD_PERP"], "wss://stream.binance.com:9443/stream", "spot"),
        ("okx", ["BTC-USDT"], None, "inverse"),  # one socket carries both
        ("deribit", ["BTC_USDC"], None, "inverse"),
    ],
)
def test_guess_socket(venue: str, symbols: list[str], url: str | None, socket: str) -> None:
    assert guess_socket(venue, symbols, url) == socket
