"""The benchmark harness: measured figures, written with their environment to ``docs/benchmarks/<name>.json``
and rendered as a Markdown table that the documentation embeds.

``patterns bench sandbox`` measures the sandbox itself: start-up, deployment of each pattern, and the Lambda
runtime's overhead on cold and warm invocations.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from awspatterns import REPO_ROOT
from awspatterns.catalog import Pattern

__all__ = [
    "BENCH_DIR",
    "PROBE_HANDLER",
    "Histogram",
    "Scenario",
    "bench_sandbox",
    "environment",
    "render_markdown",
    "run_load",
    "write_results",
]

BENCH_DIR = REPO_ROOT / "docs" / "benchmarks"


class Histogram:
    """A log-linear latency histogram: buckets 1 % wide, so percentiles are within 1 % of the exact value."""

    GROWTH = 1.01

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.count = 0
        self.min = math.inf
        self.max = 0.0

    def record(self, value_ms: float) -> None:
        """Add one sample (milliseconds)."""
        self.counts[self._bucket(value_ms)] += 1
        self.count += 1
        self.min = min(self.min, value_ms)
        self.max = max(self.max, value_ms)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100), as the upper bound of its bucket, capped by the maximum."""
        if not self.count:
            return math.nan
        rank = max(1, math.ceil(p / 100 * self.count))
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return min(self.max, max(self.min, self.GROWTH ** (bucket + 1) / 1000))
        return self.max

    def summary(self) -> dict[str, float]:
        """min, median, p95, p99, max (ms, rounded to 0.01)."""
        if not self.count:
            return {}
        return {
            "min": round(self.min, 2),
            "p50": round(self.percentile(50), 2),
            "p95": round(self.percentile(95), 2),
            "p99": round(self.percentile(99), 2),
            "max": round(self.max, 2),
        }

    def _bucket(self, value_ms: float) -> int:
        return math.floor(math.log(max(value_ms, 0.001) * 1000, self.GROWTH))


@dataclass
class Scenario:
    """One measured scenario."""

    name: str
    description: str
    histogram: Histogram = field(default_factory=Histogram)
    status_codes: Counter[str] = field(default_factory=Counter)
    cold_starts: int = 0
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The scenario as stored in the results file."""
        return {
            "name": self.name,
            "description": self.description,
            "requests": self.histogram.count,
            "rps": round(self.histogram.count / self.wall_s, 1) if self.wall_s else None,
            "latency_ms": self.histogram.summary(),
            "status_codes": dict(self.status_codes),
            "cold_starts": self.cold_starts,
            **self.extra,
        }


def environment(target: str) -> dict[str, Any]:
    """Where and with what the figures were measured."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += "-dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "target": target,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.machine(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in ("moto", "aws-cdk-lib", "boto3", "aws-lambda-powertools")},
        },
    }


