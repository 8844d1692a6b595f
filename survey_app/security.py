"""Response headers that make every page safer, and cookie settings that follow the
base URL (``Secure`` and HSTS exactly when the service is reached over https)."""

from __future__ import annotations

from flask import Flask, Response, request

# No inline script anywhere (scripts are static files); inline styles are allowed since
# Plotly sets them; images may be data:/blob: URLs so that charts can be saved.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def secure_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.environ.get("survey.https"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    staff = ("/staff", "/login", "/reports", "/api/", "/followups", "/customers", "/password")
    if request.path.startswith((*staff, "/unsubscribe")):
        headers.setdefault("Cache-Control", "no-store")  # staff data is never cached
    return response


def configure(app: Flask) -> None:
    https = app.config["SURVEY_BASE_URL"].lower().startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True

    @app.before_request
    def mark_https() -> None:
        request.environ["survey.https"] = https

    app.after_request(secure_headers)
