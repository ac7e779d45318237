"""Diagram of the api-postgres-vpc pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/api-postgres-vpc.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Aurora
from diagrams.aws.general import Client
from diagrams.aws.management import SystemsManagerParameterStore
from diagrams.aws.network import APIGateway, Endpoint
from diagrams.aws.security import KMS, SecretsManager

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Client -> REST API -> items function (application tier) -> PostgreSQL protocol -> Aurora (data tier)."""
    with pattern_diagram("api-postgres-vpc: an API over PostgreSQL from inside the VPC") as diagram:
        client = Client("any HTTP client\n(client.py)")
        with Cluster("ApiPostgresVpc stack"):
            api = APIGateway("REST API /items\nthrottling, access logs")
        parameters = SystemsManagerParameterStore("/serverless-patterns/\npostgres-vpc/database/...")
        secret = SecretsManager("credentials\n(hosted rotation, 30 days)")
        key = KMS("storage key")
        with Cluster("VPC (PostgresVpcNetwork): isolated subnets, no NAT"):
            with Cluster("application tier"):
                items = Lambda("Items function\n(psycopg: one kept connection\nper execution environment)")
                endpoints = Endpoint("interface endpoints\nSSM, Secrets Manager")
            with Cluster("data tier (PostgresVpcDatabase)"):
                cluster = Aurora("Aurora PostgreSQL\nServerless v2")

        client >> Edge(label="GET/POST /items\nGET/PUT/DELETE /items/{id}") >> api
        api >> Edge(label="Lambda proxy") >> items
        items >> Edge(label="PostgreSQL 5432, TLS\nparameterised SQL") >> cluster
        items >> Edge(style="dashed", label="HTTPS 443") >> endpoints
        endpoints >> Edge(style="dashed", label="run time: endpoint,\nport, secret ARN") >> parameters
        endpoints >> Edge(style="dotted", label="GetSecretValue\n(on connect, after a rotation)") >> secret
        cluster >> Edge(style="dashed", label="publishes") >> parameters
        key - Edge(style="dashed", label="encrypts") - cluster
        secret - Edge(style="dotted", label="rotates") - cluster
    return diagram
