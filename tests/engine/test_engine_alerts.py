"""Alert rules with hysteresis, minimum duration, and the notification command."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from core.alerts import FEED_CLEAR_MS, FEED_DOWN_RAISE_MS, FEED_REJECT_WINDOW_MS, AlertEngine
from core.config import AlertConfig
from core.events import AlertState, FeedHealth, FeedState
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot


def hedge(**kw: object) -> HedgeSnapshot:
    base: dict[str, object] = dict(
        hedge_id="h1", venue="bybit", symbol="BTCUSD", coin="BTC", hedged_coin="BTC", beta=1.0,
        side="short", contracts=1000, size_usd=1000.0, entry=50_000.0, margin_coin=0.01,
        margin_mode="isolated", leverage=2.0, mark=50_000.0, index=50_000.0, last=None,
        position_value_coin=0.02, pnl_coin=0.0, pnl_usd=0.0, realized_pnl_coin=0.0,
        equity_coin=0.01, maintenance_margin_coin=0.0001, liq_price=None, liq_distance_pct=None,
        basis_usd=0.0, basis_pct=0.0, basis_annual_pct=0.0, funding_rate=0.0001,
        funding_interval_ms=8 * 3_600_000, next_funding_ms=None, funding_countdown_ms=None,
        funding_apr_pct=10.95, funding_next_coin=0.0, funding_accrued_coin=0.0,
        funding_accrued_usd=0.0, stale=False,
    )  # fmt: skip
    base.update(kw)
    return HedgeSnapshot(**base)  # type: ignore[arg-type]


def holding(drift: float | None, band: float = 0.05) -> HoldingSnapshot:
    return HoldingSnapshot(
        coin="BTC", label="", amount_coin=1.0, price_usd=50_000.0, spot_value_usd=50_000.0,
        hedge_ids=("h1",), margin_coin=0.0, net_delta_coin=0.0, net_delta_usd=0.0,
        hedge_ratio=None if drift is None else 1.0 + drift, target_ratio=1.0,
        drift=drift, band=band, value_usd=0.0, unhedged_value_usd=0.0, stale=False,
    )  # fmt: skip


def snap(
    ts: int,
    hedges: Sequence[HedgeSnapshot] = (),
    holdings: Sequence[HoldingSnapshot] = (),
    feeds: Sequence[FeedHealth] = (),
) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        ts_ms=ts, session_start_ms=0, holdings=tuple(holdings), hedges=tuple(hedges),
        total_value_usd=None, unhedged_value_usd=None, net_delta_usd=None,
        session_change_usd=None, unhedged_session_change_usd=None, feeds=tuple(feeds),
    )  # fmt: skip


def states(engine: AlertEngine, s: PortfolioSnapshot, rule: str) -> list[str]:
    return [ev.state.value for ev in engine.evaluate(s) if ev.rule == rule]


def test_liquidation_distance_hysteresis() -> None:
    a = AlertEngine(AlertConfig(liq_distance_pct=20.0, liq_clear_pct=2.0))

    def at(ts: int, dist: float) -> list[str]:
        h = hedge(liq_price=50_000.0 * (1 + dist / 100), liq_distance_pct=dist)
        return states(a, snap(ts, [h]), "liq_distance")

    assert at(1, 25.0) == []
    assert at(2, 19.9) == ["raised"]
    assert [e.key for e in a.active] == ["liq_distance:bybit:BTCUSD"]
    assert at(3, 15.0) == []  # still raised: no repeat
    assert at(4, 21.0) == []  # back above the threshold but inside the margin: no flapping
    assert at(5, 19.0) == []
    assert at(6, 22.0) == ["cleared"]
    assert a.active == ()
    assert at(7, -10.0) == ["raised"]  # distance is absolute (a long's liq is below)
    # closing the position (no liquidation any more) clears it
    h = hedge(contracts=0, liq_price=None, liq_distance_pct=None)
    assert states(a, snap(8, [h]), "liq_distance") == ["cleared"]


def test_hedge_ratio_band_hysteresis_and_unknown_values() -> None:
    a = AlertEngine(AlertConfig(ratio_clear=0.01))
    assert states(a, snap(1, holdings=[holding(0.04)]), "hedge_ratio") == []
    ev = a.evaluate(snap(2, holdings=[holding(-0.06)]))
    assert [e.state for e in ev] == [AlertState.RAISED]
    assert ev[0].subject == "BTC"
    assert "-6.0 pts" in ev[0].message
    assert states(a, snap(3, holdings=[holding(None)]), "hedge_ratio") == []  # unknown: holds
    assert len(a.active) == 1
    assert (
        states(a, snap(4, holdings=[holding(0.045)]), "hedge_ratio") == []
    )  # inside band-margin? no
    assert states(a, snap(5, holdings=[holding(0.039)]), "hedge_ratio") == ["cleared"]


def test_funding_against_the_hedge() -> None:
    a = AlertEngine(AlertConfig(funding_against_apr_pct=5.0, funding_clear_apr_pct=2.0))
    assert states(a, snap(1, [hedge(funding_apr_pct=-4.0)]), "funding_against") == []
    assert states(a, snap(2, [hedge(funding_apr_pct=-6.0)]), "funding_against") == ["raised"]
    assert states(a, snap(3, [hedge(funding_apr_pct=-4.0)]), "funding_against") == []
    assert states(a, snap(4, [hedge(funding_apr_pct=-3.5)]), "funding_against") == []
    assert states(a, snap(5, [hedge(funding_apr_pct=-2.9)]), "funding_against") == ["cleared"]


def test_basis_beyond_threshold() -> None:
    a = AlertEngine(AlertConfig(basis_pct=1.0, basis_clear_pct=0.2))
    assert states(a, snap(1, [hedge(basis_pct=-1.2)]), "basis") == ["raised"]
    assert states(a, snap(2, [hedge(basis_pct=0.9)]), "basis") == []
    assert states(a, snap(2, [hedge(basis_pct=None, mark=None)]), "basis") == []  # unknown
    assert len(a.active) == 1
    assert states(a, snap(3, [hedge(basis_pct=0.7)]), "basis") == ["cleared"]


def test_feed_stale_and_disabled() -> None:
    ok = FeedHealth(venue="bybit", url="ws://x", state=FeedState.LIVE)
    stale = msgspec.structs.replace(ok, stale_symbols=("BTCUSD",))
    down = msgspec.structs.replace(ok, state=FeedState.RECONNECTING)
    a = AlertEngine(AlertConfig())
    assert states(a, snap(1, feeds=[ok]), "feed_stale") == []
    ev = a.evaluate(snap(2, feeds=[stale]))
    assert [e.state for e in ev] == [AlertState.RAISED]
    assert "BTCUSD" in ev[0].message
    assert states(a, snap(3, feeds=[down]), "feed_stale") == []
    # Hysteresis in time (issue 8.7): healthy for FEED_CLEAR_MS before it clears.
    assert states(a, snap(4, feeds=[ok]), "feed_stale") == []
    assert states(a, snap(4 + FEED_CLEAR_MS - 1, feeds=[ok]), "feed_stale") == []
    assert states(a, snap(4 + FEED_CLEAR_MS, feeds=[ok]), "feed_stale") == ["cleared"]
    off = AlertEngine(AlertConfig(stale=False))
    assert states(off, snap(1, feeds=[stale]), "feed_stale") == []


def test_feed_drop_does_not_raise_and_clear_within_a_second() -> None:
    """Issue 8.7: a routine reconnect (the feed down for 200 ms) raised and cleared the
    feed_stale alert on every drop; it now raises only if the feed stays down."""
    ok = FeedHealth(venue="bybit", url="ws://x", state=FeedState.LIVE)
    down = msgspec.structs.replace(ok, state=FeedState.RECONNECTING)
    a = AlertEngine(AlertConfig())
    seen: list[str] = []
    for t in range(0, 60_000, 1_000):  # one drop of 200 ms every second
        seen += states(a, snap(t, feeds=[down]), "feed_stale")
        seen += states(a, snap(t + 200, feeds=[ok]), "feed_stale")
    assert seen == []
    # Down for good: raised once it lasted FEED_DOWN_RAISE_MS, and only once.
    t0 = 100_000
    assert states(a, snap(t0, feeds=[down]), "feed_stale") == []
    assert states(a, snap(t0 + FEED_DOWN_RAISE_MS - 1, feeds=[down]), "feed_stale") == []
    assert states(a, snap(t0 + FEED_DOWN_RAISE_MS, feeds=[down]), "feed_stale") == ["raised"]
    # A blip of health does not clear it; FEED_CLEAR_MS of health does.
    t1 = t0 + FEED_DOWN_RAISE_MS + 1_000
    assert states(a, snap(t1, feeds=[ok]), "feed_stale") == []
    assert states(a, snap(t1 + 500, feeds=[down]), "feed_stale") == []
    assert states(a, snap(t1 + 1_000, feeds=[ok]), "feed_stale") == []
    assert states(a, snap(t1 + 1_000 + FEED_CLEAR_MS, feeds=[ok]), "feed_stale") == ["cleared"]


def test_feed_refusing_bad_data_raises_an_alert() -> None:
    ok = FeedHealth(venue="bybit", url="ws://x", state=FeedState.LIVE)
    bad = msgspec.structs.replace(
        ok, rejected=3, last_reject="BTCUSD: mark=nan: not a finite price", last_reject_ms=1_000
    )
    a = AlertEngine(AlertConfig())
    assert states(a, snap(500, feeds=[ok]), "feed_stale") == []
    ev = [e for e in a.evaluate(snap(1_000, feeds=[bad])) if e.rule == "feed_stale"]
    assert [e.state for e in ev] == [AlertState.RAISED]
    assert "3 quotes refused" in ev[0].message
    assert "mark=nan" in ev[0].message
    assert states(a, snap(1_000 + FEED_REJECT_WINDOW_MS - 1, feeds=[bad]), "feed_stale") == []
    assert states(a, snap(1_000 + FEED_REJECT_WINDOW_MS, feeds=[bad]), "feed_stale") == ["cleared"]


def test_min_duration_delays_raising() -> None:
    a = AlertEngine(AlertConfig(basis_pct=1.0, min_duration_ms=5_000))
    assert states(a, snap(0, [hedge(basis_pct=2.0)]), "basis") == []
    assert states(a, snap(4_999, [hedge(basis_pct=2.0)]), "basis") == []
    assert states(a, snap(5_000, [hedge(basis_pct=2.0)]), "basis") == ["raised"]
    b = AlertEngine(AlertConfig(basis_pct=1.0, min_duration_ms=5_000))
    states(b, snap(0, [hedge(basis_pct=2.0)]), "basis")
    states(b, snap(3_000, [hedge(basis_pct=0.5)]), "basis")  # interrupted: the clock restarts
    assert states(b, snap(6_000, [hedge(basis_pct=2.0)]), "basis") == []
    assert states(b, snap(11_000, [hedge(basis_pct=2.0)]), "basis") == ["raised"]


def test_vanished_subject_clears() -> None:
    a = AlertEngine(AlertConfig(basis_pct=1.0))
    states(a, snap(1, [hedge(basis_pct=2.0)]), "basis")
    assert states(a, snap(2, []), "basis") == ["cleared"]


class FakeSpawn:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> subprocess.Popen[bytes] | None:
        self.calls.append(list(argv))
        return None


def test_on_raise_command_substitutes_and_runs_only_on_raise() -> None:
    spawn = FakeSpawn()
    cfg = AlertConfig(basis_pct=1.0, on_raise_command=("notify", "{rule}", "{subject}: {message}"))
    a = AlertEngine(cfg, spawn=spawn)
    a.evaluate(snap(1, [hedge(basis_pct=2.0)]))
    a.evaluate(snap(2, [hedge(basis_pct=2.0)]))
    a.evaluate(snap(3, [hedge(basis_pct=0.1)]))  # cleared: no command
    assert len(spawn.calls) == 1
    argv = spawn.calls[0]
    assert argv[:2] == ["notify", "basis"]
    assert argv[2].startswith("bybit:BTCUSD: h1: basis +2.000 %")


def test_on_raise_command_really_runs_without_blocking(tmp_path: Path) -> None:
    from core.alerts import _spawn

    out = tmp_path / "notified"
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(argv: Sequence[str]) -> subprocess.Popen[bytes]:
        proc = _spawn(argv)
        procs.append(proc)
        return proc

    code = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_text(sys.argv[1])"
    cfg = AlertConfig(basis_pct=1.0, on_raise_command=(sys.executable, "-c", code, "{rule}"))
    a = AlertEngine(cfg, spawn=spawn)
    t0 = time.monotonic()
    a.evaluate(snap(1, [hedge(basis_pct=2.0)]))
    assert time.monotonic() - t0 < 0.5  # started, not waited for
    assert len(procs) == 1
    assert procs[0].wait(timeout=10) == 0
    assert out.read_text() == "basis"
    missing = AlertEngine(AlertConfig(basis_pct=1.0, on_raise_command=("/nonexistent/cmd",)))
    assert len(missing.evaluate(snap(1, [hedge(basis_pct=2.0)]))) == 1  # raised regardless
    assert missing.command_errors == 1
    a.close()
