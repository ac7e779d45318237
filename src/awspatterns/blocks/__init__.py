"""Secure-by-default building blocks shared by the examples: constructs, one module per service.

Each block applies the defaults the catalog promises (see the security notes on every pattern page), so an
example's stack module reads as its architecture rather than as a list of settings. A block is a construct whose
parts nest under its id (``Indexer/Role``, ``Indexer/Logs``, ``Indexer/XRay``); its main resource is its default
child, so that resource's logical id starts with the block's id, and the block exposes it (``.function``,
``.bucket``, ``.queue``). ``PythonFunction`` is an ``iam.IGrantable``: ``table.grant_read_write_data(indexer)``
grants to its role.

The modules: ``functions`` (``PythonFunction``), ``buckets`` (``SecureBucket``, ``AccessLogBucket``), ``queues``
(``QueueWithDlq``, ``DeadLetterQueue``), ``jwt_authorizer`` (``JwtAuthorizer``, with its function's code in
``jwt_authorizer_handler``), ``demo_issuer`` (``DemoIssuer``, a stand-in identity provider for examples), ``apis``
(``secure_rest_api``, ``api_gateway_logging_role``), ``runtime`` (the Python runtime and the Powertools layer),
``dependencies`` (``DependenciesLayer``, a layer of pinned third-party packages) and
``custom_resources`` (acknowledging cdk-nag findings on the functions CDK adds); import them all from here.
"""

from awspatterns.blocks.apis import api_gateway_logging_role, secure_rest_api
from awspatterns.blocks.buckets import AccessLogBucket, SecureBucket
from awspatterns.blocks.custom_resources import BASIC_EXECUTION_ROLE, acknowledge_cdk_custom_resources
from awspatterns.blocks.demo_issuer import DemoIssuer
from awspatterns.blocks.dependencies import DependenciesLayer
from awspatterns.blocks.functions import PythonFunction
from awspatterns.blocks.jwt_authorizer import JwtAuthorizer
from awspatterns.blocks.queues import DeadLetterQueue, QueueWithDlq
from awspatterns.blocks.runtime import (
    POWERTOOLS_LAYER_ACCOUNT,
    POWERTOOLS_LAYER_VERSION,
    PYTHON_RUNTIME,
    powertools_layer,
)

__all__ = [
    "BASIC_EXECUTION_ROLE",
    "POWERTOOLS_LAYER_ACCOUNT",
    "POWERTOOLS_LAYER_VERSION",
    "PYTHON_RUNTIME",
    "AccessLogBucket",
    "DeadLetterQueue",
    "DemoIssuer",
    "DependenciesLayer",
    "JwtAuthorizer",
    "PythonFunction",
    "QueueWithDlq",
    "SecureBucket",
    "acknowledge_cdk_custom_resources",
    "api_gateway_logging_role",
    "powertools_layer",
    "secure_rest_api",
]
