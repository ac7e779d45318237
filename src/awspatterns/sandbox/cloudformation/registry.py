"""Making moto's CloudFormation see the sandbox's resource types, and giving ``Ref`` values to moto's own models
that lack them.

moto finds types through ``CloudFormationModel.__subclasses__()`` and caches the result; :func:`register` clears
those caches after the sandbox's modules are imported and checks that every type is now known.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from moto.apigateway.models import Deployment as ApiGatewayDeployment
from moto.awslambda.models import LayerVersion
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.events.models import Archive, EventBus
from moto.rds.models import DBParameterGroup, DBSubnetGroup

from awspatterns.sandbox.patching import add

__all__ = ["REF_VALUES", "fix_ref_values", "register"]

#: moto models without ``physical_resource_id``: a ``Ref`` to one made ``CreateStack`` answer HTTP 500. Each gets
#: the value CloudFormation's ``Ref`` returns.
REF_VALUES: dict[type, str] = {
    ApiGatewayDeployment: "id",
    EventBus: "name",
    Archive: "name",
    LayerVersion: "arn",
    DBSubnetGroup: "name",
    DBParameterGroup: "name",
}


def fix_ref_values() -> None:
    """Give each model in :data:`REF_VALUES` the ``physical_resource_id`` a ``Ref`` to it reads."""
    for model, attribute in REF_VALUES.items():
        add(model, "physical_resource_id", property(operator.attrgetter(attribute)))


def register(models: Iterable[type[CloudFormationModel]]) -> None:
    """Make moto's CloudFormation see ``models`` (already imported, direct subclasses of ``CloudFormationModel``).

    Raises:
        RuntimeError: moto did not pick one of them up.
    """
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    missing = [m.cloudformation_type() for m in models if m.cloudformation_type() not in parsing.get_model_map()]
    if missing:
        raise RuntimeError(f"moto did not pick up the sandbox's CloudFormation models: {missing}")
