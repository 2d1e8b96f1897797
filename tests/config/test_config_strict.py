"""Strict config checks (issue 13.5): each is an error naming file, line, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, parse_config
from tui.cli import main

HOLD = '[[holdings]]\ncoin = "BTC"\namount = 1\n'
HEDGE = '[[hedges]]\nvenue = "bybit"\nsymbol = "BTCUSD"\ncontracts = 100\nentry = 90000\n'


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        (HOLD + '[keys]\nstepdown = "d"\n', "keys.stepdown = 'd'", 5, "unknown dashboard action"),
        (HOLD + '[keys]\nstep_up = "q"\n', "keys.step_up = 'q'", 5, "already the key of quit"),
        (
            HOLD + '[keys]\nquit = "x"\nhistory = "x"\n',
            "keys.history = 'x'",
            6,
            "already the key of quit",
        ),
        (HOLD + HOLD, "holdings[1].coin = 'BTC'", 5, "already holds this coin"),
        (
            HOLD.replace("BTC", "ETH") + HEDGE,
            "hedges[0].symbol = 'BTCUSD'",
            6,
            "no [[holdings]] entry has BTC",
        ),
    ],
)
def test_nonsense_is_an_error_with_file_line_key_value(
    text: str, key: str, line: int, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="p.toml")
    msg = str(err.value)
    assert msg.startswith(f"p.toml:{line}: {key}: "), msg
    assert words in msg


def test_what_stays_allowed() -> None:
    # a second wallet of a coin under its own label; a remap that moves quit itself
    cfg = parse_config(
        HOLD + HOLD + 'label = "cold"\n' + HEDGE + '[keys]\nquit = "Q"\nstep_up = "q"\n'
    )
    assert len(cfg.holdings) == 2
    assert parse_config(HEDGE).hedges  # hedges alone (no holdings at all) still monitor


def test_config_check_refuses_an_unknown_theme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('# mine\ntheme = "solarised-typo"\n' + HOLD)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: theme = 'solarised-typo': unknown theme" in err
    assert "Traceback" not in err
    path.write_text('theme = "dark"\n' + HOLD)
    assert main(["config", "check", str(path)]) == 0
