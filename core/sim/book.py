"""The simulated order book one order walks: the model's top of book, then deeper levels one
tick apart, each holding a level's worth of size. Sizes are USD face value; what one order
takes is gone for the rest of the step (``reset`` refills it from the model)."""

from __future__ import annotations

from dataclasses import dataclass

from core.sim.model import MarketModel, round_to_tick

LEVELS = 10
LEVEL_USD = 50_000  # size of each level below the top (the model's top sizes average this)


@dataclass(slots=True)
class Level:
    price: float
    size: int  # USD face value left


class Book:
    """Both sides of one venue's perpetual of one coin."""

    def __init__(self, model: MarketModel, venue: str, coin: str) -> None:
        self.model = model
        self.venue = venue
        self.coin = coin
        self.tick = model.coin(coin).params.perp_tick
        self.bids: list[Level] = []
        self.asks: list[Level] = []
        self.reset()

    def reset(self) -> None:
        perp = self.model.perp(self.venue, self.coin)
        t = self.tick
        self.bids = [
            Level(round_to_tick(perp.bid - k * t, t), perp.bid_size if k == 0 else LEVEL_USD)
            for k in range(LEVELS)
            if perp.bid - k * t > 0
        ]
        self.asks = [
            Level(round_to_tick(perp.ask + k * t, t), perp.ask_size if k == 0 else LEVEL_USD)
            for k in range(LEVELS)
        ]

    def mark(self) -> float:
        return self.model.perp(self.venue, self.coin).mark

    def depth(self, buy: bool) -> int:
        return sum(lv.size for lv in (self.asks if buy else self.bids))
