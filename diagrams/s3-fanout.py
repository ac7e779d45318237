"""Diagram of the s3-fanout pattern; ``patterns diagrams`` renders it to docs/assets/diagrams/s3-fanout.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.general import Client
from diagrams.aws.integration import SNS, SQS
from diagrams.aws.security import KMS
from diagrams.aws.storage import S3

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """S3 object events fanned out through one encrypted SNS topic to three subscribers."""
    with pattern_diagram("s3-fanout: S3 events fanned out through SNS") as diagram:
        client = Client("client.py")
        bucket = S3("Uploads bucket")
        topic = SNS("ObjectEvents topic")
        key = KMS("TopicKey")
        records = Dynamodb("ObjectRecords\n+ Idempotency")
        with Cluster("Subscriber 1: Lambda (async)"):
            indexer = Lambda("Indexer")
            indexer_dlq = SQS("IndexerFailures")
            undelivered = SQS("IndexerUndelivered")
        with Cluster("Subscriber 2: queue + batch consumer"):
            checksum_queue = SQS("ChecksumQueue\n(+ DLQ)")
            checksum = Lambda("Checksum")
        with Cluster("Subscriber 3: audit queue"):
            audit = SQS("AuditQueue\n(+ DLQ)")

        client >> Edge(label="PutObject") >> bucket >> Edge(label="ObjectCreated") >> topic
        key - Edge(style="dashed", label="encrypts") - topic
        topic >> indexer >> records
        indexer >> Edge(style="dashed", label="on failure") >> indexer_dlq
        topic >> Edge(style="dashed", label="undeliverable") >> undelivered
        topic >> checksum_queue >> checksum >> records
        checksum >> Edge(style="dashed", label="GetObject") >> bucket
        topic >> audit
    return diagram
