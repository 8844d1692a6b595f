"""Refuse malformed requests before any view runs, under any WSGI server.

Each refusal is a clear 4xx and nothing is stored: a body over the size limit (also
when sent chunked, which Werkzeug would otherwise cut short silently), a file where an
answer is expected, a NUL byte anywhere in the URL or the form (PostgreSQL cannot store
one, and no answer needs one).
"""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import gettext as _

UPLOAD_ENDPOINTS: set[str] = set()  # views that accept files declare themselves here
# Routes that take more than a survey page (MAX_CONTENT_LENGTH): endpoint -> bytes.
ROUTE_LIMITS: dict[str, int] = {
    "admin.upload": 4 * 1024 * 1024,
    "admin.upload_confirm": 4 * 1024 * 1024,
    "admin.invitations": 4 * 1024 * 1024,
}


def refuse_odd_requests() -> None:
    if "\x00" in request.path:
        abort(404)
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400, description=_("The address contains a character that is not allowed."))
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    limit = ROUTE_LIMITS.get(request.endpoint or "")
    if limit is not None:
        request.max_content_length = limit
        request.max_form_memory_size = limit
    _refuse_oversized_chunked_body()
    if (
        request.mimetype == "multipart/form-data"
        and request.files
        and request.endpoint not in UPLOAD_ENDPOINTS
    ):
        abort(400, description=_("Files cannot be sent here."))
    for key, value in request.form.items(multi=True):
        if "\x00" in key or "\x00" in value:
            abort(400, description=_("The form contains a character that is not allowed."))


def _refuse_oversized_chunked_body() -> None:
    """Werkzeug stops reading a body without a Content-Length at the limit and parses
    what it read; refuse it instead when more follows."""
    limit = request.max_content_length
    if request.content_length is not None or limit is None:
        return
    if "wsgi.input_terminated" not in request.environ:
        return  # Werkzeug reads no body of unknown length then: nothing is cut
    data = request.get_data(cache=True)
    if len(data) >= limit and request.environ["wsgi.input"].read(1):
        abort(413)


def register(app: Flask) -> None:
    app.before_request(refuse_odd_requests)
