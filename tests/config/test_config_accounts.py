"""``[[accounts]]`` (issue 12 §1) and ``export_dir``: what the file may say about an exchange
account (the names of the variables holding its keys, never the keys), and the references to
it from holdings and hedges."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import AccountConfig, ConfigError, parse_config
from core.events import Venue

HEDGE = '[[hedges]]\nvenue = "{venue}"\nsymbol = "BTCUSD"\ncontracts = 100\nentry = 50000\n'


def _err(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="my.toml")
    return info.value


def test_an_account_with_only_a_venue_gets_the_default_variable_names() -> None:
    cfg = parse_config('[[accounts]]\nvenue = "Bybit"\n')
    (acct,) = cfg.accounts
    assert acct == AccountConfig(
        name="bybit",
        venue=Venue.BYBIT,
        api_key_env="HEDGETOP_BYBIT_API_KEY",
        api_secret_env="HEDGETOP_BYBIT_API_SECRET",
        passphrase_env=None,
        sandbox=False,
        trading=False,
        rest_url=None,
        private_ws_url=None,
    )
    assert acct.venue is Venue.BYBIT


def test_okx_has_a_passphrase_variable_by_default() -> None:
    (acct,) = parse_config('[[accounts]]\nname = "o"\nvenue = "okx"\n').accounts
    assert acct.passphrase_env == "HEDGETOP_OKX_API_PASSPHRASE"
    assert (acct.api_key_env, acct.api_secret_env) == (
        "HEDGETOP_OKX_API_KEY",
        "HEDGETOP_OKX_API_SECRET",
    )


def test_every_account_field_is_read() -> None:
    cfg = parse_config(
        "[[accounts]]\n"
        'name = "okx-main"\n'
        'venue = "okx"\n'
        'api_key_env = "MY_OKX_KEY"\n'
        'api_secret_env = "MY_OKX_SECRET"\n'
        'passphrase_env = "MY_OKX_PASS"\n'
        "sandbox = true\n"
        "trading = true\n"
        'rest_url = "http://127.0.0.1:9100"\n'
        'private_ws_url = "ws://127.0.0.1:9101/ws/v5/private"\n'
    )
    (a,) = cfg.accounts
    assert (a.name, a.venue, a.api_key_env, a.api_secret_env, a.passphrase_env) == (
        "okx-main",
        Venue.OKX,
        "MY_OKX_KEY",
        "MY_OKX_SECRET",
        "MY_OKX_PASS",
    )
    assert a.sandbox
    assert a.trading
    assert a.rest_url == "http://127.0.0.1:9100"
    assert a.private_ws_url == "ws://127.0.0.1:9101/ws/v5/private"
    assert cfg.account("okx-main") is a


def test_holdings_and_hedges_name_their_account() -> None:
    cfg = parse_config(
        '[[accounts]]\nname = "main"\nvenue = "bybit"\n'
        '[[holdings]]\ncoin = "BTC"\namount = 1\naccount = "main"\n'
        '[[holdings]]\ncoin = "BTC"\namount = 1\nlabel = "cold"\n'
        + HEDGE.format(venue="bybit")
        + 'account = "main"\n'
    )
    assert [h.account for h in cfg.holdings] == ["main", None]
    assert cfg.hedges[0].account == "main"


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        (
            '[[holdings]]\ncoin = "BTC"\namount = 1\naccount = "nope"\n',
            "holdings[0].account",
            4,
            "no [[accounts]]",
        ),
        (
            HEDGE.format(venue="bybit") + 'account = "nope"\n',
            "hedges[0].account",
            6,
            "no [[accounts]]",
        ),
        (
            '[[accounts]]\nname = "b"\nvenue = "binance"\n'
            + HEDGE.format(venue="bybit")
            + 'account = "b"\n',
            "hedges[0].account",
            9,
            "binance account",
        ),
        (
            '[[accounts]]\nvenue = "bybit"\n[[accounts]]\nvenue = "bybit"\n',
            "accounts[1].name",
            3,
            "two [[accounts]]",
        ),
        ('[[accounts]]\nvenue = "ftx"\n', "accounts[0].venue", 2, "one of"),
        ('[[accounts]]\nname = "x"\n', "accounts[0].venue", 1, "required"),
        (
            '[[accounts]]\nvenue = "bybit"\nrest_url = "ftp://x"\n',
            "accounts[0].rest_url",
            3,
            "http",
        ),
        (
            '[[accounts]]\nvenue = "bybit"\nprivate_ws_url = "http://x"\n',
            "accounts[0].private_ws_url",
            3,
            "ws",
        ),
        (
            '[[accounts]]\nvenue = "bybit"\nsandbox = "yes"\n',
            "accounts[0].sandbox",
            3,
            "true or false",
        ),
        ('[[accounts]]\nvenue = "bybit"\ncolour = 1\n', "accounts[0].colour", 3, "unknown key"),
    ],
)
def test_account_errors_name_file_line_key(text: str, key: str, line: int, words: str) -> None:
    err = _err(text)
    assert str(err).startswith(f"my.toml:{line}: {key}")
    assert (err.key, err.line) == (key, line)
    assert words in str(err)


@pytest.mark.parametrize(
    "text",
    [
        '[[accounts]]\nvenue = "bybit"\napi_key = "Xk39fjQpL0sdd9Z1"\n',
        '[[accounts]]\nvenue = "bybit"\nsecret = "Xk39fjQpL0sdd9Z1"\n',
        '[[accounts]]\nvenue = "okx"\npassphrase = "Xk39fjQpL0sdd9Z1"\n',
        '[[accounts]]\nvenue = "bybit"\napi_key_env = "Xk39fjQpL0sdd9Z1"\n',
        '[[accounts]]\nvenue = "bybit"\napi_secret_env = "XK39FJQPL0SDD9Z1ABCD"\n',
        '[[accounts]]\nvenue = "bybit"\napi_secret_env = "has spaces Xk39fjQpL0sdd9Z1"\n',
        '[[accounts]]\nvenue = "bybit"\npassphrase_env = "Xk39fjQpL0sdd9Z1"\n',
    ],
)
def test_a_key_in_the_file_is_an_error_that_never_echoes_it(text: str) -> None:
    err = _err(text)
    assert err.line == 3
    assert "Xk39fjQpL0sdd9Z1" not in str(err)
    assert "XK39FJQPL0SDD9Z1ABCD" not in str(err)
    assert "<hidden>" in str(err)


def test_export_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = parse_config('export_dir = "exports"\n', source=tmp_path / "c.toml")
    assert cfg.export_dir == tmp_path / "exports"
    assert parse_config('export_dir = "/srv/x"\n').export_dir == Path("/srv/x")
    assert parse_config("").export_dir is None
    assert _err('export_dir = ""\n').key == "export_dir"
