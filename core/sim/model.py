"""The simulator's market: a pure, seeded model stepped by the caller's simulated clock.

Nothing here reads a clock or does I/O. ``MarketModel.advance(dt_ms)`` moves the simulated
time forward; the server decides how many steps to take from the wall clock and ``speed``.
For a given seed, start time and sequence of steps, the path is the same on every run.

What it models, and why:

- Index prices follow correlated log-returns: one market shock (BTC's) that every coin takes
  with its ``beta`` (altcoins have beta > 1: they move more than BTC in the same direction),
  plus an idiosyncratic part, plus rare jumps (Poisson arrivals, normal sizes), market-wide
  and per coin. Returns carry the ``-σ²/2`` drift so prices are martingales.
- Each perpetual (one per venue and coin) trades at a premium over the index that mean-reverts
  (Ornstein-Uhlenbeck, exact discretisation, so any step size is fine). mark = index·(1+p).
- Funding follows Bybit's published rule: F = P̄ + clamp(I − P̄, −0.05 %, +0.05 %), then capped
  at ±cap, where P̄ is the premium index averaged (time-weighted) over the funding interval and
  I = 0.01 % per 8 h. The current value of F is the "predicted" rate the tickers show; at each
  funding time (every 8 h of simulated time, on 00:00/08:00/16:00 UTC) it is settled, recorded
  as a ``Settlement``, the average restarts and the next funding time moves on by 8 h.
- Spot is the index with a little noise, quoted on a spot tick.
- Four venues each have their perpetual of every coin (Bybit, Binance, OKX, Deribit). Deribit's
  funding is continuous, so its perpetual has no settlements. OKX's and Deribit's perpetuals
  and every dated future draw from a random stream of their own, so adding them left the
  Bybit / Binance paths of a seed as they were.
- Dated quarterly futures (every venue, every coin; each venue lists the ones it has): the
  next two quarterly expiries after the start (the last Friday of March, June, September and
  December, 08:00 UTC). A future trades at ``index·(1 + p + b·τ)``: its own mean-reverting
  premium p like a perpetual's, plus the basis ``b`` (annualised, ``ModelParams.future_basis``)
  over the years left τ, so the basis to the perpetual is about ``b·τ`` and shrinks to 0 at
  expiry (after it, the future keeps quoting at the index: no delivery is simulated).
"""

from __future__ import annotations

import calendar
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

MS_PER_YEAR = 365 * 24 * 3600 * 1000
HOUR_MS = 3600 * 1000
FUNDING_INTERVAL_MS = 8 * HOUR_MS
INTEREST_RATE = 0.0001  # per 8 h interval (0.03 % a day)
PREMIUM_CLAMP = 0.0005  # ±0.05 % around the interest rate
FUNDING_CAP = 0.005  # hard cap of the published rate

DEFAULT_COINS: tuple[str, ...] = ("BTC", "ETH", "SOL", "ADA", "XRP", "DOT")
VENUES: tuple[str, ...] = ("bybit", "binance", "okx", "deribit")
#: The venues whose perpetuals draw from the model's first random stream (the original two).
FIRST_STREAM_VENUES: tuple[str, ...] = ("bybit", "binance")
#: Venues whose perpetual funds continuously (no funding times, no settlements).
CONTINUOUS_FUNDING: tuple[str, ...] = ("deribit",)
QUARTER_MONTHS = (3, 6, 9, 12)
DATED_COUNT = 2  # quarterlies listed: the current quarter's and the next


@dataclass(frozen=True, slots=True)
class CoinParams:
    """Static description of one coin in the simulated market."""

    coin: str
    start_price: float
    beta: float  # sensitivity of the coin's log-return to the market (BTC) shock
    idio_vol: float  # annualised volatility of the coin's own part
    perp_tick: float  # tick of the inverse perpetual quotes
    spot_tick: float  # tick of the USDT spot quotes
    premium_mean: float = 0.0001  # long-run premium of the perp over the index
    premium_std: float = 0.0004  # stationary standard deviation of the premium
    face_usd: float = 10.0  # Binance COIN-M face value (100 USD for BTC)


