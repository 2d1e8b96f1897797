"""Every recorded message in the shared ws fixtures goes through its venue's adapter.

Counts come from the fixtures' README (lines per file, message kinds); field values are
checked against the recorded text (``float(text)``), read here from the fixture itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from feedkit import WS_FIXTURES, fixture_json, fixture_lines

from core.events import Kind, Quote
from core.feeds import make_adapter
from core.feeds.replay import FeedCounters, replay_lines


def _arr_len(name: str) -> int:
    """Quotes a Binance file yields: one per data object (``!markPrice@arr`` holds several)."""
    return sum(len(m["data"]) if isinstance(m["data"], list) else 1 for m in fixture_json(name))


# file -> (venue, socket, quotes, ignored, parse errors)
EXPECTED: dict[str, tuple[str, str, int, int, int]] = {
    "binance-coinm-bookticker.jsonl": ("binance", "inverse", 3180, 0, 0),
    "binance-coinm-markprice.jsonl": ("binance", "inverse", -1, 0, 0),  # -1: per data object
    "binance-coinm-ticker.jsonl": ("binance", "inverse", 3, 0, 0),
    "binance-spot-bookticker.jsonl": ("binance", "spot", 85, 0, 0),
    "binance-spot-ticker.jsonl": ("binance", "spot", 1, 0, 0),
    "bybit-control.jsonl": ("bybit", "inverse", 0, 24, 0),
    "bybit-inverse-tickers.jsonl": ("bybit", "inverse", 4, 0, 0),
    "bybit-linear-tickers.jsonl": ("bybit", "inverse", 758, 0, 0),
    "bybit-spot-tickers.jsonl": ("bybit", "spot", 81, 0, 0),
    "deribit-control.jsonl": ("deribit", "inverse", 0, 1, 0),
    "deribit-ticker-options.jsonl": ("deribit", "inverse", 0, 89, 0),  # options: not ours
    "deribit-ticker.jsonl": ("deribit", "inverse", 4, 0, 0),
    "okx-control.jsonl": ("okx", "inverse", 0, 18, 0),
    "okx-futures-markprice.jsonl": ("okx", "inverse", 2, 0, 0),
    "okx-futures-tickers.jsonl": ("okx", "inverse", 3, 0, 0),
    "okx-spot-tickers.jsonl": ("okx", "spot", 26, 0, 0),
    "okx-swap-fundingrate.jsonl": ("okx", "inverse", 4, 0, 0),
    "okx-swap-markprice.jsonl": ("okx", "inverse", 1, 0, 0),
    "okx-swap-tickers.jsonl": ("okx", "inverse", 4, 0, 0),
}


def run_file(name: str, venue: str, socket: str) -> tuple[list[Quote], FeedCounters]:
    quotes: list[Quote] = []
    adapter = make_adapter(venue, socket)
    counters = replay_lines(adapter, fixture_lines(name), quotes.append, received_ms=lambda: 7)
    return quotes, counters


def f(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def test_every_fixture_file_is_covered() -> None:
    on_disk = {p.name for p in WS_FIXTURES.glob("*.jsonl")}
    assert on_disk, f"no fixtures found in {WS_FIXTURES}"
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_counts(name: str) -> None:
    venue, socket, quotes_expected, ignored, errors = EXPECTED[name]
    if quotes_expected < 0:
        quotes_expected = _arr_len(name)
    quotes, c = run_file(name, venue, socket)
    assert c.messages == len(fixture_lines(name))
    assert (c.quotes, c.ignored, c.parse_errors) == (quotes_expected, ignored, errors)
    assert len(quotes) == quotes_expected
    assert all(q.venue == venue and q.received_ms == 7 for q in quotes)


# --- Bybit -------------------------------------------------------------------------------------


def _bybit_reference(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The merged view after each message, by plain dict updates: snapshot replaces,
    delta updates only the keys it carries."""
    state: dict[str, dict[str, Any]] = {}
    out = []
    for m in messages:
        data = m["data"]
        sym = data["symbol"]
        if m["type"] == "snapshot":
            state[sym] = dict(data)
        else:
            state[sym].update(data)
        out.append({**state[sym], "_ts": m["ts"]})
    return out


