"""Bybit v5 public ``tickers.{symbol}`` on the inverse (or linear) and spot sockets.

Derivatives tickers arrive as a ``snapshot`` followed by ``delta`` messages that carry only
the fields that changed: the adapter merges them per symbol, and a reconnect (``reset``)
throws the merged state away so the next delta waits for a fresh snapshot. Spot tickers are
always snapshots. Numbers arrive as strings; an empty string means "no value" (dated futures
have ``"fundingRate": ""``).

Docs: https://bybit-exchange.github.io/docs/v5/websocket/public/ticker
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import msgspec

from core.feeds.base import Adapter, Emit, Heartbeat, MergedState, contract_kind, num, whole

_MS_PER_HOUR = 3600 * 1000


class _Ticker(msgspec.Struct, gc=False):
    symbol: str | None = None
    last: str | None = msgspec.field(default=None, name="lastPrice")
    mark: str | None = msgspec.field(default=None, name="markPrice")
    index: str | None = msgspec.field(default=None, name="indexPrice")
    usd_index: str | None = msgspec.field(default=None, name="usdIndexPrice")
    bid: str | None = msgspec.field(default=None, name="bid1Price")
    ask: str | None = msgspec.field(default=None, name="ask1Price")
    funding_rate: str | None = msgspec.field(default=None, name="fundingRate")
    next_funding: str | None = msgspec.field(default=None, name="nextFundingTime")
    interval_hours: str | None = msgspec.field(default=None, name="fundingIntervalHour")


class _FastTicker(msgspec.Struct, gc=False):
    """The same fields parsed straight to numbers (a non-strict decoder converts the
    strings); a message with an empty string ("no value") fails and takes the slow path."""

    symbol: str | None = None
    last: float | None = msgspec.field(default=None, name="lastPrice")
    mark: float | None = msgspec.field(default=None, name="markPrice")
    index: float | None = msgspec.field(default=None, name="indexPrice")
    usd_index: float | None = msgspec.field(default=None, name="usdIndexPrice")
    bid: float | None = msgspec.field(default=None, name="bid1Price")
    ask: float | None = msgspec.field(default=None, name="ask1Price")
    funding_rate: float | None = msgspec.field(default=None, name="fundingRate")
    next_funding: int | None = msgspec.field(default=None, name="nextFundingTime")
    interval_hours: int | None = msgspec.field(default=None, name="fundingIntervalHour")


class _FastMessage(msgspec.Struct, gc=False):
    topic: str | None = None
    type: str | None = None
    ts: int | None = None
    data: _FastTicker | list[msgspec.Raw] | None = None
    op: str | None = None
    success: bool | None = None
    ret_msg: str | None = None
    cs: int | None = None  # cross sequence: orders the messages of one symbol


class _Message(msgspec.Struct, gc=False):
    topic: str | None = None
    type: str | None = None
    ts: int | None = None
    # Other topics carry lists (trades, klines): accepted here, then ignored.
    data: _Ticker | list[msgspec.Raw] | None = None
    op: str | None = None
    success: bool | None = None
    ret_msg: str | None = None
    cs: int | None = None  # cross sequence: orders the messages of one symbol


class _State(MergedState):
    """The merged view of one symbol, with Bybit's two ways of merging a delta."""

    __slots__ = ()

    def merge_fast(self, t: _FastTicker) -> None:
        # A field absent from a delta (None) is unchanged.
        if t.last is not None:
            self.last = t.last
        if t.mark is not None:
            self.mark = t.mark
        if t.index is not None:
            self.index = t.index
        elif t.usd_index is not None:
            self.index = t.usd_index
        if t.bid is not None:
            self.bid = t.bid
        if t.ask is not None:
            self.ask = t.ask
        if t.funding_rate is not None:
            self.funding_rate = t.funding_rate
        if t.next_funding is not None:
            self.next_funding_ms = t.next_funding or None
        if t.interval_hours is not None:
            self.funding_interval_ms = t.interval_hours * _MS_PER_HOUR or None

    def merge(self, t: _Ticker) -> None:
        # A field absent from a delta (None) is unchanged; "" clears it.
        if t.last is not None:
            self.last = num(t.last)
        if t.mark is not None:
            self.mark = num(t.mark)
        if t.index is not None:
            self.index = num(t.index)
        elif t.usd_index is not None:
            self.index = num(t.usd_index)
        if t.bid is not None:
            self.bid = num(t.bid)
        if t.ask is not None:
            self.ask = num(t.ask)
        if t.funding_rate is not None:
            self.funding_rate = num(t.funding_rate)
        if t.next_funding is not None:
            self.next_funding_ms = whole(t.next_funding)
        if t.interval_hours is not None:
            hours = num(t.interval_hours)
            self.funding_interval_ms = None if hours is None else int(hours * _MS_PER_HOUR)


class BybitAdapter(Adapter):
    venue = "bybit"
    heartbeat = Heartbeat('{"op":"ping"}', 20.0)

    def __init__(self, socket: str = "inverse") -> None:
        super().__init__(socket)
        self._fast = msgspec.json.Decoder(_FastMessage, strict=False)
        self._decoder = msgspec.json.Decoder(_Message)
        self._state: dict[str, _State] = {}

    def subscribe_frames(self, symbols: Sequence[str]) -> list[str]:
        # One topic per request: a symbol the venue refuses then fails alone (the reply
        # names it and is kept in ``last_error``), the others still stream.
        return [json.dumps({"op": "subscribe", "args": [f"tickers.{s}"]}) for s in symbols]

    def reset(self) -> None:
        super().reset()
        self._state.clear()

    def decode(self, raw: str | bytes, received_ms: int, emit: Emit) -> int:
        msg: _FastMessage | _Message
        try:
            msg = self._fast.decode(raw)
        except msgspec.ValidationError:  # "" for a value, or not a ticker at all
            msg = self._decoder.decode(raw)
        topic = msg.topic
        data = msg.data
        if topic is None or not topic.startswith("tickers.") or data is None:
            if msg.success is False:
                self.refused(f"bybit refused {msg.op}: {msg.ret_msg}")
            return 0
        if isinstance(data, list):  # another topic's payload
            return 0
        symbol = data.symbol or topic[8:]
        if self.only is not None and symbol not in self.only:
            return 0
        kind = msg.type
        state: _State | None = None
        if kind == "delta":
            state = self._state.get(symbol)
            if state is None:  # a delta with no snapshot to merge into: wait for one
                return 0
        elif kind != "snapshot":
            return 0
        # Before merging: an old message must not overwrite newer fields.
        if not self.order.admit(symbol, msg.cs if msg.cs is not None else msg.ts, raw):
            return 0
        if state is None:  # a snapshot starts afresh
            state = self._state[symbol] = _State()
        if isinstance(data, _FastTicker):
            state.merge_fast(data)
        else:
            state.merge(data)
        emit(state.quote("bybit", symbol, contract_kind(symbol, self.socket), msg.ts, received_ms))
        return 1
