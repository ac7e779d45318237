"""Diagram of the api-async-sqs pattern; ``patterns diagrams`` renders it to docs/assets/diagrams/api-async-sqs.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.general import Client
from diagrams.aws.integration import SQS
from diagrams.aws.network import APIGateway

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Client -> API Gateway (validates, sends to SQS as its role) -> queue -> batch consumer -> table; DLQ."""
    with pattern_diagram("api-async-sqs: accept now, process later") as diagram:
        client = Client("any HTTP client\n(client.py)")
        with Cluster("Request path: no Lambda"):
            api = APIGateway("REST API\nmodel + validator\nthrottling")
            queue = SQS("Orders queue")
        with Cluster("Processing"):
            consumer = Lambda("Consumer\n(batches, idempotent)")
            idempotency = Dynamodb("Idempotency\nrecords")
            orders = Dynamodb("Processed orders")
            dlq = SQS("DLQ")

        client >> Edge(label="POST /orders\n202 messageId | 400 | 429") >> api
        api >> Edge(label="sqs:SendMessage\n(integration role)") >> queue
        queue >> Edge(label="batches") >> consumer >> orders
        consumer >> Edge(style="dashed", label="once per order_id") >> idempotency
        consumer >> Edge(style="dashed", label="parks with error;\nredrive after 3 receives") >> dlq
    return diagram
