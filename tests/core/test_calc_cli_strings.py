"""Issue 8 item 5, the property from the shell's side: ``calc`` given any spelling a user or a
script can type for an extreme number (``nan``, ``-Infinity``, ``1e999``, subnormals, huge,
negative, hex, blanks), with ``--compare-linear`` and ``--day-open`` too, never prints a
traceback, exits 0 or 2, and on 0 prints strict JSON (no NaN, no Infinity)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.cli import main

FLAGS = (
    "--size-usd", "--entry", "--mark", "--index", "--spot", "--margin", "--leverage",
    "--mmr", "--mm-amount", "--funding-rate", "--target-ratio", "--beta", "--holding-price",
    "--day-open",
)  # fmt: skip

SPELLINGS = st.one_of(
    st.sampled_from(
        [
            "nan",
            "NaN",
            "-nan",
            "inf",
            "-inf",
            "Infinity",
            "-Infinity",
            "+inf",
            "1e999",
            "-1e999",
            "5e-324",
            "-5e-324",
            "1e-320",
            "9.7e260",
            "1.7976931348623157e308",
            "-0",
            "-0.0",
            "0",
            "1e-8",
            "1e9",
            "1e12",
            "1e15",
            "0x10",
            " 1",
            "1_000",
            "",
        ]
    ),
    st.floats().map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


def _no_constants(name: str) -> float:
    raise AssertionError(f"{name} is not JSON")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    venue=st.sampled_from(["bybit", "binance", "okx", "deribit"]),
    side=st.sampled_from(["short", "long"]),
    values=st.dictionaries(st.sampled_from(FLAGS), SPELLINGS, min_size=1, max_size=5),
    contracts=st.one_of(st.none(), SPELLINGS),
    linear=st.booleans(),
)
def test_no_spelling_of_a_number_gives_a_traceback(  # noqa: PLR0917
    capsys: pytest.CaptureFixture[str], venue, side, values, contracts, linear
) -> None:
    argv = ["calc", "--venue", venue, "--side", side, "--json"]
    argv += ["--entry", values.pop("--entry", "50000"), "--mark", values.pop("--mark", "51000")]
    if contracts is not None:
        argv.append(f"--contracts={contracts}")
    elif "--size-usd" not in values:
        argv += ["--contracts", "100"]
    for flag, text in values.items():
        argv.append(f"{flag}={text}")  # "=": a value starting with "-" stays a value
    if linear:
        argv.append("--compare-linear")
    try:
        code = main(argv)  # any exception escaping fails the test, as a traceback would
    except SystemExit as exc:  # argparse refuses a non-number through the parser
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err
    if code == 0:
        assert err == ""
        report = json.loads(out, parse_constant=_no_constants)
        assert isinstance(report["size_usd"], float)
    else:
        assert out == ""
        assert err.count("\n") == 1, err
        assert len(err) < 600


def test_a_linear_twin_without_margin_has_no_leverage(capsys: pytest.CaptureFixture[str]) -> None:
    """No margin: the leverage is unbounded, which JSON cannot say; ``null``, never a crash
    (the case hypothesis found: ``--margin 0 --compare-linear``)."""
    argv = ["calc", "--venue", "bybit", "--side", "short", "--json", "--entry", "50000"]
    argv += ["--mark", "1.0", "--contracts", "100", "--margin=0.0", "--compare-linear"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=_no_constants)
    assert out["linear_leverage"] is None
    assert out["linear_margin_usdt"] == 0.0
