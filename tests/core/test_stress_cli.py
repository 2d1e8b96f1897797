"""``hedgetop stress`` offline (``--price``): the JSON grid is the engine's snapshot at move 0,
the first liquidation is the one the venue's model puts nearest, bad input is one line with
exit code 2. (The feed path is the live session's; it is exercised against the simulator in
tests/tui.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.demo import demo_config
from core.offline import snapshot_at_prices
from tui.cli import main

PRICES = ["--price", "BTC=100000", "--price", "SOL=150", "--price", "ADA=0.6", "--price", "XRP=2"]


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    assert main(["stress", *PRICES, "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_json_grid_at_move_zero_is_the_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys)
    snap = snapshot_at_prices(
        demo_config(), {"BTC": 100_000.0, "SOL": 150.0, "ADA": 0.6, "XRP": 2.0}, data["ts_ms"]
    )
    zero = next(r for r in data["rows"] if r["move_pct"] == 0)
    assert zero["value_usd"] == pytest.approx(snap.total_value_usd, rel=1e-12)
    assert zero["unhedged_value_usd"] == pytest.approx(snap.unhedged_value_usd, rel=1e-12)
    assert [r["move_pct"] for r in data["rows"]][:3] == [-50, -30, -20]
    assert data["multipliers"]["SOL"] == 1.5
    # the 3x ADA short on Binance (entry at the simulator's start price, well below 0.6) is
    # the nearest liquidation, on a rise; nothing liquidates on a fall (all are shorts)
    first = data["first_liquidation"]
    assert first["hedge_id"] == "ada-binance"
    assert first["move_pct"] > 0
    assert first["equity_coin"] == pytest.approx(first["maintenance_coin"], rel=1e-9)
    assert data["first_liquidation_down"] is None
    row5 = next(r for r in data["rows"] if r["move_pct"] == 5)
    assert "ada-binance" in row5["liquidated"]
    # funding is unknown offline: said so, never zero
    assert data["funding_forecast"]["total"]["current_30d_usd"] is None


def test_custom_moves_and_a_row_per_coin(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "--moves=-10,0,10", "--coin-move", "SOL=-30", "--coin-move", "BTC=-20")
    assert [r["label"] for r in data["rows"]] == ["-10 %", "+0 %", "+10 %", "SOL -30 % BTC -20 %"]
    custom = data["rows"][-1]
    assert custom["holdings"]["SOL"]["price_usd"] == pytest.approx(105.0)
    assert custom["holdings"]["BTC"]["price_usd"] == pytest.approx(80_000.0)
    assert custom["holdings"]["ADA"]["price_usd"] == pytest.approx(0.6)


def test_text_names_units_and_the_first_liquidation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stress", *PRICES, "--moves=0,10"]) == 0
    out = capsys.readouterr().out
    assert "hedge ada-binance (binance ADAUSD_PERP, isolated)" in out
    assert "on a rise: ada-binance (binance ADAUSD_PERP) at +2.37 %" in out
    assert "USD" in out
    assert "LIQUIDATED" in out


def test_a_missing_price_is_unknown_not_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stress", "--price", "BTC=100000", "--json"]) == 0
    captured = capsys.readouterr()
    assert "no --price for SOL, ADA, XRP" in captured.err
    data = json.loads(captured.out)
    zero = next(r for r in data["rows"] if r["move_pct"] == 0)
    assert zero["value_usd"] is None
    assert zero["holdings"]["BTC"]["value_usd"] is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--moves=1,x"], "--moves '1,x': 'x' is not a percentage"),
        (["--price", "DOGE=1"], "--price DOGE: not a coin of the portfolio"),
        (["--price", "BTC=-1"], "--price 'BTC=-1': must be a positive number"),
        (["--price", "BTC"], "--price 'BTC': expected COIN=NUMBER"),
        (["--price", "BTC=nan"], "--price 'BTC=nan': must be a positive number"),
        (["--price", "BTC=1", "--coin-move", "BTC=-150"], "cannot be below -100"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stress", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_a_bad_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[[holdings]]\ncoin = 3\n")
    assert main(["--config", str(cfg), "stress", "--price", "BTC=1"]) == 2
    assert "config error" in capsys.readouterr().err


def test_calc_compare_linear_adds_linear_keys(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["calc", "--venue", "binance", "--side", "short", "--contracts", "1000",
            "--entry", "50000", "--mark", "50000", "--leverage", "1"]  # fmt: skip
    assert main([*base, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert not [k for k in plain if k.startswith("linear_")]
    assert main([*base, "--compare-linear", "--day-open", "49000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # 100,000 USD face = 2 BTC at 50,000: the linear twin shorts 2 BTC with 100,000 USDT
    assert data["linear_qty_coin"] == 2.0
    assert data["linear_margin_usdt"] == 100_000.0
    assert data["linear_margin_currency"] == "USDT"
    assert data["linear_stablecoin_needed_usdt"] == 100_000.0
    assert data["linear_liq_price"] == pytest.approx(100_000.0 / 1.005)
    assert data["liq_price"] is None  # the 1x inverse short on Binance: no liquidation
    assert data["linear_today_pnl_usd"] == pytest.approx(-2_000.0)
    assert {k: plain[k] for k in plain} == {k: data[k] for k in plain}  # nothing else changed
    assert main([*base, "--compare-linear"]) == 0
    assert "margin (linear)" in capsys.readouterr().out
    assert main([*base, "--day-open", "49000"]) == 2
    assert "goes with --compare-linear" in capsys.readouterr().err
