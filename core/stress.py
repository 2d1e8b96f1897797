"""The stress grid: the whole book at price moves of the hedged coins. Pure: a snapshot and
the contract specs in, an immutable grid out; no clock, no I/O.

A *scenario* multiplies each coin's price by a factor (the spot/index price of the holdings
and the mark of every contract on that coin alike). A grid row moves every coin by the
row's move ``x``, except a holding protected only by proxy hedges (a SOL holding shorted
through BTC): it follows its proxy's coin through the beta, ``1 + beta·x`` (the proxy
convention of ``core.sizing``: a move x of the contract coin moves the holding by beta·x).
A factor never goes below ``MIN_FACTOR`` (a move beyond −100 % is not a price). A custom
scenario (``scenario_from_coin_moves``) moves each named coin by its own figure, the others
not at all.

Every figure of a row is computed as the engine computes the live one (``core.engine``), so
that at move 0 the row *is* the snapshot:
- hedge: ``PnL = s·Q·(1/P' − 1/P0)`` coin, equity ``M + PnL``, the venue's maintenance
  margin at P' (``core.liquidation``), margin ratio ``maintenance / equity`` (100 %: the
  venue liquidates), distance ``(L − P')/P'``;
- holding: ``(S + M)·P' + Σ PnL_coin·P'_c`` (each hedge's coin PnL at its own coin's price),
  unhedged ``(S + M)·P'``, hedge ratio ``H / (S + M)`` with ``H`` the coins the hedges
  offset (a proxy's ``(Q/P0)·P'_c/(beta·P'_h)`` drifts with the two prices: shown).

Liquidation is a cliff, so the grid does not stop at the rows: for each hedge the liquidation
price ``L`` from the venue's model (``core.liquidation.assess``: the price at which equity
meets the maintenance margin) gives the exact move ``(L/P − 1)/k`` (k: the coin's multiplier
of the move), and its first tick (rounded away from the mark). In a row past that move the
hedge is gone: its margin is lost (isolated: the position's margin; cross: the wallet, one
position per wallet) and it offsets nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core import inverse, liquidation, sizing
from core.instruments import ContractSpec
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

#: The grid's default rows, in percent.
DEFAULT_MOVES_PCT: tuple[float, ...] = (
    -50.0, -30.0, -20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 200.0,
)  # fmt: skip
#: The smallest price factor a move can give (a move of −100 % or worse is clamped here).
MIN_FACTOR = 1e-6


@dataclass(frozen=True, slots=True)
class Scenario:
    """Price factors per coin (1.0: unchanged). ``move_pct`` is the grid move (None for a
    custom scenario); ``label`` names the row."""

    label: str
    factors: Mapping[str, float]
    move_pct: float | None = None

    def factor(self, coin: str) -> float:
        return self.factors.get(coin, 1.0)


@dataclass(frozen=True, slots=True)
class HedgeCell:
    hedge_id: str
    coin: str
    mark: float | None
    pnl_coin: float | None
    pnl_usd: float | None  # PnL_coin at the coin's moved price (as the holding counts it)
    equity_coin: float | None
    equity_usd: float | None
    maintenance_coin: float | None
    margin_ratio_pct: float | None  # maintenance / equity · 100; >= 100: liquidated
    liq_distance_pct: float | None  # (L − P')/P' · 100; None: no price liquidates it
    liquidated: bool  # the move is past this hedge's liquidation: its margin is gone


@dataclass(frozen=True, slots=True)
class HoldingCell:
    coin: str
    price_usd: float | None
    value_usd: float | None  # hedged: spot + wallets + the hedges' PnL
    unhedged_value_usd: float | None  # (S + M)·P'
    hedge_pnl_coin: float | None  # the hedges' coin PnL (proxy hedges' in their own coin)
    hedge_pnl_usd: float | None
    hedge_ratio: float | None
    net_delta_usd: float | None


@dataclass(frozen=True, slots=True)
class StressRow:
    scenario: Scenario
    holdings: tuple[HoldingCell, ...]
    hedges: tuple[HedgeCell, ...]
    value_usd: float | None
    unhedged_value_usd: float | None
    hedge_pnl_usd: float | None
    liquidated: tuple[str, ...]  # hedge ids gone at this move

    def holding(self, coin: str) -> HoldingCell | None:
        return next((h for h in self.holdings if h.coin == coin), None)

    def hedge(self, hedge_id: str) -> HedgeCell | None:
        return next((h for h in self.hedges if h.hedge_id == hedge_id), None)


@dataclass(frozen=True, slots=True)
class LiquidationPoint:
    """Where one hedge is liquidated: the exact price and grid move, and what it costs."""

    hedge_id: str
    venue: str
    symbol: str
    coin: str
    side: str
    price: float  # the venue model's liquidation price (equity = maintenance margin)
    tick_price: float  # the first tick at which the venue liquidates (away from the mark)
    move_pct: float  # the grid move that brings the mark to ``price``
    equity_coin: float  # at ``price``: equals maintenance_coin
    maintenance_coin: float
    lost_coin: float  # the margin that goes: isolated, the position's; cross, the wallet
    lost_usd: float  # lost_coin at the liquidation price
    lost_what: str  # "isolated margin" | "cross wallet"
    model: str  # core.liquidation.MarginModel value


@dataclass(frozen=True, slots=True)
class StressGrid:
    ts_ms: int
    rows: tuple[StressRow, ...]
    liquidations: tuple[LiquidationPoint, ...]  # every hedge that some move liquidates
    multipliers: Mapping[str, float]  # coin -> k: its move is k·x

    @property
    def first_down(self) -> LiquidationPoint | None:
        """The nearest liquidation on a fall (largest negative move)."""
        down = [p for p in self.liquidations if p.move_pct < 0]
        return max(down, key=lambda p: p.move_pct) if down else None

    @property
    def first_up(self) -> LiquidationPoint | None:
        """The nearest liquidation on a rise."""
        up = [p for p in self.liquidations if p.move_pct >= 0]
        return min(up, key=lambda p: p.move_pct) if up else None

    @property
    def first(self) -> LiquidationPoint | None:
        """The liquidation nearest to the current prices, either way."""
        points = [p for p in (self.first_down, self.first_up) if p is not None]
        return min(points, key=lambda p: abs(p.move_pct)) if points else None

    def row(self, move_pct: float) -> StressRow | None:
        return next((r for r in self.rows if r.scenario.move_pct == move_pct), None)


# --- scenarios ----------------------------------------------------------------------------


def move_multipliers(snapshot: PortfolioSnapshot) -> dict[str, float]:
    """Coin -> k, the multiple of the grid move its price takes: 1, except a holding that
    only proxy hedges protect and on which no contract settles: the first proxy's beta."""
    contract_coins = {h.coin for h in snapshot.hedges}
    out: dict[str, float] = {}
    for holding in snapshot.holdings:
        protecting = [h for h in snapshot.hedges if h.hedged_coin == holding.coin]
        proxies = [h for h in protecting if h.coin != holding.coin]
        direct = any(h.coin == holding.coin for h in protecting)
        k = 1.0
        if proxies and not direct and holding.coin not in contract_coins:
            k = proxies[0].beta
        out[holding.coin] = k
    for coin in contract_coins:
        out.setdefault(coin, 1.0)
    return out


