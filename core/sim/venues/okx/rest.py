"""OKX v5 ``GET /api/v5/public/instruments`` (docs-v5 "Public Data: Get instruments"), served
on the websocket host so that a client can load its markets: ``instType`` SPOT, SWAP or
FUTURES (optionally ``instId``, ``uly`` or ``instFamily``), rows as the recorded
``shared/fixtures/rest/okx-instruments-swap.json`` lays them out, every value a string;
``{"code": "0", "msg": "", "data": [...]}``, or OKX's error codes for a bad ``instType``."""

from __future__ import annotations

from typing import Any

from core.sim.fmt import fmt_trim, tick_decimals
from core.sim.venues.okx.public import OkxMarket

PATH = "/api/v5/public/instruments"
LIST_MS = 1_611_916_828_000  # listTime of the inverse swaps in the recorded list


def _alias(expiry_ms: int, nearest: int) -> str:
    return "this_quarter" if expiry_ms == nearest else "next_quarter"


def instruments(market: OkxMarket, query: dict[str, str]) -> dict[str, Any]:
    inst_type = query.get("instType", "").upper()
    if not inst_type:
        return {"code": "50014", "msg": "Parameter instType can not be empty.", "data": []}
    if inst_type not in ("SPOT", "SWAP", "FUTURES"):
        return {"code": "51000", "msg": "Parameter instType error", "data": []}
    m = market.hub.model
    rows: list[dict[str, str]] = []
    if inst_type == "SPOT":
        for inst, coin in market.spots.items():
            tick = m.coin(coin).params.spot_tick
            rows.append(
                {
                    "alias": "",
                    "baseCcy": coin,
                    "category": "1",
                    "ctMult": "",
                    "ctType": "",
                    "ctVal": "",
                    "ctValCcy": "",
                    "expTime": "",
                    "instFamily": "",
                    "instId": inst,
                    "instType": "SPOT",
                    "lever": "10",
                    "listTime": str(LIST_MS),
                    "lotSz": "0.00000001",
                    "maxMktSz": "1000000",
                    "minSz": "0.00001",
                    "optType": "",
                    "quoteCcy": "USDT",
                    "settleCcy": "",
                    "state": "live",
                    "stk": "",
                    "tickSz": fmt_trim(tick, tick_decimals(tick)),
                    "uly": "",
                }
            )
    else:
        nearest = m.expiries[0] if m.expiries else 0
        for inst, (coin, expiry) in market.contracts.items():
            if (expiry is None) != (inst_type == "SWAP"):
                continue
            p = m.coin(coin).params
            alias = _alias(expiry, nearest) if expiry is not None else ""
            rows.append(
                {
                    "alias": alias,
                    "baseCcy": "",
                    "category": "1",
                    "ctMult": "1",
                    "ctType": "inverse",
                    "ctVal": fmt_trim(p.face_usd, 0),
                    "ctValCcy": "USD",
                    "expTime": str(expiry) if expiry is not None else "",
                    "instFamily": f"{coin}-USD",
                    "instId": inst,
                    "instType": inst_type,
                    "lever": "125" if coin == "BTC" else "75",
                    "listTime": str(LIST_MS),
                    "lotSz": "1",
                    "maxMktSz": "4000",
                    "minSz": "1",
                    "optType": "",
                    "quoteCcy": "",
                    "settleCcy": coin,
                    "state": "live",
                    "stk": "",
                    "tickSz": fmt_trim(p.perp_tick, tick_decimals(p.perp_tick)),
                    "uly": f"{coin}-USD",
                }
            )
    for key in ("instId", "uly", "instFamily"):
        want = query.get(key)
        if want:
            rows = [r for r in rows if r[key] == want]
    return {"code": "0", "msg": "", "data": rows}