def _bybit_kind(file: str, symbol: str) -> Kind:
    """What the recording holds, from its README: the inverse file has the BTCUSD perpetual
    and the BTCUSDU23 dated future; the linear file USDT perpetuals; the spot file spot."""
    if "spot" in file:
        return Kind.SPOT
    if "linear" in file:
        return Kind.LINEAR
    return Kind.INVERSE_FUTURE if symbol == "BTCUSDU23" else Kind.INVERSE_PERP


def _okx_kind(inst_type: str, inst_id: str) -> Kind:
    """OKX's own instType, and the margin coin in the id (BTC-USD-... inverse, -USDT- linear)."""
    if inst_type == "SPOT":
        return Kind.SPOT
    if inst_id.split("-")[1] != "USD":
        return Kind.LINEAR
    return Kind.INVERSE_PERP if inst_type == "SWAP" else Kind.INVERSE_FUTURE


@pytest.mark.parametrize(
    ("name", "socket"),
    [
        ("bybit-inverse-tickers.jsonl", "inverse"),
        ("bybit-linear-tickers.jsonl", "inverse"),
        ("bybit-spot-tickers.jsonl", "spot"),
    ],
)
def test_bybit_values_match_recorded_text(name: str, socket: str) -> None:
    quotes, _ = run_file(name, "bybit", socket)
    ref = _bybit_reference(fixture_json(name))
    assert len(quotes) == len(ref)
    for q, r in zip(quotes, ref, strict=True):
        assert q.symbol == r["symbol"]
        assert q.kind is _bybit_kind(name, r["symbol"])
        assert q.mark == f(r.get("markPrice"))
        assert q.index == f(r.get("indexPrice") or r.get("usdIndexPrice"))
        assert q.last == f(r.get("lastPrice"))
        assert q.bid == f(r.get("bid1Price"))
        assert q.ask == f(r.get("ask1Price"))
        assert q.funding_rate == f(r.get("fundingRate"))
        nft = r.get("nextFundingTime")
        assert q.next_funding_ms == (int(nft) if nft else None)
        hours = r.get("fundingIntervalHour")
        assert q.funding_interval_ms == (int(hours) * 3_600_000 if hours else None)
        assert q.exchange_ms == r["_ts"]


def test_bybit_delta_keeps_unchanged_fields() -> None:
    msgs = fixture_json("bybit-inverse-tickers.jsonl")
    snapshot, delta = msgs[0], msgs[1]
    assert "markPrice" not in delta["data"]
    assert "lastPrice" not in delta["data"]
    quotes, _ = run_file("bybit-inverse-tickers.jsonl", "bybit", "inverse")
    after = quotes[1]
    assert after.mark == float(snapshot["data"]["markPrice"])
    assert after.last == float(snapshot["data"]["lastPrice"])
    assert after.index == float(snapshot["data"]["indexPrice"])
    assert after.next_funding_ms == int(snapshot["data"]["nextFundingTime"])
    assert after.bid == float(delta["data"]["bid1Price"])
    assert after.exchange_ms == delta["ts"]
    # The dated future's snapshot says "no funding" with empty strings: None, never 0.
    dated = quotes[2]
    assert dated.symbol == "BTCUSDU23"
    assert dated.funding_rate is None
    assert dated.next_funding_ms is None

    # In the long linear capture, most deltas do not carry markPrice: they keep the last one.
    linear = fixture_json("bybit-linear-tickers.jsonl")
    without_mark = [m for m in linear if m["type"] == "delta" and "markPrice" not in m["data"]]
    assert len(without_mark) > 100
    assert sum(m["type"] == "snapshot" for m in linear) == 4


