from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from core.sim import SimExchange

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
