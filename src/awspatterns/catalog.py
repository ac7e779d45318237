"""The pattern catalog: every ``examples/<slug>/pattern.toml``, validated against one schema."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from awspatterns import REPO_ROOT
from awspatterns.errors import PatternsError
from awspatterns.services import SERVICES

__all__ = [
    "EXAMPLES_DIR",
    "GROUPS",
    "LEVELS",
    "CatalogError",
    "Pattern",
    "default_group",
    "get_pattern",
    "load_catalog",
    "parse_pattern",
]

EXAMPLES_DIR = REPO_ROOT / "examples"
LEVELS = ("beginner", "intermediate", "advanced")
#: The catalog's sections, in page order: group id -> heading (as the original catalog grouped its patterns).
GROUPS: dict[str, str] = {
    "api": "API",
    "s3": "S3",
    "queues-and-pipelines": "Queues and pipelines",
    "deployment": "Deployment",
}
_DEPLOYMENT_TAGS = frozenset(
    {"deployment", "infrastructure", "configuration", "parameters", "parameter-store", "ssm", "networking", "vpc"}
)


class CatalogError(PatternsError):
    """A ``pattern.toml`` does not match the schema; the message names the file and the field."""


@dataclass(frozen=True)
class Pattern:
    """One catalog entry, as declared in ``examples/<slug>/pattern.toml``."""

    slug: str
    title: str
    summary: str
    services: tuple[str, ...]
    tags: tuple[str, ...]
    level: str
    stacks: tuple[str, ...]
    scenario: str
    group: str = "queues-and-pipelines"

    @property
    def directory(self) -> Path:
        """The example's folder (a standalone CDK app)."""
        return EXAMPLES_DIR / self.slug

    @property
    def page(self) -> Path:
        """The pattern's documentation page."""
        return REPO_ROOT / "docs" / "patterns" / f"{self.slug}.md"

    @property
    def diagram_source(self) -> Path:
        """The diagram-as-code script."""
        return REPO_ROOT / "diagrams" / f"{self.slug}.py"

    @property
    def diagram(self) -> Path:
        """The rendered diagram that the page shows."""
        return REPO_ROOT / "docs" / "assets" / "diagrams" / f"{self.slug}.svg"

    def to_json(self) -> dict[str, object]:
        """A JSON-ready view, as printed by ``patterns list --json``."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


_STRING_FIELDS = ("title", "summary", "level", "scenario")
_LIST_FIELDS = ("services", "tags", "stacks")
_OPTIONAL_FIELDS = ("group",)


def default_group(slug: str, services: tuple[str, ...], tags: tuple[str, ...]) -> str:
    """The catalog section of a pattern whose ``pattern.toml`` names none.

    An API Gateway front door makes an API pattern; an S3 pattern starts with a bucket; shared infrastructure and
    account wiring is deployment; the rest moves messages: queues and pipelines.
    """
    if "API Gateway" in services or "api" in tags:
        return "api"
    if slug.startswith("s3-") or (services and services[0] == "S3"):
        return "s3"
    if _DEPLOYMENT_TAGS & set(tags):
        return "deployment"
    return "queues-and-pipelines"


def parse_pattern(path: Path) -> Pattern:
    """Read and validate one ``pattern.toml``.

    Raises:
        CatalogError: the file is not TOML, has unknown keys, misses a field, or a value has the wrong type.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path}: not valid TOML: {error}") from error
    expected = set(_STRING_FIELDS) | set(_LIST_FIELDS)
    allowed = expected | set(_OPTIONAL_FIELDS)
    if unknown := sorted(set(data) - allowed):
        raise CatalogError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    if missing := sorted(expected - set(data)):
        raise CatalogError(f"{path}: missing field(s) {', '.join(missing)}")
    for name in _STRING_FIELDS:
        if not isinstance(data[name], str) or not data[name].strip():
            raise CatalogError(f"{path}: field {name!r} must be a non-empty string")
    for name in _LIST_FIELDS:
        value = data[name]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise CatalogError(f"{path}: field {name!r} must be a non-empty list of strings")
    if data["level"] not in LEVELS:
        raise CatalogError(f"{path}: field 'level' must be one of {', '.join(LEVELS)}, not {data['level']!r}")
    if unknown_services := sorted(set(data["services"]) - set(SERVICES)):
        raise CatalogError(f"{path}: unknown service(s) {', '.join(unknown_services)}; known: {', '.join(SERVICES)}")
    services, tags = tuple(data["services"]), tuple(data["tags"])
    group = data.get("group", default_group(path.parent.name, services, tags))
    if group not in GROUPS:
        raise CatalogError(f"{path}: field 'group' must be one of {', '.join(GROUPS)}, not {group!r}")
    return Pattern(
        slug=path.parent.name,
        title=data["title"].strip(),
        summary=data["summary"].strip(),
        services=services,
        tags=tags,
        level=data["level"],
        stacks=tuple(data["stacks"]),
        scenario=data["scenario"].strip(),
        group=group,
    )


def load_catalog(examples_dir: Path = EXAMPLES_DIR) -> list[Pattern]:
    """Every pattern under ``examples_dir``, sorted by slug."""
    return [parse_pattern(path) for path in sorted(examples_dir.glob("*/pattern.toml"))]


def get_pattern(slug: str, examples_dir: Path = EXAMPLES_DIR) -> Pattern:
    """The pattern called ``slug``.

    Raises:
        CatalogError: no such pattern (the message lists the known ones).
    """
    path = examples_dir / slug / "pattern.toml"
    if not path.is_file():
        known = ", ".join(p.slug for p in load_catalog(examples_dir)) or "none"
        raise CatalogError(f"no pattern {slug!r}; known patterns: {known}")
    return parse_pattern(path)
