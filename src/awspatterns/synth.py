"""Synthesizing the examples in one process (jsii starts once) into ``cdk.out/<slug>/``."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from awspatterns import ASSEMBLIES_DIR
from awspatterns.app import new_app
from awspatterns.catalog import Pattern
from awspatterns.errors import PatternsError

__all__ = ["Assembly", "SynthError", "load_stack_module", "nag_violations", "synth"]


class SynthError(PatternsError):
    """An example failed to synthesize; for cdk-nag findings the message lists each rule and resource."""


@dataclass(frozen=True)
class Assembly:
    """A synthesized example: its cloud assembly directory and stack templates by stack name."""

    pattern: Pattern
    directory: Path
    templates: dict[str, dict[str, object]]


def load_stack_module(pattern: Pattern) -> ModuleType:
    """Import ``examples/<slug>/stack.py`` under a name unique to the pattern."""
    name = f"awspatterns_examples.{pattern.slug.replace('-', '_')}.stack"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, pattern.directory / "stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def synth(pattern: Pattern, outdir: Path | None = None, context: dict[str, Any] | None = None) -> Assembly:
    """Synthesize one example with the cdk-nag gate; ``context`` adds to (or overrides) its ``cdk.json``
    context, as ``cdk synth -c key=value`` does.

    Raises:
        SynthError: synthesis failed; cdk-nag violations are listed rule by rule.
    """
    directory = (outdir or ASSEMBLIES_DIR) / pattern.slug
    app = new_app(pattern.directory, outdir=str(directory), context=context)
    load_stack_module(pattern).build(app)
    try:
        app.synth()
    except Exception as error:
        raise SynthError(f"{pattern.slug}: {_describe_failure(directory, error)}") from error
    manifest = json.loads((directory / "manifest.json").read_text())
    templates = {
        name: json.loads((directory / artifact["properties"]["templateFile"]).read_text())
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    return Assembly(pattern=pattern, directory=directory, templates=templates)


def nag_violations(directory: Path) -> list[tuple[str, str]]:
    """The (rule, construct path) pairs in a cloud assembly's ``validation-report.json``; empty when clean."""
    report_file = directory / "validation-report.json"
    if not report_file.is_file():
        return []
    report = json.loads(report_file.read_text())
    return [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def _describe_failure(directory: Path, error: Exception) -> str:
    violations = nag_violations(directory)
    if not violations:
        return str(error)
    lines = [f"cdk-nag found {len(violations)} unacknowledged finding(s):"]
    lines += [f"  {rule} at {path}" for rule, path in violations]
    return "\n".join(lines)
