"""Export a range of history to CSV or JSON (the history screen's export key, ``hedgetop
history --csv/--json``).

Snapshots are exported at the resolution ``History.series`` picks for ``max_points`` (default
10 000 points per subject: one-second rows for short ranges, rollups beyond), one line per
(subject, bucket); events one line each. A figure that is unknown (or not finite) is empty in
CSV and ``null`` in JSON. Times are given twice: UTC ISO-8601 and epoch ms.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

from storage import schema
from storage.history import History, HistoryEvent

EXPORT_POINTS = 10_000

#: the words for an event (the caller's: storage keeps data, the screens word it)
Describe = Callable[[HistoryEvent], str]


def iso_utc(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="seconds")


def series_keys(kind: str) -> list[str]:
    """The series keys ``History.series`` returns for a kind, in schema order."""
    spec = schema.KINDS[kind]
    keys: list[str] = []
    for r in spec.rolled:
        keys.append(r.name)
        keys += [f"{r.name}.{a}" for a in r.aggs if a != r.primary]
    return [*keys, "n"]


def snapshot_rows(
    hist: History,
    start_ms: int,
    end_ms: int,
    *,
    subjects: Sequence[str | None] = (None,),
    max_points: int = EXPORT_POINTS,
) -> Iterator[dict[str, Any]]:
    """One dict per (subject, bucket): ``time_utc``, ``ts_ms``, ``kind``, ``subject``,
    ``bucket_s`` and the subject's series values."""
    for name in subjects:
        sub = hist.subject(name)
        plan = hist.plan(start_ms, end_ms, subject=name, max_points=max_points)
        data = hist.series(start_ms, end_ms, subject=name, max_points=max_points)
        keys = [k for k in series_keys(sub.kind) if k in data]
        for i, (t, _n) in enumerate(data["n"]):
            row: dict[str, Any] = {
                "time_utc": iso_utc(t),
                "ts_ms": t,
                "kind": sub.kind,
                "subject": sub.name,
                "bucket_s": plan.bucket_ms / 1000,
            }
            for k in keys:
                v = data[k][i][1]
                row[k] = v if v is None or math.isfinite(v) else None
            yield row


def event_dict(ev: HistoryEvent, describe: Describe) -> dict[str, Any]:
    return {
        "time_utc": iso_utc(ev.ts_ms),
        "ts_ms": ev.ts_ms,
        "kind": ev.kind,
        "subject": ev.subject,
        "text": describe(ev),
        "data": msgspec.to_builtins(ev.event),
    }


def write_csv(
    hist: History,
    out: TextIO,
    start_ms: int,
    end_ms: int,
    *,
    subjects: Sequence[str | None] = (None,),
    max_points: int = EXPORT_POINTS,
    events: bool = False,
    describe: Describe,
) -> int:
    """Write snapshots (or, with ``events=True``, the events of the subjects, worded by
    ``describe``) as CSV with a header row; returns the number of data rows. Subjects of
    different kinds share one header (the union of their columns; a column that does not apply
    is empty)."""
    writer: Any
    if events:
        fields = ["time_utc", "ts_ms", "kind", "subject", "text"]
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        n = 0
        for ev in _events(hist, start_ms, end_ms, subjects):
            writer.writerow({k: v for k, v in event_dict(ev, describe).items() if k in fields})
            n += 1
        return n
    kinds = []
    for name in subjects:
        kind = hist.subject(name).kind
        if kind not in kinds:
            kinds.append(kind)
    header = ["time_utc", "ts_ms", "kind", "subject", "bucket_s"]
    for kind in kinds:
        header += [k for k in series_keys(kind) if k not in header]
    writer = csv.DictWriter(out, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in snapshot_rows(hist, start_ms, end_ms, subjects=subjects, max_points=max_points):
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        n += 1
    return n


def _events(
    hist: History, start_ms: int, end_ms: int, subjects: Sequence[str | None]
) -> list[HistoryEvent]:
    if any(s is None or s == "portfolio" for s in subjects):
        return hist.events(start_ms, end_ms)
    seen: dict[HistoryEvent, None] = {}
    for s in subjects:
        for ev in hist.events(start_ms, end_ms, s):
            seen.setdefault(ev)
    return sorted(seen, key=lambda e: (e.ts_ms, e.kind))


def write_json(
    hist: History,
    out: TextIO,
    start_ms: int,
    end_ms: int,
    *,
    subjects: Sequence[str | None] = (None,),
    max_points: int = EXPORT_POINTS,
    describe: Describe,
) -> None:
    """Write one JSON document: the range, per subject its rows, and the events (worded by
    ``describe``)."""
    doc: dict[str, Any] = {
        "database": str(hist.path),
        "from_utc": iso_utc(start_ms),
        "to_utc": iso_utc(end_ms),
        "from_ms": start_ms,
        "to_ms": end_ms,
        "subjects": {},
        "events": [event_dict(e, describe) for e in _events(hist, start_ms, end_ms, subjects)],
    }
    for name in subjects:
        sub = hist.subject(name)
        plan = hist.plan(start_ms, end_ms, subject=name, max_points=max_points)
        rows = list(snapshot_rows(hist, start_ms, end_ms, subjects=[name], max_points=max_points))
        doc["subjects"][sub.name] = {
            "kind": sub.kind,
            "venue": sub.venue,
            "symbol": sub.symbol,
            "coin": sub.coin,
            "source": plan.source,
            "bucket_s": plan.bucket_ms / 1000,
            "rows": [
                {k: v for k, v in r.items() if k not in ("kind", "subject", "bucket_s")}
                for r in rows
            ],
        }
    json.dump(doc, out, indent=1, allow_nan=False, default=str)
    out.write("\n")
