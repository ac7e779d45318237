"""Diagram of the api-authorizer pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/api-authorizer.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.general import Client
from diagrams.aws.network import APIGateway
from diagrams.aws.security import SecretsManager

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """The client mints a token, the API asks the authorizer, the authorizer checks it against the issuer's JWKS."""
    with pattern_diagram("api-authorizer: JWT bearer tokens checked by a Lambda TOKEN authorizer") as diagram:
        client = Client("client.py\n(mints RS256 tokens)")
        with Cluster("Demo issuer (stands in for your identity provider)"):
            keygen = Lambda("Key generator\n(custom resource, at deploy)")
            secret = SecretsManager("Signing key\n(private key + kid)")
            jwks = APIGateway("JWKS API\n/.well-known/jwks.json")
        with Cluster("Protected API"):
            api = APIGateway("Items API\nGET, POST /items")
            authorizer = Lambda("JWT authorizer\n(TOKEN, result cache 300 s)")
            items = Lambda("Items handler\n(echoes the caller)")

        keygen >> Edge(label="private key") >> secret
        keygen >> Edge(label="public JWKS", style="dashed") >> jwks
        client >> Edge(label="GetSecretValue") >> secret
        client >> Edge(label="Authorization: Bearer <JWT>") >> api
        api >> Edge(label="token, methodArn") >> authorizer
        authorizer >> Edge(label="JWKS (cached)") >> jwks
        api >> Edge(label="Allow: sub, scope") >> items
    return diagram
