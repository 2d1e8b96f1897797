"""``hedgetop calc``: JSON keys and values, the two-column table, and every bad input.

Values are checked against figures worked out by hand from DESIGN.md §5, not against the
code's own output.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calc import REQUIRED_KEYS, CalcError, CalcInput, compute
from core.instruments import BUILTIN_SPECS
from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
HEDGETOP = ROOT / ".venv" / "bin" / "hedgetop"

# Short 10,000 USD (Bybit, 1 USD contracts) at 50,000, mark 40,000, index 40,100, 1x,
# 0.2 BTC spot, funding 0.01 %. By hand:
#   margin M = 10,000/50,000 = 0.2 BTC; PnL = 10,000·(1/40,000 − 1/50,000) = 0.05 BTC
#   = 2,000 USD; equity 0.25 BTC; net delta = 0.2 + 0.2 − 0.2 = 0.2 BTC = 8,000 USD;
#   ratio = 0.2/0.4 = 0.5; spot value 0.2·40,100 = 8,020; total = 8,020 + 0.25·40,000
#   = 18,020 USD; basis −100 USD = −0.2494 %; funding = 10,000/40,000·0.0001 = 0.000025 BTC
#   received (1 USD); 1x short: no liquidation; target 1.0: hedge 0.4 BTC -> add
#   0.2·40,000 = 8,000 contracts -> 18,000. Bybit fixes the maintenance margin on the entry
#   value, 0.2·0.5 % = 0.001 BTC, so even this 1x short liquidates: where equity Q/P falls to
#   it, P = P0/mmr = 10,000,000 (more than 10x the mark).
BASE = [
    "calc", "--venue", "bybit", "--side", "short", "--contracts", "10000",
    "--entry", "50000", "--mark", "40000", "--index", "40100", "--spot", "0.2",
    "--funding-rate", "0.0001", "--target-ratio", "1",
]  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit through the parser
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_every_key_and_hand_checked_values(capsys):
    code, out, err = run(capsys, [*BASE, "--json"])
    assert (code, err) == (0, "")
    assert out.count("\n") == 1  # exactly one JSON object on one line
    r = json.loads(out)
    assert set(REQUIRED_KEYS) <= r.keys()
    assert (r["venue"], r["symbol"], r["coin"], r["side"]) == ("bybit", "BTCUSD", "BTC", "short")
    assert r["contracts"] == 10_000
    expected = {
        "size_usd": 10_000,
        "entry": 50_000,
        "mark": 40_000,
        "index": 40_100,
        "position_value_coin": 0.25,
        "pnl_coin": 0.05,
        "pnl_usd": 2_000,
        "equity_coin": 0.25,
        "spot_value_usd": 8_020,
        "net_delta_coin": 0.2,
        "net_delta_usd": 8_000,
        "hedge_ratio": 0.5,
        "total_value_usd": 18_020,
        "basis_usd": -100,
        "basis_pct": -100 / 40_100 * 100,
        # the premium is paid away by funding every 8 h: 3 intervals a day, 1,095 a year
        "basis_annual_pct": -100 / 40_100 * 100 * 1_095,
        "funding_rate": 0.0001,
        "funding_coin": 0.000025,
        "funding_usd": 1.0,
        "target_size_usd": 18_000,
        "target_contracts": 18_000,
        # Bybit BTC base rate 0.5 % on the value at entry (the old code valued it at the
        # mark, 0.25 · 0.5 %, the Binance/OKX convention: wrong for Bybit)
        "maintenance_margin_coin": 0.2 * 0.005,
        "liq_price": 50_000 / 0.005,
        "liq_distance_pct": (50_000 / 0.005 / 40_000 - 1) * 100,
    }
    for key, value in expected.items():
        assert r[key] == pytest.approx(value), key
    assert r["liq_beyond_10x"] is True
    assert r["bankruptcy_price"] is None  # the wallet backs the short at every price
    assert r["margin_model"] == "bybit_inverse_isolated"
    assert r["tier_source"] == "built-in"


def test_json_nulls_where_values_do_not_exist(capsys):
    argv = ["calc", "--venue", "okx", "--symbol", "BTC-USD-SWAP", "--side", "short",
            "--contracts", "3", "--entry", "30000", "--mark", "31000", "--leverage", "5",
            "--json"]  # fmt: skip
    code, out, _ = run(capsys, argv)
    assert code == 0
    r = json.loads(out)
    for key in ("funding_rate", "funding_coin", "funding_usd", "target_size_usd",
                "target_contracts"):  # fmt: skip
        assert r[key] is None, key
    # 5x: a liquidation price exists, above the mark, and the distance is its percentage
    assert r["liq_price"] > r["mark"]
    assert r["liq_distance_pct"] == pytest.approx((r["liq_price"] / 31_000 - 1) * 100)
    # no spot: the wallet holds Q/P0/5, so the short is five times what it protects
    assert r["hedge_ratio"] == pytest.approx(5.0)


def test_size_usd_and_venue_native_symbol(capsys):
    argv = ["calc", "--venue", "binance", "--symbol", "SOLUSD", "--side", "long",
            "--size-usd", "1000", "--entry", "100", "--mark", "110", "--margin", "2",
            "--json"]  # fmt: skip
    code, out, _ = run(capsys, argv)
    assert code == 0
    r = json.loads(out)
    assert (r["symbol"], r["coin"], r["contracts"]) == ("SOLUSD_PERP", "SOL", 100)
    # long 1,000 USD at 100 -> 110: 1000·(1/100 − 1/110) = 0.90909 SOL
    assert r["pnl_coin"] == pytest.approx(1000 * (1 / 100 - 1 / 110))
    assert r["net_delta_coin"] == pytest.approx(2 + 10)  # a long adds Q/P0 of exposure
    assert r["liq_price"] < 100


def test_table_is_two_columns_with_units(capsys):
    code, out, err = run(capsys, BASE)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) > 20
    units = re.compile(r"(USD|BTC| %|contracts|per interval| h|\dx)(\)|$| \()")
    for line in lines:
        label, _gap, value = re.split(r"(\s{2,})", line, maxsplit=1)
        assert label, line
        assert value, line
        if label in ("side", "venue / symbol", "margin model"):
            continue
        if value.startswith(("none", "n/a")):
            continue
        assert units.search(value), f"no unit in {line!r}"
    table = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in lines)
    assert table["liquidation price"] == "beyond 10x the mark (10,000,000.00 USD)"
    assert table["margin model"].startswith("Bybit isolated")
    assert table["PnL"] == "0.05000000 BTC"
    assert table["PnL (USD)"] == "2,000.00 USD"
    assert table["hedge ratio"] == "50.00 %"
    assert table["target contracts"] == "18,000 contracts"


BAD = [
    (["--venue", "kraken"], "--venue", "kraken"),
    (["--symbol", "FOOUSD"], "--symbol", "FOOUSD"),
    (["--entry", "-5"], "--entry", "-5"),
    (["--entry", "0"], "--entry", "0"),
    (["--mark", "abc"], "--mark", "abc"),
    (["--mark", "nan"], "--mark", "nan"),
    (["--contracts", "0"], "--contracts", "0"),
    (["--contracts", "1.5"], "--contracts", "1.5"),
    (["--size-usd", "100"], "--contracts", "10000"),  # conflicts with --contracts
    (["--margin", "1", "--leverage", "3"], "--leverage", "3"),
    (["--spot", "-1"], "--spot", "-1"),
    (["--mmr", "2"], "--mmr", "2"),
    (["--side", "sideways"], "--side", "sideways"),
    (["--mode", "portfolio"], "--mode", "portfolio"),
    (["--target-ratio", "-0.5"], "--target-ratio", "-0.5"),
]


def _with(overrides: list[str]) -> list[str]:
    """BASE with flags replaced or added."""
    argv = list(BASE)
    for i in range(0, len(overrides), 2):
        flag, value = overrides[i], overrides[i + 1]
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return argv


@pytest.mark.parametrize(("overrides", "flag", "value"), BAD)
def test_bad_input_is_one_line_naming_flag_and_value(capsys, overrides, flag, value):
    code, out, err = run(capsys, _with(overrides))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert flag in err
    assert value in err
    assert "Traceback" not in err


def test_missing_size_is_a_usage_error(capsys):
    argv = [a for a in BASE]
    i = argv.index("--contracts")
    del argv[i : i + 2]
    code, _, err = run(capsys, argv)
    assert code == 2
    assert "--contracts" in err
    assert "--size-usd" in err


def test_real_subprocess_json_and_error():
    done = subprocess.run(
        [str(HEDGETOP), *BASE, "--json"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hedge_ratio"] == pytest.approx(0.5)
    bad = subprocess.run(
        [str(HEDGETOP), *_with(["--entry", "-1"])],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert "--entry -1" in bad.stderr


def test_calc_imports_neither_textual_nor_ccxt():
    code = (
        "import sys, tui.commands.calc, core.calc\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('textual', 'ccxt')]\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


def test_table_warns_when_leverage_exceeds_the_bracket(capsys):
    # Binance BTCUSD: 30,000 contracts at 50,000 = 60 BTC, bracket 50-100 BTC allows 10x.
    argv = ["calc", "--venue", "binance", "--side", "short", "--contracts", "30000",
            "--entry", "50000", "--mark", "50000", "--leverage", "25"]  # fmt: skip
    code, out, _ = run(capsys, argv)
    assert code == 0
    (line,) = [x for x in out.splitlines() if x.startswith("leverage")]
    assert "25.00x" in line
    assert "above the 10x" in line
    code, out, _ = run(capsys, [*argv[:-1], "8", "--json"])
    r = json.loads(out)
    assert (r["leverage"], r["max_leverage"]) == (8.0, 10)


_pos = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    spec=st.sampled_from(BUILTIN_SPECS),
    side=st.sampled_from(["short", "long"]),
    contracts=st.integers(min_value=1, max_value=10**6),
    entry=_pos,
    mark=_pos,
    spot=st.floats(min_value=0, max_value=1e5),
    leverage=st.floats(min_value=0.5, max_value=100),
    rate=st.floats(min_value=-0.01, max_value=0.01),
    target=st.floats(min_value=0, max_value=2),
)
def test_every_valid_input_gives_finite_json(  # noqa: PLR0917
    spec, side, contracts, entry, mark, spot, leverage, rate, target
):
    inp = CalcInput(
        venue=spec.venue,
        symbol=spec.symbol,
        side=side,
        contracts=contracts,
        entry=entry,
        mark=mark,
        spot=spot,
        leverage=leverage,
        funding_rate=rate,
        target_ratio=target if side == "short" else None,
    )
    try:
        report = compute(inp)
    except CalcError as exc:
        refused = exc
    else:
        refused = None
    if refused is not None:
        # the one valid-looking input refused: a margin already under maintenance at the mark
        assert "under maintenance" in str(refused)
        assert refused.flag == "--leverage"
        return
    text = json.dumps(report, allow_nan=False)  # raises on NaN/inf
    assert set(REQUIRED_KEYS) <= json.loads(text).keys()
    if report["liq_price"] is not None:
        assert report["liq_price"] > 0
