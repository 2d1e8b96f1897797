"""Where each key of a TOML document is written: exact line numbers for config errors.

A small structural scan of text that ``tomllib`` has already accepted. It reads what TOML
writes at the start of a statement, a table header (``[feeds.bybit]``, ``[[hedges]]``) or a
key (``entry = 1``, ``a.b = 2``, ``"quoted" = 3``), skips every value whole (strings of the
four kinds, arrays and inline tables over several lines, comments), and records each key under
its concrete path: ``("hedges", 1, "entry")`` for ``entry`` in the second ``[[hedges]]``.
Key names are read by ``tomllib`` itself, so quoting and escapes mean what they mean to it.

A path is answered only where the answer is exact: the line of the key; for a key that is not
written (a default, a missing key), the header line of the table that lacks it; for a path
inside a value (an item of an array, a key of an inline table), the value's line when the
value is on one line. Anything else is None: a line is never guessed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence

Part = str | int
KeyPath = tuple[Part, ...]


class KeyLines:
    """The lines of the keys and table headers of one TOML text (which must parse)."""

    def __init__(self, text: str) -> None:
        self._values: dict[KeyPath, tuple[int, int]] = {}  # key -> (first line, last line)
        self._tables: dict[KeyPath, int] = {}  # table header -> its line
        self._scan(text)

    def line(self, path: Sequence[Part]) -> int | None:
        p = tuple(path)
        if p in self._values:
            return self._values[p][0]
        if p in self._tables:
            return self._tables[p]
        if p and p[:-1] in self._tables:
            return self._tables[p[:-1]]  # not written in its table: the table's line
        for n in range(len(p) - 1, 0, -1):
            span = self._values.get(p[:n])
            if span is not None:
                return span[0] if span[0] == span[1] else None
        return None

    def _scan(self, text: str) -> None:
        i, line, n = 0, 1, len(text)
        table: KeyPath = ()
        arrays: dict[KeyPath, int] = {}  # array of tables -> how many elements so far
        while i < n:
            c = text[i]
            if c == "\n":
                line += 1
                i += 1
            elif c in " \t\r":
                i += 1
            elif c == "#":
                i = _end_of_line(text, i)
            elif c == "[":
                array = text.startswith("[[", i)
                start = i + (2 if array else 1)
                end = _unquoted(text, start, "]")
                table = _table_path(_key_parts(text[start:end]), arrays, array=array)
                self._tables.setdefault(table, line)
                i = end + (2 if array else 1)
            else:
                eq = _unquoted(text, i, "=")
                key = (*table, *_key_parts(text[i:eq]))
                first = line
                i, line = _skip_value(text, eq + 1, line)
                self._values.setdefault(key, (first, line))


def _table_path(parts: Sequence[str], arrays: dict[KeyPath, int], *, array: bool) -> KeyPath:
    """The concrete path of a header: a name that is an array of tables stands for its last
    element (``[[a.b]]`` after ``[[a]]`` is in ``a[-1]``); ``[[x]]`` opens a new element."""
    path: KeyPath = ()
    for j, name in enumerate(parts):
        path = (*path, name)
        last = j == len(parts) - 1
        if last and array:
            count = arrays.get(path, 0)
            arrays[path] = count + 1
            path = (*path, count)
        elif path in arrays:
            path = (*path, arrays[path] - 1)
    return path


def _key_parts(key_text: str) -> tuple[str, ...]:
    """The names of a (dotted, quoted) key, as tomllib reads them."""
    data: object = tomllib.loads(f"{key_text.strip()} = 0")
    parts: list[str] = []
    while isinstance(data, dict):
        ((name, data),) = data.items()
        parts.append(name)
    return tuple(parts)


def _end_of_line(text: str, i: int) -> int:
    j = text.find("\n", i)
    return len(text) if j < 0 else j


def _unquoted(text: str, i: int, char: str) -> int:
    """The index of the first ``char`` at or after ``i`` outside a one-line string."""
    while text[i] != char:
        i = _skip_string(text, i) if text[i] in "\"'" else i + 1
    return i


def _skip_string(text: str, i: int) -> int:
    """The index after the one-line string that starts at ``i``."""
    quote = text[i]
    i += 1
    while text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i + 1


def _skip_value(text: str, i: int, line: int) -> tuple[int, int]:
    """Past the value that starts at ``i`` (on ``line``): the index of the newline (or the
    end) that ends it, and the line it ends on."""
    depth, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith(('"""', "'''"), i):
            quote = text[i : i + 3]
            j = i + 3
            while not text.startswith(quote, j):
                j += 2 if quote == '"""' and text[j] == "\\" else 1
            j += 3
            for _ in range(2):  # up to two quotes of the string's own before the closing three
                if j < n and text[j] == quote[0]:
                    j += 1
            line += text.count("\n", i, j)
            i = j
            continue
        if c in "\"'":
            i = _skip_string(text, i)
            continue
        if c == "#":
            i = _end_of_line(text, i)
            continue
        if c == "\n":
            if depth == 0:
                return i, line
            line += 1
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return i, line
