"""Diagram of the cross-account-eventbridge pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/cross-account-eventbridge.svg."""

from diagrams.aws.compute import Lambda
from diagrams.aws.database import Dynamodb
from diagrams.aws.general import Client
from diagrams.aws.integration import SNS, SQS, Eventbridge
from diagrams.aws.management import CloudwatchAlarm
from diagrams.aws.security import KMS

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Source accounts forward alarm state changes to a central bus; its policy refuses an outsider."""
    with pattern_diagram("cross-account-eventbridge: alarms from many accounts, handled in one") as diagram:
        client = Client("client.py\n(SetAlarmState)")
        sources = []
        for name in ("source-a (admitted)", "source-b (admitted)", "outsider (not admitted)"):
            with Cluster(f"Account {name}"):
                alarm = CloudwatchAlarm("CheckoutErrors")
                default_bus = Eventbridge("default bus:\nforwarding rule\n(role, retry policy)")
                undelivered = SQS("Undelivered\n(rule DLQ)")
                alarm >> Edge(label="state change") >> default_bus
                default_bus >> Edge(style="dashed", label="refused:\nNO_PERMISSIONS") >> undelivered
                sources.append((alarm, default_bus))
        with Cluster("Central account"):
            bus = Eventbridge("central-alarms bus\n(policy: source-a, source-b)")
            recorder = Lambda("Recorder\n(async, 2 retries)")
            history = Dynamodb("History")
            with Cluster("Parked"):
                central_undelivered = SQS("Undelivered\n(rule DLQ)")
                failed = SQS("Failed\n(on-failure destination)")
            topic = SNS("Notifications")
            key = KMS("NotificationsKey")
            on_call = SQS("OnCall\n(stands in for e-mail)")
        for alarm, default_bus in sources:
            client >> alarm
            default_bus >> Edge(label="PutEvents") >> bus
        bus >> Edge(label="rule: alarm changes\nof source accounts") >> recorder
        recorder >> Edge(label="source account,\nalarm, state, time") >> history
        recorder >> topic >> on_call
        key - Edge(style="dashed", label="encrypts") - topic
        bus >> Edge(style="dashed", label="cannot invoke") >> central_undelivered
        recorder >> Edge(style="dashed", label="after 3 attempts") >> failed
    return diagram