def _factor(k: float, move_pct: float) -> float:
    return max(1.0 + k * move_pct / 100.0, MIN_FACTOR)


def scenario_for_move(multipliers: Mapping[str, float], move_pct: float) -> Scenario:
    """Every coin by ``move_pct``, proxy-followers by their beta times it."""
    if not math.isfinite(move_pct):
        raise ValueError(f"a move must be a finite percentage, not {move_pct!r}")
    factors = {c: _factor(k, move_pct) for c, k in multipliers.items()}
    return Scenario(f"{move_pct:+g} %", factors, move_pct)


def scenario_from_coin_moves(moves_pct: Mapping[str, float]) -> Scenario:
    """Each named coin by its own move in percent (``{"SOL": -30, "BTC": -20}``), the rest
    unchanged; no beta applies."""
    for coin, move in moves_pct.items():
        if not math.isfinite(move):
            raise ValueError(f"{coin}: a move must be a finite percentage, not {move!r}")
    label = " ".join(f"{c} {m:+g} %" for c, m in moves_pct.items()) or "no move"
    return Scenario(label, {c: _factor(1.0, m) for c, m in moves_pct.items()}, None)


# --- the grid -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Risk:
    """What does not change with the price: the liquidation price and the fee the venue
    reserves to close (Bybit cross)."""

    liq: liquidation.Liquidation | None


def _risk(h: HedgeSnapshot, spec: ContractSpec | None) -> _Risk:
    if spec is None or h.entry is None or h.contracts <= 0 or h.mark is None:
        return _Risk(None)
    try:
        liq = liquidation.assess(
            spec, h.side, h.size_usd, h.entry, max(h.margin_coin, 0.0), mode=h.margin_mode
        )
    except ValueError:
        return _Risk(None)
    return _Risk(liq)


def _past(side: str, mark: float, liq_price: float | None) -> bool:
    """Whether ``mark`` is at or beyond the liquidation price in the adverse direction."""
    if liq_price is None:
        return False
    return mark >= liq_price if side == "short" else mark <= liq_price


