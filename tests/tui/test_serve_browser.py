"""``hedgetop serve`` in a real browser: headless Chromium loads the dashboard through
textual-serve; the terminal it draws (xterm.js's own buffer, read in the page) shows the
header's total and the hedge rows; a screenshot is taken. Bound beyond loopback, a request
without the token is refused with 403 (page, static files, websocket), and neither the token
nor an API key reaches the page, the server's log or a session's environment.

Needs Chromium (Debian's ``chromium``; ``.ci/run`` installs it when missing).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cdp import chromium, find_chromium, until

from core.demo import demo_config

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on this machine: `apt-get install -y chromium` (.ci/run does it)",
)

API_KEY = "hk-test-4d3b9f0a7c1e5d2b"  # a fake venue key put in serve's environment

# Hands the page xterm.js's Terminal: textual.js keeps it in a closure as ``this.terminal``;
# a setter on Object.prototype sees that assignment (before it becomes an own property).
HOOK = """
(() => {
  Object.defineProperty(Object.prototype, "terminal", {
    configurable: true,
    get() { return undefined; },
    set(value) {
      Object.defineProperty(this, "terminal",
        {value, writable: true, configurable: true, enumerable: true});
      if (value && value.buffer && typeof value.write === "function") {
        window.__hedgetopTerm = value;
      }
    },
  });
  window.__hedgetopText = () => {
    const t = window.__hedgetopTerm;
    if (!t) return null;
    const b = t.buffer.active, out = [];
    for (let y = 0; y < t.rows; y++) {
      const line = b.getLine(b.viewportY + y);
      out.push(line ? line.translateToString(true) : "");
    }
    return out.join("\\n");
  };
})();
"""


@dataclass
class Served:
    proc: subprocess.Popen[str]
    port: int
    token: str
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)


def _pump(stream: object, sink: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.append(line)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGETOP_")}
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["HEDGETOP_BYBIT_API_KEY"] = API_KEY
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tui.cli", "--db", str(tmp_path / "h.db")),
            *("serve", "--host", "0.0.0.0", "--port", "0"),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []
    for stream, sink in ((proc.stdout, out), (proc.stderr, err)):
        threading.Thread(target=_pump, args=(stream, sink), daemon=True).start()
    try:
        listening = until(
            "serve to listen",
            lambda: next((ln for ln in out if "listening on" in ln), None) or proc.poll(),
            60,
        )
        assert isinstance(listening, str), f"serve exited: {''.join(err)}"
        port = int(re.search(r":(\d+);", listening).group(1))  # type: ignore[union-attr]
        token = re.search(r"\?token=(\S+)", "".join(out)).group(1)  # type: ignore[union-attr]
        yield Served(proc, port, token, out, err)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def test_dashboard_in_chromium_behind_the_token(served: Served, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{served.port}"
    # beyond loopback, nothing is served without the token: page, scripts, websocket
    assert _status(f"{base}/") == 403
    assert _status(f"{base}/static/js/textual.js") == 403
    assert _status(f"{base}/ws", {"Connection": "Upgrade", "Upgrade": "websocket"}) == 403
    assert _status(f"{base}/?token={served.token[:-1]}x") == 403
    assert CHROMIUM is not None
    with chromium(CHROMIUM, tmp_path / "profile") as page:
        page.call("Page.addScriptToEvaluateOnNewDocument", source=HOOK)
        page.navigate(f"{base}/")
        assert "403" in page.evaluate("document.body.innerText")
        assert page.evaluate("window.__hedgetopTerm === undefined")  # no app was started

        page.navigate(f"{base}/?token={served.token}")
        assert page.evaluate("location.search") == ""  # the token left the address bar
        hedges = demo_config().hedges
        symbols = {h.symbol for h in hedges}

        def dashboard() -> str | None:
            text = page.evaluate("window.__hedgetopText && window.__hedgetopText()")
            if not text or not re.search(r"Total [\d,]+\.\d\d USD", text):
                return None
            return text if all(s in text for s in symbols) else None

        text = until("the dashboard's total and hedge rows in the browser", dashboard, 90)
        shot = page.screenshot(tmp_path / "serve.png")
        html = page.evaluate("document.documentElement.outerHTML")
        cookie_visible = page.evaluate("document.cookie")
        served_pid = served.proc.pid
        sessions = _descendants(served_pid)
        environments = []
        for pid in sessions:
            try:
                environments.append((Path("/proc") / str(pid) / "environ").read_bytes())
            except OSError:
                continue
    assert shot.startswith(b"\x89PNG")
    assert len(shot) > 20_000  # a drawn dashboard, not a blank page
    artifacts = os.environ.get("HEDGETOP_ARTIFACTS")
    if artifacts:
        shutil.copy(tmp_path / "serve.png", Path(artifacts) / "serve.png")
    assert "READ-ONLY" in text  # served read-only by default
    for h in hedges:
        assert h.symbol in text
    # the token and the key stay out of the page, the terminal, the cookie jar seen by scripts
    for secret in (served.token, API_KEY):
        assert secret not in html
        assert secret not in text
    assert cookie_visible == ""  # HttpOnly
    # a session (the app process) inherits neither the token nor the venue key
    assert environments, "no app process found under serve"
    for env in environments:
        assert served.token.encode() not in env
        assert API_KEY.encode() not in env
    # the server's log (stderr) names refusals and paths, never the token or the key
    log = "".join(served.err)
    assert "refused" in log
    assert "GET /ws" in log
    assert served.token not in log
    assert API_KEY not in log
