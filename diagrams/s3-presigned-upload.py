"""Diagram of the s3-presigned-upload pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/s3-presigned-upload.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.general import Client
from diagrams.aws.integration import SQS
from diagrams.aws.network import APIGateway
from diagrams.aws.security import SecretsManager
from diagrams.aws.storage import S3

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """The client asks the API for a form, uploads straight to S3, and the validator moves what lands."""
    with pattern_diagram("s3-presigned-upload: uploads straight to S3 with a presigned POST") as diagram:
        client = Client("client.py")
        with Cluster("Demo issuer (stands in for an identity provider)"):
            signing_key = SecretsManager("SigningKey")
            jwks = APIGateway("JWKS")
        with Cluster("Upload API"):
            api = APIGateway("POST /uploads\nGET /uploads/{id}")
            authorizer = Lambda("JWT authorizer")
            presign = Lambda("Presign")
        bucket = S3("Uploads bucket\nincoming/ accepted/ rejected/")
        validator = Lambda("Validator")
        failures = SQS("Failures")

        client >> Edge(style="dashed", label="mints a token") >> signing_key
        client >> Edge(label="1. form request + JWT") >> api
        api >> authorizer >> Edge(style="dashed", label="keys") >> jwks
        api >> presign >> Edge(style="dashed", label="signs the policy") >> bucket
        client >> Edge(label="2. multipart POST (12 MB)") >> bucket
        bucket >> Edge(label="3. ObjectCreated incoming/") >> validator
        validator >> Edge(label="move") >> bucket
        validator >> Edge(style="dashed", label="on failure") >> failures
    return diagram
