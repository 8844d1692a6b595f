"""The questions of a page as HTML, drawn once per distinct state and then reused.

The questions of a page (``surveys/_questions.html``) depend only on the questionnaire
text and page, the language, the answers shown, the problems and the items that
earlier answers hide. Customers going through a survey see the same few of these
states again and again, and drawing a page's radio groups was most of the cost of
showing it, so each state's HTML is kept (the most recent few hundred, per process).
A state showing an open-text answer is drawn anew and not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

from flask import current_app
from markupsafe import Markup

from questionnaires import Page, Questionnaire, translate

TEMPLATE = "surveys/_questions.html"
MAX_KEPT = 512

_kept: OrderedDict[tuple, Markup] = OrderedDict()
_lock = threading.Lock()


def questions_html(
    q: Questionnaire,
    sha256: str,
    preset: frozenset[str],
    page: Page,
    lang: str,
    *,
    values: Mapping[str, list[str]],
    problems: Mapping[str, str],
    hidden: frozenset[str],
    field_name: Callable[[str], str],
    keep: bool = True,
) -> Markup:
    """The questions of ``page`` of ``q`` (text ``sha256``; for a customer with
    ``preset`` slots) in ``lang``, showing ``values`` (slot -> form values) and
    ``problems`` (slot -> message), with the items ``hidden`` by earlier answers.
    ``keep``: the drawn HTML may be kept and reused for the same state."""
    shown = tuple(sorted((slot, tuple(v)) for slot, v in values.items() if v))
    free_text = any(not slot.item.type.numeric for slot in page.slots if values.get(slot.name))
    keep = keep and not free_text and not current_app.jinja_env.auto_reload
    key = (sha256, preset, page.number, lang, shown, tuple(sorted(problems.items())), hidden)
    if keep:
        with _lock:
            html = _kept.get(key)
            if html is not None:
                _kept.move_to_end(key)
                return html
    html = Markup(
        current_app.jinja_env.get_template(TEMPLATE).render(
            q=q,
            page=page,
            values=values,
            problems=problems,
            hidden=hidden,
            field_name=field_name,
            t=lambda text: translate(text, lang),
        )
    )
    if keep:
        with _lock:
            _kept[key] = html
            if len(_kept) > MAX_KEPT:
                _kept.popitem(last=False)
    return html