# Start prices roughly where the market was in late 2025; ticks as the venues quote them.
COIN_TABLE: dict[str, CoinParams] = {
    p.coin: p
    for p in (
        CoinParams("BTC", 90_000.0, 1.0, 0.0, 0.5, 0.01, face_usd=100.0),
        CoinParams("ETH", 3_100.0, 1.2, 0.30, 0.05, 0.01, premium_std=0.0005),
        CoinParams("SOL", 140.0, 1.5, 0.45, 0.01, 0.01, premium_std=0.0008),
        CoinParams("ADA", 0.42, 1.3, 0.50, 0.0001, 0.0001, premium_std=0.0009),
        CoinParams("XRP", 2.2, 1.25, 0.50, 0.0001, 0.0001, premium_std=0.0009),
        CoinParams("DOT", 2.9, 1.35, 0.50, 0.001, 0.001, premium_std=0.0010),
        CoinParams("LINK", 13.5, 1.3, 0.45, 0.001, 0.01, premium_std=0.0008),
        CoinParams("LTC", 85.0, 1.1, 0.40, 0.01, 0.01, premium_std=0.0007),
        CoinParams("DOGE", 0.16, 1.45, 0.55, 0.00001, 0.00001, premium_std=0.0010),
        CoinParams("BNB", 880.0, 0.9, 0.30, 0.01, 0.01, premium_std=0.0006),
    )
}


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Tunable dynamics. Volatilities are annualised; intensities are per day."""

    market_vol: float = 0.50
    market_jump_per_day: float = 1.0
    market_jump_std: float = 0.012
    idio_jump_per_day: float = 0.5
    idio_jump_std: float = 0.02
    premium_half_life_ms: float = 20 * 60 * 1000.0
    spot_noise: float = 0.00005  # relative std of spot around the index
    interest_rate: float = INTEREST_RATE
    clamp: float = PREMIUM_CLAMP
    cap: float = FUNDING_CAP
    funding_interval_ms: int = FUNDING_INTERVAL_MS
    future_basis: float = 0.08  # annualised basis of the dated futures over the index


class UnknownCoinError(ValueError):
    """A coin the simulator has no parameters for; the message lists the known ones."""


def coin_params(coin: str) -> CoinParams:
    c = coin.strip().upper()
    p = COIN_TABLE.get(c)
    if p is None:
        raise UnknownCoinError(f"unknown coin {coin!r} (known: {', '.join(COIN_TABLE)})")
    return p


def bybit_funding_rate(
    avg_premium: float,
    *,
    interest: float = INTEREST_RATE,
    clamp: float = PREMIUM_CLAMP,
    cap: float = FUNDING_CAP,
) -> float:
    """Bybit's funding rate from the interval's average premium index:
    ``F = P + clamp(I − P, −clamp, +clamp)``, then limited to ``±cap``."""
    gap = interest - avg_premium
    if gap > clamp:
        f = avg_premium + clamp
    elif gap < -clamp:
        f = avg_premium - clamp
    else:
        f = interest  # inside the clamp the premium cancels: exactly I, not P + (I - P)
    return min(max(f, -cap), cap)


def next_funding_after(t_ms: int, interval_ms: int = FUNDING_INTERVAL_MS) -> int:
    """The first funding time strictly after ``t_ms`` (funding times are multiples of the
    interval since the epoch: 00:00, 08:00, 16:00 UTC for 8 h)."""
    return (t_ms // interval_ms + 1) * interval_ms


def quarterly_expiries(after_ms: int, count: int = DATED_COUNT) -> tuple[int, ...]:
    """The next ``count`` quarterly expiries strictly after ``after_ms``: the last Friday of
    March, June, September and December at 08:00 UTC (Binance, Bybit, OKX and Deribit all
    deliver their quarterlies then)."""
    out: list[int] = []
    year = datetime.fromtimestamp(after_ms / 1000, UTC).year
    while len(out) < count:
        for month in QUARTER_MONTHS:
            last = calendar.monthrange(year, month)[1]
            day = max(d for d in range(last - 6, last + 1) if calendar.weekday(year, month, d) == 4)
            t = int(datetime(year, month, day, 8, tzinfo=UTC).timestamp() * 1000)
            if t > after_ms and len(out) < count:
                out.append(t)
        year += 1
    return tuple(out)


def round_to_tick(x: float, tick: float) -> float:
    return round(round(x / tick) * tick, 12)


@dataclass(frozen=True, slots=True)
class Settlement:
    """A funding settlement of one perpetual at ``ts_ms`` (a funding time)."""

    venue: str
    coin: str
    ts_ms: int
    rate: float
    mark: float
    index: float


@dataclass(slots=True)
class PerpState:
    """Mutable state of one venue's inverse perpetual of one coin."""

    venue: str
    coin: str
    premium: float
    mark: float = 0.0
    last: float = 0.0
    bid: float = 0.0
    ask: float = 0.0
    bid_size: int = 0
    ask_size: int = 0
    funding_rate: float = INTEREST_RATE  # predicted rate for the running interval
    next_funding_ms: int = 0
    last_settled_rate: float | None = None
    open_interest: int = 0  # USD face value
    volume_24h: int = 0  # USD face value traded in the running day
    turnover_24h: float = 0.0  # coin
    prev_price_24h: float = 0.0
    prev_price_1h: float = 0.0
    high_24h: float = 0.0
    low_24h: float = 0.0
    tick_direction: str = "ZeroPlusTick"
    expiry_ms: int | None = None  # a dated future's delivery time (None: the perpetual)
    _prem_sum: float = 0.0  # ∫ premium dt over the running interval
    _prem_ms: float = 0.0


