"""Where a URL leads: a real venue, its testnet, or a simulator (issue 8 item 2).

An order may only go to the venue whose prices priced its preview: the live-trading gate
(``core.session.broker``) compares the broker's endpoint on each venue it may trade on with
every feed URL of that venue (and the account's ``rest_url``, where the positions are read).
Both must lead to the same venue, both real, both testnet or both simulator.

A host is a venue's when it is one of the venue's domains (``stream.bybit.com``,
``dstream.binance.com``...); the testnets (``stream-testnet.bybit.com``,
``dstream.binancefuture.com``, ``wspap.okx.com``, ``test.deribit.com``) are told apart from
the real hosts. Every other host (127.0.0.1, localhost, a LAN box, a proxy) is taken for a
simulator: its prices are not known to be the venue's, so it never pairs with a real order.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from core.events import Venue


class EndpointKind(StrEnum):
    REAL = "real"
    TESTNET = "testnet"
    SIMULATOR = "simulator"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a URL leads to: ``venue`` None for a host that is no venue's (a simulator)."""

    venue: Venue | None
    kind: EndpointKind

    def describe(self) -> str:
        if self.venue is None:
            return "a simulator (not a venue's host)"
        if self.kind is EndpointKind.TESTNET:
            return f"the {self.venue.value} testnet"
        return f"the real {self.venue.value}"

    def matches(self, other: Endpoint) -> bool:
        return self.venue == other.venue and self.kind == other.kind


#: Each venue's domains (a host equal to one or under it is the venue's).
VENUE_DOMAINS: dict[Venue, tuple[str, ...]] = {
    Venue.BYBIT: ("bybit.com", "bytick.com", "bybit.nl", "bybit-tr.com", "bybitglobal.com"),
    Venue.BINANCE: ("binance.com", "binancefuture.com", "binance.vision"),
    Venue.OKX: ("okx.com",),
    Venue.DERIBIT: ("deribit.com",),
}


#: The testnets' public sockets, keyed like ``core.feeds.DEFAULT_URLS``: with ``[broker]
#: sandbox = true`` they replace the real venues' defaults, so that the orders (sent to the
#: testnet) are previewed from the testnet's prices.
TESTNET_URLS: dict[tuple[str, str], str] = {
    ("bybit", "inverse"): "wss://stream-testnet.bybit.com/v5/public/inverse",
    ("bybit", "spot"): "wss://stream-testnet.bybit.com/v5/public/spot",
    ("binance", "inverse"): "wss://dstream.binancefuture.com/stream",
    ("binance", "spot"): "wss://stream.testnet.binance.vision/stream",
    ("okx", "inverse"): "wss://wspap.okx.com:8443/ws/v5/public",
    ("okx", "spot"): "wss://wspap.okx.com:8443/ws/v5/public",
    ("deribit", "inverse"): "wss://test.deribit.com/ws/api/v2",
}


def _is_testnet(venue: Venue, host: str) -> bool:
    first = host.split(".", maxsplit=1)[0]
    if venue is Venue.BYBIT:
        return "testnet" in first or "demo" in first
    if venue is Venue.BINANCE:
        return (
            host.endswith(("binancefuture.com", "binance.vision"))
            or "testnet" in first
            or "demo" in first
        )
    if venue is Venue.OKX:
        return first.startswith("wspap")  # the demo-trading sockets
    return first == "test"  # Deribit: test.deribit.com


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def classify(url: str) -> Endpoint:
    """The endpoint ``url`` leads to (see the module docstring)."""
    host = _host(url)
    try:
        ipaddress.ip_address(host)
        return Endpoint(None, EndpointKind.SIMULATOR)  # no venue is reached by a bare address
    except ValueError:
        pass
    for venue, domains in VENUE_DOMAINS.items():
        if any(host == d or host.endswith("." + d) for d in domains):
            kind = EndpointKind.TESTNET if _is_testnet(venue, host) else EndpointKind.REAL
            return Endpoint(venue, kind)
    return Endpoint(None, EndpointKind.SIMULATOR)


def ccxt_endpoint(venue: Venue, *, sandbox: bool) -> Endpoint:
    """Where the ccxt broker sends ``venue``'s orders: its real API, or with ``sandbox`` its
    testnet (ccxt's ``set_sandbox_mode``; OKX's demo trading is the same host with a header)."""
    return Endpoint(venue, EndpointKind.TESTNET if sandbox else EndpointKind.REAL)


def mismatch(venue: Venue, broker: Endpoint, sources: dict[str, str]) -> str | None:
    """Why orders to ``broker`` on ``venue`` must not be priced by ``sources`` (a label ->
    URL of each price or position source of that venue), or None when every one leads to
    the same place as the broker. The URL is shown with its host only (no path, no query:
    a URL may carry a token)."""
    for label, url in sources.items():
        got = classify(url)
        if not got.matches(broker):
            host = _host(url) or "?"
            return (
                f"live trading is off: {venue.value} orders would go to {broker.describe()} "
                f"but its {label} ({host}) is {got.describe()}; the preview would be priced "
                "by other prices than the order's"
            )
    return None
