"""One read of one exchange account through ``ccxt.async_support``: markets, coin-margined
positions, the futures and spot wallets, the funding booked over the last days and the own
executions, normalised by ``core.accounts.normalise``.

One client per venue host (Binance: COIN-M and spot are two), each closed after the read.
The keys come only from the environment variables the account names; a missing one is one line
naming the variable (never a value). An exchange that refuses the key, or cannot be reached,
is one line too; no secret is ever in an exception text (they are masked before the message
is built, whatever ccxt echoed).

What each venue is asked:

- Bybit: ``load_markets`` (spot + inverse), the unified-account probe, ``fetch_positions``
  (category inverse), ``fetch_balance`` (a classic account: CONTRACT, then ``{"type": "spot"}``;
  a UTA: one UNIFIED wallet), ``fetch_funding_history`` (execution list, execType Funding) and
  ``fetch_my_trades`` since the window's start: ccxt asks for ``execType=Trade`` only, so the
  venue's own executions (``BYBIT_SYSTEM_EXEC_TYPES``: liquidations, ADL, delisting settlement)
  are asked for too, each by its type, so that they arrive as fills saying what they were.
- Binance: COIN-M ``load_markets``, ``fetch_positions`` (positionRisk), ``fetch_balance``,
  ``fetch_funding_history`` (income FUNDING_FEE), ``fetch_my_trades`` per symbol held or
  asked for; the spot account's ``fetch_balance`` on its own host.
- OKX, Deribit: positions and balance the same way (their funding bills / settlement history
  are not read yet: a note says so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from core.accounts.model import (
    AccountPosition,
    AccountReadError,
    AccountState,
    ExchangeFill,
    FundingPayment,
    WalletBalance,
    WalletKind,
)
from core.accounts.normalise import (
    normalise_balance,
    normalise_funding,
    normalise_position,
    normalise_trade,
)
from core.config import AccountConfig
from core.events import Venue
from core.redact import Redactor

log = logging.getLogger("hedgetop.accounts")

#: (ccxt exchange id, ccxt config incl. credentials) -> an async ccxt exchange (or a fake)
ExchangeFactory = Callable[[str, dict[str, Any]], Any]

DAY_MS = 86_400_000
LOOKBACK_MS = 7 * DAY_MS
TIMEOUT_MS = 10_000
READ_RETRIES = 2
READ_RETRY_DELAY_MS = 250

CCXT_IDS: dict[Venue, str] = {
    Venue.BYBIT: "bybit",
    Venue.BINANCE: "binancecoinm",
    Venue.OKX: "okx",
    Venue.DERIBIT: "deribit",
}

_AUTH = {"AuthenticationError", "PermissionDenied", "AccountSuspended", "AccountNotEnabled"}
_NETWORK = {"NetworkError", "RequestTimeout", "ExchangeNotAvailable", "DDoSProtection"}


def default_factory(ccxt_id: str, params: dict[str, Any]) -> Any:
    import ccxt.async_support as ccxt_async  # lazy: a slow import, only when an account is read

    return getattr(ccxt_async, ccxt_id)(params)


def credentials(account: AccountConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """ccxt's credentials from the variables ``account`` names; AccountReadError naming the
    first missing variable (never a value)."""
    names = {"apiKey": account.api_key_env, "secret": account.api_secret_env}
    if account.passphrase_env:
        names["password"] = account.passphrase_env
    for what, var in names.items():
        if not environ.get(var, "").strip():
            label = {"apiKey": "API key", "secret": "API secret", "password": "passphrase"}[what]
            raise AccountReadError(
                f"account {account.name!r} ({account.venue.value}): set {var} in the "
                f"environment (its {label})",
                kind="missing_env",
            )
    return {k: environ[v].strip() for k, v in names.items()}


def _one_line(text: str, masker: Redactor, limit: int = 200) -> str:
    line = " ".join(masker.mask(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def explain(exc: BaseException, account: AccountConfig, masker: Redactor, what: str) -> str:
    """One line for a failed read, secrets masked."""
    kinds = {c.__name__ for c in type(exc).__mro__}
    who = f"account {account.name!r} ({account.venue.value})"
    detail = _one_line(str(exc), masker)
    if kinds & _AUTH:
        return (
            f"{who}: the exchange refused the key ({type(exc).__name__}: {detail}); "
            f"check {account.api_key_env} / {account.api_secret_env}"
        )
    if kinds & _NETWORK:
        where = account.rest_url or "the venue"
        return f"{who}: cannot reach {where} ({type(exc).__name__}) while {what}"
    return f"{who}: {what} failed ({type(exc).__name__}: {detail})"


def _kind(exc: BaseException) -> str:
    kinds = {c.__name__ for c in type(exc).__mro__}
    if kinds & _AUTH:
        return "auth"
    if kinds & _NETWORK:
        return "unreachable"
    return "exchange"


def _loopback(url: str | None) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "") if url else ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def client_params(account: AccountConfig, creds: Mapping[str, str]) -> dict[str, Any]:
    """The ccxt config of the account's derivatives client (URL overrides when given).

    ccxt's own throttle (``enableRateLimit``) stays on against a venue; on loopback (the
    simulator, which limits on its side as the venue does) it is off: it would add a second
    of waiting to each read for no protection."""
    params: dict[str, Any] = {
        **creds,
        "enableRateLimit": not _loopback(account.rest_url),
        "timeout": TIMEOUT_MS,
        "has": {"fetchCurrencies": False},
    }
    base = account.rest_url.rstrip("/") if account.rest_url else None
    if account.venue is Venue.BYBIT:
        params["options"] = {
            "fetchMarkets": {"types": ["spot", "inverse"]},
            "defaultType": "swap",
            "defaultSubType": "inverse",
            "defaultSettle": "BTC",
        }
        if base:
            groups = ("public", "private", "spot", "futures", "v2")
            params["urls"] = {"api": dict.fromkeys(groups, base)}
    elif account.venue is Venue.BINANCE:
        params["options"] = {"fetchMargins": False}
        if base:
            params["urls"] = {
                "api": {
                    "dapiPublic": base + "/dapi/v1",
                    "dapiPrivate": base + "/dapi/v1",
                    "dapiPrivateV2": base + "/dapi/v2",
                }
            }
    elif account.venue is Venue.OKX:
        params["options"] = {"defaultType": "swap"}
        if base:
            params["urls"] = {"api": {"rest": base}}
    elif base:
        params["urls"] = {"api": {"rest": base}}
    return params


def spot_params(account: AccountConfig, creds: Mapping[str, str]) -> dict[str, Any] | None:
    """Binance's spot client config; None when it cannot be placed (a dapi override without a
    spot one: the real spot host is not the account the user pointed at)."""
    params: dict[str, Any] = {
        **creds,
        "enableRateLimit": not _loopback(account.spot_rest_url),
        "timeout": TIMEOUT_MS,
        "has": {"fetchCurrencies": False},
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False},
    }
    if account.spot_rest_url:
        base = account.spot_rest_url.rstrip("/") + "/api/v3"
        params["urls"] = {"api": {"public": base, "private": base}}
    elif account.rest_url:
        return None
    return params


def prepare_client(client: Any, account: AccountConfig) -> None:
    """What a new ccxt client of ``account`` needs beyond its config: the testnet when asked
    (and no URL of its own), and on a moved Binance host the COIN-M error classes."""
    if account.sandbox and not account.rest_url:
        client.set_sandbox_mode(True)
    if account.venue is Venue.BINANCE and account.rest_url:
        # ccxt picks Binance's COIN-M error classes by the URL's host: merge them once
        exceptions = getattr(client, "exceptions", None)
        if isinstance(exceptions, dict) and "inverse" in exceptions:
            exceptions["exact"].update(exceptions["inverse"].get("exact", {}))


class _Read:
    """The state of one read: the clients opened, the masker, the notes."""

    def __init__(
        self,
        account: AccountConfig,
        factory: ExchangeFactory,
        creds: Mapping[str, str],
        since_ms: int,
    ) -> None:
        self.account = account
        self.factory = factory
        self.creds = creds
        self.since_ms = since_ms
        self.masker = Redactor(creds.values())
        self.clients: list[Any] = []
        self.notes: list[str] = []

    def open(self, ccxt_id: str, params: dict[str, Any]) -> Any:
        """A read's client: ccxt retries a request that failed on the network or the
        venue's side (``OperationFailed``: a 5xx, a timeout, a reset) ``READ_RETRIES`` times,
        ``READ_RETRY_DELAY_MS`` apart, so one lost answer does not fail the whole read of a
        dozen requests. Only reads: an order's client never retries by itself (the broker
        looks an order up by its id before anything is sent again)."""
        options = {
            **params.get("options", {}),
            "maxRetriesOnFailure": READ_RETRIES,
            "maxRetriesOnFailureDelay": READ_RETRY_DELAY_MS,
        }
        params = {**params, "options": options}
        try:
            client = self.factory(ccxt_id, params)
        except Exception as exc:
            raise AccountReadError(
                explain(exc, self.account, self.masker, "setting up ccxt"), kind="exchange"
            ) from None
        self.clients.append(client)
        prepare_client(client, self.account)
        return client

    async def call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except Exception as exc:
            raise AccountReadError(
                explain(exc, self.account, self.masker, what), kind=_kind(exc)
            ) from None

    async def optional(self, what: str, coro: Any) -> Any:
        """A read whose failure (other than the key or the network) is a note, not the end."""
        try:
            return await coro
        except Exception as exc:
            if _kind(exc) != "exchange":
                raise AccountReadError(
                    explain(exc, self.account, self.masker, what), kind=_kind(exc)
                ) from None
            self.notes.append(f"{what}: not read ({type(exc).__name__})")
            return None

    async def close(self) -> None:
        """Close every client at once: ccxt's close waits ~250 ms each, in turn that is a
        Binance read's half second."""
        results = await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        for exc in results:
            if isinstance(exc, Exception):  # closing must not hide the read's outcome
                log.warning("closing a ccxt client failed: %s", _one_line(str(exc), self.masker))


