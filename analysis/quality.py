"""Response quality: responses a careful researcher would check before trusting them.

Three checks, each a plain rule:

* speeding: completed in under a third of the median completion time (from the
  ``started_at`` and ``submitted_at`` columns, where the data has them);
* straight-lining: the same answer on every item of a matrix of at least 6 items (a
  dimension's items under all its measures, or an outcome's scale items), reverse-keyed
  items included (the answers as given);
* exact duplicates: a response identical to an earlier one on every questionnaire column
  (the later copies are flagged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import SurveyData
from .moments import CHUNK_ROWS as CHUNK
from .moments import in_shares, row_chunks

ID_COLUMNS = ("response_id", "respondent_id", "respondent", "id")
TIME_COLUMNS = ("started_at", "submitted_at")
MIN_MATRIX = 6  # items in a matrix before identical answers count as straight-lining
SPEEDING_SHARE = 1 / 3  # of the median completion time
BUCKETS = 1 << 23  # at most, for the duplicate search: one row in five shares a bucket at 1M


@dataclass(frozen=True)
class Flag:
    """The rows one check flags, and why it could not run if it could not."""

    rows: np.ndarray  # bool, one per response
    ids: tuple
    note: str | None = None

    def to_dict(self) -> dict:
        out = {"n": int(self.rows.sum()), "ids": list(self.ids)}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Quality:
    n_checked: int
    speeding: Flag
    straight_lining: Flag
    duplicates: Flag
    median_seconds: float | None
    excluded: bool = False

    @property
    def flagged(self) -> np.ndarray:
        return self.speeding.rows | self.straight_lining.rows | self.duplicates.rows

    def to_dict(self) -> dict:
        return {
            "n_checked": self.n_checked,
            "n_flagged": int(self.flagged.sum()),
            "excluded": self.excluded,
            "median_seconds": self.median_seconds,
            "speeding": self.speeding.to_dict(),
            "straight_lining": self.straight_lining.to_dict(),
            "duplicates": self.duplicates.to_dict(),
        }


def _ids(frame: pd.DataFrame, rows: np.ndarray) -> tuple:
    """The flagged rows' ids: the data's id column where it has one, else row numbers
    counted from 1."""
    where = np.flatnonzero(rows)
    for name in ID_COLUMNS:
        if name in frame:
            return tuple(frame[name].iloc[where].tolist())
    return tuple((where + 1).tolist())


def _speeding(frame: pd.DataFrame) -> tuple[np.ndarray, float | None, str | None]:
    none = np.zeros(len(frame), dtype=bool)
    if not all(c in frame for c in TIME_COLUMNS):
        return none, None, "the data has no started_at and submitted_at columns"
    start = pd.to_datetime(frame["started_at"], utc=True, errors="coerce")
    end = pd.to_datetime(frame["submitted_at"], utc=True, errors="coerce")
    seconds = (end - start).dt.total_seconds().to_numpy()
    known = np.isfinite(seconds)
    if not known.any():
        return none, None, "no response has both a start and a submission time"
    median = float(np.median(seconds[known]))
    return known & (seconds < SPEEDING_SHARE * median), median, None


def _matrices(data: SurveyData) -> list[list[str]]:
    out = []
    for section in (*data.q.dimensions, *data.q.outcomes):
        columns = [
            c.name
            for c in data.q.columns
            if c.section is section and c.name in data.frame  # dimension/outcome: scales
        ]
        if len(columns) >= MIN_MATRIX:
            out.append(columns)
    return out


def _value_hashes(values: pd.Series) -> np.ndarray:
    """pandas' hash of each value (missing included); for a categorical, its few
    categories hashed and taken by code (0.09 s instead of 0.36 s per column at 1M)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return pd.util.hash_array(values.astype(object).to_numpy())
    names = np.append(values.cat.categories.astype(object).to_numpy(), None)
    return pd.util.hash_array(names)[values.cat.codes.to_numpy()]  # code -1: the None


def _repeated(hashes: np.ndarray) -> np.ndarray:
    """Rows whose hash occurs more than once: buckets of the hash's low bits first (a
    bincount), then a hash table on the few rows that share a bucket."""
    if len(hashes) < 2:
        return np.zeros(len(hashes), dtype=bool)
    # about four buckets per row (a fixed 4M made a filtered report's check 0.12 s)
    size = min(BUCKETS, 1 << max(10, (4 * len(hashes)).bit_length()))
    buckets = (hashes.view(np.uint64) & np.uint64(size - 1)).astype(np.intp)
    shared = np.bincount(buckets, minlength=size)[buckets] > 1
    out = np.zeros(len(hashes), dtype=bool)
    rows = np.flatnonzero(shared)
    out[rows] = pd.Series(hashes[rows]).duplicated(keep=False).to_numpy()
    return out


