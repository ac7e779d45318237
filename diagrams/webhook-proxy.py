"""Diagram of the webhook-proxy pattern; ``patterns diagrams`` renders it to docs/assets/diagrams/webhook-proxy.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.general import Client
from diagrams.aws.integration import SQS
from diagrams.aws.network import APIGateway
from diagrams.aws.security import SecretsManager

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """One signed endpoint stores payloads with their stage; one filtered stream consumer per stage."""
    with pattern_diagram("webhook-proxy: one signed endpoint, one consumer per stage") as diagram:
        provider = Client("SaaS provider\n(client.py signs)")
        with Cluster("WebhookProxy"):
            api = APIGateway("POST /webhooks/{provider}\n(signature header required)")
            secret = SecretsManager("signing secret\n(current + previous)")
            receiver = Lambda("Receiver\n(verify, route, store once)")
            table = Dynamodb("Payloads\n(stream, TTL)")
            for stage in ("dev", "test", "staging"):
                with Cluster(f"stage {stage}"):
                    consumer = Lambda(f"{stage.title()}Consumer")
                    failures = SQS(f"{stage.title()}Failures\n(batch positions)")
                table >> Edge(label=f"filter: INSERT, stage={stage}") >> consumer
                consumer >> Edge(style="dashed", label="bisect, retry,\nthen park") >> failures
        provider >> Edge(label="signed delivery") >> api >> receiver
        receiver >> Edge(style="dotted", label="reads") >> secret
        receiver >> Edge(label="conditional put\n(replay = 409)") >> table
    return diagram
