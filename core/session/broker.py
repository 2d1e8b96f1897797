"""Which broker a session acts through: the engine's paper broker, or real orders through
ccxt when ``[broker] kind = "ccxt"`` and every gate is open (``trading_enabled``, not on the
simulator, whose prices are not the venue's). A closed gate is a reason, never a crash."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from core.config import Config

if TYPE_CHECKING:
    from core.brokers.ccxt_live import CcxtLiveBroker, ExchangeFactory

log = logging.getLogger("hedgetop.live")


def choose_live_broker(
    config: Config,
    *,
    on_simulator: bool,
    environ: Mapping[str, str] | None,
    exchange_factory: ExchangeFactory | None,
) -> tuple[CcxtLiveBroker | None, str | None]:
    """``(live broker, None)`` when real orders may be sent, ``(None, why not)`` when the
    config asks for ccxt but a gate is closed, ``(None, None)`` for the paper broker."""
    if config.broker.kind != "ccxt":
        return None, None
    from core.brokers.ccxt_live import CcxtLiveBroker, TradingDisabled

    try:
        if on_simulator:
            raise TradingDisabled(
                "live trading is off while [simulator] enabled = true "
                "(its prices are not the venue's)"
            )
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
