"""ccxt's account dicts to hedgetop's typed values, with every inverse-contract quirk fixed here
and nowhere else (each has a test in ``tests/accounts/test_normalise.py`` that says why).

- **The unit of ``contracts``** differs by venue: Bybit and Deribit count USD (ccxt's Bybit
  ``contractSize`` is ``minOrderQty``, and Deribit's market ``contractSize`` is 10 while its
  ``size`` is already USD, so ``contracts × contractSize`` is wrong on both); Binance COIN-M and
  OKX count contracts of ``contractSize`` USD. ``size_usd`` is computed from that, never from
  ccxt's ``notional``.
- **Bybit inverse ``notional``** is a coin figure derived from the mark (and without a
  ``category`` on the instrument, ``positionValue``: the margin-sized coin value), so it is
  not a size: it is ignored.
- **Funding history's currency and sign**: Bybit's ``fetch_funding_history`` reads
  ``execFee`` (> 0 paid) and labels inverse rows ``USD`` although they are in the coin; its
  transaction log ``funding`` is > 0 received; Binance's income is > 0 received; OKX's bill
  ``balChg`` is > 0 received. Every ``FundingPayment`` is > 0 received, in the settlement coin.
- **UTA vs classic**: a Bybit Unified Trading Account answers ``accountType=UNIFIED`` (one
  wallet for spot and derivatives), a classic one ``CONTRACT`` (the inverse wallet) and
  ``SPOT``; the wallet kind comes from the answer, not from the call.
- **Binance hedge mode**: ``positionSide`` LONG / SHORT says the side (two rows per symbol),
  BOTH means one-way and the sign of ``positionAmt`` does; a flat row is dropped.
- **Dated futures**: ccxt names them ``BTC/USD:BTC-260327`` (type ``future``, ``expiry``);
  they keep their venue-native symbol and are marked ``INVERSE_FUTURE`` with the expiry.
- **Binance COIN-M wallet**: ccxt's ``total`` is the margin balance (wallet plus unrealised
  PnL); the wallet is each asset's ``walletBalance``.
- **Execution type** (``exec_kind``): ccxt's trades carry no kind; the venue's own word is read
  from ``info`` (``exec_kind_of``: Bybit ``execType``, Binance's client order ids for its own
  orders, OKX ``subType``, Deribit ``liquidation``), None where the venue says nothing.
- **Margin mode**: ccxt leaves Bybit's ``marginMode`` None (``tradeMode`` is deprecated on
  UTA); a classic account's ``tradeMode`` (1 isolated, 0 cross) is read, else it stays unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from core.accounts.model import (
    AccountPosition,
    ExchangeFill,
    ExecKind,
    FundingPayment,
    MarginMode,
    WalletBalance,
    WalletKind,
)
from core.events import Kind, OrderSide, Side, Venue
from core.instruments import UnknownInstrument, lookup

#: Venues whose order quantity is USD (the rest count contracts of a face value).
USD_QTY_VENUES = frozenset({Venue.BYBIT, Venue.DERIBIT})

_BYBIT_WALLETS = {
    "UNIFIED": WalletKind.UNIFIED,
    "CONTRACT": WalletKind.FUTURES,
    "SPOT": WalletKind.SPOT,
}


def num(value: object) -> float | None:
    """A finite float from ccxt's numbers or strings; None for anything else ("" included)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _info(row: Mapping[str, Any]) -> Mapping[str, Any]:
    info = row.get("info")
    return info if isinstance(info, Mapping) else {}


def _coin_of(row: Mapping[str, Any], market: Mapping[str, Any] | None) -> str:
    """The settlement coin: the market's ``settle``, else the ccxt symbol's ``BTC/USD:BTC``."""
    if market:
        settle = market.get("settle") or market.get("base")
        if settle:
            return str(settle).upper()
    symbol = str(row.get("symbol") or "")
    if ":" in symbol:
        return symbol.split(":", 1)[1].split("-", 1)[0].upper()
    return symbol.split("/", 1)[0].upper()


