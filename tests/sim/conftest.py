from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from core.sim import SimExchange

# Load this area's ``ccxt_clients.py`` as ``sim_ccxt_clients`` (under --import-mode=importlib
# test directories are not on sys.path).
if "sim_ccxt_clients" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "sim_ccxt_clients", Path(__file__).with_name("ccxt_clients.py")
    )
    assert _spec is not None
    assert _spec.loader is not None
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["sim_ccxt_clients"] = _mod
    _spec.loader.exec_module(_mod)

SHARED = Path(os.environ.get("HEDGETOP_SHARED", Path(__file__).resolve().parents[3] / "shared"))
FIXTURES = SHARED / "fixtures" / "ws"
START_MS = 1_764_000_000_000


@pytest.fixture
def fixture_lines() -> Callable[[str], list[Any]]:
    """The recorded messages of one fixture file, parsed."""

    def read(name: str) -> list[Any]:
        path = FIXTURES / name
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    return read


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., Any]]:
    """Start simulators (fast ticks, fixed start time); all are stopped at teardown."""
    started: list[SimExchange] = []

    async def start(**kw: Any) -> tuple[SimExchange, dict[tuple[str, str], str]]:
        kw.setdefault("interval_ms", 20.0)
        kw.setdefault("start_ms", START_MS)
        ex = SimExchange(**kw)
        started.append(ex)
        urls = await ex.start()
        return ex, urls

    yield start
    for ex in started:
        await ex.stop()


@pytest.fixture
async def account_sim() -> AsyncIterator[Callable[..., Any]]:
    """Start simulators with the test accounts on a stepped clock (nothing moves until the test
    calls ``advance``); all are stopped at teardown."""
    from sim_ccxt_clients import START_MS, seed

    started: list[SimExchange] = []

    async def start(**kw: Any) -> SimExchange:
        kw.setdefault("start_ms", START_MS)
        kw.setdefault("accounts", seed())
        kw.setdefault("autostep", False)
        kw.setdefault("coins", ("BTC", "ETH", "ADA", "XRP", "SOL"))
        ex = SimExchange(**kw)
        started.append(ex)
        await ex.start()
        return ex

    yield start
    for ex in started:
        await ex.stop()


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Any]]:
    """ccxt clients made by ``clients(cls, config)``; all closed at teardown."""
    made: list[Any] = []

    def make(cls: Any, config: dict[str, Any]) -> Any:
        c = cls(config)
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()