def _market(client: Any, symbol: str) -> Mapping[str, Any] | None:
    markets = getattr(client, "markets", None) or {}
    m = markets.get(symbol)
    return m if isinstance(m, Mapping) else None


def _positions(
    venue: Venue, client: Any, rows: Iterable[Any], *, unified: bool | None
) -> list[AccountPosition]:
    out = []
    for row in rows or ():
        if not isinstance(row, Mapping):
            continue
        market = _market(client, str(row.get("symbol") or ""))
        if market is not None and market.get("linear"):
            continue  # a USDT/USDC position: not coin-margined
        try:
            pos = normalise_position(venue, row, market, unified=unified)
        except ValueError as exc:
            log.warning("position skipped: %s", exc)
            continue
        if pos is not None:
            out.append(pos)
    return out


def _funding(venue: Venue, client: Any, rows: Iterable[Any]) -> list[FundingPayment]:
    out = []
    for row in rows or ():
        if isinstance(row, Mapping):
            f = normalise_funding(venue, row, _market(client, str(row.get("symbol") or "")))
            if f is not None:
                out.append(f)
    return out


def _fills(venue: Venue, client: Any, rows: Iterable[Any]) -> list[ExchangeFill]:
    out = []
    for row in rows or ():
        if isinstance(row, Mapping):
            market = _market(client, str(row.get("symbol") or ""))
            try:
                fill = normalise_trade(venue, row, market)
            except ValueError:
                continue
            if fill is not None:
                out.append(fill)
    return out


