"""Security headers on every response; with TLS on, HSTS and cookies that are only sent over HTTPS."""
from __future__ import annotations

from flask import current_app

# Everything the pages load comes from this site: our scripts and the vendored bpmn-js viewer, stylesheets and the
# bpmn font. bpmn-js styles the SVG it draws through the CSSOM (element.style), which CSP does not restrict.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # the empty favicon (data:,) in base.html; bpmn-js.css's breadcrumb arrow (data: SVG)
    "font-src 'self'",
    "connect-src 'self'",  # diagram.js and audit.js fetch the BPMN XML
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # not no-referrer: Flask-WTF checks the Referer of form posts over HTTPS
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def tls_enabled(value) -> bool:
    """The TLS setting as a bool (CREDITFLOW_TLS may arrive as true/false, 1/0, yes/no or on/off)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def add_security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["TLS"]:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def init_app(app) -> None:
    app.config["TLS"] = tls_enabled(app.config.get("TLS"))
    if app.config["TLS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    app.after_request(add_security_headers)
