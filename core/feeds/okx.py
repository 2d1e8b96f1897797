"""OKX v5 public channels ``mark-price``, ``funding-rate``, ``index-tickers`` and ``tickers``.

Each channel pushes a part of an instrument's picture; the adapter merges them per ``instId``
and emits the full view after every push. ``index-tickers`` is keyed by the underlying
(``BTC-USD``) and feeds the index of every instrument on it. ``fundingTime`` is the upcoming
settlement (the next funding time) and ``nextFundingTime`` the one after, so their difference
is the funding interval. Numbers arrive as strings. The server closes a connection idle for
30 s: the client sends the text ``ping`` when idle and gets the text ``pong``.

Docs: https://www.okx.com/docs-v5/en/#public-data-websocket
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import msgspec

from core.events import Kind, Quote
from core.feeds.base import Adapter, Emit, Heartbeat, MergedState, contract_kind, num, whole

_PONGS = ("pong", b"pong")
# Quotes that take the underlying's index: swaps and dated futures (BTC-USD-SWAP and
# BTC-USD-261225 both price against BTC-USD; a dated basis needs it).
_INDEXED = (Kind.INVERSE_PERP, Kind.INVERSE_FUTURE)


class _Data(msgspec.Struct, gc=False):
    inst_id: str | None = msgspec.field(default=None, name="instId")
    inst_type: str | None = msgspec.field(default=None, name="instType")
    ts: str | None = None
    mark: str | None = msgspec.field(default=None, name="markPx")
    index: str | None = msgspec.field(default=None, name="idxPx")
    last: str | None = None
    bid: str | None = msgspec.field(default=None, name="bidPx")
    ask: str | None = msgspec.field(default=None, name="askPx")
    funding_rate: str | None = msgspec.field(default=None, name="fundingRate")
    funding_time: str | None = msgspec.field(default=None, name="fundingTime")
    next_funding_time: str | None = msgspec.field(default=None, name="nextFundingTime")


class _Arg(msgspec.Struct, gc=False):
    channel: str | None = None
    inst_id: str | None = msgspec.field(default=None, name="instId")


class _Message(msgspec.Struct, gc=False):
    arg: _Arg | None = None
    data: list[_Data] | None = None
    event: str | None = None
    code: str | None = None
    msg: str | None = None


class _State(MergedState):
    """The merged view of one instrument, and what it prices (its kind)."""

    __slots__ = ("kind",)

    def __init__(self, kind: Kind, index: float | None) -> None:
        super().__init__(index)
        self.kind = kind


def underlying(inst_id: str) -> str:
    """``BTC-USD-SWAP`` / ``BTC-USD-220527`` -> ``BTC-USD``; a spot pair is its own."""
    parts = inst_id.split("-")
    return "-".join(parts[:2])


def is_spot(inst_id: str) -> bool:
    return inst_id.count("-") == 1


class OkxAdapter(Adapter):
    venue = "okx"
    heartbeat = Heartbeat("ping", 20.0, only_when_idle=True)  # the server drops after 30 s idle

    def __init__(self, socket: str = "inverse") -> None:
        super().__init__(socket)
        self._decoder = msgspec.json.Decoder(_Message)
        self._state: dict[str, _State] = {}
        self._index: dict[str, float | None] = {}

    def subscribe_frames(self, symbols: Sequence[str]) -> list[str]:
        args: list[dict[str, str]] = []
        indices: list[str] = []
        for s in symbols:
            if is_spot(s):
                args.append({"channel": "tickers", "instId": s})
                continue
            args.append({"channel": "mark-price", "instId": s})
            if s.endswith("-SWAP"):
                args.append({"channel": "funding-rate", "instId": s})
            args.append({"channel": "tickers", "instId": s})
            uly = underlying(s)
            if uly not in indices:
                indices.append(uly)
        args.extend({"channel": "index-tickers", "instId": u} for u in indices)
        return [json.dumps({"op": "subscribe", "args": args})] if args else []

    def reset(self) -> None:
        super().reset()
        self._state.clear()
        self._index.clear()

    def decode(self, raw: str | bytes, received_ms: int, emit: Emit) -> int:
        if raw in _PONGS:
            return 0
        msg = self._decoder.decode(raw)
        arg = msg.arg
        if msg.data is None or arg is None:
            if msg.event == "error":
                self.refused(f"okx error {msg.code}: {msg.msg}")
            return 0
        channel = arg.channel
        emitted = 0
        for d in msg.data:
            inst = d.inst_id or arg.inst_id
            if inst is None:
                continue
            # Each channel is its own ordered stream: an old push is not merged.
            if not self.order.admit(f"{channel}:{inst}", whole(d.ts), raw):
                continue
            if channel == "index-tickers":
                emitted += self._index_push(inst, d, received_ms, emit)
                continue
            if self.only is not None and inst not in self.only:
                continue
            state = self._state.get(inst)
            if state is None:
                kind = (
                    Kind.SPOT
                    if d.inst_type == "SPOT" or is_spot(inst)
                    else contract_kind(inst, "inverse")
                )
                state = self._state[inst] = _State(kind, self._index.get(underlying(inst)))
            if channel == "tickers":
                state.last = num(d.last)
                state.bid = num(d.bid)
                state.ask = num(d.ask)
            elif channel == "mark-price":
                state.mark = num(d.mark)
            elif channel == "funding-rate":
                state.funding_rate = num(d.funding_rate)
                state.next_funding_ms = whole(d.funding_time)
                after = whole(d.next_funding_time)
                if after is not None and state.next_funding_ms is not None:
                    state.funding_interval_ms = after - state.next_funding_ms
            else:
                continue
            emit(self._quote(inst, state, d.ts, received_ms))
            emitted += 1
        return emitted

    def _index_push(self, uly: str, d: _Data, received_ms: int, emit: Emit) -> int:
        value = num(d.index)
        self._index[uly] = value
        emitted = 0
        for inst, state in self._state.items():
            if state.kind in _INDEXED and underlying(inst) == uly:
                state.index = value
                emit(self._quote(inst, state, d.ts, received_ms))
                emitted += 1
        if emitted == 0 and (self.only is None or uly in self.only):
            emit(
                Quote(
                    venue="okx",
                    symbol=uly,
                    kind=Kind.INDEX,
                    index=value,
                    exchange_ms=whole(d.ts),
                    received_ms=received_ms,
                )
            )
            emitted = 1
        return emitted

    @staticmethod
    def _quote(inst: str, s: _State, ts: str | None, received_ms: int) -> Quote:
        return s.quote("okx", inst, s.kind, whole(ts), received_ms)
