"""Issue 8 item 2: an order only goes to the venue whose prices priced its preview. With the
feeds on a simulator (as the README suggests for testing) and a ccxt broker pointed at the
real venue, the gate closes and says why; real with real, testnet with testnet opens it."""

from __future__ import annotations

from typing import Any

import pytest

from core.brokers.ccxt_live import TradingDisabled
from core.config import parse_config
from core.engine import PlanRefused
from core.events import Kind, Quote, Venue
from core.feeds import DEFAULT_URLS
from core.session import LiveSession
from core.session.endpoints import TESTNET_URLS, EndpointKind, classify

NOW = 1_764_100_000_000
ENV = {"HEDGETOP_BYBIT_API_KEY": "k" * 16, "HEDGETOP_BYBIT_API_SECRET": "s" * 16}
LIVE = (
    '[[holdings]]\ncoin = "BTC"\namount = 1.0\n'
    '[[hedges]]\nid = "btc"\nvenue = "bybit"\nsymbol = "BTCUSD"\ncontracts = 50000\n'
    "entry = 100000\nmargin = 0.5\n"
    '[broker]\nkind = "ccxt"\ntrading_enabled = true\n'
)
SIM_FEED = '[feeds.bybit]\ninverse = "ws://127.0.0.1:41679/v5/public/inverse"\n'


def session(text: str, **kw: Any) -> LiveSession:
    s = LiveSession(parse_config(text), wall_clock=lambda: NOW, environ=ENV, notify=False, **kw)
    s.engine.on_quote(
        Quote(
            venue="bybit",
            symbol="BTCUSD",
            kind=Kind.INVERSE_PERP,
            mark=100_000.0,
            index=100_000.0,
            received_ms=NOW,
        )
    )
    return s


def test_every_default_url_is_its_real_venue_and_every_testnet_url_its_testnet() -> None:
    for (venue, _sock), url in DEFAULT_URLS.items():
        got = classify(url)
        assert (got.venue, got.kind) == (Venue(venue), EndpointKind.REAL), url
    for (venue, _sock), url in TESTNET_URLS.items():
        got = classify(url)
        assert (got.venue, got.kind) == (Venue(venue), EndpointKind.TESTNET), url


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:41679/v5/public/inverse",
        "ws://localhost:9000/stream",
        "ws://[::1]:9000/stream",
        "wss://10.0.0.7/ws",
        "wss://my-proxy.example.net/bybit",
        "wss://stream.bybit.com.evil.example/v5/public/inverse",  # not under bybit.com
        "wss://notbybit.com/v5/public/inverse",
        "http://0.0.0.0:8080",
    ],
)
def test_a_host_that_is_no_venue_is_a_simulator(url: str) -> None:
    got = classify(url)
    assert got.venue is None
    assert got.kind is EndpointKind.SIMULATOR


def test_real_feeds_and_a_real_broker_open_the_gate() -> None:
    s = session(LIVE)
    assert s.live_trading
    assert s.trading_refusal is None


async def test_a_simulator_feed_with_a_real_broker_closes_the_gate_with_the_reason() -> None:
    s = session(LIVE + SIM_FEED)
    assert not s.live_trading
    why = s.trading_refusal
    assert why is not None
    assert "bybit orders would go to the real bybit" in why
    assert "inverse feed (127.0.0.1) is a simulator" in why
    assert "/v5/public" not in why  # the host only: a URL may carry a token
    plan = s.plan_resize("btc", delta_contracts=100)
    with pytest.raises(TradingDisabled, match="is a simulator"):
        await s.execute_live(plan, confirmed=True)
    with pytest.raises(PlanRefused, match="is a simulator"):
        s.execute(plan)  # nor on paper: the session asked for real orders


def test_an_override_url_on_localhost_closes_it_too() -> None:
    s = session(LIVE, urls={("bybit", "inverse"): "ws://localhost:5555/v5/public/inverse"})
    assert not s.live_trading
    assert "localhost" in str(s.trading_refusal)


def test_a_simulator_spot_feed_of_the_traded_venue_closes_it() -> None:
    s = session(LIVE + '[feeds.bybit]\nspot = "ws://127.0.0.1:1/v5/public/spot"\n')
    assert "spot feed" in str(s.trading_refusal)


def test_an_account_rest_url_on_the_simulator_closes_it() -> None:
    acct = '[[accounts]]\nname = "main"\nvenue = "bybit"\nrest_url = "http://127.0.0.1:38615"\n'
    s = session(acct + LIVE)
    assert not s.live_trading
    assert "account main rest_url (127.0.0.1) is a simulator" in str(s.trading_refusal)


def test_sandbox_reads_the_testnets_feeds_and_a_real_feed_then_closes_it() -> None:
    s = session(LIVE + "sandbox = true\n")
    assert s.live_trading
    assert s.feed_urls()[("bybit", "inverse")] == TESTNET_URLS[("bybit", "inverse")]
    real = '[feeds.bybit]\ninverse = "wss://stream.bybit.com/v5/public/inverse"\n'
    s2 = session(LIVE + "sandbox = true\n" + real)
    assert not s2.live_trading
    assert "the bybit testnet but its inverse feed (stream.bybit.com) is the real bybit" in str(
        s2.trading_refusal
    )


def test_a_testnet_feed_with_a_real_broker_closes_it() -> None:
    testnet = '[feeds.bybit]\ninverse = "wss://stream-testnet.bybit.com/v5/public/inverse"\n'
    s = session(LIVE + testnet)
    assert "is the bybit testnet" in str(s.trading_refusal)


def test_an_account_on_the_testnet_with_a_real_broker_closes_it() -> None:
    acct = '[[accounts]]\nname = "t"\nvenue = "bybit"\nsandbox = true\n'
    s = session(acct + LIVE)
    assert "account t reads the bybit testnet" in str(s.trading_refusal)


def test_a_simulator_feed_of_a_venue_not_traded_leaves_the_gate_open() -> None:
    s = session(LIVE + '[feeds.binance]\nspot = "ws://127.0.0.1:1/stream"\n')
    assert s.live_trading


def test_the_paper_broker_is_untouched_by_the_gate() -> None:
    paper = LIVE.replace('kind = "ccxt"', 'kind = "paper"')
    s = session(paper + SIM_FEED)
    assert s.trading_refusal is None
    assert not s.live_trading


def test_config_check_warns_of_the_mismatch(tmp_path: Any, capsys: Any) -> None:
    from tui.cli import main

    path = tmp_path / "gate.toml"
    path.write_text(LIVE + SIM_FEED)
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: live trading is off: bybit orders would go to the real bybit" in out
    path.write_text(LIVE)
    assert main(["config", "check", str(path)]) == 0
    assert "live trading is off" not in capsys.readouterr().out
