"""Issue 8 items 5, 6 and 7: a config the math or SQLite cannot hold, one nested past the
parser's recursion, one with nothing to simulate, a directory or FIFO given as the config:
each is one line naming the file (and the line where there is one), exit 2, no traceback.
And the command line's last resort: an unexpected error is one line and exit 1, a closed
pipe is a quiet exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, load_config, parse_config
from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]

HEDGE = '[[hedges]]\nvenue = "bybit"\nsymbol = "BTCUSD"\n'


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="cfg.toml")
    return info.value


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        (HEDGE + "contracts = 99999999999999999999\nentry = 100\n", "hedges[0].contracts", 4),
        (HEDGE + "size_usd = 1e300\nentry = 100\n", "hedges[0].size_usd", 4),
        (HEDGE + "size_usd = 9e14\nentry = 100\n", "hedges[0].size_usd", 4),  # 9e14 contracts
        (HEDGE + "contracts = 10\nentry = 1e-320\n", "hedges[0].entry", 5),
        (HEDGE + "contracts = 10\nentry = 1e300\n", "hedges[0].entry", 5),
        (HEDGE + "contracts = 10\nentry = 100\nleverage = 1e-320\n", "hedges[0].leverage", 6),
        (HEDGE + "contracts = 10\nentry = 100\nmargin = 1e300\n", "hedges[0].margin", 6),
        ('[[holdings]]\ncoin = "BTC"\namount = 1e308\n', "holdings[0].amount", 3),
        ('[[holdings]]\ncoin = "BTC"\namount = 99999999999999999999\n', "holdings[0].amount", 3),
        ("[alerts]\nmin_duration_ms = 99999999999999999999\n", "alerts.min_duration_ms", 2),
        ("[alerts]\nbasis_pct = 1e300\n", "alerts.basis_pct", 2),
        ("[simulator]\nseed = 99999999999999999999\n", "simulator.seed", 2),
        ("[broker]\nmax_usd_per_action = 1e300\n", "broker.max_usd_per_action", 2),
        ("[broker]\nmax_contracts_per_action = 99999999999999999999\n", "broker.max_", 2),
    ],
)
def test_every_number_is_bounded_with_file_line_and_key(text: str, key: str, line: int) -> None:
    err = _error(text)
    assert str(err).startswith(f"cfg.toml:{line}: {key}"), str(err)
    assert "\n" not in str(err)


def test_the_bounds_leave_real_portfolios_alone() -> None:
    cfg = parse_config(
        '[[holdings]]\ncoin = "BTC"\namount = 21000000\n'
        + HEDGE
        + "contracts = 1000000000000\nentry = 0.00000001\nleverage = 0.5\n"
    )
    assert cfg.hedges[0].contracts == 10**12
    assert cfg.holdings[0].amount == 21_000_000


def test_a_config_nested_past_the_recursion_limit_is_one_line() -> None:
    deep = "a = " + "[" * 5000 + "]" * 5000 + "\n"
    err = _error(deep)
    assert "nested too deeply" in str(err)
    assert str(err).startswith("cfg.toml: ")


def test_a_simulator_with_nothing_to_simulate_is_refused_at_its_line() -> None:
    err = _error("# only the simulator\n[simulator]\nenabled = true\n")
    assert str(err).startswith("cfg.toml:3: simulator.enabled")
    assert "nothing to simulate" in str(err)
    # a coin it trades is enough
    assert parse_config('[simulator]\nenabled = true\n[[holdings]]\ncoin = "ETH"\namount = 1\n')


def test_a_directory_or_fifo_as_config_is_named_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "conf.toml"
    folder.mkdir()
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(folder)
    with pytest.raises(ConfigError, match="not a regular file") as info:
        load_config(fifo)  # never opened: a FIFO with no writer would block for ever
    assert "FIFO" in str(info.value)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_a_fifo_named_by_the_environment_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    monkeypatch.setenv("HEDGETOP_CONFIG", str(fifo))
    assert main(["config", "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "HEDGETOP_CONFIG" in err
    assert "not a regular file" in err


@pytest.mark.parametrize(
    "text",
    [
        "[simulator]\nenabled = true\n",
        "a = " + "[" * 5000 + "]" * 5000 + "\n",
        HEDGE + "contracts = 99999999999999999999\nentry = 100\n",
    ],
)
def test_bad_configs_are_one_line_exit_2_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for argv in (
        ["config", "check", str(path)],
        ["--config", str(path), "record", "--seconds", "1"],
    ):
        assert main(argv) == 2
        _out, err = capsys.readouterr()
        assert err.count("\n") == 1, err
        assert str(path) in err
        assert "Traceback" not in err


# --- the command line's last resort -----------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.commands import calc

    def boom(_args: object) -> int:
        raise RuntimeError("something\nno command expected")

    monkeypatch.delenv("HEDGETOP_DEBUG", raising=False)
    monkeypatch.setattr(calc, "run", boom)
    argv = ["calc", "--venue", "bybit", "--side", "short", "--entry", "1", "--mark", "1"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "RuntimeError: something no command expected" in err
    assert "HEDGETOP_DEBUG" in err
    monkeypatch.setenv("HEDGETOP_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(argv)


def test_a_closed_pipe_is_a_quiet_exit(tmp_path: Path) -> None:
    """``hedgetop config check | head -1``: the reader is gone before the writer writes
    (its end is closed before the child starts, so the write fails every time)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k not in {"HEDGETOP_CONFIG", "HEDGETOP_DEBUG"}}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no config: the demo
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tui.cli", "config", "check"],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert proc.stderr == b""


def test_a_simulator_that_trades_none_of_the_coins_is_a_config_error() -> None:
    from core.session.simulator import build_simulator

    cfg = parse_config(
        '[simulator]\nenabled = true\n[[holdings]]\ncoin = "QQQ"\namount = 1\n', source="c.toml"
    )
    with pytest.raises(
        ConfigError, match=r"c\.toml: simulator\.enabled: none of the coins \(QQQ\)"
    ):
        build_simulator(cfg, interval_ms=100.0)
