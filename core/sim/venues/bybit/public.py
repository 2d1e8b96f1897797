"""Bybit v5 public ``tickers.{symbol}`` streams, written from Bybit's docs (v5/websocket/public/
ticker) and checked against the recorded messages in ``shared/fixtures/ws``.

Inverse socket (``/v5/public/inverse``): a snapshot, then deltas carrying only the fields that
changed; every value is a string; envelope ``topic, type, data, cs, ts``. The inverse
quarterlies of BTC and ETH (``BTCUSDZ26``: month code and year) travel on the same socket
with ``deliveryTime``, ``basis``, ``basisRate`` and empty funding fields, as the recorded
``tickers.BTCUSDU23`` shows. Spot socket
(``/v5/public/spot``): always a full snapshot (no bid/ask), envelope ``topic, ts, type, cs,
data``. Acks differ a little between the two (see ``ack``).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection

from core.sim.fmt import dumps, fmt_fixed, fmt_trim, tick_decimals
from core.sim.hub import Hub
from core.sim.model import CoinParams, PerpState, SpotState
from core.sim.ws import StreamConn

INVERSE_PATH = "/v5/public/inverse"
SPOT_PATH = "/v5/public/spot"
PRIVATE_PATH = "/v5/private"


def inverse_symbol(coin: str) -> str:
    return f"{coin.upper()}USD"


DATED_COINS = ("BTC", "ETH")  # Bybit lists inverse futures of these
MONTH_CODES = "FGHJKMNQUVXZ"


def dated_symbol(coin: str, expiry_ms: int) -> str:
    d = datetime.fromtimestamp(expiry_ms / 1000, UTC)
    return f"{coin.upper()}USD{MONTH_CODES[d.month - 1]}{d:%y}"


def dated_ticker(p: CoinParams, fut: PerpState, index: float) -> dict[str, str]:
    """The ``data`` of a dated inverse future's snapshot: the perpetual's fields with the
    delivery ones, funding left empty."""
    assert fut.expiry_ms is not None
    row = inverse_ticker(p, fut, index)
    d = max(2, tick_decimals(p.perp_tick))
    row["symbol"] = dated_symbol(p.coin, fut.expiry_ms)
    when = datetime.fromtimestamp(fut.expiry_ms / 1000, UTC)
    out: dict[str, str] = {}
    for k, v in row.items():
        if k == "nextFundingTime":
            out["deliveryTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            out["basisRate"] = fmt_fixed((fut.mark - index) / index if index else 0.0, 8)
            out["deliveryFeeRate"] = "0.0005"
            out["predictedDeliveryPrice"] = "0.00"
            out["basis"] = fmt_fixed(fut.last - index, d)
            out["nextFundingTime"] = ""
        elif k == "fundingRate":
            out["fundingRate"] = ""
        else:
            out[k] = v
    return out


def spot_symbol(coin: str) -> str:
    return f"{coin.upper()}USDT"


def inverse_ticker(p: CoinParams, perp: PerpState, index: float) -> dict[str, str]:
    """The full ``data`` object of an inverse ``tickers`` snapshot (all strings, in the order
    Bybit sends them)."""
    d = max(2, tick_decimals(p.perp_tick))
    pct = perp.last / perp.prev_price_24h - 1.0 if perp.prev_price_24h else 0.0
    oi_value = perp.open_interest / perp.mark if perp.mark else 0.0
    return {
        "symbol": inverse_symbol(p.coin),
        "tickDirection": perp.tick_direction,
        "price24hPcnt": fmt_fixed(pct, 6),
        "lastPrice": fmt_fixed(perp.last, d),
        "prevPrice24h": fmt_fixed(perp.prev_price_24h, d),
        "highPrice24h": fmt_fixed(perp.high_24h, d),
        "lowPrice24h": fmt_fixed(perp.low_24h, d),
        "prevPrice1h": fmt_fixed(perp.prev_price_1h, d),
        "markPrice": fmt_fixed(perp.mark, d),
        "indexPrice": fmt_fixed(index, d),
        "openInterest": str(perp.open_interest),
        "openInterestValue": fmt_fixed(oi_value, 2),
        "turnover24h": fmt_fixed(perp.turnover_24h, 4),
        "volume24h": str(perp.volume_24h),
        "nextFundingTime": str(perp.next_funding_ms),
        "fundingRate": fmt_trim(perp.funding_rate, 8),
        "bid1Price": fmt_fixed(perp.bid, d),
        "bid1Size": str(perp.bid_size),
        "ask1Price": fmt_fixed(perp.ask, d),
        "ask1Size": str(perp.ask_size),
    }


def delta(prev: dict[str, str], cur: dict[str, str]) -> dict[str, str] | None:
    """The delta ``data`` for ``cur`` after ``prev``: the symbol plus every changed field, or
    None when nothing changed."""
    out = {"symbol": cur["symbol"]}
    for k, v in cur.items():
        if prev.get(k) != v:
            out[k] = v
    return out if len(out) > 1 else None


def inverse_message(
    topic: str, kind: str, data: dict[str, str], cs: int, ts_ms: int
) -> dict[str, Any]:
    return {"topic": topic, "type": kind, "data": data, "cs": cs, "ts": ts_ms}


def spot_ticker(p: CoinParams, spot: SpotState, index: float) -> dict[str, str]:
    d = tick_decimals(p.spot_tick)
    pct = spot.last / spot.prev_price_24h - 1.0 if spot.prev_price_24h else 0.0
    return {
        "symbol": spot_symbol(p.coin),
        "lastPrice": fmt_trim(spot.last, d),
        "highPrice24h": fmt_trim(spot.high_24h, d),
        "lowPrice24h": fmt_trim(spot.low_24h, d),
        "prevPrice24h": fmt_trim(spot.prev_price_24h, d),
        "volume24h": fmt_trim(spot.volume_24h, 6),
        "turnover24h": fmt_trim(spot.turnover_24h, 8),
        "price24hPcnt": fmt_trim(pct, 4),
        "usdIndexPrice": fmt_trim(index, 6),
    }


def spot_message(topic: str, data: dict[str, str], cs: int, ts_ms: int) -> dict[str, Any]:
    return {"topic": topic, "ts": ts_ms, "type": "snapshot", "cs": cs, "data": data}


def ack(
    *,
    spot: bool,
    op: str,
    conn_id: str,
    req_id: str | None,
    success: bool = True,
    ret_msg: str | None = None,
) -> dict[str, Any]:
    """A subscribe/unsubscribe/ping reply. The inverse (contract) socket always carries
    ``req_id`` (empty when the request had none) and an empty ``ret_msg`` on success; the spot
    socket says ``ret_msg: op`` and carries ``req_id`` only when the request had one."""
    if ret_msg is None:
        ret_msg = op if spot else ""
    msg: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "conn_id": conn_id}
    if not spot or req_id is not None:
        msg["req_id"] = req_id if req_id is not None else ""
    msg["op"] = op
    return msg


class PublicTickers:
    """This tick's ticker data of every coin, shared by all connections."""

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.coins = coins
        self.cs: dict[str, int] = {}
        self.inverse: dict[str, dict[str, str]] = {}
        self.spot_text: dict[str, str] = {}
        self.inverse_coins = {inverse_symbol(c): c for c in coins}
        for c in coins:
            if c in DATED_COINS:
                for fut in hub.model.futures("bybit", c):
                    assert fut.expiry_ms is not None
                    self.inverse_coins[dated_symbol(c, fut.expiry_ms)] = c
        # cs of the quarterlies: their own random source, so the perpetuals' are unchanged
        self._dated_rng = random.Random(20_231)
        self.spot_coins = {spot_symbol(c): c for c in coins}

    def refresh(self) -> None:
        hub = self.hub
        m = hub.model
        ts = m.now_ms
        for coin in self.coins:
            cs = m.coin(coin)
            p = cs.params
            sym = inverse_symbol(coin)
            cur = inverse_ticker(p, cs.perps["bybit"], cs.index)
            if self.inverse.get(sym) != cur:
                self.cs[sym] = self.cs.get(sym, 20_000_000_000) + hub.rng.randint(1, 40)
                self.inverse[sym] = cur
            if coin in DATED_COINS:
                for fut in m.futures("bybit", coin):
                    assert fut.expiry_ms is not None
                    dsym = dated_symbol(coin, fut.expiry_ms)
                    dcur = dated_ticker(p, fut, cs.index)
                    if self.inverse.get(dsym) != dcur:
                        step = self._dated_rng.randint(1, 40)
                        self.cs[dsym] = self.cs.get(dsym, 12_000_000_000) + step
                        self.inverse[dsym] = dcur
            ssym = spot_symbol(coin)
            spot_cs = self.cs.get(ssym, 100_000_000_000) + hub.rng.randint(1, 40)
            self.cs[ssym] = spot_cs
            self.spot_text[ssym] = dumps(
                spot_message(f"tickers.{ssym}", spot_ticker(p, cs.spot, cs.index), spot_cs, ts)
            )


