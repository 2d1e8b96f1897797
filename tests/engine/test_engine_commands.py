"""``hedgetop config check|path`` in-process, ``hedgetop record`` as a real subprocess."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hedgetop.example.toml"


@pytest.fixture
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def test_config_check_prints_what_it_understood(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"config: {EXAMPLE}"
    assert "sol-proxy-btc: binance BTCUSD_PERP short 420 contracts = 42,000 USD face" in out
    assert "hedges SOL by proxy (beta 1.5)" in out
    assert "spec: 100 USD per contract" in out
    assert "BTC    ratio 70 % +- 5 pts" in out
    assert "binance inverse: ADAUSD_PERP, BTCUSD_PERP <- built-in simulator" in out
    assert out.rstrip().endswith("OK")


def test_config_check_uses_global_config_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(EXAMPLE), "config", "check"]) == 0
    assert f"config: {EXAMPLE}" in capsys.readouterr().out


def test_config_check_demo_without_config(
    no_user_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "demo portfolio" in out
    assert "btc-bybit: bybit BTCUSD short" in out


def test_config_check_error_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[holdings]]\ncoin = "BTC"\namount = -2\n')
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{bad}:3: holdings[0].amount = -2" in err
    assert main(["config", "check", str(tmp_path / "missing.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err


def test_config_path_and_bare_config(
    no_user_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "path"]) == 0
    out = capsys.readouterr().out
    assert str(no_user_config / "cfg" / "hedgetop" / "config.toml") in out
    assert "absent" in out
    assert main(["config"]) == 2


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "cfg")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["PYTHONPATH"] = str(ROOT)
    return env


RAW_SUFFIXES = ("_tick", "_recent")  # one-second rows (storage moves them between the two)


def _raw_rows(db: Path) -> dict[str, int]:
    """Rows of one-second snapshot data per kind (portfolio, holding, hedge)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out: dict[str, int] = {}
        for n in names:
            for suffix in RAW_SUFFIXES:
                if n.endswith(suffix):
                    count = int(conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0])
                    kind = n.removesuffix(suffix)
                    out[kind] = out.get(kind, 0) + count
        return out


def _portfolio_rows(db: Path) -> int:
    return _raw_rows(db).get("portfolio", 0)


def test_record_demo_for_a_few_seconds(tmp_path: Path) -> None:
    db = tmp_path / "out" / "rec.db"
    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", "record", "--db", str(db), "--seconds", "1.5"],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("hedgetop record: demo portfolio: ")
    assert f"to {db}" in lines[0]
    assert "Traceback" not in proc.stderr
    rows = _raw_rows(db)
    assert set(rows) >= {"portfolio", "holding", "hedge"}, rows
    assert all(n > 0 for n in rows.values()), rows
    assert _portfolio_rows(db) >= 1


def test_record_stops_on_sigterm_and_flushes(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "record", "--db", str(db)],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stderr is not None
        threading.Thread(target=lambda: lines.put(proc.stderr.readline()), daemon=True).start()
        assert "recording" in lines.get(timeout=30)
        deadline = time.monotonic() + 30
        while not (db.exists() and _has_rows(db)):  # wait for the first written batch
            assert time.monotonic() < deadline, "nothing recorded"
            assert proc.poll() is None, "record exited early"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    summary = out.strip().splitlines()[-1]
    n = int(summary.split(": ", 2)[2].split(" snapshots")[0])
    assert n >= 1
    assert _portfolio_rows(db) == n  # the last batch was flushed on SIGTERM


def _has_rows(db: Path) -> bool:
    try:
        return _portfolio_rows(db) > 0
    except sqlite3.Error:
        return False


def test_record_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--seconds", "soon", "--db", str(tmp_path / "x.db")]) == 2
    assert "--seconds" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[[hedges]]\nvenue = 'nowhere'\nsymbol = 'BTCUSD'\n")  # one error: the venue
    assert main(["record", "--config", str(bad), "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert "hedges[0].venue = 'nowhere'" in err
    assert err.count("\n") == 1
