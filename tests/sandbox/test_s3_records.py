"""S3 event records in the sandbox carry every field S3 sends, so they validate against the published schema
(Powertools' S3Model), whether they reach a queue, a topic or a function."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.parser.models import S3Model
from lambda_code import admit


def test_a_record_sent_to_a_queue_validates_against_the_s3_schema(account):
    s3, sqs = account.client("s3"), account.client("sqs")
    s3.create_bucket(Bucket="records")
    s3.put_bucket_versioning(Bucket="records", VersioningConfiguration={"Status": "Enabled"})
    queue = sqs.create_queue(QueueName="records")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admit(account, queue, "s3", "arn:aws:s3:::records")  # the queue policy S3 needs, as a template would grant it
    s3.put_bucket_notification_configuration(
        Bucket="records",
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    sqs.purge_queue(QueueUrl=queue)  # the s3:TestEvent of the new configuration
    s3.put_object(Bucket="records", Key="a b.json", Body=b"{}")

    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    event = S3Model.model_validate(json.loads(message["Body"]))
    [record] = event.Records
    assert record.s3.object is not None
    assert record.eventName == "ObjectCreated:Put"
    assert record.s3.object.key == "a+b.json"  # URL-encoded, as S3 sends it
    assert record.s3.object.versionId and record.s3.object.sequencer
    assert record.s3.bucket.ownerIdentity.principalId == account.client("sts").get_caller_identity()["Account"]
    assert record.userIdentity.principalId.startswith("AWS:")
    assert str(record.requestParameters.sourceIPAddress) == "127.0.0.1/32"
    assert len(record.responseElements.x_amz_request_id) == 16


def test_records_of_separate_uploads_have_their_own_request_ids(account):
    s3, sqs = account.client("s3"), account.client("sqs")
    s3.create_bucket(Bucket="ids")
    queue = sqs.create_queue(QueueName="ids")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    admit(account, queue, "s3", "arn:aws:s3:::ids")  # the queue policy S3 needs, as a template would grant it
    s3.put_bucket_notification_configuration(
        Bucket="ids",
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    sqs.purge_queue(QueueUrl=queue)
    for key in ("one", "two"):
        s3.put_object(Bucket="ids", Key=key, Body=b"x")

    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    ids = {b["Records"][0]["responseElements"]["x-amz-request-id"] for b in bodies}
    assert len(ids) == 2
