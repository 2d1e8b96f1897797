"""What the hedge did over a range, as text or JSON: ``hedgetop history --review`` and the
history screen's review (``v``) show the same lines (``core.review`` computes,
``storage.review_queries`` reads)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.review import Drawdown, Review


def review_json(r: Review) -> dict[str, Any]:
    out = dataclasses.asdict(r)
    out["cost_usd"] = r.cost_usd
    out["saved_usd"] = r.saved_usd
    return out


def _iso(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _dd(d: Drawdown | None) -> str:
    from tui.widgets.format import pct, usd

    if d is None:
        return "—"
    if d.usd == 0:
        return "none"
    return f"{usd(d.usd)} ({pct(d.pct, sign=False)}), {_iso(d.peak_ms)} -> {_iso(d.trough_ms)}"


def review_lines(r: Review) -> list[tuple[str, str]]:
    """(label, figure) pairs: the history screen and the shell show the same."""
    from tui.widgets.format import DASH, num, pct, usd

    var_h = DASH if r.variance is None else f"{num(r.variance, 2)} USD²"
    var_u = DASH if r.unhedged_variance is None else f"{num(r.unhedged_variance, 2)} USD²"
    slip = usd(r.slippage_usd, sign=True)
    if r.slippage_unknown_fills:
        slip += f" ({r.slippage_unknown_fills} fills without their mark not counted)"
    return [
        ("range", f"{_iso(r.start_ms)} .. {_iso(r.end_ms)} ({r.points} points)"),
        ("value change, hedged", usd(r.change_usd, sign=True)),
        ("value change, unhedged", usd(r.unhedged_change_usd, sign=True)),
        ("hedged minus unhedged", usd(r.saved_usd, sign=True)),
        ("variance of changes, hedged", var_h),
        ("variance of changes, unhedged", var_u),
        ("variance cut", pct(r.variance_cut_pct, 1, sign=False)),
        ("max drawdown, hedged", _dd(r.drawdown)),
        ("max drawdown, unhedged", _dd(r.unhedged_drawdown)),
        (
            "funding received",
            f"{usd(r.funding_received_usd, sign=True)} ({r.settlements} settlements)",
        ),
        ("funding paid", usd(r.funding_paid_usd, sign=True)),
        ("trading fees", f"{usd(r.fees_usd, sign=True)} ({r.fills} fills)"),
        ("slippage against mark", slip),
        ("basis (premium earned or paid)", usd(r.basis_usd, sign=True)),
        ("cost of the hedge, net", usd(r.cost_usd, sign=True)),
        ("upside given away in rallies", usd(r.upside_given_usd)),
    ]


def render_review(r: Review) -> str:
    rows = review_lines(r)
    width = max(len(label) for label, _ in rows)
    head = "what the hedge did (> 0 earned, < 0 cost)\n"
    return head + "".join(f"{label:<{width}}  {value}\n" for label, value in rows)
