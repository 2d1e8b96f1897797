"""Real orders through ccxt: a thin, gated broker. NOT imported at start-up (ccxt is slow to
import) and NOT wired into the engine yet: the paper broker is the only executing path.

Gates, all required: ``[broker] kind = "ccxt"`` and ``trading_enabled = true`` in the config,
``confirmed=True`` from the caller (the user said yes on screen), and API keys in environment
variables ``HEDGETOP_<VENUE>_API_KEY`` / ``HEDGETOP_<VENUE>_API_SECRET`` (OKX also
``HEDGETOP_OKX_PASSPHRASE``). Keys are never logged, stored or shown; ``repr`` hides them.

ccxt's amount for contract markets is a number of contracts; the unified symbol of a
coin-margined perpetual is ``BTC/USD:BTC``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from core.config import BrokerConfig
from core.engine import ResizePlan

CCXT_IDS: dict[str, str] = {
    "bybit": "bybit",
    "binance": "binancecoinm",
    "okx": "okx",
    "deribit": "deribit",
}


class TradingDisabled(RuntimeError):  # noqa: N818 (reads better at the call site)
    """A live order was asked for without every gate open; the message says which."""


def credentials_from_env(venue: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ccxt credentials of ``venue`` from the environment; TradingDisabled if missing."""
    env = os.environ if environ is None else environ
    v = venue.upper()
    names = {"apiKey": f"HEDGETOP_{v}_API_KEY", "secret": f"HEDGETOP_{v}_API_SECRET"}
    if venue == "okx":
        names["password"] = "HEDGETOP_OKX_PASSPHRASE"
    missing = [n for n in names.values() if not env.get(n)]
    if missing:
        raise TradingDisabled(f"set {', '.join(missing)} in the environment to trade on {venue}")
    return {k: env[n] for k, n in names.items()}


class CcxtLiveBroker:
    name = "ccxt"

    def __init__(
        self,
        config: BrokerConfig,
        *,
        confirmed: bool,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if config.kind != "ccxt":
            raise TradingDisabled('live trading needs [broker] kind = "ccxt" in the config')
        if not config.trading_enabled:
            raise TradingDisabled("live trading needs [broker] trading_enabled = true")
        if not confirmed:
            raise TradingDisabled("live orders need the user's confirmation")
        self.config = config
        self._environ = environ

    def __repr__(self) -> str:
        return "CcxtLiveBroker(<credentials from the environment, hidden>)"

    @staticmethod
    def unified_symbol(coin: str) -> str:
        return f"{coin}/USD:{coin}"

    async def place(self, plan: ResizePlan) -> dict[str, Any]:
        """Send ``plan`` as a market order; returns ccxt's order structure."""
        if not plan.ok or plan.side is None:
            raise TradingDisabled(plan.refusal or "nothing to execute")
        creds = credentials_from_env(plan.venue, self._environ)
        import ccxt.async_support as ccxt_async  # lazy: slow import

        cls = getattr(ccxt_async, CCXT_IDS[plan.venue])
        exchange = cls({**creds, "enableRateLimit": True})
        reduce = plan.contracts_after < plan.contracts_before
        try:
            order: dict[str, Any] = await exchange.create_order(
                self.unified_symbol(plan.coin),
                "market",
                plan.side.value,
                plan.contracts,
                None,
                {"reduceOnly": True} if reduce else {},
            )
        finally:
            await exchange.close()
        return order
