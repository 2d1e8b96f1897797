"""Binance COIN-M margin, fees and leverage brackets, from Binance's docs and FAQ:

- "How to Calculate Liquidation Price of COIN-M Futures Contracts" and the maintenance-margin
  FAQ: maintenance margin on the position's notional **at the mark price**, in coin:
  ``MM = |contracts| · contractSize / mark · MMR − cum`` (cum: the bracket's "maintenance
  amount", ``cum_n = floor_n · (MMR_n − MMR_n−1) + cum_n−1``). Liquidation when the margin
  balance (wallet + unrealised PnL; the isolated wallet for an isolated position) reaches it.
  One-way mode, one position, ``Q = |contracts| · contractSize``:
  ``LP = Q · (MMR + Side) / (WB + cum + Side · Q / EP)``, Side +1 long, −1 short; the bracket is
  the one that contains the notional at the liquidation price (re-solved until consistent). A
  negative LP is shown as no liquidation: a 1x short backed by its own coin never liquidates.
- ``GET /dapi/v2/leverageBracket``: ``bracket, initialLeverage, qtyCap, qtyFloor,
  maintMarginRatio, cum`` with caps in **coin**. BTCUSD's brackets below follow the FAQ's
  (0.4 % to 5 BTC, …, 12.5 % and cum 11.605 from 200 BTC); the altcoins' are the simulator's
  own, the same shape scaled to a USD size.
- Initial margin: notional at the order price / leverage. Fees: COIN-M VIP 0, taker 0.05 %,
  maker 0.02 %.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from core.sim.accounts import Position
from core.sim.model import COIN_TABLE

TAKER_FEE = 0.0005
MAKER_FEE = 0.0002


@dataclass(frozen=True, slots=True)
class Bracket:
    bracket: int
    initial_leverage: int
    floor: float  # coin
    cap: float  # coin
    mmr: float
    cum: float  # coin


def _brackets(
    floors: tuple[float, ...], rates: tuple[float, ...], levs: tuple[int, ...]
) -> tuple[Bracket, ...]:
    out: list[Bracket] = []
    cum = 0.0
    for k, (floor, mmr, lev) in enumerate(zip(floors, rates, levs, strict=True)):
        if k:
            cum += floor * (mmr - rates[k - 1])
        cap = floors[k + 1] if k + 1 < len(floors) else 1e12
        out.append(Bracket(k + 1, lev, floor, cap, mmr, round(cum, 8)))
    return tuple(out)


_RATES = (0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25)
_LEVS = (125, 100, 50, 20, 10, 5, 4, 2, 1)
_BTC_FLOORS = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 400.0, 1000.0)


@functools.cache  # a pure table per coin, read on every step for every position
def brackets(coin: str) -> tuple[Bracket, ...]:
    if coin == "BTC":
        return _brackets(_BTC_FLOORS, _RATES, _LEVS)
    # The same tiers at the same USD sizes (BTC at 90,000 USD), in the coin.
    price = COIN_TABLE[coin].start_price if coin in COIN_TABLE else 1.0
    scale = 90_000.0 / price
    floors = tuple(round(f * scale, 0) for f in _BTC_FLOORS)
    return _brackets(floors, _RATES, _LEVS)


def bracket_for(coin: str, notional: float) -> Bracket:
    bs = brackets(coin)
    for b in bs:
        if b.floor <= notional < b.cap:
            return b
    return bs[-1]


class BinanceMargin:
    taker_fee = TAKER_FEE
    maker_fee = MAKER_FEE

    def default_leverage(self, coin: str) -> float:
        return 20.0

    def initial_margin(self, coin: str, qty: int, price: float, leverage: float) -> float:
        return qty / price / leverage

    def maintenance_margin(self, pos: Position, mark: float) -> float:
        """On the notional at the **mark** price."""
        if not pos.size or mark <= 0:
            return 0.0
        notional = pos.qty / mark
        b = bracket_for(pos.coin, notional)
        return max(0.0, notional * b.mmr - b.cum)

    def liquidation_price(self, pos: Position, collateral: float) -> float | None:
        if not pos.size or not pos.entry:
            return None
        q = float(pos.qty)
        side = 1.0 if pos.size > 0 else -1.0
        for b in brackets(pos.coin):
            denom = collateral + b.cum + side * q / pos.entry
            if denom == 0:
                continue
            lp = q * (b.mmr + side) / denom  # a short: both negative; a 1x short: denom >= 0
            if lp <= 0:
                continue
            if b.floor <= q / lp < b.cap:
                return lp
        return None
