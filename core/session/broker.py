"""Which broker a session acts through: the engine's paper broker, or real orders through
ccxt when ``[broker] kind = "ccxt"`` and every gate is open (``trading_enabled``, not on the
simulator, whose prices are not the venue's, and every feed of a traded venue leading to the
venue the orders go to: ``core.session.endpoints``). A closed gate is a reason, never a
crash."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from core.config import Config

if TYPE_CHECKING:
    from core.brokers.ccxt_live import CcxtLiveBroker, ExchangeFactory

log = logging.getLogger("hedgetop.live")


def endpoint_mismatch(config: Config, feed_urls: Mapping[tuple[str, str], str]) -> str | None:
    """Why the ccxt broker's orders would not go where the session's prices come from, or
    None. For every venue a hedge trades on: the broker's endpoint there (the real API, or
    the testnet with ``[broker] sandbox``) against each of that venue's feed URLs and its
    accounts' ``rest_url`` / ``private_ws_url`` and ``sandbox`` (issue 8 item 2)."""
    from core.events import Venue
    from core.session.endpoints import ccxt_endpoint, mismatch

    sandbox = config.broker.sandbox
    for name in dict.fromkeys(h.venue for h in config.hedges):
        venue = Venue(name)
        broker = ccxt_endpoint(venue, sandbox=sandbox)
        sources = {f"{sock} feed": url for (v, sock), url in feed_urls.items() if v == name}
        for a in config.accounts:
            if a.venue is not venue:
                continue
            if a.sandbox != sandbox:
                return (
                    f"live trading is off: account {a.name} reads the {name} "
                    f"{'testnet' if a.sandbox else 'real venue'} but [broker] sandbox = "
                    f"{'true' if sandbox else 'false'} sends orders to the "
                    f"{'testnet' if sandbox else 'real venue'}"
                )
            for what, url in (("rest_url", a.rest_url), ("private_ws_url", a.private_ws_url)):
                if url:
                    sources[f"account {a.name} {what}"] = url
        why = mismatch(venue, broker, sources)
        if why is not None:
            return why
    return None


def choose_live_broker(
    config: Config,
    *,
    on_simulator: bool,
    environ: Mapping[str, str] | None,
    exchange_factory: ExchangeFactory | None,
    feed_urls: Mapping[tuple[str, str], str] | None = None,
) -> tuple[CcxtLiveBroker | None, str | None]:
    """``(live broker, None)`` when real orders may be sent, ``(None, why not)`` when the
    config asks for ccxt but a gate is closed, ``(None, None)`` for the paper broker.
    ``feed_urls`` ((venue, socket) -> URL, the session's) must lead where the orders go."""
    if config.broker.kind != "ccxt":
        return None, None
    from core.brokers.ccxt_live import CcxtLiveBroker, TradingDisabled

    try:
        if on_simulator:
            raise TradingDisabled(
                "live trading is off while [simulator] enabled = true "
                "(its prices are not the venue's)"
            )
        why = endpoint_mismatch(config, feed_urls or {})
        if why is not None:
            raise TradingDisabled(why)
        return CcxtLiveBroker(
            config.broker, environ=environ, exchange_factory=exchange_factory
        ), None
    except TradingDisabled as exc:
        log.warning("%s", exc)
        return None, str(exc)


def tier_credentials(venue: str) -> Mapping[str, str] | None:
    """The venue's API keys from the environment (Binance's tiers are a signed call), or
    None: without them the built-in tiers serve. Never logged."""
    from core.brokers.ccxt_live import TradingDisabled, credentials_from_env

    try:
        return credentials_from_env(venue)
    except TradingDisabled:
        return None
