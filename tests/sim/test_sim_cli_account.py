"""``hedgetop sim`` with its account: the endpoint lines scripts read, the key line, the demo
or ``--account FILE`` seed, and the unchanged ccxt reading the account at the printed URL."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import ccxt.async_support as ccxt
import pytest

from core.demo import demo_config
from core.session.sim_accounts import DEMO_HEADROOM, seed_from_config
from core.sim.seed import MarginMode, PositionSide

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0  # a cold interpreter start on a busy 2-core machine


def test_demo_seeds_both_venues_spot_and_futures() -> None:
    seed = seed_from_config(demo_config())
    bybit, binance = seed.venue("bybit"), seed.venue("binance")
    assert bybit.spot == {"XRP": 6_000.0}  # the "exchange" holding, hedged on Bybit
    assert binance.spot == {"SOL": 400.0}
    btc = next(p for p in bybit.positions if p.coin == "BTC")
    assert btc.side is PositionSide.SHORT
    assert btc.margin_mode is MarginMode.ISOLATED
    assert btc.leverage == 1.0  # the order leverage the config's margin implies
    cfg = demo_config()
    # a wallet is the configured margin; a 1x short's position holds all of it
    assert bybit.futures["BTC"] == pytest.approx(cfg.hedge("btc-bybit").margin_coin)
    assert btc.margin_coin == pytest.approx(cfg.hedge("btc-bybit").margin_coin)
    ada = cfg.hedge("ada-binance")
    pos = next(p for p in binance.positions if p.coin == "ADA")
    assert pos.contracts == ada.contracts
    # a leveraged one keeps part free (room to grow the hedge), inside the same wallet
    assert binance.futures["ADA"] == pytest.approx(ada.margin_coin)
    assert pos.margin_coin == pytest.approx(ada.margin_coin / (1 + DEMO_HEADROOM))
    assert pos.margin_coin == pytest.approx(ada.margin_coin / (1 + DEMO_HEADROOM))


async def _run(*argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui.cli",
        "sim",
        *argv,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sim_prints_every_endpoint_and_the_key_ccxt_reads_the_account(
    tmp_path: Path,
) -> None:
    account = tmp_path / "account.toml"
    account.write_text(
        """
[[holdings]]
coin = "BTC"
amount = 0.25
label = "Bybit"

[[hedges]]
venue = "bybit"
symbol = "BTCUSD"
side = "short"
contracts = 9000
entry = 90000
margin = 0.2
margin_mode = "isolated"
"""
    )
    proc = await _run("--api-key", "k1", "--api-secret", "s1", "--account", str(account))
    assert proc.stdout is not None
    try:
        lines: dict[tuple[str, str], str] = {}
        key_line = ""
        while not key_line:
            line = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode()
            assert line, "sim exited before printing its endpoints"
            parts = line.split()
            if parts[0] == "account":
                key_line = line
            elif len(parts) == 3 and "://" in parts[2]:
                lines[(parts[0], parts[1])] = parts[2]
        assert set(lines) >= {
            ("bybit", "inverse"),
            ("bybit", "spot"),
            ("bybit", "rest"),
            ("bybit", "private"),
            ("binance", "inverse"),
            ("binance", "spot"),
            ("binance", "rest"),
            ("binance", "spot-rest"),
            ("binance", "user-stream"),
        }
        assert lines[("bybit", "rest")].startswith("http://127.0.0.1:")
        assert lines[("binance", "user-stream")].endswith("/ws")
        assert "k1" in key_line
        assert "s1" not in key_line  # a secret given is never printed
        base = lines[("bybit", "rest")]
        c = ccxt.bybit(
            {
                "apiKey": "k1",
                "secret": "s1",
                "urls": {"api": {k: base for k in ("public", "private")}},
                "has": {"fetchCurrencies": False},
                "options": {
                    "fetchMarkets": {"types": ["inverse"]},
                    "defaultSubType": "inverse",
                    "enableUnifiedMargin": False,
                    "enableUnifiedAccount": False,
                },
            }
        )
        try:
            pos = await c.fetch_positions(["BTC/USD:BTC"])
            spot = await c.fetch_balance({"type": "spot"})
        finally:
            await c.close()
        assert pos[0]["contracts"] == 9_000
        assert spot["BTC"]["total"] == pytest.approx(0.25)
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_bad_account_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[hedges]]\nvenue = "bybit"\nsymbol = "BTCUSD"\nside = "sideways"\n')
    proc = await _run("--account", str(bad))
    _out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 2
    text = err.decode()
    assert "Traceback" not in text
    assert text.startswith("hedgetop: --account:")
    assert str(bad) in text
    assert len(text.strip().splitlines()) == 1
