"""Demo responses: synthetic answers written through the same encoder as real ones."""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np

from analysis.simulate import simulate_responses

from .extensions import db
from .models import Response, Survey, utcnow
from .storage import encode_frame
from .surveys.services import new_key

log = logging.getLogger(__name__)
BATCH = 5000


def add_demo_responses(survey: Survey, count: int, seed: int = 0) -> int:
    """Add ``count`` complete responses to ``survey`` and commit them batch by batch."""
    version = survey.current
    q = version.questionnaire
    frame = simulate_responses(q, count, seed=seed)
    matrix = encode_frame(q, frame)
    texts = frame[[c.name for c in q.text_columns]]
    rng = np.random.default_rng(seed + 1)
    now = utcnow()
    langs = rng.choice(["zh", "en"], size=count, p=[0.6, 0.4])
    ages = rng.uniform(0, 90 * 24 * 3600, size=count)
    for start in range(0, count, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, count)):
            when = now - timedelta(seconds=float(ages[i]))
            rows.append(
                {
                    "survey_id": survey.id,
                    "version_id": version.id,
                    "key": new_key(),
                    "status": "complete",
                    "page": len(q.pages),
                    "lang": str(langs[i]),
                    "answers": matrix[i].tobytes(),
                    "texts": {k: v for k, v in texts.iloc[i].items() if isinstance(v, str)},
                    "created_at": when,
                    "updated_at": when,
                    "completed_at": when,
                }
            )
        db.session.execute(db.insert(Response), rows)
        db.session.commit()
    log.info("survey %s: %s demo responses added", survey.id, count)
    return count