def kind_of(market: Mapping[str, Any] | None, ccxt_symbol: str = "") -> tuple[Kind, int | None]:
    """Perpetual or dated future, and the expiry (ms) of a dated one."""
    expiry = None
    if market:
        expiry = market.get("expiry")
        if market.get("type") == "future" or expiry:
            e = num(expiry)
            return Kind.INVERSE_FUTURE, int(e) if e is not None else None
        return Kind.INVERSE_PERP, None
    # ccxt writes a dated future's symbol with its date after the settle coin: BTC/USD:BTC-260327
    if ":" in ccxt_symbol and "-" in ccxt_symbol.split(":", 1)[1]:
        return Kind.INVERSE_FUTURE, None
    return Kind.INVERSE_PERP, None


def venue_symbol(venue: Venue, row: Mapping[str, Any], market: Mapping[str, Any] | None) -> str:
    """The venue-native symbol (BTCUSD, BTCUSD_PERP, BTC-USD-SWAP, BTC-PERPETUAL)."""
    if market and market.get("id"):
        return str(market["id"])
    info = _info(row)
    for key in ("symbol", "instId", "instrument_name", "s"):
        v = info.get(key)
        if v:
            return str(v)
    return str(row.get("symbol") or "")


def face_usd(venue: Venue, market: Mapping[str, Any] | None, coin: str) -> float | None:
    """USD per contract on a contract-counting venue: the market's ``contractSize``, else the
    built-in table's face value. None when neither knows it."""
    cs = num(market.get("contractSize")) if market else None
    if cs is not None and cs > 0:
        return cs
    try:
        return lookup(venue.value, coin).face_value_usd
    except UnknownInstrument:
        return None


def size_usd(venue: Venue, contracts: float, market: Mapping[str, Any] | None, coin: str) -> float:
    """USD face value of ``contracts`` in the venue's unit (see the module doc).

    Raises ValueError on a contract-counting venue whose face value nobody knows: a size must
    never be guessed."""
    if venue in USD_QTY_VENUES:
        return float(contracts)
    face = face_usd(venue, market, coin)
    if face is None:
        raise ValueError(f"{venue.value}: no contract size known for {coin}")
    return float(contracts) * face


def _side(venue: Venue, row: Mapping[str, Any]) -> tuple[Side | None, bool]:
    """The side and whether the venue runs the symbol in hedge mode."""
    info = _info(row)
    if venue is Venue.BINANCE:
        ps = str(info.get("positionSide") or "").upper()
        if ps in ("LONG", "SHORT"):
            return (Side.LONG if ps == "LONG" else Side.SHORT), True
        amt = num(info.get("positionAmt"))
        if amt is not None and amt != 0:
            return (Side.LONG if amt > 0 else Side.SHORT), False
    side = str(row.get("side") or "").lower()
    hedged = bool(row.get("hedged"))
    if side in ("long", "short"):
        return Side(side), hedged
    return None, hedged


def _margin_mode(venue: Venue, row: Mapping[str, Any]) -> MarginMode | None:
    mode = str(row.get("marginMode") or "").lower()
    if mode in ("isolated", "cross"):
        return MarginMode(mode)
    info = _info(row)
    if venue is Venue.BYBIT and "tradeMode" in info:
        # classic accounts: 1 isolated, 0 cross; UTA always sends 0 (deprecated), so the caller
        # passes unified=True there and the mode stays unknown
        return MarginMode.ISOLATED if str(info["tradeMode"]) == "1" else MarginMode.CROSS
    if venue is Venue.BINANCE:
        mt = str(info.get("marginType") or "").lower()
        if mt in ("isolated", "cross"):
            return MarginMode(mt)
    return None


def _margin_coin(venue: Venue, row: Mapping[str, Any], mode: MarginMode | None) -> float | None:
    """The isolated margin the exchange holds for the position (None for cross / unknown)."""
    if mode is not MarginMode.ISOLATED:
        return None
    info = _info(row)
    if venue is Venue.BINANCE:
        return num(info.get("isolatedWallet"))
    if venue is Venue.BYBIT:
        v = num(info.get("positionBalance"))
        return v if v else num(info.get("positionIM"))
    return num(row.get("collateral")) or num(row.get("initialMargin"))


