"""Instrument status and delisting (issue 12 §2): each venue's word read from its markets
(entries shaped as the recorded answers in ../shared/fixtures/rest, the status fields changed as
the venues document them), shown on the row and raised as a ``delist`` alert with the date."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.alerts import AlertEngine
from core.config import AlertConfig
from core.events import AlertState, InstrumentStatus
from core.instruments import lookup, status_mark
from core.markets import (
    BINANCE_NO_DELIVERY_MS,
    DERIBIT_NO_EXPIRY_MS,
    cache_file,
    fetch_specs,
    market_status,
    read_cache,
    write_cache,
)
from core.snapshot import HedgeSnapshot, PortfolioSnapshot
from tui.widgets.rows import build_rows, hedge_label

REST = Path(os.environ.get("HEDGETOP_SHARED", Path(__file__).resolve().parents[3] / "shared"))
REST = REST / "fixtures" / "rest"
DAY = 86_400_000
NOW = 1_796_371_200_000  # 2026-12-04 08:00 UTC
DEC20 = 1_797_753_600_000  # 2026-12-20 08:00 UTC: 16 days later
S = InstrumentStatus


def rest(name: str) -> Any:
    return json.loads((REST / name).read_text())


def _entry(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return copy.deepcopy(next(e for e in rows if e[key] == value))


_BINANCE = rest("binance-coinm-exchangeinfo.json")["symbols"]
BINANCE = _entry(_BINANCE, "symbol", "BTCUSD_PERP")
BINANCE_Q = copy.deepcopy(next(e for e in _BINANCE if e["contractType"] != "PERPETUAL"))
OKX = _entry(rest("okx-instruments-swap.json")["data"], "instId", "BTC-USD-SWAP")
DERIBIT = _entry(
    rest("deribit-get-instruments-btc.json")["result"], "instrument_name", "BTC-PERPETUAL"
)
_LINEAR = _entry(rest("bybit-linear-instruments-info.json")["result"]["list"], "symbol", "WIFUSDT")


def _bybit_inverse(**changes: str) -> dict[str, Any]:
    """WIF's recorded linear entry as the inverse WIFUSD (the fixtures README: contractType,
    quoteCoin USD, settleCoin the coin), with ``changes``."""
    e = copy.deepcopy(_LINEAR)
    e.update(symbol="WIFUSD", contractType="InversePerpetual", quoteCoin="USD", settleCoin="WIF")
    e["lotSizeFilter"] = {"maxOrderQty": "1000000", "minOrderQty": "1", "qtyStep": "1"}
    e.update(changes)
    return e


def _with(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(entry), **changes}


CASES: list[tuple[str, str, dict[str, Any], bool, InstrumentStatus, int | None]] = [
    # Bybit v5 instruments-info: status, and deliveryTime on a perpetual = its delisting
    ("bybit trading", "bybit", _bybit_inverse(), True, S.TRADING, None),
    ("bybit delisting", "bybit", _bybit_inverse(deliveryTime=str(DEC20)), True, S.DELISTING, DEC20),
    ("bybit delivering", "bybit", _bybit_inverse(status="Delivering"), True, S.SETTLING, None),
    ("bybit closed", "bybit", _bybit_inverse(status="Closed"), True, S.CLOSED, None),
    ("bybit prelaunch", "bybit", _bybit_inverse(status="PreLaunch"), True, S.PRE_LAUNCH, None),
    ("bybit unknown word", "bybit", _bybit_inverse(status="Frozen"), True, S.UNKNOWN, None),
    # Binance COIN-M exchangeInfo: contractStatus, deliveryDate 4133404800000 = none
    ("binance trading", "binance", BINANCE, True, S.TRADING, None),
    (
        "binance delisting",
        "binance",
        _with(BINANCE, deliveryDate=DEC20),
        True,
        S.DELISTING,
        DEC20,
    ),
    (
        "binance settling",
        "binance",
        _with(BINANCE, contractStatus="SETTLING"),
        True,
        S.SETTLING,
        None,
    ),
    ("binance close", "binance", _with(BINANCE, contractStatus="CLOSE"), True, S.CLOSED, None),
    (
        "binance pending",
        "binance",
        _with(BINANCE, contractStatus="PENDING_TRADING"),
        True,
        S.PRE_LAUNCH,
        None,
    ),
    ("binance quarterly: expiry, not a delisting", "binance", BINANCE_Q, False, S.TRADING, None),
    # OKX instruments: state, and expTime on a swap = its delisting
    ("okx live", "okx", OKX, True, S.TRADING, None),
    ("okx delisting", "okx", _with(OKX, expTime=str(DEC20)), True, S.DELISTING, DEC20),
    ("okx suspend", "okx", _with(OKX, state="suspend"), True, S.SUSPENDED, None),
    ("okx preopen", "okx", _with(OKX, state="preopen"), True, S.PRE_LAUNCH, None),
    # Deribit get_instruments: is_active (no state in the 2021 record), the year-3000 expiry
    ("deribit active", "deribit", DERIBIT, True, S.TRADING, None),
    ("deribit inactive", "deribit", _with(DERIBIT, is_active=False), True, S.SUSPENDED, None),
    (
        "deribit delisting",
        "deribit",
        _with(DERIBIT, expiration_timestamp=DEC20),
        True,
        S.DELISTING,
        DEC20,
    ),
    ("deribit delivered", "deribit", _with(DERIBIT, state="delivered"), True, S.CLOSED, None),
]


@pytest.mark.parametrize(
    ("venue", "info", "swap", "status", "delist"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_market_status_per_venue(
    venue: str, info: dict[str, Any], swap: bool, status: InstrumentStatus, delist: int | None
) -> None:
    assert market_status(venue, {"swap": swap, "info": info, "active": True}) == (status, delist)


def test_the_recorded_perpetuals_carry_the_documented_never_dates() -> None:
    assert BINANCE["deliveryDate"] == BINANCE_NO_DELIVERY_MS
    assert DERIBIT["expiration_timestamp"] == DERIBIT_NO_EXPIRY_MS
    assert OKX["expTime"] == ""


def test_without_the_venues_field_ccxt_active_decides_and_else_unknown() -> None:
    assert market_status("okx", {"swap": True, "info": {}, "active": False}) == (S.SUSPENDED, None)
    assert market_status("okx", {"swap": True, "info": {}}) == (S.UNKNOWN, None)


def test_specs_through_ccxt_carry_the_status_and_survive_the_cache(tmp_path: Path) -> None:
    body = rest("binance-coinm-exchangeinfo.json")
    for e in body["symbols"]:
        if e["symbol"] == "DOGEUSD_PERP":
            e["deliveryDate"] = DEC20
        if e["symbol"] == "XLMUSD_PERP":
            e["contractStatus"] = "SETTLING"
    specs = {s.symbol: s for s in fetch_specs("binance", transport=lambda url: body)}
    assert (specs["DOGEUSD_PERP"].status, specs["DOGEUSD_PERP"].delist_ms) == (S.DELISTING, DEC20)
    assert specs["XLMUSD_PERP"].status is S.SETTLING
    assert specs["BTCUSD_PERP"].status is S.TRADING
    assert specs["BTCUSD_PERP"].delist_ms is None
    path = cache_file(tmp_path, "binance")
    write_cache(path, specs.values(), NOW)
    cached = read_cache(path)
    assert cached is not None
    again = {s.symbol: s for s in cached[1]}
    assert (again["DOGEUSD_PERP"].status, again["DOGEUSD_PERP"].delist_ms) == (S.DELISTING, DEC20)


def test_the_builtin_table_does_not_know() -> None:
    assert lookup("bybit", "BTCUSD").status is S.UNKNOWN
    assert status_mark(S.UNKNOWN, None, NOW) == ""


@pytest.mark.parametrize(
    ("status", "delist", "mark"),
    [
        (S.TRADING, None, ""),
        (S.DELISTING, DEC20, "delist 16d"),
        (S.DELISTING, NOW + DAY // 2, "delist <1d"),
        (S.DELISTING, NOW - 1, "delisted"),
        (S.REDUCE_ONLY, None, "reduce-only"),
        (S.SETTLING, None, "settling"),
        (S.CLOSED, DEC20, "closed"),
    ],
)
def test_status_mark(status: InstrumentStatus, delist: int | None, mark: str) -> None:
    assert status_mark(status, delist, NOW) == mark


def _hedge(status: InstrumentStatus, delist: int | None, contracts: int = 5_000) -> HedgeSnapshot:
    values: dict[str, Any] = {f: None for f in HedgeSnapshot.__dataclass_fields__}
    values.update(
        hedge_id="h1",
        venue="bybit",
        symbol="WIFUSD",
        coin="WIF",
        hedged_coin="WIF",
        beta=1.0,
        side="short",
        contracts=contracts,
        size_usd=float(contracts),
        margin_coin=1_000.0,
        margin_mode="isolated",
        realized_pnl_coin=0.0,
        funding_accrued_coin=0.0,
        stale=False,
        liq_beyond_10x=False,
        tier_source="",
        tier_estimate=False,
        instrument_status=status,
        delist_ms=delist,
    )
    return HedgeSnapshot(**values)


def _snap(h: HedgeSnapshot, ts: int = NOW) -> PortfolioSnapshot:
    from core.snapshot import HoldingSnapshot

    holding = HoldingSnapshot(
        "WIF", "WIF", 5_000.0, None, None, ("h1",), 0.0, None, None, None, None, None, None, None,
        None, False,
    )  # fmt: skip
    return PortfolioSnapshot(ts, ts, (holding,), (h,), None, None, None, None, None)


def test_a_delisting_hedge_raises_an_alert_with_the_date_and_clears_when_trading() -> None:
    alerts = AlertEngine(AlertConfig())
    raised = [e for e in alerts.evaluate(_snap(_hedge(S.DELISTING, DEC20))) if e.rule == "delist"]
    assert len(raised) == 1
    assert raised[0].state is AlertState.RAISED
    assert raised[0].message == (
        "h1: Bybit WIFUSD delists 2026-12-20 08:00 UTC (16 d): what remains is closed at the"
        " average index price"
    )
    # an unknown status (say the cache went away) changes nothing
    assert [e for e in alerts.evaluate(_snap(_hedge(S.UNKNOWN, None))) if e.rule == "delist"] == []
    cleared = [e for e in alerts.evaluate(_snap(_hedge(S.TRADING, None))) if e.rule == "delist"]
    assert [e.state for e in cleared] == [AlertState.CLEARED]


@pytest.mark.parametrize(
    ("status", "words"),
    [(S.REDUCE_ONLY, "is reduce-only"), (S.SETTLING, "settled"), (S.CLOSED, "is closed")],
)
def test_reduce_only_settling_and_closed_raise_too(status: InstrumentStatus, words: str) -> None:
    alerts = AlertEngine(AlertConfig())
    (ev,) = [e for e in alerts.evaluate(_snap(_hedge(status, None))) if e.rule == "delist"]
    assert words in ev.message


def test_a_flat_or_trading_hedge_raises_nothing() -> None:
    alerts = AlertEngine(AlertConfig())
    for h in (_hedge(S.DELISTING, DEC20, contracts=0), _hedge(S.TRADING, None)):
        assert [e for e in alerts.evaluate(_snap(h)) if e.rule == "delist"] == []


def test_the_row_says_delist_with_the_days_left() -> None:
    (row,) = build_rows(_snap(_hedge(S.DELISTING, DEC20)))
    assert row.cells["hedge"] == ("WIFUSD delist 16d", "warn")
    assert hedge_label(_hedge(S.REDUCE_ONLY, None), NOW) == "WIFUSD reduce-only"
    assert hedge_label(_hedge(S.TRADING, None), NOW) == "bybit WIFUSD"
    assert hedge_label(_hedge(S.UNKNOWN, None), NOW) == "bybit WIFUSD"
    dated = replace(_hedge(S.DELISTING, DEC20), symbol="WIFUSDZ26", expiry_ms=DEC20 + DAY)
    assert hedge_label(dated, NOW) == "WIFUSDZ26 delist 16d"


ENGINE_CONFIG = """
[[holdings]]
coin = "ETH"
amount = 10.0
[[hedges]]
id = "p"
venue = "bybit"
symbol = "ETHUSD"
contracts = 30000
entry = 3000
[[hedges]]
id = "q"
venue = "bybit"
symbol = "ETHUSDZ26"
contracts = 3000
entry = 3000
"""


def test_the_engine_carries_the_markets_status_to_the_snapshot_and_an_alert() -> None:
    from core.config import parse_config
    from core.engine import Engine
    from core.ledger import MemoryLedger

    cfg = parse_config(ENGINE_CONFIG, now_ms=NOW)
    perp = replace(lookup("bybit", "ETHUSD"), status=S.DELISTING, delist_ms=DEC20)
    e = Engine(cfg, {("bybit", "ETHUSD"): perp}, MemoryLedger(), NOW)
    snap = e.snapshot(NOW)

    def status(s: PortfolioSnapshot, hedge_id: str) -> tuple[InstrumentStatus, int | None]:
        h = s.hedge(hedge_id)
        assert h is not None
        return h.instrument_status, h.delist_ms

    assert status(snap, "p") == (S.DELISTING, DEC20)
    # the future keeps what it knew: the perpetual's delisting is not the future's
    assert status(snap, "q") == (S.UNKNOWN, None)
    e.update_specs({("bybit", "ETHUSD"): perp, ("bybit", "ETHUSDZ26"): perp})
    assert status(e.snapshot(NOW), "q") == (S.UNKNOWN, None)
    alerts = AlertEngine(AlertConfig())
    (ev,) = [a for a in alerts.evaluate(snap) if a.rule == "delist"]
    assert ev.subject == "bybit:ETHUSD"
    assert "delists 2026-12-20 08:00 UTC (16 d)" in ev.message
