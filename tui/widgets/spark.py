"""The basis chart: Textual's sparkline, drawn with a segment per run of one style.

Textual's sparkline renderable works out every cell on its own (the bucket's summary, the bar,
a colour blended for it) and yields a segment per cell: a 60 x 6 chart is 360 segments, each
then styled, cut into lines and filtered, once a second as the basis history grows.
``RunSparkline`` takes each column's bar level and colour once, and yields the same cells with
adjacent cells of one style in one segment: the same characters in the same styles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.renderables._blend_colors import blend_colors
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.widgets import Sparkline

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from textual.app import RenderResult as WidgetRenderResult


class RunSparklineRenderable(SparklineRenderable[float]):
    """``SparklineRenderable`` with runs of one style in one segment (see the module)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        data = list(self.data)
        min_color, max_color = self.min_color.color, self.max_color.color
        if len(data) < 2 or min_color is None or max_color is None:
            yield from super().__rich_console__(console, options)  # a flat bar: few segments
            return
        width = self.width or options.max_width
        height = self.height or 1
        levels = len(self.BARS)
        top = levels * height - 1
        low, high = min(data), max(data)
        extent = high - low or 1
        buckets = tuple(self._buckets(data, num_buckets=width))
        # the column -> bucket walk of the parent: a float index stepped once per column
        step = len(buckets) / width
        at = 0.0
        columns: list[tuple[int, Style]] = []
        styles: dict[float, Style] = {}
        for _ in range(width):
            ratio = (self.summary_function(buckets[int(at)]) - low) / extent
            style = styles.get(ratio)
            if style is None:
                style = styles[ratio] = Style.from_color(blend_colors(min_color, max_color, ratio))
            columns.append((int(ratio * top), style))
            at += step
        for row in reversed(range(height)):
            floor, ceiling = row * levels, (row + 1) * levels
            run: list[str] = []
            run_style: Style | None = None
            for level, bar_style in columns:
                if level < floor:
                    bar, cell_style = " ", None
                elif level >= ceiling:
                    bar, cell_style = "█", bar_style
                else:
                    bar, cell_style = self.BARS[level % levels], bar_style
                if run and cell_style != run_style:
                    yield Segment("".join(run), run_style)
                    run = []
                run_style = cell_style
                run.append(bar)
            if run:
                yield Segment("".join(run), run_style)
            if row > 0:
                yield Segment.line()


class RunSparkline(Sparkline):
    """Textual's ``Sparkline`` (its CSS, component classes and data) drawn by
    ``RunSparklineRenderable``."""

    def render(self) -> WidgetRenderResult:
        drawn = super().render()
        if not isinstance(drawn, SparklineRenderable):
            return drawn
        bars = RunSparklineRenderable(
            drawn.data,
            width=drawn.width,
            height=drawn.height,
            summary_function=drawn.summary_function,
        )
        bars.min_color, bars.max_color = drawn.min_color, drawn.max_color
        return bars