def _hedge_cell(
    h: HedgeSnapshot,
    spec: ContractSpec | None,
    risk: _Risk,
    factor: float,
    coin_price: float | None,
) -> HedgeCell:
    if h.mark is None:
        return HedgeCell(h.hedge_id, h.coin, None, None, None, None, None, None, None, None, False)
    mark = h.mark * factor
    price_c = None if coin_price is None else coin_price * factor
    if h.entry is None or h.contracts <= 0:
        eq = h.margin_coin
        return HedgeCell(
            h.hedge_id, h.coin, mark, 0.0, 0.0, eq, None if price_c is None else eq * price_c,
            0.0, None, None, False,
        )  # fmt: skip
    liq_price = risk.liq.price if risk.liq is not None else None
    if _past(h.side, mark, liq_price):
        pnl = -h.margin_coin  # equity to zero: the margin is gone
        return HedgeCell(
            h.hedge_id, h.coin, mark, pnl, None if price_c is None else pnl * price_c,
            0.0, 0.0, None, None, None, True,
        )  # fmt: skip
    pnl = inverse.pnl_coin(h.side, h.size_usd, h.entry, mark)
    equity = h.margin_coin + pnl
    mm: float | None = None
    ratio: float | None = None
    if spec is not None:
        mm = liquidation.maintenance_margin_coin(spec, h.size_usd, mark, entry=h.entry)
        mm += risk.liq.close_fee_coin if risk.liq is not None else 0.0
        ratio = mm / equity * 100.0 if equity > 0 else None
    return HedgeCell(
        hedge_id=h.hedge_id,
        coin=h.coin,
        mark=mark,
        pnl_coin=pnl,
        pnl_usd=None if price_c is None else pnl * price_c,
        equity_coin=equity,
        equity_usd=equity * mark,
        maintenance_coin=mm,
        margin_ratio_pct=ratio,
        liq_distance_pct=inverse.liq_distance_pct(liq_price, mark),
        liquidated=False,
    )


def _holding_cell(
    holding: HoldingSnapshot,
    hedges: Sequence[HedgeSnapshot],
    cells: Mapping[str, HedgeCell],
    scenario: Scenario,
    prices: Mapping[str, float | None],
) -> HoldingCell:
    price = None if holding.price_usd is None else holding.price_usd * scenario.factor(holding.coin)
    exposure = holding.amount_coin + holding.margin_coin  # valued: a lost margin is PnL −M
    remaining = exposure  # for the ratio: a liquidated hedge's margin left the wallet
    for h in hedges:
        if h.coin == holding.coin and cells[h.hedge_id].liquidated:
            remaining -= h.margin_coin
    hedged: float | None = 0.0
    pnl_usd: float | None = 0.0
    pnl_coin: float | None = 0.0
    for h in hedges:
        if h.hedged_coin != holding.coin or h.contracts == 0:
            continue
        cell = cells[h.hedge_id]
        if cell.liquidated:
            h_coin: float | None = 0.0
        elif h.entry is None:
            h_coin = 0.0
        else:
            h_coin = sizing.hedged_coin(
                h.side,
                h.size_usd,
                h.entry,
                beta=h.beta,
                proxy=h.coin != h.hedged_coin,
                contract_price=cell.mark,
                holding_price=price,
            )
        hedged = None if hedged is None or h_coin is None else hedged + h_coin
        c_price = prices.get(h.coin)
        if pnl_usd is None or cell.pnl_coin is None or c_price is None:
            pnl_usd = None
        else:
            pnl_usd += cell.pnl_coin * c_price * scenario.factor(h.coin)
        if pnl_coin is not None and h.coin == holding.coin and cell.pnl_coin is not None:
            pnl_coin += cell.pnl_coin
        elif h.coin == holding.coin:
            pnl_coin = None
    unhedged = value = None
    if price is not None:
        unhedged = exposure * price
        value = None if pnl_usd is None else unhedged + pnl_usd
    ratio = None if hedged is None or remaining <= 0 else hedged / remaining
    delta = None if hedged is None else remaining - hedged
    return HoldingCell(
        coin=holding.coin,
        price_usd=price,
        value_usd=value,
        unhedged_value_usd=unhedged,
        hedge_pnl_coin=pnl_coin,
        hedge_pnl_usd=pnl_usd,
        hedge_ratio=ratio,
        net_delta_usd=None if delta is None or price is None else delta * price,
    )


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def stress_row(
    snapshot: PortfolioSnapshot,
    specs: Mapping[str, ContractSpec],
    scenario: Scenario,
    *,
    _risks: Mapping[str, _Risk] | None = None,
) -> StressRow:
    """The book under ``scenario`` (``specs``: hedge id -> contract spec)."""
    risks = _risks or {h.hedge_id: _risk(h, specs.get(h.hedge_id)) for h in snapshot.hedges}
    prices = {ho.coin: ho.price_usd for ho in snapshot.holdings}
    cells = {
        h.hedge_id: _hedge_cell(
            h, specs.get(h.hedge_id), risks[h.hedge_id], scenario.factor(h.coin), prices.get(h.coin)
        )
        for h in snapshot.hedges
    }
    holdings = tuple(
        _holding_cell(ho, snapshot.hedges, cells, scenario, prices) for ho in snapshot.holdings
    )
    return StressRow(
        scenario=scenario,
        holdings=holdings,
        hedges=tuple(cells.values()),
        value_usd=_sum(c.value_usd for c in holdings),
        unhedged_value_usd=_sum(c.unhedged_value_usd for c in holdings),
        hedge_pnl_usd=_sum(c.hedge_pnl_usd for c in holdings),
        liquidated=tuple(c.hedge_id for c in cells.values() if c.liquidated),
    )