def normalise_position(
    venue: Venue,
    row: Mapping[str, Any],
    market: Mapping[str, Any] | None = None,
    *,
    unified: bool | None = None,
) -> AccountPosition | None:
    """One ccxt position as an ``AccountPosition``; None for a flat row (ccxt keeps Bybit's
    one-way flat rows and Binance's BOTH rows of a hedge-mode symbol)."""
    info = _info(row)
    contracts = num(row.get("contracts"))
    if venue is Venue.DERIBIT:
        # ccxt's Deribit contracts is the USD size (while contractSize says 10)
        contracts = num(info.get("size")) if info.get("size") is not None else contracts
    if contracts is None:
        return None
    contracts = abs(contracts)
    side, hedged = _side(venue, row)
    if contracts == 0 or side is None:
        return None
    coin = _coin_of(row, market)
    ccxt_symbol = str(row.get("symbol") or "")
    kind, expiry = kind_of(market, ccxt_symbol)
    mode = _margin_mode(venue, row)
    if venue is Venue.BYBIT and unified and not row.get("marginMode"):
        mode = None  # tradeMode on a UTA says nothing
    entry = num(row.get("entryPrice"))
    liq = num(row.get("liquidationPrice"))
    return AccountPosition(
        venue=venue,
        symbol=venue_symbol(venue, row, market),
        coin=coin,
        kind=kind,
        side=side,
        contracts=contracts,
        size_usd=size_usd(venue, contracts, market, coin),
        entry=entry if entry else None,
        liq_price=liq if liq and liq > 0 else None,
        margin_mode=mode,
        leverage=num(row.get("leverage")),
        margin_coin=_margin_coin(venue, row, mode),
        mark=num(row.get("markPrice")),
        unrealized_pnl_coin=num(row.get("unrealizedPnl")),
        expiry_ms=expiry,
        hedged=hedged,
        ccxt_symbol=ccxt_symbol,
    )


def bybit_wallet_kind(balance: Mapping[str, Any]) -> WalletKind | None:
    """The wallet a Bybit balance answer is for, from its ``accountType`` (None: not said)."""
    result = _info(balance).get("result")
    rows = result.get("list") if isinstance(result, Mapping) else None
    if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
        return _BYBIT_WALLETS.get(str(rows[0].get("accountType") or "").upper())
    return None


def normalise_balance(
    venue: Venue, balance: Mapping[str, Any], wallet: WalletKind
) -> list[WalletBalance]:
    """Every coin of one ccxt ``fetch_balance`` answer with a non-zero total. Bybit's answer
    says its own wallet (``accountType``), which wins over ``wallet``."""
    if venue is Venue.BYBIT:
        wallet = bybit_wallet_kind(balance) or wallet
    assets = _info(balance).get("assets")
    if venue is Venue.BINANCE and isinstance(assets, list):
        return _binance_assets(assets, wallet)
    totals = balance.get("total")
    frees = balance.get("free")
    if not isinstance(totals, Mapping):
        return []
    out = []
    for coin, total in totals.items():
        t = num(total)
        if t is None or t == 0:
            continue
        free = num(frees.get(coin)) if isinstance(frees, Mapping) else None
        out.append(
            WalletBalance(venue=venue, wallet=wallet, coin=str(coin).upper(), total=t, free=free)
        )
    out.sort(key=lambda b: b.coin)
    return out


def _binance_assets(assets: list[Any], wallet: WalletKind) -> list[WalletBalance]:
    """COIN-M ``/dapi/v1/account`` assets: ``walletBalance`` is the wallet (ccxt's ``total`` is
    ``marginBalance``, the wallet plus unrealised PnL, and it leaves some assets out)."""
    out = []
    for a in assets:
        if not isinstance(a, Mapping):
            continue
        total = num(a.get("walletBalance"))
        if total is None or total == 0 or not a.get("asset"):
            continue
        free = num(a.get("availableBalance"))
        if free is None:
            free = num(a.get("maxWithdrawAmount"))
        coin = str(a["asset"]).upper()
        out.append(
            WalletBalance(venue=Venue.BINANCE, wallet=wallet, coin=coin, total=total, free=free)
        )
    out.sort(key=lambda b: b.coin)
    return out


def _ts(row: Mapping[str, Any], *keys: str) -> int | None:
    t = num(row.get("timestamp"))
    if t is None:
        info = _info(row)
        for k in keys:
            t = num(info.get(k))
            if t is not None:
                break
    return int(t) if t is not None else None


