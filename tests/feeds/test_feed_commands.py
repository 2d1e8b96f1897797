"""``hedgetop feed`` and ``hedgetop replay``: the --json line format, the summary line, and
one-line errors with exit code 2."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from feedkit import REPO, WS_FIXTURES, fixture_json, fixture_lines
from websockets.sync.server import ServerConnection, serve

from tui.cli import main

QUOTE_KEYS = [
    "venue",
    "symbol",
    "kind",
    "mark",
    "index",
    "last",
    "bid",
    "ask",
    "funding_rate",
    "next_funding_ms",
    "funding_interval_ms",
    "exchange_ms",
    "received_ms",
]
SUMMARY_KEYS = [
    "messages",
    "quotes",
    "parse_errors",
    "ignored",
    "reconnects",
    "stale_periods",
    "rejected",
    "out_of_order",
    "duplicates",
    "oversize",
    "resubscribes",
    "sub_errors",
]
#: The bad-data counters (issue 8), all zero on a clean recording.
CLEAN = {k: 0 for k in SUMMARY_KEYS[6:]}


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_replay_json_lines_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    path = WS_FIXTURES / "bybit-inverse-tickers.jsonl"
    assert main(["replay", str(path), "--venue", "bybit", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    quotes, summary = rows[:-1], rows[-1]
    assert len(quotes) == 4
    for q in quotes:
        assert list(q) == QUOTE_KEYS
        assert q["venue"] == "bybit"
    # BTCUSD is the perpetual, BTCUSDU23 the September 2023 dated inverse future
    assert [(q["symbol"], q["kind"]) for q in quotes] == [
        ("BTCUSD", "inverse_perp"),
        ("BTCUSD", "inverse_perp"),
        ("BTCUSDU23", "inverse_future"),
        ("BTCUSDU23", "inverse_future"),
    ]
    recorded = fixture_json("bybit-inverse-tickers.jsonl")
    assert quotes[0]["mark"] == float(recorded[0]["data"]["markPrice"])
    assert quotes[1]["mark"] == float(recorded[0]["data"]["markPrice"])  # kept by the delta
    assert quotes[2]["funding_rate"] is None  # "" in the recording: null, not 0
    assert list(summary) == ["summary"]
    assert list(summary["summary"]) == SUMMARY_KEYS  # type: ignore[call-overload]
    assert summary["summary"] == {
        "messages": 4,
        "quotes": 4,
        "parse_errors": 0,
        "ignored": 0,
        "reconnects": 0,
        "stale_periods": 0,
        **CLEAN,
    }


def test_replay_counts_bad_lines_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = fixture_lines("okx-swap-tickers.jsonl")
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([lines[0], "this is not json", "", lines[1], '{"event":"x"}']))
    assert main(["replay", str(path), "--venue", "okx", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert [r["symbol"] for r in rows[:-1]] == ["UNI-USD-SWAP", "BTC-USD-SWAP"]
    assert rows[-1]["summary"] == {
        "messages": 4,
        "quotes": 2,
        "parse_errors": 1,
        "ignored": 1,
        "reconnects": 0,
        "stale_periods": 0,
        **CLEAN,
    }


def test_replay_spot_file_name_sets_the_kind(capsys: pytest.CaptureFixture[str]) -> None:
    path = WS_FIXTURES / "bybit-spot-tickers.jsonl"
    assert main(["replay", str(path), "--venue", "bybit", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert {r["kind"] for r in rows[:-1]} == {"spot"}


def test_replay_human_output_carries_units(capsys: pytest.CaptureFixture[str]) -> None:
    path = WS_FIXTURES / "deribit-ticker.jsonl"
    assert main(["replay", str(path), "--venue", "deribit"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "BTC-PERPETUAL" in out[0]
    assert "mark 10094.1 USD" in out[0]
    assert "funding 0.0163 %/8h" in out[0]
    assert out[-1].startswith("deribit replay of")
    assert "4 messages, 4 quotes, 0 parse errors" in out[-1]


def test_replay_missing_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "/nonexistent/raw.jsonl", "--venue", "bybit"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "/nonexistent/raw.jsonl" in err[0]


@pytest.fixture
def bybit_server() -> Iterator[str]:
    """A threaded websocket server (the feed command runs its own event loop)."""

    def handler(ws: ServerConnection) -> None:
        ws.recv(timeout=5)  # subscription
        for line in fixture_lines("bybit-inverse-tickers.jsonl")[:2]:
            ws.send(line)
        ws.send("garbage")
        for _ in ws:  # until the client closes
            pass

    with serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v5/public/inverse"
        server.shutdown()
        thread.join(timeout=5)


def test_feed_json_against_a_local_server(
    bybit_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["feed", "--venue", "bybit", "--symbols", "BTCUSD", "--url", bybit_server]
    assert main([*argv, "--seconds", "1", "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert [list(r) for r in rows[:-1]] == [QUOTE_KEYS, QUOTE_KEYS]
    assert rows[-1]["summary"] == {
        "messages": 3,
        "quotes": 2,
        "parse_errors": 1,
        "ignored": 0,
        "reconnects": 0,
        "stale_periods": 0,
        **CLEAN,
    }


def test_feed_bare_coin_means_the_perpetual(
    bybit_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["feed", "--venue", "bybit", "--symbols", "btc", "--url", bybit_server]
    assert main([*argv, "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert "BTCUSD" in out
    assert "2 quotes" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--venue", "bybit", "--symbols", "BTCUSD", "--seconds", "-1"], "--seconds"),
        (["--venue", "bybit", "--symbols", "BTCUSD", "--seconds", "nan"], "--seconds"),
        (["--venue", "bybit", "--symbols", "BTCUSD", "--stale-after", "inf"], "--stale-after"),
        (["--venue", "bybit", "--symbols", "BTCUSD", "--seconds", "soon"], "--seconds"),
        (["--venue", "bybit", "--symbols", " , "], "--symbols"),
        (["--venue", "bybit", "--symbols", "BTCUSD", "--url", "http://x"], "--url"),
        (["--venue", "bybit", "--symbols", "BTCUSD", "--url", "ws://"], "URL"),
        (["--venue", "kraken", "--symbols", "BTCUSD"], "kraken"),
        (["--venue", "deribit", "--symbols", "BTC_USDT", "--socket", "spot"], "deribit"),
    ],
)
def test_feed_user_errors(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["feed", *argv])
    except SystemExit as exc:  # argparse rejects a bad choice itself
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert needle in err[0]


@pytest.mark.parametrize(
    ("venue", "socket", "text", "expected"),
    [
        ("bybit", None, "btc, ethusd", ["BTCUSD", "ETHUSD"]),
        ("binance", None, "sol", ["SOLUSD_PERP"]),
        ("okx", None, "BTC,BTC-USDT", ["BTC-USD-SWAP", "BTC-USDT"]),
        ("deribit", None, "eth", ["ETH-PERPETUAL"]),
        ("binance", "spot", "btc", ["BTCUSDT"]),
        ("okx", "spot", "btc", ["BTC-USDT"]),
    ],
)
def test_feed_symbol_spellings(
    venue: str, socket: str | None, text: str, expected: list[str]
) -> None:
    from tui.commands.feed import _symbols

    assert _symbols(venue, socket, text) == expected


def test_printer_stops_once_the_reader_is_gone() -> None:
    from core.events import Kind, Quote
    from tui.commands._feedout import quote_printer

    class Closed:
        writes = 0

        def write(self, text: str) -> int:
            self.writes += 1
            raise BrokenPipeError

        def flush(self) -> None:
            pass

    stream = Closed()
    calls: list[int] = []
    show = quote_printer(True, stream, on_closed=lambda: calls.append(1), flush=True)  # type: ignore[arg-type]
    q = Quote(venue="bybit", symbol="BTCUSD", kind=Kind.INVERSE_PERP, received_ms=1)
    show(q)
    show(q)
    assert calls == [1]
    assert stream.writes == 1


def test_replay_into_a_closed_pipe_exits_quietly() -> None:
    import subprocess
    import sys

    path = WS_FIXTURES / "binance-coinm-bookticker.jsonl"
    cmd = [sys.executable, "-m", "tui.cli", "replay", str(path), "--venue", "binance", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=30)
    assert json.loads(first)["symbol"] == "BTCUSD_PERP"
    assert proc.returncode == 0
    assert err == b""
