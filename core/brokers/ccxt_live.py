"""Real orders through ccxt: a thin, gated broker. NOT imported with ccxt at start-up: ccxt is
imported (lazily, ``ccxt.async_support``) by the first order only.

Gates, all required: ``[broker] kind = "ccxt"`` and ``trading_enabled = true`` in the config,
``confirmed=True`` from the caller for every order (the user pressed the live key on the
preview), and API keys in environment variables ``HEDGETOP_<VENUE>_API_KEY`` /
``HEDGETOP_<VENUE>_API_SECRET`` (OKX also ``HEDGETOP_OKX_PASSPHRASE``). Keys are never logged,
stored or shown: ``repr`` hides them and every message built from an exchange error has them
masked. ``[broker] sandbox = true`` puts the exchange in ccxt's sandbox mode (testnets).

An order is a market order on the unified symbol of the coin-margined perpetual
(``BTC/USD:BTC``), ``reduceOnly`` when it shrinks the position, with a fresh clientOrderId
(Deribit: ``label``). Its
amount is the venue's own quantity (``core.instruments.venue_qty_from_size_usd``: USD on
Bybit/Deribit, contracts on Binance COIN-M/OKX), and the filled amount comes back through the
same conversion. ``place`` returns an ``OrderResult`` (filled, partial, rejected or unknown);
a failure to place it raises ``OrderFailed`` with one readable line.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.config import BrokerConfig
from core.instruments import (
    ContractSpec,
    contracts_from_size_usd,
    lookup,
    size_usd_from_venue_qty,
    venue_qty_from_size_usd,
)
from core.resize import ResizePlan

log = logging.getLogger("hedgetop.broker")

CCXT_IDS: dict[str, str] = {
    "bybit": "bybit",
    "binance": "binancecoinm",
    "okx": "okx",
    "deribit": "deribit",
}

#: (ccxt exchange id, ccxt config incl. credentials) -> an async ccxt exchange (or a fake)
ExchangeFactory = Callable[[str, dict[str, Any]], Any]


class TradingDisabled(RuntimeError):  # noqa: N818 (reads better at the call site)
    """A live order was asked for without every gate open; the message says which."""


class OrderFailed(RuntimeError):  # noqa: N818 (reads better at the call site)
    """The order could not be placed (network, authentication, margin...): one line, no keys."""


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What the venue answered. ``filled_contracts`` is what to record (0: nothing)."""

    venue: str
    symbol: str  # the unified ccxt symbol
    client_order_id: str
    order_id: str | None
    status: str  # "filled" | "partial" | "rejected" | "unknown"
    requested_contracts: int
    filled_contracts: int
    average_price: float | None  # USD per coin, None when the venue did not say
    fee_coin: float | None  # in the settlement coin, None when the venue did not say
    message: str  # one line for the user

    @property
    def complete(self) -> bool:
        return self.status == "filled"


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


def new_client_order_id(now_ms: int) -> str:
    """Letters and digits only, 27 characters: valid on Bybit, Binance, OKX and Deribit."""
    return f"ht{now_ms:013d}{secrets.token_hex(6)}"[-27:]


def mask(text: str, secrets_: Iterable[str]) -> str:
    """``text`` on one line, at most 240 characters, every secret replaced by ``***``."""
    for s in secrets_:
        if s:
            text = text.replace(s, "***")
    line = " ".join(text.split())
    return line if len(line) <= 240 else line[:239] + "…"


def _default_factory(ccxt_id: str, params: dict[str, Any]) -> Any:
    import ccxt.async_support as ccxt_async  # lazy: slow import, first order only

    return getattr(ccxt_async, ccxt_id)(params)


def _error_kinds(exc: BaseException) -> set[str]:
    """Class names in ``exc``'s hierarchy (ccxt's errors are told apart by them, without
    importing ccxt here)."""
    return {c.__name__ for c in type(exc).__mro__}


