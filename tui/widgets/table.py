"""The holdings table: a line-API widget with cached row strips and a keyed diff.

A DataTable costs ~24 ms of CPU per redraw whatever changed; this widget renders one
``Strip`` per row, caches it, and on each tick only invalidates (and repaints) the lines whose
cells changed. Colours come from component classes whose TCSS uses the theme's variables.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.rows import COLUMNS, GAP, Column, Row, fit_columns

STYLE_CLASSES = ("gain", "loss", "warn", "alert", "stale", "unknown", "muted")


class HedgeTable(Widget, can_focus=True):
    """Rows of hedges; the cursor selects one (the keys act on it)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hedge-table--header",
        "hedge-table--cursor",
        "hedge-table--stale-row",
        *(f"hedge-table--{c}" for c in STYLE_CLASSES),
    }
    DEFAULT_CSS = """
    HedgeTable { height: auto; max-height: 60%; }
    HedgeTable > .hedge-table--header { text-style: bold; color: $text-muted; }
    HedgeTable > .hedge-table--cursor { background: $cursor; }
    HedgeTable > .hedge-table--stale-row { color: $stale; text-style: italic; }
    HedgeTable > .hedge-table--gain { color: $gain; }
    HedgeTable > .hedge-table--loss { color: $loss; }
    HedgeTable > .hedge-table--warn { color: $warning; }
    HedgeTable > .hedge-table--alert { color: $alert; text-style: bold; }
    HedgeTable > .hedge-table--stale { color: $stale; text-style: bold reverse; }
    HedgeTable > .hedge-table--unknown { color: $stale; text-style: bold; }
    HedgeTable > .hedge-table--muted { color: $muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="cursor_down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="cursor_up"),
    ]

    class Selected(Message):
        """The cursor moved to another row (``key`` None: the table is empty)."""

        def __init__(self, key: str | None) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[Row] = []
        self.cursor = 0
        self._top = 0  # first row shown when there are more rows than lines
        self._columns: tuple[Column, ...] = COLUMNS
        self._fit_width = -1
        self._cache: dict[int, Strip] = {}  # rendered rows by index; header is -1
        self._styles: dict[str, Style] = {}  # component styles, until the theme changes
        self.lines_rendered = 0  # for the benchmark and tests: strips built, not served
        self._in_pass = False  # within ``render_lines``
        self._pass: tuple[Style, int] | None = None  # (base style, width) in this pass

    # --- data -------------------------------------------------------------------------------

    @property
    def selected(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def update_rows(self, rows: list[Row]) -> int:
        """Replace the rows; repaint only the lines whose cells changed. Returns that count."""
        old = self.rows
        selected_key = self.selected.key if self.selected else None
        self.rows = rows
        if [r.key for r in old] != [r.key for r in rows]:
            self._cache.clear()
            self.cursor = next((i for i, r in enumerate(rows) if r.key == selected_key), 0)
            self.cursor = min(self.cursor, max(len(rows) - 1, 0))
            if len(old) != len(rows):
                self.refresh(layout=True)
            else:
                self.refresh()
            new_key = self.selected.key if self.selected else None
            if new_key != selected_key:
                self.post_message(self.Selected(new_key))
            return len(rows)
        changed: list[int] = []
        for i, (a, b) in enumerate(zip(old, rows, strict=True)):
            if a.cells != b.cells or a.stale != b.stale:
                self._cache.pop(i, None)
                changed.append(i)
        self._refresh_rows(changed)  # one refresh for them all: each costs a message
        return len(changed)

    # --- cursor ------------------------------------------------------------------------------

    def _move(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        if index == self.cursor:
            return
        old = self.cursor
        self.cursor = index
        self._cache.pop(old, None)
        self._cache.pop(index, None)
        if self._scroll_into_view():
            self.refresh()
        else:
            self._refresh_row(old)
            self._refresh_row(index)
        self.post_message(self.Selected(self.rows[index].key))

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def _visible_rows(self) -> int:
        return max(self.size.height - 1, 1)

    def _scroll_into_view(self) -> bool:
        top = self._top
        visible = self._visible_rows()
        if self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + visible:
            top = self.cursor - visible + 1
        top = max(0, min(top, max(len(self.rows) - visible, 0)))
        moved = top != self._top
        self._top = top
        return moved

    def _refresh_row(self, index: int) -> None:
        self._refresh_rows([index])

    def _refresh_rows(self, indexes: list[int]) -> None:
        width, height = self.size
        ys = [y for y in (i - self._top + 1 for i in indexes) if 1 <= y < height]
        if ys:
            self.refresh(*(Region(0, y, width, 1) for y in ys))

    # --- rendering ---------------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows) + 1

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styles.clear()

    def on_resize(self) -> None:
        self._cache.clear()
        self._scroll_into_view()

    def _fit(self) -> tuple[Column, ...]:
        width = self._width()
        if width != self._fit_width:
            self._fit_width = width
            self._columns = fit_columns(width)
            self._cache.clear()
        return self._columns

    def _style(self, cls: str) -> Style:
        style = self._styles.get(cls)
        if style is None:
            style = self._styles[cls] = self.get_component_rich_style(
                f"hedge-table--{cls}", partial=True
            )
        return style

    def _build(self, cells: dict[str, tuple[str, str]] | None, base: Style, stale: bool) -> Strip:
        """One row as a strip of the widget's width: a segment per run of cells (and the gaps
        between them) in one style."""
        width = self._width()
        columns = self._fit()
        segments: list[Segment] = []
        stale_style = self._style("stale-row") if stale else None
        gap = " " * GAP
        run: list[str] = []  # texts of the current run, all in ``run_style``
        run_style = base
        length = 0
        for n, col in enumerate(columns):
            if n:
                if run_style is not base:
                    segments.append(Segment("".join(run), run_style))
                    run, run_style = [], base
                run.append(gap)
                length += GAP
            if cells is None:
                text, cls = col.title, ""
            else:
                text, cls = cells.get(col.key, ("", ""))
            if len(text) > col.width:
                text = text[: col.width - 1] + "…"
            text = text.rjust(col.width) if col.right else text.ljust(col.width)
            style = base
            if stale_style is not None and cls != "stale":
                style = base + stale_style
            elif cls:
                style = base + self._style(cls)
            if style is not run_style:
                if run:
                    segments.append(Segment("".join(run), run_style))
                run, run_style = [], style
            run.append(text)
            length += len(text) if text.isascii() else cell_len(text)
        if run:
            segments.append(Segment("".join(run), run_style))
        self.lines_rendered += 1
        if length < width:
            segments.append(Segment(" " * (width - length), base))
        elif length > width:
            return Strip(segments, length).adjust_cell_length(width, base)
        return Strip(segments, width)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._in_pass = True  # the base style and the width hold for every row of this pass
        try:
            return super().render_lines(crop)
        finally:
            self._in_pass = False
            self._pass = None

    def _width(self) -> int:
        return self._pass[1] if self._pass is not None else self.size.width

    def render_line(self, y: int) -> Strip:
        if self._pass is not None:
            base = self._pass[0]
        else:
            base = self.rich_style  # (an ancestor walk: once a pass)
            if self._in_pass:
                self._pass = (base, self.size.width)
        if y == 0:
            strip = self._cache.get(-1)
            if strip is None:
                header = base + self._style("header")
                strip = self._cache[-1] = self._build(None, header, False)
            return strip
        index = y - 1 + self._top
        if index >= len(self.rows):
            return Strip.blank(self._width(), base)
        strip = self._cache.get(index)
        if strip is None:
            row = self.rows[index]
            style = base
            if index == self.cursor:
                style = base + self._style("cursor")
            strip = self._cache[index] = self._build(row.cells, style, row.stale)
        return strip
