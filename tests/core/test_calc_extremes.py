"""``hedgetop calc``: extreme and hostile input is one line naming the flag and exit 2 (never a
traceback, never NaN or Infinity in ``--json``); the new report keys; the funding interval; a
proxy hedge; a leverage already under maintenance.

The property test drives the real CLI entry point (``tui.cli.main``) in-process with floats
drawn from the whole float range (subnormals, 1e308, inf, nan, negative zero): any exception
escaping it fails the test, as a traceback would.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.instruments import lookup
from core.inverse import MS_PER_YEAR
from core.sizing import proxy_hedge
from tui.cli import main

BASE = [
    "calc", "--venue", "binance", "--side", "short", "--contracts", "50",
    "--entry", "50000", "--mark", "51000", "--spot", "0.1", "--json",
]  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit through the parser
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _with(overrides: dict[str, str], base: list[str] = BASE) -> list[str]:
    argv = list(base)
    for flag, value in overrides.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return argv


def _no_constants(name: str) -> float:
    raise AssertionError(f"{name} is not JSON")


def _strict_json(text: str) -> dict[str, object]:
    return json.loads(text, parse_constant=_no_constants)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        # issue 8 item 5: each of these crashed or printed non-JSON floats
        ({"--size-usd": "1e-320"}, "--size-usd"),
        ({"--leverage": "1e-320"}, "--leverage"),
        ({"--margin": "5e-324"}, "--margin"),
        ({"--size-usd": "9.7e260"}, "--size-usd"),
        ({"--entry": "1e-320"}, "--entry"),
        ({"--mark": "1e308"}, "--mark"),
        ({"--spot": "1e300"}, "--spot"),
        ({"--mmr": "1e-300"}, "--mmr"),
        ({"--mm-amount": "inf"}, "--mm-amount"),
        ({"--index": "-0.0"}, "--index"),
        ({"--funding-rate": "nan"}, "--funding-rate"),
        ({"--contracts": "99999999999999999999"}, "--contracts"),
    ],
)
def test_extreme_input_is_one_line_naming_the_flag(capsys, overrides, flag):
    argv = _with(overrides)
    if "--size-usd" in overrides:
        i = argv.index("--contracts")
        del argv[i : i + 2]
    code, out, err = run(capsys, argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert flag in err
    assert len(err) < 400  # a 261-digit integer is not a message
    assert "Traceback" not in err


def test_leverage_under_maintenance_is_refused(capsys):
    # Binance BTC tier 1 is 0.4 %: at 500x the 0.2 % margin is already below it
    code, out, err = run(capsys, _with({"--leverage": "500"}))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "--leverage 500" in err
    assert "under maintenance" in err


def test_margin_under_maintenance_names_the_margin_flag(capsys):
    code, _, err = run(capsys, _with({"--margin": "0.0001"}))
    assert code == 2
    assert "--margin 0.0001" in err


def test_report_has_bankruptcy_price_and_margin_model_for_every_venue(capsys):
    for venue, model in (
        ("bybit", "bybit_inverse_"),
        ("binance", "binance_coinm_"),
        ("okx", "okx_coin_margined_"),
    ):
        for mode in ("isolated", "cross"):
            argv = _with({"--venue": venue, "--mode": mode, "--leverage": "5"})
            code, out, err = run(capsys, argv)
            assert code == 0, err
            r = _strict_json(out)
            assert r["margin_model"] == model + mode
            bp, liq = r["bankruptcy_price"], r["liq_price"]
            assert isinstance(bp, float)
            assert isinstance(liq, float)
            assert 50_000 < liq < bp  # a 5x short: liquidated before it goes bankrupt
    code, out, _ = run(capsys, _with({"--venue": "deribit", "--leverage": "5"}))
    assert _strict_json(out)["margin_model"] == "deribit_inverse"


def test_one_x_short_is_null_where_no_price_liquidates(capsys):
    for venue in ("binance", "okx", "deribit"):
        code, out, _ = run(capsys, _with({"--venue": venue, "--leverage": "1"}))
        assert code == 0
        r = _strict_json(out)
        assert r["liq_price"] is None
        assert r["liq_beyond_10x"] is False


def test_funding_interval_annualises_apr_and_basis(capsys):
    argv = _with({"--funding-rate": "0.0001", "--index": "50900", "--funding-interval": "1h"})
    code, out, _ = run(capsys, argv)
    assert code == 0
    r = _strict_json(out)
    assert r["funding_interval_ms"] == 3_600_000
    assert r["funding_apr_pct"] == pytest.approx(0.0001 * 24 * 365 * 100)
    assert r["basis_annual_pct"] == pytest.approx(100 / 50_900 * 100 * 24 * 365)
    # default: the instrument's (8 h)
    code, out, _ = run(capsys, _with({"--funding-rate": "0.0001"}))
    r = _strict_json(out)
    assert r["funding_interval_ms"] == 8 * 3_600_000
    assert r["funding_apr_pct"] == pytest.approx(0.0001 * MS_PER_YEAR / (8 * 3_600_000) * 100)
    code, _, err = run(capsys, _with({"--funding-interval": "3h"}))
    assert code == 2
    assert "--funding-interval" in err


def test_proxy_hedge_in_calc_uses_the_one_convention(capsys):
    # 100 SOL at 150 hedged with 0.3 BTC of Binance BTCUSD short (entry 90,000, mark 90,000),
    # beta 1.5: offsets 0.3·90,000/(1.5·150) = 120 SOL; the BTC margin is BTC exposure.
    argv = [
        "calc", "--venue", "binance", "--side", "short", "--contracts", "270", "--entry",
        "90000", "--mark", "90000", "--spot", "100", "--hedges", "SOL", "--beta", "1.5",
        "--holding-price", "150", "--leverage", "3", "--target-ratio", "1", "--json",
    ]  # fmt: skip
    code, out, err = run(capsys, argv)
    assert code == 0, err
    r = _strict_json(out)
    assert r["hedges_coin"] == "SOL"
    assert r["hedge_ratio"] == pytest.approx(1.2)
    assert r["net_delta_coin"] == pytest.approx(-20.0)  # over-hedged by 20 SOL
    assert r["margin_counted_in"] == "BTC"
    assert r["contract_coin_exposure_coin"] == pytest.approx(0.1)
    ref = proxy_hedge(
        lookup("binance", "BTCUSD"),
        holding_coin=100, holding_price=150, beta=1.5, proxy_price=90_000, target_ratio=1,
        current_size_usd=27_000, current_entry=90_000,
    )  # fmt: skip
    assert r["target_contracts"] == ref.contracts == 225  # 22,500 USD offsets 100 SOL
    code, _, err = run(capsys, [a for a in argv if a not in {"--holding-price", "150"}])
    assert code == 2
    assert "--holding-price" in err


# --- the property: no input gives a traceback, NaN or Infinity -----------------------------

FLOAT_FLAGS = (
    "--size-usd", "--entry", "--mark", "--index", "--spot", "--margin", "--leverage",
    "--mmr", "--mm-amount", "--funding-rate", "--target-ratio", "--beta", "--holding-price",
)  # fmt: skip

extreme_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-300, max_value=1e-300),
    st.sampled_from([5e-324, 1e-320, 9.7e260, 1.7976931348623157e308, -0.0, 1e-8, 1e9, 1e12]),
)


def _arg(x: float) -> str:
    return repr(x) if math.isfinite(x) else str(x)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    venue=st.sampled_from(["bybit", "binance", "okx", "deribit"]),
    side=st.sampled_from(["short", "long"]),
    mode=st.sampled_from(["isolated", "cross"]),
    values=st.dictionaries(st.sampled_from(FLOAT_FLAGS), extreme_floats, min_size=1, max_size=4),
    contracts=st.one_of(st.none(), st.integers(min_value=-(10**25), max_value=10**25)),
    hedges=st.sampled_from([None, "SOL", "BTC"]),
    interval=st.sampled_from([None, "1h", "8h"]),
)
def test_no_input_gives_a_traceback_or_a_non_json_number(  # noqa: PLR0917
    capsys, venue, side, mode, values, contracts, hedges, interval
):
    argv = ["calc", "--venue", venue, "--side", side, "--mode", mode, "--json"]
    argv += ["--entry", "50000", "--mark", "51000"]
    if contracts is not None:
        argv += ["--contracts", str(contracts)]
    elif "--size-usd" not in values:
        argv += ["--contracts", "100"]
    if hedges is not None:
        argv += ["--hedges", hedges]
    if interval is not None:
        argv += ["--funding-interval", interval]
    argv = _with({flag: _arg(x) for flag, x in values.items()}, argv)
    code, out, err = run(capsys, argv)  # an uncaught exception fails here, as a traceback
    assert code in (0, 2), (code, err)
    if code == 0:
        assert err == ""
        report = _strict_json(out)
        assert isinstance(report["size_usd"], float)
    else:
        assert out == ""
        assert err.count("\n") == 1, err
        assert "--" in err or "argument" in err  # names the flag
        assert len(err) < 600


def test_target_ratio_is_capped_as_the_config_caps_it(capsys: pytest.CaptureFixture[str]) -> None:
    """`calc --target-ratio 10` was accepted while `[targets] ratio` stops at 3 (issue 13)."""
    args = ["calc", "--venue", "bybit", "--symbol", "BTCUSD", "--side", "short"]
    args += ["--size-usd", "10000", "--entry", "90000", "--mark", "90000", "--spot", "1"]
    assert main([*args, "--json", "--target-ratio", "10"]) == 2
    err = capsys.readouterr().err
    assert "--target-ratio" in err
    assert "from 0 to 3" in err
    assert main([*args, "--json", "--target-ratio", "3"]) == 0
