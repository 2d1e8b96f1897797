"""``hedgetop calc`` and ``hedgetop stress`` ``--json`` for a dated future (issue 14 §5):
``expiry_ms``, ``days_to_expiry`` and ``basis_locked_apr_pct`` (null for a perpetual), the
perpetual's funding beside it; an expired symbol is one line naming the flag, exit 2.

Worked example: BTCUSD_261225 at 91,050 against 90,000, on 2026-12-04 08:00 UTC (21 days
before it settles): (91,050/90,000 − 1) · 100 · 365/21 = 20.2778 % a year."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main

DEC25 = 1_798_185_600_000
BASE = [
    "calc", "--venue", "binance", "--side", "short", "--contracts", "900", "--entry", "90000",
    "--mark", "91050", "--index", "90000", "--funding-rate", "0.0001",
]  # fmt: skip


def calc(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    assert main([*BASE, "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_calc_json_of_a_dated_future(capsys: pytest.CaptureFixture[str]) -> None:
    r = calc(capsys, "--symbol", "BTCUSD_261225", "--now", "2026-12-04T08:00")
    assert r["symbol"] == "BTCUSD_261225"
    assert r["expiry_ms"] == DEC25
    assert r["days_to_expiry"] == 21.0
    assert r["basis_locked_apr_pct"] == pytest.approx(20.277_777_8, rel=1e-8)
    assert r["basis_annual_pct"] == r["basis_locked_apr_pct"]
    # no funding of its own; --funding-rate is the perpetual's, beside the basis locked
    assert (r["funding_rate"], r["funding_coin"], r["funding_interval_ms"]) == (None, 0.0, None)
    assert r["perp_funding_rate"] == 0.0001
    assert r["perp_funding_apr_pct"] == pytest.approx(10.95)
    # the same time in milliseconds, and another venue's spelling
    same = calc(capsys, "--symbol", "BTC/USD:BTC-261225", "--now", str(DEC25 - 21 * 86_400_000))
    assert same["basis_locked_apr_pct"] == r["basis_locked_apr_pct"]


def test_calc_json_of_a_perpetual_has_the_keys_null(capsys: pytest.CaptureFixture[str]) -> None:
    r = calc(capsys, "--symbol", "BTCUSD_PERP")
    for key in ("expiry_ms", "days_to_expiry", "basis_locked_apr_pct", "perp_funding_apr_pct"):
        assert key in r
        assert r[key] is None
    assert r["funding_rate"] == 0.0001


def test_calc_text_of_a_dated_future(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--symbol", "BTC-25DEC26", "--venue", "deribit", "--now", "2026-12-04T08:00Z"]
    assert main([*BASE, *argv]) == 0
    out = capsys.readouterr().out
    assert "2026-12-25 08:00 UTC, 21.00 days left" in out
    assert "+20.2778 %" in out
    assert "none (a dated future)" in out
    assert "funding interval" not in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--symbol", "BTCUSD_261225", "--now", "2026-12-25T08:00"], "expired on 2026-12-25"),
        (["--symbol", "BTCUSD_261399"], "not a date"),
        (["--symbol", "BTCUSD_261225", "--now", "yesterday"], "--now 'yesterday': not a time"),
    ],
)
def test_expired_or_bad_is_one_line_exit_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*BASE, "--json", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert err.count("\n") == 0
    assert "Traceback" not in err


def test_stress_json_carries_the_dated_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[holdings]]\ncoin = "BTC"\namount = 2\n'
        '[[hedges]]\nid = "q"\nvenue = "binance"\nsymbol = "BTCUSD_991225"\n'
        "contracts = 900\nentry = 90000\n"
        '[[hedges]]\nid = "p"\nvenue = "bybit"\nsymbol = "BTCUSD"\n'
        "contracts = 90000\nentry = 90000\n"
    )
    assert main(["--config", str(cfg), "stress", "--price", "BTC=90000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    q, p = out["hedges"]["q"], out["hedges"]["p"]
    expiry = 4_101_868_800_000  # 2099-12-25 08:00 UTC
    assert q["symbol"] == "BTCUSD_991225"
    assert q["expiry_ms"] == expiry
    assert q["days_to_expiry"] == pytest.approx((expiry - out["ts_ms"]) / 86_400_000)
    assert q["basis_locked_apr_pct"] == 0.0  # offline: mark = index
    assert (p["expiry_ms"], p["days_to_expiry"], p["basis_locked_apr_pct"]) == (None, None, None)
    # the dated hedge pays no funding: the forecast total stays known
    f = out["funding_forecast"]["hedges"]["q"]
    assert all(x["usd"] == 0.0 for x in f["projections"])


def test_stress_text_says_a_dated_hedge_pays_no_funding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[holdings]]\ncoin = "BTC"\namount = 2\n'
        '[[hedges]]\nid = "q"\nvenue = "binance"\nsymbol = "BTCUSD_991225"\n'
        "contracts = 900\nentry = 90000\n"
        '[[hedges]]\nid = "p"\nvenue = "bybit"\nsymbol = "BTCUSD"\n'
        "contracts = 90000\nentry = 90000\n"
    )
    assert main(["--config", str(cfg), "stress", "--price", "BTC=90000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stress grid: portfolio,")  # a config of one's own is no demo
    forecast = out[out.index("funding forecast") :]
    rows = {line.split()[0] for line in forecast.splitlines()[2:] if line.strip()}
    assert "p" in rows  # the perpetual has its row of figures
    assert "q: a dated future pays no funding; it settles 2099-12-25 08:00 UTC" in forecast
    assert "its basis locks ±0.0% a year" in forecast  # offline: mark = index
