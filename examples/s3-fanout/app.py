"""The s3-fanout CDK app: ``cdk synth`` from this folder, or ``patterns synth s3-fanout``."""

from pathlib import Path

from stack import build

from awspatterns.app import new_app

app = new_app(Path(__file__).parent)  # the context of this folder's cdk.json, whoever runs the app
build(app)
app.synth()
