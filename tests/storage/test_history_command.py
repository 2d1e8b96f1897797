"""``hedgetop history``: the table, the exports, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import storage_factories as fx

from storage.recorder import Recorder
from tui.cli import main

HOUR = 3_600_000


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "h.db"
    with Recorder(path, batch_interval_ms=60_000) as rec:
        for s in fx.market(2, 3 * 3600, step_ms=2000):  # six hours, every 2 s
            rec.submit_snapshot(s)
        rec.submit_fill(fx.fill(fx.T0 + 5 * HOUR))
        rec.submit_funding(fx.funding(fx.T0 + 4 * HOUR))
        rec.submit_alert(fx.alert(fx.T0 + 1000))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["history", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_shows_units_and_events(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", str(db), "--since", "2h", "--points", "5")
    assert code == 0, err
    assert "2026-01-01 03:59:58 UTC .. 2026-01-01 05:59:58 UTC (2 h)" in out  # back from the end
    for header in ("value USD", "PnL BTC", "PnL USD", "basis %", "liq dist %", "net delta ETH"):
        assert header in out
    assert "hedge bybit-btc (bybit BTCUSD, settles in BTC): 5 rows, 30 min buckets" in out
    assert "events: 2" in out  # the fill at 5 h and the funding at 4 h; not the 1 s alert
    assert "sell 100 contracts bybit BTCUSD (100 USD) at 100,000.00 USD" in out


def test_symbol_and_range(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "--db",
        str(db),
        "--from",
        "2026-01-01T00:00",
        "--to",
        "2026-01-01T00:59:59Z",
        "--symbol",
        "ETHUSD",
        "--points",
        "6",
    )
    assert code == 0
    assert "hedge bybit-eth" in out
    assert "bybit-btc" not in out.split("events:")[0]
    assert "portfolio" not in out
    assert out.count("\n2026-01-01 00:") == 6  # 10-minute buckets


def test_csv_export(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--db", str(db), "--since", "all", "--csv", "--symbol", "bybit-btc")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert 0 < len(rows) <= 10_000
    assert {r["subject"] for r in rows} == {"bybit-btc"}
    assert rows[0]["time_utc"] == "2026-01-01T00:00:00+00:00"
    assert float(rows[0]["mark_usd"]) > 0
    assert sum(float(r["n"]) for r in rows) == 3 * 3600

    code, out, _ = run(capsys, "--db", str(db), "--since", "all", "--csv", "--events")
    assert code == 0
    events = list(csv.DictReader(io.StringIO(out)))
    assert [e["kind"] for e in events] == ["alert", "funding", "fill"]


def test_json_export_to_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.json"
    code, out, _ = run(
        capsys, "--db", str(db), "--since", "6h", "--json", "--points", "10", "--out", str(target)
    )
    assert code == 0
    assert out == ""
    doc = json.loads(target.read_text())
    assert set(doc["subjects"]) == {"portfolio", "BTC", "ETH", "bybit-btc", "bybit-eth"}
    assert doc["subjects"]["bybit-btc"]["source"] == "1h"
    assert len(doc["subjects"]["portfolio"]["rows"]) <= 10
    assert [e["kind"] for e in doc["events"]] == ["alert", "funding", "fill"]
    assert doc["events"][2]["data"]["contracts"] == 100


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "yesterday"], "--since: expected a span"),
        (["--since", "0h"], "--since: must be more than zero"),
        (["--from", "2026-02-30"], "--from: expected an ISO-8601 time"),
        (["--from", "2026-01-02", "--to", "2026-01-01"], "--from 2026-01-02 is after --to"),
        (["--since", "1h", "--from", "2026-01-01"], "--since cannot be combined"),
        (["--symbol", "NOPE"], "unknown subject 'NOPE'"),
        (["--points", "0"], "--points: must be at least 1"),
        (["--events"], "--events goes with --csv"),
        (["--csv", "--out", "/nonexistent-dir/x.csv"], "--out /nonexistent-dir/x.csv"),
    ],
)
def test_user_errors_are_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--db", str(db), *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_missing_and_empty_databases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--db", str(tmp_path / "none.db"))
    assert code == 2
    assert err == f"hedgetop: --db: no history database at {tmp_path / 'none.db'}\n"
    empty = tmp_path / "empty.db"
    Recorder(empty).close()
    code, _, err = run(capsys, "--db", str(empty))
    assert code == 2
    assert "holds no history yet" in err


def test_output_cut_short_by_the_reader_is_no_error(db: Path, tmp_path: Path) -> None:
    """``hedgetop history | head``: a closed pipe ends the command quietly."""
    import subprocess
    import sys

    proc = subprocess.run(
        f"{sys.executable} -m tui.cli history --db {db} --since all --points 500 | head -2",
        shell=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=60,
        check=False,
    )
    assert proc.stdout.count("\n") == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr == ""