def test_bybit_reset_waits_for_a_fresh_snapshot() -> None:
    lines = fixture_lines("bybit-inverse-tickers.jsonl")
    adapter = make_adapter("bybit", "inverse")
    out: list[Quote] = []
    assert adapter.decode(lines[0], 1, out.append) == 1
    adapter.reset()  # what the runner does on every reconnect
    assert adapter.decode(lines[1], 2, out.append) == 0  # a delta with nothing to merge into
    assert len(out) == 1
    assert adapter.decode(lines[0], 3, out.append) == 1
    assert adapter.decode(lines[1], 4, out.append) == 1


def test_bybit_restrict_to_symbols() -> None:
    adapter = make_adapter("bybit", "inverse")
    adapter.restrict(["BTCUSDT"])
    out: list[Quote] = []
    c = replay_lines(
        adapter, fixture_lines("bybit-linear-tickers.jsonl"), out.append, received_ms=int
    )
    btc = sum(m["data"]["symbol"] == "BTCUSDT" for m in fixture_json("bybit-linear-tickers.jsonl"))
    assert btc == 185  # per the fixtures README
    assert c.quotes == btc
    assert {q.symbol for q in out} == {"BTCUSDT"}
    assert c.ignored == c.messages - btc


def test_bybit_control_refusal_is_recorded() -> None:
    adapter = make_adapter("bybit", "inverse")
    refusal = '{"success":false,"ret_msg":"error:handler not found","op":"subscribe"}'
    assert adapter.decode(refusal, 1, lambda q: None) == 0
    assert adapter.last_error is not None
    assert "handler not found" in adapter.last_error


# --- Binance -----------------------------------------------------------------------------------


def test_binance_bookticker_values() -> None:
    for name, socket in (
        ("binance-coinm-bookticker.jsonl", "inverse"),
        ("binance-spot-bookticker.jsonl", "spot"),
    ):
        quotes, _ = run_file(name, "binance", socket)
        for q, m in zip(quotes, fixture_json(name), strict=True):
            d = m["data"]
            assert q.symbol == d["s"]
            assert q.bid == float(d["b"])
            assert q.ask == float(d["a"])
            assert q.exchange_ms == d.get("E")  # spot bookTicker has no timestamp: None
            assert q.mark is None
            assert q.funding_rate is None


def test_binance_markprice_values() -> None:
    quotes, _ = run_file("binance-coinm-markprice.jsonl", "binance", "inverse")
    datas: list[dict[str, Any]] = []
    for m in fixture_json("binance-coinm-markprice.jsonl"):
        datas.extend(m["data"] if isinstance(m["data"], list) else [m["data"]])
    for q, d in zip(quotes, datas, strict=True):
        assert q.symbol == d["s"]
        assert q.mark == float(d["p"])
        # "P" is the estimated settle price, not the index; these old pushes carry no "i".
        assert q.index == (float(d["i"]) if "i" in d else None)
        assert q.funding_rate == (float(d["r"]) if d.get("r") else None)
        assert q.next_funding_ms == (d.get("T") or None)
        assert q.exchange_ms == d["E"]


def test_binance_streams_merge_per_symbol() -> None:
    adapter = make_adapter("binance", "inverse")
    out: list[Quote] = []
    mark = fixture_lines("binance-coinm-markprice.jsonl")[1]  # btcusd_perp@markPrice
    book = fixture_lines("binance-coinm-bookticker.jsonl")[0]  # btcusd_perp@bookTicker
    adapter.decode(mark, 1, out.append)
    adapter.decode(book, 2, out.append)
    merged = out[-1]
    assert merged.symbol == "BTCUSD_PERP"
    assert merged.mark == float(fixture_json("binance-coinm-markprice.jsonl")[1]["data"]["p"])
    assert merged.bid == float(fixture_json("binance-coinm-bookticker.jsonl")[0]["data"]["b"])


