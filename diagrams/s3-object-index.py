"""Diagram of the s3-object-index pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/s3-object-index.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.general import Client
from diagrams.aws.integration import SQS
from diagrams.aws.storage import S3

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Events to the indexer through a queue; the index in DynamoDB; backfill and removal jobs on demand."""
    with pattern_diagram("s3-object-index: which objects hold a user's data") as diagram:
        client = Client("client.py")
        bucket = S3("Events bucket\n(versioned, JSON lines)")
        with Cluster("Event path"):
            queue = SQS("Queue")
            indexer = Lambda("Indexer")
            dlq = SQS("Queue DLQ")
        with Cluster("Index (DynamoDB)"):
            objects = Dynamodb("Objects\n(per key)")
            holdings = Dynamodb("Holdings\n(user -> objects)")
            jobs = Dynamodb("Jobs\n(checkpoints, audit)")
        with Cluster("On demand, resumable"):
            backfill = Lambda("Backfill")
            removal = Lambda("Removal")

        client >> Edge(label="PutObject") >> bucket
        bucket >> Edge(label="created / removed") >> queue >> Edge(label="batches") >> indexer
        indexer >> Edge(style="dashed", label="parks; redrive policy") >> dlq
        indexer >> objects
        indexer >> holdings
        client >> Edge(label="invoke") >> backfill
        backfill >> Edge(label="ListObjectVersions") >> bucket
        backfill >> holdings
        backfill >> jobs
        client >> Edge(label="invoke (user id)") >> removal
        removal >> Edge(label="Query user") >> holdings
        removal >> Edge(label="rewrite, delete versions") >> bucket
        removal >> Edge(label="audit") >> jobs
    return diagram
