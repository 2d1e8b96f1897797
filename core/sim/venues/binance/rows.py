"""Binance COIN-M rows as the REST API and the user data stream print them, from Binance's
derivatives docs (coin-margined-futures: trade/rest-api New-Order, Query-Order; account/rest-api
Account-Information, Futures-Account-Balance, Position-Information, Account-Trade-List,
Get-Income-History; user-data-streams Event-Balance-and-Position-Update,
Event-Order-Update, Event-Margin-Call). Quantities are contracts of ``contractSize`` USD;
money is coin."""

from __future__ import annotations

from typing import Any

from core.sim.accounts import (
    Account,
    ExecKind,
    Execution,
    LedgerEntry,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from core.sim.fmt import coin_str, fmt_fixed, fmt_trim, tick_decimals
from core.sim.seed import MarginMode
from core.sim.venues.binance.public import perp_symbol

STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    # A market (or IOC) order's unfilled remainder expires.
    OrderStatus.PARTIALLY_FILLED_CANCELED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}
TIF = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "GTX",
}


def pair(coin: str) -> str:
    return f"{coin}USD"


def side_text(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


class Rows:
    def __init__(self, ticks: dict[str, float], faces: dict[str, int]) -> None:
        self.ticks = ticks
        self.faces = faces

    def price(self, coin: str, x: float | None) -> str:
        if x is None or x <= 0:
            return "0"
        return fmt_fixed(x, max(1, tick_decimals(self.ticks[coin])))

    def contracts(self, coin: str, usd: int) -> str:
        return str(usd // self.faces[coin])

    def order(self, o: Order, *, ack: bool = False) -> dict[str, Any]:
        """The order as it stands (``ack``: as it was accepted, before any fill)."""
        status = OrderStatus.NEW if ack else o.status
        filled = 0 if ack else o.filled
        value = 0.0 if ack else o.value
        avg = None if ack else o.avg_price
        kind = (
            "LIQUIDATION"
            if o.liquidation
            else ("MARKET" if o.type is OrderType.MARKET else "LIMIT")
        )
        return {
            "orderId": int(o.id),
            "symbol": perp_symbol(o.coin),
            "pair": pair(o.coin),
            "status": STATUS[status],
            "clientOrderId": f"autoclose-{o.id}" if o.liquidation else o.client_id,
            "price": self.price(o.coin, o.price),
            "avgPrice": self.price(o.coin, avg),
            "origQty": self.contracts(o.coin, o.qty),
            "executedQty": self.contracts(o.coin, filled),
            "cumQty": self.contracts(o.coin, filled),
            "cumBase": coin_str(value),
            "timeInForce": "GTC" if o.type is OrderType.MARKET else TIF[o.tif],
            "type": kind,
            "reduceOnly": o.reduce_only,
            "closePosition": False,
            "side": side_text(o.side),
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": kind,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE",
            "time": o.created_ms,
            "updateTime": o.updated_ms if not ack else o.created_ms,
        }

    def position_risk(self, acct: Account, coin: str) -> dict[str, Any]:
        pos = acct.position(coin)
        mark = acct.mark(coin)
        iso = pos.mode is MarginMode.ISOLATED
        upnl = pos.upnl(mark)
        liq = acct.liquidation_price(coin) if pos.size else None
        return {
            "symbol": perp_symbol(coin),
            "positionAmt": str(pos.size // self.faces[coin]),
            "entryPrice": fmt_trim(pos.entry, 8) if pos.size else "0.0",
            "breakEvenPrice": fmt_trim(pos.entry, 8) if pos.size else "0.0",
            "markPrice": fmt_trim(mark, 8),
            "unRealizedProfit": coin_str(upnl),
            "liquidationPrice": fmt_trim(liq, 8) if liq is not None else "0",
            "leverage": str(int(pos.leverage)) if pos.leverage.is_integer() else str(pos.leverage),
            "maxQty": "1000",
            "marginType": "isolated" if iso else "cross",
            "isolatedMargin": coin_str(pos.margin + upnl) if iso and pos.size else "0.00000000",
            "isAutoAddMargin": "false",
            "positionSide": "BOTH",
            "notionalValue": coin_str(pos.size / mark if mark else 0.0),
            "isolatedWallet": coin_str(pos.margin) if iso else "0",
            "updateTime": pos.updated_ms,
        }

    def account_position(self, acct: Account, coin: str) -> dict[str, Any]:
        pos = acct.position(coin)
        mark = acct.mark(coin)
        mm = acct.rules.maintenance_margin(pos, mark)
        im = acct.position_margin(coin)
        return {
            "symbol": perp_symbol(coin),
            "positionAmt": str(pos.size // self.faces[coin]),
            "initialMargin": coin_str(im + acct.order_margin(coin)),
            "maintMargin": coin_str(mm),
            "unrealizedProfit": coin_str(pos.upnl(mark)),
            "positionInitialMargin": coin_str(im),
            "openOrderInitialMargin": coin_str(acct.order_margin(coin)),
            "leverage": str(int(pos.leverage)) if pos.leverage.is_integer() else str(pos.leverage),
            "isolated": pos.mode is MarginMode.ISOLATED,
            "positionSide": "BOTH",
            "entryPrice": fmt_trim(pos.entry, 8) if pos.size else "0.0",
            "breakEvenPrice": fmt_trim(pos.entry, 8) if pos.size else "0.0",
            "maxQty": "1000",
            "notionalValue": coin_str(pos.size / mark if mark else 0.0),
            "isolatedWallet": coin_str(pos.margin),
            "updateTime": pos.updated_ms,
        }

    def asset(self, acct: Account, coin: str) -> dict[str, Any]:
        pos = acct.positions.get(coin)
        mark = acct.mark(coin) if coin in acct.books else 0.0
        upnl = pos.upnl(mark) if pos is not None and pos.size else 0.0
        mm = acct.rules.maintenance_margin(pos, mark) if pos is not None and pos.size else 0.0
        wallet = acct.wallet.get(coin, 0.0)
        iso = pos is not None and pos.mode is MarginMode.ISOLATED
        cross_wallet = wallet - (pos.margin if iso and pos is not None else 0.0)
        avail = acct.available(coin)
        return {
            "asset": coin,
            "walletBalance": coin_str(wallet),
            "unrealizedProfit": coin_str(upnl),
            "marginBalance": coin_str(wallet + upnl),
            "maintMargin": coin_str(mm),
            "initialMargin": coin_str(acct.position_margin(coin) + acct.order_margin(coin)),
            "positionInitialMargin": coin_str(acct.position_margin(coin)),
            "openOrderInitialMargin": coin_str(acct.order_margin(coin)),
            "maxWithdrawAmount": coin_str(avail),
            "crossWalletBalance": coin_str(cross_wallet),
            "crossUnPnl": coin_str(0.0 if iso else upnl),
            "availableBalance": coin_str(avail),
            "updateTime": pos.updated_ms if pos is not None else 0,
        }

    def balance(self, acct: Account, coin: str) -> dict[str, Any]:
        a = self.asset(acct, coin)
        return {
            "accountAlias": "SgsR",
            "asset": coin,
            "balance": a["walletBalance"],
            "withdrawAvailable": a["maxWithdrawAmount"],
            "crossWalletBalance": a["crossWalletBalance"],
            "crossUnPnl": a["crossUnPnl"],
            "availableBalance": a["availableBalance"],
            "updateTime": a["updateTime"],
        }

    def user_trade(self, ex: Execution, trade_id: int) -> dict[str, Any]:
        return {
            "symbol": perp_symbol(ex.coin),
            "id": trade_id,
            "orderId": int(ex.order_id),
            "pair": pair(ex.coin),
            "side": side_text(ex.side),
            "price": self.price(ex.coin, ex.price),
            "qty": self.contracts(ex.coin, ex.qty),
            "realizedPnl": coin_str(ex.realised),
            "marginAsset": ex.coin,
            "baseQty": coin_str(ex.value),
            "commission": coin_str(ex.fee),
            "commissionAsset": ex.coin,
            "time": ex.ts_ms,
            "positionSide": "BOTH",
            "buyer": ex.side is Side.BUY,
            "maker": ex.maker,
        }

    def incomes(self, e: LedgerEntry) -> list[dict[str, Any]]:
        """The income rows a ledger entry makes: funding one FUNDING_FEE; a trade a
        COMMISSION and, when it closed something, a REALIZED_PNL (liquidation too)."""
        base = {
            "symbol": perp_symbol(e.coin),
            "asset": e.coin,
            "info": "",
            "time": e.ts_ms,
            "tradeId": "",
        }
        out: list[dict[str, Any]] = []
        if e.kind is ExecKind.FUNDING:
            out.append({**base, "incomeType": "FUNDING_FEE", "income": coin_str(e.funding)})
        else:
            trade_id = str(e.id)
            if e.realised:
                out.append(
                    {
                        **base,
                        "incomeType": "REALIZED_PNL",
                        "income": coin_str(e.realised),
                        "tradeId": trade_id,
                        "info": "LIQUIDATION" if e.kind is ExecKind.LIQUIDATION else "",
                    }
                )
            if e.fee:
                out.append(
                    {
                        **base,
                        "incomeType": "COMMISSION",
                        "income": coin_str(-e.fee),
                        "tradeId": trade_id,
                    }
                )
        for k, row in enumerate(out):
            row["tranId"] = e.id * 10 + k
        return out
