"""Real orders through ccxt: a thin, gated broker. NOT imported with ccxt at start-up: ccxt is
imported (lazily, ``ccxt.async_support``) by the first order only.

Gates, all required: ``[broker] kind = "ccxt"`` and ``trading_enabled = true`` in the config,
``confirmed=True`` from the caller for every order (the user pressed the live key on the
preview), and API keys in environment variables ``HEDGETOP_<VENUE>_API_KEY`` /
``HEDGETOP_<VENUE>_API_SECRET`` (OKX also ``HEDGETOP_OKX_PASSPHRASE``). Keys are never logged,
stored or shown: ``repr`` hides them and every message built from an exchange error has them
masked. ``[broker] sandbox = true`` puts the exchange in ccxt's sandbox mode (testnets).

Guards, each a one-line ``OrderRefused`` before anything is sent: the per-action caps
(contracts, USD), the per-day caps (what this broker's orders filled in the UTC day of
``now_ms``), no side flip, and at most one order per venue every ``min_order_interval_s``
(by the injected ``clock``).

An order is a market order, or with ``order_type = "limit"`` a limit at the mark plus or minus
``limit_tolerance_bps`` against us (on the venue's tick), on the unified symbol of the
coin-margined perpetual (``BTC/USD:BTC``), ``reduceOnly`` when it shrinks the position, with a
client order id of its own (Deribit: ``label``). Its amount is the venue's own quantity
(``core.instruments.venue_qty_from_size_usd``: USD on Bybit/Deribit, contracts on Binance
COIN-M/OKX), and the filled amount comes back through the same conversion.

The order is followed (``fetch_order`` by the venue's id, every ``poll_interval_s`` of the
injected ``sleep``) until it is filled, cancelled or rejected; a limit still open after
``limit_timeout_s`` is cancelled and what filled is reported. A send that may have reached the
venue without its reply reaching us (a timeout, a network error, a lost reply, or the venue
saying the client id is taken) is looked up by its client order id before anything is sent
again, and resent with the SAME id only when the venue does not have it: an order is never
doubled. One ccxt client per venue is kept for the broker's life (market loading costs about a
second); ``close()`` closes them. ``place`` returns an ``OrderResult`` (filled, partial,
cancelled, rejected or unknown); a failure to place it raises ``OrderFailed`` with one line.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.config import BrokerConfig
from core.instruments import (
    ContractSpec,
    contracts_from_size_usd,
    lookup,
    size_usd_from_contracts,
    size_usd_from_venue_qty,
    venue_qty_from_size_usd,
)
from core.resize import MarginPlan, ResizePlan

log = logging.getLogger("hedgetop.broker")

CCXT_IDS: dict[str, str] = {
    "bybit": "bybit",
    "binance": "binancecoinm",
    "okx": "okx",
    "deribit": "deribit",
}

#: (ccxt exchange id, ccxt config incl. credentials) -> an async ccxt exchange (or a fake)
ExchangeFactory = Callable[[str, dict[str, Any]], Any]
#: an awaitable pause of N seconds (``asyncio.sleep``; tests step simulated time instead)
Sleep = Callable[[float], Awaitable[None]]
#: seconds on a monotonic clock (``time.monotonic``; tests inject their own)
Clock = Callable[[], float]

#: ccxt's unified statuses after which an order changes no more
FINAL = frozenset({"closed", "canceled", "cancelled", "expired", "rejected"})
POLL_INTERVAL_S = 0.5
MARKET_FOLLOW_S = 30.0  # a market order still open after this long is cancelled too
CANCEL_GRACE_S = 10.0  # after a cancel, how long to wait for the venue to say what filled
MAX_SENDS = 3  # sends of one client order id, each after a look-up said the venue lacks it
RETRY_S = 1.0  # pause before looking an unanswered order up (times the attempt)
DAY_MS = 86_400_000


class TradingDisabled(RuntimeError):  # noqa: N818 (reads better at the call site)
    """A live order was asked for without every gate open; the message says which."""


class OrderRefused(TradingDisabled):
    """A guard refused the order (a cap, the rate limit, a flip, stale data): nothing sent."""


class OrderFailed(RuntimeError):  # noqa: N818 (reads better at the call site)
    """The order could not be placed (network, authentication, margin...): one line, no keys."""


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What the venue answered. ``filled_contracts`` is what to record (0: nothing)."""

    venue: str
    symbol: str  # the unified ccxt symbol
    client_order_id: str
    order_id: str | None
    status: str  # "filled" | "partial" | "cancelled" | "rejected" | "unknown"
    requested_contracts: int
    filled_contracts: int
    average_price: float | None  # USD per coin, None when the venue did not say
    fee_coin: float | None  # in the settlement coin, None when the venue did not say
    message: str  # one line for the user
    order_type: str = "market"
    limit_price: float | None = None

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


