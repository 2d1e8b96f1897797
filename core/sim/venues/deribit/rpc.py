"""Deribit's public JSON-RPC, written from Deribit's API docs (docs.deribit.com: "JSON-RPC",
"Notifications", "public/subscribe", "ticker.{instrument_name}.{interval}",
"public/set_heartbeat", "public/test", "public/get_instruments") and checked against the
recorded ``shared/fixtures/ws/deribit-*.jsonl``.

- A request ``{"jsonrpc": "2.0", "id", "method", "params"}`` is answered
  ``{"jsonrpc": "2.0", "id", "result", "usIn", "usOut", "usDiff", "testnet": false}`` or with
  an ``error`` object ``{"code", "message"[, "data"]}``: -32700 parse error, -32600 invalid
  request, -32601 method not found, -32602 invalid params (``data.reason``, ``data.param``).
- ``public/subscribe`` ``{"channels": [...]}``: the result lists the channels subscribed; a
  channel naming no instrument here (or one the ``refuse`` fault refuses) is left out.
  Channels ``ticker.<instrument>.100ms``, ``.agg2`` and ``.raw`` (on the real venue ``raw``
  needs an authorised connection; here it is served as is). Notifications
  ``{"jsonrpc": "2.0", "method": "subscription", "params": {"channel", "data"}}``, numbers
  as JSON numbers.
- ``public/set_heartbeat`` ``{"interval": s}`` (at least 10 s): every interval the server
  sends ``{"method": "heartbeat", "params": {"type": "test_request"}}``; a client that has not
  called ``public/test`` by the next one is disconnected.
- Instruments: the inverse ("reversed") ``<COIN>-PERPETUAL`` and the quarterlies
  ``<COIN>-25DEC26`` of BTC and ETH (the coins Deribit has inverse contracts of) that the
  simulator runs. Funding is continuous: ``funding_8h`` is the rate over 8 h, and
  ``current_funding`` the one of the current premium by Deribit's dead-zone rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection

from core.sim.fmt import dumps
from core.sim.hub import Hub
from core.sim.model import PerpState
from core.sim.ws import StreamConn

WS_PATH = "/ws/api/v2"
HTTP_PREFIX = "/api/v2/"
DERIBIT_COINS = ("BTC", "ETH")
INTERVALS = ("100ms", "agg2", "raw")
VERSION = "1.2.26"
PERPETUAL_EXPIRY_MS = 32_503_708_800_000  # what Deribit gives as the perpetual's expiry
DEAD_ZONE = 0.00025  # ±0.025 % (Deribit's funding rule)
MIN_HEARTBEAT_S = 10.0
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def obj(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.data is not None:
            out["data"] = self.data
        return out


def invalid(param: str, reason: str) -> RpcError:
    return RpcError(-32602, "Invalid params", {"reason": reason, "param": param})


def perpetual_name(coin: str) -> str:
    return f"{coin.upper()}-PERPETUAL"


def future_name(coin: str, expiry_ms: int) -> str:
    d = datetime.fromtimestamp(expiry_ms / 1000, UTC)
    return f"{coin.upper()}-{d.day}{MONTHS[d.month - 1]}{d:%y}"


def current_funding(premium: float) -> float:
    """Deribit: ``max(0.025 %, PR) + min(−0.025 %, PR)``, the premium beyond a dead zone."""
    return max(DEAD_ZONE, premium) + min(-DEAD_ZONE, premium)


def envelope(rid: Any, received_us: int) -> dict[str, Any]:
    out_us = time.time_ns() // 1000
    return {
        "jsonrpc": "2.0",
        "id": rid,
        "usIn": received_us,
        "usOut": out_us,
        "usDiff": out_us - received_us,
        "testnet": False,
    }


class DeribitMarket:
    """The instruments, this tick's ticker data, and the public methods that need no
    connection (served over both the websocket and HTTP)."""

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.instruments: dict[str, tuple[str, int | None]] = {}
        for c in coins:
            if c not in DERIBIT_COINS:
                continue
            self.instruments[perpetual_name(c)] = (c, None)
            for fut in hub.model.futures("deribit", c):
                assert fut.expiry_ms is not None
                self.instruments[future_name(c, fut.expiry_ms)] = (c, fut.expiry_ms)
        self.ids = {name: 124_972 + 17 * i for i, name in enumerate(self.instruments)}
        self.tickers: dict[str, dict[str, Any]] = {}

    def contract(self, name: str) -> PerpState:
        coin, expiry = self.instruments[name]
        if expiry is None:
            return self.hub.model.perp("deribit", coin)
        return next(f for f in self.hub.model.futures("deribit", coin) if f.expiry_ms == expiry)

    def refresh(self) -> None:
        m = self.hub.model
        ts = m.now_ms
        for name, (coin, expiry) in self.instruments.items():
            cs = m.coin(coin)
            c = self.contract(name)
            band = 0.015
            face = cs.params.face_usd
            data: dict[str, Any] = {
                "timestamp": ts,
                "stats": {
                    "volume_usd": float(c.volume_24h),
                    "volume": round(c.turnover_24h, 8),
                    "price_change": round((c.last / c.prev_price_24h - 1.0) * 100.0, 4)
                    if c.prev_price_24h
                    else 0.0,
                    "low": c.low_24h,
                    "high": c.high_24h,
                },
                "state": "open",
                "settlement_price": c.prev_price_24h,
                "open_interest": float(c.open_interest),
                "min_price": round(c.mark * (1 - band), 2),
                "max_price": round(c.mark * (1 + band), 2),
                "mark_price": round(c.mark, 2),
                "last_price": c.last,
                "instrument_name": name,
                "index_price": round(cs.index, 2),
                "estimated_delivery_price": round(cs.index, 2),
                "best_bid_price": c.bid,
                "best_bid_amount": float(max(face, round(c.bid_size / face) * face)),
                "best_ask_price": c.ask,
                "best_ask_amount": float(max(face, round(c.ask_size / face) * face)),
            }
            if expiry is None:
                data["funding_8h"] = round(c.funding_rate, 8)
                data["current_funding"] = round(current_funding(c.premium), 8)
                data["interest_value"] = 0.0
            self.tickers[name] = data

    # -- methods that need no connection -----------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "public/test":
            return {"version": VERSION}
        if method == "public/get_time":
            return self.hub.model.now_ms
        if method == "public/hello":
            return {"version": VERSION}
        if method == "public/get_instruments":
            return self.get_instruments(params)
        if method == "public/get_currencies":
            return [
                {"currency": c, "currency_long": c, "fee_precision": 4, "min_confirmations": 1}
                for c in dict.fromkeys(coin for coin, _ in self.instruments.values())
            ]
        if method == "public/ticker":
            name = params.get("instrument_name")
            if not isinstance(name, str) or name not in self.tickers:
                raise invalid("instrument_name", "wrong format")
            return self.tickers[name]
        raise RpcError(-32601, "Method not found")

    def get_instruments(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        currency = params.get("currency", "any")
        kind = params.get("kind")
        if not isinstance(currency, str) or (
            currency.upper() not in (*DERIBIT_COINS, "ANY", "USDC", "USDT", "EURR")
        ):
            raise invalid("currency", "wrong format")
        if kind is not None and kind not in (
            "future",
            "option",
            "spot",
            "future_combo",
            "option_combo",
        ):
            raise invalid("kind", "wrong format")
        rows: list[dict[str, Any]] = []
        if kind not in (None, "future"):
            return rows
        m = self.hub.model
        for name, (coin, expiry) in self.instruments.items():
            if currency.upper() not in ("ANY", coin):
                continue
            p = m.coin(coin).params
            btc = coin == "BTC"
            rows.append(
                {
                    "tick_size": p.perp_tick,
                    "tick_size_steps": [],
                    "taker_commission": 0.0005,
                    "settlement_period": "perpetual" if expiry is None else "month",
                    "settlement_currency": coin,
                    "rfq": False,
                    "quote_currency": "USD",
                    "price_index": f"{coin.lower()}_usd",
                    "min_trade_amount": 10 if btc else 1,
                    "max_liquidation_commission": 0.0075,
                    "max_leverage": 50,
                    "maker_commission": 0.0 if expiry is None else -0.0001,
                    "kind": "future",
                    "is_active": True,
                    "instrument_name": name,
                    "instrument_id": self.ids[name],
                    "future_type": "reversed",
                    "instrument_type": "reversed",
                    "expiration_timestamp": expiry if expiry is not None else PERPETUAL_EXPIRY_MS,
                    "creation_timestamp": 1_534_242_287_000,
                    "counter_currency": "USD",
                    "contract_size": 10 if btc else 1,
                    "block_trade_tick_size": 0.01,
                    "block_trade_min_trade_amount": 200_000 if btc else 100_000,
                    "block_trade_commission": 0.00025,
                    "base_currency": coin,
                }
            )
        return rows

    def channel_instrument(self, channel: str) -> str | None:
        """The instrument of a ticker channel this host serves, or None."""
        parts = channel.split(".")
        if len(parts) != 3 or parts[0] != "ticker" or parts[2] not in INTERVALS:
            return None
        return parts[1] if parts[1] in self.instruments else None


class DeribitConn(StreamConn):
    """One JSON-RPC websocket client: its subscriptions and its heartbeat."""

    def __init__(
        self, hub: Hub, ws: ServerConnection, market: DeribitMarket, *, min_heartbeat_s: float
    ) -> None:
        super().__init__(hub, ws)
        self.market = market
        self.channels: dict[str, None] = {}
        self.min_heartbeat_s = min_heartbeat_s
        self._heartbeat: asyncio.Task[None] | None = None
        self._answered = True  # the last test_request was answered with public/test
        self.heartbeats_sent = 0

    async def on_message(self, text: str) -> None:
        received_us = time.time_ns() // 1000
        try:
            req = json.loads(text)
        except ValueError:
            await self._error(None, RpcError(-32700, "Parse error"), received_us)
            return
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            rid = req.get("id") if isinstance(req, dict) else None
            await self._error(rid, RpcError(-32600, "Invalid Request"), received_us)
            return
        rid = req.get("id")
        method = req["method"]
        params = req.get("params", {})
        if not isinstance(params, dict):
            await self._error(rid, invalid("params", "must be an object"), received_us)
            return
        try:
            result, fresh = self._dispatch(method, params)
        except RpcError as exc:
            await self._error(rid, exc, received_us)
            return
        await self.reply({**envelope(rid, received_us), "result": result})
        for frame in self._frames(fresh):
            await self.send_data(frame)

    def _dispatch(self, method: str, params: dict[str, Any]) -> tuple[Any, list[str]]:
        if method in ("public/subscribe", "public/unsubscribe"):
            channels = params.get("channels")
            if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
                raise invalid("channels", "must be a list of strings")
            if method == "public/unsubscribe":
                gone = [c for c in channels if c in self.channels]
                for c in gone:
                    del self.channels[c]
                return gone, []
            ok: list[str] = []
            for ch in channels:
                name = self.market.channel_instrument(ch)
                if name is None or self.hub.chaos.refuses(self.market.instruments[name][0], name):
                    self.hub.stats.refused += 1
                    continue
                self.channels[ch] = None
                ok.append(ch)
            return ok, ok
        if method == "public/unsubscribe_all":
            self.channels.clear()
            return "ok", []
        if method == "public/set_heartbeat":
            interval = params.get("interval")
            if isinstance(interval, bool) or not isinstance(interval, int | float):
                raise invalid("interval", "must be a number")
            if interval < self.min_heartbeat_s:
                raise invalid("interval", f"must be at least {self.min_heartbeat_s:g}")
            self._start_heartbeat(float(interval))
            return "ok", []
        if method == "public/disable_heartbeat":
            self._stop_heartbeat()
            return "ok", []
        if method == "public/test":
            self._answered = True
        return self.market.call(method, params), []

    async def _error(self, rid: Any, exc: RpcError, received_us: int) -> None:
        await self.reply({**envelope(rid, received_us), "error": exc.obj()})

    # -- data ----------------------------------------------------------------------------

    def tick_frames(self) -> list[str]:
        return self._frames(list(self.channels))

    def _frames(self, channels: list[str]) -> list[str]:
        out: list[str] = []
        for ch in channels:
            name = ch.split(".")[1]
            data = self.market.tickers.get(name)
            if data is None:
                continue
            out.append(
                dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "subscription",
                        "params": {"channel": ch, "data": data},
                    }
                )
            )
        return out

    # -- heartbeat -----------------------------------------------------------------------

    def _start_heartbeat(self, interval_s: float) -> None:
        self._stop_heartbeat()
        self._answered = True
        self._heartbeat = asyncio.create_task(self._beat(interval_s))

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def _beat(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            if self.hub.stalled():
                continue
            if not self._answered:
                # Deribit: no public/test after a test_request, the connection is closed.
                await self.ws.close(1000, "heartbeat: no public/test")
                return
            self._answered = False
            self.heartbeats_sent += 1
            await self.reply(
                {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
            )

    async def closed(self) -> None:
        task = self._heartbeat
        self._stop_heartbeat()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
