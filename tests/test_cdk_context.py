"""One source of CDK context: each example's cdk.json, read by ``cdk synth`` in its folder and by ``patterns synth``.

Every example's ``cdk.json`` carries exactly the feature flags the pinned aws-cdk-lib recommends, both ways of
synthesizing see the same flags and produce the same template, and ``cdk synth`` in an example folder is quiet.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from awspatterns import REPO_ROOT
from awspatterns.app import cdk_context, new_app, recommended_feature_flags

CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"


def flag_report(assembly_dir: Path) -> dict[str, dict[str, Any]]:
    """The feature-flag report aws-cdk-lib writes into a cloud assembly: per flag, its user and recommended values."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    return next(  # type: ignore[no-any-return]
        artifact["properties"]["flags"]
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "cdk:feature-flag-report"
    )


def without_cli_additions(template: dict[str, Any]) -> dict[str, Any]:
    """A template minus what the CDK CLI adds through its own context: path and asset metadata, CDKMetadata."""
    template = json.loads(json.dumps(template))
    template["Resources"].pop("CDKMetadata", None)
    template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    if template.get("Conditions") == {}:
        del template["Conditions"]
    for resource in template["Resources"].values():
        metadata = resource.get("Metadata", {})
        for key in [k for k in metadata if k == "aws:cdk:path" or k.startswith("aws:asset:")]:
            del metadata[key]
        if metadata == {}:
            resource.pop("Metadata", None)
    # An API Gateway deployment's logical id ends with a hash of the API's resolved resources, path metadata
    # included, so it differs whenever the CLI adds that metadata: compare those ids without their hash.
    text = json.dumps(template)
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::ApiGateway::Deployment" and re.fullmatch(r".+[0-9a-f]{32}", name):
            text = text.replace(f'"{name}"', f'"{name[:-32]}"')
    return dict(json.loads(text))


def test_every_example_cdk_json_carries_exactly_the_recommended_flags(pattern):
    config = json.loads((pattern.directory / "cdk.json").read_text())
    assert config["app"] == "python3 app.py"
    assert cdk_context(pattern.directory) == recommended_feature_flags()


def test_recommended_flags_come_from_the_installed_aws_cdk_lib():
    flags = recommended_feature_flags()
    assert len(flags) > 80
    assert flags["@aws-cdk/aws-iam:minimizePolicies"] is True
    assert "@aws-cdk/core:newStyleStackSynthesis" not in flags  # a v1-era flag, the default in v2


def test_patterns_synth_sets_every_flag_as_recommended(assemblies):
    # What `cdk synth` reports as "not configured": a flag whose value in the app is not the recommended one
    # (a flag left unset behaves as its report says, or off).
    for slug, assembly in assemblies.items():
        flags = flag_report(assembly.directory)
        assert len(flags) > 80, slug
        off = {
            name: flag.get("userValue")
            for name, flag in flags.items()
            if "recommendedValue" in flag
            and flag.get("userValue", flag.get("unconfiguredBehavesLike", {}).get("v2", False))
            != flag["recommendedValue"]
        }
        assert off == {}, slug


def test_a_stack_built_outside_an_example_gets_the_same_flags(tmp_path):
    app = new_app(outdir=str(tmp_path))
    for name, value in recommended_feature_flags().items():
        assert app.node.try_get_context(name) == value, name


def test_cdk_synth_in_the_example_folder_is_quiet_and_matches_patterns_synth(pattern, assemblies, tmp_path):
    # The CLI runs `python3 app.py` from cdk.json: this interpreter first on PATH; no silencing variable set here.
    env = {k: v for k, v in os.environ.items() if k != "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(CDK), "synth", "--quiet", "--no-notices", "--output", str(out)],
        cwd=pattern.directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    printed = result.stdout + result.stderr
    assert "end-of-life" not in printed, printed[-2000:]
    assert "feature flags are not configured" not in printed, printed[-2000:]

    in_process = assemblies[pattern.slug]
    user_values = {n: f.get("userValue") for n, f in flag_report(out).items()}
    assert user_values == {n: f.get("userValue") for n, f in flag_report(in_process.directory).items()}
    for name, template in in_process.templates.items():
        cli_template = json.loads((out / f"{name}.template.json").read_text())
        assert without_cli_additions(cli_template) == without_cli_additions(template), name
