"""``core.accounts.reader.read_account`` through the unchanged ccxt against the simulator's Bybit
and Binance accounts on loopback: what loads, a trade made elsewhere, a funding settlement,
and the one-line failures (bad secret, missing variable, unreachable host)."""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

import ccxt.async_support as ccxt
import pytest
from sim_ccxt_clients import SECRET, bybit_config, seed

from core.accounts.model import AccountReadError, WalletKind
from core.accounts.reader import read_account
from core.config import AccountConfig
from core.events import Side, Venue
from core.sim import parse_chaos

HOUR_MS = 3_600_000
ENV = {
    "HEDGETOP_BYBIT_API_KEY": "demo",
    "HEDGETOP_BYBIT_API_SECRET": SECRET,
    "HEDGETOP_BINANCE_API_KEY": "demo",
    "HEDGETOP_BINANCE_API_SECRET": SECRET,
}


def account(ex: Any, venue: Venue, **over: Any) -> AccountConfig:
    key, secret, _ = AccountConfig.default_env(venue)
    spot = ex.endpoint("binance", "spot-rest") if venue is Venue.BINANCE else None
    cfg = AccountConfig(
        name=f"sim-{venue.value}",
        venue=venue,
        api_key_env=key,
        api_secret_env=secret,
        rest_url=ex.endpoint(venue.value, "rest"),
        spot_rest_url=spot,
    )
    return replace(cfg, **over)


async def test_bybit_account_loads_positions_wallets_in_usd_contracts(account_sim: Any) -> None:
    ex = await account_sim()
    st = await read_account(account(ex, Venue.BYBIT), now_ms=ex.now_ms(), environ=ENV)
    assert st.unified is False
    pos = {p.symbol: p for p in st.positions}
    assert set(pos) == {"BTCUSD", "ETHUSD"}
    btc = pos["BTCUSD"]
    assert (btc.side, btc.contracts, btc.size_usd, btc.entry) == (
        Side.SHORT,
        135_000,
        135_000,
        90_000,
    )
    assert btc.liq_price is None  # beyond Bybit's maxPrice: the exchange shows none
    assert pos["ETHUSD"].liq_price is not None
    wallets = {(b.wallet, b.coin): b.total for b in st.balances}
    assert wallets[(WalletKind.FUTURES, "BTC")] == pytest.approx(1.6)
    assert wallets[(WalletKind.SPOT, "XRP")] == pytest.approx(6_000)
    assert st.funding == ()


async def test_binance_account_loads_coinm_and_spot(account_sim: Any) -> None:
    ex = await account_sim()
    st = await read_account(account(ex, Venue.BINANCE), now_ms=ex.now_ms(), environ=ENV)
    ada = next(p for p in st.positions if p.symbol == "ADAUSD_PERP")
    assert (ada.contracts, ada.size_usd) == (3_857, 38_570)  # 10 USD contracts
    assert ada.liq_price == pytest.approx(ex.binance.account.liquidation_price("ADA"), rel=1e-6)
    wallets = {(b.wallet, b.coin): b.total for b in st.balances}
    assert wallets[(WalletKind.FUTURES, "ADA")] == pytest.approx(30_000)
    assert wallets[(WalletKind.FUTURES, "BTC")] == pytest.approx(0.3)
    assert wallets[(WalletKind.SPOT, "SOL")] == pytest.approx(400)
    no_spot = await read_account(
        account(ex, Venue.BINANCE, spot_rest_url=None), now_ms=ex.now_ms(), environ=ENV
    )
    assert not any(b.wallet is WalletKind.SPOT for b in no_spot.balances)
    assert any("spot wallet not read" in n for n in no_spot.notes)  # said, never silent


async def test_unified_account_is_one_wallet(account_sim: Any) -> None:
    s = seed()
    venues = dict(s.venues)
    venues["bybit"] = replace(venues["bybit"], unified=True)
    ex = await account_sim(accounts=replace(s, venues=venues))
    st = await read_account(account(ex, Venue.BYBIT), now_ms=ex.now_ms(), environ=ENV)
    assert st.unified is True
    assert {b.wallet for b in st.balances} == {WalletKind.UNIFIED}
    xrp = next(b for b in st.balances if b.coin == "XRP")
    assert xrp.total == pytest.approx(11_000)  # spot and futures in one wallet, counted once


