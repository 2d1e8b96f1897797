"""Notifications through the real apprise to a local HTTP endpoint (apprise's ``json://`` to a
server on 127.0.0.1): the payload of a raise and of its clear, a URL whose secret part comes
from the environment, a failed delivery that logs no secret, and the live session's wiring
(an alert raised on the built-in simulator reaches the endpoint)."""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.config import NotifyConfig
from core.demo import demo_config
from core.events import AlertEvent, AlertState
from core.notify import Notifier
from core.session import LiveSession
from core.snapshot import PortfolioSnapshot

T0 = 1_764_100_000_000


class Endpoint:
    def __init__(self) -> None:
        self.posts: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.posts.put((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def next(self, timeout: float = 30.0) -> tuple[str, dict[str, Any]]:
        return self.posts.get(timeout=timeout)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()
    ep.thread.start()
    try:
        yield ep
    finally:
        ep.server.shutdown()
        ep.server.server_close()


def snap() -> PortfolioSnapshot:
    return PortfolioSnapshot(
        ts_ms=T0,
        session_start_ms=T0,
        holdings=(),
        hedges=(),
        total_value_usd=123_456.0,
        unhedged_value_usd=None,
        net_delta_usd=-2_500.0,
        session_change_usd=None,
        unhedged_session_change_usd=None,
    )


def alert(raised: bool) -> AlertEvent:
    return AlertEvent(
        ts_ms=T0,
        key="liq_distance:binance:ADAUSD_PERP",
        rule="liq_distance",
        subject="binance:ADAUSD_PERP",
        state=AlertState.RAISED if raised else AlertState.CLEARED,
        message="ada: liquidation at 0.61 USD is 8.20 % from mark (alert below 20 %)"
        if raised
        else "binance:ADAUSD_PERP: liq_distance cleared (recovered)",
    )


def test_raise_and_clear_reach_the_endpoint_as_apprise_json(endpoint: Endpoint) -> None:
    clock = {"ms": T0}
    config = NotifyConfig(urls=(f"json://127.0.0.1:{endpoint.port}/${{HOOK}}",))
    n = Notifier(config, wall_clock=lambda: clock["ms"], environ={"HOOK": "hook-7f3a9c"}, tz=UTC)
    n.on_alert(alert(True))
    n.on_snapshot(snap())
    path, payload = endpoint.next()
    assert path == "/hook-7f3a9c"  # ${HOOK} expanded from the environment
    assert payload["version"] == "1.0"
    assert payload["type"] == "warning"
    assert payload["title"] == "hedgetop ▲ liquidation near: binance:ADAUSD_PERP"
    assert payload["message"].splitlines() == [
        "ada: liquidation at 0.61 USD is 8.20 % from mark (alert below 20 %)",
        "total 123,456 USD, net delta -2,500 USD at 19:46 UTC",
    ]
    clock["ms"] += 120_000
    n.on_alert(alert(False))
    n.on_snapshot(snap())
    _path, cleared = endpoint.next()
    assert cleared["type"] == "success"
    assert cleared["title"] == "hedgetop ✓ cleared, liquidation near: binance:ADAUSD_PERP"
    n.close()
    assert n.health.sent == 2
    assert endpoint.posts.empty()


def test_failed_delivery_logs_and_reports_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "tok-SECRET-9b1e4f"
    problems: list[str] = []
    config = NotifyConfig(urls=(f"json://127.0.0.1:{port}/{secret}?token={secret}",))
    n = Notifier(config, wall_clock=lambda: T0, environ={}, tz=UTC, on_problem=problems.append)
    with caplog.at_level(logging.DEBUG, logger="apprise"):  # its debug lines spell URLs out
        n.on_alert(alert(True))
        n.on_snapshot(snap())
        n.close(timeout=30)
    assert n.health.failed == 1
    assert problems
    assert "notification not sent" in problems[0]
    assert caplog.records  # apprise did say something
    assert secret not in caplog.text
    assert all(secret not in p for p in problems)


async def test_live_session_sends_an_alert_raised_on_the_simulator(endpoint: Endpoint) -> None:
    demo = demo_config()
    cfg = dataclasses.replace(
        demo,
        # |basis| beyond a billionth of a percent: raised as soon as prices flow
        alerts=dataclasses.replace(demo.alerts, basis_pct=1e-9, basis_clear_pct=0.0),
        notify=NotifyConfig(urls=(f"json://127.0.0.1:{endpoint.port}/hedge",), min_interval_s=0),
    )
    session = LiveSession(cfg, tick_ms=100, sim_interval_ms=50, environ={})
    assert session.notifier is not None
    async with session:
        await session.wait_for(lambda s: any(a.rule == "basis" for a in s.active_alerts), 30)
        import asyncio

        _path, payload = await asyncio.to_thread(endpoint.next, 30.0)
    assert "basis" in payload["title"] or "alerts" in payload["title"]
    assert "% of index" in payload["message"]
    # the alert may be raised by the first snapshot, before every spot price is in: then the
    # total is unknown and says so ("—"), never a partial sum
    assert re.search(r"\ntotal (—|[\d,]+ USD), net delta ", payload["message"])


def test_a_served_config_sends_nothing_out() -> None:
    from tui.commands.dashboard import served_config

    demo = demo_config()
    cfg = dataclasses.replace(
        demo,
        notify=NotifyConfig(urls=("json://127.0.0.1:9/x",)),
        alerts=dataclasses.replace(demo.alerts, on_raise_command=("notify-send", "{message}")),
    )
    assert LiveSession(cfg, environ={}).notifier is not None
    served = served_config(cfg)
    assert served.notify.urls == ()
    assert served.alerts.on_raise_command == ()
    assert LiveSession(served, environ={}).notifier is None


def test_a_url_apprise_refuses_is_said_when_the_session_starts() -> None:
    cfg = dataclasses.replace(
        demo_config(), notify=NotifyConfig(urls=("nosuchservice://SECRET-abc123/x",))
    )
    session = LiveSession(cfg, environ={})
    assert session.notifier is not None
    session.notifier.start()  # what LiveSession.start does (before any alert)
    session.notifier.close()
    assert session.feed_errors == [
        "notification URL 1 (nosuchservice://…): apprise does not accept it"
    ]
