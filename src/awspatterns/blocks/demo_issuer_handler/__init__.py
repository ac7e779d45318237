"""The demo JWT issuer's key generator (a CloudFormation custom resource), packaged as its function's code."""
