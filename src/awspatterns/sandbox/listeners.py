"""What every listener of the sandbox accepts: requests addressed to this machine only.

The sandbox runs code it is sent, as the user who started it, so no web page may reach it. moto's server sends
``Access-Control-Allow-Origin`` for any origin (global CORS): switched off here. And a page on another site can
still reach a loopback port through DNS rebinding (its own host name resolving to 127.0.0.1), which only the
``Host`` header gives away: every listener refuses a ``Host`` that is not ``localhost`` (or a subdomain of it,
which always means this machine), ``127.0.0.1`` or ``[::1]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any

from moto.moto_server import werkzeug_app

from awspatterns.sandbox.patching import replace
from awspatterns.sandbox.subsystem import Engine, Patched

__all__ = ["PATCHED", "host_allowed", "install", "refuse_foreign_host", "require_local_host"]

PATCHED: Patched = ((werkzeug_app, "DISABLE_GLOBAL_CORS"),)

LOCAL_HOST = re.compile(r"^(?:(?:[a-z0-9-]+\.)*localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$", re.IGNORECASE)
REFUSAL = b'{"message": "The sandbox answers only requests addressed to localhost, 127.0.0.1 or [::1]."}'


def install(engine: Engine) -> None:
    """Switch moto's global CORS off (its Flask apps are created per request host, after this)."""
    replace(werkzeug_app, "DISABLE_GLOBAL_CORS", True)


def host_allowed(host: str | None) -> bool:
    """Whether a ``Host`` header names this machine (a request without one, HTTP/1.0 style, does not)."""
    return bool(host) and LOCAL_HOST.match(host.strip()) is not None  # type: ignore[union-attr]


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def require_local_host(app: WsgiApp) -> WsgiApp:
    """A WSGI middleware that answers 403 to a request whose ``Host`` is not local."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not host_allowed(environ.get("HTTP_HOST")):
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/json"), ("Content-Length", str(len(REFUSAL)))],
            )
            return [REFUSAL]
        return app(environ, start_response)

    return guarded


def refuse_foreign_host(handler: BaseHTTPRequestHandler) -> bool:
    """For ``http.server`` handlers: answer 403 and return ``True`` when the request's ``Host`` is not local."""
    if host_allowed(handler.headers.get("Host")):
        return False
    handler.close_connection = True  # the request's body is not read
    handler.send_response(403)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(REFUSAL)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(REFUSAL)
    return True
