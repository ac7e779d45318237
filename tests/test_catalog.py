"""The pattern.toml schema and `patterns list`."""

import json
from pathlib import Path

import pytest

from awspatterns.catalog import GROUPS, CatalogError, default_group, get_pattern, load_catalog, parse_pattern
from awspatterns.cli import main

VALID = """
title = "T"
summary = "S"
services = ["S3"]
tags = ["t"]
level = "beginner"
stacks = ["Stack"]
scenario = "does things"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-pattern" / "pattern.toml"
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_valid_file_parses_with_slug_from_folder(tmp_path):
    pattern = parse_pattern(write(tmp_path, VALID))
    assert pattern.slug == "my-pattern"
    assert pattern.services == ("S3",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID + 'colour = "blue"\n', "unknown key(s) colour"),
        (VALID.replace('level = "beginner"\n', ""), "missing field(s) level"),
        (VALID.replace('level = "beginner"', 'level = "expert"'), "'level' must be one of"),
        (VALID.replace('services = ["S3"]', 'services = ["S4"]'), "unknown service(s) S4"),
        (VALID.replace('services = ["S3"]', 'services = "S3"'), "'services' must be a non-empty list"),
        (VALID.replace('title = "T"', "title = 3"), "'title' must be a non-empty string"),
        (VALID.replace('tags = ["t"]', "tags = []"), "'tags' must be a non-empty list"),
        ("title = ", "not valid TOML"),
    ],
)
def test_schema_errors_name_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CatalogError) as error:
        parse_pattern(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_every_committed_pattern_is_valid():
    slugs = [p.slug for p in load_catalog()]
    assert "s3-fanout" in slugs
    assert slugs == sorted(slugs)


def test_unknown_slug_lists_known_ones():
    with pytest.raises(CatalogError, match=r"known patterns: .*s3-fanout"):
        get_pattern("no-such-pattern")


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {p["slug"] for p in listed} == {p.slug for p in load_catalog()}
    fanout = next(p for p in listed if p["slug"] == "s3-fanout")
    assert fanout["stacks"] == ["S3Fanout"]


def test_cli_reports_errors_without_traceback(capsys):
    assert main(["synth", "no-such-pattern"]) == 2
    assert "patterns: error: no pattern 'no-such-pattern'" in capsys.readouterr().err


def test_group_is_optional_and_derived_from_services_and_tags(tmp_path):
    assert parse_pattern(write(tmp_path, VALID)).group == "s3"
    assert default_group("api-x", ("API Gateway", "Lambda"), ("auth",)) == "api"
    assert default_group("shared-config", ("SSM", "VPC"), ("infrastructure",)) == "deployment"
    assert default_group("retries", ("Lambda", "SQS"), ("retries",)) == "queues-and-pipelines"


def test_an_explicit_group_wins_and_must_be_known(tmp_path):
    assert parse_pattern(write(tmp_path, VALID + 'group = "deployment"\n')).group == "deployment"
    (tmp_path / "my-pattern" / "pattern.toml").write_text(VALID + 'group = "misc"\n')
    with pytest.raises(CatalogError, match="'group' must be one of api, s3"):
        parse_pattern(tmp_path / "my-pattern" / "pattern.toml")


def test_every_group_of_the_catalog_is_a_known_section():
    assert {p.group for p in load_catalog()} <= set(GROUPS)