class PassChecks:
    """The straight-lining check and the duplicate hash of the scale items, as linear
    combinations that the report's one pass over the rows computes with the scale means
    (:class:`analysis.moments.MomentCache` ``extra``), nearly free.

    Column 0 of :attr:`weights` is a random hash. Each matrix adds a random integer
    contrast (summing to 0 over the answers as given; a reverse-keyed item's sign is
    flipped, since the pass reads it recoded as min + max - x): a straight line gives
    exactly its target value (whole numbers, exact in floating point); the rows that hit
    it by chance are told apart on the answers by :meth:`straight_lines`.
    """

    def __init__(self, data: SurveyData, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.data = data
        rng = np.random.default_rng(1)
        index = {c: j for j, c in enumerate(columns)}
        self.matrices = [m for m in _matrices(data) if all(c in index for c in m)]
        weights = [rng.standard_normal(len(columns))]
        targets = []
        for m in self.matrices:
            for _ in range(1):  # one row of n floats per matrix: memory, not time
                c = rng.integers(-7, 8, len(m)).astype(np.float64)
                c[0] -= c.sum()  # the contrast of a constant row is 0
                w = np.zeros(len(columns))
                target = 0.0
                for name, cj in zip(m, c, strict=True):
                    item = data.q.column(name).item
                    if item.reverse:  # x = (min + max) - recoded
                        w[index[name]] = -cj
                        target -= cj * (item.scale.min + item.scale.max)
                    else:
                        w[index[name]] = cj
                weights.append(w)
                targets.append(target)
        self.weights = np.column_stack(weights)
        self.targets = np.array(targets)

    def hashes(self, projected: np.ndarray) -> np.ndarray:
        return projected[0]

    def straight_lines(self, projected: np.ndarray) -> np.ndarray:
        """Rows with the same answer on every item of some matrix."""
        n = projected.shape[1]
        out = np.zeros(n, dtype=bool)
        for i, m in enumerate(self.matrices):
            rows = np.flatnonzero(projected[1 + i] == self.targets[i])
            if len(rows):  # confirm on the answers themselves
                first = self.data._numbers(m[0])[rows]
                same = np.ones(len(rows), dtype=bool)
                for name in m[1:]:
                    same &= self.data._numbers(name)[rows] == first
                out[rows[same]] = True
        return out


def quality(
    data: SurveyData, checks: PassChecks | None = None, projected: np.ndarray | None = None
) -> Quality:
    """Run the three checks on every response of ``data``.

    Notes
    -----
    One pass over the rows, in chunks and threads: per matrix whether every answer equals
    the first (straight-lining), and a random linear hash of every numeric answer
    (missing as its own value); rows whose hash repeats are then compared exactly. With
    ``checks`` and the combinations the report's pass computed (``projected``), the
    scale items were done there.
    """
    frame = data.frame
    n = len(frame)
    numeric = [c.name for c in data.q.columns if c.type.frame_dtype == "float" and c.name in frame]
    if projected is None:
        checks = None  # the pass did not run: every check here
    done = set(checks.columns) if checks is not None else set()
    arrays = [data._numbers(c) for c in numeric if c not in done]  # as answered
    every = [data._numbers(c) for c in numeric]
    index = {c: j for j, c in enumerate(c for c in numeric if c not in done)}
    matrices = [[index[c] for c in m] for m in _matrices(data) if all(c in index for c in m)]
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(len(arrays))
    if checks is not None:
        straight, hashes = checks.straight_lines(projected), checks.hashes(projected).copy()
    else:
        straight, hashes = np.zeros(n, dtype=bool), np.zeros(n)
    full_weights = rng.standard_normal(len(every))
    answered_any = np.zeros(n, dtype=bool)

    def share(first: int, last: int) -> None:
        scratch = np.empty(min(CHUNK, max(last - first, 1)))
        for start, stop in row_chunks(first, last):
            h = hashes[start:stop]
            tmp = scratch[: stop - start]
            for a, w in zip(arrays, weights, strict=True):
                np.multiply(a[start:stop], w, out=tmp)
                h += tmp  # NaN where an answer is missing: redone below
            gaps = np.isnan(h)
            if gaps.any():  # missing answers hash as a value of their own
                rows = np.flatnonzero(gaps)
                part = np.column_stack([a[start:stop][rows] for a in every])
                seen = ~np.isnan(part)
                answered_any[start:stop][rows] = seen.any(axis=1)
                h[rows] = np.where(seen, part, -7919.0) @ full_weights
                answered_any[start:stop][~gaps] = True
            else:
                answered_any[start:stop] = True
            line = straight[start:stop]
            for columns in matrices:
                first_answer = arrays[columns[0]][start:stop]
                same = arrays[columns[1]][start:stop] == first_answer  # NaN is never equal
                for j in columns[2:]:
                    same &= arrays[j][start:stop] == first_answer
                line |= same

    if n and every:
        in_shares(n, share)
    for column in (c.name for c in data.q.columns if c.type.frame_dtype != "float"):
        if column in frame:  # choices and texts join the hash through pandas' hashing
            codes = _value_hashes(frame[column])
            hashes += (codes % 1_000_003).astype(np.float64) * rng.standard_normal()
    candidates = _repeated(hashes) & answered_any
    duplicates = np.zeros(n, dtype=bool)
    if candidates.any():  # exact comparison of the few rows whose hash repeats
        columns = [c.name for c in data.q.columns if c.name in frame]
        rows = frame.loc[candidates, columns]
        duplicates[np.flatnonzero(candidates)[rows.duplicated(keep="first").to_numpy()]] = True
    speeding, median, note = _speeding(frame)
    return Quality(
        n_checked=n,
        speeding=Flag(speeding, _ids(frame, speeding), note),
        straight_lining=Flag(straight, _ids(frame, straight)),
        duplicates=Flag(duplicates, _ids(frame, duplicates)),
        median_seconds=median,
    )
