"""The sandbox server process: moto in server mode with the sandbox engine installed.

Run by ``patterns sandbox start`` (never imported by clients): ``python -m awspatterns.sandbox.server``. When it
is ready it writes ``state.json`` into its state directory; it stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from awspatterns.sandbox.accounts import ACCOUNTS, DEFAULT_REGION
from awspatterns.sandbox.listeners import refuse_foreign_host, require_local_host

__all__ = ["main", "serve_control", "serve_moto"]

__all__ = ["main", "serve_control"]


def serve_control(engine: Any, started: float) -> ThreadingHTTPServer:
    """A small HTTP endpoint for the sandbox's own state: runtime statistics, a wait-for-quiet call, and the
    permissions each role and user was allowed or denied (``/permissions?account=ID``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if refuse_foreign_host(self):
                return
            url = urlparse(self.path)
            if url.path == "/status":
                body: dict[str, Any] = {
                    "uptime_s": round(time.monotonic() - started, 3),
                    "runtime": engine.runtime.stats,
                    "environments": engine.runtime.environments(),
                }
            elif url.path == "/quiesce":
                timeout = float(parse_qs(url.query).get("timeout", ["30"])[0])
                body = {"quiet": engine.quiescent(timeout)}
            elif url.path == "/permissions":
                body = engine.iam.permissions(parse_qs(url.query).get("account", [None])[0])
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="sandbox-control", daemon=True).start()
    return server


def serve_moto(port: int) -> Any:
    """moto's server (the AWS endpoint) on 127.0.0.1, answering only requests addressed to this machine."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = require_local_host(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    """Start moto with the sandbox engine and serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument(
        "--retry-delays", default="1,2", help="seconds between asynchronous invocation retries (Lambda: about 60,120)"
    )
    parser.add_argument(
        "--firehose-interval", type=float, default=1.0, help="longest Firehose buffering, seconds (AWS: 60 to 900)"
    )
    parser.add_argument(
        "--enforce", choices=("on", "soft", "off"), default="on", help="deny what AWS denies, only log it, or neither"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from awspatterns.sandbox.engine import SandboxEngine
    from awspatterns.sandbox.gateway.server import LocalGateway, serve_gateway
    from awspatterns.sandbox.subsystem import EngineSettings

    endpoint_url = f"http://localhost:{args.port}"
    delays = tuple(float(d) for d in args.retry_delays.split(","))
    settings = EngineSettings(retry_delays_s=delays, firehose_interval_s=args.firehose_interval, enforce=args.enforce)
    engine = SandboxEngine(endpoint_url, args.state_dir / "work", settings)
    engine.install()
    moto = serve_moto(args.port)
    control = serve_control(engine, started)
    gateway = serve_gateway(LocalGateway(engine.invoke_function, endpoint_url))
    engine.runtime.execute_api_endpoint = f"http://localhost:{gateway.server_address[1]}"

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    state = {
        "pid": os.getpid(),
        "endpoint_url": endpoint_url,
        "control_url": f"http://127.0.0.1:{control.server_address[1]}",
        "api_endpoint": engine.runtime.execute_api_endpoint,
        "region": DEFAULT_REGION,
        "accounts": ACCOUNTS,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "startup_s": round(time.monotonic() - started, 3),
        "enforce": args.enforce,
    }
    (args.state_dir / "state.json.tmp").write_text(json.dumps(state, indent=2))
    (args.state_dir / "state.json.tmp").replace(args.state_dir / "state.json")
    logging.info("sandbox ready at %s (%.2f s)", endpoint_url, state["startup_s"])
    next_reap = time.monotonic() + 30
    # Short waits: a signal delivered to another thread does not interrupt this one's wait, only ends it.
    while not stop.wait(0.25):
        if time.monotonic() >= next_reap:
            engine.runtime.reap_idle()
            next_reap = time.monotonic() + 30
    logging.info("sandbox stopping")
    for listener in (gateway, control, moto):
        listener.shutdown()
    engine.shutdown()
    logging.info("sandbox stopped")
    logging.shutdown()
    # Worker threads may still wait on invocations whose environments were just ended (their retries and
    # deliveries would go to accounts that no longer exist): exit now instead of joining them.
    os._exit(0)


if __name__ == "__main__":
    main()
