"""A dated future as a hedge in the config (issue 14 §5): each venue's spelling is kept as the
venue's native name of the dated contract; an expired or unreadable dated symbol is an error
naming file, line, key and value (exit 2 through ``hedgetop config check``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, parse_config
from tui.cli import main

DEC25 = 1_798_185_600_000  # 2026-12-25 08:00 UTC
DEC04 = 1_796_371_200_000  # 2026-12-04 08:00 UTC
HOLD = '[[holdings]]\ncoin = "BTC"\namount = 1\n'


def hedge(venue: str, symbol: str) -> str:
    return f'[[hedges]]\nvenue = "{venue}"\nsymbol = "{symbol}"\ncontracts = 10\nentry = 90000\n'


@pytest.mark.parametrize(
    ("venue", "symbol", "native"),
    [
        ("binance", "BTCUSD_261225", "BTCUSD_261225"),
        ("okx", "BTC-USD-261225", "BTC-USD-261225"),
        ("deribit", "BTC-25DEC26", "BTC-25DEC26"),
        ("bybit", "BTCUSDZ26", "BTCUSDZ26"),
        ("binance", "BTC/USD:BTC-261225", "BTCUSD_261225"),
    ],
)
def test_a_dated_hedge_keeps_its_native_name(venue: str, symbol: str, native: str) -> None:
    cfg = parse_config(HOLD + hedge(venue, symbol), now_ms=DEC04)
    (h,) = cfg.hedges
    assert h.symbol == native
    assert h.coin == "BTC"
    assert h.id == f"{venue}:{native}"
    spec = cfg.specs()[(venue, native)]
    assert spec.expiry_ms == DEC25


@pytest.mark.parametrize(
    ("symbol", "words"),
    [
        ("BTCUSD_261225", "BTCUSD_261225 expired on 2026-12-25 08:00 UTC"),
        ("BTCUSD_261345", "not a date"),
    ],
)
def test_expired_or_unreadable_dated_symbol_names_file_line_key_value(
    symbol: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(HOLD + hedge("binance", symbol), source="p.toml", now_ms=DEC25)
    msg = str(err.value)
    assert msg.startswith(f"p.toml:6: hedges[0].symbol = '{symbol}': "), msg
    assert words in msg


def test_config_check_refuses_an_expired_quarterly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(HOLD + hedge("binance", "BTCUSD_200925"))  # settled in September 2020
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"{path}:6: hedges[0].symbol = 'BTCUSD_200925'" in err
    assert "expired on 2020-09-25 08:00 UTC" in err
    assert "Traceback" not in err


def test_config_check_describes_a_dated_hedge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(HOLD + hedge("deribit", "BTC-25DEC99"))
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "BTC-25DEC99" in out
    assert "dated: expires 2099-12-25 08:00 UTC, no funding" in out
    assert "continuous funding" not in out
