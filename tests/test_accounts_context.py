"""A multi-account example's accounts: from the context, the environment, or the sandbox's accounts."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from awspatterns.app import account_environments, new_app
from awspatterns.sandbox.accounts import ACCOUNTS


def environments(monkeypatch, context=None, variable=None, names=("main", "source-a")):
    monkeypatch.delenv("AWSPATTERNS_ACCOUNTS", raising=False)
    if variable is not None:
        monkeypatch.setenv("AWSPATTERNS_ACCOUNTS", variable)
    for name in ("CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    app = new_app(context=context)
    found = account_environments(app, list(names))
    return {name: (env.account, env.region) for name, env in found.items()}


def test_without_settings_the_sandboxs_accounts_are_used(monkeypatch):
    assert environments(monkeypatch) == {
        "main": (ACCOUNTS["main"], "us-east-1"),
        "source-a": (ACCOUNTS["source-a"], "us-east-1"),
    }


def test_the_context_names_accounts_as_cdk_deploy_c_gives_them(monkeypatch):
    found = environments(monkeypatch, {"accounts": "main=111122223333, source-a=444455556666", "region": "eu-west-1"})
    assert found == {"main": ("111122223333", "eu-west-1"), "source-a": ("444455556666", "eu-west-1")}
    assert environments(monkeypatch, {"accounts": {"main": "111122223333", "source-a": "444455556666"}})["main"] == (
        "111122223333",
        "us-east-1",
    )


def test_the_environment_variable_names_them_when_the_context_does_not(monkeypatch):
    found = environments(monkeypatch, variable='{"main": "111122223333", "source-a": "444455556666"}')
    assert found["source-a"] == ("444455556666", "us-east-1")
    assert (
        environments(monkeypatch, {"accounts": "main=999988887777,source-a=444455556666"}, "main=111122223333")["main"][
            0
        ]
        == "999988887777"
    )  # the context wins


@pytest.mark.parametrize("accounts", ["main=111122223333", "main=1234,source-a=444455556666"])
def test_a_missing_or_malformed_account_is_an_error_that_says_how_to_give_it(monkeypatch, accounts):
    with pytest.raises(ValueError, match="-c accounts=main=<account id>,source-a=<account id>"):
        environments(monkeypatch, {"accounts": accounts})


def test_stacks_get_their_accounts_environment(monkeypatch):
    monkeypatch.delenv("AWSPATTERNS_ACCOUNTS", raising=False)
    app = new_app(context={"accounts": "main=111122223333"})
    stack = cdk.Stack(app, "S", env=account_environments(app, ["main"])["main"])
    assert stack.account == "111122223333"
