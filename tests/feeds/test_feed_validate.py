"""The QuoteGate and Sequencer on their own, and what the replay and the writers do with bad
numbers (issue 8.1, 8.4, 8.7): nothing non-finite in --json, a line over the frame cap is
counted and skipped, the database never stores inf or NaN."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from feedkit import fixture_lines

from core.events import Kind, Quote
from core.feeds.base import MAX_FRAME_BYTES
from core.feeds.replay import FeedCounters, bounded_lines
from core.feeds.validate import QuoteGate, Sequencer
from storage import schema
from tui.cli import main
from tui.commands._feedout import quote_json


def quote(t: int = 0, **kw: Any) -> Quote:
    fields: dict[str, Any] = {"mark": 30_000.0, "index": 30_010.0, "funding_rate": 0.0001}
    fields.update(kw)
    return Quote(venue="bybit", symbol="BTCUSD", kind=Kind.INVERSE_PERP, received_ms=t, **fields)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("mark", math.nan, "not a finite price"),
        ("mark", math.inf, "not a finite price"),
        ("index", -math.inf, "not a finite price"),
        ("mark", 0.0, "not a positive price"),
        ("bid", -5.0, "not a positive price"),
        ("mark", 1e-7, "around the last good price"),
        ("ask", 3e11, "around the last good price"),
        ("funding_rate", 0.5, "cap"),
        ("funding_rate", math.nan, "cap"),
    ],
)
def test_gate_refuses_and_says_why(field: str, value: float, why: str) -> None:
    gate = QuoteGate("bybit")
    assert gate.check(quote(0)) is None
    reason = gate.check(quote(100, **{field: value}))
    assert reason is not None
    assert reason.startswith(f"{field}=")
    assert why in reason
    assert gate.check(quote(200)) is None  # good data is accepted again


def test_gate_mark_far_from_index_and_a_fresh_instrument() -> None:
    gate = QuoteGate("bybit")
    assert gate.check(quote(0, mark=30_000.0, index=10_000.0)) is not None  # 3x the index
    assert gate.check(quote(0, mark=30_000.0, index=None, bid=10.0)) is not None  # fields disagree
    assert gate.check(quote(0, mark=66_666.6, index=115_418.19)) is None  # a real crash's basis


def test_gate_reanchors_after_a_long_silence() -> None:
    gate = QuoteGate("bybit", reanchor_ms=60_000)
    assert gate.check(quote(0)) is None
    moved = {"mark": 10_000.0, "index": 10_010.0}
    assert gate.check(quote(1_000, **moved)) is not None  # a third of the price in a second
    assert gate.check(quote(60_001, **moved)) is None  # a minute without a good quote
    assert gate.check(quote(60_002, mark=10_001.0, index=10_011.0)) is None


def test_sequencer_old_and_repeated() -> None:
    seq = Sequencer()
    assert seq.admit("a", 10, b"x")
    assert not seq.admit("a", 9, b"y")
    assert not seq.admit("a", 10, b"x")
    assert seq.admit("a", 10, b"z")  # same stamp, new content: two updates in one ms
    assert seq.admit("b", 1, b"x")  # another stream
    assert seq.admit("a", None, b"x")  # no stamp: nothing to compare
    assert (seq.older, seq.duplicates) == (1, 1)
    seq.forget()
    assert seq.admit("a", 1, b"x")


def test_quote_json_never_writes_nan() -> None:
    q = quote(0, mark=math.nan, index=math.inf, funding_rate=-math.inf)
    row = json.loads(quote_json(q))
    assert (row["mark"], row["index"], row["funding_rate"]) == (None, None, None)


def test_schema_rows_store_null_not_inf() -> None:
    row = schema._real((1, math.inf, -math.inf, math.nan, 2.5, None, "x"))
    assert row == (1, None, None, None, 2.5, None, "x")


def test_bounded_lines_skips_an_over_long_line() -> None:
    counters = FeedCounters()
    data = b"one\n" + b"x" * (MAX_FRAME_BYTES + 10) + b"\ntwo\n" + b"y" * 64
    lines = list(bounded_lines(io.BytesIO(data), counters, limit=MAX_FRAME_BYTES))
    assert lines == [b"one\n", b"two\n", b"y" * 64]
    assert counters.oversize == 1
    small = FeedCounters()
    assert list(bounded_lines(io.BytesIO(b"abcd\nabcdef\nab"), small, limit=4)) == [
        b"abcd\n",
        b"ab",
    ]
    assert small.oversize == 1


def bad_bybit_lines() -> list[str]:
    snap, delta = (json.loads(line) for line in fixture_lines("bybit-inverse-tickers.jsonl")[:2])
    out = [json.dumps(snap)]
    for n, value in enumerate(["1e999", "NaN", "-inf", "0", "-5", "1e-7"]):
        d = json.loads(json.dumps(delta))
        d["cs"] += n
        d["data"]["markPrice"] = value
        out.append(json.dumps(d))
    return out


def test_replay_json_has_no_nan_and_counts_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(bad_bybit_lines()) + "\n")
    assert main(["replay", str(path), "--venue", "bybit", "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in --json output")

    rows = [json.loads(line, parse_constant=refuse) for line in out.splitlines()]
    assert len(rows) == 2  # the good snapshot, then the summary
    assert rows[-1]["summary"]["rejected"] == 6


def test_replay_skips_an_over_long_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = fixture_lines("bybit-inverse-tickers.jsonl")[:2]
    path = tmp_path / "long.jsonl"
    with path.open("w") as fh:
        fh.write(good[0] + "\n")
        fh.write('{"topic":"tickers.BTCUSD","pad":"' + "x" * MAX_FRAME_BYTES + '"}\n')
        fh.write(good[1] + "\n")
    assert main(["replay", str(path), "--venue", "bybit", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = rows[-1]["summary"]
    assert (summary["quotes"], summary["oversize"], summary["parse_errors"]) == (2, 1, 0)