def normalise_funding(
    venue: Venue, row: Mapping[str, Any], market: Mapping[str, Any] | None = None
) -> FundingPayment | None:
    """One ccxt ``fetch_funding_history`` row, > 0 received, in the settlement coin; None for
    a row that is not a funding payment or has no amount."""
    info = _info(row)
    coin = _coin_of(row, market)
    if venue is Venue.BYBIT:
        if str(info.get("execType") or "Funding") != "Funding":
            return None
        fee = num(info.get("execFee"))
        amount = -fee if fee is not None else None  # execFee > 0: paid
        if amount is None:
            a = num(row.get("amount"))
            amount = -a if a is not None else None  # ccxt copies execFee as is
        ident = info.get("execId") or row.get("id")
    elif venue is Venue.BINANCE:
        if str(info.get("incomeType") or "FUNDING_FEE") != "FUNDING_FEE":
            return None
        amount = num(info.get("income"))
        if amount is None:
            amount = num(row.get("amount"))
        coin = str(info.get("asset") or coin).upper()
        ident = info.get("tranId") or row.get("id")
    elif venue is Venue.OKX:
        amount = num(info.get("balChg"))
        if amount is None:
            amount = num(row.get("amount"))
        coin = str(info.get("ccy") or coin).upper()
        ident = info.get("billId") or row.get("id")
    else:
        amount = num(row.get("amount"))
        ident = row.get("id")
    ts = _ts(row, "execTime", "time", "ts")
    if amount is None or ts is None:
        return None
    return FundingPayment(
        venue=venue,
        symbol=venue_symbol(venue, row, market),
        ts_ms=ts,
        amount_coin=amount,
        coin=coin,
        exchange_id=str(ident) if ident else f"{venue.value}:{ts}:{coin}",
    )


def normalise_bybit_settlement(row: Mapping[str, Any]) -> FundingPayment | None:
    """A Bybit transaction-log row (ccxt ``fetch_ledger``) of type SETTLEMENT: ``funding`` is
    > 0 received and ``currency`` is the coin (the opposite sign of ``execFee``)."""
    info = _info(row)
    if str(info.get("type") or "") != "SETTLEMENT":
        return None
    amount = num(info.get("funding"))
    ts = _ts(row, "transactionTime")
    if amount is None or ts is None:
        return None
    coin = str(info.get("currency") or row.get("currency") or "").upper()
    ident = info.get("id") or row.get("id")
    return FundingPayment(
        venue=Venue.BYBIT,
        symbol=str(info.get("symbol") or ""),
        ts_ms=ts,
        amount_coin=amount,
        coin=coin,
        exchange_id=str(ident) if ident else f"bybit:{ts}:{coin}",
    )


#: Bybit v5 execution list ``execType`` (enum "execType": Trade, AdlTrade, Funding, BustTrade,
#: Delivery, Settle, BlockTrade, MovePosition; https://bybit-exchange.github.io/docs/v5/enum
#: #exectype). ``BustTrade`` is a takeover liquidation, ``Delivery``/``Settle`` a position the
#: venue closed at a delivery or a delisting. ``Funding`` rows are funding, not fills.
_BYBIT_EXEC = {
    "Trade": ExecKind.TRADE,
    "BustTrade": ExecKind.LIQUIDATION,
    "AdlTrade": ExecKind.ADL,
    "Delivery": ExecKind.SETTLEMENT,
    "Settle": ExecKind.SETTLEMENT,
    "BlockTrade": ExecKind.BLOCK_TRADE,
    "MovePosition": ExecKind.MOVE_POSITION,
}
_BYBIT_NOT_FILLS = frozenset({"Funding"})
#: Binance futures' client order ids for the system's own orders (user data stream
#: ORDER_TRADE_UPDATE, "c": starts with ``autoclose-``: liquidation; ``adl_autoclose``: ADL;
#: ``settlement_autoclose-``: settlement for a delisting or delivery), and the order type
#: ``LIQUIDATION`` ("o"). The REST userTrades carry neither: such a fill's kind is None.
_BINANCE_IDS = (
    ("adl_autoclose", ExecKind.ADL),
    ("settlement_autoclose-", ExecKind.SETTLEMENT),
    ("autoclose-", ExecKind.LIQUIDATION),
)
#: OKX bill ``subType`` codes (GET /api/v5/account/bills): 100–107 (partial) liquidation,
#: 125–128 ADL. A fill's ``execType`` there is T/M (taker/maker), not a kind.
_OKX_LIQ = frozenset(range(100, 108))
_OKX_ADL = frozenset(range(125, 129))


