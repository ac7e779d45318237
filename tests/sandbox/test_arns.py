"""The one ARN parser the sandbox uses."""

from __future__ import annotations

import pytest

from awspatterns.sandbox.arns import Arn


@pytest.mark.parametrize(
    "arn, account, region, resource, name",
    [
        ("arn:aws:sqs:us-east-1:123456789012:jobs", "123456789012", "us-east-1", "jobs", "jobs"),
        (
            "arn:aws:events:eu-west-1:111111111111:event-bus/central",
            "111111111111",
            "eu-west-1",
            "event-bus/central",
            "central",
        ),
        ("arn:aws:logs:us-east-1:1:log-group:/aws/x:*", "1", "us-east-1", "log-group:/aws/x:*", "*"),
        ("arn:aws:s3:::bucket", "", "", "bucket", "bucket"),
        ("arn:aws:events:us-east-1:123456789012", "123456789012", "us-east-1", "", ""),
    ],
)
def test_parts_of_an_arn(arn, account, region, resource, name):
    parsed = Arn.parse(arn)
    assert (parsed.account, parsed.region, parsed.resource, parsed.name) == (account, region, resource, name)


@pytest.mark.parametrize("text", ["", "queue-name", "arn:aws:sqs", "urn:aws:sqs:us-east-1:1:q"])
def test_what_is_not_an_arn_is_refused(text):
    with pytest.raises(ValueError, match="not an ARN"):
        Arn.parse(text)
