"""A dashboard that ends on an exception must not exit 0 (issue 8.1: the Sparkline raised on a
NaN and ``hedgetop`` exited 0)."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import core.session
import tui.app
from tui.commands import dashboard


class CrashedApp:
    """What Textual leaves behind after an unhandled exception: run() returns None and
    return_code is 1."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.return_code: int | None = None

    def run(self) -> Any:
        self.return_code = 1
        return None


class CleanApp(CrashedApp):
    def run(self) -> Any:
        self.return_code = 0
        return None


class FakeSession:
    def __init__(self, *args: Any, **kw: Any) -> None:
        pass

    def feed_urls(self) -> dict[tuple[str, str], str]:
        return {}


@pytest.mark.parametrize(("app", "code"), [(CrashedApp, 1), (CleanApp, 0)])
def test_a_crashed_app_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, app: type, code: int
) -> None:
    monkeypatch.setattr(core.session, "LiveSession", FakeSession)
    monkeypatch.setattr(tui.app, "HedgetopApp", app)
    cfg = SimpleNamespace(
        simulator=SimpleNamespace(enabled=True),
        broker=SimpleNamespace(step_pct=5.0),
        theme="",
        record_interval_ms=1000,
    )
    args = argparse.Namespace()
    got = dashboard._run_app(args, cfg, None, None, db=tmp_path / "h.db", keymap={})
    assert got == code
