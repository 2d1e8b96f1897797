"""``hedgetop sim`` prints OKX and Deribit endpoint lines like the others, and ``hedgetop feed
--venue okx|deribit --url …`` reads quotes from them (both commands as a user runs them, on
127.0.0.1); ``hedgetop sim --help`` explains every chaos fault."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0  # cold interpreter starts on a busy 2-core machine


async def _feed(venue: str, url: str, symbols: str) -> list[dict[str, object]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui.cli",
        "feed",
        "--venue",
        venue,
        "--url",
        url,
        "--symbols",
        symbols,
        "--seconds",
        "3",
        "--json",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


async def test_sim_lists_okx_and_deribit_and_feed_reads_them() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui.cli",
        "sim",
        "--symbols",
        "BTC,SOL",
        "--interval-ms",
        "50",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        endpoints: dict[tuple[str, str], str] = {}
        tries: list[str] = []
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode()
            assert line, "sim exited before printing its endpoints"
            if line.startswith("Ctrl-C"):
                break
            parts = line.split()
            if len(parts) == 3 and "://" in parts[2]:
                endpoints[(parts[0], parts[1])] = parts[2]
            if "hedgetop feed" in line:
                tries.append(line)
        assert endpoints[("okx", "inverse")].endswith("/ws/v5/public")
        assert endpoints[("okx", "spot")] == endpoints[("okx", "inverse")]
        assert endpoints[("okx", "rest")].startswith("http://127.0.0.1:")
        assert endpoints[("deribit", "inverse")].endswith("/ws/api/v2")
        assert endpoints[("deribit", "rest")].startswith("http://127.0.0.1:")
        assert any("--venue okx" in t for t in tries)
        assert any("--venue deribit" in t for t in tries)
        okx, deribit = await asyncio.gather(
            _feed("okx", endpoints[("okx", "inverse")], "BTC-USD-SWAP,SOL-USD-SWAP"),
            _feed("deribit", endpoints[("deribit", "inverse")], "BTC-PERPETUAL"),
        )
        for quotes, symbols in (
            (okx, {"BTC-USD-SWAP", "SOL-USD-SWAP"}),
            (deribit, {"BTC-PERPETUAL"}),
        ):
            summary = quotes[-1]["summary"]
            assert isinstance(summary, dict)
            assert summary["parse_errors"] == 0
            seen = {q["symbol"] for q in quotes[:-1] if q.get("mark") is not None}
            assert seen == symbols
            assert all(q["kind"] == "inverse_perp" for q in quotes[:-1])
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0


def test_sim_help_explains_the_chaos_faults() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui.cli", "sim", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    ).stdout
    for text in ("stall=N:D", "for D seconds", "drop=N", "garbage=P", "refuse=SYMBOL", "P+7"):
        assert text in out, text
    assert "OKX" in out
    assert "Deribit" in out


@pytest.mark.parametrize("port", ["65529", "-1"])
def test_sim_port_leaves_room_for_eight_servers(port: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tui.cli", "sim", "--port", port],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert res.returncode == 2
    assert "--port" in res.stderr
    assert "Traceback" not in res.stderr
