"""The built-in exchange: websocket servers on loopback that speak Bybit v5 public and Binance
COIN-M / spot market streams, fed by the seeded ``MarketModel``.

One server per real host: Bybit (``/v5/public/inverse`` and ``/v5/public/spot`` on one port, as
``stream.bybit.com`` serves both), Binance COIN-M (``dstream.binance.com``: ``/stream`` and
``/ws``) and Binance spot (``stream.binance.com``: ``/stream`` and ``/ws``) on their own ports.
With ``port=P`` > 0 they listen on P, P+1 and P+2; with 0 each gets an ephemeral port.

The server advances the model in fixed simulated steps of ``interval_ms · speed`` and pushes
one update per instrument per ``interval_ms`` of wall time, so the price path depends only on
the seed (the wall clock decides when, never what).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from core.sim.chaos import ChaosSpec
from core.sim.model import DEFAULT_COINS, MarketModel, ModelParams, Settlement, coin_params
from core.sim.wire import (
    binance_book_ticker,
    binance_mark_price,
    binance_perp_symbol,
    binance_spot_book_ticker,
    binance_spot_symbol,
    bybit_ack,
    bybit_delta,
    bybit_inverse_message,
    bybit_inverse_symbol,
    bybit_inverse_ticker,
    bybit_spot_message,
    bybit_spot_symbol,
    bybit_spot_ticker,
)

BYBIT_INVERSE_PATH = "/v5/public/inverse"
BYBIT_SPOT_PATH = "/v5/public/spot"
URL_KEYS: tuple[tuple[str, str], ...] = (
    ("bybit", "inverse"),
    ("bybit", "spot"),
    ("binance", "inverse"),
    ("binance", "spot"),
)
MAX_CATCH_UP_STEPS = 50
log = logging.getLogger("hedgetop.sim")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


@dataclass(slots=True)
class SimStats:
    """Counters of what the simulator did, for tests and the ``sim`` command's summary."""

    connections: int = 0
    frames: int = 0  # data frames sent (garbage and repeats included)
    garbage: int = 0
    repeated: int = 0
    swapped: int = 0
    drops: int = 0
    refused: int = 0
    stalled_ticks: int = 0
    ticks: int = 0
    listener_errors: int = 0
    tick_errors: int = 0


