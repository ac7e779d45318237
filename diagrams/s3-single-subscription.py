"""Diagram of the s3-single-subscription pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/s3-single-subscription.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.general import Client
from diagrams.aws.integration import SQS
from diagrams.aws.storage import S3

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """One bucket, two prefixes, one consumer each: through a queue, and straight to a function."""
    with pattern_diagram("s3-single-subscription: S3 events to one queue or one function") as diagram:
        client = Client("client.py")
        bucket = S3("Uploads bucket")
        records = Dynamodb("Invoices")
        with Cluster("Variant 1: queued/ -> SQS -> batch consumer"):
            queue = SQS("Queue")
            queued = Lambda("Queued consumer\n(reads each object)")
            dlq = SQS("Queue DLQ")
        with Cluster("Variant 2: direct/ -> Lambda (async)"):
            direct = Lambda("Direct consumer\n(reads each object)")
            failures = SQS("Failures\n(on-failure destination)")

        client >> Edge(label="PutObject") >> bucket
        bucket >> Edge(label="queued/*.json") >> queue >> Edge(label="batches") >> queued >> records
        queued >> Edge(style="dashed", label="parks; redrive policy") >> dlq
        bucket >> Edge(label="direct/*.json") >> direct >> records
        direct >> Edge(style="dashed", label="after 2 retries") >> failures
    return diagram
