"""Which broker a session acts through: the engine's paper broker, or real orders through
ccxt when ``[broker] kind = "ccxt"`` and every gate is open (``trading_enabled``, not on the
simulator, whose prices are not the venue's, and every feed of a traded venue leading to the
venue the orders go to: ``core.session.endpoints``). A closed gate is a reason, never a
crash."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.config import AccountConfig, Config

if TYPE_CHECKING:
    from core.brokers.ccxt_live import CcxtLiveBroker, ExchangeFactory
    from core.sim import SimExchange

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


def simulator_routed(config: Config) -> dict[str, AccountConfig]:
    """The hedges whose resizes go through ccxt to the built-in simulator's accounts: each
    names a ``trading = true`` account on its own venue, one the simulator keeps (Bybit,
    Binance). Hedge id -> that account."""
    from core.session.sim_accounts import SIM_VENUES

    trading = {a.name: a for a in config.accounts if a.trading}
    out: dict[str, AccountConfig] = {}
    for h in config.hedges:
        account = trading.get(h.account or "")
        if account is not None and account.venue.value == h.venue and h.venue in SIM_VENUES:
            out[h.id] = account
    return out


def simulator_broker(
    config: Config, sim: SimExchange, exchange_factory: ExchangeFactory | None = None
) -> tuple[CcxtLiveBroker | None, frozenset[str]]:
    """On the built-in simulator, the ccxt broker that sends the resizes of hedges naming a
    ``trading = true`` account the simulator keeps (Bybit, Binance) to that account, with the
    simulator's keys and through the unchanged ccxt, as a real venue's orders go (issue 12
    §4: the code a real user runs is the code the demo runs); and the ids of those hedges.
    ``(None, ∅)`` when no hedge qualifies (their resizes stay on the paper broker).

    The config's live-trading gates are about real venues and are not asked here: prices and
    orders both come from the simulator, so an order goes to the venue that priced it. The
    simulator's hosts are looked up when the first client is built (its ports exist once it
    runs)."""
    import dataclasses

    from core.accounts.reader import client_params, default_factory
    from core.brokers.ccxt_live import CCXT_IDS, CcxtLiveBroker
    from core.session.sim_accounts import simulator_target

    routed = simulator_routed(config)
    accounts: dict[str, AccountConfig] = {}  # ccxt id -> the account its orders go to
    keys = sim.seed_accounts
    environ: dict[str, str] = {}
    for account in routed.values():
        accounts.setdefault(CCXT_IDS[account.venue.value], account)
        v = account.venue.value.upper()
        environ[f"HEDGETOP_{v}_API_KEY"] = keys.api_key
        environ[f"HEDGETOP_{v}_API_SECRET"] = keys.api_secret
    hedges = set(routed)
    if not hedges:
        return None, frozenset()
    build = exchange_factory or default_factory

    def factory(ccxt_id: str, params: dict[str, Any]) -> Any:
        found = simulator_target(sim, accounts[ccxt_id])
        if found is None:  # a venue the simulator keeps no accounts on (checked above)
            raise KeyError(ccxt_id)
        creds: dict[str, str] = {
            k: str(params[k]) for k in ("apiKey", "secret", "password") if k in params
        }
        ccxt_params = client_params(found[0], creds)
        ccxt_params["timeout"] = params.get("timeout", ccxt_params["timeout"])
        return build(ccxt_id, ccxt_params)

    broker_config = dataclasses.replace(
        config.broker, kind="ccxt", trading_enabled=True, sandbox=False
    )
    broker = CcxtLiveBroker(broker_config, environ=environ, exchange_factory=factory)
    return broker, frozenset(hedges)
