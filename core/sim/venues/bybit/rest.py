"""Bybit v5 REST, the subset ccxt calls (``shared/research/ccxt-bybit-rest.md`` lists each
request), written from Bybit's docs (``bybit-exchange/docs``: v5/guide, v5/error, v5/rate-limit,
v5/market/*, v5/account/*, v5/position/*, v5/order/*).

- Envelope ``{"retCode", "retMsg", "result", "retExtInfo", "time"}``, HTTP 200 also for errors.
- Signed requests carry ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW``,
  ``X-BAPI-SIGN`` = hex HMAC-SHA256(secret, timestamp + key + recvWindow + (raw query | raw
  body)). Checked in this order: missing parts 10001, unknown key 10003, timestamp outside
  ``[server − recvWindow, server + 1000)`` 10002, signature 10004. The server time is the API
  clock (the wall clock: what a client can know and sync to with ``/v5/market/time``), never
  the accelerated market clock, which stamps the data (orders, fills, funding).
- Rate limits per UID and endpoint over a rolling second (``X-Bapi-Limit``,
  ``X-Bapi-Limit-Status``, ``X-Bapi-Limit-Reset-Timestamp``); over it, retCode 10006
  "Too many visits!".
- Inverse only for contracts (``category=inverse``); ``spot`` for instruments and tickers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Awaitable, Callable
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
from core.sim.fmt import dumps, fmt_trim, tick_decimals
from core.sim.http import Handler, RestHost, Window
from core.sim.hub import Hub
from core.sim.seed import ListingSeed
from core.sim.venues.bybit.margin import risk_tiers
from core.sim.venues.bybit.public import PublicTickers, inverse_symbol, spot_symbol
from core.sim.venues.bybit.rows import MAX_PRICE, STATUS, Rows

FUTURE_SKEW_MS = 1000  # Bybit: a timestamp may lead the server by less than 1 s
DEFAULT_RECV_WINDOW = 5000

# Per UID, per endpoint, per second (v5/rate-limit, inverse): orders 10/s, queries 50/s.
LIMITS: dict[str, int] = {
    "/v5/order/create": 10,
    "/v5/order/cancel": 10,
}
QUERY_LIMIT = 50

REJECT = {
    RejectReason.DUPLICATE_CLIENT_ID: (110072, "OrderLinkedID is duplicate"),
    RejectReason.INSUFFICIENT_MARGIN: (110007, "ab not enough for new order"),
    RejectReason.REDUCE_ONLY_INCREASE: (
        110017,
        "Reduce-only rule not satisfied: current position is zero or the order would increase it",
    ),
    RejectReason.UNKNOWN_ORDER: (110001, "Order does not exist"),
    RejectReason.BAD_QTY: (10001, "params error: Qty invalid"),
    RejectReason.BAD_PRICE: (10001, "params error: price invalid"),
    RejectReason.NOT_CANCELABLE: (110001, "Order does not exist"),
    RejectReason.POST_ONLY_WOULD_TAKE: (110008, "Post-only order would take liquidity"),
    RejectReason.FOK_UNFILLABLE: (110009, "FOK order cannot be filled in full"),
    RejectReason.NO_POSITION: (110033, "no position, cannot set margin"),
    RejectReason.CROSS_MARGIN: (110015, "the position is in cross_margin"),
    RejectReason.WOULD_LIQUIDATE: (
        110011,
        "Any adjustments made will trigger immediate liquidation",
    ),
}


class BybitError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg


class BybitRest:
    """The ``api.bybit.com`` host."""

    def __init__(
        self,
        hub: Hub,
        coins: tuple[str, ...],
        tickers: PublicTickers,
        accounts: Accounts,
        *,
        rate_limits: bool = True,
    ) -> None:
        self.hub = hub
        self.coins = coins
        self.tickers = tickers
        self.accounts = accounts
        self.rate_limits = rate_limits
        self.rows = Rows({c: hub.model.coin(c).params.perp_tick for c in coins})
        self.windows: dict[tuple[str, str], Window] = {}
        self.by_symbol = {inverse_symbol(c): c for c in coins}
        self.listings: dict[str, ListingSeed] = {}
        public: dict[str, Callable[[dict[str, str]], Awaitable[dict[str, Any]]]] = {
            "/v5/market/time": self.market_time,
            "/v5/market/instruments-info": self.instruments,
            "/v5/market/tickers": self.market_tickers,
            "/v5/market/risk-limit": self.risk_limit,
            "/v5/market/funding/history": self.funding_history,
        }
        private: dict[tuple[str, str], Callable[[Account, dict[str, Any]], dict[str, Any]]] = {
            ("GET", "/v5/user/query-api"): self.query_api,
            ("GET", "/v5/account/info"): self.account_info,
            ("GET", "/v5/account/wallet-balance"): self.wallet_balance,
            ("GET", "/v5/position/list"): self.position_list,
            ("GET", "/v5/order/realtime"): self.order_realtime,
            ("GET", "/v5/order/history"): self.order_history,
            ("GET", "/v5/execution/list"): self.execution_list,
            ("GET", "/v5/account/transaction-log"): self.transaction_log,
            ("GET", "/v5/account/contract-transaction-log"): self.transaction_log,
            ("GET", "/v5/position/closed-pnl"): self.closed_pnl,
            ("POST", "/v5/order/create"): self.order_create,
            ("POST", "/v5/order/cancel"): self.order_cancel,
            ("POST", "/v5/position/set-leverage"): self.set_leverage,
            ("POST", "/v5/position/add-margin"): self.add_margin,
        }
        routes: dict[tuple[str, str], Handler] = {}
        for path, fn in public.items():
            routes[("GET", path)] = self._public(fn)
        for (method, path), pfn in private.items():
            routes[(method, path)] = self._private(path, pfn)
        self.host = RestHost(hub, routes)

    # -- envelope, auth, limits ----------------------------------------------------------------

    def _envelope(
        self, code: int, msg: str, result: dict[str, Any], headers: dict[str, str] | None = None
    ) -> web.Response:
        now = self.hub.api_clock_ms()
        body = {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now}
        h = {"Timenow": str(now)}
        if headers:
            h.update(headers)
        return web.Response(text=dumps(body), content_type="application/json", headers=h)

    def _error(self, err: BybitError, headers: dict[str, str] | None = None) -> web.Response:
        return self._envelope(err.code, err.msg, {}, headers)

    def _public(self, fn: Callable[[dict[str, str]], Awaitable[dict[str, Any]]]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            params = dict(parse_qsl(request.raw_path.partition("?")[2], keep_blank_values=True))
            try:
                result = await fn(params)
            except BybitError as err:
                return self._error(err)
            return self._envelope(0, "OK", result)

        return handle

    def _private(
        self, path: str, fn: Callable[[Account, dict[str, Any]], dict[str, Any]]
    ) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            raw_query = request.raw_path.partition("?")[2]
            body = await request.text() if request.method == "POST" else ""
            try:
                key, acct = self._authenticate(request, raw_query, body)
            except BybitError as err:
                self.hub.stats.auth_failures += 1
                return self._error(err)
            limit_headers, allowed = self._rate(key, path)
            if not allowed or self.host.chaos_ratelimited():
                self.hub.stats.rate_limited += 1
                return self._error(BybitError(10006, "Too many visits!"), limit_headers)
            try:
                if request.method == "POST":
                    try:
                        params = json.loads(body) if body else {}
                    except ValueError:
                        raise BybitError(10001, "params error: request body is not JSON") from None
                    if not isinstance(params, dict):
                        raise BybitError(10001, "params error: request body is not an object")
                else:
                    params = dict(parse_qsl(raw_query, keep_blank_values=True))
                result = fn(acct, params)
            except BybitError as err:
                return self._error(err, limit_headers)
            except AccountError as err:
                code, msg = REJECT[err.reason]
                return self._error(BybitError(code, msg), limit_headers)
            return self._envelope(0, "OK", result, limit_headers)

        return handle

    def _authenticate(self, request: web.Request, raw_query: str, body: str) -> tuple[str, Account]:
        h = request.headers
        key = h.get("X-BAPI-API-KEY", "")
        ts = h.get("X-BAPI-TIMESTAMP", "")
        sign = h.get("X-BAPI-SIGN", "")
        recv = h.get("X-BAPI-RECV-WINDOW", "")
        if not key or not ts or not sign:
            raise BybitError(10001, "params error: missing X-BAPI-API-KEY, TIMESTAMP or SIGN")
        found = self.accounts.get(key)
        if found is None:
            raise BybitError(10003, "API key is invalid.")
        secret, acct = found
        try:
            ts_ms = int(ts)
            window = int(recv) if recv else DEFAULT_RECV_WINDOW
        except ValueError:
            raise BybitError(10001, "params error: timestamp or recv_window not a number") from None
        server = self.hub.api_clock_ms()
        if not (server - window <= ts_ms < server + FUTURE_SKEW_MS):
            raise BybitError(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts_ms}],server_timestamp[{server}],recv_window[{window}]",
            )
        payload = ts + key + recv + (body if request.method == "POST" else raw_query)
        want = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sign.lower()):
            raise BybitError(10004, "error sign! origin_string[" + payload + "]")
        return key, acct

    def _rate(self, key: str, path: str) -> tuple[dict[str, str], bool]:
        limit = LIMITS.get(path, QUERY_LIMIT)
        w = self.windows.setdefault((key, path), Window(limit, 1000))
        now = self.hub.limit_clock_ms()
        ok = w.take(now) if self.rate_limits else True
        headers = {
            "X-Bapi-Limit": str(limit),
            "X-Bapi-Limit-Status": str(max(0, limit - w.used(now))),
            "X-Bapi-Limit-Reset-Timestamp": str(w.reset_at(now) if not ok else now),
        }
        return headers, ok

    # -- helpers -------------------------------------------------------------------------------

    def _category(self, params: dict[str, Any], *allowed: str) -> str:
        cat = str(params.get("category", ""))
        if cat not in allowed:
            raise BybitError(10001, f"params error: category only support {','.join(allowed)}")
        return cat

    def _coin(self, symbol: str) -> str:
        coin = self.by_symbol.get(symbol.upper())
        if coin is None:
            raise BybitError(10001, f"params error: symbol invalid {symbol}")
        return coin

    @staticmethod
    def _limit(params: dict[str, Any], default: int, top: int) -> int:
        raw = params.get("limit", params.get("size", default))
        try:
            n = int(raw)
        except (TypeError, ValueError):
            raise BybitError(10001, f"params error: limit invalid {raw!r}") from None
        return max(1, min(top, n))

    @staticmethod
    def _span(params: dict[str, Any]) -> tuple[int | None, int | None]:
        def num(k: str) -> int | None:
            v = params.get(k)
            if v in (None, ""):
                return None
            try:
                return int(v)
            except (TypeError, ValueError):
                raise BybitError(10001, f"params error: {k} invalid {v!r}") from None

        return num("startTime"), num("endTime")

    # -- public --------------------------------------------------------------------------------

    async def market_time(self, params: dict[str, str]) -> dict[str, Any]:
        now = self.hub.api_clock_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    async def instruments(self, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params, "inverse", "spot", "linear", "option")
        symbol = params.get("symbol", "").upper()
        rows: list[dict[str, Any]] = []
        wanted = params.get("status") or "Trading"  # Bybit lists Trading ones by default
        if cat == "inverse":
            for c in self.coins:
                if symbol and symbol != inverse_symbol(c):
                    continue
                listing = self.listings.get(c, ListingSeed())
                status = listing.status or "Trading"
                if status != wanted:
                    continue
                p = self.hub.model.coin(c).params
                tick = fmt_trim(p.perp_tick, tick_decimals(p.perp_tick))
                tier = risk_tiers(c)[0]
                rows.append(
                    {
                        "symbol": inverse_symbol(c),
                        "contractType": "InversePerpetual",
                        "status": status,
                        "baseCoin": c,
                        "quoteCoin": "USD",
                        "launchTime": "1585526400000",
                        # non-zero on a perpetual: the time it is delisted
                        "deliveryTime": str(listing.delivery_ms),
                        "deliveryFeeRate": "",
                        "priceScale": str(tick_decimals(p.perp_tick)),
                        "leverageFilter": {
                            "minLeverage": "1",
                            "maxLeverage": fmt_trim(tier.max_leverage, 2),
                            "leverageStep": "0.01",
                        },
                        "priceFilter": {
                            "minPrice": tick,
                            "maxPrice": fmt_trim(MAX_PRICE, 0),
                            "tickSize": tick,
                        },
                        "lotSizeFilter": {
                            "maxOrderQty": "1000000",
                            "minOrderQty": "1",
                            "qtyStep": "1",
                            "postOnlyMaxOrderQty": "5000000",
                        },
                        "unifiedMarginTrade": False,
                        "fundingInterval": self.hub.model.params.funding_interval_ms // 60_000,
                        "settleCoin": c,
                        "copyTrading": "none",
                        "upperFundingRate": "0.005",
                        "lowerFundingRate": "-0.005",
                    }
                )
        elif cat == "spot":
            for c in self.coins:
                if symbol and symbol != spot_symbol(c):
                    continue
                p = self.hub.model.coin(c).params
                rows.append(
                    {
                        "symbol": spot_symbol(c),
                        "baseCoin": c,
                        "quoteCoin": "USDT",
                        "innovation": "0",
                        "status": "Trading",
                        "marginTrading": "both",
                        "lotSizeFilter": {
                            "basePrecision": "0.000001",
                            "quotePrecision": "0.00000001",
                            "minOrderQty": "0.000048",
                            "maxOrderQty": "71.73956243",
                            "minOrderAmt": "1",
                            "maxOrderAmt": "2000000",
                        },
                        "priceFilter": {
                            "tickSize": fmt_trim(p.spot_tick, tick_decimals(p.spot_tick))
                        },
                    }
                )
        out: dict[str, Any] = {"category": cat, "list": rows}
        if cat != "spot":
            out["nextPageCursor"] = ""
        return out

    async def market_tickers(self, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params, "inverse", "spot", "linear", "option")
        symbol = params.get("symbol", "").upper()
        rows: list[dict[str, Any]] = []
        if cat == "inverse":
            for c in self.coins:
                sym = inverse_symbol(c)
                if symbol and symbol != sym:
                    continue
                row = dict(self.tickers.inverse[sym])
                row["fundingIntervalHour"] = str(
                    self.hub.model.params.funding_interval_ms // 3_600_000
                )
                row["fundingCap"] = "0.005"
                rows.append(row)
        elif cat == "spot":
            m = self.hub.model
            for c in self.coins:
                sym = spot_symbol(c)
                if symbol and symbol != sym:
                    continue
                s = m.spot(c)
                d = tick_decimals(m.coin(c).params.spot_tick)
                rows.append(
                    {
                        "symbol": sym,
                        "bid1Price": fmt_trim(s.bid, d),
                        "bid1Size": fmt_trim(s.bid_qty, 6),
                        "ask1Price": fmt_trim(s.ask, d),
                        "ask1Size": fmt_trim(s.ask_qty, 6),
                        "lastPrice": fmt_trim(s.last, d),
                        "prevPrice24h": fmt_trim(s.prev_price_24h, d),
                        "highPrice24h": fmt_trim(s.high_24h, d),
                        "lowPrice24h": fmt_trim(s.low_24h, d),
                        "turnover24h": fmt_trim(s.turnover_24h, 8),
                        "volume24h": fmt_trim(s.volume_24h, 6),
                        "usdIndexPrice": fmt_trim(m.price(c), 6),
                    }
                )
        return {"category": cat, "list": rows}

    async def risk_limit(self, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params, "inverse", "linear")
        symbol = params.get("symbol", "").upper()
        rows: list[dict[str, Any]] = []
        if cat == "inverse":
            for c in self.coins:
                if symbol and symbol != inverse_symbol(c):
                    continue
                for t in risk_tiers(c):
                    rows.append(
                        {
                            "id": t.id,
                            "symbol": inverse_symbol(c),
                            "riskLimitValue": fmt_trim(t.limit, 8),
                            "maintenanceMargin": fmt_trim(t.mmr * 100, 4),
                            "initialMargin": fmt_trim(t.imr * 100, 4),
                            "isLowestRisk": 1 if t.id == 1 else 0,
                            "maxLeverage": f"{t.max_leverage:.2f}",
                            "mmDeduction": fmt_trim(t.deduction, 8) if t.deduction else "",
                        }
                    )
        return {"category": cat, "list": rows, "nextPageCursor": ""}

    async def funding_history(self, params: dict[str, str]) -> dict[str, Any]:
        self._category(params, "inverse")
        coin = self._coin(params.get("symbol", ""))
        start, end = self._span(params)
        limit = self._limit(params, 200, 200)
        rows = [
            {
                "symbol": inverse_symbol(coin),
                "fundingRate": fmt_trim(s.rate, 8),
                "fundingRateTimestamp": str(s.ts_ms),
            }
            for s in reversed(self.hub.model.settlements)
            if s.venue == "bybit"
            and s.coin == coin
            and (start is None or s.ts_ms >= start)
            and (end is None or s.ts_ms <= end)
        ]
        return {"category": "inverse", "list": rows[:limit]}

    # -- account -------------------------------------------------------------------------------

    def query_api(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "1",
            "note": "hedgetop simulator",
            "apiKey": next(k for k, (_, a) in self.accounts.by_key.items() if a is acct),
            "readOnly": 0,
            "secret": "",
            "permissions": {
                "ContractTrade": ["Order", "Position"],
                "Spot": ["SpotTrade"],
                "Wallet": ["AccountTransfer"],
                "Options": [],
                "Derivatives": [],
                "CopyTrading": [],
                "BlockTrade": [],
                "Exchange": [],
                "NFT": [],
            },
            "ips": ["*"],
            "type": 1,
            "deadlineDay": 90,
            "expiredAt": "",
            "createdAt": "",
            "unified": 0,
            "uta": 1 if acct.unified else 0,
            "userID": 1,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
        }

    def account_info(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "unifiedMarginStatus": 6 if acct.unified else 1,
            "marginMode": "REGULAR_MARGIN",
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": str(self.hub.now_ms()),
            "dcpStatus": "OFF",
            "timeWindow": 0,
            "smpGroup": 0,
        }

    def wallet_balance(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        kind = str(params.get("accountType", ""))
        wanted = {c.strip().upper() for c in str(params.get("coin", "")).split(",") if c.strip()}
        if kind == "UNIFIED" and not acct.unified:
            raise BybitError(10001, "accountType only support CONTRACT, SPOT for a classic account")
        if kind in ("CONTRACT", "UNIFIED"):
            unified = kind == "UNIFIED"
            coins = sorted(set(acct.coins()) | (set(acct.spot) if unified else set()))
            rows = [
                self.rows.wallet_coin(acct, c, unified=unified)
                for c in coins
                if not wanted or c in wanted
            ]
        elif kind == "SPOT":
            rows = [
                self.rows.spot_coin(acct, c) for c in sorted(acct.spot) if not wanted or c in wanted
            ]
        else:
            raise BybitError(10001, f"params error: accountType invalid {kind!r}")
        usd = sum(float(r.get("usdValue") or 0) for r in rows)
        blank = "" if kind != "UNIFIED" else fmt_trim(usd, 4)
        return {
            "list": [
                {
                    "accountType": kind,
                    "accountLTV": "",
                    "accountIMRate": "",
                    "accountMMRate": "",
                    "totalEquity": blank,
                    "totalWalletBalance": blank,
                    "totalMarginBalance": blank,
                    "totalAvailableBalance": blank,
                    "totalPerpUPL": blank,
                    "totalInitialMargin": blank,
                    "totalMaintenanceMargin": blank,
                    "coin": rows,
                }
            ]
        }

    def position_list(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        if self._category(params, "inverse", "linear") == "linear":
            return {"category": "linear", "list": [], "nextPageCursor": ""}
        symbol = str(params.get("symbol", ""))
        settle = str(params.get("settleCoin", "")).upper()
        if symbol:
            coins = [self._coin(symbol)]
        else:
            coins = [c for c in self.coins if (not settle or c == settle)]
            # Without a symbol Bybit lists the positions that are open.
            coins = [c for c in coins if c in acct.positions and acct.positions[c].size]
        rows = [self.rows.position(acct, c) for c in coins]
        return {"category": "inverse", "list": rows, "nextPageCursor": ""}

    def set_leverage(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        self._category(params, "inverse")
        coin = self._coin(str(params.get("symbol", "")))
        try:
            lev = float(params.get("buyLeverage", params.get("sellLeverage", "")))
        except (TypeError, ValueError):
            raise BybitError(10001, "params error: leverage invalid") from None
        top = risk_tiers(coin)[0].max_leverage
        if not 1 <= lev <= top:
            raise BybitError(10001, f"params error: leverage must be between 1 and {top:g}")
        if acct.leverages.get(coin) == lev:
            raise BybitError(110043, "leverage not modified")
        acct.leverages[coin] = lev
        pos = acct.position(coin)
        if not pos.size:
            pos.leverage = lev
        return {}

    def add_margin(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        """v5/position/manual-add-margin: ``margin`` > 0 adds, < 0 reduces, up to 4 decimals
        (isolated margin only; one-way mode, ``positionIdx`` 0). Answers the position."""
        self._category(params, "inverse")
        coin = self._coin(str(params.get("symbol", "")))
        raw = str(params.get("margin", ""))
        try:
            amount = float(raw)
        except ValueError:
            raise BybitError(10001, f"params error: margin invalid {raw!r}") from None
        if not math.isfinite(amount) or amount == 0 or round(amount, 4) != amount:
            raise BybitError(10001, f"params error: margin invalid {raw!r}")
        if str(params.get("positionIdx", "0")) != "0":
            raise BybitError(10001, "params error: positionIdx invalid (one-way mode)")
        acct.move_margin(coin, amount)
        return self.rows.position(acct, coin)

    # -- orders --------------------------------------------------------------------------------

    def order_create(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        self._category(params, "inverse")
        coin = self._coin(str(params.get("symbol", "")))
        side_s = str(params.get("side", ""))
        if side_s not in ("Buy", "Sell"):
            raise BybitError(10001, f"params error: side invalid {side_s!r}")
        kind = str(params.get("orderType", ""))
        if kind not in ("Market", "Limit"):
            raise BybitError(10001, f"params error: orderType invalid {kind!r}")
        try:
            qty_f = float(str(params.get("qty", "")))
        except ValueError:
            raise BybitError(10001, "params error: Qty invalid") from None
        if not qty_f.is_integer():
            raise BybitError(10001, "params error: Qty invalid")
        price: float | None = None
        if kind == "Limit":
            try:
                price = float(str(params.get("price", "")))
            except ValueError:
                raise BybitError(10001, "params error: price invalid") from None
            tick = self.hub.model.coin(coin).params.perp_tick
            if abs(price / tick - round(price / tick)) > 1e-6:
                raise BybitError(10001, f"params error: price must be a multiple of {tick:g}")
        tif_s = str(params.get("timeInForce", "GTC"))
        tif = {
            "GTC": TimeInForce.GTC,
            "IOC": TimeInForce.IOC,
            "FOK": TimeInForce.FOK,
            "PostOnly": TimeInForce.POST_ONLY,
        }.get(tif_s)
        if tif is None:
            raise BybitError(10001, f"params error: timeInForce invalid {tif_s!r}")
        link = str(params.get("orderLinkId", ""))
        if len(link) > 36:
            raise BybitError(10001, "params error: orderLinkId is longer than 36 characters")
        reduce_only = params.get("reduceOnly") in (True, "true", "True", 1, "1")
        order = acct.place(
            coin,
            Side.BUY if side_s == "Buy" else Side.SELL,
            OrderType.MARKET if kind == "Market" else OrderType.LIMIT,
            int(qty_f),
            price,
            reduce_only=reduce_only,
            client_id=link,
            tif=tif,
        )
        return {"orderId": order.id, "orderLinkId": order.client_id}

    def order_cancel(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        self._category(params, "inverse")
        self._coin(str(params.get("symbol", "")))
        oid = str(params.get("orderId", ""))
        link = str(params.get("orderLinkId", ""))
        if not oid and not link:
            raise BybitError(10001, "params error: orderId or orderLinkId is required")
        order = acct.cancel(oid or None, link or None)
        return {"orderId": order.id, "orderLinkId": order.client_id}

    def _orders(self, acct: Account, params: dict[str, Any], *, open_only: bool) -> dict[str, Any]:
        if self._category(params, "inverse", "linear") == "linear":
            return {"category": "linear", "list": [], "nextPageCursor": ""}
        symbol = str(params.get("symbol", ""))
        coin = self._coin(symbol) if symbol else None
        settle = str(params.get("settleCoin", "")).upper()
        oid = str(params.get("orderId", ""))
        link = str(params.get("orderLinkId", ""))
        status = str(params.get("orderStatus", ""))
        start, end = self._span(params)
        limit = self._limit(params, 20, 50)
        if settle and settle not in self.coins and coin is None:
            return {"category": "inverse", "list": [], "nextPageCursor": ""}
        rows: list[dict[str, Any]] = []
        for o in sorted(acct.orders.values(), key=lambda o: o.created_ms, reverse=True):
            if coin is not None and o.coin != coin:
                continue
            if settle and o.coin != settle:
                continue
            if oid and o.id != oid:
                continue
            if link and o.client_id != link:
                continue
            by_id = bool(oid or link)
            # realtime: open orders, or any order when asked by id; history: any order.
            if open_only and not by_id and not o.status.open:
                continue
            if status and STATUS[o.status] not in status.split(","):
                continue
            if start is not None and o.created_ms < start:
                continue
            if end is not None and o.created_ms > end:
                continue
            rows.append(self.rows.order(o))
            if len(rows) >= limit:
                break
        return {"category": "inverse", "list": rows, "nextPageCursor": ""}

    def order_realtime(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        return self._orders(acct, params, open_only=True)

    def order_history(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        return self._orders(acct, params, open_only=False)

    def execution_list(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        if self._category(params, "inverse", "linear") == "linear":
            return {"category": "linear", "list": [], "nextPageCursor": ""}
        symbol = str(params.get("symbol", ""))
        coin = self._coin(symbol) if symbol else None
        exec_type = str(params.get("execType", ""))
        oid = str(params.get("orderId", ""))
        start, end = self._span(params)
        limit = self._limit(params, 50, 100)
        names = {
            "Trade": ExecKind.TRADE,
            "Funding": ExecKind.FUNDING,
            "BustTrade": ExecKind.LIQUIDATION,
        }
        rows: list[dict[str, Any]] = []
        for ex in reversed(acct.executions):
            if coin is not None and ex.coin != coin:
                continue
            if exec_type and names.get(exec_type) is not ex.kind:
                continue
            if oid and ex.order_id != oid:
                continue
            if start is not None and ex.ts_ms < start:
                continue
            if end is not None and ex.ts_ms > end:
                continue
            rows.append(self.rows.execution(ex))
            if len(rows) >= limit:
                break
        return {"category": "inverse", "list": rows, "nextPageCursor": ""}

    def transaction_log(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        cur = str(params.get("currency", params.get("coin", params.get("baseCoin", "")))).upper()
        kind = str(params.get("type", ""))
        start, end = self._span(params)
        start_date = str(params.get("start_date", ""))
        if start is None and start_date:
            try:
                start = int(time.mktime(time.strptime(start_date, "%Y-%m-%d")) * 1000)
            except ValueError:
                raise BybitError(
                    10001, f"params error: start_date invalid {start_date!r}"
                ) from None
        limit = self._limit(params, 20, 50)
        types = {
            "TRADE": ExecKind.TRADE,
            "SETTLEMENT": ExecKind.FUNDING,
            "LIQUIDATION": ExecKind.LIQUIDATION,
        }
        rows: list[dict[str, Any]] = []
        for e in reversed(acct.ledger):
            if cur and e.coin != cur:
                continue
            if kind and types.get(kind) is not e.kind:
                continue
            if start is not None and e.ts_ms < start:
                continue
            if end is not None and e.ts_ms > end:
                continue
            rows.append(self.rows.ledger(e))
            if len(rows) >= limit:
                break
        return {"list": rows, "nextPageCursor": ""}

    def closed_pnl(self, acct: Account, params: dict[str, Any]) -> dict[str, Any]:
        self._category(params, "inverse")
        symbol = str(params.get("symbol", ""))
        coin = self._coin(symbol) if symbol else None
        start, end = self._span(params)
        limit = self._limit(params, 50, 100)
        rows: list[dict[str, Any]] = []
        for c in reversed(acct.closed_pnl):
            if coin is not None and c.coin != coin:
                continue
            if start is not None and c.ts_ms < start:
                continue
            if end is not None and c.ts_ms > end:
                continue
            rows.append(self.rows.closed_pnl(c))
            if len(rows) >= limit:
                break
        return {"category": "inverse", "list": rows, "nextPageCursor": ""}
