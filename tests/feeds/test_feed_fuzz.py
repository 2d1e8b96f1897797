"""Properties: no input crashes an adapter beyond a counted error, and the Bybit merge of any
sequence of deltas equals applying them to a dict."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import Quote
from core.feeds import make_adapter
from core.feeds.replay import replay_lines

VENUES = ("bybit", "binance", "okx", "deribit")

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
# Shapes close to the real envelopes, so that the fuzzing reaches past the first key.
_envelopes = st.fixed_dictionaries(
    {
        "topic": st.sampled_from(["tickers.BTCUSD", "tickers.", "orderbook.1.BTCUSD"]),
        "type": st.sampled_from(["snapshot", "delta", "x"]),
        "data": _json,
        "stream": st.sampled_from(["btcusd_perp@bookTicker", "x"]),
        "arg": st.fixed_dictionaries({"channel": st.sampled_from(["tickers", "mark-price"])}),
        "method": st.sampled_from(["subscription", "heartbeat"]),
        "params": st.fixed_dictionaries({"channel": st.just("ticker.BTC-PERPETUAL.100ms")}),
    }
)


@settings(max_examples=50, deadline=None)
@given(messages=st.lists(_json | _envelopes, min_size=1, max_size=5), venue=st.sampled_from(VENUES))
def test_any_json_is_counted_never_fatal(messages: list[Any], venue: str) -> None:
    out: list[Quote] = []
    lines = [json.dumps(m) for m in messages]
    c = replay_lines(make_adapter(venue), lines, out.append, received_ms=int)
    assert c.messages == len(lines)
    assert c.quotes == len(out)
    assert c.ignored + c.parse_errors <= c.messages


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=64), st.sampled_from(VENUES))
def test_any_bytes_are_counted_never_fatal(raw: bytes, venue: str) -> None:
    c = replay_lines(make_adapter(venue), [raw], lambda q: None, received_ms=int)
    assert c.messages <= 1


_price = st.decimals(min_value="0.01", max_value="100000", places=2).map(str)
_fields = {
    "markPrice": _price,
    "lastPrice": _price,
    "indexPrice": _price,
    "bid1Price": _price,
    "ask1Price": _price,
    "fundingRate": st.sampled_from(["0.0001", "-0.00025", ""]),
    "nextFundingTime": st.sampled_from(["1700000000000", "1700028800000", ""]),
}
_delta = st.fixed_dictionaries({}, optional=_fields)
_snapshot = st.fixed_dictionaries(_fields)


@settings(max_examples=40, deadline=None)
@given(snapshot=_snapshot, deltas=st.lists(_delta, max_size=8))
def test_bybit_merge_equals_dict_update(
    snapshot: dict[str, str], deltas: list[dict[str, str]]
) -> None:
    adapter = make_adapter("bybit")
    out: list[Quote] = []
    ref = dict(snapshot)

    def frame(kind: str, data: dict[str, str], ts: int) -> str:
        body = {"topic": "tickers.BTCUSD", "type": kind, "data": {"symbol": "BTCUSD", **data}}
        return json.dumps({**body, "ts": ts})

    adapter.decode(frame("snapshot", snapshot, 0), 0, out.append)
    for i, d in enumerate(deltas, 1):
        ref.update(d)
        assert adapter.decode(frame("delta", d, i), i, out.append) == 1
        q = out[-1]

        def f(key: str) -> float | None:
            return float(ref[key]) if ref[key] else None

        assert (q.mark, q.last, q.index, q.bid, q.ask) == (
            f("markPrice"),
            f("lastPrice"),
            f("indexPrice"),
            f("bid1Price"),
            f("ask1Price"),
        )
        assert q.funding_rate == f("fundingRate")
        assert q.next_funding_ms == (
            int(ref["nextFundingTime"]) if ref["nextFundingTime"] else None
        )
        assert q.exchange_ms == i
