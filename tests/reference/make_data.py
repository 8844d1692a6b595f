"""Write the reference sample the R script and the tests share (run once; output shipped).

python tests/reference/make_data.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from analysis.data import scales  # noqa: E402
from analysis.simulate import simulate_responses  # noqa: E402
from questionnaires import SHIPPED_DIR, load_questionnaire  # noqa: E402

SAMPLES = {"servqual-22": (600, 20261122), "genetic-lab": (400, 7)}


def main() -> None:
    for name, (n, seed) in SAMPLES.items():
        q = load_questionnaire(SHIPPED_DIR / f"{name}.yaml")
        frame = simulate_responses(q, n, seed=seed)
        rng = np.random.default_rng(seed)
        items = [c.name for c in q.columns if c.section.kind in ("dimension", "outcome")]
        for column in items:  # about 1% of answers missing, so listwise deletion matters
            frame.loc[rng.random(n) < 0.01, column] = np.nan
        frame.insert(0, "respondent", [f"R{i:04d}" for i in range(n)])
        frame.to_csv(HERE / f"{name}.csv", index=False, float_format="%g")
        spec = {
            "scales": {s.name: list(s.columns) for s in scales(q)},
            "dimensions": {
                d.id: {m.role: [q.column_name(i, m) for i in d.items] for m in q.measures}
                for d in q.dimensions
            },
            "reverse": {c.name: [q.scale.min, q.scale.max] for c in q.columns if c.item.reverse},
            "satisfaction": [i.id for o in q.outcomes if o.role == "satisfaction" for i in o.items],
            "loyalty": [i.id for o in q.outcomes if o.role == "loyalty" for i in o.items],
        }
        (HERE / f"{name}.spec.json").write_text(json.dumps(spec, indent=1) + "\n")


if __name__ == "__main__":
    main()
