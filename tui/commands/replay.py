"""``hedgetop replay``: run recorded raw messages through a venue adapter.

    hedgetop replay FILE --venue V [--json] [--socket inverse|spot]

FILE holds one raw message per line (the format of the shared ``fixtures/ws`` files); ``-``
reads standard input. Output is the same as ``hedgetop feed``: one quote per line, then the
summary (with ``--json``: ``{"summary": {...}}`` as the last line). A line that is not a valid
message is a parse error, counted, and the replay goes on. The socket (which decides the
quote kind) defaults to ``spot`` when the file name says so, else ``inverse``.
"""

from __future__ import annotations

import argparse
from typing import Any

VENUES = ("bybit", "binance", "okx", "deribit")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replay",
        help="decode recorded raw messages through a venue adapter",
        description="Replay raw websocket messages (one JSON object per line).",
    )
    p.add_argument("file", metavar="FILE", help="raw messages, one per line ('-': stdin)")
    p.add_argument("--venue", required=True, choices=VENUES)
    p.add_argument("--socket", choices=("inverse", "spot"), help="default: from the file name")
    p.add_argument("--json", action="store_true", help="one JSON object per quote per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.feeds import make_adapter
    from tui.commands._feedout import quote_printer, silence_stdout
    from tui.usage import UsageError

    socket = args.socket
    if socket is None:
        socket = "spot" if "spot" in Path(args.file).name.lower() else "inverse"
    if args.venue == "deribit" and socket == "spot":
        raise UsageError("--venue deribit has no spot feed here (use --socket inverse)")
    adapter = make_adapter(args.venue, socket)
    show = quote_printer(args.json)
    try:
        return _replay(args, adapter, show)
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        silence_stdout()
        return 0


def _replay(args: argparse.Namespace, adapter: Any, show: Any) -> int:
    import sys
    from pathlib import Path

    from core.clock import wall_ms
    from core.feeds.replay import FeedCounters, bounded_lines, replay_lines
    from tui.commands._feedout import summary_json, summary_text
    from tui.usage import UsageError

    # Lines are read with a bounded readline: an over-long one is counted and skipped.
    counters = FeedCounters()
    if args.file == "-":
        lines = bounded_lines(sys.stdin.buffer, counters)
        replay_lines(adapter, lines, show, received_ms=wall_ms, counters=counters)
    else:
        path = Path(args.file)
        try:
            with path.open("rb") as fh:
                lines = bounded_lines(fh, counters)
                replay_lines(adapter, lines, show, received_ms=wall_ms, counters=counters)
        except BrokenPipeError:
            raise  # stdout, not FILE
        except OSError as exc:
            raise UsageError(f"cannot read FILE {args.file}: {exc.strerror or exc}") from None
    counts = counters.as_dict()
    if args.json:
        print(summary_json(counts), flush=True)
    else:
        print(summary_text(f"{args.venue} replay of {args.file}", counts), flush=True)
    return 0
