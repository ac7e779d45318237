"""Diagram of the api-data-api pattern; ``patterns diagrams`` renders it to docs/assets/diagrams/api-data-api.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Aurora
from diagrams.aws.general import Client
from diagrams.aws.management import SystemsManagerParameterStore
from diagrams.aws.network import VPC, APIGateway
from diagrams.aws.security import KMS, SecretsManager

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Client -> REST API -> items function (no VPC) -> Data API (HTTPS) -> Aurora; location from Parameter Store."""
    with pattern_diagram("api-data-api: an API over Aurora through the Data API") as diagram:
        client = Client("any HTTP client\n(client.py)")
        parameters = SystemsManagerParameterStore("/serverless-patterns/\ndata-api/database/...")
        with Cluster("ApiDataApi stack: no VPC"):
            api = APIGateway("REST API /items\nthrottling, access logs")
            items = Lambda("Items function\n(ItemsRepository over the Data API)")
        with Cluster("DataApiNetwork + DataApiDatabase stacks (the ssm-parameters stacks)"):
            vpc = VPC("VPC, 2 isolated tiers")
            cluster = Aurora("Aurora PostgreSQL\nServerless v2, Data API on")
            secret = SecretsManager("credentials\n(hosted rotation)")
            key = KMS("storage key")

        client >> Edge(label="GET/POST /items\nGET/PUT/DELETE /items/{id}") >> api
        api >> Edge(label="Lambda proxy") >> items
        parameters >> Edge(style="dashed", label="run time: cluster ARN,\nsecret ARN, database") >> items
        items >> Edge(label="rds-data over HTTPS\ntyped parameters") >> cluster
        items >> Edge(style="dotted", label="GetSecretValue\n(for the Data API)") >> secret
        cluster >> Edge(style="dashed", label="publishes") >> parameters
        vpc - Edge(style="dotted") - cluster
        key - Edge(style="dashed", label="encrypts") - cluster
        secret - Edge(style="dotted", label="rotates") - cluster
    return diagram