def limit_price(side: str, mark: float, tolerance_bps: float, tick: float) -> float:
    """The limit of a ``side`` order: ``mark`` moved ``tolerance_bps`` against us (a buy
    pays up to that much more), on ``tick``, never beyond the tolerance."""
    tol = tolerance_bps / 10_000.0
    raw = mark * (1.0 + tol) if side == "buy" else mark * (1.0 - tol)
    steps = round(raw / tick, 9)  # 4199.9999999 ticks is 4200
    n = math.floor(steps) if side == "buy" else math.ceil(steps)
    n = max(n, 1)
    return float(Decimal(str(tick)) * n)


def _default_factory(ccxt_id: str, params: dict[str, Any]) -> Any:
    import ccxt.async_support as ccxt_async  # lazy: slow import, first order only

    return getattr(ccxt_async, ccxt_id)(params)


def _error_kinds(exc: BaseException) -> set[str]:
    """Class names in ``exc``'s hierarchy (ccxt's errors are told apart by them, without
    importing ccxt here)."""
    return {c.__name__ for c in type(exc).__mro__}


def _duplicate_id(exc: BaseException) -> bool:
    """The venue refused the client order id as taken: our earlier send got there."""
    text = str(exc).lower()
    return "duplicat" in text or any(c in text for c in ("110072", "-4116", "51016"))


def _maybe_placed(exc: BaseException) -> bool:
    """Whether the order may be on the venue although the send raised (no reply, a timeout,
    a dropped connection, the id already taken): look it up before sending again."""
    kinds = _error_kinds(exc)
    if kinds & {"NetworkError", "TimeoutError", "ConnectionError"}:
        return True
    return "InvalidOrder" in kinds and _duplicate_id(exc)


@dataclass(frozen=True, slots=True)
class _Ticket:
    """One order on its way: where it goes and what masks its messages."""

    client: Any
    venue: str
    symbol: str
    client_id: str
    what: str
    secrets: list[str]

    def say(self, exc: BaseException) -> str:
        return mask(f"{type(exc).__name__}: {exc}", self.secrets)


