"""The s3-fanout CDK app: ``cdk synth`` from this folder, or ``patterns synth s3-fanout``."""

from stack import build

from awspatterns.app import new_app

app = new_app()
build(app)
app.synth()
