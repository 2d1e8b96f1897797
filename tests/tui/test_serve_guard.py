"""``hedgetop serve``'s guard, in-process against textual-serve's aiohttp application: the token
(query once, then an HttpOnly cookie), loopback's Host and Origin checks, logs without the
token, sessions' environment without secrets, one trading session at a time, and usage errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.redact import Redactor
from tui.cli import main
from tui.commands.dashboard import served_trader
from tui.commands.serve import child_command
from tui.serve import COOKIE, DashboardServer, child_environment, is_loopback

TOKEN = "s3cr3t-token-0123456789abcdef"


async def _client(server: DashboardServer) -> AsyncIterator[TestClient[object, object]]:
    client: TestClient[object, object] = TestClient(TestServer(await server._make_app()))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def guarded() -> AsyncIterator[TestClient[object, object]]:
    server = DashboardServer("true", host="0.0.0.0", port=0, token=TOKEN)
    async for client in _client(server):
        yield client


@pytest.fixture
async def loopback() -> AsyncIterator[TestClient[object, object]]:
    server = DashboardServer("true", host="127.0.0.1", port=0)
    async for client in _client(server):
        yield client


async def test_without_the_token_everything_is_403(guarded: TestClient[object, object]) -> None:
    for path in ("/", "/static/js/textual.js", "/ws", "/download/x", "/?token=wrong"):
        response = await guarded.get(path)
        assert response.status == 403, path
        assert TOKEN not in await response.text()
    bad_cookie = await guarded.get("/", cookies={COOKIE: "nope"})
    assert bad_cookie.status == 403


async def test_token_once_becomes_a_cookie_and_leaves_the_url(
    guarded: TestClient[object, object],
) -> None:
    response = await guarded.get(f"/?fontsize=14&token={TOKEN}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/?fontsize=14"
    cookie = response.cookies[COOKIE]
    assert cookie.value == TOKEN
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    page = await guarded.get("/?fontsize=14")  # the client keeps the cookie
    assert page.status == 200
    html = await page.text()
    assert TOKEN not in html
    host = f"{guarded.host}:{guarded.port}"
    assert f'data-session-websocket-url="ws://{host}/ws"' in html  # from the request's Host
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert (await guarded.get("/static/js/textual.js")).status == 200


async def test_loopback_needs_no_token_but_refuses_foreign_hosts_and_origins(
    loopback: TestClient[object, object],
) -> None:
    assert (await loopback.get("/")).status == 200
    rebound = await loopback.get("/", headers={"Host": "evil.example:8000"})
    assert rebound.status == 403  # a DNS-rebinding page
    foreign = await loopback.get(
        "/ws", headers={"Origin": "http://evil.example", "Upgrade": "websocket"}
    )
    assert foreign.status == 403  # a page elsewhere driving the dashboard


def test_access_log_and_records_never_carry_the_token(caplog: pytest.LogCaptureFixture) -> None:
    from tui.serve import PathOnlyAccessLogger

    class Req:
        remote, method, path = "10.0.0.9", "GET", "/"
        query_string = f"token={TOKEN}"

    class Resp:
        status = 303

    logger = logging.getLogger("hedgetop.serve.test")
    with caplog.at_level(logging.INFO, logger="hedgetop.serve.test"):
        PathOnlyAccessLogger(logger, "").log(Req(), Resp(), 0.001)  # type: ignore[arg-type]
    assert "GET / 303" in caplog.text
    assert TOKEN not in caplog.text
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "bad %s", (TOKEN,), None)
    assert Redactor([TOKEN]).filter(record)
    assert record.getMessage() == "bad ***"


def test_sessions_inherit_neither_token_nor_keys_unless_trading() -> None:
    base = {
        "HEDGETOP_SERVE_TOKEN": TOKEN,
        "HEDGETOP_BYBIT_API_KEY": "k",
        "HEDGETOP_BYBIT_API_SECRET": "s",
        "HEDGETOP_OKX_PASSPHRASE": "p",
        "HEDGETOP_NOTIFY_URLS": "tgram://x/y",
        "HEDGETOP_DB": "/data/h.db",
        "PATH": "/usr/bin",
    }
    viewing = dict(base)
    drop = {"HEDGETOP_SERVE_TOKEN", "HEDGETOP_NOTIFY_URLS"}
    child_environment(viewing, allow_trading=False, drop=drop)
    assert viewing == {"HEDGETOP_DB": "/data/h.db", "PATH": "/usr/bin"}
    trading = dict(base)
    child_environment(trading, allow_trading=True, drop=drop)
    assert "HEDGETOP_BYBIT_API_SECRET" in trading
    assert "HEDGETOP_SERVE_TOKEN" not in trading


def test_loopback_names() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))


def test_child_command_quotes_paths(tmp_path: Path) -> None:
    import shlex

    cfg = tmp_path / "my config.toml"
    argv = shlex.split(child_command(str(cfg), str(tmp_path / "h.db"), trading=False))
    assert argv[1:4] == ["-m", "tui.cli", "--config"]
    assert argv[4] == str(cfg)
    assert argv[-3:] == ["dashboard", "--served", "view"]


def test_one_trading_session_at_a_time(tmp_path: Path) -> None:
    from tui.commands import dashboard

    db = tmp_path / "h.db"
    session = object()
    first, why = served_trader(session, "trade", db)
    assert first is session
    assert why == ""
    second, why = served_trader(session, "trade", db)
    assert second is None
    assert "another browser session is trading" in why
    viewer, why = served_trader(session, "view", db)
    assert viewer is None
    assert "read-only" in why
    for held in dashboard._HELD:  # the lock a real session keeps until it exits
        held.close()
    dashboard._HELD.clear()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["serve", "--port", "http"], "--port"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--public-url", "hedge.example.org"], "--public-url"),
    ],
)
def test_serve_usage_errors_are_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert needle in err[0]


def test_a_short_token_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEDGETOP_SERVE_TOKEN", "short")
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "HEDGETOP_SERVE_TOKEN" in err
    assert "short" not in err  # not even a weak token is echoed
