"""Reconciliation end to end: the simulator's Bybit demo account read through the unchanged ccxt
(``core.accounts.reader``) and compared with what hedgetop expected (``core.accounts.reconcile``);
the read's fills recorded once (``storage.account_log``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
from sim_ccxt_clients import SECRET, bybit_config

from core.accounts.model import ExecKind, WalletKind
from core.accounts.reader import read_account
from core.accounts.reconcile import (
    ExpectedBalance,
    ExpectedPosition,
    ReconcileKind,
    expected_from_state,
    reconcile,
)
from core.config import AccountConfig
from core.events import OrderSide, Side, Venue
from storage import account_log

ENV = {"HEDGETOP_BYBIT_API_KEY": "demo", "HEDGETOP_BYBIT_API_SECRET": SECRET}


def bybit(ex: Any) -> AccountConfig:
    key, secret, _ = AccountConfig.default_env(Venue.BYBIT)
    return AccountConfig(
        name="demo",
        venue=Venue.BYBIT,
        api_key_env=key,
        api_secret_env=secret,
        rest_url=ex.endpoint("bybit", "rest"),
    )


def seeded(as_of_ms: int) -> tuple[list[ExpectedPosition], list[ExpectedBalance]]:
    """What the simulator's seed (``sim_ccxt_clients.seed``) holds on Bybit."""
    positions = [
        ExpectedPosition(
            account="demo",
            venue=Venue.BYBIT,
            symbol=symbol,
            side=Side.SHORT,
            contracts=n,
            coin=coin,
            as_of_ms=as_of_ms,
        )
        for symbol, coin, n in (("BTCUSD", "BTC", 135_000), ("ETHUSD", "ETH", 31_000))
    ]
    balances = [
        ExpectedBalance(
            account="demo",
            venue=Venue.BYBIT,
            wallet=WalletKind.FUTURES,
            coin=coin,
            total=total,
            as_of_ms=as_of_ms,
        )
        for coin, total in (("BTC", 1.6), ("XRP", 5_000.0), ("ETH", 0.6), ("SOL", 5_000.0))
    ]
    return positions, balances


async def test_a_trade_made_in_the_exchanges_app_is_one_event_and_one_stored_fill(
    account_sim: Any, clients: Any, tmp_path: Path
) -> None:
    ex = await account_sim()
    first = await read_account(bybit(ex), now_ms=ex.now_ms(), environ=ENV)
    positions, balances = seeded(first.read_ms)
    assert reconcile(positions, balances, first, now_ms=ex.now_ms()) == ()

    await ex.advance(1_000)
    app = clients(ccxt.bybit, bybit_config(ex))  # "the exchange's app"
    await app.create_order("BTC/USD:BTC", "market", "sell", 2_000, None, {"clientOrderId": "app1"})
    second = await read_account(bybit(ex), now_ms=ex.now_ms(), environ=ENV)
    exp_pos, exp_bal = expected_from_state(first)
    (ev,) = reconcile(exp_pos, exp_bal, second, now_ms=ex.now_ms())
    assert ev.kind is ReconcileKind.POSITION_CHANGED
    assert (ev.symbol, ev.expected, ev.exchange, ev.difference) == (
        "BTCUSD",
        -135_000,
        -137_000,
        -2_000,
    )
    (fill,) = second.fills
    assert ev.explained_by == (fill.trade_id,)
    assert "expected short 135,000 USD, exchange short 137,000 USD (+2,000)" in ev.text
    # the fee the fill reports moved the BTC wallet: explained, so no balance event
    btc = next(b.total for b in second.balances if b.coin == "BTC")
    assert fill.fee_coin is not None
    assert btc == pytest.approx(1.6 - fill.fee_coin, abs=1e-12)
    assert btc != 1.6

    path = tmp_path / "h.db"
    for _ in range(2):  # two sessions recording the same read
        with account_log.AccountLog(path) as log:
            log.record_fills(second.account, second.fills)
            log.record_events([ev])
    with account_log.AccountLog(path) as log:
        assert log.fills() == [("demo", fill)]
        assert log.events() == [ev]


async def test_a_liquidation_by_the_simulator_is_shown_as_one(account_sim: Any) -> None:
    """The venue's word, not an inference: the read asks Bybit for its BustTrade executions,
    the fill says LIQUIDATION, and no mark is needed to call the event a liquidation."""
    ex = await account_sim()
    first = await read_account(bybit(ex), now_ms=ex.now_ms(), environ=ENV)
    eth = next(p for p in first.positions if p.symbol == "ETHUSD")
    assert eth.liq_price is not None
    await ex.advance(1_000)  # the liquidation comes after the first read
    await ex.shock("ETH", eth.liq_price / ex.model.perp("bybit", "ETH").mark - 1 + 0.002)
    assert ex.stats.liquidations == 1
    second = await read_account(bybit(ex), now_ms=ex.now_ms(), environ=ENV)
    (bust,) = [f for f in second.fills if f.symbol == "ETHUSD"]
    assert bust.exec_kind is ExecKind.LIQUIDATION
    assert (bust.side, bust.contracts) == (OrderSide.BUY, 31_000)
    exp_pos, exp_bal = expected_from_state(first)
    events = reconcile(exp_pos, exp_bal, second, now_ms=ex.now_ms())
    by_kind = {e.kind: e for e in events}
    assert set(by_kind) == {ReconcileKind.LIQUIDATED, ReconcileKind.BALANCE_CHANGED}
    liq = by_kind[ReconcileKind.LIQUIDATED]
    assert (liq.symbol, liq.expected, liq.exchange) == ("ETHUSD", -31_000, 0)
    assert liq.explained_by == (bust.trade_id,)
    assert "the exchange reports a liquidation" in liq.text
    assert "inferred" not in liq.text
    lost = by_kind[ReconcileKind.BALANCE_CHANGED]
    assert (lost.coin, lost.expected) == ("ETH", pytest.approx(0.6))
    assert lost.exchange == pytest.approx(0.2, abs=1e-9)  # the isolated margin is gone
