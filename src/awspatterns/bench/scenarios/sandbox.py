"""``patterns bench sandbox``: the sandbox itself. Start-up, deployment of each pattern (fast deployer and the real
CDK CLI), and the Lambda runtime's overhead on cold and warm invocations, with and without IAM enforcement."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from awspatterns import REPO_ROOT
from awspatterns.bench.harness import Benchmark, BenchOptions, run_load
from awspatterns.bench.results import Scenario, write_results
from awspatterns.catalog import Pattern

__all__ = ["BENCHMARK", "PROBE_HANDLER", "bench_sandbox"]

PROBE_HANDLER = (
    b"def handler(event, context):\n    return {'echo': event}\n\n\n"
    b"def proxy(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
)


def _probe_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", PROBE_HANDLER)
    return buffer.getvalue()


def bench_sandbox(options: BenchOptions, patterns: Iterable[Pattern] | None = None) -> Path:
    """Measure sandbox start, each pattern's deployment (fast deployer and real CDK CLI), cold and warm
    invocation overhead and, with ``e2e_suite``, the wall time of the whole end-to-end test suite."""
    from awspatterns.catalog import load_catalog
    from awspatterns.sandbox import control
    from awspatterns.synth import synth
    from awspatterns.targets import assembly_deployer
    from awspatterns.targets.assembly import stacks_in_order

    requests, concurrency, say = options.requests, options.concurrency, options.progress
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
            for pattern in load_catalog() if patterns is None else patterns:
                assembly = synth(pattern, Path(state) / "cdk.out").directory
                stacks = ", ".join(pattern.stacks)
                if len({s.account for s in stacks_in_order(assembly)}) == 1:
                    say(f"deploying {pattern.slug} with the CDK CLI ...")
                    scenarios.append(_bench_cdk_deploy(pattern, assembly, cdk_environment))
                else:  # the CDK CLI's cross-account bootstrap trust is not modelled by the sandbox
                    say(f"{pattern.slug} deploys into several accounts: measured with the fast deployer only")
                say(f"deploying {pattern.slug} with the fast deployer ...")
                deploy = Scenario(f"deploy-{pattern.slug}", f"Deploy {pattern.slug} ({stacks}), fast deployer")
                began = time.monotonic()
                assembly_deployer.deploy_assembly(session, assembly, progress=lambda _: None, session_for=info.session)
                deploy.histogram.record((time.monotonic() - began) * 1000)
                scenarios.append(deploy)
            scenarios += _bench_invocations(session, info, requests, concurrency, say)
        finally:
            control.stop(Path(state))
    with tempfile.TemporaryDirectory(prefix="awspatterns-bench-") as state:
        info = control.start(Path(state), enforce="off")
        try:
            scenarios.append(_bench_warm_without_enforcement(info.session(), requests, say))
        finally:
            control.stop(Path(state))
    if options.e2e_suite:
        say("running the end-to-end suite ...")
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
        "start a new execution environment (a new function each time); warm ones reuse one. Patterns whose stacks "
        "go to several accounts are deployed with the fast deployer only: the CDK CLI's cross-account bootstrap "
        "trust is not modelled by the sandbox."
    )
    return write_results("sandbox", "sandbox", scenarios, notes, options.out_dir)


def _bench_cdk_deploy(pattern: Pattern, assembly: Path, cdk_environment: dict[str, str]) -> Scenario:
    """``cdk deploy`` of one pattern through the real CDK CLI pointed at the sandbox, then ``cdk destroy``."""
    from awspatterns.targets.aws_target import AwsTarget

    cdk = AwsTarget({**os.environ, **cdk_environment})
    cdk.ensure_bootstrapped(assembly, progress=lambda _: None)
    scenario = Scenario(f"cdk-deploy-{pattern.slug}", f"`cdk deploy` {pattern.slug} ({', '.join(pattern.stacks)})")
    began = time.monotonic()
    cdk.deploy(pattern, assembly, progress=lambda _: None)
    scenario.histogram.record((time.monotonic() - began) * 1000)
    cdk.destroy(pattern, assembly, progress=lambda _: None)
    return scenario


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


def _bench_invocations(
    session: Any, info: Any, requests: int, concurrency: int, say: Callable[[str], None]
) -> list[Scenario]:
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
        say,
    )
    create("bench-warm")
    invoke("bench-warm")  # the one cold start, not counted
    warm = run_load(
        lambda: invoke("bench-warm"),
        requests,
        1,
        Scenario("invoke-warm", "Runtime overhead, warm invocation, one at a time (IAM enforcement on)"),
        say,
    )
    concurrent = run_load(
        lambda: invoke("bench-warm"),
        requests,
        concurrency,
        Scenario("invoke-warm-concurrent", f"Runtime overhead, warm, {concurrency} concurrent"),
        say,
    )
    proxy = create("bench-proxy", "probe.proxy")
    return [cold, warm, concurrent, _bench_gateway(session, info, proxy, requests, say)]


def _bench_warm_without_enforcement(session: Any, requests: int, say: Callable[[str], None]) -> Scenario:
    """Warm invocation overhead in a sandbox started with ``--enforce off``, beside the default (``on``)."""
    create, invoke = _probe_functions(session)
    create("bench-warm")
    invoke("bench-warm")  # the one cold start, not counted
    scenario = Scenario("invoke-warm-enforce-off", "Runtime overhead, warm, one at a time, IAM enforcement off")
    return run_load(lambda: invoke("bench-warm"), requests, 1, scenario, say)


def _bench_gateway(session: Any, info: Any, function_arn: str, requests: int, say: Callable[[str], None]) -> Scenario:
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
    scenario = Scenario("gateway-proxy-warm", "Local API Gateway to Lambda proxy, warm (total)")
    return run_load(get, requests, 1, scenario, say)


BENCHMARK = Benchmark(
    name="sandbox",
    summary="the sandbox itself: start-up, deployments, runtime and gateway overhead",
    run=bench_sandbox,
    targets=("sandbox",),
)
