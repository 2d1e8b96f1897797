"""``hedgetop account`` through the real entry (``tui.cli.main``) against the simulator on
loopback: the demo's seeded accounts in the table and in ``--json`` (the same figures), a
trade made on the exchange showing in the next read, funding booked by the simulator, and the
one-line failures (missing variable, refused secret, unreachable venue) that never print a key.

A test that serves a simulator on its own loop runs the command in a thread (the command runs
its own event loop, as from the shell)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
from sim_ccxt_clients import KEY, SECRET, bybit_config

from core.demo import demo_config
from core.instruments import lookup
from core.session.sim_accounts import seed_from_config
from tui.cli import main

HOUR_MS = 3_600_000
FUNDING_MS = 8 * HOUR_MS
ENV = {
    "HT_TEST_BYBIT_KEY": KEY,
    "HT_TEST_BYBIT_SECRET": SECRET,
    "HT_TEST_BINANCE_KEY": KEY,
    "HT_TEST_BINANCE_SECRET": SECRET,
}


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config of the machine's user is found, none is named by the environment."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("HEDGETOP_CONFIG", raising=False)
    for var in ENV:
        monkeypatch.delenv(var, raising=False)


# --- reading the human output ------------------------------------------------------------------


def parse(text: str) -> dict[str, dict[str, Any]]:
    """The human output back into rows: per account its ``positions`` and ``balances`` (one
    dict per row, keyed by the column headers) and its ``funding`` line or rows."""
    accounts: dict[str, dict[str, Any]] = {}
    cur: dict[str, Any] | None = None
    table: str | None = None
    headers: list[str] = []
    for line in text.splitlines():
        m = re.match(r"account (\S+) \(", line)
        if m:
            cur = accounts[m.group(1)] = {"positions": [], "balances": [], "funding": []}
            table = None
            continue
        if cur is None or not line.strip():
            continue
        if not line.startswith("  "):
            table = None
            for name in ("positions", "balances"):
                if line == name:
                    table, headers = name, []
            if line.startswith("funding received"):
                cur["funding_line"] = line
                table, headers = ("funding", []) if line.endswith("(> 0 received)") else (None, [])
            continue
        cells = re.split(r"\s{2,}", line.strip())
        assert table is not None, line
        if not headers:
            headers = cells
            continue
        assert len(cells) == len(headers), line
        cur[table].append(dict(zip(headers, cells, strict=True)))
    return accounts


def figure(cell: str) -> float | None:
    return None if cell == "—" else float(cell.replace(",", ""))


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def config(tmp_path: Path, ex: Any, *, venues: tuple[str, ...] = ("bybit", "binance")) -> Path:
    """A config whose ``[[accounts]]`` point at ``ex`` (keys in the HT_TEST_* variables)."""
    parts = []
    for v in venues:
        up = v.upper()
        spot = f'spot_rest_url = "{ex.endpoint(v, "spot-rest")}"\n' if v == "binance" else ""
        parts.append(
            f'[[accounts]]\nname = "{v}-main"\nvenue = "{v}"\n'
            f'api_key_env = "HT_TEST_{up}_KEY"\napi_secret_env = "HT_TEST_{up}_SECRET"\n'
            f'rest_url = "{ex.endpoint(v, "rest")}"\n{spot}'
        )
    path = tmp_path / "accounts.toml"
    path.write_text("\n".join(parts))
    return path


async def account_cmd(*argv: str) -> int:
    return await asyncio.to_thread(main, ["account", *argv])


# --- the demo ----------------------------------------------------------------------------------


def test_demo_prints_the_seeded_positions_and_balances_and_json_agrees(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["account"]) == 0
    human = capsys.readouterr()
    assert human.err == ""
    assert main(["account", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    table = parse(human.out)
    by_name = {a["name"]: a for a in out["accounts"]}
    assert set(table) == set(by_name) == {"demo-bybit", "demo-binance"}
    seed = seed_from_config(demo_config())
    for venue in ("bybit", "binance"):
        vs = seed.venue(venue)
        rows = {r["symbol"]: r for r in table[f"demo-{venue}"]["positions"]}
        got = {p["symbol"]: p for p in by_name[f"demo-{venue}"]["positions"]}
        want = {lookup(venue, p.coin).symbol: p for p in vs.positions}
        assert set(rows) == set(got) == set(want)
        assert want
        for symbol, p in want.items():
            spec = lookup(venue, symbol)
            size = p.contracts * (1 if venue == "bybit" else spec.face_value_usd)
            row, js = rows[symbol], got[symbol]
            assert (row["venue"], row["side"]) == (venue, p.side.value)
            assert (js["venue"], js["side"], js["margin_mode"]) == (venue, "short", "isolated")
            assert figure(row["contracts"]) == js["contracts"] == p.contracts
            assert figure(row["size USD"]) == js["size_usd"] == pytest.approx(size)
            assert figure(row["entry"]) == js["entry"] == pytest.approx(p.entry)
            liq = figure(row["liq price"])
            if js["liq_price"] is None:
                assert liq is None
            else:
                assert liq == pytest.approx(js["liq_price"], abs=spec.tick_size / 2)
            assert row["leverage"] == f"{js['leverage']:g}x"
        # Bybit leaves a 1x short's liquidation price empty (beyond its maximum price)
        if venue == "bybit":
            assert rows["BTCUSD"]["liq price"] == "—"
        assert rows
        assert all(r["liq price"] != "—" for s, r in rows.items() if s != "BTCUSD")
        wallets = {(r["wallet"], r["coin"]): r for r in table[f"demo-{venue}"]["balances"]}
        js_wallets = {(b["wallet"], b["coin"]): b for b in by_name[f"demo-{venue}"]["balances"]}
        want_w = {("spot", c): a for c, a in vs.spot.items()}
        want_w |= {("futures", c): a for c, a in vs.futures.items()}
        assert set(wallets) == set(js_wallets) == set(want_w)
        for k, amount in want_w.items():
            assert js_wallets[k]["total"] == pytest.approx(amount, abs=1e-8)  # 8 decimals
            assert figure(wallets[k]["total"]) == pytest.approx(amount, abs=1e-4)
            free = js_wallets[k]["free"]
            assert figure(wallets[k]["free"]) == pytest.approx(free, abs=1e-4)
        account = by_name[f"demo-{venue}"]
        assert account["funding_7d"] == {}  # read, and nothing booked at the simulator's start
        assert "none booked" in table[f"demo-{venue}"]["funding_line"]
    assert by_name["demo-bybit"]["unified"] is False
    assert by_name["demo-binance"]["unified"] is None


# --- a config's accounts on a simulator ----------------------------------------------------------


async def test_a_trade_made_on_the_exchange_shows_in_the_next_read(
    account_sim: Any,
    clients: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    ex = await account_sim()
    path = config(tmp_path, ex)
    assert await account_cmd("--config", str(path)) == 0
    before = capsys.readouterr()
    rows = {r["symbol"]: r for r in parse(before.out)["bybit-main"]["positions"]}
    assert figure(rows["BTCUSD"]["contracts"]) == 135_000
    app = clients(ccxt.bybit, bybit_config(ex))  # "the exchange's app"
    await app.create_order("BTC/USD:BTC", "market", "sell", 2_000)
    assert await account_cmd("--config", str(path)) == 0
    after = capsys.readouterr()
    rows = {r["symbol"]: r for r in parse(after.out)["bybit-main"]["positions"]}
    assert figure(rows["BTCUSD"]["contracts"]) == 137_000
    assert figure(rows["BTCUSD"]["size USD"]) == 137_000
    assert await account_cmd("--config", str(path), "--json") == 0
    js = json.loads(capsys.readouterr().out)
    (bybit,) = [a for a in js["accounts"] if a["name"] == "bybit-main"]
    (btc,) = [p for p in bybit["positions"] if p["symbol"] == "BTCUSD"]
    assert btc["contracts"] == 137_000
    for text in (before.out, before.err, after.out, after.err):
        assert SECRET not in text


async def test_funding_booked_by_the_exchange_is_shown_as_received(
    account_sim: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    # the window is the last 7 days of the wall clock: the simulated day lies two days back,
    # one hour past a funding time, so that 8 simulated hours cross exactly one settlement
    wall = time.time_ns() // 1_000_000
    start = (wall - 2 * 86_400_000) // FUNDING_MS * FUNDING_MS + HOUR_MS
    ex = await account_sim(start_ms=start)
    await ex.advance(FUNDING_MS)
    (settled,) = [s for s in ex.model.settlements if s.venue == "bybit" and s.coin == "BTC"]
    want = 135_000 / settled.mark * settled.rate  # > 0: the short received it
    path = config(tmp_path, ex, venues=("bybit",))
    assert await account_cmd("--config", str(path), "--json") == 0
    (acct,) = json.loads(capsys.readouterr().out)["accounts"]
    assert acct["funding_7d"]["BTC"] == pytest.approx(want, abs=1e-8)
    assert await account_cmd("--config", str(path)) == 0
    (row,) = [
        r for r in parse(capsys.readouterr().out)["bybit-main"]["funding"] if r["coin"] == "BTC"
    ]
    assert figure(row["amount"]) == pytest.approx(want, abs=1e-8)
    assert row["payments"] == "1"


async def test_a_missing_variable_is_one_line_naming_it_and_nothing_is_sent(
    account_sim: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HT_TEST_BYBIT_KEY", "my-key-value-xyz")
    monkeypatch.setenv("HT_TEST_BINANCE_KEY", KEY)
    monkeypatch.setenv("HT_TEST_BINANCE_SECRET", SECRET)
    ex = await account_sim()
    assert await account_cmd("--config", str(config(tmp_path, ex))) == 2
    got = capsys.readouterr()
    line = one_line(got.err)
    assert got.out == ""
    assert "HT_TEST_BYBIT_SECRET" in line
    assert "bybit-main" in line
    assert "my-key-value-xyz" not in got.out + got.err
    assert ex.stats.requests == 0  # checked before anything was sent, on every account


async def test_a_bad_secret_is_one_line_and_the_secret_is_nowhere(
    account_sim: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = "wrong-secret-value-123"
    for k, v in ENV.items():
        monkeypatch.setenv(k, bad if k.endswith("SECRET") else v)
    ex = await account_sim()
    for argv in ((), ("--json",)):
        assert await account_cmd("--config", str(config(tmp_path, ex)), *argv) == 2
        got = capsys.readouterr()
        line = one_line(got.err)
        assert got.out == ""
        assert "bybit-main" in line
        assert "HT_TEST_BYBIT_SECRET" in line
        assert "refused the key" in line
        assert bad not in got.out + got.err


async def test_an_unreachable_venue_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    path = tmp_path / "gone.toml"
    path.write_text(
        '[[accounts]]\nname = "gone"\nvenue = "bybit"\napi_key_env = "HT_TEST_BYBIT_KEY"\n'
        f'api_secret_env = "HT_TEST_BYBIT_SECRET"\nrest_url = "http://127.0.0.1:{port}"\n'
    )
    assert await account_cmd("--config", str(path)) == 2
    got = capsys.readouterr()
    line = one_line(got.err)
    assert got.out == ""
    assert f"127.0.0.1:{port}" in line
    assert "gone" in line
    assert SECRET not in got.out + got.err


# --- configs that name no account, or are wrong ---------------------------------------------------


def test_a_config_without_accounts_says_so_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "manual.toml"
    path.write_text('[[holdings]]\ncoin = "BTC"\namount = 0.5\nlabel = "cold wallet"\n')
    assert main(["account", "--config", str(path)]) == 0
    got = capsys.readouterr()
    assert "no [[accounts]]" in one_line(got.out)
    assert str(path) in got.out
    assert main(["account", "--config", str(path), "--json"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out) == {"accounts": []}
    assert "no [[accounts]]" in one_line(got.err)


def test_a_bad_config_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[accounts]]\nname = "x"\nvenue = "kraken"\n')
    assert main(["account", "--config", str(path)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "config error" in line
    assert str(path) in line
    assert "venue" in line


def test_a_simulator_config_without_accounts_reads_the_simulators_accounts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        '[simulator]\nenabled = true\n\n[[holdings]]\ncoin = "BTC"\namount = 0.25\n'
        'label = "Bybit"\n\n[[hedges]]\nvenue = "bybit"\nsymbol = "BTCUSD"\nside = "short"\n'
        'contracts = 9000\nentry = 90000\nmargin = 0.2\nmargin_mode = "isolated"\n'
    )
    assert main(["account", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    table = parse(out)
    (pos,) = table["sim-bybit"]["positions"]
    assert (pos["symbol"], pos["side"], figure(pos["contracts"])) == ("BTCUSD", "short", 9000)
    wallets = {(r["wallet"], r["coin"]): figure(r["total"]) for r in table["sim-bybit"]["balances"]}
    assert wallets == {("futures", "BTC"): 0.2, ("spot", "BTC"): 0.25}
    assert table["sim-binance"]["positions"] == []
    assert "positions: none open" in out
    assert "balances: no coin held" in out