@dataclass(slots=True)
class SpotState:
    coin: str
    last: float = 0.0
    bid: float = 0.0
    ask: float = 0.0
    bid_qty: float = 0.0
    ask_qty: float = 0.0
    volume_24h: float = 0.0
    turnover_24h: float = 0.0
    prev_price_24h: float = 0.0
    high_24h: float = 0.0
    low_24h: float = 0.0


@dataclass(slots=True)
class CoinState:
    params: CoinParams
    index: float
    log_index: float
    spot: SpotState
    perps: dict[str, PerpState] = field(default_factory=dict)
    # dated futures per venue, nearest expiry first (``PerpState`` with ``expiry_ms`` set)
    futures: dict[str, list[PerpState]] = field(default_factory=dict)


class MarketModel:
    """The simulated market of ``coins`` (codes from ``COIN_TABLE``, or ``CoinParams`` of
    one's own). ``advance(dt_ms)`` steps it; read the state with ``coin(c)``,
    ``perp(venue, c)``, ``spot(c)``; settlements are returned by ``advance`` and kept in
    ``settlements``."""

    def __init__(
        self,
        coins: Sequence[str | CoinParams] = DEFAULT_COINS,
        *,
        seed: int = 1,
        start_ms: int,
        params: ModelParams | None = None,
        venues: Iterable[str] = VENUES,
    ) -> None:
        if not coins:
            raise UnknownCoinError("no coins given")
        self.params = params or ModelParams()
        self.now_ms = int(start_ms)
        self._rng = random.Random(seed)
        # OKX's and Deribit's perpetuals and the dated futures: a stream of their own.
        self._rng2 = random.Random(seed * 1_000_003 + 29)
        self._venues = tuple(venues)
        self._kappa = math.log(2.0) / self.params.premium_half_life_ms
        self._hour_mark = self.now_ms // HOUR_MS
        self._day_mark = self.now_ms // (24 * HOUR_MS)
        self.expiries = quarterly_expiries(self.now_ms)
        self.settlements: list[Settlement] = []
        self.coins: dict[str, CoinState] = {}
        for name in coins:
            p = name if isinstance(name, CoinParams) else coin_params(name)
            if p.coin in self.coins:
                continue
            cs = CoinState(
                params=p,
                index=p.start_price,
                log_index=math.log(p.start_price),
                spot=SpotState(p.coin),
            )
            for venue in self._venues:
                rng = self._rng_of(venue, None)
                prem = p.premium_mean + p.premium_std * rng.gauss(0.0, 1.0)
                perp = PerpState(venue=venue, coin=p.coin, premium=prem)
                perp.next_funding_ms = next_funding_after(
                    self.now_ms, self.params.funding_interval_ms
                )
                perp.open_interest = int(rng.uniform(2e7, 6e8) / max(1.0, p.beta))
                cs.perps[venue] = perp
            for venue in self._venues:
                dated: list[PerpState] = []
                for exp in self.expiries:
                    prem = p.premium_mean + p.premium_std * self._rng2.gauss(0.0, 1.0)
                    fut = PerpState(venue=venue, coin=p.coin, premium=prem, expiry_ms=exp)
                    fut.open_interest = int(self._rng2.uniform(5e6, 1e8) / max(1.0, p.beta))
                    dated.append(fut)
                cs.futures[venue] = dated
            self.coins[p.coin] = cs
            self._quote(cs, first=True)

    def _rng_of(self, venue: str, expiry_ms: int | None) -> random.Random:
        if expiry_ms is None and venue in FIRST_STREAM_VENUES:
            return self._rng
        return self._rng2

    # -- reading -------------------------------------------------------------------------------

    def coin(self, coin: str) -> CoinState:
        return self.coins[coin.upper()]

    def perp(self, venue: str, coin: str) -> PerpState:
        return self.coins[coin.upper()].perps[venue]

    def spot(self, coin: str) -> SpotState:
        return self.coins[coin.upper()].spot

    def price(self, coin: str) -> float:
        """The current index price of ``coin`` in USD."""
        return self.coins[coin.upper()].index

    def futures(self, venue: str, coin: str) -> list[PerpState]:
        """``venue``'s dated futures of ``coin``, nearest expiry first."""
        return self.coins[coin.upper()].futures.get(venue, [])

    # -- stepping ------------------------------------------------------------------------------

    def advance(self, dt_ms: int) -> list[Settlement]:
        """Move the market ``dt_ms`` milliseconds forward; returns the settlements that fell
        inside the step (already applied)."""
        if dt_ms <= 0:
            return []
        rng = self._rng
        pr = self.params
        t0 = self.now_ms
        t1 = t0 + dt_ms
        dt_y = dt_ms / MS_PER_YEAR
        sq = math.sqrt(dt_y)
        days = dt_ms / (24 * HOUR_MS)
        market = pr.market_vol * sq * rng.gauss(0.0, 1.0) - 0.5 * pr.market_vol**2 * dt_y
        market += _jumps(rng, pr.market_jump_per_day * days, pr.market_jump_std)
        decay = math.exp(-self._kappa * dt_ms)
        out: list[Settlement] = []
        for cs in self.coins.values():
            p = cs.params
            idio = p.idio_vol * sq * rng.gauss(0.0, 1.0) - 0.5 * p.idio_vol**2 * dt_y
            idio += _jumps(rng, pr.idio_jump_per_day * days, pr.idio_jump_std)
            cs.log_index += p.beta * market + idio
            cs.index = math.exp(cs.log_index)
            for perp in cs.perps.values():
                if perp.venue in CONTINUOUS_FUNDING:
                    perp._prem_sum += perp.premium * dt_ms
                    perp._prem_ms += dt_ms
                    self._revert(perp, p, decay)
                    continue
                # Settlements inside the step use the premium path up to the funding time:
                # the old premium is held until then (the step is short next to the interval).
                seg_start = t0
                while perp.next_funding_ms <= t1:
                    ft = perp.next_funding_ms
                    perp._prem_sum += perp.premium * (ft - seg_start)
                    perp._prem_ms += ft - seg_start
                    rate = self._rate(perp)
                    perp.last_settled_rate = rate
                    st = Settlement(perp.venue, perp.coin, ft, rate, perp.mark, cs.index)
                    out.append(st)
                    perp._prem_sum = 0.0
                    perp._prem_ms = 0.0
                    perp.next_funding_ms = ft + pr.funding_interval_ms
                    seg_start = ft
                perp._prem_sum += perp.premium * (t1 - seg_start)
                perp._prem_ms += t1 - seg_start
                self._revert(perp, p, decay)
            for dated in cs.futures.values():
                for fut in dated:
                    self._revert(fut, p, decay)
            self._quote(cs, first=False, dt_ms=dt_ms)
        self.now_ms = t1
        hour = t1 // HOUR_MS
        day = t1 // (24 * HOUR_MS)
        if hour != self._hour_mark:
            self._hour_mark = hour
            for cs in self.coins.values():
                for perp in _contracts(cs):
                    perp.prev_price_1h = perp.last
        if day != self._day_mark:
            self._day_mark = day
            for cs in self.coins.values():
                _roll_day(cs)
        self.settlements.extend(out)
        return out

    def _revert(self, perp: PerpState, p: CoinParams, decay: float) -> None:
        """One exact Ornstein-Uhlenbeck step of ``perp``'s premium."""
        rng = self._rng_of(perp.venue, perp.expiry_ms)
        std = p.premium_std * math.sqrt(max(0.0, 1.0 - decay * decay))
        perp.premium = (
            p.premium_mean + (perp.premium - p.premium_mean) * decay + std * rng.gauss(0, 1)
        )

    def basis(self, fut: PerpState) -> float:
        """The dated future's basis term ``b·τ`` (years left, 0 once expired)."""
        if fut.expiry_ms is None:
            return 0.0
        years = max(0, fut.expiry_ms - self.now_ms) / MS_PER_YEAR
        return self.params.future_basis * years

    def shock(self, coin: str, rel: float) -> None:
        """Move ``coin``'s index by ``rel`` (0.05: 5 % up) at once, as a jump would, and
        re-quote it: for driving a position to its liquidation on purpose."""
        if not rel > -1.0:
            raise ValueError(f"a shock must keep the price positive, got {rel!r}")
        cs = self.coins[coin.upper()]
        cs.log_index += math.log1p(rel)
        cs.index = math.exp(cs.log_index)
        self._quote(cs, first=False)

    def _rate(self, perp: PerpState) -> float:
        avg = perp._prem_sum / perp._prem_ms if perp._prem_ms > 0 else perp.premium
        pr = self.params
        return bybit_funding_rate(avg, interest=pr.interest_rate, clamp=pr.clamp, cap=pr.cap)

    def _quote_contract(self, perp: PerpState, cs: CoinState, *, first: bool, dt_ms: int) -> None:
        """Quote one perpetual or dated future: mark from the index, its premium and (dated)
        the basis; a one- or two-tick spread around it; sizes, volume, 24 h statistics."""
        rng = self._rng_of(perp.venue, perp.expiry_ms)
        p = cs.params
        perp.mark = cs.index * (1.0 + perp.premium + self.basis(perp))
        bid = math.floor(perp.mark / p.perp_tick) * p.perp_tick
        if bid <= 0:
            bid = p.perp_tick
        spread = 1 if rng.random() < 0.8 else 2
        perp.bid = round_to_tick(bid, p.perp_tick)
        perp.ask = round_to_tick(bid + spread * p.perp_tick, p.perp_tick)
        last = perp.bid if rng.random() < 0.5 else perp.ask
        if not first:
            if last > perp.last:
                perp.tick_direction = "PlusTick"
            elif last < perp.last:
                perp.tick_direction = "MinusTick"
            elif perp.tick_direction in ("PlusTick", "ZeroPlusTick"):
                perp.tick_direction = "ZeroPlusTick"
            else:
                perp.tick_direction = "ZeroMinusTick"
        perp.last = last
        perp.bid_size = int(rng.expovariate(1.0 / 50_000.0)) + 1
        perp.ask_size = int(rng.expovariate(1.0 / 50_000.0)) + 1
        if dt_ms:
            traded = int(rng.expovariate(1.0 / (2_000.0 * dt_ms / 100.0)))
            perp.volume_24h += traded
            perp.turnover_24h += traded / last
            perp.open_interest = max(1_000, perp.open_interest + int(rng.gauss(0, 1) * traded))
        if first:
            perp.prev_price_24h = perp.prev_price_1h = last
            perp.high_24h = perp.low_24h = last
        perp.high_24h = max(perp.high_24h, last)
        perp.low_24h = min(perp.low_24h, last)

    def _quote(self, cs: CoinState, *, first: bool, dt_ms: int = 0) -> None:
        """Derive the quoted prices (mark, last, bid/ask, spot) from the index and premium."""
        rng = self._rng
        p = cs.params
        for perp in cs.perps.values():
            self._quote_contract(perp, cs, first=first, dt_ms=dt_ms)
            perp.funding_rate = self._rate(perp)
        for dated in cs.futures.values():
            for fut in dated:
                self._quote_contract(fut, cs, first=first, dt_ms=dt_ms)
        s = cs.spot
        mid = cs.index * (1.0 + self.params.spot_noise * rng.gauss(0.0, 1.0))
        s.bid = round_to_tick(math.floor(mid / p.spot_tick) * p.spot_tick, p.spot_tick)
        if s.bid <= 0:
            s.bid = p.spot_tick
        s.ask = round_to_tick(s.bid + p.spot_tick, p.spot_tick)
        s.last = s.bid if rng.random() < 0.5 else s.ask
        s.bid_qty = round(rng.expovariate(1.0 / (20_000.0 / s.last)), 5)
        s.ask_qty = round(rng.expovariate(1.0 / (20_000.0 / s.last)), 5)
        if dt_ms:
            q = rng.expovariate(1.0 / (1_000.0 * dt_ms / 100.0)) / s.last
            s.volume_24h += q
            s.turnover_24h += q * s.last
        if first:
            s.prev_price_24h = s.high_24h = s.low_24h = s.last
        s.high_24h = max(s.high_24h, s.last)
        s.low_24h = min(s.low_24h, s.last)


def _jumps(rng: random.Random, intensity: float, std: float) -> float:
    """Sum of the jumps (normal sizes) that a Poisson process of ``intensity`` (expected count
    in this step) produces; for the short steps used here almost always 0 or one jump."""
    if intensity <= 0.0:
        return 0.0
    total = 0.0
    u = rng.random()
    k = 0
    p = math.exp(-intensity)
    cum = p
    while u > cum and k < 20:
        k += 1
        p *= intensity / k
        cum += p
    for _ in range(k):
        total += rng.gauss(0.0, std)
    return total


def _contracts(cs: CoinState) -> list[PerpState]:
    """Every perpetual and dated future of one coin."""
    out = list(cs.perps.values())
    for dated in cs.futures.values():
        out.extend(dated)
    return out


def _roll_day(cs: CoinState) -> None:
    for perp in _contracts(cs):
        perp.prev_price_24h = perp.last
        perp.high_24h = perp.low_24h = perp.last
        perp.volume_24h = 0
        perp.turnover_24h = 0.0
    s = cs.spot
    s.prev_price_24h = s.high_24h = s.low_24h = s.last
    s.volume_24h = 0.0
    s.turnover_24h = 0.0
