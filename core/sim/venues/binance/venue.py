"""The Binance venue: the COIN-M stream host (``dstream.binance.com``: ``/stream``, ``/ws``, and
the user data stream at ``/ws/<listenKey>``), the spot stream host (``stream.binance.com``),
the COIN-M REST host (``dapi.binance.com``) and the spot REST host (``api.binance.com``), and
the account of the API key (COIN-M futures wallets, spot balances)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from core.sim.accounts import Account, Accounts, Ids
from core.sim.book import Book
from core.sim.hub import Hub
from core.sim.model import Settlement
from core.sim.seed import AccountSeed
from core.sim.venues.base import Endpoint
from core.sim.venues.binance.margin import BinanceMargin
from core.sim.venues.binance.public import COINM, SPOT, PublicConn, PublicStreams
from core.sim.venues.binance.rest import BinanceRest
from core.sim.venues.binance.user_stream import UserStreams
from core.sim.ws import bound_port, not_found, serve_conn


class BinanceVenue:
    name = "binance"

    def __init__(
        self, hub: Hub, coins: tuple[str, ...], seed: AccountSeed, *, rate_limits: bool = True
    ) -> None:
        self.hub = hub
        self.coins = coins
        self.streams = PublicStreams(hub, coins)
        self.books = {c: Book(hub.model, self.name, c) for c in coins}
        self.faces = {c: int(hub.model.coin(c).params.face_usd) for c in coins}
        order_ids = itertools.count(10_000_000 + hub.ids_rng.randrange(1_000_000))
        trade_ids = itertools.count(500_000 + hub.ids_rng.randrange(100_000))
        self.accounts = Accounts()
        self.account = Account(
            self.name,
            BinanceMargin(),
            self.books,
            lot=self.faces.__getitem__,
            index=hub.model.price,
            now_ms=hub.now_ms,
            ids=Ids(order_id=lambda: str(next(order_ids)), exec_id=lambda: str(next(trade_ids))),
            seed=seed.venue(self.name),
        )
        self.accounts.add(seed.api_key, seed.api_secret, self.account)
        self.rest = BinanceRest(hub, coins, self.accounts, self.faces, rate_limits=rate_limits)
        self.rest.listings = dict(seed.venue(self.name).listings)
        self.users = UserStreams(hub, self.rest)
        self._servers: list[Server] = []

    def port_count(self) -> int:
        return 4

    async def start(self, host: str, ports: tuple[int, ...]) -> list[Endpoint]:
        urls: list[str] = []
        for kind, port in zip((COINM, SPOT), ports[:2], strict=True):
            server = await serve(
                self._handler(kind),
                host,
                port,
                process_request=self._route,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=1,
                max_queue=64,
            )
            self._servers.append(server)
            urls.append(f"ws://{host}:{bound_port(server)}")
        dapi = await self.rest.dapi.start(host, ports[2])
        api = await self.rest.api.start(host, ports[3])
        return [
            ("binance", "inverse", urls[0] + "/stream"),
            ("binance", "spot", urls[1] + "/stream"),
            ("binance", "rest", f"http://{host}:{dapi}"),
            ("binance", "spot-rest", f"http://{host}:{api}"),
            ("binance", "user-stream", urls[0] + "/ws"),
        ]

    async def stop(self) -> None:
        for s in self._servers:
            s.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()
        await self.rest.dapi.stop()
        await self.rest.api.stop()

    def refresh(self) -> None:
        self.streams.refresh()
        self.users.expire_lapsed()

    def stepped(self) -> None:
        for b in self.books.values():
            b.reset()
        for acct in self.accounts.all():
            acct.match_resting()
            self.hub.stats.liquidations += len(acct.check_liquidations())

    def settle(self, st: Settlement) -> None:
        for acct in self.accounts.all():
            acct.settle_funding(st.coin, st.rate, st.mark, st.ts_ms)

    @staticmethod
    def _route(conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        ok = path in ("/stream", "/ws") or path.startswith("/ws/")
        return None if ok else not_found(path)

    def _handler(self, kind: str) -> Callable[[ServerConnection], Awaitable[None]]:
        async def handle(ws: ServerConnection) -> None:
            assert ws.request is not None
            parts = urlsplit(ws.request.path)
            if kind == COINM and parts.path.startswith("/ws/"):
                key = parts.path[4:].strip("/")
                acct: Account | None = self.users.account_of(key)
                if acct is not None:
                    conn = self.users.conn(ws, key, acct)
                    try:
                        await serve_conn(self.hub, conn)
                    finally:
                        self.users.discard(conn)
                    return
            streams: list[str] = []
            combined = parts.path == "/stream"
            if combined:
                for value in parse_qs(parts.query).get("streams", []):
                    streams.extend(s for s in value.split("/") if s)
            elif parts.path.startswith("/ws/"):
                streams.extend(s for s in parts.path[4:].split("/") if s)
            public = PublicConn(
                self.hub, ws, self.streams, host=kind, combined=combined, streams=streams
            )
            await serve_conn(self.hub, public)

        return handle
