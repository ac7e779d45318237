"""Identity-policy evaluation and conditions, in process: the rules IAM applies, and the loud refusal of what the
sandbox cannot evaluate. Also the API the runtime uses to give a function its role's credentials."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awspatterns.sandbox.iam.conditions import Context
from awspatterns.sandbox.iam.credentials import role_credentials
from awspatterns.sandbox.iam.evaluation import ALLOWED, EXPLICIT_DENY, NO_ALLOW, UNEVALUABLE, evaluate
from awspatterns.sandbox.iam.policies import PolicyCache, parse_policy
from awspatterns.sandbox.iam.principals import PolicySource, Principals

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"


def policy(*statements: dict[str, Any], name: str = "p", arn: str | None = None):
    return parse_policy(PolicySource(name, json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), arn))


def verdict(*statements: dict[str, Any], action="dynamodb:PutItem", resource=TABLE, context=None):
    return evaluate([policy(*statements)], action, resource, context or Context.of(**{"aws:PrincipalAccount": "1"}))


def allow(action="dynamodb:PutItem", resource=TABLE, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_allow_allows_and_nothing_denies():
    assert verdict(allow()).reason == ALLOWED
    assert verdict().reason == NO_ALLOW
    assert verdict(allow(action="dynamodb:GetItem")).reason == NO_ALLOW


def test_actions_match_case_insensitively_with_wildcards_and_resources_case_sensitively():
    assert verdict(allow(action="DynamoDB:put*")).allowed
    assert verdict(allow(action="dynamodb:?utItem")).allowed
    assert not verdict(allow(resource=TABLE.replace("Orders", "orders"))).allowed
    assert verdict(allow(resource="arn:aws:dynamodb:*:123456789012:table/*")).allowed
    assert not verdict(
        allow(resource="arn:aws:dynamodb:*:123456789012:table/Orders"), resource=f"{TABLE}/index/I"
    ).allowed


def test_not_action_and_not_resource_apply_to_everything_else():
    assert verdict({"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": "*"}).allowed
    assert not verdict({"Effect": "Allow", "NotAction": "dynamodb:Put*", "Resource": "*"}).allowed
    assert verdict({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::*"}).allowed


def test_an_explicit_deny_wins_wherever_it_is():
    for statements in ([{**allow(), "Effect": "Deny"}, allow()], [allow(), {**allow(), "Effect": "Deny", "Sid": "No"}]):
        outcome = verdict(*statements)
        assert outcome.reason == EXPLICIT_DENY and outcome.explicit


def test_a_deny_names_its_policy_and_statement():
    outcome = evaluate(
        [policy(allow()), policy({**allow(), "Effect": "Deny", "Sid": "NoWrites"}, name="guard", arn="arn:x")],
        "dynamodb:PutItem",
        TABLE,
        Context.of(),
    )
    assert outcome.policy is not None and (outcome.policy.name, outcome.statement) == ("guard", 'Sid "NoWrites"')
    assert outcome.explain() == 'explicit Deny: Sid "NoWrites" of guard'


@pytest.mark.parametrize(
    "condition, context, allowed",
    [
        ({"StringEquals": {"aws:PrincipalAccount": "1"}}, {}, True),
        ({"StringEquals": {"aws:PrincipalAccount": ["2", "1"]}}, {}, True),
        ({"StringNotEquals": {"aws:PrincipalAccount": "1"}}, {}, False),
        (
            {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app-*"}},
            {"aws:PrincipalArn": "arn:aws:iam::1:role/app-x"},
            True,
        ),
        ({"StringEqualsIgnoreCase": {"aws:RequestedRegion": "US-EAST-1"}}, {"aws:RequestedRegion": "us-east-1"}, True),
        (
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/*"}},
            {"aws:PrincipalArn": "arn:aws:iam::1:user/u"},
            False,
        ),
        ({"Bool": {"aws:SecureTransport": "true"}}, {}, True),  # the sandbox endpoint counts as TLS
        ({"Bool": {"aws:SecureTransport": False}}, {}, False),
        # keys a direct call never carries: absent, so positive operators fail and negated ones hold
        ({"StringEquals": {"aws:SourceAccount": "1"}}, {}, False),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*"}}, {}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "2"}}, {}, True),
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:PrincipalAccount": "true"}}, {}, False),
        ({"ForAnyValue:StringEquals": {"aws:SourceAccount": "1"}}, {}, False),
        ({"ForAllValues:StringEquals": {"aws:SourceAccount": "1"}}, {}, True),
        ({"ForAllValues:StringLike": {"aws:TagKeysX": ["a*"]}}, {"aws:TagKeysX": ["ab", "ac"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeysX": "b"}}, {"aws:TagKeysX": ["a", "b"]}, True),
        ({"NumericLessThan": {"aws:EpochTime": "1"}}, {}, False),
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {}, True),
    ],
)
def test_conditions_the_sandbox_evaluates(condition, context, allowed):
    ctx = Context.of(**{"aws:PrincipalAccount": "1", **context})
    outcome = verdict(allow(Condition=condition), context=ctx)
    assert outcome.allowed is allowed, outcome


@pytest.mark.parametrize(
    "condition, named",
    [
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, "IpAddress on key aws:SourceIp"),
        ({"StringEquals": {"aws:ResourceTag/team": "a"}}, "StringEquals on key aws:ResourceTag/team"),
        ({"StringLike": {"s3:prefix": "home/*"}}, "StringLike on key s3:prefix"),
        ({"BinaryEquals": {"aws:PrincipalAccount": "AQ=="}}, "BinaryEquals on key aws:PrincipalAccount"),
        ({"StringEquals": {"aws:PrincipalAccount": "${aws:PrincipalTag/x}"}}, "policy variable ${aws:PrincipalTag/x}"),
    ],
)
def test_a_condition_the_sandbox_cannot_evaluate_never_allows_and_says_which(condition, named):
    outcome = verdict(allow(Condition=condition, Sid="Guarded"))
    assert outcome.reason == UNEVALUABLE and not outcome.allowed and not outcome.explicit
    assert named in outcome.detail and outcome.statement == 'Sid "Guarded"'


def test_an_unevaluable_allow_does_not_hide_a_plain_one_but_an_unevaluable_deny_denies():
    unknown = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    assert verdict(allow(Condition=unknown), allow()).reason == ALLOWED
    outcome = verdict(allow(), {**allow(), "Effect": "Deny", "Condition": unknown})
    assert outcome.reason == UNEVALUABLE and outcome.explicit


def test_policy_variables_in_resources_are_the_callers_values():
    mine = allow(action="s3:GetObject", resource="arn:aws:s3:::home/${aws:username}/*")
    ctx = Context.of(**{"aws:username": "alice"})
    assert verdict(mine, action="s3:GetObject", resource="arn:aws:s3:::home/alice/a", context=ctx).allowed
    assert not verdict(mine, action="s3:GetObject", resource="arn:aws:s3:::home/bob/a", context=ctx).allowed
    assert verdict(mine, action="s3:GetObject", resource="arn:aws:s3:::home/x/a").reason == UNEVALUABLE


@pytest.mark.parametrize(
    "document", ["{not json", '{"Statement": [{"Effect": "Maybe"}]}', '{"Statement": [{"Effect": "Allow"}]}']
)
def test_a_document_the_sandbox_cannot_read_never_allows(document):
    parsed = parse_policy(PolicySource("broken", document))
    outcome = evaluate([parsed, policy(allow(action="s3:*"))], "dynamodb:PutItem", TABLE, Context.of())
    assert not outcome.allowed and outcome.reason in (UNEVALUABLE, NO_ALLOW)


def test_cloudformation_dict_documents_and_single_statements_are_read():
    parsed = parse_policy(PolicySource("inline", {"Statement": allow()}))
    assert evaluate([parsed], "dynamodb:PutItem", TABLE, Context.of()).allowed


def test_documents_are_parsed_once_per_document_object():
    cache = PolicyCache()
    document = json.dumps({"Statement": [allow()]})
    first = cache.parse(PolicySource("p", document))
    assert cache.parse(PolicySource("p", document)) is first
    new_version = json.dumps({"Statement": [allow(action="dynamodb:GetItem")]})
    assert cache.parse(PolicySource("p", new_version)) is not first


# ------------------------------------------------------------------ the runtime's API
@mock_aws
def test_role_credentials_are_a_session_of_the_role_the_enforcement_recognizes():
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="fn-role", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow()]})
    )

    credentials = role_credentials(role, session_name="my-function")

    assert set(credentials.environment()) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    assert credentials.session_arn == "arn:aws:sts::123456789012:assumed-role/fn-role/my-function"
    assert not credentials.expires_within(3600) and credentials.expires_within(13 * 3600)
    principals = Principals()
    principal = principals.identify(credentials.access_key_id, "123456789012")
    assert (principal.kind, principal.arn, principal.identity_arn) == ("assumed-role", credentials.session_arn, role)
    assert [source.name for source in principals.policies_of(principal)] == ["inline policy p of role fn-role"]
    assert principals.identify("sandbox", "123456789012").is_root
