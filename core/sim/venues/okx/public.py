"""OKX v5 public channels, written from OKX's docs (docs-v5 "WebSocket Public Channel":
Tickers, Mark price, Index tickers, Funding rate; "WebSocket" overview: subscribe,
unsubscribe, error events, ping/pong) and checked against the recorded pushes in
``shared/fixtures/ws/okx-*.jsonl``.

- Requests ``{"op": "subscribe"|"unsubscribe", "args": [{"channel", "instId"}], "id"?}``;
  each argument is answered on its own: ``{"event": "subscribe", "arg": {...}, "connId"}``,
  or ``{"event": "error", "code": "60018", "msg": "Wrong URL or channel:…,instId:… doesn't
  exist", "connId"}``; a frame that is not such a request is ``60012 Invalid request``.
- Pushes ``{"arg": {"channel", "instId"}, "data": [{...}]}``; every value a string.
- ``tickers``: spot ``BTC-USDT``, swaps ``BTC-USD-SWAP``, futures ``BTC-USD-261225``;
  ``mark-price``: swaps and futures; ``funding-rate``: swaps only (pushed on subscription,
  then when it changes and every 30 s of market time); ``index-tickers``: indices ``BTC-USD``
  and ``BTC-USDT``.
- The text ``ping`` is answered with the text ``pong``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection

from core.sim.fmt import dumps, fmt_trim, tick_decimals
from core.sim.hub import Hub
from core.sim.model import CoinParams, PerpState, SpotState
from core.sim.ws import StreamConn

PATH = "/ws/v5/public"
CHANNELS = ("tickers", "mark-price", "index-tickers", "funding-rate")
FUNDING_REPEAT_MS = 30_000
FUNDING_CAP = "0.00375"  # OKX's max/min funding rate of the BTC swap, as its push carries


def swap_id(coin: str) -> str:
    return f"{coin.upper()}-USD-SWAP"


def future_id(coin: str, expiry_ms: int) -> str:
    return f"{coin.upper()}-USD-{datetime.fromtimestamp(expiry_ms / 1000, UTC):%y%m%d}"


def spot_id(coin: str) -> str:
    return f"{coin.upper()}-USDT"


def _px(x: float, tick: float) -> str:
    return fmt_trim(x, max(1, tick_decimals(tick)))


def contract_ticker(
    inst_id: str, p: CoinParams, c: PerpState, ts_ms: int, *, dated: bool
) -> dict[str, str]:
    """A swap's or future's ``tickers`` data (sizes in contracts, volume in contracts and in
    coin)."""
    face = p.face_usd
    return {
        "instType": "FUTURES" if dated else "SWAP",
        "instId": inst_id,
        "last": _px(c.last, p.perp_tick),
        "lastSz": str(max(1, int(c.bid_size / face) % 50 + 1)),
        "askPx": _px(c.ask, p.perp_tick),
        "askSz": str(max(1, int(c.ask_size / face))),
        "bidPx": _px(c.bid, p.perp_tick),
        "bidSz": str(max(1, int(c.bid_size / face))),
        "open24h": _px(c.prev_price_24h, p.perp_tick),
        "high24h": _px(c.high_24h, p.perp_tick),
        "low24h": _px(c.low_24h, p.perp_tick),
        "sodUtc0": _px(c.prev_price_24h, p.perp_tick),
        "sodUtc8": _px(c.prev_price_24h, p.perp_tick),
        "volCcy24h": fmt_trim(c.turnover_24h, 4),
        "vol24h": str(int(c.volume_24h / face)),
        "ts": str(ts_ms),
    }


def spot_ticker(p: CoinParams, s: SpotState, ts_ms: int) -> dict[str, str]:
    return {
        "instType": "SPOT",
        "instId": spot_id(p.coin),
        "last": _px(s.last, p.spot_tick),
        "lastSz": fmt_trim(min(s.bid_qty, s.ask_qty) / 10.0, 8),
        "askPx": _px(s.ask, p.spot_tick),
        "askSz": fmt_trim(s.ask_qty, 8),
        "bidPx": _px(s.bid, p.spot_tick),
        "bidSz": fmt_trim(s.bid_qty, 8),
        "open24h": _px(s.prev_price_24h, p.spot_tick),
        "high24h": _px(s.high_24h, p.spot_tick),
        "low24h": _px(s.low_24h, p.spot_tick),
        "sodUtc0": _px(s.prev_price_24h, p.spot_tick),
        "sodUtc8": _px(s.prev_price_24h, p.spot_tick),
        "volCcy24h": fmt_trim(s.turnover_24h, 8),
        "vol24h": fmt_trim(s.volume_24h, 8),
        "ts": str(ts_ms),
    }


def mark_price(
    inst_id: str, p: CoinParams, c: PerpState, ts_ms: int, *, dated: bool
) -> dict[str, str]:
    return {
        "instType": "FUTURES" if dated else "SWAP",
        "instId": inst_id,
        "markPx": _px(c.mark, p.perp_tick / 10),
        "ts": str(ts_ms),
    }


def index_ticker(inst_id: str, p: CoinParams, index: float, ts_ms: int) -> dict[str, str]:
    tick = p.perp_tick / 10
    return {
        "instId": inst_id,
        "idxPx": _px(index, tick),
        "high24h": _px(index, tick),
        "low24h": _px(index, tick),
        "open24h": _px(index, tick),
        "sodUtc0": _px(index, tick),
        "sodUtc8": _px(index, tick),
        "ts": str(ts_ms),
    }


def funding_rate(inst_id: str, perp: PerpState, interval_ms: int, ts_ms: int) -> dict[str, str]:
    """``fundingTime`` is the settlement ahead, ``nextFundingTime`` the one after it (OKX's
    "current_period" method: the rate shown is the one that settles at ``fundingTime``)."""
    settled = perp.last_settled_rate
    return {
        "formulaType": "withRate",
        "fundingRate": fmt_trim(perp.funding_rate, 16),
        "fundingTime": str(perp.next_funding_ms),
        "impactValue": "",
        "instId": inst_id,
        "instType": "SWAP",
        "interestRate": "0.0001",
        "maxFundingRate": FUNDING_CAP,
        "method": "current_period",
        "minFundingRate": "-" + FUNDING_CAP,
        "nextFundingRate": "",
        "nextFundingTime": str(perp.next_funding_ms + interval_ms),
        "premium": fmt_trim(perp.premium, 8),
        "settFundingRate": fmt_trim(settled, 16) if settled is not None else "",
        "settState": "settled",
        "ts": str(ts_ms),
    }


class OkxMarket:
    """This tick's data per (channel, instId), shared by all connections; and the table of
    what exists (for subscriptions and the instruments list)."""

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.coins = coins
        # instId -> (coin, expiry or None) for contracts; spot and index ids -> coin
        self.contracts: dict[str, tuple[str, int | None]] = {}
        self.spots: dict[str, str] = {}
        self.indices: dict[str, str] = {}
        for c in coins:
            self.contracts[swap_id(c)] = (c, None)
            for fut in hub.model.futures("okx", c):
                assert fut.expiry_ms is not None
                self.contracts[future_id(c, fut.expiry_ms)] = (c, fut.expiry_ms)
            self.spots[spot_id(c)] = c
            self.indices[f"{c}-USD"] = c
            self.indices[f"{c}-USDT"] = c
        self.data: dict[tuple[str, str], dict[str, str]] = {}

    def exists(self, channel: str, inst_id: str) -> bool:
        if channel == "tickers":
            return inst_id in self.contracts or inst_id in self.spots
        if channel == "mark-price":
            return inst_id in self.contracts
        if channel == "funding-rate":
            return inst_id in self.contracts and self.contracts[inst_id][1] is None
        if channel == "index-tickers":
            return inst_id in self.indices
        return False

    def coin_of(self, inst_id: str) -> str:
        if inst_id in self.contracts:
            return self.contracts[inst_id][0]
        return self.spots.get(inst_id) or self.indices[inst_id]

    def contract(self, inst_id: str) -> PerpState:
        coin, expiry = self.contracts[inst_id]
        if expiry is None:
            return self.hub.model.perp("okx", coin)
        return next(f for f in self.hub.model.futures("okx", coin) if f.expiry_ms == expiry)

    def refresh(self) -> None:
        m = self.hub.model
        ts = m.now_ms
        interval = m.params.funding_interval_ms
        self.data.clear()
        for inst, (coin, expiry) in self.contracts.items():
            cs = m.coin(coin)
            c = self.contract(inst)
            dated = expiry is not None
            self.data[("tickers", inst)] = contract_ticker(inst, cs.params, c, ts, dated=dated)
            self.data[("mark-price", inst)] = mark_price(inst, cs.params, c, ts, dated=dated)
            if not dated:
                self.data[("funding-rate", inst)] = funding_rate(inst, c, interval, ts)
        for inst, coin in self.spots.items():
            cs = m.coin(coin)
            self.data[("tickers", inst)] = spot_ticker(cs.params, cs.spot, ts)
        for inst, coin in self.indices.items():
            cs = m.coin(coin)
            self.data[("index-tickers", inst)] = index_ticker(inst, cs.params, cs.index, ts)


def push(channel: str, inst_id: str, data: dict[str, str]) -> str:
    return dumps({"arg": {"channel": channel, "instId": inst_id}, "data": [data]})


class OkxConn(StreamConn):
    def __init__(self, hub: Hub, ws: ServerConnection, market: OkxMarket) -> None:
        super().__init__(hub, ws)
        self.market = market
        self.conn_id = f"{hub.rng.getrandbits(32):08x}"
        self.subs: dict[tuple[str, str], None] = {}
        self._funding_sent: dict[str, tuple[str, int]] = {}  # instId -> (rate, market ms)

    def _error(self, code: str, msg: str) -> dict[str, Any]:
        return {"event": "error", "code": code, "msg": msg, "connId": self.conn_id}

    async def on_message(self, text: str) -> None:
        if text == "ping":
            await self.ws.send("pong")
            return
        try:
            req = json.loads(text)
        except ValueError:
            req = None
        op = req.get("op") if isinstance(req, dict) else None
        args = req.get("args") if isinstance(req, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
            await self.reply(self._error("60012", f"Invalid request: {text[:200]}"))
            return
        rid = req.get("id")
        fresh: list[tuple[str, str]] = []
        for a in args:
            channel = a.get("channel") if isinstance(a, dict) else None
            inst = a.get("instId") if isinstance(a, dict) else None
            if not isinstance(channel, str) or not isinstance(inst, str):
                await self.reply(self._error("60012", f"Invalid request: {text[:200]}"))
                continue
            arg = {"channel": channel, "instId": inst}
            if op == "unsubscribe":
                self.subs.pop((channel, inst), None)
                ack: dict[str, Any] = {"event": op, "arg": arg, "connId": self.conn_id}
            elif (
                channel not in CHANNELS
                or not self.market.exists(channel, inst)
                or self.hub.chaos.refuses(self.market.coin_of(inst), inst)
            ):
                self.hub.stats.refused += 1
                msg = f"Wrong URL or channel:{channel},instId:{inst} doesn't exist"
                await self.reply(self._error("60018", msg))
                continue
            else:
                self.subs[(channel, inst)] = None
                if channel == "funding-rate":
                    self._funding_sent.pop(inst, None)  # a new subscription gets it at once
                fresh.append((channel, inst))
                ack = {"event": op, "arg": arg, "connId": self.conn_id}
            if rid is not None:
                ack = {"id": rid, **ack}
            await self.reply(ack)
        for frame in self._frames(fresh):
            await self.send_data(frame)

    def tick_frames(self) -> list[str]:
        return self._frames(list(self.subs))

    def _frames(self, keys: list[tuple[str, str]]) -> list[str]:
        out: list[str] = []
        now = self.hub.model.now_ms
        for channel, inst in keys:
            data = self.market.data.get((channel, inst))
            if data is None:
                continue
            if channel == "funding-rate":
                rate = data["fundingRate"] + data["fundingTime"]
                sent = self._funding_sent.get(inst)
                if sent is not None and sent[0] == rate and now - sent[1] < FUNDING_REPEAT_MS:
                    continue
                self._funding_sent[inst] = (rate, now)
            out.append(push(channel, inst, data))
        return out