def test_binance_ticker_last_price() -> None:
    quotes, _ = run_file("binance-coinm-ticker.jsonl", "binance", "inverse")
    for q, m in zip(quotes, fixture_json("binance-coinm-ticker.jsonl"), strict=True):
        assert q.last == float(m["data"]["c"])
    spot, _ = run_file("binance-spot-ticker.jsonl", "binance", "spot")
    d = fixture_json("binance-spot-ticker.jsonl")[0]["data"]
    assert (spot[0].last, spot[0].bid, spot[0].ask) == (float(d["c"]), float(d["b"]), float(d["a"]))
    assert spot[0].kind is Kind.SPOT


def test_binance_url_carries_the_streams() -> None:
    inv = make_adapter("binance", "inverse")
    url = inv.url_for("wss://dstream.binance.com/stream", ["BTCUSD_PERP"])
    assert url == (
        "wss://dstream.binance.com/stream?streams=btcusd_perp@markPrice@1s/btcusd_perp@bookTicker"
    )
    spot = make_adapter("binance", "spot")
    assert spot.url_for("ws://h/stream", ["BTCUSDT"]) == "ws://h/stream?streams=btcusdt@bookTicker"


# --- Deribit -----------------------------------------------------------------------------------


def test_deribit_values() -> None:
    quotes, _ = run_file("deribit-ticker.jsonl", "deribit", "inverse")
    for q, m in zip(quotes, fixture_json("deribit-ticker.jsonl"), strict=True):
        d = m["params"]["data"]
        assert q.symbol == d["instrument_name"]
        assert (q.mark, q.index, q.last) == (d["mark_price"], d["index_price"], d["last_price"])
        assert (q.bid, q.ask) == (d["best_bid_price"], d["best_ask_price"])
        assert q.exchange_ms == d["timestamp"]
        assert q.next_funding_ms is None  # continuous funding
        if d["instrument_name"].endswith("PERPETUAL"):
            assert q.funding_rate == d["funding_8h"]
            assert q.funding_interval_ms == 8 * 3_600_000
        else:
            assert q.funding_rate is None
            assert q.funding_interval_ms is None


def test_deribit_answers_test_request() -> None:
    adapter = make_adapter("deribit", "inverse")
    test_request = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'
    assert adapter.decode(test_request, 1, lambda q: None) == 0
    assert len(adapter.outbox) == 1
    assert '"public/test"' in adapter.outbox[0]
    beat = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}'
    adapter.outbox.clear()
    assert adapter.decode(beat, 1, lambda q: None) == 0
    assert adapter.outbox == []


# --- OKX ---------------------------------------------------------------------------------------


def test_okx_values() -> None:
    for name in ("okx-swap-tickers.jsonl", "okx-futures-tickers.jsonl", "okx-spot-tickers.jsonl"):
        quotes, _ = run_file(name, "okx", "inverse")
        for q, m in zip(quotes, fixture_json(name), strict=True):
            d = m["data"][0]
            assert q.symbol == d["instId"]
            assert (q.last, q.bid, q.ask) == (
                float(d["last"]),
                float(d["bidPx"]),
                float(d["askPx"]),
            )
            assert q.exchange_ms == int(d["ts"])
            assert q.kind is _okx_kind(d["instType"], d["instId"])
    quotes, _ = run_file("okx-swap-fundingrate.jsonl", "okx", "inverse")
    for q, m in zip(quotes, fixture_json("okx-swap-fundingrate.jsonl"), strict=True):
        d = m["data"][0]
        assert q.funding_rate == f(d.get("fundingRate"))  # SOS-USDT-SWAP has none: None
        assert q.next_funding_ms == int(d["fundingTime"])  # the upcoming settlement
    for name in ("okx-swap-markprice.jsonl", "okx-futures-markprice.jsonl"):
        quotes, _ = run_file(name, "okx", "inverse")
        for q, m in zip(quotes, fixture_json(name), strict=True):
            assert q.mark == float(m["data"][0]["markPx"])
            assert q.exchange_ms == int(m["data"][0]["ts"])


