"""The words for a recorded event (``storage.history.HistoryEvent``): one line, units on every
figure, as the history screen lists it and ``hedgetop history`` prints and exports it."""

from __future__ import annotations

from core.events import AlertEvent, Fill, FundingEvent
from storage.history import HistoryEvent


def settlement_coin(symbol: str, coin: str | None) -> str:
    """The coin a hedge settles in: as recorded, else read off a symbol like ``BTCUSD`` or
    ``BTC-USD-SWAP``, else the word "coin"."""
    if coin:
        return coin
    for sep in ("-", "USD"):
        head = symbol.split(sep, maxsplit=1)[0]
        if head and head != symbol:
            return head
    return "coin"


def fill_text(f: Fill, coin: str | None = None) -> str:
    c = settlement_coin(f.symbol, coin)
    text = (
        f"{f.side} {f.contracts} contracts {f.venue} {f.symbol} ({f.size_usd:,.0f} USD) "
        f"at {f.price:,.2f} USD, fee {f.fee_coin:.8f} {c}"
    )
    if f.realized_pnl_coin:
        text += f", realised {f.realized_pnl_coin:+.8f} {c}"
    return text + f", now {f.contracts_after} contracts"


def funding_text(e: FundingEvent, coin: str | None = None) -> str:
    c = settlement_coin(e.symbol, coin)
    verb = "received" if e.amount_coin >= 0 else "paid"
    return (
        f"funding {verb} {abs(e.amount_coin):.8f} {c} ({e.venue} {e.symbol}, "
        f"rate {e.rate * 100:+.4f} %, {e.size_usd:,.0f} USD at {e.mark:,.2f} USD)"
    )


def alert_text(a: AlertEvent) -> str:
    return f"alert {a.state}: {a.message}"


def event_text(ev: HistoryEvent) -> str:
    e = ev.event
    if isinstance(e, Fill):
        return fill_text(e, ev.coin)
    if isinstance(e, FundingEvent):
        return funding_text(e, ev.coin)
    return alert_text(e)
