"""Snapshot -> table rows: which cells the holdings table shows, as plain data.

One row per hedge, grouped under its holding (the holding's figures on its first row); a
holding without a hedge gets a row of its own. Each cell is its text and a style class
(``gain``, ``loss``, ``warn``, ``alert``, ``stale``, ``muted`` or ``""``). Pure: tests compare
these cells with the engine's snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from core.events import FeedHealth, FeedState
from core.instruments import status_mark
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot
from tui.widgets import format as fmt

#: Liquidation distance (in % of mark) under which the cell is drawn as a warning / an alert.
LIQ_WARN_PCT = 25.0
LIQ_ALERT_PCT = 10.0
SPOT_WIDTH = 14


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str  # carries the unit of the column's figures when cells do not
    width: int
    priority: int  # 1 = always shown; higher numbers are dropped first on narrow screens
    right: bool = True
    min_width: int = 0  # > 0: the column narrows down to this before others are dropped


#: The layouts (issue 13): at every width the table keeps the coin, the hedge, the PnL in
#: coin and in USD, the liquidation distance, the ratio and the feed state (priority 1);
#: from 100 columns the liquidation price, from 120 the mark and funding a day, from 200
#: everything. Whatever is dropped is in the detail pane under the table.
COLUMNS: tuple[Column, ...] = (
    Column("coin", "Coin", 5, 1, right=False),
    Column("spot", "Spot", SPOT_WIDTH, 5),
    Column("spot_usd", "Spot USD", 9, 5),
    Column("hedge", "Hedge", 24, 1, right=False, min_width=19),
    Column("contracts", "Contracts", 9, 7),
    Column("face", "Face USD", 9, 5),
    Column("entry", "Entry USD", 10, 6),
    Column("mark", "Mark USD", 10, 3),
    Column("pnl_coin", "PnL coin", 14, 1),
    Column("pnl_usd", "PnL USD", 9, 1),
    Column("basis", "Basis", 8, 5),
    Column("funding", "Funding/int  next", 19, 6),
    Column("fund_day", "Fund/day", 8, 3),
    Column("apr", "Fund APR", 8, 4),
    Column("liq", "Liq USD", 10, 2),
    Column("liq_dist", "Liq dist", 8, 1),
    Column("ratio", "Ratio/target", 12, 1),
    Column("feed", "Feed", 5, 1, right=False),
)
GAP = 1


def _need(columns: list[Column]) -> int:
    """Cells the columns take. A flexible column narrows only when every column left is
    essential (priority <= 2): an optional figure never costs the hedge its symbol."""
    narrow = all(c.priority <= 2 for c in columns)
    return sum((c.min_width if narrow else 0) or c.width for c in columns) + GAP * (
        len(columns) - 1
    )


def fit_columns(width: int, columns: tuple[Column, ...] = COLUMNS) -> tuple[Column, ...]:
    """The columns that fit in ``width`` cells, dropping the least important first; a
    flexible column (``min_width``) then takes the room left, up to its full width."""
    shown = list(columns)
    while len(shown) > 1 and _need(shown) > width:
        worst = max(shown, key=lambda c: (c.priority, columns.index(c)))
        if worst.priority == 1:
            break
        shown.remove(worst)
    spare = width - _need(shown)
    narrow = all(c.priority <= 2 for c in shown)
    fitted = []
    for col in shown:
        if col.min_width and narrow:
            grow = max(0, min(spare, col.width - col.min_width))
            spare -= grow
            fitted.append(replace(col, width=col.min_width + grow))
        else:
            fitted.append(col)
    return tuple(fitted)


Cell = tuple[str, str]  # (text, style class)


@dataclass(frozen=True, slots=True)
class Row:
    key: str  # hedge_id, or "holding:<coin>:<label>" for a holding without a hedge
    hedge_id: str | None
    holding: str  # holding key: "<coin>:<label>"
    cells: dict[str, Cell]
    stale: bool


def holding_key(holding: HoldingSnapshot) -> str:
    return f"{holding.coin}:{holding.label}"


def liq_state(h: HedgeSnapshot) -> str:
    """``format.liq_state`` of a hedge snapshot (flat / unknown / never / far / price)."""
    return fmt.liq_state(
        contracts=h.contracts,
        mark=h.mark,
        liq_price=h.liq_price,
        model_known=h.margin_model is not None,
        beyond_far=h.liq_beyond_10x,
    )


DAY_MS = 86_400_000


def funding_per_day(h: HedgeSnapshot) -> tuple[float | None, float | None]:
    """Funding a day at the current rate, (coin, USD), > 0 received: the next payment scaled
    from its interval to 24 h (continuous funding is quoted as an 8 h rate)."""
    if h.funding_next_coin is None or not h.funding_interval_ms:
        return None, None
    coin = h.funding_next_coin * DAY_MS / h.funding_interval_ms
    return coin, None if h.mark is None else coin * h.mark


def liq_class(dist_pct: float | None) -> str:
    """``alert`` / ``warn`` / ``""`` for a liquidation distance in % of the mark."""
    if dist_pct is None:
        return ""
    if abs(dist_pct) < LIQ_ALERT_PCT:
        return "alert"
    if abs(dist_pct) < LIQ_WARN_PCT:
        return "warn"
    return ""


def _liq_cells(h: HedgeSnapshot, tick: float | None = None) -> tuple[Cell, Cell]:
    state = liq_state(h)
    if state == "flat":
        return (fmt.DASH, "muted"), (fmt.DASH, "muted")
    if state == "unknown":  # no price or no model: unknown, never "safe"
        return (fmt.DASH, "unknown"), (fmt.DASH, "unknown")
    if state == "never":
        return ("none", "gain"), ("never", "gain")
    if state == "far":  # a nine-digit price says less than this
        return ("> 10× mark", "gain"), ("far", "gain")
    dist = h.liq_distance_pct
    cls = liq_class(dist)
    dist_text = fmt.pct(dist, 1) if dist is None or abs(dist) < 1000 else f"{dist:+.0f}%"
    return (fmt.price(h.liq_price, tick), cls), (dist_text, cls)


def _ratio_cell(holding: HoldingSnapshot) -> Cell:
    text = f"{fmt.ratio_pct(holding.hedge_ratio)}/{fmt.ratio_pct(holding.target_ratio, 0)}"
    if holding.target_ratio is None:
        text = fmt.ratio_pct(holding.hedge_ratio)
    cls = ""
    if holding.drift is not None and holding.band is not None and abs(holding.drift) > holding.band:
        cls = "warn"
    return text, cls


def _holding_cells(holding: HoldingSnapshot, first: bool) -> dict[str, Cell]:
    if not first:
        return {"coin": ("└", "muted"), "spot": ("", ""), "spot_usd": ("", ""), "ratio": ("", "")}
    return {
        "coin": (holding.coin, ""),
        "spot": (fmt.coin_in(holding.amount_coin, holding.coin, SPOT_WIDTH), ""),
        "spot_usd": (fmt.compact_usd(holding.spot_value_usd), ""),
        "ratio": _ratio_cell(holding),
    }


#: The Feed column's word for a socket that is not live (the status bar says the same state).
_FEED_WORD = {
    FeedState.RECONNECTING: ("recon", "warn"),
    FeedState.CONNECTING: ("conn…", "unknown"),
    FeedState.STOPPED: ("down", "stale"),
}


def feed_cell(venue: str, stale: bool, feeds: tuple[FeedHealth, ...]) -> Cell:
    """The Feed column of a row: the worst state among the venue's sockets (a row's figures
    come from its inverse socket and its holding's spot socket), then the row's staleness.
    It never says ``live`` while the status bar shows one of those sockets otherwise."""
    states = [f.state for f in feeds if f.venue == venue]
    for state in (FeedState.STOPPED, FeedState.RECONNECTING, FeedState.CONNECTING):
        if state in states:
            return _FEED_WORD[state]
    if stale:
        return ("STALE", "stale")
    return ("live", "muted")


def days_left_text(days: float | None) -> str:
    """A dated contract's days to expiry, short: ``24d``, ``<1d``, ``exp.``; ``—`` unknown."""
    if days is None:
        return fmt.DASH
    if days <= 0:
        return "exp."
    if days < 1:
        return "<1d"
    return f"{int(days)}d"


