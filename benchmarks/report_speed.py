"""Speed and memory of the full analysis report against what a researcher would run.

For 10k, 100k and 1M synthetic SERVQUAL responses (44 E/P items + 6 outcome items),
side by side in one run, each measurement in a fresh process (so peak memory is its own),
the median of three runs (the first one, which pays for lazy imports, included):

* ``report``: ``analysis.report.build_report`` (everything, bootstraps aside);
* ``peers``: pingouin alpha for the 10 dimension scales, factor_analyzer EFA (minres,
  oblimin, 5 factors), semopy CFA of the perception items, statsmodels OLS with HC3;
* ``floor``: one ``np.cov`` of the 50-item matrix.

    python benchmarks/report_speed.py [--sizes 10000 100000 1000000] [--full]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL = False  # --full: every servqual-22 column (NPS, text, segments, waves) as well
REPEAT = 3  # timed runs per measurement, in the same process; the median is reported
sys.path.insert(0, str(ROOT))


def make_frame(n: int):
    from analysis.simulate import simulate_responses
    from questionnaires import SHIPPED_DIR, load_questionnaire

    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    frame = simulate_responses(q, n, seed=1)
    if FULL:
        return q, frame
    # the benchmark data: the 44 SERVQUAL items and the 6 outcome items
    items = [c.name for c in q.columns if c.section.kind in ("dimension", "outcome")]
    return q, frame[items].copy()


def run_report(q, frame) -> None:
    from analysis.data import SurveyData
    from analysis.report import build_report

    build_report(SurveyData(q, frame), factors=5)


def run_peers(q, frame) -> None:
    import warnings

    import numpy as np
    import pingouin as pg
    import semopy
    import statsmodels.api as sm
    from factor_analyzer import FactorAnalyzer

    from analysis.data import scales

    warnings.simplefilter("ignore")
    for scale in scales(q)[:10]:
        pg.cronbach_alpha(frame[list(scale.columns)])
    perception = [c for c in frame.columns if c.startswith("P_")]
    FactorAnalyzer(n_factors=5, method="minres", rotation="oblimin").fit(frame[perception])
    model = "\n".join(
        f"{d.id} =~ " + " + ".join(f"P_{i.id}" for i in d.items) for d in q.dimensions
    )
    cfa = semopy.Model(model)
    cfa.fit(frame[perception])
    semopy.calc_stats(cfa)
    x = np.column_stack([frame[[f"P_{i.id}" for i in d.items]].mean(axis=1) for d in q.dimensions])
    y = frame[["SAT1", "SAT2", "SAT3"]].mean(axis=1)
    sm.OLS(y.to_numpy(), sm.add_constant(x)).fit(cov_type="HC3")


def run_floor(q, frame) -> None:
    import numpy as np

    items = [c.name for c in q.columns if c.section.kind in ("dimension", "outcome")]
    np.cov(frame[items].to_numpy(), rowvar=False)


def child(kind: str, n: int) -> None:
    q, frame = make_frame(n)
    # import each side's packages before the clock starts: imports are not analysis
    if kind == "report":
        import analysis.report  # noqa: F401
    elif kind == "peers":
        import factor_analyzer  # noqa: F401
        import pingouin  # noqa: F401
        import semopy  # noqa: F401
        import statsmodels.api  # noqa: F401
    runner = {"report": run_report, "peers": run_peers, "floor": run_floor}[kind]
    times = []
    for _ in range(REPEAT):  # the median: this machine is shared, single runs vary by 30%
        start = time.perf_counter()
        runner(q, frame)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    # memory in a second, untimed run: tracemalloc sees numpy's buffers too
    tracemalloc.start()
    runner(q, frame)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data_mb = frame.memory_usage(deep=True).sum() / 1e6
    print(json.dumps({"seconds": seconds, "extra_mb": peak / 1e6, "data_mb": data_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--full",
        action="store_true",
        help="also NPS, text and segment columns (the report does more)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global FULL
    FULL = args.full
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    rows = []
    for n in args.sizes:
        result = {}
        for kind in ("floor", "report", "peers"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(n), *(["--full"] * FULL)],
                capture_output=True,
                text=True,
                check=True,
            )
            result[kind] = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((n, result))
        print(
            f"n={n:>9,}  floor {result['floor']['seconds']:.2f}s  report "
            f"{result['report']['seconds']:.2f}s  peers {result['peers']['seconds']:.2f}s",
            flush=True,
        )
    print("\nFull report (bootstraps aside) vs the peer pipeline and the np.cov floor:")
    print(
        f"{'responses':>10s} {'floor s':>8s} {'report s':>9s} {'peers s':>8s} "
        f"{'report/floor':>13s} {'peers/report':>13s} {'data MB':>8s} "
        f"{'report +MB':>11s} {'peers +MB':>10s}"
    )
    for n, r in rows:
        f, rep, peers = r["floor"]["seconds"], r["report"]["seconds"], r["peers"]["seconds"]
        print(
            f"{n:>10,} {f:8.2f} {rep:9.2f} {peers:8.2f} {rep / f:13.2f} {peers / rep:13.2f} "
            f"{r['report']['data_mb']:8.0f} {r['report']['extra_mb']:11.0f} "
            f"{r['peers']['extra_mb']:10.0f}"
        )
    print(
        "\n'data MB' is the data frame; '+MB' is the most the analysis allocates on top of it"
        " (tracemalloc, a second untimed run).\nGoal at 1M: report/floor < 2, peers/report >= 3,"
        " report under 1 GB of peak memory."
    )


if __name__ == "__main__":
    main()