async def test_a_trade_made_elsewhere_shows_in_positions_and_fills(
    account_sim: Any, clients: Any
) -> None:
    ex = await account_sim()
    app = clients(ccxt.bybit, bybit_config(ex))  # "the exchange's app"
    await app.create_order("BTC/USD:BTC", "market", "sell", 2_000, None, {"clientOrderId": "app1"})
    st = await read_account(account(ex, Venue.BYBIT), now_ms=ex.now_ms(), environ=ENV)
    btc = next(p for p in st.positions if p.symbol == "BTCUSD")
    assert btc.contracts == 137_000
    (fill,) = st.fills
    assert (fill.symbol, fill.contracts, fill.client_order_id) == ("BTCUSD", 2_000, "app1")
    assert fill.fee_currency == "BTC"


async def test_funding_settlement_is_read_as_received(account_sim: Any) -> None:
    ex = await account_sim()
    await ex.advance(8 * HOUR_MS)
    for venue, coin, size in ((Venue.BYBIT, "BTC", 135_000), (Venue.BINANCE, "ADA", 38_570)):
        st = await read_account(account(ex, venue), now_ms=ex.now_ms(), environ=ENV)
        (settled,) = [s for s in ex.model.settlements if s.venue == venue.value and s.coin == coin]
        got = size / settled.mark * settled.rate  # > 0: the short received it
        (paid,) = [f for f in st.funding if f.coin == coin]
        assert paid.amount_coin == pytest.approx(got, abs=1e-8)
        assert paid.ts_ms == settled.ts_ms
        assert st.funding_received()[coin] == pytest.approx(got, abs=1e-8)
    # a read whose window starts after the settlement does not count it
    later = await read_account(
        account(ex, Venue.BYBIT), now_ms=ex.now_ms() + 8 * 86_400_000, environ=ENV
    )
    assert later.funding == ()


async def test_a_bad_secret_is_one_line_without_the_secret(account_sim: Any) -> None:
    ex = await account_sim()
    for venue in (Venue.BYBIT, Venue.BINANCE):
        bad = {**ENV, f"HEDGETOP_{venue.value.upper()}_API_SECRET": "wrong-secret-value-123"}
        with pytest.raises(AccountReadError) as info:
            await read_account(account(ex, venue), now_ms=ex.now_ms(), environ=bad)
        msg = str(info.value)
        assert info.value.kind == "auth"
        assert "\n" not in msg
        assert "wrong-secret-value-123" not in msg
        assert f"HEDGETOP_{venue.value.upper()}_API_SECRET" in msg


async def test_a_missing_variable_is_named_never_its_value(account_sim: Any) -> None:
    ex = await account_sim()
    env = {"HEDGETOP_BYBIT_API_KEY": "my-key-value-xyz"}
    with pytest.raises(AccountReadError) as info:
        await read_account(account(ex, Venue.BYBIT), now_ms=ex.now_ms(), environ=env)
    assert info.value.kind == "missing_env"
    assert "HEDGETOP_BYBIT_API_SECRET" in str(info.value)
    assert "my-key-value-xyz" not in str(info.value)
    assert ex.stats.requests == 0  # nothing was sent


async def test_an_unreachable_host_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key, secret, _ = AccountConfig.default_env(Venue.BYBIT)
    cfg = AccountConfig(
        name="gone",
        venue=Venue.BYBIT,
        api_key_env=key,
        api_secret_env=secret,
        rest_url=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(AccountReadError) as info:
        await read_account(cfg, now_ms=0, environ=ENV)
    assert info.value.kind == "unreachable"
    assert f"127.0.0.1:{port}" in str(info.value)
    assert SECRET not in str(info.value)


async def test_a_lost_answer_is_asked_again_not_the_whole_read_failed(
    account_sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read is a dozen requests: one 5xx among them is asked again by ccxt (reads only);
    without the retries the same faults (a seeded source) fail the read."""
    from core.accounts import reader

    ex = await account_sim(chaos=parse_chaos("http500=0.1"))
    st = await read_account(account(ex, Venue.BYBIT), now_ms=ex.now_ms(), environ=ENV)
    assert {p.symbol for p in st.positions} == {"BTCUSD", "ETHUSD"}
    assert ex.hub.stats.http_500 > 0  # the faults did hit the read
    again = await account_sim(chaos=parse_chaos("http500=0.1"))
    monkeypatch.setattr(reader, "READ_RETRIES", 0)
    with pytest.raises(AccountReadError):
        await read_account(account(again, Venue.BYBIT), now_ms=again.now_ms(), environ=ENV)
