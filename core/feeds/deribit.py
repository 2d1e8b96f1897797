"""Deribit JSON-RPC over websocket: ``public/subscribe`` to ``ticker.{instrument}.100ms``.

Heartbeat: on connect the client calls ``public/set_heartbeat``; the server then sends
``{"method":"heartbeat","params":{"type":"test_request"}}`` and must get a ``public/test``
call back, or it closes the connection. Funding on the perpetual is continuous: there is no
next funding time, and the quote carries ``funding_8h`` as the rate with an 8 h interval.
Numbers are JSON numbers. An empty book side is sent as 0 (or null): that is "no price",
so it becomes None. Option tickers are not ours and are ignored.

Docs: https://docs.deribit.com/#subscriptions (ticker.{instrument_name}.{interval})
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence

import msgspec

from core.events import Kind, Quote
from core.feeds.base import H8_MS, Adapter, Emit, contract_kind


class _Ticker(msgspec.Struct, gc=False):
    instrument_name: str | None = None
    timestamp: int | None = None
    mark_price: float | None = None
    index_price: float | None = None
    last_price: float | None = None
    best_bid_price: float | None = None
    best_ask_price: float | None = None
    funding_8h: float | None = None


class _Params(msgspec.Struct, gc=False):
    channel: str | None = None
    data: _Ticker | list[msgspec.Raw] | None = None
    type: str | None = None


class _Error(msgspec.Struct, gc=False):
    code: int | None = None
    message: str | None = None


class _Message(msgspec.Struct, gc=False):
    method: str | None = None
    params: _Params | None = None
    id: int | None = None
    error: _Error | None = None


def instrument_kind(name: str) -> Kind | None:
    """PERPETUAL and dated futures (BTC-PERPETUAL, BTC-30SEP22) by ``contract_kind``,
    ``BTC_USDC`` is spot; options (BTC-24SEP21-8000-P) and anything else: None."""
    if "_" in name and "-" not in name:
        return Kind.SPOT
    if name.count("-") == 1:
        return contract_kind(name, "inverse")
    return None


class DeribitAdapter(Adapter):
    venue = "deribit"
    heartbeat = None  # server-driven: answered in decode
    heartbeat_interval_s = 30
    interval = "100ms"

    def __init__(self, socket: str = "inverse") -> None:
        super().__init__(socket)
        self._decoder = msgspec.json.Decoder(_Message)
        self._ids = itertools.count(1)

    def _request(self, method: str, params: dict[str, object]) -> str:
        return json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        )

    def subscribe_frames(self, symbols: Sequence[str]) -> list[str]:
        frames = [self._request("public/set_heartbeat", {"interval": self.heartbeat_interval_s})]
        if symbols:
            channels = [f"ticker.{s}.{self.interval}" for s in symbols]
            frames.append(self._request("public/subscribe", {"channels": channels}))
        return frames

    def decode(self, raw: str | bytes, received_ms: int, emit: Emit) -> int:
        msg = self._decoder.decode(raw)
        params = msg.params
        if msg.method == "subscription" and params is not None:
            t = params.data
            if not isinstance(t, _Ticker) or not (params.channel or "").startswith("ticker."):
                return 0
            name = t.instrument_name
            if name is None or (self.only is not None and name not in self.only):
                return 0
            kind = instrument_kind(name)
            if kind is None:
                return 0
            if not self.order.admit(name, t.timestamp, raw):
                return 0
            perpetual = name.endswith("-PERPETUAL")
            emit(
                Quote(
                    venue="deribit",
                    symbol=name,
                    kind=kind,
                    mark=t.mark_price,
                    index=t.index_price,
                    last=t.last_price,
                    bid=t.best_bid_price or None,
                    ask=t.best_ask_price or None,
                    funding_rate=t.funding_8h if perpetual else None,
                    next_funding_ms=None,
                    funding_interval_ms=H8_MS if perpetual else None,
                    exchange_ms=t.timestamp,
                    received_ms=received_ms,
                )
            )
            return 1
        if msg.method == "heartbeat" and params is not None and params.type == "test_request":
            self.outbox.append(self._request("public/test", {}))
        elif msg.error is not None:
            self.refused(f"deribit error {msg.error.code}: {msg.error.message}")
        return 0
