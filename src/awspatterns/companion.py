"""The local companion of ``make serve``: serves the built site and lets a pattern page's "Run it" panel deploy,
run and destroy that pattern in the local sandbox, streaming the command's output into the page.

It listens on 127.0.0.1 only, answers only requests whose ``Host`` and ``Origin`` are its own address (no other
site, and no DNS-rebound name, can drive it), runs only ``patterns deploy|run|destroy SLUG`` for a slug of the
catalog (an argument list, never a shell) and one command at a time. The static site carries
``assets/companion.js`` saying that no companion is present; this server answers that path itself, so the same
page shows live buttons here and only the commands (with copy buttons) when published.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from awspatterns.catalog import load_catalog

__all__ = ["COMMANDS", "Companion", "main", "make_server"]

#: What the panel may ask for: ``patterns <command> SLUG`` against the local sandbox.
COMMANDS = ("deploy", "run", "destroy")
_CONFIG_PATH = "/assets/companion.js"
_MAX_BODY = 1024
_NOT_RUNNING = 3  # `patterns sandbox status` exit status when no sandbox runs


class Companion:
    """The companion's state: the catalog's slugs, the environment for child commands, the one-run lock."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.slugs = frozenset(p.slug for p in load_catalog())
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.lock = threading.Lock()

    def command(self, *args: str) -> list[str]:
        """The argument list of ``patterns ARGS`` in this Python environment."""
        return [sys.executable, "-m", "awspatterns.cli", *args]

    def sandbox_running(self) -> bool:
        """Whether the local sandbox answers (``patterns sandbox status``)."""
        result = subprocess.run(
            self.command("sandbox", "status", "--json"), env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode == _NOT_RUNNING:
            return False
        try:
            return bool(json.loads(result.stdout).get("answering"))
        except json.JSONDecodeError:
            return False


def _event(kind: str, **fields: Any) -> bytes:
    return (json.dumps({"type": kind, **fields}) + "\n").encode()


class CompanionHandler(SimpleHTTPRequestHandler):
    """Static files of the built site, ``/assets/companion.js`` and ``POST /api/run``."""

    companion: Companion
    port: int

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _own_origins(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def _same_origin(self) -> bool:
        """The Host is ours (no DNS rebinding) and, for the API, the Origin is ours (no other site)."""
        if self.headers.get("Host") not in self._own_origins():
            return False
        origin = self.headers.get("Origin")
        return origin is not None and origin in {f"http://{host}" for host in self._own_origins()}

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._send(status, json.dumps({"error": message}).encode(), "application/json")

    def do_GET(self) -> None:
        """The site's files; the companion's presence in ``assets/companion.js``."""
        if self.headers.get("Host") not in self._own_origins():
            self._error(HTTPStatus.FORBIDDEN, "unknown host")
            return
        if self.path.split("?")[0] == _CONFIG_PATH:
            config = {"api": "/api/run", "commands": list(COMMANDS)}
            body = f"window.AWSPATTERNS_COMPANION = {json.dumps(config)};\n".encode()
            self._send(HTTPStatus.OK, body, "text/javascript; charset=utf-8")
            return
        super().do_GET()

    def do_POST(self) -> None:
        """``{"slug": ..., "command": "deploy|run|destroy"}``: stream the command's output as JSON lines."""
        if self.path != "/api/run":
            self._error(HTTPStatus.NOT_FOUND, "no such endpoint")
            return
        if not self._same_origin():
            self._error(HTTPStatus.FORBIDDEN, "requests are accepted from this site only")
            return
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= _MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, "a small JSON body is required")
            return
        try:
            request = json.loads(self.rfile.read(length))
            slug, command = request["slug"], request["command"]
        except (json.JSONDecodeError, KeyError, TypeError):
            self._error(HTTPStatus.BAD_REQUEST, 'send {"slug": ..., "command": ...}')
            return
        if slug not in self.companion.slugs or command not in COMMANDS:
            self._error(HTTPStatus.BAD_REQUEST, f"unknown pattern or command; commands: {', '.join(COMMANDS)}")
            return
        if not self.companion.lock.acquire(blocking=False):
            self._error(HTTPStatus.CONFLICT, "another command is running; wait for it to finish")
            return
        try:
            self._stream(slug, command)
        finally:
            self.companion.lock.release()

    def _stream(self, slug: str, command: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        args = [command, slug, "--target", "sandbox"]
        self.wfile.write(_event("start", command=f"patterns {' '.join(args)}"))
        self.wfile.flush()
        if not self.companion.sandbox_running():
            message = "The local sandbox is not running. Start it with `patterns sandbox start` (`make serve` does)."
            self.wfile.write(_event("error", message=message))
            return
        process = subprocess.Popen(
            self.companion.command(*args),
            env=self.companion.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert process.stdout is not None
        try:
            for line in process.stdout:
                self.wfile.write(_event("line", text=line.rstrip("\n")))
                self.wfile.flush()
            self.wfile.write(_event("exit", code=process.wait()))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away; the command finishes on its own
        finally:
            if process.poll() is None:
                process.wait()


def make_server(site: Path, port: int = 8000, env: Mapping[str, str] | None = None) -> ThreadingHTTPServer:
    """A companion serving ``site`` on 127.0.0.1:``port`` (0: a free port); start it with ``serve_forever``."""
    handler: type[CompanionHandler] = type(
        "BoundCompanionHandler", (CompanionHandler,), {"companion": Companion(env), "port": port}
    )
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(site)))
    handler.port = server.server_address[1]
    server.daemon_threads = True
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m awspatterns.companion --site site --port 8000``."""
    parser = argparse.ArgumentParser(description="Serve the built catalog site with its local Run-it companion.")
    parser.add_argument("--site", type=Path, default=Path("site"), help="the built site (mkdocs build)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server = make_server(args.site, args.port)
    print(f"catalog and Run-it companion at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
