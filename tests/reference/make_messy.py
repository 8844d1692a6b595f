"""Write the messy reference samples that tests/reference/messy.R and the tests share.

Run once; the output is shipped:  python tests/reference/make_messy.py

* ``heywood.csv``: a 3-item scale whose third item is nearly unrelated to the others
  (correlations about .05): the one-factor solution is a Heywood case.
* ``cfa-two-item.csv`` (+ ``cfa-two-item.spec.json``): four factors, one of two items,
  where Fisher scoring stalls at the start values and lavaan converges cleanly.
* ``messy-servqual.csv``: 800 servqual-22 responses with each scale answer missing with
  probability .15, and the loyalty answer 1 given only by respondents without a
  satisfaction score (a level that the rows used never show).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from analysis.simulate import simulate_responses  # noqa: E402
from questionnaires import SHIPPED_DIR, load_questionnaire  # noqa: E402


def heywood() -> None:
    rng = np.random.default_rng(11)
    n = 300
    f = rng.normal(size=n)
    a = np.clip(np.rint(4 + 1.2 * (0.7 * f + 0.7 * rng.normal(size=n))), 1, 7)
    b = np.clip(np.rint(4 + 1.2 * (0.7 * f + 0.7 * rng.normal(size=n))), 1, 7)
    c = np.clip(np.rint(4 + 1.2 * (0.07 * f + rng.normal(size=n))), 1, 7)
    np.savetxt(
        HERE / "heywood.csv",
        np.column_stack([a, b, c]),
        delimiter=",",
        fmt="%g",
        header="A,B,C",
        comments="",
    )


def cfa_two_item() -> None:
    rng = np.random.default_rng(0)
    for _trial in range(4):  # the fourth draw of a search for stalls (trial 3)
        k = rng.integers(2, 5)
        sizes = rng.integers(2, 5, k)
        p, n = sizes.sum(), int(rng.integers(80, 400))
        groups, start = [], 0
        for m in sizes:
            groups.append(list(range(start, start + int(m))))
            start += int(m)
        phi = np.full((k, k), rng.uniform(0.2, 0.9))
        np.fill_diagonal(phi, 1)
        lam = np.zeros((p, k))
        for j, g in enumerate(groups):
            lam[g, j] = rng.uniform(0.1, 0.99, len(g))
        sigma = lam @ phi @ lam.T
        np.fill_diagonal(sigma, 1)
        x = rng.multivariate_normal(np.zeros(p), sigma, n)
        x = np.clip(np.rint(5.5 + 2.2 * x), 1, 10)
    names = [f"c{i}" for i in range(p)]
    np.savetxt(
        HERE / "cfa-two-item.csv", x, delimiter=",", fmt="%g", header=",".join(names), comments=""
    )
    spec = {"factors": {f"f{j + 1}": [names[i] for i in g] for j, g in enumerate(groups)}}
    (HERE / "cfa-two-item.spec.json").write_text(json.dumps(spec, indent=1) + "\n")


def messy_servqual() -> None:
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    n = 800
    frame = simulate_responses(q, n, seed=12)
    rng = np.random.default_rng(12)
    items = [c.name for c in q.columns if c.section.kind in ("dimension", "outcome")]
    for column in items:
        frame.loc[rng.random(n) < 0.15, column] = np.nan
    sat = frame[["SAT1", "SAT2", "SAT3"]]
    no_score = sat.notna().sum(axis=1) < 2  # no satisfaction score even when available
    frame.loc[~no_score & (frame["LOY1"] == 1), "LOY1"] = 2
    frame.loc[np.flatnonzero(no_score)[:3], "LOY1"] = 1
    frame.insert(0, "respondent", [f"M{i:04d}" for i in range(n)])
    frame.to_csv(HERE / "messy-servqual.csv", index=False, float_format="%g")


if __name__ == "__main__":
    heywood()
    cfa_two_item()
    messy_servqual()
