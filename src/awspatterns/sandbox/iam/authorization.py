"""Combining a caller's identity policies with the policy of the resource it addresses, as AWS does.

An explicit Deny in either wins. In the resource's own account an Allow in either suffices (an Allow that names
only the account delegates to the account's IAM, so it adds nothing for a user or role); across accounts both
must allow. A KMS key is the exception: its key policy must allow, directly or by delegating to the account's IAM
through the root principal (then the identity policies must allow too). The root user is allowed by its identity
(and so is stopped only by a resource policy's Deny, or a key policy that does not admit it).
"""

from __future__ import annotations

from awspatterns.sandbox.iam.evaluation import ALLOWED, NO_ALLOW, RESOURCE, Verdict

__all__ = ["ROOT_IDENTITY", "combine"]

#: The root user's identity side: allowed everything.
ROOT_IDENTITY = Verdict(True, ALLOWED, statement="the account's root user")


def combine(identity: Verdict, resource: Verdict | None, same_account: bool, key_policy: bool = False) -> Verdict:
    """The decision for one check. ``resource`` is ``None`` when the resource has no policy; ``key_policy`` when it
    is a KMS key's."""
    if identity.explicit:
        return identity
    if resource is not None and resource.explicit:
        return resource
    resource_allows = resource is not None and resource.allowed
    if key_policy or not same_account:
        if not resource_allows:
            return (
                resource
                if resource is not None and resource.reason != NO_ALLOW
                else Verdict(False, NO_ALLOW, kind=RESOURCE)
            )
        if resource is not None and not resource.through_account and same_account:
            return resource  # a key policy naming the caller itself needs no identity grant
        return identity if not identity.allowed else resource  # type: ignore[return-value]
    if identity.allowed:
        return identity
    if resource is not None and resource.allowed and not resource.through_account:
        return resource
    return identity
