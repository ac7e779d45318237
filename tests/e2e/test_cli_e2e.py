"""The commands a user types: start a sandbox, run a pattern, destroy it, stop; nothing is left behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request

import pytest

from awspatterns import ASSEMBLIES_DIR
from awspatterns.sandbox import control
from awspatterns.sandbox.inventory import inventory
from awspatterns.targets.aws_target import BOOTSTRAP_VERSION_PARAMETER

pytestmark = pytest.mark.e2e


def patterns(*args: str, home, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWSPATTERNS_SANDBOX_HOME": str(home), **extra_env}
    return subprocess.run(
        [sys.executable, "-m", "awspatterns.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def test_start_run_destroy_stop(tmp_path):
    home = tmp_path / "sandbox"
    started = patterns("sandbox", "start", "--json", home=home)
    assert started.returncode == 0, started.stderr
    status = json.loads(patterns("sandbox", "status", "--json", home=home).stdout)
    assert status["endpoint_url"].startswith("http://localhost:") and "main" in status["accounts"]
    with urllib.request.urlopen(status["api_endpoint"] + "/") as index:  # noqa: S310 (the local gateway)
        assert json.loads(index.read())["apis"] == []
    try:
        run = patterns("run", "s3-fanout", home=home)
        assert run.returncode == 0, run.stderr
        assert run.stdout.count("sha256 matches") == 3 and "NOT RECEIVED" not in run.stdout
        outputs = json.loads(patterns("outputs", "s3-fanout", "--json", home=home).stdout)
        assert "BucketName" in outputs["S3Fanout"]

        destroyed = patterns("destroy", "s3-fanout", home=home)
        assert destroyed.returncode == 0, destroyed.stderr
        left = inventory(control.require(home).session())
        assert left["stacks"] == set() and left["functions"] == set() and left["queues"] == set()
        assert left["buckets"] == {"cdk-hnb659fds-assets-123456789012-us-east-1"}  # the bootstrap bucket only
        assert left["log_groups"] == set() and left["tables"] == set() and left["topics"] == set()
    finally:
        assert patterns("sandbox", "stop", home=home).stdout.strip() == "sandbox stopped"
    stopped = patterns("sandbox", "status", home=home)
    assert stopped.returncode == 3 and "no sandbox is running" in stopped.stdout
    missing = patterns("outputs", "s3-fanout", home=home)
    assert missing.returncode == 2 and "no sandbox is running" in missing.stderr
    assert control.status(home) is None  # reading outputs never starts a sandbox behind the user's back


def test_aws_target_deploys_through_the_real_cdk_cli(tmp_path):
    """`--target aws` is the real CDK CLI; pointed at the sandbox it bootstraps, deploys, runs and destroys."""
    home = tmp_path / "sandbox"
    info = control.start(home)
    aws = {
        "AWS_ENDPOINT_URL": info.endpoint_url,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_REGION": info.region,
        "AWS_DEFAULT_REGION": info.region,
    }
    try:
        deployed = patterns("deploy", "s3-fanout", "--target", "aws", home=home, **aws)
        assert deployed.returncode == 0, deployed.stderr
        assert "not bootstrapped" in deployed.stderr and "$ cdk bootstrap" in deployed.stderr
        assert "$ cdk deploy" in deployed.stderr
        session = info.session()
        assert session.client("ssm").get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)["Parameter"]["Value"]

        run = patterns("run", "s3-fanout", "--target", "aws", home=home, **aws)
        assert run.returncode == 0, run.stderr
        assert "deploying" not in run.stderr  # the stack the CDK CLI deployed is found and reused
        assert run.stdout.count("sha256 matches") == 3 and "NOT RECEIVED" not in run.stdout
        outputs = json.loads(patterns("outputs", "s3-fanout", "--target", "aws", "--json", home=home, **aws).stdout)
        assert outputs["S3Fanout"]["TopicArn"].startswith("arn:aws:sns:us-east-1:123456789012:")

        shutil.rmtree(ASSEMBLIES_DIR / "s3-fanout")  # as after `make clean`: the real account's stacks stay
        destroyed = patterns("destroy", "s3-fanout", "--target", "aws", home=home, **aws)
        assert destroyed.returncode == 0, destroyed.stderr
        assert "synthesizing s3-fanout" in destroyed.stderr  # the CDK CLI destroys what an assembly names
        left = inventory(session)
        assert left["stacks"] == {"CDKToolkit"}  # bootstrap stays, as in a real account
        assert left["functions"] == set() and left["queues"] == set() and left["topics"] == set()
        assert left["log_groups"] == set() and left["tables"] == set() and left["kms_keys"] == set()
    finally:
        control.stop(home)


def test_a_multi_account_pattern_runs_with_each_stack_in_its_own_account(tmp_path):
    home = tmp_path / "sandbox"
    info = control.start(home)
    try:
        run = patterns("run", "cross-account-eventbridge", home=home)
        assert run.returncode == 0, run.stderr
        assert "4 changes = 3 recorded + 1 refused + 0 parked; 0 missing." in run.stdout
        outputs = json.loads(patterns("outputs", "cross-account-eventbridge", "--json", home=home).stdout)
        assert outputs["AlarmsSourceB"]["AlarmsSourceBAccount"] == info.accounts["source-b"]
        stacks = {
            name: {s["StackName"] for s in info.session(name).client("cloudformation").list_stacks()["StackSummaries"]}
            for name in ("main", "source-a", "source-b", "outsider")
        }
        assert stacks == {
            "main": {"AlarmsCentral"},
            "source-a": {"AlarmsSourceA"},
            "source-b": {"AlarmsSourceB"},
            "outsider": {"AlarmsOutsider"},
        }

        destroyed = patterns("destroy", "cross-account-eventbridge", home=home)
        assert destroyed.returncode == 0, destroyed.stderr
        for name in stacks:
            left = inventory(info.session(name))
            assert left["stacks"] == set() and left["queues"] == set() and left["roles"] == set(), name
    finally:
        control.stop(home)