class CcxtLiveBroker:
    """See the module docstring. ``environ`` (default ``os.environ``) holds the keys;
    ``exchange_factory`` builds the ccxt exchange (tests inject a fake or the simulator's);
    ``sleep`` and ``clock`` pace the follow-up and the rate limit (tests step them)."""

    name = "ccxt"

    def __init__(
        self,
        config: BrokerConfig,
        *,
        confirmed: bool = True,
        environ: Mapping[str, str] | None = None,
        exchange_factory: ExchangeFactory | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        check_gates(config)
        if not confirmed:
            raise TradingDisabled("live orders need the user's confirmation")
        self.config = config
        self._environ = environ
        self._factory = exchange_factory or _default_factory
        self.sleep: Sleep = sleep or asyncio.sleep
        self.clock: Clock = clock or time.monotonic
        self.poll_interval_s = poll_interval_s
        self._clients: dict[str, Any] = {}  # venue -> its ccxt exchange, kept for the session
        self._last_sent: dict[str, float] = {}  # venue -> clock() of its last send
        self._filled_day: int | None = None  # UTC day number of the totals below
        self._filled_contracts = 0
        self._filled_usd = 0.0

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

    def filled_today(self, now_ms: int) -> tuple[int, float]:
        """(contracts, USD face value) this broker's orders filled in ``now_ms``'s UTC day."""
        if self._filled_day != now_ms // DAY_MS:
            return 0, 0.0
        return self._filled_contracts, self._filled_usd

    async def prepare(self, venue: str) -> None:
        """Make ``venue``'s client and load its markets now (the first order then does not
        pay for it); TradingDisabled without keys, OrderFailed when the venue is out of
        reach (one line, keys masked)."""
        self.check_credentials(venue)
        creds = credentials_from_env(venue, self._environ)
        client = self._client(venue, creds, list(creds.values()))
        load = getattr(client, "load_markets", None)
        if load is None:
            return
        try:
            await load()
        except Exception as exc:
            detail = mask(f"{type(exc).__name__}: {exc}", creds.values())
            raise OrderFailed(f"cannot read the {venue} markets: {detail}") from None

    async def close(self) -> None:
        """Close every venue's client (each close waits for ccxt's connector): safe twice."""
        clients, self._clients = self._clients, {}
        await asyncio.gather(*(self._close_one(v, c) for v, c in clients.items()))

    async def _close_one(self, venue: str, client: Any) -> None:
        try:
            await client.close()
        except Exception as exc:  # closing must never hide what happened before
            log.warning("closing the %s client failed: %s", venue, type(exc).__name__)

    # --- guards -------------------------------------------------------------------------------

    def check_guards(self, plan: ResizePlan, spec: ContractSpec, now_ms: int) -> None:
        """OrderRefused (one line) when a guard closes: caps, flip, rate limit."""
        b = self.config
        on = f"{plan.venue} {plan.symbol}"
        if plan.contracts_after < 0 or (
            plan.contracts_after < plan.contracts_before and plan.contracts > plan.contracts_before
        ):
            raise OrderRefused(
                f"not sent: {plan.contracts:,} contracts would take the {plan.contracts_before:,} "
                f"held on {on} through zero to the other side"
            )
        if plan.contracts > b.max_contracts_per_action:
            raise OrderRefused(
                f"not sent: {plan.contracts:,} contracts exceed broker.max_contracts_per_action "
                f"= {b.max_contracts_per_action:,}"
            )
        size = size_usd_from_contracts(spec, plan.contracts)
        if b.max_usd_per_action is not None and size > b.max_usd_per_action:
            raise OrderRefused(
                f"not sent: {size:,.0f} USD exceeds broker.max_usd_per_action "
                f"= {b.max_usd_per_action:,.0f} USD"
            )
        done_c, done_usd = self.filled_today(now_ms)
        if (
            b.max_contracts_per_day is not None
            and done_c + plan.contracts > b.max_contracts_per_day
        ):
            raise OrderRefused(
                f"not sent: {plan.contracts:,} more contracts would pass "
                f"broker.max_contracts_per_day = {b.max_contracts_per_day:,} "
                f"({done_c:,} filled today, UTC)"
            )
        if b.max_usd_per_day is not None and done_usd + size > b.max_usd_per_day:
            raise OrderRefused(
                f"not sent: {size:,.0f} USD more would pass broker.max_usd_per_day = "
                f"{b.max_usd_per_day:,.0f} USD ({done_usd:,.0f} USD filled today, UTC)"
            )
        last = self._last_sent.get(plan.venue)
        if last is not None and b.min_order_interval_s > 0:
            wait = b.min_order_interval_s - (self.clock() - last)
            if wait > 0:
                raise OrderRefused(
                    f"not sent: wait {wait:.1f} s, at most one order every "
                    f"{b.min_order_interval_s:g} s on {plan.venue} (broker.min_order_interval_s)"
                )

    def _count(self, now_ms: int, spec: ContractSpec, contracts: int) -> None:
        day = now_ms // DAY_MS
        if self._filled_day != day:
            self._filled_day, self._filled_contracts, self._filled_usd = day, 0, 0.0
        self._filled_contracts += contracts
        self._filled_usd += size_usd_from_contracts(spec, contracts)

    # --- placing ------------------------------------------------------------------------------

    def _client(self, venue: str, creds: dict[str, str], secret_values: list[str]) -> Any:
        """The venue's ccxt client, made on first use and kept (markets load once)."""
        client = self._clients.get(venue)
        if client is not None:
            return client
        try:
            client = self._factory(
                CCXT_IDS[venue], {**creds, "enableRateLimit": True, "timeout": 15_000}
            )
            if self.config.sandbox:
                client.set_sandbox_mode(True)
        except Exception as exc:
            raise OrderFailed(
                f"cannot set up {venue}: {mask(f'{type(exc).__name__}: {exc}', secret_values)}"
            ) from None
        self._clients[venue] = client
        return client

    async def place(
        self,
        plan: ResizePlan,
        *,
        confirmed: bool = False,
        spec: ContractSpec | None = None,
        now_ms: int = 0,
        mark: float | None = None,
    ) -> OrderResult:
        """Send ``plan`` (a market or limit order, as configured), follow it to its end and
        say what filled. ``mark``: the price a limit is set from (default the plan's).

        Raises TradingDisabled when a gate is closed (OrderRefused: a guard; nothing sent
        either way) and OrderFailed when the venue could not be reached or refused the
        request (one line, keys masked)."""
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
        self.check_guards(plan, spec, now_ms)
        limit = self.config.order_type == "limit"
        ref = mark if mark is not None else plan.mark
        if limit and (ref is None or not math.isfinite(ref) or ref <= 0):
            raise OrderRefused(f"not sent: no mark price for a limit order on {plan.venue}")
        symbol = self.unified_symbol(plan.coin)
        amount = venue_qty_from_size_usd(spec, plan.size_usd)
        reduce = plan.contracts_after < plan.contracts_before
        client_id = new_client_order_id(now_ms)
        secret_values = list(creds.values())
        side = plan.side.value
        client = self._client(plan.venue, creds, secret_values)
        price: float | None = None
        if limit:
            assert ref is not None
            tick = await self._tick(client, plan.venue, symbol, spec, secret_values)
            price = limit_price(side, ref, self.config.limit_tolerance_bps, tick)
        # ccxt maps clientOrderId on Bybit, Binance and OKX; Deribit calls it a label
        params: dict[str, Any] = {
            "label" if plan.venue == "deribit" else "clientOrderId": client_id
        }
        if reduce:
            params["reduceOnly"] = True
        at = f" at {price:g}" if price is not None else ""
        kind = "limit" if limit else "market"
        t = _Ticket(
            client=client,
            venue=plan.venue,
            symbol=symbol,
            client_id=client_id,
            what=f"{side} {amount:g} {symbol}{at} on {plan.venue}",
            secrets=secret_values,
        )
        self._last_sent[plan.venue] = self.clock()
        log.info("sending %s order %s (clientOrderId %s)", kind, t.what, client_id)
        order = await self._send(t, (kind, side, amount, price), params)
        timeout = self.config.limit_timeout_s if limit else MARKET_FOLLOW_S
        order, cancelled = await self._follow(t, order, timeout)
        result = self._result(plan, spec, t, order, kind=kind, price=price, cancelled=cancelled)
        if result.filled_contracts > 0:
            self._count(now_ms, spec, result.filled_contracts)
        log.info("order %s: %s", client_id, result.message)
        return result

    async def move_margin(self, plan: MarginPlan, *, confirmed: bool = False) -> float:
        """Move ``plan``'s isolated margin on the venue; the amount moved (the plan's on the
        venue's step: Bybit takes 4 decimals). One attempt only: a transfer has no client id
        to look up, so a lost reply is said as such, never retried.

        Bybit's ccxt has no unified ``add_margin``: its ``v5/position/add-margin`` endpoint is
        called directly (``margin`` signed). Binance COIN-M's unified ``add_margin`` rounds
        the coin amount to the market's *contract* precision (0.05 BTC becomes 0), so its
        ``dapi/v1/positionMargin`` is called directly too, with the amount in coin."""
        if not plan.ok:
            raise TradingDisabled(plan.refusal or "nothing to move")
        if not confirmed:
            raise TradingDisabled("margin transfers need the user's confirmation on the preview")
        if plan.venue not in ("bybit", "binance"):
            raise TradingDisabled(
                f"moving margin on {plan.venue} is not supported here: do it on the venue"
            )
        self.check_credentials(plan.venue)
        creds = credentials_from_env(plan.venue, self._environ)
        secret_values = list(creds.values())
        client = self._client(plan.venue, creds, secret_values)
        step = Decimal("0.0001") if plan.venue == "bybit" else Decimal("0.00000001")
        amount = float(Decimal(repr(plan.amount_coin)).quantize(step, rounding="ROUND_DOWN"))
        if amount == 0:
            raise OrderRefused(
                f"not sent: {abs(plan.amount_coin):g} {plan.coin} is below {plan.venue}'s "
                f"step of {step.normalize()} {plan.coin}"
            )
        verb = "add" if amount > 0 else "remove"
        what = f"{verb} {abs(amount):g} {plan.coin} margin on {plan.venue} {plan.symbol}"
        log.info("sending margin transfer: %s", what)
        try:
            if plan.venue == "bybit":
                answer = await client.privatePostV5PositionAddMargin(
                    {
                        "category": "inverse",
                        "symbol": plan.symbol,
                        "margin": f"{amount:.4f}",
                        "positionIdx": 0,
                    }
                )
            else:
                answer = await client.dapiPrivatePostPositionMargin(
                    {
                        "symbol": plan.symbol,
                        "amount": f"{abs(amount):.8f}",
                        "type": 1 if amount > 0 else 2,
                        "positionSide": "BOTH",
                    }
                )
        except Exception as exc:
            if _error_kinds(exc) & {"RequestTimeout", "NetworkError"}:
                raise OrderFailed(
                    f"{plan.venue} did not answer for {what}: the margin MAY have moved, "
                    "check the venue before trying again"
                ) from None
            raise OrderFailed(self._explain(exc, plan.venue, what, secret_values)) from None
        if plan.venue == "bybit" and str((answer or {}).get("retCode", "0")) != "0":
            detail = mask(str(answer.get("retMsg", "")), secret_values)
            raise OrderFailed(f"{plan.venue} refused to {what}: {detail}")
        log.info("margin transfer done: %s", what)
        return amount

    async def _tick(
        self, client: Any, venue: str, symbol: str, spec: ContractSpec, secret_values: list[str]
    ) -> float:
        """The venue's price step from its markets (ccxt's tick-size precision), else the
        spec's: a limit off the venue's tick is refused by the venue."""
        load = getattr(client, "load_markets", None)
        if load is None:
            return spec.tick_size
        try:
            await load()
            tick = _number(client.market(symbol)["precision"]["price"])
        except Exception as exc:
            raise OrderFailed(
                f"cannot read the {venue} markets, nothing sent: "
                f"{mask(f'{type(exc).__name__}: {exc}', secret_values)}"
            ) from None
        return tick if tick is not None and tick > 0 else spec.tick_size

    async def _send(
        self, t: _Ticket, order: tuple[str, str, float, float | None], params: dict[str, Any]
    ) -> dict[str, Any]:
        """``create_order`` once; when it may have reached the venue unanswered, look the
        client order id up before each resend (with the same id) and follow what is found."""
        last: BaseException | None = None
        lookup_failed = False
        for attempt in range(MAX_SENDS + 1):
            if attempt:
                await self.sleep(RETRY_S * attempt)
                try:
                    found = await self._lookup(t)
                except Exception as exc:  # unknown: never resend blind, ask again
                    lookup_failed = True
                    log.warning("looking order %s up on %s: %s", t.client_id, t.venue, t.say(exc))
                    continue
                lookup_failed = False
                if found is not None:
                    log.info(
                        "order %s is on %s though no reply came: following it", t.client_id, t.venue
                    )
                    return found
                if attempt == MAX_SENDS:
                    break
                log.warning(
                    "order %s is not on %s: sending it again, same id", t.client_id, t.venue
                )
            try:
                placed: dict[str, Any] = await t.client.create_order(t.symbol, *order, params)
            except Exception as exc:
                if not _maybe_placed(exc):
                    raise OrderFailed(self._explain(exc, t.venue, t.what, t.secrets)) from None
                last = exc
                log.warning("order %s on %s: %s", t.client_id, t.venue, t.say(exc))
                continue
            return placed
        assert last is not None
        state = (
            "it could not be looked up"
            if lookup_failed
            else f"not found on the venue after {MAX_SENDS} sends"
        )
        raise OrderFailed(
            f"{self._explain(last, t.venue, t.what, t.secrets)} (client order id {t.client_id}: "
            f"{state})"
        )

    @staticmethod
    async def _lookup(t: _Ticket) -> dict[str, Any] | None:
        """The order with ``t.client_id`` as the venue has it, or None when it has none."""
        c, symbol, cid = t.client, t.symbol, t.client_id
        if t.venue == "bybit":  # /v5/order/realtime answers by orderLinkId in any status
            rows = await c.fetch_open_orders(symbol, None, None, {"orderLinkId": cid})
            return next((dict(o) for o in rows if o.get("clientOrderId") == cid), None)
        if t.venue == "deribit":  # no look-up by label: the open and the recent closed orders
            rows = [*await c.fetch_open_orders(symbol), *await c.fetch_closed_orders(symbol)]
            return next(
                (
                    dict(o)
                    for o in rows
                    if cid in (o.get("clientOrderId"), (o.get("info") or {}).get("label"))
                ),
                None,
            )
        key = "origClientOrderId" if t.venue == "binance" else "clOrdId"
        try:
            found: dict[str, Any] = await c.fetch_order(None, symbol, {key: cid})
        except Exception as exc:
            if "OrderNotFound" in _error_kinds(exc):
                return None
            raise
        return found

    async def _fetch(self, t: _Ticket, order_id: str | None) -> dict[str, Any] | None:
        if order_id is None:
            return await self._lookup(t)
        if t.venue == "bybit":  # /v5/order/realtime: classic and unified accounts alike
            fetched: dict[str, Any] = await t.client.fetch_open_order(order_id, t.symbol)
        else:
            fetched = await t.client.fetch_order(order_id, t.symbol)
        return fetched

    async def _follow(
        self, t: _Ticket, order: dict[str, Any], timeout_s: float
    ) -> tuple[dict[str, Any], bool]:
        """Poll ``order`` until it is final; cancel it when still open after ``timeout_s``.
        Returns its last known state and whether this broker cancelled it."""
        start = self.clock()
        cancelled = False
        first = True
        while str(order.get("status") or "") not in FINAL:
            elapsed = self.clock() - start
            if cancelled and elapsed >= timeout_s + CANCEL_GRACE_S:
                log.warning("order %s on %s: no final state after the cancel", t.client_id, t.venue)
                break
            if not cancelled and elapsed >= timeout_s:
                cancelled = True
                await self._cancel(t, _order_id(order))
            elif not first:
                await self.sleep(self.poll_interval_s)
            first = False
            try:
                fetched = await self._fetch(t, _order_id(order))
            except Exception as exc:
                log.warning("following order %s on %s: %s", t.client_id, t.venue, t.say(exc))
                continue
            if fetched is not None:
                order = {**order, **{k: v for k, v in fetched.items() if v is not None}}
        return order, cancelled

    @staticmethod
    async def _cancel(t: _Ticket, order_id: str | None) -> None:
        log.info("order %s on %s still open: cancelling it", t.client_id, t.venue)
        if order_id is None:
            log.warning("order %s on %s: no venue id to cancel it by", t.client_id, t.venue)
            return
        try:
            await t.client.cancel_order(order_id, t.symbol)
        except Exception as exc:  # filled or gone meanwhile: the next fetch says which
            log.warning("cancelling order %s on %s: %s", t.client_id, t.venue, t.say(exc))

    def _result(
        self,
        plan: ResizePlan,
        spec: ContractSpec,
        t: _Ticket,
        order: Mapping[str, Any],
        *,
        kind: str = "market",
        price: float | None = None,
        cancelled: bool = False,
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
        oid = _order_id(order)
        on = f"{plan.venue} {plan.symbol}"
        late = (
            f"not filled within {self.config.limit_timeout_s:g} s"
            if kind == "limit"
            else f"still open after {MARKET_FOLLOW_S:g} s"
        )
        if filled_qty is None:
            state = "unknown"
            message = (
                f"order {oid or t.client_id} on {on} was sent but the venue did not say what "
                "filled: check the venue; nothing recorded"
            )
        elif status not in FINAL:
            state = "unknown"
            message = (
                f"order {oid or t.client_id} on {on} is still open on the venue ({filled:,} of "
                f"{plan.contracts:,} contracts filled, recorded): cancel it on the venue"
            )
        elif filled == 0 and cancelled:
            state = "cancelled"
            message = f"{kind} order on {on} {late}: cancelled, nothing filled, nothing recorded"
        elif filled == 0:
            state = "rejected"
            message = (
                f"order rejected on {on} (status {status or 'unknown'}): nothing filled, "
                "nothing recorded"
            )
        elif filled < plan.contracts:
            state = "partial"
            why = f"{late}, the rest cancelled; " if cancelled else ""
            message = (
                f"order partially filled on {on}: {filled:,} of {plan.contracts:,} contracts "
                f"({why}only the filled part is recorded)"
            )
        else:
            state = "filled"
            message = f"order filled on {on}: {filled:,} contracts"
        return OrderResult(
            venue=plan.venue,
            symbol=t.symbol,
            client_order_id=t.client_id,
            order_id=oid,
            status=state,
            requested_contracts=plan.contracts,
            filled_contracts=filled,
            average_price=average,
            fee_coin=fee,
            message=message,
            order_type=kind,
            limit_price=price,
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


def _order_id(order: Mapping[str, Any]) -> str | None:
    oid = order.get("id")
    return str(oid) if oid is not None and oid != "" else None


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
