"""Diagram of the ssm-parameters pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/ssm-parameters.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Aurora
from diagrams.aws.general import Client
from diagrams.aws.management import SystemsManagerParameterStore
from diagrams.aws.network import VPC, PrivateSubnet
from diagrams.aws.security import KMS, SecretsManager

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Two publishing stacks and a consumer, joined by parameter names instead of exports."""
    with pattern_diagram("ssm-parameters: shared infrastructure through Parameter Store") as diagram:
        client = Client("client.py")
        parameters = SystemsManagerParameterStore("/serverless-patterns/<env>/...")
        with Cluster("SharedNetwork stack"):
            vpc = VPC("VPC, 2 AZs, flow logs\nendpoints: SSM, Secrets Manager, RDS Data")
            application = PrivateSubnet("application tier\n(isolated)")
            data = PrivateSubnet("data tier\n(isolated)")
        with Cluster("SharedDatabase stack"):
            cluster = Aurora("Aurora PostgreSQL\nServerless v2, Data API")
            secret = SecretsManager("credentials\n(hosted rotation, 30 days)")
            key = KMS("storage key")
        with Cluster("ParameterConsumer stack"):
            consumer = Lambda("Consumer\n(application tier)")

        vpc >> Edge(label="publishes ids") >> parameters
        vpc - application
        vpc - data
        parameters >> Edge(style="dashed", label="deploy time:\nsubnets, ranges") >> cluster
        cluster >> Edge(label="publishes endpoint,\nARNs") >> parameters
        cluster - Edge(style="dotted") - data
        key - Edge(style="dashed", label="encrypts") - cluster
        secret - Edge(style="dotted", label="rotates password") - cluster
        parameters >> Edge(style="dashed", label="run time:\ncluster, secret") >> consumer
        consumer >> Edge(label="Data API") >> cluster
        consumer - Edge(style="dotted") - application
        client >> Edge(label="invoke, rotate, replace") >> consumer
    return diagram
