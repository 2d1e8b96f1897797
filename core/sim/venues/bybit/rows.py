"""Bybit v5 rows (all values strings, as Bybit sends them), shared by REST and the private
stream: order (v5/order/open-order), position (v5/position/position), execution
(v5/order/execution), wallet (v5/account/wallet-balance), transaction log
(v5/account/transaction-log) and closed PnL (v5/position/close-pnl)."""

from __future__ import annotations

from typing import Any

from core.sim.accounts import (
    Account,
    ClosedPnl,
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
from core.sim.venues.bybit.margin import tier_for
from core.sim.venues.bybit.public import inverse_symbol

MAX_PRICE = 1_999_999.0  # instruments-info priceFilter.maxPrice

STATUS = {
    OrderStatus.NEW: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELED: "Cancelled",
    OrderStatus.PARTIALLY_FILLED_CANCELED: "PartiallyFilledCanceled",
    OrderStatus.REJECTED: "Rejected",
}
TIF = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "PostOnly",
}
EXEC_TYPE = {
    ExecKind.TRADE: "Trade",
    ExecKind.FUNDING: "Funding",
    ExecKind.LIQUIDATION: "BustTrade",
}
LEDGER_TYPE = {
    ExecKind.TRADE: "TRADE",
    ExecKind.FUNDING: "SETTLEMENT",
    ExecKind.LIQUIDATION: "LIQUIDATION",
}


def side_text(side: Side) -> str:
    return "Buy" if side is Side.BUY else "Sell"


