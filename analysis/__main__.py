"""Command line: ``python -m analysis report DATA.csv --questionnaire Q.yaml [...]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from questionnaires import QuestionnaireError, load_questionnaire

from .data import AnalysisError, SurveyData, read_csv
from .efa import EXTRACTIONS, ROTATIONS
from .report import MISSING, build_report
from .summary import summarise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="reliability, EFA, CFA, gaps, drivers, loyalty")
    report.add_argument("data", type=Path, help="wide CSV with the questionnaire's columns")
    report.add_argument("--questionnaire", "-q", type=Path, required=True)
    report.add_argument(
        "--factors", type=int, help="factors to extract (default: parallel analysis)"
    )
    report.add_argument("--extraction", choices=EXTRACTIONS, default="minres")
    report.add_argument("--rotation", choices=ROTATIONS, default="oblimin")
    report.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="resamples for the intervals of the driver importances and of the PLS index "
        "model (default 0: no intervals)",
    )
    report.add_argument("--seed", type=int, default=0)
    report.add_argument(
        "--missing",
        choices=MISSING,
        help="listwise (every analysis on the rows answering all its items) or available "
        "(pairwise moments, FIML CFA, scores of the answered items); default: the "
        "questionnaire's analysis: missing:, else listwise",
    )
    report.add_argument(
        "--exclude-flagged",
        action="store_true",
        help="leave out the responses the quality checks flag (speeding, straight-lining, "
        "duplicates) from every analysis",
    )
    report.add_argument("--json", type=Path, metavar="OUT.json", help="write the results here")
    args = parser.parse_args(argv)
    try:
        q = load_questionnaire(args.questionnaire)
        data = SurveyData(q, read_csv(args.data, q))
        if args.factors is not None and args.factors < 1:
            raise AnalysisError("--factors must be at least 1")
        result = build_report(
            data,
            factors=args.factors,
            extraction=args.extraction,
            rotation=args.rotation,
            bootstrap=args.bootstrap,
            seed=args.seed,
            missing=args.missing,
            exclude_flagged=args.exclude_flagged,
        )
    except (QuestionnaireError, AnalysisError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summarise(result, q))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
