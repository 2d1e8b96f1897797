"""Wire conformance of the simulator, with a plain websockets client: every frame is compared
field by field (key sets, value types) with the recorded real messages in shared/fixtures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from core.sim import MarketModel, parse_chaos

TIMEOUT = 5.0
START_MS = 1_764_000_000_000  # as in conftest


async def recv_json(ws: ClientConnection, timeout: float = TIMEOUT) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws: ClientConnection, pred: Callable[[Any], bool], limit: int = 200) -> Any:
    for _ in range(limit):
        msg = await recv_json(ws)
        if pred(msg):
            return msg
    raise AssertionError("no matching frame")


def _is_number_text(v: str) -> bool:
    float(v)
    return True


async def test_urls_mirror_the_real_paths(make_sim: Any) -> None:
    _, urls = await make_sim()
    assert set(urls) == {
        ("bybit", "inverse"),
        ("bybit", "spot"),
        ("binance", "inverse"),
        ("binance", "spot"),
        ("okx", "inverse"),
        ("okx", "spot"),
        ("deribit", "inverse"),
    }
    assert urls[("okx", "inverse")].endswith("/ws/v5/public")
    assert urls[("okx", "spot")] == urls[("okx", "inverse")]  # one OKX socket carries both
    assert urls[("deribit", "inverse")].endswith("/ws/api/v2")
    assert urls[("bybit", "inverse")].endswith("/v5/public/inverse")
    assert urls[("bybit", "spot")].endswith("/v5/public/spot")
    assert urls[("binance", "inverse")].endswith("/stream")
    assert urls[("binance", "spot")].endswith("/stream")
    for url in urls.values():
        assert url.startswith("ws://127.0.0.1:")
    # COIN-M and spot are different hosts in reality: different ports here.
    assert urls[("binance", "inverse")] != urls[("binance", "spot")]


async def test_unknown_path_is_404(make_sim: Any) -> None:
    _, urls = await make_sim()
    base = urls[("bybit", "inverse")].removesuffix("/v5/public/inverse")
    with pytest.raises(InvalidStatus) as err:
        async with connect(base + "/v5/public/linear"):
            pass
    assert err.value.response.status_code == 404


async def test_bybit_inverse_subscribe_snapshot_deltas(make_sim: Any, fixture_lines: Any) -> None:
    control = fixture_lines("bybit-control.jsonl")
    recorded = fixture_lines("bybit-inverse-tickers.jsonl")
    rec_snap = recorded[0]  # tickers.BTCUSD perpetual snapshot
    rec_delta = recorded[1]
    assert rec_snap["type"] == "snapshot"
    _, urls = await make_sim()
    async with connect(urls[("bybit", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSD"], "req_id": "s1"}))
        ack = await recv_json(ws)
        # The contract-socket ack of the recording, with our req_id.
        assert list(ack) == list(control[0])
        assert ack["success"] is True
        assert ack["ret_msg"] == ""
        assert ack["op"] == "subscribe"
        assert ack["req_id"] == "s1"
        assert isinstance(ack["conn_id"], str)
        assert ack["conn_id"]

        snap = await recv_json(ws)
        assert list(snap) == list(rec_snap)  # topic, type, data, cs, ts
        assert snap["topic"] == "tickers.BTCUSD"
        assert snap["type"] == "snapshot"
        assert list(snap["data"]) == list(rec_snap["data"])
        for k, v in snap["data"].items():
            assert isinstance(v, str), k
            if k not in ("symbol", "tickDirection"):
                assert _is_number_text(v)
        assert isinstance(snap["cs"], int)
        assert isinstance(snap["ts"], int)
        assert snap["data"]["symbol"] == "BTCUSD"
        assert snap["data"]["tickDirection"] in (
            "PlusTick",
            "ZeroPlusTick",
            "MinusTick",
            "ZeroMinusTick",
        )
        assert int(snap["data"]["nextFundingTime"]) % (8 * 3600 * 1000) == 0
        assert float(snap["data"]["bid1Price"]) < float(snap["data"]["ask1Price"])

        state = dict(snap["data"])
        last_cs = snap["cs"]
        last_ts = snap["ts"]
        for _ in range(10):
            delta = await recv_json(ws)
            assert list(delta) == list(rec_delta)
            assert delta["type"] == "delta"
            assert delta["data"]["symbol"] == "BTCUSD"
            assert set(delta["data"]) <= set(rec_snap["data"])
            assert len(delta["data"]) > 1
            # A delta carries only what changed.
            for k, v in delta["data"].items():
                assert isinstance(v, str)
                if k != "symbol":
                    assert state[k] != v, k
            state.update(delta["data"])
            assert delta["cs"] > last_cs
            assert delta["ts"] > last_ts
            last_cs, last_ts = delta["cs"], delta["ts"]

        # Ping: the contract socket's pong.
        await ws.send(json.dumps({"op": "ping", "req_id": "p9"}))
        pong = await recv_until(ws, lambda m: m.get("op") == "ping")
        assert pong == {
            "success": True,
            "ret_msg": "pong",
            "conn_id": ack["conn_id"],
            "req_id": "p9",
            "op": "ping",
        }

        # A resubscription starts from a fresh snapshot.
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSD"]}))
        again = await recv_until(ws, lambda m: m.get("op") == "subscribe")
        assert again["req_id"] == ""
        snap2 = await recv_until(ws, lambda m: m.get("type") == "snapshot")
        assert list(snap2["data"]) == list(rec_snap["data"])


async def test_bybit_unknown_or_refused_symbol(make_sim: Any) -> None:
    ex, urls = await make_sim(chaos=parse_chaos("refuse=SOL"))
    async with connect(urls[("bybit", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.DOGEUSD"], "req_id": "1"}))
        ack = await recv_json(ws)
        assert ack["success"] is False
        assert "tickers.DOGEUSD" in ack["ret_msg"]
        await ws.send(
            json.dumps(
                {"op": "subscribe", "args": ["tickers.SOLUSD", "tickers.ETHUSD"], "req_id": "2"}
            )
        )
        ack = await recv_json(ws)
        assert ack["success"] is False
        assert "tickers.SOLUSD" in ack["ret_msg"]
        assert ack["req_id"] == "2"
        # ETHUSD still flows; SOLUSD never does.
        seen = set()
        for _ in range(12):
            msg = await recv_json(ws)
            seen.add(msg["topic"])
        assert seen == {"tickers.ETHUSD"}
    assert ex.stats.refused == 2


async def test_bybit_spot(make_sim: Any, fixture_lines: Any) -> None:
    control = fixture_lines("bybit-control.jsonl")
    spot_ack = control[-1]  # recorded on the spot socket: no req_id, ret_msg "subscribe"
    recorded = fixture_lines("bybit-spot-tickers.jsonl")[0]
    _, urls = await make_sim()
    async with connect(urls[("bybit", "spot")]) as ws:
        await ws.send(
            json.dumps({"op": "subscribe", "args": ["tickers.BTCUSDT", "tickers.ETHUSDT"]})
        )
        ack = await recv_json(ws)
        assert list(ack) == list(spot_ack)
        assert ack["ret_msg"] == "subscribe"
        assert ack["success"] is True
        symbols = set()
        for _ in range(6):
            msg = await recv_json(ws)
            assert list(msg) == list(recorded)  # topic, ts, type, cs, data
            assert msg["type"] == "snapshot"
            assert list(msg["data"]) == list(recorded["data"])
            assert all(isinstance(v, str) for v in msg["data"].values())
            assert isinstance(msg["ts"], int)
            assert isinstance(msg["cs"], int)
            symbols.add(msg["data"]["symbol"])
            assert msg["topic"] == "tickers." + msg["data"]["symbol"]
            assert float(msg["data"]["usdIndexPrice"]) > 0
        assert symbols == {"BTCUSDT", "ETHUSDT"}
        await ws.send(json.dumps({"op": "ping"}))
        pong = await recv_until(ws, lambda m: m.get("op") == "ping")
        assert pong["ret_msg"] == "pong"
        assert "req_id" not in pong


async def test_binance_coinm_combined_stream(make_sim: Any, fixture_lines: Any) -> None:
    mark_rec = fixture_lines("binance-coinm-markprice.jsonl")[1]  # btcusd_perp@markPrice
    book_rec = fixture_lines("binance-coinm-bookticker.jsonl")[0]
    _, urls = await make_sim()
    url = urls[("binance", "inverse")] + "?streams=btcusd_perp@markPrice@1s/ethusd_perp@bookTicker"
    async with connect(url) as ws:
        kinds = set()
        for _ in range(8):
            msg = await recv_json(ws)
            assert list(msg) == ["stream", "data"]
            data = msg["data"]
            if msg["stream"] == "btcusd_perp@markPrice@1s":
                # The recording predates the index price "i" that the docs now list.
                assert set(data) - set(mark_rec["data"]) == {"i"}
                assert set(mark_rec["data"]) <= set(data)
                assert data["e"] == "markPriceUpdate"
                assert data["s"] == "BTCUSD_PERP"
                for k in ("E", "T"):
                    assert isinstance(data[k], int)
                for k in ("p", "P", "i", "r"):
                    assert isinstance(data[k], str)
                    assert _is_number_text(data[k])
                assert data["T"] % (8 * 3600 * 1000) == 0
                assert data["T"] > data["E"]
            else:
                assert msg["stream"] == "ethusd_perp@bookTicker"
                assert list(data) == list(book_rec["data"])
                for k, v in data.items():
                    assert type(v) is type(book_rec["data"][k]), k
                assert data["s"] == "ETHUSD_PERP"
                assert data["ps"] == "ETHUSD"
                assert float(data["b"]) < float(data["a"])
                assert data["T"] <= data["E"]
            kinds.add(msg["stream"])
        assert len(kinds) == 2

        # SUBSCRIBE / LIST_SUBSCRIPTIONS on the same socket.
        await ws.send(
            json.dumps({"method": "SUBSCRIBE", "params": ["solusd_perp@bookTicker"], "id": 7})
        )
        assert await recv_until(ws, lambda m: "id" in m) == {"result": None, "id": 7}
        sol = await recv_until(ws, lambda m: m.get("stream") == "solusd_perp@bookTicker")
        assert sol["data"]["s"] == "SOLUSD_PERP"
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 8}))
        listed = await recv_until(ws, lambda m: m.get("id") == 8)
        assert set(listed["result"]) == {
            "btcusd_perp@markPrice@1s",
            "ethusd_perp@bookTicker",
            "solusd_perp@bookTicker",
        }


async def test_binance_raw_stream_and_subscribe_method(make_sim: Any, fixture_lines: Any) -> None:
    book_rec = fixture_lines("binance-coinm-bookticker.jsonl")[0]["data"]
    _, urls = await make_sim()
    base = urls[("binance", "inverse")].removesuffix("/stream")
    async with connect(base + "/ws/btcusd_perp@bookTicker") as ws:
        data = await recv_json(ws)
        assert list(data) == list(book_rec)  # raw: not wrapped
        assert data["s"] == "BTCUSD_PERP"
        first_u = data["u"]
        data = await recv_json(ws)
        assert data["u"] > first_u
    async with connect(base + "/ws") as ws:
        await ws.send(
            json.dumps({"method": "SUBSCRIBE", "params": ["adausd_perp@markPrice"], "id": 1})
        )
        assert await recv_json(ws) == {"result": None, "id": 1}
        data = await recv_json(ws)
        assert data["e"] == "markPriceUpdate"
        assert data["s"] == "ADAUSD_PERP"


async def test_binance_spot_book_ticker(make_sim: Any, fixture_lines: Any) -> None:
    rec = fixture_lines("binance-spot-bookticker.jsonl")[0]
    _, urls = await make_sim()
    async with connect(urls[("binance", "spot")] + "?streams=btcusdt@bookTicker") as ws:
        msg = await recv_json(ws)
        assert list(msg) == list(rec)
        assert msg["stream"] == "btcusdt@bookTicker"
        assert list(msg["data"]) == list(rec["data"])  # u, s, b, B, a, A: no e/E/T
        for k, v in msg["data"].items():
            assert type(v) is type(rec["data"][k]), k
        assert msg["data"]["s"] == "BTCUSDT"
    # The COIN-M host does not serve spot symbols, and vice versa.
    async with connect(
        urls[("binance", "inverse")] + "?streams=btcusdt@bookTicker/btcusd_perp@bookTicker"
    ) as ws:
        for _ in range(4):
            assert (await recv_json(ws))["stream"] == "btcusd_perp@bookTicker"


async def test_wire_prices_follow_the_seeded_model_whatever_the_wall_clock(make_sim: Any) -> None:
    ex, urls = await make_sim(seed=5, coins=("BTC", "XRP"))
    base = urls[("binance", "inverse")].removesuffix("/stream")
    async with connect(base + "/ws/xrpusd_perp@markPrice") as ws:
        frames = [await recv_json(ws) for _ in range(3)]
    # Replay the same seed offline in the same fixed steps: same marks at the same times.
    model = MarketModel(("BTC", "XRP"), seed=5, start_ms=START_MS)
    for f in frames:
        while model.now_ms < f["E"]:
            model.advance(ex.step_ms)
        assert model.now_ms == f["E"]
        assert f["p"] == f"{model.perp('binance', 'XRP').mark:.8f}"
        assert f["i"] == f"{model.price('XRP'):.8f}"
    other = MarketModel(("BTC", "XRP"), seed=6, start_ms=START_MS)
    while other.now_ms < frames[-1]["E"]:
        other.advance(ex.step_ms)
    assert frames[-1]["p"] != f"{other.perp('binance', 'XRP').mark:.8f}"


async def test_clock_and_price(make_sim: Any) -> None:
    ex, urls = await make_sim(speed=600.0)
    t0 = ex.now_ms()
    p0 = ex.price("BTC")
    async with connect(urls[("bybit", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSD"]}))
        await recv_json(ws)
        snap = await recv_json(ws)
        for _ in range(5):
            await recv_json(ws)
    assert ex.now_ms() > t0
    # 20 ms of wall time per step at 600x: 12 s of simulated time per step.
    assert (ex.now_ms() - t0) % ex.step_ms == 0
    assert ex.step_ms == 12_000
    assert ex.price("BTC") != p0
    assert snap["ts"] >= t0


async def test_settlement_on_the_wire_next_funding_time_advances(make_sim: Any) -> None:
    h8 = 8 * 3600 * 1000
    boundary = (START_MS // h8 + 1) * h8
    # 5 simulated minutes before a funding time, 12 s of simulated time per 20 ms tick.
    ex, urls = await make_sim(start_ms=boundary - 300_000, speed=600.0, coins=("BTC", "ETH"))
    settled: list[Any] = []
    ex.on_settlement = settled.append
    async with connect(urls[("bybit", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSD"]}))
        await recv_json(ws)
        snap = await recv_json(ws)
        if int(snap["data"]["nextFundingTime"]) == boundary:
            moved = await recv_until(ws, lambda m: "nextFundingTime" in m["data"])
            assert int(moved["data"]["nextFundingTime"]) == boundary + h8
            assert moved["ts"] >= boundary
        else:  # a very slow start: the snapshot came after the settlement
            assert int(snap["data"]["nextFundingTime"]) == boundary + h8
    assert {(s.venue, s.coin) for s in settled} == {
        ("bybit", "BTC"),
        ("bybit", "ETH"),
        ("binance", "BTC"),
        ("binance", "ETH"),
        ("okx", "BTC"),
        ("okx", "ETH"),
    }  # Deribit funds continuously: no settlement
    assert {s.ts_ms for s in settled} == {boundary}
    for s in settled:
        assert ex.model.perp(s.venue, s.coin).last_settled_rate == s.rate