#: Bybit execution types the venue makes itself (its enum "execType"): a takeover liquidation,
#: auto-deleveraging, and the settlement of an inverse contract at delivery or delisting.
BYBIT_SYSTEM_EXEC_TYPES = ("BustTrade", "AdlTrade", "Settle")


async def read_account(
    account: AccountConfig,
    *,
    now_ms: int,
    exchange_factory: ExchangeFactory | None = None,
    environ: Mapping[str, str] | None = None,
    symbols: Sequence[str] = (),
    lookback_ms: int = LOOKBACK_MS,
) -> AccountState:
    """Read ``account`` once (see the module doc). ``now_ms`` is the clock the funding window
    ends at (the simulator's when reading it); ``symbols`` adds ccxt symbols whose executions
    are read even when flat now (the hedges that name the account). Raises AccountReadError
    with one line."""
    import os

    env = os.environ if environ is None else environ
    creds = credentials(account, env)
    since = now_ms - lookback_ms
    r = _Read(account, exchange_factory or default_factory, creds, since)
    try:
        venue = account.venue
        client = r.open(CCXT_IDS[venue], client_params(account, creds))
        await r.call("loading markets", client.load_markets())
        unified: bool | None = None
        if venue is Venue.BYBIT:
            flags = await r.call("asking for the account type", client.is_unified_enabled())
            unified = bool(flags and any(flags))
        positions = _positions(
            venue,
            client,
            await r.call("reading positions", client.fetch_positions()),
            unified=unified,
        )
        balances: list[WalletBalance] = []
        futures = await r.call("reading the futures wallet", client.fetch_balance())
        default_kind = WalletKind.UNIFIED if unified else WalletKind.FUTURES
        balances += normalise_balance(venue, futures, default_kind)
        if venue is Venue.BYBIT and not unified:
            spot = await r.call("reading the spot wallet", client.fetch_balance({"type": "spot"}))
            balances += normalise_balance(venue, spot, WalletKind.SPOT)
        elif venue is Venue.BINANCE:
            sp = spot_params(account, creds)
            if sp is None:
                r.notes.append("spot wallet not read: rest_url moves dapi only (set spot_rest_url)")
            else:
                spot_client = r.open("binance", sp)
                spot = await r.call("reading the spot wallet", spot_client.fetch_balance())
                balances += normalise_balance(venue, spot, WalletKind.SPOT)
        funding: list[FundingPayment] = []
        fills: list[ExchangeFill] = []
        if venue in (Venue.BYBIT, Venue.BINANCE, Venue.OKX):
            rows = await r.optional(
                "funding history", client.fetch_funding_history(None, since, None)
            )
            funding = [f for f in _funding(venue, client, rows) if f.ts_ms >= since]
        else:
            r.notes.append(f"funding history: not read on {venue.value} yet")
        wanted = list(dict.fromkeys([*(p.ccxt_symbol for p in positions), *symbols]))
        if venue is Venue.BYBIT:
            kinds = ("Trade", *BYBIT_SYSTEM_EXEC_TYPES)
            results = await asyncio.gather(
                *(
                    r.optional(
                        f"own executions ({k})",
                        client.fetch_my_trades(None, since, None, {"execType": k}),
                    )
                    for k in kinds
                )
            )
            for rows in results:
                fills += _fills(venue, client, rows)
        else:
            results = await asyncio.gather(
                *(r.optional(f"own trades {s}", client.fetch_my_trades(s, since)) for s in wanted)
            )
            for rows in results:
                fills += _fills(venue, client, rows)
        fills.sort(key=lambda f: (f.ts_ms, f.trade_id))
        funding.sort(key=lambda f: (f.ts_ms, f.exchange_id))
        return AccountState(
            account=account.name,
            venue=venue,
            read_ms=now_ms,
            positions=tuple(positions),
            balances=tuple(balances),
            funding=tuple(funding),
            fills=tuple(fills),
            unified=unified,
            funding_since_ms=since,
            notes=tuple(r.notes),
        )
    finally:
        await r.close()
