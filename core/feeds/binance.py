"""Binance COIN-M (``dstream``) and spot combined streams.

COIN-M perpetuals: ``<symbol>@markPrice@1s`` (mark ``p``, index ``i``, funding rate ``r``,
next funding time ``T``; ``P`` is the estimated settle price, not the index) and
``<symbol>@bookTicker`` (best bid ``b`` / ask ``a``); the adapter merges both streams into one
view per symbol. Spot: ``<symbol>@bookTicker`` (no event type, no timestamps). ``24hrTicker``
messages are understood too (last price ``c``). Streams are named in the URL (combined
stream ``/stream?streams=a/b``), so every message arrives wrapped in ``{"stream","data"}``;
an unwrapped message (raw stream) is accepted as well.

Docs: https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from core.feeds.base import Adapter, Emit, MergedState, contract_kind, num

# Fields whose type depends on the event (an aggregate-trade id, a depth list...): accepted
# loosely so that an unexpected event is ignored rather than counted as malformed.
_Loose = str | int | list[Any] | None


class _Data(msgspec.Struct, gc=False):
    event: str | None = msgspec.field(default=None, name="e")
    event_ms: int | None = msgspec.field(default=None, name="E")
    symbol: str | None = msgspec.field(default=None, name="s")
    mark: _Loose = msgspec.field(default=None, name="p")
    index: str | None = msgspec.field(default=None, name="i")
    funding_rate: str | None = msgspec.field(default=None, name="r")
    t_ms: int | None = msgspec.field(default=None, name="T")
    bid: _Loose = msgspec.field(default=None, name="b")
    ask: _Loose = msgspec.field(default=None, name="a")
    close: str | None = msgspec.field(default=None, name="c")
    update_id: _Loose = msgspec.field(default=None, name="u")  # the book's update id


class _Message(_Data, gc=False):
    stream: str | None = None
    data: _Data | list[_Data] | None = None
    code: int | None = None
    msg: str | None = None


_EVENTS = frozenset(("markPriceUpdate", "bookTicker", "24hrTicker"))


def _text(value: str | int | list[Any] | None) -> float | None:
    return num(value) if isinstance(value, str) else None


class BinanceAdapter(Adapter):
    venue = "binance"
    heartbeat = None  # the server pings at the protocol level; websockets answers it

    def __init__(self, socket: str = "inverse") -> None:
        super().__init__(socket)
        self._decoder = msgspec.json.Decoder(_Message)
        self._state: dict[str, MergedState] = {}

    def streams(self, symbols: Sequence[str]) -> list[str]:
        out: list[str] = []
        for s in symbols:
            low = s.lower()
            if self.socket == "inverse":
                out.append(f"{low}@markPrice@1s")
            out.append(f"{low}@bookTicker")
        return out

    def url_for(self, base_url: str, symbols: Sequence[str]) -> str:
        if "streams=" in base_url or not symbols:
            return base_url
        sep = "&" if "?" in base_url else "?"
        return f"{base_url}{sep}streams={'/'.join(self.streams(symbols))}"

    def subscribe_frames(self, symbols: Sequence[str]) -> list[str]:
        return []  # the streams are in the URL

    def reset(self) -> None:
        super().reset()
        self._state.clear()

    def decode(self, raw: str | bytes, received_ms: int, emit: Emit) -> int:
        msg = self._decoder.decode(raw)
        data = msg.data
        if data is None:
            if msg.symbol is None:  # a reply ({"result": null, "id": 1}) or an error
                if msg.code is not None:
                    self.refused(f"binance error {msg.code}: {msg.msg}")
                return 0
            data = msg  # an unwrapped (raw stream) message
        if isinstance(data, list):
            return sum(self._one(d, raw, received_ms, emit) for d in data)
        return self._one(data, raw, received_ms, emit)

    def _one(self, d: _Data, raw: str | bytes, received_ms: int, emit: Emit) -> int:
        symbol = d.symbol
        if symbol is None or (self.only is not None and symbol not in self.only):
            return 0
        event = d.event
        if event not in _EVENTS and not (event is None and d.bid is not None):
            return 0
        # The mark stream and the book stream are ordered separately (the book by its id).
        u = d.update_id
        stamp = u if isinstance(u, int) else d.event_ms
        if not self.order.admit(f"{symbol}@{event}", stamp, raw):
            return 0
        state = self._state.get(symbol)
        if state is None:
            state = self._state[symbol] = MergedState()
        if event == "markPriceUpdate":
            state.mark = _text(d.mark)
            if d.index is not None:
                state.index = num(d.index)
            state.funding_rate = num(d.funding_rate)
            state.next_funding_ms = d.t_ms or None
        elif event == "bookTicker" or (event is None and d.bid is not None):
            state.bid = _text(d.bid)
            state.ask = _text(d.ask)
        elif event == "24hrTicker":
            state.last = num(d.close)
            if d.bid is not None:  # spot tickers carry the book top too
                state.bid = _text(d.bid)
                state.ask = _text(d.ask)
        else:
            return 0
        kind = contract_kind(symbol, self.socket)
        emit(state.quote("binance", symbol, kind, d.event_ms, received_ms))
        return 1
