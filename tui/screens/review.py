"""What the hedge did (``v`` on the history screen): over the history screen's range, the
variance and the maximum drawdown of the book hedged against unhedged, and the cost of the
hedge decomposed (``core.review``), in one screen. ``r`` cycles the range here too."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen

from core.review import Review
from storage.history import History, HistoryError
from storage.review_queries import hedge_review
from tui.widgets.panes import TextPane, paint
from tui.widgets.review_text import review_lines

RANGES: tuple[tuple[str, int | None], ...] = (
    ("1h", 3_600_000),
    ("24h", 86_400_000),
    ("7d", 7 * 86_400_000),
    ("30d", 30 * 86_400_000),
    ("all", None),
)


def verdict(r: Review) -> str:
    """One sentence: did the hedge earn its keep over the range?"""
    cut, cost = r.variance_cut_pct, r.cost_usd
    if cut is None:
        return paint("not enough recorded points in this range to judge", "muted")
    risk = f"the hedge removed {cut:.0f} % of the variance of the book's changes"
    if cost is None:
        return escape(risk) + "; its cost is unknown (a hedge's basis is missing)"
    word = "earned" if cost >= 0 else "cost"
    cls = "gain" if cost >= 0 else ("warn" if cut > 50 else "loss")
    return (
        escape(risk + "; it ")
        + paint(f"{word} {abs(cost):,.2f} USD", cls)
        + (" in funding, fees, slippage and basis")
    )


def review_markup(r: Review, label: str) -> str:
    rows = review_lines(r)
    width = max(len(k) for k, _ in rows)
    body = "\n".join(f"[$muted]{escape(k):<{width}}[/]  {escape(v)}" for k, v in rows)
    return (
        f"[b]What the hedge did[/b] — {escape(label)}  [$muted](> 0 earned, < 0 cost; "
        f"r range · esc back)[/]\n{verdict(r)}\n\n{body}"
    )


class ReviewScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,v,q", "dismiss", "Back", id="review_close"),
        Binding("r", "next_range", "Range", id="review_range"),
    ]
    DEFAULT_CSS = """
    ReviewScreen { align: center middle; }
    ReviewScreen > Vertical { width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    ReviewScreen TextPane { height: auto; }
    """

    def __init__(self, hist: History, bounds: tuple[int, int], range_index: int = 1) -> None:
        super().__init__(id="review")
        self.hist = hist
        self.bounds = bounds
        self.range_index = range_index
        self.review: Review | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield TextPane(id="review-body")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        label, width = RANGES[self.range_index]
        first, last = self.bounds
        start = first if width is None else max(first, last - width)
        pane = self.query_one("#review-body", TextPane)
        try:
            self.review = hedge_review(self.hist, start, last)
        except HistoryError as exc:
            pane.set_text(paint(f"cannot review: {exc}", "alert"))
            return
        pane.set_text(review_markup(self.review, f"last {label}" if width else "everything"))

    def action_next_range(self) -> None:
        self.range_index = (self.range_index + 1) % len(RANGES)
        self.reload()