class SimExchange:
    """A local exchange on loopback. ``await start()`` returns the ws:// URLs keyed like
    ``core.feeds.DEFAULT_URLS``; ``await stop()`` closes everything.

    ``now_ms()`` is the simulated clock (ms since the epoch, accelerated by ``speed``),
    ``price(coin)`` the current index in USD. ``interval_ms`` is the wall time between two
    updates of each instrument; ``start_ms`` the simulated start time (default: wall time now).
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        speed: float = 1.0,
        coins: Sequence[str] = DEFAULT_COINS,
        chaos: ChaosSpec | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        interval_ms: float = 100.0,
        start_ms: int | None = None,
        params: ModelParams | None = None,
        wall_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        if not interval_ms > 0:
            raise ValueError(f"interval_ms must be > 0, got {interval_ms!r}")
        if not 0 <= port <= 65533:
            raise ValueError(f"port must be between 0 and 65533, got {port!r}")
        self.seed = seed
        self.speed = float(speed)
        self.chaos = chaos or ChaosSpec()
        self.host = host
        self.port = port
        self.interval_ms = float(interval_ms)
        self.step_ms = max(1, round(self.interval_ms * self.speed))
        self.coins: tuple[str, ...] = tuple(dict.fromkeys(coin_params(c).coin for c in coins))
        if start_ms is None:
            start_ms = int(time.time() * 1000)
        self.model = MarketModel(self.coins, seed=seed, start_ms=start_ms, params=params)
        self.stats = SimStats()
        self.on_settlement: Callable[[Settlement], None] | None = None
        # Called with each data frame just before it is written (benchmarks time it).
        self.on_frame_sent: Callable[[str], None] | None = None
        self._wall = wall_clock
        self._rng = random.Random(seed * 7919 + 17)
        self._t0 = 0.0
        self._steps = 0
        self._servers: list[Server] = []
        self._conns: set[_Conn] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._tick_event: asyncio.Event | None = None
        self._urls: dict[tuple[str, str], str] = {}
        self.stall_started: asyncio.Event | None = None
        # Per-tick caches shared by every connection.
        self._bybit_cs: dict[str, int] = {}
        self._bybit_inverse: dict[str, dict[str, str]] = {}
        self._bybit_spot: dict[str, str] = {}
        self._binance: dict[tuple[str, str], dict[str, Any]] = {}
        self._binance_text: dict[tuple[str, str, bool], str] = {}
        self._update_id = 1_000_000 + self._rng.randrange(1_000_000)
        self._bybit_symbols = {bybit_inverse_symbol(c): c for c in self.coins}
        self._bybit_spot_symbols = {bybit_spot_symbol(c): c for c in self.coins}
        self._binance_perp = {binance_perp_symbol(c).lower(): c for c in self.coins}
        self._binance_spot = {binance_spot_symbol(c).lower(): c for c in self.coins}

    # -- public --------------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The simulated clock, in ms since the epoch."""
        return self.model.now_ms

    def price(self, coin: str) -> float:
        """The current index price of ``coin`` in USD."""
        return self.model.price(coin)

    @property
    def urls(self) -> dict[tuple[str, str], str]:
        return dict(self._urls)

    async def start(self) -> dict[tuple[str, str], str]:
        """Open the three servers and start the clock; returns the ws:// URLs."""
        if self._servers:
            return self.urls
        self._tick_event = asyncio.Event()
        self.stall_started = asyncio.Event()
        self._refresh_caches()
        ports = [self.port, self.port + 1, self.port + 2] if self.port else [0, 0, 0]
        try:
            for kind, port in zip(("bybit", "binance", "binance_spot"), ports, strict=True):
                server = await serve(
                    self._handler(kind),
                    self.host,
                    port,
                    process_request=self._router(kind),
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=1,
                    max_queue=64,
                )
                self._servers.append(server)
        except OSError:
            await self.stop()
            raise
        p = [self._bound_port(s) for s in self._servers]
        self._urls = {
            ("bybit", "inverse"): f"ws://{self.host}:{p[0]}{BYBIT_INVERSE_PATH}",
            ("bybit", "spot"): f"ws://{self.host}:{p[0]}{BYBIT_SPOT_PATH}",
            ("binance", "inverse"): f"ws://{self.host}:{p[1]}/stream",
            ("binance", "spot"): f"ws://{self.host}:{p[2]}/stream",
        }
        self._t0 = self._wall()
        self._steps = 0
        self._tasks.append(asyncio.create_task(self._clock()))
        if self.chaos.drop_every_s is not None:
            self._tasks.append(asyncio.create_task(self._dropper(self.chaos.drop_every_s)))
        return self.urls

    async def stop(self) -> None:
        """Stop the clock, close every connection and server."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        for s in self._servers:
            s.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()
        for t in list(self._side_tasks):
            t.cancel()
        self._side_tasks.clear()

    def elapsed_s(self) -> float:
        """Wall seconds since ``start``."""
        return self._wall() - self._t0

    def stalled(self) -> bool:
        return self.chaos.stalled(self.elapsed_s())

    # -- clock ---------------------------------------------------------------------------------

    async def _clock(self) -> None:
        interval_s = self.interval_ms / 1000.0
        while True:
            due = int((self._wall() - self._t0) / interval_s)
            steps = due - self._steps
            if steps > MAX_CATCH_UP_STEPS:
                # Far behind (a suspended laptop, a busy machine): simulated time slows down
                # rather than the server spending seconds catching up.
                self._steps = due - MAX_CATCH_UP_STEPS
                steps = MAX_CATCH_UP_STEPS
            for _ in range(max(0, steps)):
                for st in self.model.advance(self.step_ms):
                    self._settled(st)
            self._steps += max(0, steps)
            if steps > 0:
                try:
                    self._publish()
                except Exception:  # a bug in one tick must not stop the market
                    self.stats.tick_errors += 1
                    log.exception("sim tick failed")
            next_at = self._t0 + (self._steps + 1) * interval_s
            await asyncio.sleep(max(0.0, next_at - self._wall()))

    def _settled(self, st: Settlement) -> None:
        if self.on_settlement is None:
            return
        try:
            self.on_settlement(st)
        except Exception:  # a listener's bug must not stop the market
            self.stats.listener_errors += 1

    def _publish(self) -> None:
        self.stats.ticks += 1
        self._refresh_caches()
        if self.stalled():
            self.stats.stalled_ticks += 1
            if self.stall_started is not None:
                self.stall_started.set()
        ev = self._tick_event
        self._tick_event = asyncio.Event()
        if ev is not None:
            ev.set()

    def _refresh_caches(self) -> None:
        m = self.model
        ts = m.now_ms
        self._binance_text.clear()
        for coin in self.coins:
            cs = m.coin(coin)
            p = cs.params
            bybit = cs.perps["bybit"]
            sym = bybit_inverse_symbol(coin)
            cur = bybit_inverse_ticker(p, bybit, cs.index)
            if self._bybit_inverse.get(sym) != cur:
                self._bybit_cs[sym] = self._bybit_cs.get(sym, 20_000_000_000) + self._rng.randint(
                    1, 40
                )
                self._bybit_inverse[sym] = cur
            ssym = bybit_spot_symbol(coin)
            spot_cs = self._bybit_cs.get(ssym, 100_000_000_000) + self._rng.randint(1, 40)
            self._bybit_cs[ssym] = spot_cs
            self._bybit_spot[ssym] = _dumps(
                bybit_spot_message(
                    f"tickers.{ssym}", bybit_spot_ticker(p, cs.spot, cs.index), spot_cs, ts
                )
            )
            binance = cs.perps["binance"]
            lp = binance_perp_symbol(coin).lower()
            mark = binance_mark_price(p, binance, cs.index, ts)
            self._binance[("binance", f"{lp}@markprice")] = mark
            self._binance[("binance", f"{lp}@markprice@1s")] = mark
            self._update_id += self._rng.randint(1, 900)
            self._binance[("binance", f"{lp}@bookticker")] = binance_book_ticker(
                p, binance, self._update_id, ts
            )
            self._update_id += self._rng.randint(1, 900)
            ls = binance_spot_symbol(coin).lower()
            self._binance[("binance_spot", f"{ls}@bookticker")] = binance_spot_book_ticker(
                p, cs.spot, self._update_id
            )

    def _binance_frame(self, kind: str, stream: str, combined: bool) -> str | None:
        """The encoded frame of ``stream`` for this tick (None: no such stream here)."""
        key = (kind, stream, combined)
        text = self._binance_text.get(key)
        if text is None:
            data = self._binance.get((kind, stream.lower()))
            if data is None:
                return None
            text = _dumps({"stream": stream, "data": data} if combined else data)
            self._binance_text[key] = text
        return text

    # -- chaos ---------------------------------------------------------------------------------

    async def _dropper(self, every_s: float) -> None:
        k = 0
        while True:
            await asyncio.sleep(every_s)
            for conn in list(self._conns):
                k += 1
                self.stats.drops += 1
                if k % 2:
                    conn.ws.transport.abort()
                else:
                    self._spawn(conn.ws.close(1001, "sim: drop"))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _garble(self, text: str, rng: random.Random) -> str:
        kind = rng.randrange(3)
        if kind == 0:
            return text[: max(1, len(text) // 2)]
        if kind == 1:
            return "\x00sim-garbage\ufffd" + text[:8]
        return text + "}"

    def _conn_id(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        head = "".join(self._rng.choice(alphabet) for _ in range(20))
        tail = "".join(self._rng.choice(alphabet) for _ in range(5))
        return f"{head}-{tail}"

    # -- serving -------------------------------------------------------------------------------

    @staticmethod
    def _bound_port(server: Server) -> int:
        for sock in server.sockets:
            return int(sock.getsockname()[1])
        raise OSError("server has no socket")

    def _router(self, kind: str) -> Callable[[ServerConnection, Request], Response | None]:
        def route(conn: ServerConnection, request: Request) -> Response | None:
            path = urlsplit(request.path).path
            if kind == "bybit":
                ok = path in (BYBIT_INVERSE_PATH, BYBIT_SPOT_PATH)
            else:
                ok = path in ("/stream", "/ws") or path.startswith("/ws/")
            if ok:
                return None
            body = f"no such path on this simulated host: {path}\n".encode()
            headers = Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return Response(int(HTTPStatus.NOT_FOUND), "Not Found", headers, body)

        return route

    def _handler(self, kind: str) -> Callable[[ServerConnection], Any]:
        async def handle(ws: ServerConnection) -> None:
            assert ws.request is not None
            parts = urlsplit(ws.request.path)
            conn: _Conn
            if kind == "bybit":
                conn = _BybitConn(self, ws, spot=parts.path == BYBIT_SPOT_PATH)
            else:
                streams: list[str] = []
                combined = parts.path == "/stream"
                if combined:
                    for value in parse_qs(parts.query).get("streams", []):
                        streams.extend(s for s in value.split("/") if s)
                elif parts.path.startswith("/ws/"):
                    streams.extend(s for s in parts.path[4:].split("/") if s)
                conn = _BinanceConn(self, ws, kind=kind, combined=combined, streams=streams)
            await self._serve_conn(conn)

        return handle

    async def _serve_conn(self, conn: _Conn) -> None:
        self.stats.connections += 1
        self._conns.add(conn)
        writer = asyncio.create_task(conn.write_loop())
        try:
            async for message in conn.ws:
                if self.stalled():
                    continue
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                await conn.on_message(text)
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await writer
            self._conns.discard(conn)


class _Conn:
    """One client connection: replies to requests, pushes its subscriptions every tick."""

    def __init__(self, ex: SimExchange, ws: ServerConnection) -> None:
        self.ex = ex
        self.ws = ws
        self.rng = random.Random(ex._rng.getrandbits(64))
        self._held: str | None = None

    async def on_message(self, text: str) -> None:
        raise NotImplementedError

    def tick_frames(self) -> list[str]:
        raise NotImplementedError

    async def write_loop(self) -> None:
        ex = self.ex
        while True:
            ev = ex._tick_event
            assert ev is not None
            await ev.wait()
            if ex.stalled():
                continue
            for frame in self.tick_frames():
                await self.send_data(frame)

    async def reply(self, obj: Any) -> None:
        await self.ws.send(_dumps(obj))

    async def send_data(self, text: str) -> None:
        """Send a market-data frame through the chaos filters (garbage, repeat/swap)."""
        ex = self.ex
        ch = ex.chaos
        if ch.garbage_p and self.rng.random() < ch.garbage_p:
            text = ex._garble(text, self.rng)
            ex.stats.garbage += 1
        out = [text]
        if ch.reorder_p and self.rng.random() < ch.reorder_p:
            if self.rng.random() < 0.5:
                out.append(text)
                ex.stats.repeated += 1
            elif self._held is None:
                self._held = text
                return
        if self._held is not None:
            out.append(self._held)
            self._held = None
            ex.stats.swapped += 1
        hook = ex.on_frame_sent
        for frame in out:
            if hook is not None:
                hook(frame)
            await self.ws.send(frame)
            ex.stats.frames += 1


class _BybitConn(_Conn):
    def __init__(self, ex: SimExchange, ws: ServerConnection, *, spot: bool) -> None:
        super().__init__(ex, ws)
        self.spot = spot
        self.conn_id = ex._conn_id()
        self.topics: dict[str, dict[str, str] | None] = {}

    def _coin_of(self, topic: str) -> str | None:
        if not topic.startswith("tickers."):
            return None
        sym = topic.removeprefix("tickers.")
        table = self.ex._bybit_spot_symbols if self.spot else self.ex._bybit_symbols
        return table.get(sym)

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
        req_id = None if rid is None else str(rid)
        if op == "ping":
            await self.reply(
                bybit_ack(
                    spot=self.spot, op="ping", conn_id=self.conn_id, req_id=req_id, ret_msg="pong"
                )
            )
            return
        if op not in ("subscribe", "unsubscribe"):
            await self.reply(
                {
                    "success": False,
                    "ret_msg": "error:invalid op",
                    "conn_id": self.conn_id,
                    "request": {"op": op, "args": req.get("args")},
                }
            )
            return
        args = req.get("args")
        topics = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
        if op == "unsubscribe":
            for t in topics:
                self.topics.pop(t, None)
            await self.reply(bybit_ack(spot=self.spot, op=op, conn_id=self.conn_id, req_id=req_id))
            return
        bad: list[str] = []
        unknown: list[str] = []
        good: list[str] = []
        for t in topics:
            coin = self._coin_of(t)
            if not t.startswith("tickers."):
                unknown.append(t)
            elif coin is None or self.ex.chaos.refuses(coin, t.removeprefix("tickers.")):
                bad.append(t)
            else:
                good.append(t)
        if bad or unknown or not topics:
            self.ex.stats.refused += len(bad) + len(unknown)
            msg = (
                f"Invalid symbol :[{','.join(bad)}]"
                if bad
                else f"error:handler not found,topic:{','.join(unknown) or '[]'}"
            )
            ack = bybit_ack(
                spot=self.spot,
                op=op,
                conn_id=self.conn_id,
                req_id=req_id,
                success=False,
                ret_msg=msg,
            )
        else:
            ack = bybit_ack(spot=self.spot, op=op, conn_id=self.conn_id, req_id=req_id)
        await self.reply(ack)
        for t in good:
            self.topics[t] = None  # a (re)subscription starts from a fresh snapshot
        for frame in self._frames(good):
            await self.send_data(frame)

    def tick_frames(self) -> list[str]:
        return self._frames(list(self.topics))

    def _frames(self, topics: list[str]) -> list[str]:
        ex = self.ex
        ts = ex.model.now_ms
        out: list[str] = []
        for t in topics:
            if t not in self.topics:
                continue
            sym = t.removeprefix("tickers.")
            if self.spot:
                text = ex._bybit_spot.get(sym)
                if text is not None:
                    out.append(text)
                continue
            cur = ex._bybit_inverse.get(sym)
            if cur is None:
                continue
            prev = self.topics[t]
            cs = ex._bybit_cs[sym]
            if prev is None:
                out.append(_dumps(bybit_inverse_message(t, "snapshot", cur, cs, ts)))
            else:
                delta = bybit_delta(prev, cur)
                if delta is None:
                    continue
                out.append(_dumps(bybit_inverse_message(t, "delta", delta, cs, ts)))
            self.topics[t] = cur
        return out


class _BinanceConn(_Conn):
    def __init__(
        self,
        ex: SimExchange,
        ws: ServerConnection,
        *,
        kind: str,
        combined: bool,
        streams: list[str],
    ) -> None:
        super().__init__(ex, ws)
        self.kind = kind
        self.combined = combined
        self.streams: list[str] = []
        for s in streams:
            self._add(s)

    def _refused(self, stream: str) -> bool:
        sym = stream.split("@", 1)[0].lower()
        table = self.ex._binance_spot if self.kind == "binance_spot" else self.ex._binance_perp
        coin = table.get(sym)
        return coin is not None and self.ex.chaos.refuses(coin, sym.upper())

    def _add(self, stream: str) -> bool:
        if self._refused(stream):
            self.ex.stats.refused += 1
            return False
        if stream not in self.streams:
            self.streams.append(stream)
        return True

    async def on_message(self, text: str) -> None:
        try:
            req = json.loads(text)
        except ValueError:
            await self.reply({"code": 3, "msg": "Invalid JSON: expected value", "id": None})
            return
        if not isinstance(req, dict):
            await self.reply({"code": 2, "msg": "Invalid request: expected an object", "id": None})
            return
        rid = req.get("id")
        method = req.get("method")
        params = req.get("params")
        names = [p for p in params if isinstance(p, str)] if isinstance(params, list) else []
        if method == "SUBSCRIBE":
            refused = [n for n in names if not self._add(n)]
            if refused:
                await self.reply(
                    {
                        "code": 2,
                        "msg": f"Invalid request: refused stream {','.join(refused)}",
                        "id": rid,
                    }
                )
            else:
                await self.reply({"result": None, "id": rid})
        elif method == "UNSUBSCRIBE":
            self.streams = [s for s in self.streams if s not in names]
            await self.reply({"result": None, "id": rid})
        elif method == "LIST_SUBSCRIPTIONS":
            await self.reply({"result": list(self.streams), "id": rid})
        else:
            await self.reply(
                {
                    "code": 2,
                    "msg": f"Invalid request: unknown variant {method}, expected one of "
                    "SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY",
                    "id": rid,
                }
            )

    def tick_frames(self) -> list[str]:
        out: list[str] = []
        for s in self.streams:
            text = self.ex._binance_frame(self.kind, s, self.combined)
            if text is not None:
                out.append(text)
        return out
