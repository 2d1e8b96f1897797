"""Reading ``--chaos`` specs: every fault, and one clear error naming the bad item."""

from __future__ import annotations

import pytest

from core.sim.chaos import DEFAULT_REORDER_P, ChaosSpec, ChaosSpecError, parse_chaos
from tui.cli import main


def test_empty_spec_means_no_faults() -> None:
    assert parse_chaos("") == ChaosSpec()
    assert parse_chaos(" , ").describe() == "none"


def test_every_fault_is_read() -> None:
    spec = parse_chaos("drop=2, stall=5:1.5,garbage=0.01,reorder,refuse=BTC,refuse=ethusd+SOL")
    assert spec.drop_every_s == 2.0
    assert spec.stall_after_s == 5.0
    assert spec.stall_for_s == 1.5
    assert spec.garbage_p == 0.01
    assert spec.reorder_p == DEFAULT_REORDER_P
    assert spec.refuse == frozenset({"BTC", "ETHUSD", "SOL"})
    assert spec.refuses("btc", "BTCUSD")
    assert spec.refuses("ETH", "ethusd")
    assert not spec.refuses("ETH", "ETHUSDT")
    assert parse_chaos(spec.describe()) == spec


def test_stall_window() -> None:
    forever = parse_chaos("stall=5")
    assert not forever.stalled(4.9)
    assert forever.stalled(5.0)
    assert forever.stalled(1e9)
    window = parse_chaos("stall=5:2")
    assert window.stalled(6.9)
    assert not window.stalled(7.0)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("drop=abc", ["'drop=abc'", "seconds"]),
        ("drop=0", ["'drop=0'", "> 0"]),
        ("stall=-1", ["'stall=-1'"]),
        ("stall=1:x", ["'stall=1:x'"]),
        ("garbage=1.5", ["'garbage=1.5'", "probability"]),
        ("reorder=nope", ["'reorder=nope'"]),
        ("refuse=", ["'refuse='", "KEY=VALUE"]),
        ("explode=1", ["'explode=1'", "unknown fault"]),
        ("drop", ["'drop'", "KEY=VALUE"]),
    ],
)
def test_bad_items_are_named(spec: str, words: list[str]) -> None:
    with pytest.raises(ChaosSpecError) as err:
        parse_chaos(spec)
    for w in words:
        assert w in str(err.value)


def test_cli_reports_a_bad_spec_in_one_line_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--chaos", "drop=2,garbage=2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--chaos" in err
    assert "'garbage=2'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["sim", "--symbols", "BTC,NOPE"], "--symbols"),
        (["sim", "--speed", "fast"], "--speed"),
        (["sim", "--speed", "0"], "--speed"),
        (["sim", "--port", "70000"], "--port"),
        (["sim", "--seed", "x"], "--seed"),
    ],
)
def test_cli_bad_flags(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hedgetop: {flag}")
    assert err.count("\n") == 1


def test_rest_faults_parse_and_describe() -> None:
    spec = parse_chaos("http500=0.1, slow=20, ratelimit, drop-response=0.5")
    assert spec.http500_p == 0.1
    assert spec.slow_ms == 20.0
    assert spec.ratelimit_p == 0.1
    assert spec.drop_response_p == 0.5
    assert parse_chaos(spec.describe()) == spec
    assert parse_chaos("ratelimit=0.3").ratelimit_p == 0.3
    with pytest.raises(ChaosSpecError, match="slow needs milliseconds > 0"):
        parse_chaos("slow=0")
    with pytest.raises(ChaosSpecError, match="drop-response needs a probability"):
        parse_chaos("drop-response=2")
