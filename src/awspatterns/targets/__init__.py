"""Deploy targets: the local sandbox account (default) and a real AWS account through the AWS CDK CLI."""