class CcxtLiveBroker:
    """See the module docstring. ``environ`` (default ``os.environ``) holds the keys;
    ``exchange_factory`` builds the ccxt exchange (tests inject a fake)."""

    name = "ccxt"

    def __init__(
        self,
        config: BrokerConfig,
        *,
        confirmed: bool = True,
        environ: Mapping[str, str] | None = None,
        exchange_factory: ExchangeFactory | None = None,
    ) -> None:
        check_gates(config)
        if not confirmed:
            raise TradingDisabled("live orders need the user's confirmation")
        self.config = config
        self._environ = environ
        self._factory = exchange_factory or _default_factory

    def __repr__(self) -> str:
        return (
            f"CcxtLiveBroker(sandbox={self.config.sandbox}, "
            "<credentials from the environment, hidden>)"
        )

    @staticmethod
    def unified_symbol(coin: str) -> str:
        return f"{coin}/USD:{coin}"

    def check_credentials(self, venue: str) -> None:
        """TradingDisabled naming the missing variables when ``venue`` has no keys."""
        if venue not in CCXT_IDS:
            raise TradingDisabled(f"live orders are not supported on {venue}")
        credentials_from_env(venue, self._environ)

    async def place(
        self,
        plan: ResizePlan,
        *,
        confirmed: bool = False,
        spec: ContractSpec | None = None,
        now_ms: int = 0,
    ) -> OrderResult:
        """Send ``plan`` as a market order; what the venue answered.

        Raises TradingDisabled when a gate is closed (nothing sent) and OrderFailed when the
        venue could not be reached or refused the request (one line, keys masked)."""
        if not plan.ok or plan.side is None:
            raise TradingDisabled(plan.refusal or "nothing to execute")
        if not confirmed:
            raise TradingDisabled("live orders need the user's confirmation on the preview")
        self.check_credentials(plan.venue)
        creds = credentials_from_env(plan.venue, self._environ)
        spec = spec or lookup(plan.venue, plan.symbol)
        if spec.expiry_ms is not None:  # unified_symbol names the perpetual: never send there
            raise TradingDisabled(
                f"live orders on dated futures ({plan.venue} {plan.symbol}) are not supported:"
                " resize it on the venue"
            )
        symbol = self.unified_symbol(plan.coin)
        amount = venue_qty_from_size_usd(spec, plan.size_usd)
        reduce = plan.contracts_after < plan.contracts_before
        client_id = new_client_order_id(now_ms)
        # ccxt maps clientOrderId on Bybit, Binance and OKX; Deribit calls it a label
        params: dict[str, Any] = {
            "label" if plan.venue == "deribit" else "clientOrderId": client_id
        }
        if reduce:
            params["reduceOnly"] = True
        what = f"{plan.side.value} {amount:g} {symbol} on {plan.venue}"
        secret_values = list(creds.values())
        try:
            exchange = self._factory(
                CCXT_IDS[plan.venue], {**creds, "enableRateLimit": True, "timeout": 15_000}
            )
        except Exception as exc:
            raise OrderFailed(
                f"cannot set up {plan.venue}: {mask(f'{type(exc).__name__}: {exc}', secret_values)}"
            ) from None
        try:
            if self.config.sandbox:
                exchange.set_sandbox_mode(True)
            log.info("sending market order %s (clientOrderId %s)", what, client_id)
            try:
                order: dict[str, Any] = await exchange.create_order(
                    symbol, "market", plan.side.value, amount, None, params
                )
            except Exception as exc:
                raise OrderFailed(self._explain(exc, plan.venue, what, secret_values)) from None
            order = await self._settled(exchange, order, symbol, secret_values)
        finally:
            try:
                await exchange.close()
            except Exception as exc:  # closing must not hide the order's outcome
                log.warning("closing %s failed: %s", plan.venue, mask(str(exc), secret_values))
        result = self._result(plan, spec, symbol, client_id, order)
        log.info("order %s: %s", client_id, result.message)
        return result

    async def _settled(
        self, exchange: Any, order: dict[str, Any], symbol: str, secret_values: list[str]
    ) -> dict[str, Any]:
        """Market orders often come back before the venue says what filled: ask once more."""
        if order.get("filled") is not None and order.get("status") in {
            "closed",
            "canceled",
            "expired",
            "rejected",
        }:
            return order
        order_id = order.get("id")
        fetch = getattr(exchange, "fetch_order", None)
        if order_id is None or fetch is None:
            return order
        try:
            fetched: dict[str, Any] = await fetch(order_id, symbol)
        except Exception as exc:
            log.warning("fetching order %s failed: %s", order_id, mask(str(exc), secret_values))
            return order
        return {**order, **{k: v for k, v in fetched.items() if v is not None}}

    def _result(
        self,
        plan: ResizePlan,
        spec: ContractSpec,
        symbol: str,
        client_id: str,
        order: Mapping[str, Any],
    ) -> OrderResult:
        status = str(order.get("status") or "")
        filled_qty = _number(order.get("filled"))
        if filled_qty is None and status == "closed":
            filled_qty = _number(order.get("amount"))
        filled = 0
        if filled_qty is not None and filled_qty > 0:
            filled = contracts_from_size_usd(spec, size_usd_from_venue_qty(spec, filled_qty))
            filled = min(filled, plan.contracts)
        average = _number(order.get("average")) or _number(order.get("price"))
        if average is not None and average <= 0:
            average = None
        fee = _fee_in(order, spec.coin)
        order_id = order.get("id")
        oid = str(order_id) if order_id is not None else None
        on = f"{plan.venue} {plan.symbol}"
        if filled_qty is None:
            kind = "unknown"
            message = (
                f"order {oid or client_id} on {on} was sent but the venue did not say what "
                "filled: check the venue; nothing recorded"
            )
        elif filled == 0:
            kind = "rejected"
            message = (
                f"order rejected on {on} (status {status or 'unknown'}): nothing filled, "
                "nothing recorded"
            )
        elif filled < plan.contracts:
            kind = "partial"
            message = (
                f"order partially filled on {on}: {filled:,} of {plan.contracts:,} contracts; "
                "only the filled part is recorded"
            )
        else:
            kind = "filled"
            message = f"order filled on {on}: {filled:,} contracts"
        return OrderResult(
            venue=plan.venue,
            symbol=symbol,
            client_order_id=client_id,
            order_id=oid,
            status=kind,
            requested_contracts=plan.contracts,
            filled_contracts=filled,
            average_price=average,
            fee_coin=fee,
            message=message,
        )

    @staticmethod
    def _explain(exc: BaseException, venue: str, what: str, secret_values: list[str]) -> str:
        kinds = _error_kinds(exc)
        detail = mask(str(exc), secret_values)
        v = venue.upper()
        if kinds & {"AuthenticationError", "PermissionDenied", "AccountSuspended"}:
            return (
                f"{venue} refused the API key ({type(exc).__name__}): check "
                f"HEDGETOP_{v}_API_KEY / HEDGETOP_{v}_API_SECRET; nothing sent"
            )
        if "InsufficientFunds" in kinds:
            return f"insufficient margin on {venue} for {what}: {detail}"
        if kinds & {"RequestTimeout"}:
            return (
                f"{venue} did not answer in time for {what}: the order MAY have been placed, "
                "check the venue before retrying"
            )
        if "NetworkError" in kinds:
            return f"network error reaching {venue} ({type(exc).__name__}): {detail}"
        if "InvalidOrder" in kinds:
            return f"{venue} rejected {what}: {detail}"
        if "ExchangeError" in kinds:
            return f"{venue} error on {what}: {detail}"
        return f"order failed on {venue} ({type(exc).__name__}): {detail}"


def check_gates(config: BrokerConfig) -> None:
    """TradingDisabled saying which config gate is closed, if any."""
    if config.kind != "ccxt":
        raise TradingDisabled('live trading needs [broker] kind = "ccxt" in the config')
    if not config.trading_enabled:
        raise TradingDisabled("live trading needs [broker] trading_enabled = true in the config")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fee_in(order: Mapping[str, Any], coin: str) -> float | None:
    """The fee paid in ``coin`` (ccxt's ``fees`` list, else ``fee``); None if not given."""
    fees = order.get("fees") or ([order["fee"]] if order.get("fee") else [])
    total: float | None = None
    for f in fees:
        if not isinstance(f, Mapping):
            continue
        cost = _number(f.get("cost"))
        if cost is not None and str(f.get("currency") or "").upper() == coin.upper():
            total = (total or 0.0) + cost
    return total