def exec_kind_of(venue: Venue, row: Mapping[str, Any]) -> ExecKind | None:
    """What the venue says one ccxt trade row was; None when its answer does not say.

    * Bybit: ``execType`` (``_BYBIT_EXEC``); a word it does not document: None.
    * Binance: the client order id's prefix or the order type ``LIQUIDATION`` (``_BINANCE_IDS``).
    * OKX: ``subType`` liquidation / ADL codes; anything else: None (it is not a kind).
    * Deribit: a trade's ``liquidation`` ("M", "T" or "MT": the maker's, the taker's or both
      sides were under liquidation) names this account's side (``liquidity`` M/T) or not; a
      trade without it is a trade (Deribit sends it only for liquidation trades).
    """
    info = _info(row)
    if venue is Venue.BYBIT:
        raw = info.get("execType")
        return None if raw is None else _BYBIT_EXEC.get(str(raw))
    if venue is Venue.BINANCE:
        cid = str(row.get("clientOrderId") or info.get("c") or info.get("clientOrderId") or "")
        for prefix, kind in _BINANCE_IDS:
            if cid.lower().startswith(prefix):
                return kind
        if str(info.get("o") or info.get("type") or info.get("origType") or "") == "LIQUIDATION":
            return ExecKind.LIQUIDATION
        return None
    if venue is Venue.OKX:
        try:
            code = int(str(info.get("subType")))
        except ValueError:
            return None
        return (
            ExecKind.LIQUIDATION if code in _OKX_LIQ else ExecKind.ADL if code in _OKX_ADL else None
        )
    if venue is Venue.DERIBIT:
        liq = info.get("liquidation")
        if not liq:
            return ExecKind.TRADE if info else None
        ours = str(info.get("liquidity") or "")
        return ExecKind.LIQUIDATION if ours and ours in str(liq) else ExecKind.TRADE
    return None


def normalise_trade(
    venue: Venue, row: Mapping[str, Any], market: Mapping[str, Any] | None = None
) -> ExchangeFill | None:
    """One ccxt ``fetch_my_trades`` row; ``amount`` is in the venue's unit (Bybit inverse: USD;
    Binance COIN-M: contracts). The fee is kept only with its currency; ``exec_kind`` is what
    the venue says it was (``exec_kind_of``)."""
    if venue is Venue.BYBIT and str(_info(row).get("execType")) in _BYBIT_NOT_FILLS:
        return None  # Bybit's execution list also carries the funding bookings
    side = str(row.get("side") or "").lower()
    amount = num(row.get("amount"))
    ts = _ts(row, "execTime", "time")
    if side not in ("buy", "sell") or amount is None or ts is None:
        return None
    coin = _coin_of(row, market)
    fee = row.get("fee") if isinstance(row.get("fee"), Mapping) else {}
    assert isinstance(fee, Mapping)
    fee_currency = str(fee.get("currency")).upper() if fee.get("currency") else None
    if venue is Venue.BYBIT and fee_currency == "USD":
        fee_currency = coin  # an inverse fee is in the coin, whatever the label
    ident = row.get("id") or _info(row).get("execId") or f"{venue.value}:{ts}"
    order_id = row.get("order")
    client_id = row.get("clientOrderId") or _info(row).get("orderLinkId") or None
    return ExchangeFill(
        venue=venue,
        symbol=venue_symbol(venue, row, market),
        ts_ms=ts,
        side=OrderSide(side),
        contracts=abs(amount),
        size_usd=size_usd(venue, abs(amount), market, coin),
        price=num(row.get("price")),
        fee_coin=num(fee.get("cost")),
        fee_currency=fee_currency,
        trade_id=str(ident),
        order_id=str(order_id) if order_id else None,
        client_order_id=str(client_id) if client_id else None,
        exec_kind=exec_kind_of(venue, row),
    )
