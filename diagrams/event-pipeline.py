"""Diagram of the event-pipeline pattern; ``patterns diagrams`` renders it to
docs/assets/diagrams/event-pipeline.svg."""

from diagrams.aws.analytics import GlueDataCatalog, KinesisDataFirehose
from diagrams.aws.compute import Lambda
from diagrams.aws.general import Client
from diagrams.aws.management import CloudwatchAlarm, CloudwatchLogs
from diagrams.aws.storage import SimpleStorageServiceS3

from awspatterns.diagram import pattern_diagram
from diagrams import Cluster, Edge


def draw():  # type: ignore[no-untyped-def]
    """Fan-in from functions and a log subscription into one delivery stream, transformed, into a partitioned lake."""
    with pattern_diagram("event-pipeline: many emitters, one Firehose stream, a queryable lake") as diagram:
        client = Client("client.py")
        orders = Lambda("OrdersEmitter")
        payments = Lambda("PaymentsEmitter")
        audit = Lambda("Audit")
        audit_logs = CloudwatchLogs("Audit log group\n(subscription)")
        with Cluster("EventPipeline"):
            stream = KinesisDataFirehose("Delivery stream\n(buffer, GZIP)")
            transformer = Lambda("Transformer\n(Ok | ProcessingFailed)")
            lake = SimpleStorageServiceS3("Lake bucket")
            table = GlueDataCatalog("Glue table\n(projected partitions)")
            alarm = CloudwatchAlarm("DataFreshness > 15 min")

        client >> Edge(label="Invoke") >> [orders, payments, audit]
        orders >> Edge(label="PutRecordBatch\n(resend failed)") >> stream
        payments >> Edge(label="PutRecordBatch\n(resend failed)") >> stream
        audit >> Edge(label="audit lines") >> audit_logs
        audit_logs >> Edge(label="gzipped batches\n(role)") >> stream
        stream - Edge(style="dashed", label="records") - transformer
        stream >> Edge(label="events/year=/month=/day=/hour=") >> lake
        stream >> Edge(style="dashed", label="errors/processing-failed/") >> lake
        table - Edge(style="dotted", label="describes events/") - lake
        stream - Edge(style="dotted", label="freshness") - alarm
        client >> Edge(style="dotted", label="reads back") >> lake
    return diagram
