"""Contract specs refreshed at run time: ``Engine.update_specs`` (tiers, lot, tick and funding
interval taken; a face-value change on an open position refused) and ``LiveSession``'s
background refresh off the simulator, with an injected loader (no network, no ccxt)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from core import inverse, liquidation
from core.config import Config, parse_config
from core.engine import Engine
from core.events import Kind, Quote, Venue
from core.instruments import ContractSpec, MarginTier, lookup
from core.ledger import MemoryLedger
from core.session import LiveSession
from core.session.endpoints import Endpoint, EndpointKind
from core.session.specs import split_local

H4 = 4 * 3600 * 1000
INF = float("inf")

BYBIT = """
[[holdings]]
coin = "BTC"
amount = 1.0

[[hedges]]
id = "b"
venue = "bybit"
symbol = "BTCUSD"
contracts = 60000
entry = 60000
margin = 0.5
"""

BINANCE = """
[[holdings]]
coin = "BTC"
amount = 1.0

[[hedges]]
id = "n"
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 500
entry = 90000

[[hedges]]
id = "flat"
venue = "okx"
symbol = "BTC-USD-SWAP"
contracts = 0
"""


def perp(venue: str, symbol: str, mark: float, rate: float = 0.0001) -> Quote:
    return Quote(
        venue=venue,
        symbol=symbol,
        kind=Kind.INVERSE_PERP,
        mark=mark,
        index=mark,
        funding_rate=rate,
        received_ms=0,
    )


def engine(text: str) -> tuple[Config, Engine]:
    cfg = parse_config(text)
    return cfg, Engine(cfg, None, MemoryLedger(), 0)


def refreshed_bybit() -> ContractSpec:
    """The built-in Bybit BTCUSD row with other tiers, tick, lot and funding interval."""
    old = lookup("bybit", "BTCUSD")
    return dataclasses.replace(
        old,
        tick_size=old.tick_size * 5,
        lot_contracts=100,
        tiers=(MarginTier(30.0, 0.02, 0.0, 50), MarginTier(INF, 0.05, 0.9, 20)),
        funding_interval_ms=H4,
        source="ccxt bybit markets",
    )


# --- Engine.update_specs --------------------------------------------------------------------


def test_update_specs_takes_tiers_lot_and_funding_interval() -> None:
    _, e = engine(BYBIT)
    old = e.specs()["b"]
    new = refreshed_bybit()
    assert old.tiers != new.tiers  # the test changes things
    assert old.funding_interval_ms != H4
    e.on_quote(perp("bybit", "BTCUSD", 50_000.0))
    before = e.snapshot(1).hedges[0]
    assert e.update_specs({("bybit", "BTCUSD"): new, ("okx", "ETH-USD-SWAP"): new}) == []
    assert e.specs()["b"] == new
    h = e.snapshot(2).hedges[0]
    size = 60_000.0
    assert h.size_usd == before.size_usd == size  # same face value: same position
    # Bybit values it at the entry (60,000), not at the mark
    assert h.maintenance_margin_coin == pytest.approx(
        liquidation.maintenance_margin_coin(new, size, 50_000.0, entry=60_000.0)
    )
    assert h.maintenance_margin_coin != pytest.approx(before.maintenance_margin_coin)
    assert h.liq_price == pytest.approx(
        liquidation.liquidation_price(new, "short", size, 60_000.0, 0.5)
    )
    assert h.funding_interval_ms == H4
    assert h.funding_apr_pct == pytest.approx(inverse.funding_apr_pct(0.0001, H4, "short"))
    # orders now step by the refreshed lot
    refused = e.plan_resize("b", delta_contracts=50, now_ms=3)
    assert refused.refusal is not None
    assert "lot (100)" in refused.refusal
    plan = e.plan_resize("b", delta_contracts=200, now_ms=3)
    assert plan.ok, plan.refusal
    assert e.update_specs({("bybit", "BTCUSD"): new}) == []  # unchanged: nothing to say


def test_update_specs_refuses_a_face_value_change_on_an_open_position() -> None:
    _, e = engine(BINANCE)
    old = e.specs()["n"]
    assert old.face_value_usd == 100.0
    shrunk = dataclasses.replace(old, face_value_usd=10.0, tiers=(MarginTier(INF, 0.05),))
    warnings = e.update_specs({("binance", "BTCUSD_PERP"): shrunk})
    assert len(warnings) == 1
    w = warnings[0]
    assert "n (binance BTCUSD_PERP)" in w
    assert "100 USD -> 10 USD" in w
    assert "500 contracts" in w
    assert e.specs()["n"] is old  # nothing else taken from the refused spec either
    e.on_quote(perp("binance", "BTCUSD_PERP", 90_000.0))
    assert e.snapshot(1).hedge("n").size_usd == 500 * 100.0  # type: ignore[union-attr]


def test_update_specs_takes_a_new_face_value_on_a_flat_hedge_and_refuses_nonsense() -> None:
    _, e = engine(BINANCE)
    okx = e.specs()["flat"]
    bigger = dataclasses.replace(okx, face_value_usd=1000.0, source="ccxt okx markets")
    eth = lookup("okx", "ETH-USD-SWAP")
    continuous = dataclasses.replace(e.specs()["n"], funding_interval_ms=None)
    warnings = e.update_specs(
        {("okx", "BTC-USD-SWAP"): bigger, ("binance", "BTCUSD_PERP"): continuous}
    )
    assert len(warnings) == 2  # in the config's order of hedges
    assert "n (binance BTCUSD_PERP)" in warnings[0]
    assert "continuous funding" in warnings[0]
    assert "flat (okx BTC-USD-SWAP)" in warnings[1]
    assert "applied" in warnings[1]
    assert e.specs()["flat"] == bigger
    assert e.specs()["n"].funding_interval_ms is not None
    wrong_coin = e.update_specs({("okx", "BTC-USD-SWAP"): eth})
    assert len(wrong_coin) == 1
    assert "okx ETH, not okx BTC" in wrong_coin[0]
    zero_lot = dataclasses.replace(bigger, lot_contracts=0)
    assert "malformed" in e.update_specs({("okx", "BTC-USD-SWAP"): zero_lot})[0]
    assert e.specs()["flat"] == bigger


# --- LiveSession's background refresh -------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (the feeds get refused: no network, no data)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def as_real_venue(url: str) -> Endpoint:
    """The closed loopback ports below stand for a real venue that cannot be reached."""
    return Endpoint(Venue.BYBIT, EndpointKind.REAL)


def offline_session(
    text: str,
    loader: Callable[..., Mapping[Any, Any]],
    tmp: Path,
    endpoint_of: Callable[[str], Endpoint] | None = as_real_venue,
) -> LiveSession:
    url = f"ws://127.0.0.1:{closed_port()}/"
    urls = {(v, k): url for v in ("bybit", "binance", "okx") for k in ("inverse", "spot")}
    cfg = parse_config(text)
    assert not cfg.simulator.enabled
    return LiveSession(
        cfg,
        urls=urls,
        tick_ms=50,
        refresh_specs=True,
        spec_loader=loader,
        spec_cache_dir=tmp,
        endpoint_of=endpoint_of,
    )


async def test_session_applies_refreshed_specs_without_blocking_start(tmp_path: Path) -> None:
    new = refreshed_bybit()
    release = threading.Event()
    calls: list[tuple[list[tuple[str, str]], dict[str, Any]]] = []

    def loader(pairs: Any, **kw: Any) -> dict[tuple[str, str], ContractSpec]:
        calls.append((list(pairs), kw))
        kw["on_error"]("bybit: cannot fetch markets: offline")
        release.wait(10)
        return {("bybit", "BTCUSD"): new}

    session = offline_session(BYBIT, loader, tmp_path)
    try:
        async with session:
            ticks = session.ticks
            await session.wait_for(lambda s: session.ticks > ticks + 1, timeout=5)
            assert not session.specs_done.is_set()  # the loader is still blocked...
            assert session.engine.specs()["b"] == lookup("bybit", "BTCUSD")  # ...built-in
            release.set()
            await asyncio.wait_for(session.specs_done.wait(), timeout=5)
            assert session.engine.specs()["b"] == new
            assert len(calls) == 1
            pairs, kw = calls[0]
            assert pairs == [("bybit", "BTCUSD")]
            assert kw["cache_dir"] == tmp_path
            assert abs(kw["now_ms"] - session.wall_ms()) < 60_000
            assert len(session.feed_errors) == 1
            assert session.feed_errors[0].startswith(
                "contract specs: bybit: cannot fetch markets: offline ("
            )
            assert "bybit BTCUSD: ccxt bybit markets" in session.spec_notes[-1]
            ticks = session.ticks
            snap = await session.wait_for(lambda s: session.ticks > ticks, timeout=5)
            assert snap.hedges[0].funding_interval_ms == H4
    finally:
        release.set()


@pytest.mark.parametrize("failure", ["raises", "face value"])
async def test_session_reports_a_failed_refresh_and_goes_on(tmp_path: Path, failure: str) -> None:
    def loader(pairs: Any, **kw: Any) -> dict[tuple[str, str], ContractSpec]:
        if failure == "raises":
            raise RuntimeError("ccxt exploded")
        old = lookup("binance", "BTCUSD_PERP")
        return {("binance", "BTCUSD_PERP"): dataclasses.replace(old, face_value_usd=10.0)}

    session = offline_session(BINANCE, loader, tmp_path)
    async with session:
        await asyncio.wait_for(session.specs_done.wait(), timeout=5)
        ticks = session.ticks
        await session.wait_for(lambda s: session.ticks > ticks + 1, timeout=5)
    assert session.tick_errors == 0
    assert session.engine.specs()["n"] == lookup("binance", "BTCUSD_PERP")
    assert len(session.feed_errors) == 1
    if failure == "raises":
        assert "RuntimeError: ccxt exploded" in session.feed_errors[0]
        assert "built-in table" in session.feed_errors[0]
    else:
        assert "100 USD -> 10 USD" in session.feed_errors[0]
    assert session.feed_errors[0] in session.spec_notes


async def test_stop_does_not_wait_for_a_hung_loader(tmp_path: Path) -> None:
    release = threading.Event()
    entered = threading.Event()

    def loader(pairs: Any, **kw: Any) -> dict[tuple[str, str], ContractSpec]:
        entered.set()
        release.wait(10)
        raise AssertionError("must not be applied after stop")

    session = offline_session(BYBIT, loader, tmp_path)
    try:
        await session.start()
        assert await asyncio.to_thread(entered.wait, 5)
        await asyncio.wait_for(session.stop(), timeout=5)
        assert session.specs_done.is_set()
        assert session.feed_errors == []
        assert session.engine.specs()["b"] == lookup("bybit", "BTCUSD")
    finally:
        release.set()


async def test_local_feeds_mean_local_specs(tmp_path: Path) -> None:
    """Feeds pointed at a local simulator (``hedgetop sim`` elsewhere, no [simulator] here):
    the real venue is not asked for specs; the built-in table serves and a note says why."""
    calls: list[object] = []

    def loader(pairs: Any, **kw: Any) -> dict[tuple[str, str], ContractSpec]:
        calls.append(list(pairs))
        return {}

    session = offline_session(BINANCE, loader, tmp_path, endpoint_of=None)
    async with session:
        await asyncio.wait_for(session.specs_done.wait(), timeout=5)
    assert calls == []
    assert not any("specs" in e for e in session.feed_errors)
    assert session.engine.specs()["n"] == lookup("binance", "BTCUSD_PERP")
    local = [n for n in session.spec_notes if "feeds are local" in n]
    assert [n.split(":")[0] for n in local] == [
        "contract specs for binance",
        "contract specs for okx",
    ]
    assert "ws://127.0.0.1:" in local[0]
    assert "binance itself is not asked" in local[0]


def test_split_local_asks_only_the_venues_whose_feeds_are_real() -> None:
    urls = {
        ("bybit", "inverse"): "wss://stream.bybit.com/v5/public/inverse",
        ("bybit", "spot"): "ws://127.0.0.1:9000/bybit/spot",  # one real socket: still asked
        ("binance", "inverse"): "ws://127.0.0.1:9000/binance/inverse",
        ("binance", "spot"): "ws://localhost:9000/binance/spot",
        ("okx", "inverse"): "wss://wspap.okx.com:8443/ws/v5/public",  # a testnet is a venue
    }
    pairs = [("bybit", "BTCUSD"), ("binance", "BTCUSD_PERP"), ("okx", "BTC-USD-SWAP")]
    ask, notes = split_local(pairs, urls)
    assert ask == [("bybit", "BTCUSD"), ("okx", "BTC-USD-SWAP")]
    assert len(notes) == 1
    assert notes[0].startswith("contract specs for binance:")
    assert "ws://127.0.0.1:9000/binance/inverse" in notes[0]


async def test_no_refresh_on_the_simulator() -> None:
    calls: list[object] = []

    def loader(pairs: Any, **kw: Any) -> dict[tuple[str, str], ContractSpec]:
        calls.append(pairs)
        return {}

    text = BYBIT + "\n[simulator]\nenabled = true\n"
    session = LiveSession(parse_config(text), tick_ms=50, refresh_specs=True, spec_loader=loader)
    assert session.sim is not None
    async with session:
        assert session.specs_done.is_set()
        await session.wait_for(lambda s: session.ticks > 1, timeout=5)
    assert calls == []
    assert session.spec_notes == []
