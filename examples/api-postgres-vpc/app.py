"""The api-postgres-vpc CDK app: ``cdk synth`` from this folder, or ``patterns synth api-postgres-vpc``."""

from pathlib import Path

# awspatterns.app before stack: it silences jsii's Node end-of-life banner, printed when aws_cdk is first imported.
from awspatterns.app import new_app

# isort: split
from stack import build

app = new_app(Path(__file__).parent)  # the context of this folder's cdk.json, whoever runs the app
build(app)
app.synth()