class PublicConn(StreamConn):
    def __init__(self, hub: Hub, ws: ServerConnection, tickers: PublicTickers, *, spot: bool):
        super().__init__(hub, ws)
        self.tickers = tickers
        self.spot = spot
        self.conn_id = hub.conn_id()
        self.topics: dict[str, dict[str, str] | None] = {}

    def _coin_of(self, topic: str) -> str | None:
        if not topic.startswith("tickers."):
            return None
        sym = topic.removeprefix("tickers.")
        table = self.tickers.spot_coins if self.spot else self.tickers.inverse_coins
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
                ack(spot=self.spot, op="ping", conn_id=self.conn_id, req_id=req_id, ret_msg="pong")
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
            await self.reply(ack(spot=self.spot, op=op, conn_id=self.conn_id, req_id=req_id))
            return
        bad: list[str] = []
        unknown: list[str] = []
        good: list[str] = []
        for t in topics:
            coin = self._coin_of(t)
            if not t.startswith("tickers."):
                unknown.append(t)
            elif coin is None or self.hub.chaos.refuses(coin, t.removeprefix("tickers.")):
                bad.append(t)
            else:
                good.append(t)
        if bad or unknown or not topics:
            self.hub.stats.refused += len(bad) + len(unknown)
            msg = (
                f"Invalid symbol :[{','.join(bad)}]"
                if bad
                else f"error:handler not found,topic:{','.join(unknown) or '[]'}"
            )
            reply = ack(
                spot=self.spot,
                op=op,
                conn_id=self.conn_id,
                req_id=req_id,
                success=False,
                ret_msg=msg,
            )
        else:
            reply = ack(spot=self.spot, op=op, conn_id=self.conn_id, req_id=req_id)
        await self.reply(reply)
        for t in good:
            self.topics[t] = None  # a (re)subscription starts from a fresh snapshot
        for frame in self._frames(good):
            await self.send_data(frame)

    def tick_frames(self) -> list[str]:
        return self._frames(list(self.topics))

    def _frames(self, topics: list[str]) -> list[str]:
        tk = self.tickers
        ts = self.hub.model.now_ms
        out: list[str] = []
        for t in topics:
            if t not in self.topics:
                continue
            sym = t.removeprefix("tickers.")
            if self.spot:
                text = tk.spot_text.get(sym)
                if text is not None:
                    out.append(text)
                continue
            cur = tk.inverse.get(sym)
            if cur is None:
                continue
            prev = self.topics[t]
            cs = tk.cs[sym]
            if prev is None:
                out.append(dumps(inverse_message(t, "snapshot", cur, cs, ts)))
            else:
                d = delta(prev, cur)
                if d is None:
                    continue
                out.append(dumps(inverse_message(t, "delta", d, cs, ts)))
            self.topics[t] = cur
        return out
