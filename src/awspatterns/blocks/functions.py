"""Lambda functions with the catalog's defaults: own role, own log group, tracing, Powertools."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from awspatterns.app import acknowledge
from awspatterns.blocks.runtime import PYTHON_RUNTIME, powertools_layer

__all__ = ["PythonFunction", "with_shared_code"]


# --8<-- [start:function]
@jsii.implements(iam.IGrantable)
class PythonFunction(Construct):
    """A Python function with its own role, its own log group (30 days) and X-Ray tracing.

    The role gets only what writing to its own log group needs; callers grant the rest, to the block itself
    (it is an ``iam.IGrantable``: ``table.grant_read_write_data(function)``) or to ``.role``. That avoids the
    broad ``AWSLambdaBasicExecutionRole`` managed policy. X-Ray's two actions, which take no resource, are in a
    policy of their own (``<id>/XRay``), the only place their wildcard is acknowledged to cdk-nag: a wildcard
    granted to the role later fails the gate. The construct tree nests: ``<id>/Role``, ``<id>/Logs``,
    ``<id>/XRay``, and the function itself as ``<id>``'s default child, so its logical id is ``<id>...``.

    Args:
        scope: the parent construct.
        construct_id: the block's id; also the function's Powertools service name.
        code_dir: the folder packaged as the function's code (the example's ``handlers/``).
        handler: ``module.function`` within ``code_dir``, e.g. ``indexer.index.handler``.
        description: what the function does (shown in the console).
        environment: variables added to the Powertools defaults.
        timeout: the invocation time limit.
        memory_size: memory in MiB (CPU scales with it).
        retry_attempts: retries of a failed asynchronous invocation (Lambda's default is 2).
        max_event_age: how long an asynchronous event may wait before it is discarded (or sent on failure).
        on_failure: where asynchronous invocations that still fail go, with their error.
        vpc: a VPC to run in (its subnets' routes and endpoints decide what the function reaches); the role
            then also gets, in a policy of its own (``<id>/Network``), the EC2 actions Lambda needs to manage the
            function's network interfaces (those of ``AWSLambdaVPCAccessExecutionRole``).
        vpc_subnets: which of the VPC's subnets.
        security_groups: the function's security groups (a new one, allowing all egress, if none is given).
        shared_code: folders of handler code written once for several functions (e.g.
            ``awspatterns.shared_handlers.ITEMS_API``), each shipped in the asset as a top-level package of its
            folder's name, next to ``code_dir``'s contents (see :func:`with_shared_code`).

    Attributes:
        function: the ``lambda.Function``.
        role: its execution role.
        log_group: its log group.
        xray_policy: the role's policy that lets the function send traces (X-Ray's actions only).
        network_policy: with ``vpc``, the role's policy for the function's network interfaces; otherwise ``None``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        handler: str,
        description: str,
        environment: Mapping[str, str] | None = None,
        timeout: cdk.Duration = cdk.Duration.seconds(30),
        memory_size: int = 256,
        retry_attempts: int | None = None,
        max_event_age: cdk.Duration | None = None,
        on_failure: lambda_.IDestination | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: list[ec2.ISecurityGroup] | None = None,
        shared_code: Sequence[Path] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id}",
        )
        self.log_group.grant_write(self.role)
        # X-Ray's two write actions support no resource-level permissions, so they need Resource "*". They get a
        # policy of their own, acknowledged there only: a wildcard granted to the role later is still a finding.
        self.xray_policy = iam.Policy(
            self,
            "XRay",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])
            ],
        )
        acknowledge(
            self.xray_policy,
            {
                "AwsSolutions-IAM5[Resource::*]": "X-Ray PutTraceSegments/PutTelemetryRecords support no "
                "resource-level permissions; this policy holds only those two actions."
            },
        )
        self.network_policy = None if vpc is None else self._network_policy()
        self.function = lambda_.Function(
            self,
            "Default",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            code=lambda_.Code.from_asset(
                str(with_shared_code(code_dir, shared_code)), exclude=["__pycache__", "*.pyc"]
            ),
            handler=handler,
            description=description,
            role=self.role,
            log_group=self.log_group,
            layers=[powertools_layer(self)],
            timeout=timeout,
            memory_size=memory_size,
            environment={
                "POWERTOOLS_SERVICE_NAME": construct_id,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            on_failure=on_failure,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
        )
        # Tracing is switched on in the template rather than with tracing=Tracing.ACTIVE, which would also add
        # the X-Ray statement to the role's default policy, where only a role-wide acknowledgement could cover it.
        function_resource = self.function.node.default_child
        assert isinstance(function_resource, lambda_.CfnFunction)
        function_resource.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        function_resource.node.add_dependency(self.xray_policy)
        if self.network_policy is not None:  # Lambda checks the ENI permissions when it creates the function
            function_resource.node.add_dependency(self.network_policy)

    def _network_policy(self) -> iam.Policy:
        # The EC2 actions AWS's own AWSLambdaVPCAccessExecutionRole grants: the Describe actions take no resource,
        # and the interfaces do not exist before Lambda creates them, so AWS documents them with Resource "*".
        policy = iam.Policy(
            self,
            "Network",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            ],
        )
        acknowledge(
            policy,
            {
                "AwsSolutions-IAM5[Resource::*]": "Lambda's network-interface actions for a function in a VPC, as "
                "AWSLambdaVPCAccessExecutionRole grants them: Describe* take no resource and the interfaces do not "
                "exist before Lambda creates them. This policy holds only those actions."
            },
        )
        return policy

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: what ``grant_*`` methods of other resources grant to (``iam.IGrantable``)."""
        return self.role


# --8<-- [end:function]


def _code_files(code_dir: Path, shared_code: Sequence[Path]) -> dict[Path, Path]:
    files: dict[Path, Path] = {}
    for root, prefix in ((code_dir, Path()), *((folder, Path(folder.name)) for folder in shared_code)):
        if prefix != Path() and (code_dir / prefix).exists():
            raise ValueError(f"{code_dir} already has {prefix}: the shared folder {root} would overwrite it")
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files[prefix / path.relative_to(root)] = path
    return files


def with_shared_code(code_dir: Path, shared_code: Sequence[Path]) -> Path:
    """``code_dir`` itself, or with ``shared_code`` a folder holding its files and each shared folder under its own
    name: what ``Code.from_asset`` then packages.

    The folder is named by a digest of every file it holds (paths and contents), so the asset's hash, which CDK
    computes from the folder's contents, changes whenever a file of ``code_dir`` *or* of a shared folder does; and
    it is assembled without bundling (no Docker, nothing run at synth time). It lives under the system's temporary
    directory and is written once per content (by an atomic rename, so concurrent synths agree).
    """
    if not shared_code:
        return code_dir
    files = _code_files(code_dir, shared_code)
    digest = hashlib.sha256()
    for relative, path in files.items():
        digest.update(relative.as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    staged = Path(tempfile.gettempdir()) / "awspatterns-code" / digest.hexdigest()
    if not staged.is_dir():
        staged.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=staged.parent, prefix=".building-"))
        building.chmod(0o755)  # mkdtemp's 0700 would travel into the package: Lambda's user must read it
        for relative, path in files.items():
            (building / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, building / relative)
        try:
            building.rename(staged)
        except OSError:  # another synth staged the same content first
            shutil.rmtree(building, ignore_errors=True)
    return staged
