"""The granted-versus-used table: stable names, service actions told apart, gaps shown."""

from __future__ import annotations

from awspatterns.permissions import FunctionPermissions, _normalise, render_markdown


def test_physical_names_accounts_and_object_keys_are_shown_stably():
    names = {"S3Fanout-Records0BA060E0-VIISYR2SSN3G": "Records0BA060E0", "s3fanout-uploads-9tgh": "Uploads4F6EB0FD"}
    table = "arn:aws:dynamodb:us-east-1:210000000001:table/S3Fanout-Records0BA060E0-VIISYR2SSN3G"
    assert _normalise(table, names, "210000000001") == "arn:aws:dynamodb:us-east-1:ACCOUNT:table/<Records>"
    obj = "arn:aws:s3:::s3fanout-uploads-9tgh/client-run/c18099c1/données.csv"
    assert _normalise(obj, names, "210000000001") == "arn:aws:s3:::<Uploads>/*"
    stream = f"{table}/stream/2026-12-01T02:57:13.106733"
    assert _normalise(stream, names, "210000000001") == f"{_normalise(table, names, '210000000001')}/stream/<label>"


def test_each_action_says_whether_the_run_used_it():
    entry = FunctionPermissions(
        "Indexer",
        granted={"dynamodb:UpdateItem": {"t"}, "dynamodb:Scan": {"t"}, "logs:PutLogEvents": {"g"}},
        used={"dynamodb:UpdateItem": {"t": "allowed"}, "s3:PutObject": {"b/*": "denied"}},
    )
    rows = {action: (granted, used) for action, granted, used in entry.rows()}
    assert rows["dynamodb:UpdateItem"] == ("t", "t (allowed)")
    assert rows["dynamodb:Scan"] == ("t", "not used in the run")
    assert rows["logs:PutLogEvents"][1].startswith("for the Lambda service")
    assert rows["s3:PutObject"] == ("**not granted**", "b/* (denied)")
    assert "| `dynamodb:Scan` | t | not used in the run |" in render_markdown([entry])


def test_what_aws_generates_is_masked_so_the_page_is_stable():
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/database-AbC12z"
    group = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d4e5f60718"
    assert (
        _normalise(secret, {}, "123456789012") == "arn:aws:secretsmanager:us-east-1:ACCOUNT:secret:app/database-??????"
    )
    assert _normalise(group, {}, "123456789012") == "arn:aws:ec2:us-east-1:ACCOUNT:security-group/sg-*"
    bus = "arn:aws:events:us-east-1:210987654321:event-bus/central"
    assert _normalise(bus, {}, "123456789012") == "arn:aws:events:us-east-1:OTHER-ACCOUNT:event-bus/central"
