"""Binance COIN-M and spot market streams, written from Binance's docs (derivatives/coin-margined-
futures/websocket-market-streams: Mark-Price-Stream, Individual-Symbol-Book-Ticker-Streams;
spot web-socket-streams) and checked against ``shared/fixtures/ws``.

COIN-M ``<symbol>@markPrice[@1s]`` (``markPriceUpdate``: e, E, s, p, P, i, r, T; a dated
quarterly such as ``btcusd_261225`` carries no funding, so no r/T, as the recorded
``btcusd_200925@markPrice@1s`` shows) and
``<symbol>@bookTicker`` (u, e, s, ps, b, B, a, A, T, E); spot ``<symbol>@bookTicker`` (u, s, b,
B, a, A: no event type, no times). Raw streams at ``/ws/<stream>[/<stream>]``, combined ones at
``/stream?streams=a/b`` wrapped as ``{"stream", "data"}``; the live methods SUBSCRIBE,
UNSUBSCRIBE and LIST_SUBSCRIPTIONS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection

from core.sim.fmt import dumps, fmt_fixed, tick_decimals
from core.sim.hub import Hub
from core.sim.model import CoinParams, PerpState, SpotState
from core.sim.ws import StreamConn

COINM = "binance"
SPOT = "binance_spot"


def perp_symbol(coin: str) -> str:
    return f"{coin.upper()}USD_PERP"


def dated_symbol(coin: str, expiry_ms: int) -> str:
    """A quarterly's symbol: ``BTCUSD_261225`` (delivery date, YYMMDD)."""
    return f"{coin.upper()}USD_{datetime.fromtimestamp(expiry_ms / 1000, UTC):%y%m%d}"


def spot_symbol(coin: str) -> str:
    return f"{coin.upper()}USDT"


def mark_price(p: CoinParams, perp: PerpState, index: float, event_ms: int) -> dict[str, Any]:
    return {
        "e": "markPriceUpdate",
        "E": event_ms,
        "s": perp_symbol(p.coin),
        "p": fmt_fixed(perp.mark, 8),
        "P": fmt_fixed(index, 8),
        "i": fmt_fixed(index, 8),
        "r": fmt_fixed(perp.funding_rate, 8),
        "T": perp.next_funding_ms,
    }


def dated_mark_price(p: CoinParams, fut: PerpState, index: float, event_ms: int) -> dict[str, Any]:
    assert fut.expiry_ms is not None
    return {
        "e": "markPriceUpdate",
        "E": event_ms,
        "s": dated_symbol(p.coin, fut.expiry_ms),
        "p": fmt_fixed(fut.mark, 8),
        "P": fmt_fixed(index, 8),
        "i": fmt_fixed(index, 8),
    }


def book_ticker(
    p: CoinParams, perp: PerpState, update_id: int, event_ms: int, symbol: str | None = None
) -> dict[str, Any]:
    d = tick_decimals(p.perp_tick)
    sym = symbol or perp_symbol(p.coin)
    # Sizes are contracts of face value (100 USD for BTC, 10 USD for the others).
    return {
        "u": update_id,
        "e": "bookTicker",
        "s": sym,
        "ps": sym.split("_")[0],
        "b": fmt_fixed(perp.bid, d),
        "B": str(max(1, int(perp.bid_size / p.face_usd))),
        "a": fmt_fixed(perp.ask, d),
        "A": str(max(1, int(perp.ask_size / p.face_usd))),
        "T": event_ms - 5,
        "E": event_ms,
    }


def spot_book_ticker(p: CoinParams, spot: SpotState, update_id: int) -> dict[str, Any]:
    return {
        "u": update_id,
        "s": spot_symbol(p.coin),
        "b": fmt_fixed(spot.bid, 8),
        "B": fmt_fixed(spot.bid_qty, 8),
        "a": fmt_fixed(spot.ask, 8),
        "A": fmt_fixed(spot.ask_qty, 8),
    }


class PublicStreams:
    """This tick's stream payloads of both Binance hosts, shared by all connections."""

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.coins = coins
        self.data: dict[tuple[str, str], dict[str, Any]] = {}
        self.text: dict[tuple[str, str, bool], str] = {}
        self.update_id = 1_000_000 + hub.rng.randrange(1_000_000)
        self.dated_update_id = 5_000_000
        self.perp_coins = {perp_symbol(c).lower(): c for c in coins}
        for c in coins:
            for fut in hub.model.futures("binance", c):
                assert fut.expiry_ms is not None
                self.perp_coins[dated_symbol(c, fut.expiry_ms).lower()] = c
        self.spot_coins = {spot_symbol(c).lower(): c for c in coins}

    def refresh(self) -> None:
        m = self.hub.model
        rng = self.hub.rng
        ts = m.now_ms
        self.text.clear()
        for coin in self.coins:
            cs = m.coin(coin)
            p = cs.params
            perp = cs.perps["binance"]
            lp = perp_symbol(coin).lower()
            mark = mark_price(p, perp, cs.index, ts)
            self.data[(COINM, f"{lp}@markprice")] = mark
            self.data[(COINM, f"{lp}@markprice@1s")] = mark
            self.update_id += rng.randint(1, 900)
            self.data[(COINM, f"{lp}@bookticker")] = book_ticker(p, perp, self.update_id, ts)
            self.update_id += rng.randint(1, 900)
            ls = spot_symbol(coin).lower()
            self.data[(SPOT, f"{ls}@bookticker")] = spot_book_ticker(p, cs.spot, self.update_id)
            for fut in m.futures("binance", coin):
                # update ids of the quarterlies: their own counter, so the perpetuals' are as
                # they were before the quarterlies were listed
                assert fut.expiry_ms is not None
                sym = dated_symbol(coin, fut.expiry_ms)
                ld = sym.lower()
                mark = dated_mark_price(p, fut, cs.index, ts)
                self.data[(COINM, f"{ld}@markprice")] = mark
                self.data[(COINM, f"{ld}@markprice@1s")] = mark
                self.dated_update_id += 7
                self.data[(COINM, f"{ld}@bookticker")] = book_ticker(
                    p, fut, self.dated_update_id, ts, sym
                )

    def frame(self, host: str, stream: str, combined: bool) -> str | None:
        """The encoded frame of ``stream`` for this tick (None: no such stream here)."""
        key = (host, stream, combined)
        text = self.text.get(key)
        if text is None:
            data = self.data.get((host, stream.lower()))
            if data is None:
                return None
            text = dumps({"stream": stream, "data": data} if combined else data)
            self.text[key] = text
        return text


class PublicConn(StreamConn):
    def __init__(
        self,
        hub: Hub,
        ws: ServerConnection,
        streams_data: PublicStreams,
        *,
        host: str,
        combined: bool,
        streams: list[str],
    ) -> None:
        super().__init__(hub, ws)
        self.data = streams_data
        self.host = host
        self.combined = combined
        self.streams: list[str] = []
        for s in streams:
            self._add(s)

    def _refused(self, stream: str) -> bool:
        sym = stream.split("@", 1)[0].lower()
        table = self.data.spot_coins if self.host == SPOT else self.data.perp_coins
        coin = table.get(sym)
        return coin is not None and self.hub.chaos.refuses(coin, sym.upper())

    def _add(self, stream: str) -> bool:
        if self._refused(stream):
            self.hub.stats.refused += 1
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
            text = self.data.frame(self.host, s, self.combined)
            if text is not None:
                out.append(text)
        return out