def hedge_label(h: HedgeSnapshot, now_ms: int | None = None) -> str:
    """The Hedge cell: venue and symbol; a dated future's own name says its venue, so the
    room goes to the days it has left (``BTCUSD_261225 24d``). An instrument the venue is
    taking away says so in place of the venue (``BTCUSD delist 12d``, ``reduce-only``)."""
    mark = status_mark(h.instrument_status, h.delist_ms, now_ms) if now_ms is not None else ""
    if h.expiry_ms is not None:
        label = f"{h.symbol} {mark or days_left_text(h.days_to_expiry)}"
    elif mark:
        label = f"{h.symbol} {mark}"
    else:
        label = f"{h.venue} {h.symbol}"
    if h.hedged_coin != h.coin:
        label += f" β{h.beta:g}"
    return label


def _hedge_cells(
    h: HedgeSnapshot,
    feeds: tuple[FeedHealth, ...] = (),
    tick: float | None = None,
    now_ms: int | None = None,
) -> dict[str, Cell]:
    hedge = hedge_label(h, now_ms)
    funding = fmt.DASH
    if h.expiry_ms is not None:
        funding = "dated"  # no funding, no countdown
    elif h.funding_rate is not None:
        countdown = (
            "cont." if h.next_funding_ms is None else fmt.duration(h.funding_countdown_ms).rjust(5)
        )
        funding = (
            f"{fmt.pct(h.funding_rate * 100, 4)}/{fmt.interval(h.funding_interval_ms)} {countdown}"
        )
    liq, liq_dist = _liq_cells(h, tick)
    _day_coin, day_usd = funding_per_day(h)
    return {
        "hedge": (hedge, "warn" if h.instrument_status.going_away else ""),
        "contracts": (f"{h.contracts:,}", "" if h.contracts else "muted"),
        "face": (fmt.compact_usd(h.size_usd), ""),
        "entry": (fmt.price(h.entry, tick), ""),
        "mark": (fmt.price(h.mark, tick), ""),
        "pnl_coin": (fmt.coin(h.pnl_coin, h.coin, sign=True), fmt.sign_class(h.pnl_coin)),
        "pnl_usd": (fmt.compact_usd(h.pnl_usd, sign=True), fmt.sign_class(h.pnl_usd)),
        "basis": (fmt.pct(h.basis_pct, 3), ""),
        "funding": (funding, ""),
        "fund_day": (fmt.compact_usd(day_usd, sign=True), fmt.sign_class(day_usd)),
        "apr": (fmt.pct(h.funding_apr_pct, 1), fmt.sign_class(h.funding_apr_pct)),
        "liq": liq,
        "liq_dist": liq_dist,
        "feed": feed_cell(h.venue, h.stale, feeds),
    }


