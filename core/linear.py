"""The same hedge done with a USDT-margined linear short beside the coin-margined one: pure
functions, every formula here.

The linear short offsets the same coins as the inverse one at entry: ``N = Q/P0`` coins
(the inverse short's delta, DESIGN.md §5), at the same entry and the same leverage, so its
margin is ``N·P0/L`` USDT: the same USD at entry, but held in a stablecoin the user must own.
Its PnL is in USDT, ``s·N·(P0 − P)`` (s = +1 short), and its margin keeps its USD value
while the coin falls; the inverse short's margin is coins, whose USD value falls with the
coin (the short's coin PnL makes up for it).

Liquidation of the linear short: Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M
Futures Contracts", https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93
(one-way, isolated: TMM = UPNL = 0), ``LP = (WB + cum − Side·N·EP) / (N·MMR − Side·N)``
with Side = −1 for a short: ``LP_short = (WB + cum + N·EP) / (N·(1 + MMR))`` — where the
equity ``WB + N·(EP − LP)`` meets the maintenance margin ``N·LP·MMR − cum`` (the page:
"Maintenance Margin = Position Notional * Maintenance Margin Rate − Maintenance Amount").
The rate is one flat figure (``DEFAULT_LINEAR_MMR``, the order of the venues' first
brackets for the large coins; an estimate, said so where shown). A 1x linear short
(WB = N·EP) is liquidated near ``2·EP/(1 + MMR)``, a rise of about 99 %; the 1x inverse
short on Binance or OKX cannot be liquidated at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core import inverse, liquidation
from core.instruments import ContractSpec

DEFAULT_LINEAR_MMR = 0.005
#: The moves the comparison shows, in percent.
COMPARE_MOVES_PCT: tuple[float, ...] = (-50.0, -30.0, -10.0, 0.0, 10.0, 30.0, 50.0, 100.0, 200.0)


def _sign(side: str) -> float:
    if side == "short":
        return 1.0
    if side == "long":
        return -1.0
    raise ValueError(f"side must be 'short' or 'long', not {side!r}")


def linear_pnl_usd(side: str, qty_coin: float, entry: float, price: float) -> float:
    """A linear position's PnL in USDT: short ``N·(P0 − P)``, long ``N·(P − P0)``."""
    return _sign(side) * qty_coin * (entry - price)


def linear_liq_price(  # noqa: PLR0917 (the position and its tier)
    side: str, qty_coin: float, entry: float, wallet_usdt: float, mmr: float, cum: float = 0.0
) -> float | None:
    """Binance USDⓈ-M one-way isolated (module docstring); None when no positive price."""
    s = -_sign(side)  # Binance's Side: 1 long, −1 short
    den = qty_coin * mmr - s * qty_coin
    if den == 0:
        return None
    price = (wallet_usdt + cum - s * qty_coin * entry) / den
    return price if price > 0 else None


def linear_maintenance_usdt(qty_coin: float, price: float, mmr: float, cum: float = 0.0) -> float:
    return max(0.0, qty_coin * price * mmr - cum)


@dataclass(frozen=True, slots=True)
class MoveCompare:
    move_pct: float
    price: float
    inverse_margin_usd: float  # the coins of margin at the moved price
    inverse_equity_usd: float  # wallet equity (0 once liquidated)
    inverse_liquidated: bool
    linear_margin_usd: float  # USDT: does not move
    linear_equity_usd: float
    linear_liquidated: bool


