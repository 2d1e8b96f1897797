"""The venues' wire formats, written from their public documentation (and checked against the
recorded messages in ``shared/fixtures/ws``). Pure functions from model state to the JSON
objects the exchanges push; nothing here is shared with ``core/feeds`` on purpose: a
misunderstanding shared by both sides would pass every test.

Bybit v5 public ``tickers.{symbol}`` (inverse socket): a snapshot, then deltas carrying only
the fields that changed; every value is a string; envelope ``topic, type, data, cs, ts``.
Bybit v5 spot ``tickers.{symbol}``: always a full snapshot (no bid/ask), envelope
``topic, ts, type, cs, data``.
Binance COIN-M ``<symbol>@markPrice[@1s]`` (``markPriceUpdate``: e, E, s, p, P, i, r, T) and
``<symbol>@bookTicker`` (u, e, s, ps, b, B, a, A, T, E); Binance spot ``<symbol>@bookTicker``
(u, s, b, B, a, A: no event type, no times).
"""

from __future__ import annotations

from typing import Any

from core.sim.model import CoinParams, PerpState, SpotState


def tick_decimals(tick: float) -> int:
    """Decimals needed to print multiples of ``tick`` exactly (0.5 -> 1, 0.0001 -> 4)."""
    text = f"{tick:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def fmt_fixed(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def fmt_trim(x: float, decimals: int) -> str:
    """Fixed decimals, then trailing zeros removed (Bybit spot and rates print like this)."""
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


# -- symbols -------------------------------------------------------------------------------------


def bybit_inverse_symbol(coin: str) -> str:
    return f"{coin.upper()}USD"


def bybit_spot_symbol(coin: str) -> str:
    return f"{coin.upper()}USDT"


def binance_perp_symbol(coin: str) -> str:
    return f"{coin.upper()}USD_PERP"


def binance_spot_symbol(coin: str) -> str:
    return f"{coin.upper()}USDT"


# -- Bybit ---------------------------------------------------------------------------------------


def bybit_inverse_ticker(p: CoinParams, perp: PerpState, index: float) -> dict[str, str]:
    """The full ``data`` object of a Bybit inverse ``tickers`` snapshot (all strings, in the
    order Bybit sends them)."""
    d = max(2, tick_decimals(p.perp_tick))
    pct = perp.last / perp.prev_price_24h - 1.0 if perp.prev_price_24h else 0.0
    oi_value = perp.open_interest / perp.mark if perp.mark else 0.0
    return {
        "symbol": bybit_inverse_symbol(p.coin),
        "tickDirection": perp.tick_direction,
        "price24hPcnt": fmt_fixed(pct, 6),
        "lastPrice": fmt_fixed(perp.last, d),
        "prevPrice24h": fmt_fixed(perp.prev_price_24h, d),
        "highPrice24h": fmt_fixed(perp.high_24h, d),
        "lowPrice24h": fmt_fixed(perp.low_24h, d),
        "prevPrice1h": fmt_fixed(perp.prev_price_1h, d),
        "markPrice": fmt_fixed(perp.mark, d),
        "indexPrice": fmt_fixed(index, d),
        "openInterest": str(perp.open_interest),
        "openInterestValue": fmt_fixed(oi_value, 2),
        "turnover24h": fmt_fixed(perp.turnover_24h, 4),
        "volume24h": str(perp.volume_24h),
        "nextFundingTime": str(perp.next_funding_ms),
        "fundingRate": fmt_trim(perp.funding_rate, 8),
        "bid1Price": fmt_fixed(perp.bid, d),
        "bid1Size": str(perp.bid_size),
        "ask1Price": fmt_fixed(perp.ask, d),
        "ask1Size": str(perp.ask_size),
    }


def bybit_delta(prev: dict[str, str], cur: dict[str, str]) -> dict[str, str] | None:
    """The delta ``data`` for ``cur`` after ``prev``: the symbol plus every changed field, or
    None when nothing changed."""
    out = {"symbol": cur["symbol"]}
    for k, v in cur.items():
        if prev.get(k) != v:
            out[k] = v
    return out if len(out) > 1 else None