def _first_tick(h: HedgeSnapshot, spec: ContractSpec, price: float, close_fee: float) -> float:
    """The first tick at which the venue's own test (equity <= maintenance margin) holds,
    walking away from the mark from the tick next to ``price``: the closed form is exact,
    but a tick is where a mark can be."""
    tick = spec.tick_size
    entry = h.entry
    if tick <= 0 or entry is None:
        return price
    short = h.side == "short"
    step = tick if short else -tick
    n = math.floor(price / tick) if short else math.ceil(price / tick)
    candidate = float(f"{n * tick:.12g}")
    for _ in range(4):
        if candidate > 0:
            equity = h.margin_coin + inverse.pnl_coin(h.side, h.size_usd, entry, candidate)
            mm = liquidation.maintenance_margin_coin(spec, h.size_usd, candidate, entry=entry)
            if equity <= mm + close_fee:
                return candidate
        candidate = float(f"{candidate + step:.12g}")
    return candidate


def liquidation_point(
    h: HedgeSnapshot, spec: ContractSpec, k: float, risk: _Risk | None = None
) -> LiquidationPoint | None:
    """Where ``h`` is liquidated as a grid move (``k``: its coin's multiplier); None when no
    price liquidates it or it has no mark or position."""
    risk = risk or _risk(h, spec)
    if risk.liq is None or risk.liq.price is None or h.mark is None or h.entry is None:
        return None
    price = risk.liq.price
    equity = h.margin_coin + inverse.pnl_coin(h.side, h.size_usd, h.entry, price)
    mm = (
        liquidation.maintenance_margin_coin(spec, h.size_usd, price, entry=h.entry)
        + risk.liq.close_fee_coin
    )
    lost = max(h.margin_coin, 0.0)
    return LiquidationPoint(
        hedge_id=h.hedge_id,
        venue=h.venue,
        symbol=h.symbol,
        coin=h.coin,
        side=h.side,
        price=price,
        tick_price=_first_tick(h, spec, price, risk.liq.close_fee_coin),
        move_pct=(price / h.mark - 1.0) / k * 100.0,
        equity_coin=equity,
        maintenance_coin=mm,
        lost_coin=lost,
        lost_usd=lost * price,
        lost_what="cross wallet" if h.margin_mode == "cross" else "isolated margin",
        model=str(risk.liq.model),
    )


def stress_grid(
    snapshot: PortfolioSnapshot,
    specs: Mapping[str, ContractSpec],
    moves_pct: Sequence[float] = DEFAULT_MOVES_PCT,
    *,
    extra: Sequence[Scenario] = (),
) -> StressGrid:
    """One row per move (then the ``extra`` scenarios), and every hedge's exact
    liquidation move (module docstring)."""
    multipliers = move_multipliers(snapshot)
    risks = {h.hedge_id: _risk(h, specs.get(h.hedge_id)) for h in snapshot.hedges}
    scenarios = [scenario_for_move(multipliers, m) for m in moves_pct]
    rows = tuple(stress_row(snapshot, specs, s, _risks=risks) for s in (*scenarios, *extra))
    points = []
    for h in snapshot.hedges:
        spec = specs.get(h.hedge_id)
        if spec is None:
            continue
        p = liquidation_point(h, spec, multipliers.get(h.coin, 1.0), risks[h.hedge_id])
        if p is not None:
            points.append(p)
    return StressGrid(snapshot.ts_ms, rows, tuple(points), multipliers)


def parse_moves(text: str) -> tuple[float, ...]:
    """``"-50,-20,0,20"`` (percent; a trailing % allowed) -> moves; ValueError names the bad
    item."""
    out: list[float] = []
    for raw in text.split(","):
        item = raw.strip().removesuffix("%").strip()
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"{raw.strip()!r} is not a percentage") from None
        if not math.isfinite(value) or not -100.0 <= value <= 10_000.0:
            raise ValueError(f"{raw.strip()!r} must be a percentage from -100 to 10000")
        out.append(value)
    if not out:
        raise ValueError(f"{text!r} names no move")
    return tuple(out)