class Rows:
    """Formats one account's state the way Bybit prints it (prices to the tick)."""

    def __init__(self, ticks: dict[str, float]) -> None:
        self.ticks = ticks

    def price(self, coin: str, x: float | None) -> str:
        if x is None or x <= 0:
            return ""
        return fmt_fixed(x, max(1, tick_decimals(self.ticks[coin])))

    def order(self, o: Order) -> dict[str, Any]:
        avg = o.avg_price
        leaves_value = o.leaves / o.price if o.price else 0.0
        return {
            "orderId": o.id,
            "orderLinkId": o.client_id,
            "blockTradeId": "",
            "symbol": inverse_symbol(o.coin),
            "price": self.price(o.coin, o.price) or "0",
            "qty": str(o.qty),
            "side": side_text(o.side),
            "isLeverage": "",
            "positionIdx": 0,
            "orderStatus": STATUS[o.status],
            "createType": "CreateByLiq" if o.liquidation else "CreateByUser",
            "cancelType": "UNKNOWN"
            if o.status.open or o.status is OrderStatus.FILLED
            else ("CancelByUser"),
            "rejectReason": "EC_NoError",
            "avgPrice": self.price(o.coin, avg) or "0",
            "leavesQty": str(o.leaves),
            "leavesValue": coin_str(leaves_value),
            "cumExecQty": str(o.filled),
            "cumExecValue": coin_str(o.value),
            "cumExecFee": coin_str(o.fee),
            "cumFeeDetail": {o.coin: coin_str(o.fee)},
            "timeInForce": "IOC" if o.type is OrderType.MARKET else TIF[o.tif],
            "orderType": "Market" if o.type is OrderType.MARKET else "Limit",
            "stopOrderType": "",
            "orderIv": "",
            "triggerPrice": "",
            "takeProfit": "",
            "stopLoss": "",
            "tpTriggerBy": "",
            "slTriggerBy": "",
            "triggerDirection": 0,
            "triggerBy": "",
            "lastPriceOnCreated": "",
            "reduceOnly": o.reduce_only,
            "closeOnTrigger": False,
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "tpslMode": "",
            "tpLimitPrice": "",
            "slLimitPrice": "",
            "placeType": "",
            "createdTime": str(o.created_ms),
            "updatedTime": str(o.updated_ms),
        }

    def position(self, acct: Account, coin: str) -> dict[str, Any]:
        pos = acct.position(coin)
        mark = acct.mark(coin)
        open_ = pos.size != 0
        pv = pos.value_at_entry()
        tier = tier_for(coin, pv)
        liq = acct.liquidation_price(coin) if open_ else None
        if liq is not None and liq > MAX_PRICE:
            liq = None  # Bybit leaves liqPrice empty outside [minPrice, maxPrice]
        bust = acct.bankruptcy_price(pos) if open_ else None
        im = acct.position_margin(coin)
        mm = acct.rules.maintenance_margin(pos, mark) if open_ else 0.0
        return {
            "positionIdx": 0,
            "riskId": tier.id,
            "riskLimitValue": fmt_trim(tier.limit, 8),
            "symbol": inverse_symbol(coin),
            "side": ("Buy" if pos.size > 0 else "Sell") if open_ else "",
            "size": str(pos.qty),
            "avgPrice": self.price(coin, pos.entry) or "0",
            "positionValue": coin_str(pv),
            "tradeMode": 1 if pos.mode is MarginMode.ISOLATED else 0,
            "autoAddMargin": 0,
            "positionStatus": "Normal",
            "leverage": fmt_trim(pos.leverage, 2),
            "markPrice": self.price(coin, mark),
            "liqPrice": self.price(coin, liq),
            "bustPrice": self.price(coin, bust),
            "positionIM": coin_str(im),
            "positionMM": coin_str(mm),
            "positionBalance": coin_str(im),
            "takeProfit": "0",
            "stopLoss": "0",
            "trailingStop": "0",
            "sessionAvgPrice": "",
            "delta": "",
            "gamma": "",
            "vega": "",
            "theta": "",
            "unrealisedPnl": coin_str(pos.upnl(mark)),
            "curRealisedPnl": coin_str(pos.realised_cur),
            "cumRealisedPnl": coin_str(pos.realised_cum),
            "adlRankIndicator": adl_rank(acct, coin),
            "createdTime": str(pos.created_ms),
            "updatedTime": str(pos.updated_ms),
            "seq": pos.seq,
            "isReduceOnly": False,
            "mmrSysUpdatedTime": "",
            "leverageSysUpdatedTime": "",
        }

    def execution(self, ex: Execution) -> dict[str, Any]:
        return {
            "symbol": inverse_symbol(ex.coin),
            "orderId": ex.order_id,
            "orderLinkId": ex.client_id,
            "side": side_text(ex.side),
            "orderPrice": self.price(ex.coin, ex.order_price) or "0",
            "orderQty": str(ex.order_qty),
            "leavesQty": str(ex.leaves),
            "createType": "CreateByLiq" if ex.kind is ExecKind.LIQUIDATION else "CreateByUser",
            "orderType": "Market" if ex.order_type is OrderType.MARKET else "Limit",
            "stopOrderType": "",
            "execFee": coin_str(ex.fee),
            "execId": ex.id,
            "execPrice": self.price(ex.coin, ex.price),
            "execQty": str(ex.qty),
            "execType": EXEC_TYPE[ex.kind],
            "execValue": coin_str(ex.value),
            "execTime": str(ex.ts_ms),
            "feeCurrency": ex.coin,
            "isMaker": ex.maker,
            "feeRate": fmt_trim(ex.fee_rate, 8),
            "tradeIv": "",
            "markIv": "",
            "markPrice": self.price(ex.coin, ex.mark),
            "indexPrice": self.price(ex.coin, ex.index),
            "underlyingPrice": "",
            "blockTradeId": "",
            "closedSize": str(ex.closed_qty),
            "seq": 0,
        }

    def wallet_coin(self, acct: Account, coin: str, *, unified: bool) -> dict[str, Any]:
        pos = acct.positions.get(coin)
        mark = acct.mark(coin) if coin in acct.books else 0.0
        upnl = pos.upnl(mark) if pos is not None and pos.size else 0.0
        futures = acct.wallet.get(coin, 0.0)
        spot = acct.spot.get(coin, 0.0) if unified else 0.0
        wallet = futures + spot
        mm = acct.rules.maintenance_margin(pos, mark) if pos is not None and pos.size else 0.0
        usd = (wallet + upnl) * (acct.index(coin) if coin in acct.books else 0.0)
        return {
            "coin": coin,
            "equity": coin_str(wallet + upnl),
            "usdValue": fmt_fixed(usd, 2),
            "walletBalance": coin_str(wallet),
            "free": "",
            "locked": "0",
            "spotHedgingQty": "0",
            "borrowAmount": "0",
            # UTA leaves it empty (ccxt then sums locked + IMs); a classic account fills it.
            "availableToWithdraw": "" if unified else coin_str(acct.available(coin)),
            "accruedInterest": "0",
            "totalOrderIM": coin_str(acct.order_margin(coin)),
            "totalPositionIM": coin_str(acct.position_margin(coin)),
            "totalPositionMM": coin_str(mm),
            "unrealisedPnl": coin_str(upnl),
            "cumRealisedPnl": coin_str(pos.realised_cum if pos is not None else 0.0),
            "bonus": "0",
            "marginCollateral": True,
            "collateralSwitch": True,
            "availableToBorrow": "",
        }

    def spot_coin(self, acct: Account, coin: str) -> dict[str, Any]:
        amount = acct.spot.get(coin, 0.0)
        return {
            "coin": coin,
            "walletBalance": coin_str(amount),
            "free": coin_str(amount),
            "locked": "0",
            "availableToWithdraw": coin_str(amount),
            "equity": coin_str(amount),
            "usdValue": fmt_fixed(amount * (acct.index(coin) if coin in acct.books else 0.0), 2),
        }

    def ledger(self, e: LedgerEntry) -> dict[str, Any]:
        """One transaction-log row. ``funding`` is positive when received (the opposite of an
        execution's ``execFee``); SETTLEMENT rows carry side Buy with the market rate, side
        Sell with minus the rate."""
        side = "" if e.side is None else side_text(e.side)
        fee_rate = (
            e.rate
            if e.kind is not ExecKind.FUNDING
            else (e.rate if e.side is Side.BUY else -e.rate)
        )
        return {
            "id": f"{e.id}",
            "symbol": inverse_symbol(e.coin),
            "category": "inverse",
            "side": side,
            "transactionTime": str(e.ts_ms),
            "type": LEDGER_TYPE[e.kind],
            "qty": str(e.qty),
            "size": str(e.qty),
            "currency": e.coin,
            "tradePrice": self.price(e.coin, e.price),
            "funding": coin_str(e.funding) if e.kind is ExecKind.FUNDING else "0",
            "fee": coin_str(e.fee),
            "cashFlow": coin_str(e.realised),
            "change": coin_str(e.change),
            "cashBalance": coin_str(e.balance),
            "feeRate": fmt_trim(fee_rate, 8),
            "bonusChange": "",
            "tradeId": e.exec_id,
            "orderId": e.order_id,
            "orderLinkId": e.client_id,
        }

    def closed_pnl(self, c: ClosedPnl) -> dict[str, Any]:
        return {
            "symbol": inverse_symbol(c.coin),
            "orderId": c.order_id,
            "side": side_text(c.side),
            "qty": str(c.qty),
            "orderPrice": self.price(c.coin, c.exit),
            "orderType": "Market" if c.order_type is OrderType.MARKET else "Limit",
            "execType": "Trade",
            "closedSize": str(c.qty),
            "cumEntryValue": coin_str(c.qty / c.entry),
            "avgEntryPrice": self.price(c.coin, c.entry),
            "cumExitValue": coin_str(c.qty / c.exit),
            "avgExitPrice": self.price(c.coin, c.exit),
            "closedPnl": coin_str(c.pnl),
            "fillCount": "1",
            "leverage": fmt_trim(c.leverage, 2),
            "createdTime": str(c.ts_ms),
            "updatedTime": str(c.ts_ms),
        }


def adl_rank(acct: Account, coin: str) -> int:
    """Bybit's ADL rank indicator, 0 (no position) to 5 (first in the queue): the simulator
    ranks by unrealised PnL ratio times leverage, as the venue's "ranking" describes."""
    pos = acct.positions.get(coin)
    if pos is None or not pos.size:
        return 0
    col = acct.collateral(pos)
    pnl = pos.upnl(acct.mark(coin))
    if pnl <= 0 or col <= 0:
        return 1
    score = pnl / col * pos.leverage
    return max(1, min(5, 1 + int(score * 4)))
