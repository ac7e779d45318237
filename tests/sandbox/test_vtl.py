"""Mapping templates, authorizer policies and local URLs: the gateway's pure parts, checked directly."""

from __future__ import annotations

import pytest

from awspatterns.sandbox.control import SandboxInfo
from awspatterns.sandbox.gateway.authorizers import policy_allows
from awspatterns.sandbox.gateway.vtl import MappingError, render

PARAMS = {"path": {"id": "7"}, "querystring": {"q": "x y"}, "header": {"X-Trace": "abc"}}


def test_input_json_path_and_params_follow_api_gateway():
    template = (
        "{\"all\": $input.json('$'), \"first\": $input.json('$.items[0].n'), "
        "#set($items = $input.path('$.items'))\"count\": $items.size(), "
        '"id": "$input.params(\'id\')", "q": "$input.params(\'q\')", "trace": "$input.params(\'x-trace\')"}'
    )
    rendered = render(template, '{"items": [{"n": 1}, {"n": 2}]}', PARAMS, {}, {})
    assert rendered == (
        '{"all": {"items": [{"n": 1}, {"n": 2}]}, "first": 1, "count": 2, "id": "7", "q": "x y", "trace": "abc"}'
    )


def test_util_functions_escape_and_encode():
    template = (
        "$util.escapeJavaScript($input.body)|$util.urlEncode('a b&c')|$util.base64Encode('hi')"
        "|$util.base64Decode('aGk=')"
    )
    assert render(template, 'say "hi"\n', PARAMS, {}, {}) == 'say \\"hi\\"\\n|a+b%26c|aGk=|hi'


def test_context_and_stage_variables_are_available():
    rendered = render(
        "$context.authorizer.principalId/$stageVariables.tier",
        "",
        PARAMS,
        {"authorizer": {"principalId": "ann"}},
        {"tier": "gold"},
    )
    assert rendered == "ann/gold"


def test_reading_a_body_that_is_not_json_is_a_mapping_error():
    with pytest.raises(MappingError, match="Could not parse request body into json"):
        render("$input.json('$')", "{not json", PARAMS, {}, {})


ARN = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/items/7"


@pytest.mark.parametrize(
    "statements, expected",
    [
        ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api1/*"}], True),
        ([{"Effect": "Allow", "Action": "execute-api:*", "Resource": [ARN]}], True),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:aws:execute-api:*:*:api1/prod/POST/*",
                }
            ],
            None,
        ),
        (
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:aws:execute-api:*:*:api1/*/GET/items/*",
                },
            ],
            False,
        ),
        ([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}], None),
    ],
)
def test_policies_allow_deny_or_do_not_match(statements, expected):
    assert policy_allows({"Version": "2012-10-17", "Statement": statements}, ARN) is expected


def test_execute_api_urls_in_outputs_become_local_gateway_urls():
    info = SandboxInfo(
        1, "http://localhost:1", "http://127.0.0.1:2", "http://localhost:3", "us-east-1", {}, "", 0, "/tmp"
    )
    outputs = {"Api": {"Url": "https://abc123.execute-api.us-east-1.amazonaws.com/prod/", "Bucket": "b"}}
    assert info.local_outputs(outputs) == {"Api": {"Url": "http://localhost:3/abc123/prod/", "Bucket": "b"}}
