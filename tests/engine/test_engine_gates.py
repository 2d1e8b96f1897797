"""Start-up stays light (no ccxt, no textual), and the live broker's gates hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.brokers.ccxt_live import CcxtLiveBroker, TradingDisabled, credentials_from_env
from core.config import BrokerConfig, parse_config
from core.engine import Engine
from core.events import Kind, Quote
from core.ledger import MemoryLedger

ROOT = Path(__file__).resolve().parents[2]


def test_engine_modules_import_neither_ccxt_nor_textual() -> None:
    code = (
        "import sys; import core.session, core.engine, core.config, core.alerts, core.demo, "
        "core.brokers.ccxt_live, tui.commands.record, tui.commands.config; "
        "bad = [m for m in ('ccxt', 'textual', 'storage') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_live_broker_gates() -> None:
    with pytest.raises(TradingDisabled, match='kind = "ccxt"'):
        CcxtLiveBroker(BrokerConfig(), confirmed=True)
    with pytest.raises(TradingDisabled, match="trading_enabled"):
        CcxtLiveBroker(BrokerConfig(kind="ccxt"), confirmed=True)
    with pytest.raises(TradingDisabled, match="confirmation"):
        CcxtLiveBroker(BrokerConfig(kind="ccxt", trading_enabled=True), confirmed=False)
    broker = CcxtLiveBroker(
        BrokerConfig(kind="ccxt", trading_enabled=True), confirmed=True, environ={}
    )
    assert "hidden" in repr(broker)


def test_credentials_only_from_environment() -> None:
    with pytest.raises(TradingDisabled, match="HEDGETOP_BYBIT_API_KEY"):
        credentials_from_env("bybit", {})
    env = {"HEDGETOP_OKX_API_KEY": "k", "HEDGETOP_OKX_API_SECRET": "s"}
    with pytest.raises(TradingDisabled, match="HEDGETOP_OKX_PASSPHRASE"):
        credentials_from_env("okx", env)
    env["HEDGETOP_OKX_PASSPHRASE"] = "p"
    assert credentials_from_env("okx", env) == {"apiKey": "k", "secret": "s", "password": "p"}


async def test_live_broker_refuses_a_refused_plan_before_any_network() -> None:
    cfg = parse_config('[[hedges]]\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=10\nentry=100\n')
    e = Engine(cfg, None, MemoryLedger(), 0)
    e.on_quote(Quote(venue="bybit", symbol="BTCUSD", kind=Kind.INVERSE_PERP, mark=100.0))
    plan = e.plan_resize("bybit:BTCUSD", delta_contracts=-11, now_ms=1)
    broker = CcxtLiveBroker(
        BrokerConfig(kind="ccxt", trading_enabled=True), confirmed=True, environ={}
    )
    with pytest.raises(TradingDisabled, match="flip"):
        await broker.place(plan)
