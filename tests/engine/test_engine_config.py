"""Config loading: what a valid file means, and each kind of error naming file, key, value, line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_config, parse_config
from core.instruments import lookup

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hedgetop.example.toml"

GOOD = """
database = "hist.db"
snapshot_interval_ms = 500

[[holdings]]
coin = "btc"
amount = 2
label = "cold"

[[holdings]]
coin = "SOL"
amount = 100

[[hedges]]
id = "h1"
venue = "Bybit"
symbol = "BTCUSD"
size_usd = 100000.4
entry = 50000

[[hedges]]
venue = "binance"
symbol = "BTCUSD_PERP"
contracts = 30
entry = 60000
leverage = 3
hedges = "SOL"
beta = 1.4

[targets]
BTC = { ratio = 0.8 }
SOL = { ratio = 0.5, band = 0.1 }

[feeds.bybit]
inverse = "ws://127.0.0.1:9000/v5/public/inverse"

[alerts]
on_raise_command = ["notify-send", "{message}"]
"""


def test_valid_config_is_understood(tmp_path: Path) -> None:
    src = tmp_path / "c.toml"
    cfg = parse_config(GOOD, source=src)
    assert [h.coin for h in cfg.holdings] == ["BTC", "SOL"]
    h1, h2 = cfg.hedges
    assert (h1.id, h1.venue, h1.symbol, h1.side) == ("h1", "bybit", "BTCUSD", "short")
    assert h1.contracts == 100_000  # 1 USD contracts, rounded to the lot
    assert h1.margin_coin == pytest.approx(100_000 / 50_000)  # neither margin nor leverage: 1x
    assert h2.id == "binance:BTCUSD_PERP"
    spec = lookup("binance", "BTCUSD_PERP")
    assert h2.margin_coin == pytest.approx(30 * spec.face_value_usd / 60_000 / 3)
    assert h2.proxy
    assert h2.hedges == "SOL"
    assert h2.beta == 1.4
    assert cfg.targets["BTC"].band == 0.05
    assert cfg.targets["SOL"].band == 0.1
    assert cfg.feeds.urls[("bybit", "inverse")].startswith("ws://127.0.0.1")
    assert cfg.database == tmp_path / "hist.db"  # relative to the config file
    assert cfg.snapshot_interval_ms == 500
    assert cfg.alerts.on_raise_command == ("notify-send", "{message}")
    assert cfg.coins() == ("BTC", "SOL")


def test_example_config_passes() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.source == EXAMPLE
    assert len(cfg.hedges) == 3
    assert any(h.proxy for h in cfg.hedges)


def test_no_config_means_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_config(None) is None  # no file anywhere: the command chooses
    from tui.commands._session import load

    cfg = load(None)  # the dashboard's and record's choice: the demo
    assert cfg.demo
    assert cfg.simulator.enabled
    assert {h.venue for h in cfg.hedges} == {"bybit", "binance", "okx", "deribit"}
    assert sum(h.proxy for h in cfg.hedges) == 1
    levs = {h.leverage for h in cfg.hedges}
    assert 1.0 in levs
    assert any(lv is not None and lv > 1 for lv in levs)


def test_default_location_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "hedgetop").mkdir()
    (tmp_path / "hedgetop" / "config.toml").write_text('[[holdings]]\ncoin="ETH"\namount=3\n')
    cfg = load_config(None)
    assert not cfg.demo
    assert cfg.holdings[0].coin == "ETH"


def _err(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="my.toml")
    return info.value


@pytest.mark.parametrize(
    ("text", "key", "value", "line", "words"),
    [
        ('colour = "red"\n', "colour", "'red'", 1, "unknown key"),
        (
            "[broker]\nfee_rate = 0.001\nslipage_bps = 3\n",
            "broker.slipage_bps",
            "3",
            3,
            "unknown key",
        ),
        ('[[holdings]]\ncoin = "BTC"\namount = -1\n', "holdings[0].amount", "-1", 3, "at least"),
        (
            '[[holdings]]\ncoin = "BTC"\namount = "lots"\n',
            "holdings[0].amount",
            "'lots'",
            3,
            "number",
        ),
        (
            '[[hedges]]\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=10\nentry=1\n'
            '[[hedges]]\nvenue="bybit"\nsymbol="ETHUSD"\ncontracts=10\nentry=-5\n',
            "hedges[1].entry",
            "-5",
            10,
            "greater than 0",
        ),
        (
            '[[hedges]]\nvenue="ftx"\nsymbol="BTCUSD"\ncontracts=1\nentry=1\n',
            "hedges[0].venue",
            "'ftx'",
            2,
            "one of",
        ),
        (
            '[[hedges]]\nvenue="bybit"\nsymbol="FOOUSD"\ncontracts=1\nentry=1\n',
            "hedges[0].symbol",
            "'FOOUSD'",
            3,
            "unknown symbol",
        ),
        (
            '[[hedges]]\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=1.5\nentry=1\n',
            "hedges[0].contracts",
            "1.5",
            4,
            "whole number",
        ),
        (
            '[[hedges]]\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=1\n',
            "hedges[0].entry",
            None,
            1,
            "required",
        ),
        (
            '[[hedges]]\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=1\nsize_usd=1\nentry=1\n',
            "hedges[0].size_usd",
            "None",
            5,
            "not both",
        ),
        (
            '[[hedges]]\nid="a"\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=1\nentry=1\n'
            '[[hedges]]\nid="a"\nvenue="bybit"\nsymbol="ETHUSD"\ncontracts=1\nentry=1\n',
            "hedges[1].id",
            "'a'",
            8,
            "duplicate",
        ),
        (
            '[[hedges]]\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=1\nentry=1\nbeta=2\n',
            "hedges[0].beta",
            "2.0",
            6,
            "proxy",
        ),
        (
            '[[hedges]]\nvenue="bybit"\nsymbol="BTCUSD"\ncontracts=1\nentry=1\nhedges="SOL"\n',
            "hedges[0].hedges",
            "'SOL'",
            6,
            "no [[holdings]]",
        ),
        ("[targets]\nDOGE = { ratio = 1 }\n", "targets.DOGE", "{'ratio': 1}", 2, "no holding"),
        ('[feeds.bybit]\ninverse = "http://x"\n', "feeds.bybit.inverse", "'http://x'", 2, "ws://"),
        ('[broker]\napi_secret = "abc"\n', "broker.api_secret", "'<hidden>'", 2, "environment"),
        (
            '[alerts]\non_raise_command = "notify-send hi"\n',
            "alerts.on_raise_command",
            None,
            2,
            "argv",
        ),
        ("snapshot_interval_ms = 5\n", "snapshot_interval_ms", "5", 1, "at least 50"),
        ('[simulator]\nchaos = "explode=1"\n', "simulator.chaos", "'explode=1'", 2, "explode"),
        ("holdings = 3\n", "holdings", "3", 1, "array of tables"),
    ],
)
def test_each_error_names_file_key_value_line(
    text: str, key: str, value: str | None, line: int, words: str
) -> None:
    err = _err(text)
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith(f"my.toml:{line}: {key}")
    assert err.key == key
    assert err.line == line
    if value is not None:
        assert f"{key} = {value}" in msg
    assert words in msg


def test_secret_values_never_echoed() -> None:
    msg = str(_err('[broker]\napi_key = "sk-VERYSECRET"\n'))
    assert "VERYSECRET" not in msg


def test_toml_syntax_error_has_line() -> None:
    err = _err('[[holdings]]\ncoin = "BTC"\namount = 1 2\n')
    assert err.line == 3
    assert str(err).startswith("my.toml:3: TOML syntax error")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
    assert "no such config file" in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(p)
