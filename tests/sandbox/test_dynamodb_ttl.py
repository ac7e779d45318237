"""DynamoDB Time to Live against AWS's documented behaviour: expired items (a Number of epoch seconds in the past,
not more than five years) are deleted in the background, each deletion a stream ``REMOVE`` record whose
``userIdentity`` names DynamoDB's service principal; other items stay; CloudFormation's ``TimeToLiveSpecification``
is applied."""

from __future__ import annotations

import json
import time

from lambda_code import RECORDER, create_function, drain, output_queue
from lambda_code import table_with_stream as shared_table_with_stream

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def table_with_ttl(session, name="sessions"):
    dynamodb, stream_arn = shared_table_with_stream(session, name, "NEW_AND_OLD_IMAGES")
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return dynamodb, stream_arn


def stream_records(session, stream_arn):
    streams = session.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]


def keys(session, name):
    return sorted(i["id"]["S"] for i in session.client("dynamodb").scan(TableName=name)["Items"])


def test_expired_items_are_deleted_and_their_removal_is_marked_as_the_services(account, quiesce):
    dynamodb, stream_arn = table_with_ttl(account)
    now = int(time.time())
    for key, value in [
        ("expired", {"N": str(now - 60)}),
        ("future", {"N": str(now + 3600)}),
        ("text", {"S": str(now - 60)}),  # not a Number: TTL ignores it
        ("ancient", {"N": str(now - 6 * 365 * 24 * 3600)}),  # more than five years ago: AWS leaves it
        ("milliseconds", {"N": str(now * 1000)}),  # far in the future when read as seconds
    ]:
        dynamodb.put_item(TableName="sessions", Item={"id": {"S": key}, "expires_at": value})
    dynamodb.put_item(TableName="sessions", Item={"id": {"S": "no-ttl"}})
    dynamodb.put_item(TableName="sessions", Item={"id": {"S": "deleted-by-user"}})
    dynamodb.delete_item(TableName="sessions", Key={"id": {"S": "deleted-by-user"}})
    assert quiesce()

    assert keys(account, "sessions") == ["ancient", "future", "milliseconds", "no-ttl", "text"]
    removes = [r for r in stream_records(account, stream_arn) if r["eventName"] == "REMOVE"]
    by_key = {r["dynamodb"]["Keys"]["id"]["S"]: r for r in removes}
    assert set(by_key) == {"expired", "deleted-by-user"}
    assert by_key["expired"]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert by_key["expired"]["dynamodb"]["OldImage"]["expires_at"] == {"N": str(now - 60)}
    assert "userIdentity" not in by_key["deleted-by-user"]


def test_an_item_expiring_later_is_deleted_once_its_time_passes(account, quiesce):
    dynamodb, _ = table_with_ttl(account)
    dynamodb.put_item(TableName="sessions", Item={"id": {"S": "soon"}, "expires_at": {"N": str(int(time.time()) + 2)}})
    assert quiesce()
    assert keys(account, "sessions") == ["soon"]  # not expired yet: nothing to wait for
    deadline = time.monotonic() + 10
    while keys(account, "sessions") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert keys(account, "sessions") == []


def test_ttl_deletions_reach_stream_consumers_with_their_user_identity(account, quiesce):
    output = output_queue(account)
    function = create_function(account, "ttl-consumer", RECORDER, environment={"OUTPUT": output})
    dynamodb, stream_arn = table_with_ttl(account)
    account.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"userIdentity": {"type": ["Service"]}})}]},
    )
    dynamodb.put_item(TableName="sessions", Item={"id": {"S": "kept"}})
    dynamodb.put_item(TableName="sessions", Item={"id": {"S": "gone"}, "expires_at": {"N": "1700000000"}})
    assert quiesce()

    [record] = [r for batch in drain(account, output) for r in batch["Records"]]
    assert record["eventName"] == "REMOVE" and record["userIdentity"] == TTL_IDENTITY
    assert record["dynamodb"]["Keys"] == {"id": {"S": "gone"}}


def test_a_disabled_ttl_deletes_nothing(account, quiesce):
    dynamodb, _ = shared_table_with_stream(account, "plain", "NEW_IMAGE")
    dynamodb.put_item(TableName="plain", Item={"id": {"S": "old"}, "expires_at": {"N": "1700000000"}})
    assert quiesce()
    assert keys(account, "plain") == ["old"]


def test_cloudformation_applies_the_time_to_live_specification(account, quiesce):
    template = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "from-template",
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                },
            }
        }
    }
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName="ttl", TemplateBody=json.dumps(template))
    dynamodb = account.client("dynamodb")
    description = dynamodb.describe_time_to_live(TableName="from-template")["TimeToLiveDescription"]
    assert description == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    dynamodb.put_item(TableName="from-template", Item={"id": {"S": "old"}, "expires_at": {"N": "1700000000"}})
    assert quiesce()
    assert keys(account, "from-template") == []
    cloudformation.delete_stack(StackName="ttl")
