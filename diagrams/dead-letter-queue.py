"""Diagram of the dead-letter-queue pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/dead-letter-queue.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.general import Client
from diagrams.aws.integration import SNS, SQS
from diagrams.aws.management import CloudwatchAlarm, SystemsManagerParameterStore
from diagrams.aws.security import KMS

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Retries, parking with the error, an alarm on the queue's depth, a fix, and a redrive through a replay queue."""
    with pattern_diagram("dead-letter-queue: retries, parking, alarm and redrive") as diagram:
        client = Client("client.py")
        orders = Dynamodb("Orders")
        flag = SystemsManagerParameterStore("accepted-currencies")
        with Cluster("AsyncFunctionWithRedrive"):
            worker = Lambda("Worker\n(async, 2 retries)")
            failures = SQS("Failures\n(on-failure destination)")
            replay = SQS("Replay\n(DLQ: Failures)")
            replayer = Lambda("Replayer")
            alarm = CloudwatchAlarm("Failures depth >= 1")
        with Cluster("Alerts"):
            topic = SNS("Alerts topic")
            key = KMS("AlertsKey")
            on_call = SQS("OnCall\n(stands in for e-mail)")
        with Cluster("AsyncFunctionWithDlq (classic, for comparison)"):
            classic = Lambda("Classic function")
            dead_letters = SQS("DeadLetters\n(function DLQ)")

        client >> Edge(label="Invoke (Event)") >> worker >> orders
        worker >> Edge(style="dashed", label="after 3 attempts:\nevent + error + count") >> failures
        failures - Edge(style="dotted", label="depth") - alarm
        alarm >> Edge(label="ALARM / OK") >> topic >> on_call
        key - Edge(style="dashed", label="encrypts") - topic
        client >> Edge(label="fix") >> flag
        client >> Edge(label="StartMessageMoveTask") >> failures
        failures >> Edge(label="redrive") >> replay >> replayer >> orders
        replayer >> Edge(style="dashed", label="still failing:\nparked again") >> failures
        worker >> Edge(style="dotted", label="reads") >> flag
        (
            client
            >> Edge(label="Invoke (Event)")
            >> classic
            >> Edge(style="dashed", label="event + 3 attributes")
            >> dead_letters
        )
    return diagram