def bybit_inverse_message(
    topic: str, kind: str, data: dict[str, str], cs: int, ts_ms: int
) -> dict[str, Any]:
    return {"topic": topic, "type": kind, "data": data, "cs": cs, "ts": ts_ms}


def bybit_spot_ticker(p: CoinParams, spot: SpotState, index: float) -> dict[str, str]:
    d = tick_decimals(p.spot_tick)
    pct = spot.last / spot.prev_price_24h - 1.0 if spot.prev_price_24h else 0.0
    return {
        "symbol": bybit_spot_symbol(p.coin),
        "lastPrice": fmt_trim(spot.last, d),
        "highPrice24h": fmt_trim(spot.high_24h, d),
        "lowPrice24h": fmt_trim(spot.low_24h, d),
        "prevPrice24h": fmt_trim(spot.prev_price_24h, d),
        "volume24h": fmt_trim(spot.volume_24h, 6),
        "turnover24h": fmt_trim(spot.turnover_24h, 8),
        "price24hPcnt": fmt_trim(pct, 4),
        "usdIndexPrice": fmt_trim(index, 6),
    }


def bybit_spot_message(topic: str, data: dict[str, str], cs: int, ts_ms: int) -> dict[str, Any]:
    return {"topic": topic, "ts": ts_ms, "type": "snapshot", "cs": cs, "data": data}


def bybit_ack(
    *,
    spot: bool,
    op: str,
    conn_id: str,
    req_id: str | None,
    success: bool = True,
    ret_msg: str | None = None,
) -> dict[str, Any]:
    """A subscribe/unsubscribe/ping reply. The inverse (contract) socket always carries
    ``req_id`` (empty when the request had none) and an empty ``ret_msg`` on success; the spot
    socket says ``ret_msg: op`` and carries ``req_id`` only when the request had one."""
    if ret_msg is None:
        ret_msg = op if spot else ""
    msg: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "conn_id": conn_id}
    if not spot or req_id is not None:
        msg["req_id"] = req_id if req_id is not None else ""
    msg["op"] = op
    return msg


# -- Binance -------------------------------------------------------------------------------------


def binance_mark_price(
    p: CoinParams, perp: PerpState, index: float, event_ms: int
) -> dict[str, Any]:
    return {
        "e": "markPriceUpdate",
        "E": event_ms,
        "s": binance_perp_symbol(p.coin),
        "p": fmt_fixed(perp.mark, 8),
        "P": fmt_fixed(index, 8),
        "i": fmt_fixed(index, 8),
        "r": fmt_fixed(perp.funding_rate, 8),
        "T": perp.next_funding_ms,
    }


def binance_book_ticker(
    p: CoinParams, perp: PerpState, update_id: int, event_ms: int
) -> dict[str, Any]:
    d = tick_decimals(p.perp_tick)
    sym = binance_perp_symbol(p.coin)
    # Sizes are contracts of face value (100 USD for BTC, 10 USD for the others).
    return {
        "u": update_id,
        "e": "bookTicker",
        "s": sym,
        "ps": sym.removesuffix("_PERP"),
        "b": fmt_fixed(perp.bid, d),
        "B": str(max(1, int(perp.bid_size / p.face_usd))),
        "a": fmt_fixed(perp.ask, d),
        "A": str(max(1, int(perp.ask_size / p.face_usd))),
        "T": event_ms - 5,
        "E": event_ms,
    }


def binance_spot_book_ticker(p: CoinParams, spot: SpotState, update_id: int) -> dict[str, Any]:
    return {
        "u": update_id,
        "s": binance_spot_symbol(p.coin),
        "b": fmt_fixed(spot.bid, 8),
        "B": fmt_fixed(spot.bid_qty, 8),
        "a": fmt_fixed(spot.ask, 8),
        "A": fmt_fixed(spot.ask_qty, 8),
    }
