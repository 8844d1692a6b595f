"""Links the app gives out: absolute ones from the configured base URL, and language
links that carry only the query arguments a page knows.

Absolute links (resume links, invitation links, links in mail) never come from the
request's ``Host`` header, which a client can forge: they start with
``SURVEY_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request, url_for

F = TypeVar("F", bound=Callable[..., Any])


def query_args(*names: str) -> Callable[[F], F]:
    """Declare the query arguments a view reads, so links back to it carry only those."""

    def mark(view: F) -> F:
        view.query_args = names  # type: ignore[attr-defined]
        return view

    return mark


def path_for(endpoint: str, **values: Any) -> str:
    """The path of ``endpoint`` from the application root, whatever the request."""
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return adapter.build(endpoint, values)


def external_url(endpoint: str, *, base_url: str | None = None, **values: Any) -> str:
    """An absolute URL: ``SURVEY_BASE_URL`` (or ``base_url``) then the endpoint's path."""
    base = (base_url or current_app.config["SURVEY_BASE_URL"]).rstrip("/")
    return base + path_for(endpoint, **values)


def lang_url(code: str) -> str:
    """This page in language ``code``, with the query arguments the view knows."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.url_rule is None or view is None:  # e.g. a 404 page
        return url_for("surveys.index", lang=code)
    known = getattr(view, "query_args", ())
    args = {name: request.args[name] for name in known if name in request.args}
    return url_for(request.endpoint, **(request.view_args or {}), **args, lang=code)