def write_results(name: str, target: str, scenarios: list[Scenario], notes: str, out_dir: Path = BENCH_DIR) -> Path:
    """Write ``<name>.json`` and its rendered table ``<name>.md``; return the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "name": name,
        "environment": environment(target),
        "notes": notes,
        "scenarios": [s.to_json() for s in scenarios],
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / f"{name}.md").write_text(render_markdown(results))
    return path


def render_markdown(results: dict[str, Any]) -> str:
    """A results file as a Markdown table with its environment."""
    env = results["environment"]
    lines = [
        "| Scenario | Requests | req/s | min | p50 | p95 | p99 | max | Cold starts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["scenarios"]:
        lat = s["latency_ms"]
        cells = [f"{lat.get(k, float('nan')):.1f}" for k in ("min", "p50", "p95", "p99", "max")]
        lines.append(
            f"| {s['description']} | {s['requests']} | {s['rps'] if s['rps'] is not None else '–'} | "
            + " | ".join(cells)
            + f" | {s['cold_starts']} |"
        )
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines += [
        "",
        f"Latencies in milliseconds. Measured {env['date']} at commit `{env['commit']}` on "
        f"{env['machine']['cpus']} CPUs, {env['machine']['memory_gb']} GB ({env['machine']['platform']}); "
        f"target: {env['target']}; {versions}.",
        "",
        results["notes"],
        "",
    ]
    return "\n".join(lines)


def run_load(
    call: Callable[[], tuple[str, float | None, bool]], requests: int, concurrency: int, scenario: Scenario
) -> Scenario:
    """Run ``call`` ``requests`` times on ``concurrency`` threads; ``call`` returns (status, value_ms, cold)."""
    started = time.monotonic()

    def one(_: int) -> None:
        status, value_ms, cold = call()
        scenario.status_codes[status] += 1
        scenario.cold_starts += int(cold)
        if value_ms is not None:
            scenario.histogram.record(value_ms)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(requests)))
    scenario.wall_s = time.monotonic() - started
    return scenario


# ---------------------------------------------------------------- the sandbox benchmark
PROBE_HANDLER = (
    b"def handler(event, context):\n    return {'echo': event}\n\n\n"
    b"def proxy(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
)


def _probe_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", PROBE_HANDLER)
    return buffer.getvalue()


def bench_sandbox(
    patterns: Iterable[Pattern], requests: int, concurrency: int, out_dir: Path = BENCH_DIR, e2e_suite: bool = False
) -> Path:
    """Measure sandbox start, each pattern's deployment (fast deployer and real CDK CLI), cold and warm
    invocation overhead and, with ``e2e_suite``, the wall time of the whole end-to-end test suite."""
    from awspatterns.sandbox import control
    from awspatterns.synth import synth
    from awspatterns.targets import assembly_deployer
    from awspatterns.targets.aws_target import AwsTarget

    scenarios = []
    with tempfile.TemporaryDirectory(prefix="awspatterns-bench-") as state:
        start = Scenario("sandbox-start", "Sandbox start (process start to ready)")
        began = time.monotonic()
        info = control.start(Path(state))
        start.histogram.record((time.monotonic() - began) * 1000)
        scenarios.append(start)
        try:
            session = info.session()
            cdk_environment = {
                "AWS_ENDPOINT_URL": info.endpoint_url,
                "AWS_ACCESS_KEY_ID": "sandbox",
                "AWS_SECRET_ACCESS_KEY": "sandbox",
                "AWS_DEFAULT_REGION": info.region,
            }
            for pattern in patterns:
                assembly = synth(pattern, Path(state) / "cdk.out").directory
                stacks = ", ".join(pattern.stacks)
                cdk = AwsTarget({**os.environ, **cdk_environment})
                cdk.ensure_bootstrapped(assembly, progress=lambda _: None)
                cli = Scenario(f"cdk-deploy-{pattern.slug}", f"`cdk deploy` {pattern.slug} ({stacks})")
                began = time.monotonic()
                cdk.deploy(pattern, assembly, progress=lambda _: None)
                cli.histogram.record((time.monotonic() - began) * 1000)
                cdk.destroy(pattern, assembly, progress=lambda _: None)
                deploy = Scenario(f"deploy-{pattern.slug}", f"Deploy {pattern.slug} ({stacks}), fast deployer")
                began = time.monotonic()
                assembly_deployer.deploy_assembly(session, assembly, progress=lambda _: None)
                deploy.histogram.record((time.monotonic() - began) * 1000)
                scenarios += [deploy, cli]
            scenarios += _bench_invocations(session, info, requests, concurrency)
        finally:
            control.stop(Path(state))
    with tempfile.TemporaryDirectory(prefix="awspatterns-bench-") as state:
        info = control.start(Path(state), enforce="off")
        try:
            scenarios.append(_bench_warm_without_enforcement(info.session(), requests))
        finally:
            control.stop(Path(state))
    if e2e_suite:
        suite = Scenario("e2e-suite", "Whole end-to-end suite (pytest -m e2e, one process)")
        began = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "e2e", "-p", "no:cacheprovider"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=False,
        )
        suite.histogram.record((time.monotonic() - began) * 1000)
        suite.status_codes["passed" if result.returncode == 0 else f"exit-{result.returncode}"] += 1
        scenarios.append(suite)
    notes = (
        "Overhead is the time the sandbox adds around the handler: the client-observed latency of a "
        "synchronous `Invoke` minus the handler's own duration as the worker measured it. Cold invocations "
        "start a new execution environment (a new function each time); warm ones reuse one."
    )
    return write_results("sandbox", "sandbox", scenarios, notes, out_dir)


def _probe_functions(session: Any) -> tuple[Callable[..., str], Callable[[str], tuple[str, float | None, bool]]]:
    """``create(name, handler)`` makes a probe function; ``invoke(name)`` returns (status, overhead ms, cold)."""
    lambda_ = session.client("lambda")
    iam = session.client("iam")
    role = iam.create_role(
        RoleName="bench-probe",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    code = _probe_zip()

    def create(name: str, handler: str = "probe.handler") -> str:
        return str(
            lambda_.create_function(
                FunctionName=name,
                Runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
                Role=role,
                Handler=handler,
                Code={"ZipFile": code},
                Timeout=10,
            )["FunctionArn"]
        )

    def invoke(name: str) -> tuple[str, float | None, bool]:
        began = time.monotonic()
        response = lambda_.invoke(FunctionName=name, Payload=b'{"n": 1}', LogType="Tail")
        latency_ms = (time.monotonic() - began) * 1000
        response["Payload"].read()
        tail = base64.b64decode(response["LogResult"]).decode()
        report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
        duration = float(report.split("Duration: ")[1].split(" ms")[0])
        init = float(report.split("Init Duration: ")[1].split(" ms")[0]) if "Init Duration" in report else 0.0
        status = str(response["StatusCode"]) + ("-error" if "FunctionError" in response else "")
        return status, latency_ms - duration - init, bool(init)

    return create, invoke


def _bench_invocations(session: Any, info: Any, requests: int, concurrency: int) -> list[Scenario]:
    create, invoke = _probe_functions(session)
    cold_count = max(5, requests // 20)
    names = iter(range(cold_count))
    for i in range(cold_count):
        create(f"bench-cold-{i}")
    cold = run_load(
        lambda: invoke(f"bench-cold-{next(names)}"),
        cold_count,
        1,
        Scenario("invoke-cold", "Runtime overhead, cold invocation (excluding init)"),
    )
    create("bench-warm")
    invoke("bench-warm")  # the one cold start, not counted
    warm = run_load(
        lambda: invoke("bench-warm"),
        requests,
        1,
        Scenario("invoke-warm", "Runtime overhead, warm invocation, one at a time (IAM enforcement on)"),
    )
    concurrent = run_load(
        lambda: invoke("bench-warm"),
        requests,
        concurrency,
        Scenario("invoke-warm-concurrent", f"Runtime overhead, warm, {concurrency} concurrent"),
    )
    return [cold, warm, concurrent, _bench_gateway(session, info, create("bench-proxy", "probe.proxy"), requests)]


def _bench_warm_without_enforcement(session: Any, requests: int) -> Scenario:
    """Warm invocation overhead in a sandbox started with ``--enforce off``, beside the default (``on``)."""
    create, invoke = _probe_functions(session)
    create("bench-warm")
    invoke("bench-warm")  # the one cold start, not counted
    scenario = Scenario("invoke-warm-enforce-off", "Runtime overhead, warm, one at a time, IAM enforcement off")
    return run_load(lambda: invoke("bench-warm"), requests, 1, scenario)


def _bench_gateway(session: Any, info: Any, function_arn: str, requests: int) -> Scenario:
    """Total latency of a request through the local API Gateway to a warm Lambda proxy integration."""
    apigateway = session.client("apigateway")
    api = apigateway.create_rest_api(name="bench")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    resource = apigateway.create_resource(restApiId=api, parentId=root, pathPart="probe")["id"]
    apigateway.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api,
        resourceId=resource,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{info.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    apigateway.create_deployment(restApiId=api, stageName="bench")
    url = f"{info.api_endpoint}/{api}/bench/probe"

    def get() -> tuple[str, float | None, bool]:
        began = time.monotonic()
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the local gateway)
            response.read()
            return str(response.status), (time.monotonic() - began) * 1000, False

    get()  # the function's cold start, not counted
    return run_load(get, requests, 1, Scenario("gateway-proxy-warm", "Local API Gateway to Lambda proxy, warm (total)"))