def _empty_hedge_cells(holding: HoldingSnapshot) -> dict[str, Cell]:
    cells = {c.key: (fmt.DASH, "muted") for c in COLUMNS}
    cells["hedge"] = ("unhedged", "warn")
    cells["mark"] = (fmt.price(holding.price_usd), "")
    cells["feed"] = ("STALE", "stale") if holding.stale else ("live", "muted")  # spot only
    return cells


def build_rows(snapshot: PortfolioSnapshot, ticks: Mapping[str, float] | None = None) -> list[Row]:
    """The table's rows for ``snapshot``, in display order; ``ticks`` (hedge id -> the
    contract's tick) rounds each price to its instrument's tick."""
    ticks = ticks or {}
    rows: list[Row] = []
    by_id = {h.hedge_id: h for h in snapshot.hedges}
    for holding in snapshot.holdings:
        hkey = holding_key(holding)
        hedges = [by_id[i] for i in holding.hedge_ids if i in by_id]
        if not hedges:
            cells = {**_empty_hedge_cells(holding), **_holding_cells(holding, True)}
            rows.append(Row(f"holding:{hkey}", None, hkey, cells, holding.stale))
            continue
        for i, h in enumerate(hedges):
            tick = ticks.get(h.hedge_id)
            cells = {
                **_hedge_cells(h, snapshot.feeds, tick, snapshot.ts_ms),
                **_holding_cells(holding, i == 0),
            }
            cells["feed"] = feed_cell(h.venue, h.stale or holding.stale, snapshot.feeds)
            rows.append(Row(h.hedge_id, h.hedge_id, hkey, cells, h.stale or holding.stale))
    return rows
