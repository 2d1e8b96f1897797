"""Binance REST: the COIN-M host (``dapi``) and the spot host (``api``), the subset ccxt's
``binancecoinm`` and ``binance`` call (``docs/sim-ccxt-binance.md`` lists each request),
written from Binance's docs (derivatives/coin-margined-futures/general-info, market-data,
trade, account, user-data-streams; spot rest-api general info and account endpoints).

- Signed (``USER_DATA``/``TRADE``) requests: ``X-MBX-APIKEY`` header; ``timestamp`` (and an
  optional ``recvWindow``, default 5000, at most 60000) in the parameters; ``signature`` = hex
  HMAC-SHA256(secret, totalParams), totalParams being the query string followed by the body,
  without the signature itself. Checked in this order: key missing or malformed -2014, unknown
  -2015 (HTTP 401), timestamp missing -1102, outside ``timestamp < server + 1000`` and
  ``server − timestamp ≤ recvWindow`` -1021, signature -1022. The server time is the API
  (wall) clock; the data carries the simulated market clock.
- ``USER_STREAM`` endpoints (``listenKey``) take the key header only.
- Errors ``{"code": -n, "msg": …}`` with HTTP 400 (401 for the key errors, 404 unknown path);
  IP weight per minute in ``X-MBX-USED-WEIGHT-1M`` (2400 on dapi, 6000 on api) and orders in
  ``X-MBX-ORDER-COUNT-1M``; over a limit HTTP 429 ``-1003`` with ``Retry-After`` (seconds), and
  418 for a client that keeps going while limited.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from core.sim.accounts import (
    Account,
    AccountError,
    Accounts,
    ExecKind,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from core.sim.fmt import coin_str, dumps, fmt_trim, tick_decimals
from core.sim.http import Handler, RestHost, Window
from core.sim.hub import Hub
from core.sim.seed import ListingSeed
from core.sim.venues.binance.margin import brackets
from core.sim.venues.binance.public import perp_symbol, spot_symbol
from core.sim.venues.binance.rows import Rows, pair

FUTURE_SKEW_MS = 1000
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60_000
DELIVERY_DATE_PERPETUAL = 4_133_404_800_000  # 2100-12-25: what Binance prints for perpetuals
LISTEN_KEY_TTL_MS = 60 * 60 * 1000
BAN_AFTER = 5  # requests refused with 429 before an IP is banned (418)
BAN_MS = 2 * 60 * 1000

REJECT: dict[RejectReason, tuple[int, str]] = {
    RejectReason.DUPLICATE_CLIENT_ID: (-4116, "ClientOrderId is duplicated."),
    RejectReason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    RejectReason.REDUCE_ONLY_INCREASE: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.UNKNOWN_ORDER: (-2013, "Order does not exist."),
    RejectReason.NOT_CANCELABLE: (-2011, "Unknown order sent."),
    RejectReason.BAD_QTY: (-1111, "Precision is over the maximum defined for this asset."),
    RejectReason.BAD_PRICE: (-4014, "Price not increased by tick size."),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    ),
    RejectReason.FOK_UNFILLABLE: (
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected.",
    ),
    RejectReason.NO_POSITION: (-4054, "Cannot add position margin: position is 0."),
    RejectReason.CROSS_MARGIN: (-4048, "Margin type cannot be changed if there exists position."),
    RejectReason.WOULD_LIQUIDATE: (-4051, "Isolated balance insufficient."),
}

Params = dict[str, str]


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400, retry_after_s: int = 1) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.retry_after_s = retry_after_s


class _Limits:
    """IP weight and order count per minute, and the ban that follows ignoring a 429."""

    def __init__(self, weight: int, orders: int) -> None:
        self.weight = Window(weight, 60_000)
        self.orders = Window(orders, 60_000)
        self.refusals = 0
        self.banned_until = 0


class BinanceRest:
    """Both Binance REST hosts of one simulator (they share the accounts and the weights are
    per host)."""

    def __init__(
        self,
        hub: Hub,
        coins: tuple[str, ...],
        accounts: Accounts,
        faces: dict[str, int],
        *,
        rate_limits: bool = True,
        on_listen_key: Callable[[str, Account], None] | None = None,
    ) -> None:
        self.hub = hub
        self.coins = coins
        self.accounts = accounts
        self.faces = faces
        self.rate_limits = rate_limits
        self.rows = Rows({c: hub.model.coin(c).params.perp_tick for c in coins}, faces)
        self.by_symbol = {perp_symbol(c): c for c in coins}
        self.listings: dict[str, ListingSeed] = {}
        self.listen_keys: dict[str, tuple[Account, int]] = {}  # key -> (account, expires ms)
        self.on_listen_key = on_listen_key
        self._limits = {"dapi": _Limits(2400, 1200), "api": _Limits(6000, 1200)}
        self._key_alphabet = string.ascii_letters + string.digits
        d: dict[tuple[str, str], tuple[str, int, Callable[..., Any]]] = {
            # (method, path): (security, weight, handler)
            ("GET", "/dapi/v1/ping"): ("NONE", 1, self.ping),
            ("GET", "/dapi/v1/time"): ("NONE", 1, self.time),
            ("GET", "/dapi/v1/exchangeInfo"): ("NONE", 1, self.exchange_info),
            ("GET", "/dapi/v1/premiumIndex"): ("NONE", 10, self.premium_index),
            ("GET", "/dapi/v1/fundingRate"): ("NONE", 1, self.funding_rate),
            ("GET", "/dapi/v2/leverageBracket"): ("SIGNED", 1, self.leverage_bracket_v2),
            ("GET", "/dapi/v1/leverageBracket"): ("SIGNED", 1, self.leverage_bracket_v1),
            ("GET", "/dapi/v1/account"): ("SIGNED", 5, self.account),
            ("GET", "/dapi/v1/balance"): ("SIGNED", 1, self.balance),
            ("GET", "/dapi/v1/positionRisk"): ("SIGNED", 1, self.position_risk),
            ("POST", "/dapi/v1/order"): ("SIGNED", 1, self.new_order),
            ("GET", "/dapi/v1/order"): ("SIGNED", 1, self.query_order),
            ("DELETE", "/dapi/v1/order"): ("SIGNED", 1, self.cancel_order),
            ("GET", "/dapi/v1/openOrders"): ("SIGNED", 1, self.open_orders),
            ("GET", "/dapi/v1/allOrders"): ("SIGNED", 20, self.all_orders),
            ("GET", "/dapi/v1/userTrades"): ("SIGNED", 20, self.user_trades),
            ("GET", "/dapi/v1/income"): ("SIGNED", 20, self.income),
            ("POST", "/dapi/v1/leverage"): ("SIGNED", 1, self.set_leverage),
            ("POST", "/dapi/v1/positionMargin"): ("SIGNED", 1, self.position_margin),
            ("POST", "/dapi/v1/listenKey"): ("USER_STREAM", 1, self.listen_key_new),
            ("PUT", "/dapi/v1/listenKey"): ("USER_STREAM", 1, self.listen_key_keep),
            ("DELETE", "/dapi/v1/listenKey"): ("USER_STREAM", 1, self.listen_key_close),
        }
        s: dict[tuple[str, str], tuple[str, int, Callable[..., Any]]] = {
            ("GET", "/api/v3/ping"): ("NONE", 1, self.ping),
            ("GET", "/api/v3/time"): ("NONE", 1, self.time),
            ("GET", "/api/v3/exchangeInfo"): ("NONE", 20, self.spot_exchange_info),
            ("GET", "/api/v3/account"): ("SIGNED", 20, self.spot_account),
        }
        self.dapi = RestHost(hub, {k: self._route("dapi", k[1], *v) for k, v in d.items()})
        self.api = RestHost(hub, {k: self._route("api", k[1], *v) for k, v in s.items()})

    # -- envelope, auth, limits ----------------------------------------------------------------

    def _json(
        self, obj: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.Response(
            text=dumps(obj), status=status, content_type="application/json", headers=headers
        )

    def _route(
        self, host: str, path: str, security: str, weight: int, fn: Callable[..., Any]
    ) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            raw_query = request.raw_path.partition("?")[2]
            body = await request.text() if request.method in ("POST", "PUT") else ""
            params: Params = dict(parse_qsl(raw_query, keep_blank_values=True))
            params.update(dict(parse_qsl(body, keep_blank_values=True)))
            limits = self._limits[host]
            now = self.hub.limit_clock_ms()
            headers: dict[str, str] = {}
            try:
                self._rate(
                    host, limits, now, weight, request.method == "POST" and path.endswith("/order")
                )
                headers = {
                    "X-MBX-USED-WEIGHT-1M": str(limits.weight.used(now)),
                    "X-MBX-ORDER-COUNT-1M": str(limits.orders.used(now)),
                }
                acct: Account | None = None
                if security == "SIGNED":
                    acct = self._authenticate(request, raw_query, body, params)
                elif security == "USER_STREAM":
                    acct = self._api_key(request)
                result = fn(acct, params) if acct is not None else fn(params)
            except BinanceError as err:
                if err.status == 401:
                    self.hub.stats.auth_failures += 1
                if err.status in (418, 429):
                    self.hub.stats.rate_limited += 1
                    headers["Retry-After"] = str(err.retry_after_s)
                return self._json({"code": err.code, "msg": err.msg}, err.status, headers)
            except AccountError as err:
                code, msg = REJECT[err.reason]
                return self._json({"code": code, "msg": msg}, 400, headers)
            return self._json(result, 200, headers)

        return handle

    def _rate(self, host: str, limits: _Limits, now: int, weight: int, is_order: bool) -> None:
        if limits.banned_until > now:
            raise BinanceError(
                -1003,
                f"Way too many requests; IP banned until {limits.banned_until}. "
                "Please use the websocket for live updates to avoid bans.",
                418,
                -(-(limits.banned_until - now) // 1000),
            )
        chaos = self.dapi.chaos_ratelimited() if host == "dapi" else self.api.chaos_ratelimited()
        ok = True
        if self.rate_limits:
            ok = limits.weight.take(now, weight)
            if ok and is_order:
                ok = limits.orders.take(now)
        if ok and not chaos:
            limits.refusals = 0
            return
        limits.refusals += 1
        if self.rate_limits and limits.refusals > BAN_AFTER:
            limits.banned_until = now + BAN_MS
        cap = limits.weight.limit
        wait_ms = max(limits.weight.reset_at(now), limits.orders.reset_at(now)) - now
        raise BinanceError(
            -1003,
            f"Too many requests; current limit is {cap} request weight per 1 MINUTE. "
            "Please use the websocket for live updates to avoid polling the API.",
            429,
            max(1, -(-wait_ms // 1000)),
        )

    def _api_key(self, request: web.Request) -> Account:
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key or not all(ch in self._key_alphabet + "-_" for ch in key):
            raise BinanceError(-2014, "API-key format invalid.", 401)
        found = self.accounts.get(key)
        if found is None:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        return found[1]

    def _authenticate(
        self, request: web.Request, raw_query: str, body: str, params: Params
    ) -> Account:
        acct = self._api_key(request)
        key = request.headers.get("X-MBX-APIKEY", "")
        secret, _ = self.accounts.get(key) or ("", acct)
        ts = params.get("timestamp", "")
        if not ts.isdigit():
            raise BinanceError(
                -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
            )
        recv_s = params.get("recvWindow", str(DEFAULT_RECV_WINDOW))
        if not recv_s.isdigit() or int(recv_s) > MAX_RECV_WINDOW:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        ts_ms, recv = int(ts), int(recv_s)
        server = self.hub.api_clock_ms()
        if ts_ms >= server + FUTURE_SKEW_MS:
            raise BinanceError(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if server - ts_ms > recv:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
        total = raw_query + body
        signed, sign = _split_signature(total)
        if sign is None:
            raise BinanceError(
                -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        want = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sign.lower()):
            self.hub.stats.auth_failures += 1
            raise BinanceError(-1022, "Signature for this request is not valid.")
        return acct

    # -- helpers -------------------------------------------------------------------------------

    def _coin(self, symbol: str, *, required: bool = True) -> str | None:
        if not symbol:
            if required:
                raise BinanceError(
                    -1102,
                    "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
                )
            return None
        coin = self.by_symbol.get(symbol.upper())
        if coin is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return coin

    def _pair_coin(self, params: Params) -> str | None:
        p = params.get("pair", "").upper()
        if p:
            for c in self.coins:
                if pair(c) == p:
                    return c
            raise BinanceError(-1121, "Invalid pair.")
        return None

    @staticmethod
    def _int(params: Params, key: str) -> int | None:
        v = params.get(key, "")
        if v == "":
            return None
        try:
            return int(v)
        except ValueError:
            raise BinanceError(
                -1100,
                f"Illegal characters found in parameter '{key}'; legal range is '^[0-9]{{1,20}}$'.",
            ) from None

    def _now(self) -> int:
        return self.hub.api_clock_ms()

    # -- market --------------------------------------------------------------------------------

    def ping(self, params: Params) -> dict[str, Any]:
        return {}

    def time(self, params: Params) -> dict[str, Any]:
        return {"serverTime": self._now()}

    def exchange_info(self, params: Params) -> dict[str, Any]:
        symbols = []
        for c in self.coins:
            listing = self.listings.get(c, ListingSeed())
            p = self.hub.model.coin(c).params
            dec = tick_decimals(p.perp_tick)
            tick = fmt_trim(p.perp_tick, dec)
            symbols.append(
                {
                    "symbol": perp_symbol(c),
                    "pair": pair(c),
                    "contractType": "PERPETUAL",
                    # a perpetual's delisting time replaces the year-2100 "never"
                    "deliveryDate": listing.delivery_ms or DELIVERY_DATE_PERPETUAL,
                    "onboardDate": 1_597_042_800_000,
                    "contractStatus": listing.status or "TRADING",
                    "contractSize": self.faces[c],
                    "marginAsset": c,
                    "maintMarginPercent": "2.5000",
                    "requiredMarginPercent": "5.0000",
                    "baseAsset": c,
                    "quoteAsset": "USD",
                    "pricePrecision": dec,
                    "quantityPrecision": 0,
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "equalQtyPrecision": 4,
                    "maxMoveOrderLimit": 10000,
                    "triggerProtect": "0.0500",
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": tick,
                            "maxPrice": "4529764",
                            "tickSize": tick,
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "stepSize": "1",
                            "maxQty": "1000000",
                            "minQty": "1",
                        },
                        {
                            "filterType": "MARKET_LOT_SIZE",
                            "stepSize": "1",
                            "maxQty": "60000",
                            "minQty": "1",
                        },
                        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                        {
                            "filterType": "PERCENT_PRICE",
                            "multiplierUp": "1.0500",
                            "multiplierDown": "0.9500",
                            "multiplierDecimal": "4",
                        },
                    ],
                    "orderTypes": [
                        "LIMIT",
                        "MARKET",
                        "STOP",
                        "STOP_MARKET",
                        "TAKE_PROFIT",
                        "TAKE_PROFIT_MARKET",
                        "TRAILING_STOP_MARKET",
                    ],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                    "liquidationFee": "0.010000",
                    "marketTakeBound": "0.05",
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 2400,
                },
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        }

    def premium_index(self, params: Params) -> list[dict[str, Any]]:
        coin = self._coin(params.get("symbol", ""), required=False)
        only_pair = self._pair_coin(params)
        out = []
        for c in self.coins:
            if (coin and c != coin) or (only_pair and c != only_pair):
                continue
            cs = self.hub.model.coin(c)
            perp = cs.perps["binance"]
            out.append(
                {
                    "symbol": perp_symbol(c),
                    "pair": pair(c),
                    "markPrice": fmt_trim(perp.mark, 8),
                    "indexPrice": fmt_trim(cs.index, 8),
                    "estimatedSettlePrice": fmt_trim(cs.index, 8),
                    "lastFundingRate": fmt_trim(perp.funding_rate, 8),
                    "interestRate": fmt_trim(self.hub.model.params.interest_rate, 8),
                    "nextFundingTime": perp.next_funding_ms,
                    "time": self.hub.now_ms(),
                }
            )
        return out

    def funding_rate(self, params: Params) -> list[dict[str, Any]]:
        coin = self._coin(params.get("symbol", ""))
        limit = self._int(params, "limit") or 100
        rows = [
            {
                "symbol": perp_symbol(s.coin),
                "fundingTime": s.ts_ms,
                "fundingRate": fmt_trim(s.rate, 8),
                "markPrice": fmt_trim(s.mark, 8),
            }
            for s in self.hub.model.settlements
            if s.venue == "binance" and s.coin == coin
        ]
        return rows[-limit:]

    def _brackets(self, coin: str) -> list[dict[str, Any]]:
        return [
            {
                "bracket": b.bracket,
                "initialLeverage": b.initial_leverage,
                "qtyCap": b.cap if b.cap < 1e12 else 9_223_372_036_854_775_807,
                "qtyFloor": b.floor,
                "maintMarginRatio": b.mmr,
                "cum": b.cum,
            }
            for b in brackets(coin)
        ]

    def leverage_bracket_v2(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        coin = self._coin(params.get("symbol", ""), required=False)
        return [
            {"symbol": perp_symbol(c), "notionalCoef": 1.0, "brackets": self._brackets(c)}
            for c in self.coins
            if coin is None or c == coin
        ]

    def leverage_bracket_v1(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        only = self._pair_coin(params)
        return [
            {"pair": pair(c), "brackets": self._brackets(c)}
            for c in self.coins
            if only is None or c == only
        ]

    # -- account -------------------------------------------------------------------------------

    def account(self, acct: Account, params: Params) -> dict[str, Any]:
        return {
            "assets": [self.rows.asset(acct, c) for c in acct.coins()],
            "positions": [self.rows.account_position(acct, c) for c in self.coins],
            "canDeposit": True,
            "canTrade": True,
            "canWithdraw": True,
            "feeTier": 0,
            "updateTime": self.hub.now_ms(),
        }

    def balance(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        return [self.rows.balance(acct, c) for c in acct.coins()]

    def position_risk(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        only = self._pair_coin(params)
        asset = params.get("marginAsset", "").upper()
        return [
            self.rows.position_risk(acct, c)
            for c in self.coins
            if (only is None or c == only) and (not asset or c == asset)
        ]

    def set_leverage(self, acct: Account, params: Params) -> dict[str, Any]:
        coin = self._coin(params.get("symbol", ""))
        assert coin is not None
        lev = self._int(params, "leverage")
        if lev is None or not 1 <= lev <= 125:
            raise BinanceError(-4028, "Leverage is not valid")
        acct.leverages[coin] = float(lev)
        pos = acct.position(coin)
        if not pos.size:
            pos.leverage = float(lev)
        return {"leverage": lev, "maxQty": "1000", "symbol": perp_symbol(coin)}

    def position_margin(self, acct: Account, params: Params) -> dict[str, Any]:
        """Modify Isolated Position Margin (COIN-M trade/rest-api): ``amount`` in the coin,
        ``type`` 1 adds, 2 reduces; one-way mode (``positionSide`` BOTH)."""
        coin = self._coin(params.get("symbol", ""))
        assert coin is not None
        kind = self._int(params, "type")
        if kind not in (1, 2):
            raise BinanceError(-1102, "Mandatory parameter 'type' was not sent or was invalid.")
        raw = params.get("amount", "")
        try:
            amount = float(raw)
        except ValueError:
            raise BinanceError(-1102, "Mandatory parameter 'amount' was invalid.") from None
        if not math.isfinite(amount) or amount <= 0:
            raise BinanceError(-1102, "Mandatory parameter 'amount' was invalid.")
        if params.get("positionSide", "BOTH") != "BOTH":
            raise BinanceError(-4061, "Order's position side does not match user's setting.")
        acct.move_margin(coin, amount if kind == 1 else -amount)
        return {
            "amount": amount,
            "code": 200,
            "msg": "Successfully modify position margin.",
            "type": kind,
        }

    # -- orders --------------------------------------------------------------------------------

    def _client_id(self) -> str:
        return "".join(self.hub.ids_rng.choice(self._key_alphabet) for _ in range(22))

    def new_order(self, acct: Account, params: Params) -> dict[str, Any]:
        coin = self._coin(params.get("symbol", ""))
        assert coin is not None
        side_s = params.get("side", "")
        if side_s not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        kind = params.get("type", "")
        if kind not in ("MARKET", "LIMIT"):
            raise BinanceError(-1116, "Invalid orderType.")
        qty = self._int(params, "quantity")
        if qty is None or qty <= 0:
            raise BinanceError(-4003, "Quantity less than or equal to zero.")
        price: float | None = None
        tif = TimeInForce.GTC
        if kind == "LIMIT":
            try:
                price = float(params.get("price", ""))
            except ValueError:
                raise BinanceError(
                    -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."
                ) from None
            tick = self.hub.model.coin(coin).params.perp_tick
            if abs(price / tick - round(price / tick)) > 1e-6:
                raise BinanceError(-4014, "Price not increased by tick size.")
            tif_s = params.get("timeInForce", "")
            found = {
                "GTC": TimeInForce.GTC,
                "IOC": TimeInForce.IOC,
                "FOK": TimeInForce.FOK,
                "GTX": TimeInForce.POST_ONLY,
            }.get(tif_s)
            if found is None:
                raise BinanceError(
                    -1102,
                    "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
                )
            tif = found
        client_id = params.get("newClientOrderId", "") or self._client_id()
        if len(client_id) > 36 or not all(ch in self._key_alphabet + ".:/_-" for ch in client_id):
            raise BinanceError(-4015, "Client order id is not valid.")
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        resp_type = params.get("newOrderRespType", "ACK")
        if resp_type not in ("ACK", "RESULT"):
            raise BinanceError(-1136, "Invalid newOrderRespType.")
        order = acct.place(
            coin,
            Side.BUY if side_s == "BUY" else Side.SELL,
            OrderType.MARKET if kind == "MARKET" else OrderType.LIMIT,
            qty * self.faces[coin],
            price,
            reduce_only=reduce_only,
            client_id=client_id,
            tif=tif,
        )
        return self.rows.order(order, ack=resp_type == "ACK")

    def _order_of(self, acct: Account, params: Params) -> Any:
        coin = self._coin(params.get("symbol", ""))
        oid = params.get("orderId", "")
        cid = params.get("origClientOrderId", "")
        if not oid and not cid:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        order = acct.order(oid or None, cid or None)
        if order.coin != coin:
            raise AccountError(RejectReason.UNKNOWN_ORDER, oid or cid)
        return order

    def query_order(self, acct: Account, params: Params) -> dict[str, Any]:
        return self.rows.order(self._order_of(acct, params))

    def cancel_order(self, acct: Account, params: Params) -> dict[str, Any]:
        order = self._order_of(acct, params)
        acct.cancel(order.id)
        return self.rows.order(order)

    def open_orders(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        coin = self._coin(params.get("symbol", ""), required=False)
        only = self._pair_coin(params)
        return [
            self.rows.order(o)
            for o in acct.orders.values()
            if o.status.open
            and (coin is None or o.coin == coin)
            and (only is None or o.coin == only)
        ]

    def all_orders(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        coin = self._coin(params.get("symbol", ""), required=False)
        only = self._pair_coin(params)
        if coin is None and only is None:
            raise BinanceError(
                -1102, "Param 'symbol' or 'pair' must be sent, but both were empty/null!"
            )
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        limit = min(self._int(params, "limit") or 50, 100)
        rows = [
            self.rows.order(o)
            for o in sorted(acct.orders.values(), key=lambda o: int(o.id))
            if (coin is None or o.coin == coin)
            and (only is None or o.coin == only)
            and (start is None or o.created_ms >= start)
            and (end is None or o.created_ms <= end)
        ]
        return rows[-limit:]

    def user_trades(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        coin = self._coin(params.get("symbol", ""), required=False)
        only = self._pair_coin(params)
        if coin is None and only is None:
            raise BinanceError(
                -1102, "Param 'symbol' or 'pair' must be sent, but both were empty/null!"
            )
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        limit = min(self._int(params, "limit") or 50, 1000)
        rows = []
        for k, ex in enumerate(acct.executions):
            if ex.kind is ExecKind.FUNDING:
                continue
            if (coin is not None and ex.coin != coin) or (only is not None and ex.coin != only):
                continue
            if (start is not None and ex.ts_ms < start) or (end is not None and ex.ts_ms > end):
                continue
            rows.append(self.rows.user_trade(ex, k + 1))
        return rows[-limit:]

    def income(self, acct: Account, params: Params) -> list[dict[str, Any]]:
        coin = self._coin(params.get("symbol", ""), required=False)
        kind = params.get("incomeType", "")
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        limit = min(self._int(params, "limit") or 100, 1000)
        rows = []
        for e in acct.ledger:
            if coin is not None and e.coin != coin:
                continue
            if (start is not None and e.ts_ms < start) or (end is not None and e.ts_ms > end):
                continue
            for row in self.rows.incomes(e):
                if not kind or row["incomeType"] == kind:
                    rows.append(row)
        return rows[-limit:] if start is None else rows[:limit]

    # -- user data stream ----------------------------------------------------------------------

    def listen_key_new(self, acct: Account, params: Params) -> dict[str, Any]:
        # One listen key per account: asking again returns the same key and extends it.
        now = self._now()
        for key, (a, _) in self.listen_keys.items():
            if a is acct:
                self.listen_keys[key] = (acct, now + LISTEN_KEY_TTL_MS)
                return {"listenKey": key}
        key = "".join(self.hub.ids_rng.choice(self._key_alphabet) for _ in range(64))
        self.listen_keys[key] = (acct, now + LISTEN_KEY_TTL_MS)
        if self.on_listen_key is not None:
            self.on_listen_key(key, acct)
        return {"listenKey": key}

    def listen_key_keep(self, acct: Account, params: Params) -> dict[str, Any]:
        now = self._now()
        for key, (a, exp) in list(self.listen_keys.items()):
            if a is acct and exp > now:
                self.listen_keys[key] = (acct, now + LISTEN_KEY_TTL_MS)
                return {"listenKey": key}
        raise BinanceError(-1125, "This listenKey does not exist.")

    def listen_key_close(self, acct: Account, params: Params) -> dict[str, Any]:
        for key, (a, _) in list(self.listen_keys.items()):
            if a is acct:
                del self.listen_keys[key]
        return {}

    # -- spot ----------------------------------------------------------------------------------

    def spot_exchange_info(self, params: Params) -> dict[str, Any]:
        symbols = []
        for c in self.coins:
            p = self.hub.model.coin(c).params
            tick = fmt_trim(p.spot_tick, tick_decimals(p.spot_tick))
            symbols.append(
                {
                    "symbol": spot_symbol(c),
                    "status": "TRADING",
                    "baseAsset": c,
                    "baseAssetPrecision": 8,
                    "quoteAsset": "USDT",
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": [
                        "LIMIT",
                        "LIMIT_MAKER",
                        "MARKET",
                        "STOP_LOSS_LIMIT",
                        "TAKE_PROFIT_LIMIT",
                    ],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": tick,
                            "maxPrice": "1000000.00000000",
                            "tickSize": tick,
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": "0.00001000",
                            "maxQty": "9000.00000000",
                            "stepSize": "0.00001000",
                        },
                    ],
                    "permissions": [],
                    "permissionSets": [["SPOT"]],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": [
                        "EXPIRE_TAKER",
                        "EXPIRE_MAKER",
                        "EXPIRE_BOTH",
                    ],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": symbols,
        }

    def spot_account(self, acct: Account, params: Params) -> dict[str, Any]:
        omit_zero = params.get("omitZeroBalances", "false").lower() == "true"
        balances = [
            {"asset": c, "free": coin_str(v), "locked": "0.00000000"}
            for c, v in sorted(acct.spot.items())
            if not omit_zero or v
        ]
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": "0.00100000",
                "taker": "0.00100000",
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.hub.now_ms(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 1,
        }


def _split_signature(total: str) -> tuple[str, str | None]:
    """``total`` without its ``signature=`` parameter, and the signature (None: absent)."""
    parts = total.split("&")
    for i, part in enumerate(parts):
        if part.startswith("signature="):
            return "&".join(parts[:i] + parts[i + 1 :]), part.removeprefix("signature=")
    return total, None
