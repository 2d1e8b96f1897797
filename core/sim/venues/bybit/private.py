"""Bybit v5 private stream (``/v5/private``), from Bybit's docs (v5/ws/connect "Authentication",
v5/websocket/private/position, wallet, order, execution).

- ``{"op": "auth", "args": [apiKey, expires, signature]}`` with ``signature = hex
  HMAC-SHA256(secret, "GET/realtime" + expires)`` and ``expires`` (ms) not yet past on the API
  clock; the reply ``{"success", "ret_msg", "op": "auth", "conn_id"}``.
- ``{"op": "subscribe", "args": ["position", "wallet", "order", "execution"]}`` once
  authenticated (before: "Request not authorized"); a bare topic covers every category.
- Pushes ``{"id", "topic", "creationTime", "data": [...]}`` as the account changes: the order
  and its execution, then the position and the wallet; funding as an execution of type
  ``Funding`` and a wallet push; a liquidation as an order created by the system
  (``CreateByLiq``), a ``BustTrade`` execution, the closed position and the wallet.
- Ping ``{"op": "ping"}`` → ``{"op": "pong", "args": [ms], "conn_id"}``.

Private frames go through the stall and drop faults but not through garbage or reorder (those
are market-data faults).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

from core.sim.accounts import Account, AccountEvent, Accounts, EventKind
from core.sim.fmt import dumps
from core.sim.hub import Hub
from core.sim.venues.bybit.rows import Rows
from core.sim.ws import StreamConn

TOPICS = ("position", "wallet", "order", "execution")


class PrivateConn(StreamConn):
    def __init__(
        self,
        hub: Hub,
        ws: ServerConnection,
        accounts: Accounts,
        rows: Rows,
        registry: set[PrivateConn],
    ) -> None:
        super().__init__(hub, ws)
        self.accounts = accounts
        self.rows = rows
        self.registry = registry
        self.conn_id = hub.conn_id()
        self.account: Account | None = None
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    async def on_message(self, text: str) -> None:
        try:
            req = json.loads(text)
        except ValueError:
            req = None
        if not isinstance(req, dict):
            await self.reply(
                {"success": False, "ret_msg": "error:invalid op", "conn_id": self.conn_id}
            )
            return
        op = req.get("op")
        rid = req.get("req_id")
        raw_args = req.get("args")
        args: list[Any] = raw_args if isinstance(raw_args, list) else []
        if op == "ping":
            msg: dict[str, Any] = {
                "op": "pong",
                "args": [str(self.hub.api_clock_ms())],
                "conn_id": self.conn_id,
            }
            if rid is not None:
                msg["req_id"] = str(rid)
            await self.reply(msg)
        elif op == "auth":
            await self.reply(self._auth(args))
        elif op in ("subscribe", "unsubscribe"):
            await self.reply(self._subscribe(op, args, rid))
        else:
            await self.reply(
                {
                    "success": False,
                    "ret_msg": "error:invalid op",
                    "conn_id": self.conn_id,
                    "request": {"op": op, "args": args},
                }
            )

    def _auth(self, args: list[Any]) -> dict[str, Any]:
        def refuse(msg: str) -> dict[str, Any]:
            self.hub.stats.auth_failures += 1
            return {"success": False, "ret_msg": msg, "op": "auth", "conn_id": self.conn_id}

        if self.account is not None:
            return refuse("Repeat auth")
        if len(args) != 3:
            return refuse("Params Error")
        key, expires, sign = (str(a) for a in args)
        found = self.accounts.get(key)
        if found is None:
            return refuse("API key is invalid.")
        secret, acct = found
        try:
            exp = int(expires)
        except ValueError:
            return refuse("Params Error")
        if exp <= self.hub.api_clock_ms():
            return refuse("Request expired")
        want = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
        if not hmac.compare_digest(want.hexdigest(), sign.lower()):
            return refuse("Signature does not match")
        self.account = acct
        self.registry.add(self)
        return {"success": True, "ret_msg": "", "op": "auth", "conn_id": self.conn_id}

    def _subscribe(self, op: str, args: list[Any], rid: Any) -> dict[str, Any]:
        reply: dict[str, Any] = {"success": True, "ret_msg": "", "op": op, "conn_id": self.conn_id}
        if rid is not None:
            reply["req_id"] = str(rid)
        if self.account is None:
            reply.update(success=False, ret_msg="Request not authorized")
            return reply
        topics = [str(a) for a in args]
        bad = [t for t in topics if t.split(".")[0] not in TOPICS]
        if bad or not topics:
            reply.update(success=False, ret_msg=f"error:handler not found,topic:{','.join(bad)}")
            return reply
        for t in topics:
            base = t.split(".")[0]
            if op == "subscribe":
                self.topics.add(base)
            else:
                self.topics.discard(base)
        return reply

    def push(self, acct: Account, ev: AccountEvent) -> None:
        """Queue the frame ``ev`` makes, if this connection is of ``acct`` and subscribed."""
        if acct is not self.account:
            return
        topic = ev.kind.value
        if topic not in self.topics:
            return
        data: dict[str, Any]
        if ev.kind is EventKind.ORDER and ev.order is not None:
            data = {"category": "inverse", **self.rows.order(ev.order)}
        elif ev.kind is EventKind.EXECUTION and ev.execution is not None:
            data = {"category": "inverse", **self.rows.execution(ev.execution)}
        elif ev.kind is EventKind.POSITION:
            data = {"category": "inverse", **self.rows.position(acct, ev.coin)}
        elif ev.kind is EventKind.WALLET:
            data = self._wallet(acct)
        else:
            return
        msg = {
            "id": str(uuid.UUID(int=self.hub.ids_rng.getrandbits(128), version=4)),
            "topic": topic,
            "creationTime": self.hub.now_ms(),
            "data": [data],
        }
        self.queue.put_nowait(dumps(msg))

    def _wallet(self, acct: Account) -> dict[str, Any]:
        unified = acct.unified
        coins = sorted(set(acct.coins()) | (set(acct.spot) if unified else set()))
        return {
            "accountType": "UNIFIED" if unified else "CONTRACT",
            "accountIMRate": "",
            "accountMMRate": "",
            "totalEquity": "",
            "totalWalletBalance": "",
            "totalMarginBalance": "",
            "totalAvailableBalance": "",
            "totalPerpUPL": "",
            "totalInitialMargin": "",
            "totalMaintenanceMargin": "",
            "accountLTV": "",
            "coin": [self.rows.wallet_coin(acct, c, unified=unified) for c in coins],
        }

    async def write_loop(self) -> None:
        hub = self.hub
        while True:
            frame = await self.queue.get()
            while hub.stalled():
                await asyncio.sleep(0.05)  # the server is wedged: nothing goes out
            await self.ws.send(frame)
            hub.stats.private_frames += 1

    async def closed(self) -> None:
        self.registry.discard(self)


class PrivateStreams:
    """Every authenticated private connection of the venue; account events fan out to them."""

    def __init__(self, hub: Hub, accounts: Accounts, rows: Rows) -> None:
        self.hub = hub
        self.accounts = accounts
        self.rows = rows
        self.conns: set[PrivateConn] = set()
        for acct in accounts.all():
            acct.listeners.append(self._listener(acct))

    def _listener(self, acct: Account) -> Callable[[AccountEvent], None]:
        def fan_out(ev: AccountEvent) -> None:
            for conn in list(self.conns):
                conn.push(acct, ev)

        return fan_out

    def conn(self, ws: ServerConnection) -> PrivateConn:
        return PrivateConn(self.hub, ws, self.accounts, self.rows, self.conns)
