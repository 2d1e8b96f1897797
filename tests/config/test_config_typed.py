"""The config as typed data (issue 10 §5): the file's shape decoded by msgspec, its errors in
the file's words, line numbers computed from the key path (and left out where they cannot be
exact), the file's defaults the same as the domain's, no demo from ``load_config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import (
    AlertConfig,
    BrokerConfig,
    ConfigError,
    FeedsConfig,
    NotifyConfig,
    SimulatorConfig,
    load_config,
    parse_config,
)
from core.toml_lines import KeyLines

HOLD = '[[holdings]]\ncoin = "BTC"\namount = 1\n'
HEDGE = '[[hedges]]\nvenue = "bybit"\nsymbol = "BTCUSD"\ncontracts = 100\nentry = 90000\n'


def _err(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="c.toml")
    return info.value


def test_an_empty_file_means_the_domain_defaults() -> None:
    cfg = parse_config("")
    assert cfg.alerts == AlertConfig()
    assert cfg.broker == BrokerConfig()
    assert cfg.notify == NotifyConfig()
    assert cfg.simulator == SimulatorConfig()
    assert cfg.feeds == FeedsConfig()
    assert (cfg.snapshot_interval_ms, cfg.record_interval_ms) == (250, 1000)
    assert not cfg.demo


def test_text_inside_a_multiline_string_is_not_taken_for_a_table() -> None:
    # a guess by pattern would see the [broker] and fee_rate of lines 3-4
    text = 'theme = """\n\n[broker]\nfee_rate = 1\n"""\n[broker]\nfee_rate = 0.5\n'
    err = _err(text)
    assert (err.key, err.line) == ("broker.fee_rate", 7)
    assert str(err).startswith("c.toml:7: broker.fee_rate = 0.5: must be at most 0.01")


def test_the_nth_array_table_is_found_even_when_an_earlier_one_lacks_the_key() -> None:
    text = HOLD + HEDGE + '[[hedges]]\nvenue = "bybit"\nsymbol = "BTCUSD"\nid = "b"\n'
    text += "contracts = 1\n'entry' = -5\n"
    err = _err(text)
    assert (err.key, err.line) == ("hedges[1].entry", 14)


def test_an_item_of_a_list_over_several_lines_has_no_line() -> None:
    err = _err('[alerts]\non_raise_command = [\n  "notify-send",\n  3,\n]\n')
    assert err.key == "alerts.on_raise_command[1]"
    assert err.line is None
    assert str(err).startswith("c.toml: alerts.on_raise_command[1] = 3: ")
    # on one line, the list's line is the item's
    assert _err("[alerts]\non_raise_command = ['a', 3]\n").line == 2


def test_a_key_inside_an_inline_table_has_the_table_line() -> None:
    err = _err(HOLD + "[targets]\nBTC = { ratio = 5 }\n")
    assert (err.key, err.line) == ("targets.BTC.ratio", 5)
    assert "must be at most 3" in str(err)
    err = _err(HOLD + "[targets]\nBTC = { band = 0.1 }\n")
    assert (err.key, err.line) == ("targets.BTC.ratio", 5)
    assert "is required" in str(err)


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        (
            '[feeds.bybit]\nsocket = "ws://x"\n',
            "feeds.bybit.socket",
            2,
            "known here: inverse, spot",
        ),
        ("[feeds]\nbybit = 3\n", "feeds.bybit", 2, "must be a table"),
        ('[simulator]\nseed = "one"\n', "simulator.seed", 2, "must be a whole number"),
        ("[notify]\nurls = 'x'\n", "notify.urls", 2, "list of apprise URLs"),
        ('theme = 7\n[[holdings]]\ncoin = "BTC"\namount = 1\n', "theme", 1, "must be a string"),
        ("[alerts]\nbasis_pct = nan\n", "alerts.basis_pct", 2, "finite"),
        ("[alerts]\nbasis_pct = 0\n", "alerts.basis_pct", 2, "greater than 0"),
        ("snapshot_interval_ms = 500\nrecord_interval_ms = 400\n", "record_interval_ms", 2, "500"),
    ],
)
def test_decode_errors_are_in_the_file_words(text: str, key: str, line: int, words: str) -> None:
    err = _err(text)
    assert (err.key, err.line) == (key, line)
    assert str(err).startswith(f"c.toml:{line}: {key}")
    assert words in str(err)


def test_a_secret_looking_key_anywhere_is_refused_unechoed() -> None:
    err = _err('[feeds.bybit]\npassword = "hunter2hunter2"\n')
    assert (err.key, err.line) == ("feeds.bybit.password", 2)
    assert "hunter2" not in str(err)
    assert "environment variables" in str(err)


def test_load_config_never_chooses_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_config(None) is None
    assert load_config("") is None


def test_key_lines_follow_nested_arrays_of_tables_and_dotted_keys() -> None:
    text = (
        "[[a]]\n"
        "x = 1\n"
        "[[a.b]]\n"
        "y = 2\n"
        "[[a]]\n"
        "[[a.b]]\n"
        '"q.r".s = 3  # a comment [not] = a table\n'
        "m = '''\n"
        "z = 4\n"
        "'''\n"
    )
    lines = KeyLines(text)
    assert lines.line(("a", 0, "x")) == 2
    assert lines.line(("a", 0, "b", 0, "y")) == 4
    assert lines.line(("a", 1)) == 5
    assert lines.line(("a", 1, "b", 0, "q.r", "s")) == 7
    assert lines.line(("a", 1, "b", 0, "m")) == 8
    assert lines.line(("a", 1, "b", 0, "z")) == 6  # not written: its table's line
    assert lines.line(("nowhere", "at", "all")) is None


def _leaves(value: object, path: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [path]


@pytest.mark.parametrize(
    "path",
    [
        Path(__file__).resolve().parents[2] / "examples" / "hedgetop.example.toml",
        *sorted((Path(__file__).resolve().parents[2] / "themes").glob("*.toml")),
        Path(__file__).resolve().parents[2] / "pyproject.toml",
    ],
    ids=lambda p: p.name,
)
def test_every_key_of_real_files_is_found_on_its_own_line(path: Path) -> None:
    import tomllib

    text = path.read_text(encoding="utf-8")
    lines = KeyLines(text)
    rows = text.splitlines()
    leaves = _leaves(tomllib.loads(text), ())
    assert len(leaves) > 5
    for leaf in leaves:
        line = lines.line(leaf)
        assert line is not None, leaf
        name = next(p for p in reversed(leaf) if isinstance(p, str))
        assert name in rows[line - 1], (leaf, line, rows[line - 1])