@dataclass(frozen=True, slots=True)
class LinearComparison:
    coin: str
    side: str
    size_usd: float  # the inverse short's face value, Q
    entry: float
    mark: float
    # the inverse (coin-margined) short
    inverse_margin_coin: float
    inverse_margin_usd: float
    inverse_liq_price: float | None
    inverse_pnl_coin: float
    inverse_pnl_usd: float
    inverse_today_pnl_coin: float | None
    inverse_today_pnl_usd: float | None
    # the linear (USDT-margined) short of the same coins
    qty_coin: float
    leverage: float | None  # None: no margin (unbounded; JSON has no infinity)
    mmr: float
    margin_usdt: float
    liq_price: float | None
    liq_distance_pct: float | None
    pnl_usd: float
    today_pnl_usd: float | None
    stablecoin_needed_usdt: float
    at_moves: tuple[MoveCompare, ...]

    @property
    def margin_currency(self) -> str:
        return "USDT"

    def as_json(self) -> dict[str, object]:
        """``calc --compare-linear``'s ``linear_*`` keys."""
        return {
            "linear_qty_coin": self.qty_coin,
            "linear_entry": self.entry,
            "linear_leverage": self.leverage,
            "linear_mmr": self.mmr,
            "linear_mmr_estimate": True,
            "linear_margin_usdt": self.margin_usdt,
            "linear_margin_currency": "USDT",
            "linear_liq_price": self.liq_price,
            "linear_liq_distance_pct": self.liq_distance_pct,
            "linear_pnl_currency": "USDT",
            "linear_pnl_usd": self.pnl_usd,
            "linear_today_pnl_usd": self.today_pnl_usd,
            "linear_stablecoin_needed_usdt": self.stablecoin_needed_usdt,
            "linear_inverse_margin_currency": self.coin,
            "linear_inverse_margin_usd": self.inverse_margin_usd,
            "linear_inverse_pnl_currency": self.coin,
            "linear_inverse_today_pnl_coin": self.inverse_today_pnl_coin,
            "linear_at_moves": [
                {
                    "move_pct": m.move_pct,
                    "price": m.price,
                    "inverse_margin_usd": m.inverse_margin_usd,
                    "inverse_equity_usd": m.inverse_equity_usd,
                    "inverse_liquidated": m.inverse_liquidated,
                    "linear_margin_usd": m.linear_margin_usd,
                    "linear_equity_usd": m.linear_equity_usd,
                    "linear_liquidated": m.linear_liquidated,
                }
                for m in self.at_moves
            ],
        }


def compare(  # noqa: PLR0917 (a position and its mark)
    spec: ContractSpec,
    side: str,
    size_usd: float,
    entry: float,
    margin_coin: float,
    mark: float,
    *,
    mode: str = "isolated",
    day_open: float | None = None,
    mmr: float = DEFAULT_LINEAR_MMR,
    moves_pct: Sequence[float] = COMPARE_MOVES_PCT,
) -> LinearComparison:
    """The inverse position and its linear twin (module docstring). ``day_open``: the price
    today's PnL counts from (None: unknown). Raises ValueError for what is not a position."""
    for name, v in (("size_usd", size_usd), ("entry", entry), ("mark", mark)):
        if not v > 0:
            raise ValueError(f"{name} must be positive, not {v!r}")
    s = _sign(side)
    qty = size_usd / entry
    leverage = qty / margin_coin if margin_coin > 0 else None
    margin_usdt = margin_coin * entry  # same USD at entry, same leverage
    inv = liquidation.assess(spec, side, size_usd, entry, max(margin_coin, 0.0), mode=mode)
    lin_liq = linear_liq_price(side, qty, entry, margin_usdt, mmr)
    inv_pnl = inverse.pnl_coin(side, size_usd, entry, mark)
    today_coin = today_usd = None
    if day_open is not None and day_open > 0:
        today_coin = s * size_usd * (1.0 / mark - 1.0 / day_open)
        today_usd = linear_pnl_usd(side, qty, day_open, mark)
    moves = []
    for m in moves_pct:
        p = mark * max(1.0 + m / 100.0, 1e-6)
        inv_gone = inv.price is not None and (p >= inv.price if s > 0 else p <= inv.price)
        lin_gone = lin_liq is not None and (p >= lin_liq if s > 0 else p <= lin_liq)
        inv_eq = 0.0 if inv_gone else (margin_coin + inverse.pnl_coin(side, size_usd, entry, p)) * p
        lin_eq = 0.0 if lin_gone else margin_usdt + linear_pnl_usd(side, qty, entry, p)
        moves.append(
            MoveCompare(m, p, margin_coin * p, inv_eq, inv_gone, margin_usdt, lin_eq, lin_gone)
        )
    return LinearComparison(
        coin=spec.coin,
        side=side,
        size_usd=size_usd,
        entry=entry,
        mark=mark,
        inverse_margin_coin=margin_coin,
        inverse_margin_usd=margin_coin * mark,
        inverse_liq_price=inv.price,
        inverse_pnl_coin=inv_pnl,
        inverse_pnl_usd=inv_pnl * mark,
        inverse_today_pnl_coin=today_coin,
        inverse_today_pnl_usd=None if today_coin is None else today_coin * mark,
        qty_coin=qty,
        leverage=leverage,
        mmr=mmr,
        margin_usdt=margin_usdt,
        liq_price=lin_liq,
        liq_distance_pct=inverse.liq_distance_pct(lin_liq, mark),
        pnl_usd=linear_pnl_usd(side, qty, entry, mark),
        today_pnl_usd=today_usd,
        stablecoin_needed_usdt=margin_usdt,
        at_moves=tuple(moves),
    )
