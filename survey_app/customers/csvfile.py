"""Reading the CSV files of the customer register and the orders: every problem named by
line (the header is line 1), column and reason, and nothing accepted if any row is bad."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class ImportRefused(ValueError):
    """A file that was not imported: ``problems`` lists every bad cell (up to 100)."""

    def __init__(self, source: str, problems: list[Problem], more: int = 0) -> None:
        self.source = source
        self.problems = problems
        self.more = more
        lines = [f"{source}, {p}" for p in problems]
        if more:
            lines.append(f"... and {more} more problems")
        lines.append("nothing was imported")
        super().__init__("\n".join(lines))


class Problems:
    """Collects problems; the importer raises them together at the end."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[Problem] = []
        self.count = 0

    def add(self, line: int, column: str, reason: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(line, column, reason))

    def raise_any(self) -> None:
        if self.count:
            raise ImportRefused(self.source, self.items, self.count - len(self.items))


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB18030 (Excel's default for CSV
    on Chinese Windows); anything else is refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(source, [Problem(1, "", "the file is neither UTF-8 nor GB18030 text")])


def rows(text: str, source: str, required: tuple[str, ...]) -> tuple[list[str], Iterator]:
    """The header (checked: required columns present, no duplicates or blanks) and an
    iterator of (line number, {column: stripped cell})."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportRefused(source, [Problem(1, "", "the file is empty")]) from None
    except csv.Error as exc:
        raise ImportRefused(source, [Problem(1, "", f"not a CSV file: {exc}")]) from None
    problems = Problems(source)
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            problems.add(1, "", f"column {position} has no name")
        elif name in seen:
            problems.add(1, name, "the column is given twice")
        seen.add(name)
    missing = [c for c in required if c not in seen]
    if missing:
        problems.add(
            1, "", f"missing column(s) {', '.join(missing)} (required: {', '.join(required)})"
        )
    problems.raise_any()

    def generate():
        line = 1
        try:
            for record in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in record):
                    continue  # a blank line
                if len(record) > len(header):
                    yield line, None
                    continue
                record = record + [""] * (len(header) - len(record))
                yield line, {h: c.strip() for h, c in zip(header, record, strict=True)}
        except csv.Error as exc:
            raise ImportRefused(source, [Problem(line + 1, "", f"not valid CSV: {exc}")]) from None

    return header, generate()


_NUMBER = re.compile(r"^[¥￥$]?\s*-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def number(text: str) -> float:
    """A decimal number as accounting files write it: ``1234.5``, ``1,234.50``, ``¥1,200``."""
    if not _NUMBER.match(text):
        raise ValueError(f"{text!r} is not a number")
    value = float(re.sub(r"[¥￥$,\s]", "", text))
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a number")
    return value


def day(text: str) -> date:
    """A date as ``YYYY-MM-DD`` (or ``YYYY/MM/DD``, as Chinese Excel writes it)."""
    for pattern in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
