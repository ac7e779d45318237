"""The import policy's modules per distribution, read from that distribution alone, are what
``importlib.metadata.packages_distributions`` (which reads every installed distribution) attributes to it."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from awspatterns.sandbox.runtime import import_policy


def by_packages_distributions(distributions):
    wanted = {re.sub(r"[-_.]+", "-", name).lower() for name in distributions}
    return {
        module
        for module, owners in metadata.packages_distributions().items()
        if any(re.sub(r"[-_.]+", "-", owner).lower() in wanted for owner in owners)
    }


@pytest.mark.parametrize("root, extras", [("boto3", ()), ("aws-lambda-powertools", ["all"]), ("PyJWT", ())])
def test_modules_of_a_closure_match_packages_distributions(root, extras):
    closure = import_policy.distribution_closure(root, extras)
    modules = import_policy.modules_of(closure)
    assert modules and modules == by_packages_distributions(closure)


def test_a_distribution_without_top_level_txt_is_read_from_its_files():
    inferred = [d for d in metadata.distributions() if not d.read_text("top_level.txt") and d.files]
    assert inferred, "no installed distribution lacks top_level.txt: the inferred branch goes untested"
    for dist in inferred[:5]:
        name = dist.metadata["Name"]
        assert import_policy.modules_of([name]) == by_packages_distributions([name])


def test_an_unknown_distribution_provides_nothing():
    assert import_policy.modules_of(["no-such-distribution-anywhere"]) == frozenset()
