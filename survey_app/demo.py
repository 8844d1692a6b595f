"""Demo responses: synthetic answers written through the same encoder as real ones."""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
import pandas as pd

from analysis.simulate import simulate_responses

from .extensions import db
from .models import Response, Survey, utcnow
from .storage import encode
from .surveys.services import new_key

log = logging.getLogger(__name__)
BATCH = 5000


def add_demo_responses(survey: Survey, count: int, seed: int = 0) -> int:
    """Add ``count`` complete responses to ``survey`` and commit them batch by batch."""
    version = survey.current
    q = version.questionnaire
    text_columns = [c.name for c in q.text_columns]
    frame = simulate_responses(q, count, seed=seed)
    rng = np.random.default_rng(seed + 1)
    now = utcnow()
    langs = rng.choice(["zh", "en"], size=count, p=[0.6, 0.4])
    ages = rng.uniform(0, 90 * 24 * 3600, size=count)
    added = 0
    for start in range(0, count, BATCH):
        rows = []
        for i, record in enumerate(frame.iloc[start : start + BATCH].to_dict("records"), start):
            answers = {k: _canonical(v) for k, v in record.items()}
            when = now - timedelta(seconds=float(ages[i]))
            rows.append(
                {
                    "survey_id": survey.id,
                    "version_id": version.id,
                    "key": new_key(),
                    "status": "complete",
                    "page": len(q.pages),
                    "lang": str(langs[i]),
                    "answers": encode(q, answers),
                    "texts": {c: answers[c] for c in text_columns if answers.get(c)},
                    "created_at": when,
                    "updated_at": when,
                    "completed_at": when,
                }
            )
        db.session.execute(db.insert(Response), rows)
        db.session.commit()
        added += len(rows)
    log.info("survey %s: %s demo responses added", survey.id, added)
    return added


def _canonical(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return int(value)
    return value
