"""Links on a survey's staff page to the other staff areas (reports, exports...).

Each area registers its link here, so that the survey page lists them without
importing those areas, and shows each only to the roles its permission allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import url_for


@dataclass(frozen=True)
class StaffLink:
    label: Callable[[], str]  # translated when shown
    endpoint: str
    permission: str


LINKS: list[StaffLink] = []


def register(label: Callable[[], str], endpoint: str, permission: str) -> None:
    LINKS.append(StaffLink(label, endpoint, permission))


def links_for(survey: Any, user: Any) -> list[dict[str, str]]:
    from .auth.policy import may

    return [
        {"label": str(link.label()), "url": url_for(link.endpoint, survey_id=survey.id)}
        for link in LINKS
        if may(user, link.permission)
    ]
