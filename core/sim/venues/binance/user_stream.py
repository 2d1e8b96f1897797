"""Binance COIN-M user data stream (``wss://dstream.binance.com/ws/<listenKey>``), from Binance's
docs (coin-margined-futures/user-data-streams: Start/Keepalive/Close User Data Stream,
Event-Balance-and-Position-Update, Event-Order-Update, Event-Margin-Call,
Event-User-Data-Stream-Expired).

- A listen key comes from ``POST /dapi/v1/listenKey`` and lives 60 minutes on the API clock
  unless ``PUT`` extends it; when it lapses the stream says ``listenKeyExpired`` and closes.
- ``ORDER_TRADE_UPDATE`` for each order event (``x``: NEW, TRADE, CANCELED, EXPIRED;
  liquidation orders are type ``LIQUIDATION`` with a ``autoclose-`` client id), then
  ``ACCOUNT_UPDATE`` with the reason ``m`` (ORDER, FUNDING_FEE) and the coin's balance ``B``
  and position ``P``; ``MARGIN_CALL`` when the maintenance margin nears the margin balance.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection

from core.sim.accounts import (
    Account,
    AccountEvent,
    EventKind,
    ExecKind,
    OrderStatus,
    OrderType,
    WalletReason,
)
from core.sim.fmt import coin_str, dumps, fmt_trim
from core.sim.hub import Hub
from core.sim.seed import MarginMode
from core.sim.venues.binance.public import perp_symbol
from core.sim.venues.binance.rest import BinanceRest
from core.sim.venues.binance.rows import STATUS, TIF, Rows, side_text
from core.sim.ws import StreamConn

ALIAS = "SgsR"
REASON = {
    WalletReason.ORDER: "ORDER",
    WalletReason.FUNDING: "FUNDING_FEE",
    WalletReason.LIQUIDATION: "ORDER",
}


class UserConn(StreamConn):
    def __init__(self, hub: Hub, ws: ServerConnection, key: str, account: Account, rows: Rows):
        super().__init__(hub, ws)
        self.key = key
        self.account = account
        self.rows = rows
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.trade_ids = 0

    async def on_message(self, text: str) -> None:
        # The user stream takes the same live methods as market streams; it has none to list.
        try:
            req = json.loads(text)
        except ValueError:
            await self.reply({"code": 3, "msg": "Invalid JSON: expected value", "id": None})
            return
        rid = req.get("id") if isinstance(req, dict) else None
        await self.reply({"result": None, "id": rid})

    async def write_loop(self) -> None:
        hub = self.hub
        while True:
            frame = await self.queue.get()
            if frame is None:
                await self.ws.close(1000, "listenKeyExpired")
                return
            while hub.stalled():
                await asyncio.sleep(0.05)
            await self.ws.send(frame)
            hub.stats.private_frames += 1

    def expire(self) -> None:
        now = self.hub.now_ms()
        self.queue.put_nowait(dumps({"e": "listenKeyExpired", "E": now, "listenKey": self.key}))
        self.queue.put_nowait(None)

    def push(self, ev: AccountEvent) -> None:
        msg = self._frame(ev)
        if msg is not None:
            self.queue.put_nowait(dumps(msg))

    def _frame(self, ev: AccountEvent) -> dict[str, Any] | None:
        acct = self.account
        now = self.hub.now_ms()
        if ev.kind is EventKind.ORDER and ev.order is not None:
            o = ev.order
            x = {
                OrderStatus.NEW: "NEW",
                OrderStatus.CANCELED: "CANCELED",
                OrderStatus.PARTIALLY_FILLED_CANCELED: "EXPIRED",
            }.get(o.status)
            if x is None:
                return None  # fills are told by their TRADE update
            return self._order_update(ev, x, now)
        if ev.kind is EventKind.EXECUTION and ev.execution is not None:
            if ev.execution.kind is ExecKind.FUNDING:
                return None  # funding is an ACCOUNT_UPDATE (FUNDING_FEE)
            return self._order_update(ev, "TRADE", now)
        if ev.kind is EventKind.WALLET:
            return self._account_update(ev, now)
        if ev.kind is EventKind.MARGIN_CALL:
            pos = acct.position(ev.coin)
            mark = acct.mark(ev.coin)
            iso = pos.mode is MarginMode.ISOLATED
            return {
                "e": "MARGIN_CALL",
                "E": now,
                "i": ALIAS,
                "cw": coin_str(acct.wallet.get(ev.coin, 0.0) - (pos.margin if iso else 0.0)),
                "p": [
                    {
                        "s": perp_symbol(ev.coin),
                        "ps": "BOTH",
                        "pa": str(pos.size // self.rows.faces[ev.coin]),
                        "mt": "ISOLATED" if iso else "CROSSED",
                        "iw": coin_str(pos.margin if iso else 0.0),
                        "mp": fmt_trim(mark, 8),
                        "up": coin_str(pos.upnl(mark)),
                        "mm": coin_str(acct.rules.maintenance_margin(pos, mark)),
                    }
                ],
            }
        return None

    def _order_update(self, ev: AccountEvent, x: str, now: int) -> dict[str, Any]:
        o = ev.order
        assert o is not None
        ex = ev.execution
        coin = o.coin
        rows = self.rows
        kind = (
            "LIQUIDATION"
            if o.liquidation
            else ("MARKET" if o.type is OrderType.MARKET else "LIMIT")
        )
        if ex is not None:
            self.trade_ids += 1
        return {
            "e": "ORDER_TRADE_UPDATE",
            "E": now,
            "T": ex.ts_ms if ex is not None else o.updated_ms,
            "i": ALIAS,
            "o": {
                "s": perp_symbol(coin),
                "c": f"autoclose-{o.id}" if o.liquidation else o.client_id,
                "S": side_text(o.side),
                "o": kind,
                "f": "GTC" if o.type is OrderType.MARKET else TIF[o.tif],
                "q": rows.contracts(coin, o.qty),
                "p": rows.price(coin, o.price),
                "ap": rows.price(coin, o.avg_price),
                "sp": "0",
                "x": x,
                "X": STATUS[o.status],
                "i": int(o.id),
                "l": rows.contracts(coin, ex.qty) if ex is not None else "0",
                "z": rows.contracts(coin, o.filled),
                "L": rows.price(coin, ex.price) if ex is not None else "0",
                "ma": coin,
                "N": coin,
                "n": coin_str(ex.fee) if ex is not None else "0",
                "T": ex.ts_ms if ex is not None else o.updated_ms,
                "t": int(ex.id) if ex is not None and ex.id.isdigit() else 0,
                "rp": coin_str(ex.realised) if ex is not None else "0",
                "b": "0",
                "a": "0",
                "m": bool(ex.maker) if ex is not None else False,
                "R": o.reduce_only,
                "wt": "CONTRACT_PRICE",
                "ot": kind,
                "ps": "BOTH",
                "cp": False,
                "pP": False,
                "si": 0,
                "ss": 0,
                "V": "NONE",
                "pm": "NONE",
                "gtd": 0,
            },
        }

    def _account_update(self, ev: AccountEvent, now: int) -> dict[str, Any]:
        acct = self.account
        coin = ev.coin
        pos = acct.position(coin)
        mark = acct.mark(coin)
        iso = pos.mode is MarginMode.ISOLATED
        wallet = acct.wallet.get(coin, 0.0)
        last = acct.ledger[-1] if acct.ledger and acct.ledger[-1].coin == coin else None
        change = last.change if last is not None else 0.0
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now,
            "T": last.ts_ms if last is not None else now,
            "i": ALIAS,
            "a": {
                "m": REASON[ev.reason],
                "B": [
                    {
                        "a": coin,
                        "wb": coin_str(wallet),
                        "cw": coin_str(wallet - (pos.margin if iso else 0.0)),
                        "bc": coin_str(change),
                    }
                ],
                "P": [
                    {
                        "s": perp_symbol(coin),
                        "pa": str(pos.size // self.rows.faces[coin]),
                        "ep": fmt_trim(pos.entry, 8) if pos.size else "0.0",
                        "bep": fmt_trim(pos.entry, 8) if pos.size else "0",
                        "cr": coin_str(pos.realised_cum),
                        "up": coin_str(pos.upnl(mark)),
                        "mt": "isolated" if iso else "cross",
                        "iw": coin_str(pos.margin if iso else 0.0),
                        "ps": "BOTH",
                    }
                ],
            },
        }

    async def closed(self) -> None:
        pass


class UserStreams:
    """The open user data streams; account events fan out to the streams of their account."""

    def __init__(self, hub: Hub, rest: BinanceRest) -> None:
        self.hub = hub
        self.rest = rest
        self.conns: set[UserConn] = set()
        for acct in rest.accounts.all():
            acct.listeners.append(self._listener(acct))

    def _listener(self, acct: Account) -> Any:
        def fan_out(ev: AccountEvent) -> None:
            for conn in list(self.conns):
                if conn.account is acct:
                    conn.push(ev)

        return fan_out

    def account_of(self, key: str) -> Account | None:
        found = self.rest.listen_keys.get(key)
        if found is None or found[1] <= self.hub.api_clock_ms():
            return None
        return found[0]

    def conn(self, ws: ServerConnection, key: str, acct: Account) -> UserConn:
        conn = UserConn(self.hub, ws, key, acct, self.rest.rows)
        self.conns.add(conn)
        return conn

    def discard(self, conn: UserConn) -> None:
        self.conns.discard(conn)

    def expire_lapsed(self) -> None:
        """Tell and close the streams whose listen key lapsed (checked every tick)."""
        now = self.hub.api_clock_ms()
        for key, (_, exp) in list(self.rest.listen_keys.items()):
            if exp > now:
                continue
            del self.rest.listen_keys[key]
            for conn in list(self.conns):
                if conn.key == key:
                    conn.expire()
                    self.conns.discard(conn)