def test_okx_channels_merge_and_index_by_underlying() -> None:
    adapter = make_adapter("okx", "inverse")
    out: list[Quote] = []
    ticker = fixture_lines("okx-swap-tickers.jsonl")[1]  # BTC-USD-SWAP
    funding = fixture_lines("okx-swap-fundingrate.jsonl")[0]  # BTC-USD-SWAP
    index = (
        '{"arg":{"channel":"index-tickers","instId":"BTC-USD"},"data":[{"instId":"BTC-USD",'
        '"idxPx":"29930.1","ts":"1654166220400"}]}'
    )
    funding_now = (
        '{"arg":{"channel":"funding-rate","instId":"BTC-USD-SWAP"},"data":[{"instId":'
        '"BTC-USD-SWAP","instType":"SWAP","fundingRate":"0.0001","fundingTime":"1700006400000",'
        '"nextFundingTime":"1700035200000","ts":"1700000000000"}]}'
    )
    for line in (ticker, funding, index, funding_now):
        adapter.decode(line, 1, out.append)
    last = out[-1]
    assert last.symbol == "BTC-USD-SWAP"
    assert last.last == float(fixture_json("okx-swap-tickers.jsonl")[1]["data"][0]["last"])
    assert last.index == 29930.1
    assert last.funding_rate == 0.0001
    assert last.next_funding_ms == 1700006400000
    assert last.funding_interval_ms == 8 * 3_600_000
    assert adapter.decode("pong", 1, out.append) == 0


def test_okx_subscribe_frames() -> None:
    import json

    frames = make_adapter("okx").subscribe_frames(["BTC-USD-SWAP", "BTC-USDT"])
    args = json.loads(frames[0])["args"]
    assert {"channel": "mark-price", "instId": "BTC-USD-SWAP"} in args
    assert {"channel": "funding-rate", "instId": "BTC-USD-SWAP"} in args
    assert {"channel": "index-tickers", "instId": "BTC-USD"} in args
    assert {"channel": "tickers", "instId": "BTC-USDT"} in args
    assert {"channel": "mark-price", "instId": "BTC-USDT"} not in args


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("venue", "bad"),
    [
        ("bybit", '{"topic":"tickers.BTCUSD","type":"snapshot","data":"oops","ts":1}'),
        ("bybit", '{"topic":"tickers.BTCUSD","type":"snapshot","data":{"markPrice":"x"}}'),
        ("bybit", '{"topic":"tickers.BTCUSD"'),
        ("binance", '{"stream":"x","data":{"e":"markPriceUpdate","s":"BTCUSD_PERP","p":"abc"}}'),
        ("binance", "[1, 2"),
        ("okx", '{"arg":{"channel":"tickers"},"data":{"not":"a list"}}'),
        ("okx", "ping?"),
        (
            "deribit",
            '{"method":"subscription","params":{"channel":"ticker.X","data":{"mark_price":"x"}}}',
        ),
        ("deribit", "\x00\x01"),
    ],
)
def test_malformed_messages_are_counted_not_fatal(venue: str, bad: str) -> None:
    good = {
        "bybit": fixture_lines("bybit-inverse-tickers.jsonl")[0],
        "binance": fixture_lines("binance-coinm-bookticker.jsonl")[0],
        "okx": fixture_lines("okx-swap-tickers.jsonl")[1],
        "deribit": fixture_lines("deribit-ticker.jsonl")[3],
    }[venue]
    out: list[Quote] = []
    c = replay_lines(make_adapter(venue), [bad, good, bad], out.append, received_ms=int)
    assert (c.messages, c.parse_errors, c.quotes) == (3, 2, 1)
