"""OKX v5 public and Deribit JSON-RPC as the simulator speaks them, with a plain websockets
client (and aiohttp for the REST paths): frames compared key by key with the recorded real
messages in shared/fixtures, acks, errors, ping/pong, the Deribit heartbeat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from core.sim import SimExchange, parse_chaos
from core.sim.model import FUNDING_INTERVAL_MS

TIMEOUT = 5.0


async def recv(ws: ClientConnection) -> str:
    msg = await asyncio.wait_for(ws.recv(), TIMEOUT)
    return msg if isinstance(msg, str) else msg.decode()


async def recv_json(ws: ClientConnection) -> Any:
    return json.loads(await recv(ws))


async def recv_until(ws: ClientConnection, pred: Callable[[Any], bool], limit: int = 200) -> Any:
    for _ in range(limit):
        text = await recv(ws)
        if text == "pong":
            continue
        msg = json.loads(text)
        if pred(msg):
            return msg
    raise AssertionError("no matching frame")


async def drain(ws: ClientConnection) -> None:
    """Read until the server closes the connection (bounded by ``TIMEOUT`` per frame)."""
    for _ in range(10):
        await recv(ws)


def okx_push(channel: str, inst: str) -> Callable[[Any], bool]:
    return lambda m: m.get("arg") == {"channel": channel, "instId": inst} and "data" in m


def quarterly(ex: SimExchange) -> int:
    return ex.model.expiries[0]


def yymmdd(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%y%m%d")


# -- OKX -------------------------------------------------------------------------------------


async def test_okx_subscribe_acks_pushes_match_the_recordings(
    make_sim: Any, fixture_lines: Any
) -> None:
    ex, urls = await make_sim(coins=("BTC", "SOL"))
    fut = f"BTC-USD-{yymmdd(quarterly(ex))}"
    args = [
        {"channel": "tickers", "instId": "BTC-USD-SWAP"},
        {"channel": "mark-price", "instId": "BTC-USD-SWAP"},
        {"channel": "funding-rate", "instId": "BTC-USD-SWAP"},
        {"channel": "index-tickers", "instId": "BTC-USD"},
        {"channel": "tickers", "instId": fut},
        {"channel": "tickers", "instId": "BTC-USDT"},
    ]
    async with connect(urls[("okx", "inverse")]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": args}))
        acks = [await recv_json(ws) for _ in args]
        recorded_ack = fixture_lines("okx-control.jsonl")[0]
        for ack, arg in zip(acks, args, strict=True):
            assert ack["event"] == "subscribe"
            assert ack["arg"] == arg
            assert set(recorded_ack) <= set(ack)
        first: dict[tuple[str, str], dict[str, str]] = {}
        while len(first) < len(args):
            m = await recv_json(ws)
            first.setdefault((m["arg"]["channel"], m["arg"]["instId"]), m["data"][0])
        swap = first[("tickers", "BTC-USD-SWAP")]
        rec = fixture_lines("okx-swap-tickers.jsonl")[1]["data"][0]
        assert set(rec) <= set(swap)
        assert all(isinstance(v, str) for v in swap.values())
        assert swap["instType"] == "SWAP"
        assert float(swap["bidPx"]) < float(swap["askPx"])
        dated = first[("tickers", fut)]
        assert set(fixture_lines("okx-futures-tickers.jsonl")[0]["data"][0]) <= set(dated)
        assert dated["instType"] == "FUTURES"
        spot = first[("tickers", "BTC-USDT")]
        assert set(fixture_lines("okx-spot-tickers.jsonl")[0]["data"][0]) <= set(spot)
        assert spot["instType"] == "SPOT"
        mark = first[("mark-price", "BTC-USD-SWAP")]
        assert set(fixture_lines("okx-swap-markprice.jsonl")[0]["data"][0]) <= set(mark)
        fr = first[("funding-rate", "BTC-USD-SWAP")]
        assert set(fixture_lines("okx-swap-fundingrate.jsonl")[0]["data"][0]) <= set(fr)
        # fundingTime is the settlement ahead, nextFundingTime the one after it
        assert int(fr["fundingTime"]) > ex.now_ms()
        assert int(fr["nextFundingTime"]) - int(fr["fundingTime"]) == FUNDING_INTERVAL_MS
        idx = first[("index-tickers", "BTC-USD")]
        assert float(idx["idxPx"]) == pytest.approx(ex.price("BTC"), rel=0.001)
        # the quarterly trades at a basis over the perpetual
        assert float(dated["last"]) > float(swap["last"])


async def test_okx_errors_ping_and_unsubscribe(make_sim: Any) -> None:
    ex, urls = await make_sim(coins=("BTC",), chaos=parse_chaos("refuse=BTC-USD-SWAP"))
    fut = f"BTC-USD-{yymmdd(quarterly(ex))}"
    async with connect(urls[("okx", "inverse")]) as ws:
        await ws.send("ping")
        assert await recv(ws) == "pong"
        await ws.send("{not json")
        err = await recv_json(ws)
        assert err["event"] == "error"
        assert err["code"] == "60012"
        assert "connId" in err
        bad = [
            {"channel": "tickers", "instId": "NOPE-USD-SWAP"},
            {"channel": "funding-rate", "instId": fut},  # futures have no funding
            {"channel": "mark-price", "instId": "BTC-USDT"},
            {"channel": "books", "instId": "BTC-USDT"},
            {"channel": "tickers", "instId": "BTC-USD-SWAP"},  # refused by the fault
        ]
        await ws.send(json.dumps({"op": "subscribe", "args": bad, "id": "7"}))
        for arg in bad:
            e = await recv_json(ws)
            assert e["event"] == "error", arg
            assert e["code"] == "60018"
            assert arg["instId"] in e["msg"]
        await ws.send(
            json.dumps({"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]})
        )
        assert (await recv_json(ws))["event"] == "subscribe"
        await recv_until(ws, okx_push("tickers", "BTC-USDT"))
        unsub = {"op": "unsubscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]}
        await ws.send(json.dumps(unsub))
        await recv_until(ws, lambda m: m.get("event") == "unsubscribe")
        # after the ack nothing more is pushed: the next frame is the answer to a ping
        await ws.send("ping")
        assert await recv(ws) == "pong"
    assert ex.stats.refused >= 5


async def test_okx_instruments_rest(make_sim: Any) -> None:
    ex, _ = await make_sim(coins=("BTC", "SOL"))
    base = ex.endpoint("okx", "rest") + "/api/v5/public/instruments"
    async with aiohttp.ClientSession() as s:
        async with s.get(base, params={"instType": "SWAP"}) as r:
            swaps = await r.json()
        async with s.get(base, params={"instType": "FUTURES", "uly": "BTC-USD"}) as r:
            futs = await r.json()
        async with s.get(base, params={"instType": "NOPE"}) as r:
            bad = await r.json()
    assert swaps["code"] == "0"
    by_id = {row["instId"]: row for row in swaps["data"]}
    assert set(by_id) == {"BTC-USD-SWAP", "SOL-USD-SWAP"}
    assert by_id["BTC-USD-SWAP"]["ctVal"] == "100"
    assert by_id["SOL-USD-SWAP"]["ctVal"] == "10"
    assert by_id["BTC-USD-SWAP"]["ctType"] == "inverse"
    assert [row["instId"] for row in futs["data"]] == [
        f"BTC-USD-{yymmdd(t)}" for t in ex.model.expiries
    ]
    assert [row["alias"] for row in futs["data"]] == ["this_quarter", "next_quarter"]
    assert int(futs["data"][0]["expTime"]) == quarterly(ex)
    assert bad["code"] == "51000"
    assert bad["data"] == []


# -- Deribit ---------------------------------------------------------------------------------


def rpc(rid: int, method: str, **params: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})


def deribit_future(ex: SimExchange, coin: str = "BTC") -> str:
    from datetime import UTC, datetime

    d = datetime.fromtimestamp(quarterly(ex) / 1000, UTC)
    return f"{coin}-{d.day}{d.strftime('%b').upper()}{d:%y}"


async def test_deribit_subscribe_and_notifications_match_the_recordings(
    make_sim: Any, fixture_lines: Any
) -> None:
    ex, urls = await make_sim(coins=("BTC", "ETH", "SOL"))
    fut = deribit_future(ex)
    channels = [
        "ticker.BTC-PERPETUAL.100ms",
        f"ticker.{fut}.raw",
        "ticker.SOL-PERPETUAL.100ms",  # no inverse SOL on Deribit
        "book.BTC-PERPETUAL.100ms",  # not served
    ]
    recorded = fixture_lines("deribit-ticker.jsonl")
    async with connect(urls[("deribit", "inverse")]) as ws:
        await ws.send(rpc(1, "public/subscribe", channels=channels))
        reply = await recv_until(ws, lambda m: m.get("id") == 1)
        assert set(fixture_lines("deribit-control.jsonl")[0]) <= set(reply)
        assert reply["result"] == channels[:2]
        perp = await recv_until(ws, lambda m: m.get("params", {}).get("channel") == channels[0])
        assert set(recorded[3]) == set(perp)
        assert set(recorded[3]["params"]["data"]) <= set(perp["params"]["data"])
        d = perp["params"]["data"]
        assert d["instrument_name"] == "BTC-PERPETUAL"
        assert d["best_bid_price"] < d["best_ask_price"]
        assert d["index_price"] == pytest.approx(ex.price("BTC"), rel=0.001)
        for key in ("mark_price", "index_price", "last_price", "funding_8h", "current_funding"):
            assert isinstance(d[key], float), key
        assert isinstance(d["timestamp"], int)
        dated = await recv_until(ws, lambda m: m.get("params", {}).get("channel") == channels[1])
        dd = dated["params"]["data"]
        assert set(recorded[2]["params"]["data"]) <= set(dd)
        assert "funding_8h" not in dd
        assert dd["mark_price"] > dd["index_price"]  # contango: the basis of the model
        await ws.send(rpc(2, "public/unsubscribe", channels=[channels[1]]))
        assert (await recv_until(ws, lambda m: m.get("id") == 2))["result"] == [channels[1]]


async def test_deribit_errors_and_methods(make_sim: Any) -> None:
    ex, urls = await make_sim(coins=("BTC", "ETH"))
    async with connect(urls[("deribit", "inverse")]) as ws:
        await ws.send("{nope")
        assert (await recv_json(ws))["error"]["code"] == -32700
        await ws.send(rpc(3, "public/no_such_method"))
        e = await recv_json(ws)
        assert e["id"] == 3
        assert e["error"] == {"message": "Method not found", "code": -32601}
        await ws.send(rpc(4, "public/subscribe", channels="ticker.BTC-PERPETUAL.100ms"))
        e = await recv_json(ws)
        assert e["error"]["code"] == -32602
        assert e["error"]["data"]["param"] == "channels"
        await ws.send(rpc(5, "public/set_heartbeat", interval=1))
        e = await recv_json(ws)
        assert e["error"]["code"] == -32602
        assert e["error"]["data"]["param"] == "interval"
        await ws.send(rpc(6, "public/test"))
        assert (await recv_json(ws))["result"]["version"]
        await ws.send(rpc(7, "public/get_instruments", currency="BTC", kind="future"))
        rows = (await recv_json(ws))["result"]
        names = [r["instrument_name"] for r in rows]
        assert names[0] == "BTC-PERPETUAL"
        assert deribit_future(ex) in names
        perp = rows[0]
        assert perp["contract_size"] == 10
        assert perp["settlement_period"] == "perpetual"
        assert perp["instrument_type"] == "reversed"
        await ws.send(rpc(8, "public/get_instruments", currency="DOGE"))
        assert (await recv_json(ws))["error"]["data"]["param"] == "currency"
    url = ex.endpoint("deribit", "rest") + "/api/v2/public/get_instruments"
    async with aiohttp.ClientSession() as s:
        async with s.get(url, params={"currency": "ETH", "kind": "future"}) as r:
            body = await r.json()
        async with s.get(ex.endpoint("deribit", "rest") + "/api/v2/public/nope") as r:
            missing = r.status
    assert missing == 404
    eth = [row["instrument_name"] for row in body["result"]]
    assert eth[0] == "ETH-PERPETUAL"
    assert deribit_future(ex, "ETH") in eth
    assert body["result"][0]["contract_size"] == 1


async def test_deribit_heartbeat_test_request_answered_or_closed(make_sim: Any) -> None:
    ex, urls = await make_sim(coins=("BTC",))
    ex.deribit.min_heartbeat_s = 0.01  # the real minimum is 10 s
    async with connect(urls[("deribit", "inverse")]) as ws:
        await ws.send(rpc(1, "public/set_heartbeat", interval=0.05))
        assert (await recv_json(ws))["result"] == "ok"
        for k in range(3):  # answered every time: the connection stays
            hb = await recv_json(ws)
            assert hb == {
                "jsonrpc": "2.0",
                "method": "heartbeat",
                "params": {"type": "test_request"},
            }
            await ws.send(rpc(10 + k, "public/test"))
            assert (await recv_json(ws))["id"] == 10 + k
        hb = await recv_json(ws)
        assert hb["params"]["type"] == "test_request"
        # not answered: the server closes the connection at the next beat
        with pytest.raises(ConnectionClosed):
            await drain(ws)
