"""``hedgetop sim`` as a user runs it: prints the URLs, serves them, stops cleanly on SIGINT
and on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 15.0  # a cold interpreter start on a busy 2-core machine


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_sim_command_serves_and_stops_cleanly(sig: signal.Signals) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui.cli",
        "sim",
        "--seed",
        "3",
        "--symbols",
        "BTC,SOL",
        "--interval-ms",
        "20",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        urls: dict[tuple[str, str], str] = {}
        while len(urls) < 4:
            line = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode()
            assert line, "sim exited before printing its URLs"
            parts = line.split()
            if len(parts) == 3 and parts[2].startswith("ws://"):
                urls[(parts[0], parts[1])] = parts[2]
        assert urls[("bybit", "inverse")].startswith("ws://127.0.0.1:")
        assert urls[("bybit", "inverse")].endswith("/v5/public/inverse")
        async with connect(urls[("bybit", "inverse")]) as ws:
            await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.SOLUSD"]}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            assert ack["success"] is True
            snap = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            assert snap["data"]["symbol"] == "SOLUSD"
            proc.send_signal(sig)
            rc = await asyncio.wait_for(proc.wait(), TIMEOUT)
        assert rc == 0
        err = (await proc.stderr.read()).decode()
        assert "Traceback" not in err
        assert "stopped" in err
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
