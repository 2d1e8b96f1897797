"""Texts side by side in one line-API widget: the detail pane's position, margin and holding.

Three ``TextPane`` columns in a ``Horizontal`` repaint a changed figure as a row of its own
widget: each widget a message, a render pass, a styled line and a filtered strip per frame.
``TextColumns`` keeps each column's lines as a ``TextPane`` does (``tui.widgets.lines``: one
parsed line and its strips per line of markup, cut like the last line of its shape) and
builds a screen row from the columns' strips, so that a frame repaints each changed row once.

It draws what the ``Horizontal`` of ``width: 1fr`` columns with ``padding-right: PAD``, no
wrap and an ellipsis drew: Textual places column ``i`` of ``n`` at ``floor(i * W / n)``;
each line is cut to its column less the padding; under a column shorter than the others, and
in the padding, the background.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.visual import RenderOptions
from textual.widget import Widget

from tui.widgets.lines import LinesVisual, MarkupLines, StripTemplates, self_contained

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.style import Style


class _Column:
    """One column's markup, line by line, and its lines as ``LinesVisual`` renders them."""

    def __init__(self) -> None:
        self.text = ""
        self.markup = [""]
        self.parse = MarkupLines().parse
        self.lines = LinesVisual([Content("")], templates=StripTemplates())

    def set(self, text: str) -> list[int] | None:
        """Show ``text``; the lines that changed, or None when the line count did."""
        if text == self.text:
            return []
        old, new = self.markup, text.split("\n")
        self.text, self.markup = text, new
        if all(map(self_contained, new)):
            fresh = {i: line for i, line in enumerate(new) if i >= len(old) or old[i] != line}
            contents = {i: self.parse(line) for i, line in fresh.items()}
        else:  # a tag spans lines: the whole text parsed at once, then cut at its newlines
            whole = Content.from_markup(text).split("\n", allow_blank=True)
            contents = dict(enumerate(whole))
        lines = self.lines
        if len(old) != len(new):
            kept = [contents[i] if i in contents else lines.contents[i] for i in range(len(new))]
            visual = LinesVisual(kept, lines.generation, lines.templates)
            for i in range(min(len(old), len(new))):
                if i not in contents:
                    visual.keep(i, lines, i)
            self.lines = visual
            return None
        for i, content in contents.items():
            lines.replace(i, content)
        return sorted(contents)


class TextColumns(Widget):
    """``count`` markup texts side by side, each in ``1fr`` of the width (see the module)."""

    DEFAULT_CSS = """
    TextColumns { width: 1fr; height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """
    PAD: ClassVar[int] = 1  # blank cells right of each column
    ALLOW_SELECT = False  # (a selection would run across the columns)
    auto_links: Reactive[bool] = Reactive(False)

    def __init__(self, count: int, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._columns = [_Column() for _ in range(count)]
        for column in self._columns:
            column.lines.generation = self._theme
        self._rows: dict[int, Strip] = {}  # built screen rows, until the key changes
        self._key: Hashable = None
        self._pass: tuple[int, Style, RenderOptions, RichStyle] | None = None
        self._in_pass = False  # within ``render_lines``: ``_pass`` holds for every row
        self._span_cache: dict[int, list[tuple[int, int]]] = {}
        self.updates = 0

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(c.text for c in self._columns)

    def _theme(self) -> str:
        return self.app.theme

    def set_texts(self, texts: Sequence[str]) -> bool:
        """Show each column's text; repaint only the rows of lines that changed (a layout
        pass when the tallest column's height changed). False: nothing changed."""
        height = self._height()
        dirty: list[Region] = []
        reflow = False
        spans = self._spans(self.size.width)
        for i, (column, text) in enumerate(zip(self._columns, texts, strict=True)):
            changed = column.set(text)
            if changed is None:
                reflow = True
            elif changed:
                x, w = spans[i]
                for y in changed:
                    self._rows.pop(y, None)
                    dirty.append(Region(x, y, w, 1))
        if reflow:
            self._rows.clear()
            self.refresh(layout=self._height() != height)
        elif dirty:
            self.refresh(*dirty)
        else:
            return False
        self.updates += 1
        return True

    def _height(self) -> int:
        return max(len(c.markup) for c in self._columns)

    def _spans(self, width: int) -> list[tuple[int, int]]:
        """(x, width) of each column, as Textual lays out ``1fr`` widths."""
        spans = self._span_cache.get(width)
        if spans is None:
            n = len(self._columns)
            spans = self._span_cache[width] = [
                ((i * width) // n, ((i + 1) * width) // n - (i * width) // n) for i in range(n)
            ]
        return spans

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._height()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._in_pass = True  # how rows render is read at the first row that needs it
        try:
            return super().render_lines(crop)
        finally:
            self._in_pass = False
            self._pass = None

    def _row_context(self) -> tuple[int, Style, RenderOptions, RichStyle]:
        width = self.size.width
        style = self.visual_style
        base, background = self.background_colors
        inner = self._styles_cache.get_inner_outer(base, background)[0].rich_style
        options = RenderOptions(self._get_style, cast("RulesMap", self.styles))
        key = (width, style, inner, self.app.theme, self.styles.text_wrap)
        if key != self._key:
            self._key = key
            self._rows.clear()
        return width, style, options, inner

    def render_line(self, y: int) -> Strip:
        if self._pass is None:
            context = self._row_context()  # (also drops the built rows if it changed)
            if not self._in_pass:
                return self._build(y, *context)
            self._pass = context
        strip = self._rows.get(y)
        if strip is None:
            strip = self._rows[y] = self._build(y, *self._pass)
        return strip

    def _build(
        self, y: int, width: int, style: Style, options: RenderOptions, inner: RichStyle
    ) -> Strip:
        segments: list[Segment] = []
        for (_, w), column in zip(self._spans(width), self._columns, strict=True):
            inside = max(w - self.PAD, 0)
            line = column.lines.row(y, inside, style, options) if inside else None
            if line is None:
                segments.append(Segment(" " * w, inner))
                continue
            length = line.cell_length
            if length > inside:  # (cut to its column: not with an ellipsis, but to be sure)
                line, length = line.crop(0, inside), inside
            segments.extend(line)
            segments.append(Segment(" " * (w - length), inner))  # the rest, then the padding
        return Strip(segments, width)
