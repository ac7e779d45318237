"""``patterns new SLUG``: every file a pattern needs, from one template, so the layout test passes before any
real code is written.

The template is ``scaffold/template/``: paths and contents use ``$slug``, ``$module`` (the slug as a Python
name), ``$title``, ``$construct`` and ``$stack`` (``string.Template``; ``$$`` is a dollar sign). ``cdk.json``
is written from the feature flags the pinned aws-cdk-lib recommends, as every example's is. The diagram is
rendered at once, so the page shows it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template

from awspatterns import REPO_ROOT
from awspatterns.errors import PatternsError

__all__ = ["TEMPLATE_DIR", "ScaffoldError", "scaffold", "template_values"]

TEMPLATE_DIR = Path(__file__).parent / "template"
_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class ScaffoldError(PatternsError):
    """The slug is not valid, or a file it would create exists already."""


def template_values(slug: str) -> dict[str, str]:
    """What the template's placeholders become for ``slug``."""
    if not _SLUG.match(slug) or len(slug) > 40:
        raise ScaffoldError(f"{slug!r} is not a slug: lower-case words joined by hyphens, e.g. 'api-async-sqs'")
    words = slug.split("-")
    construct = "".join(w.upper() if w in ("s3", "api", "sqs", "sns", "dlq") else w.capitalize() for w in words)
    return {
        "slug": slug,
        "module": slug.replace("-", "_"),
        "title": " ".join(words).capitalize(),
        "construct": construct,
        "stack": construct,
    }


def _cdk_json() -> str:
    from awspatterns.app import recommended_feature_flags

    config = {
        "app": "python3 app.py",
        "watch": {"include": ["**"], "exclude": ["cdk.out", "**/__pycache__"]},
        "context": dict(sorted(recommended_feature_flags().items())),
    }
    return json.dumps(config, indent=2) + "\n"


def scaffold(slug: str, root: Path = REPO_ROOT) -> list[Path]:
    """Create every file of a new pattern ``slug`` under ``root``; return them (relative to ``root``).

    Raises:
        ScaffoldError: an invalid slug, or one of the files exists already (nothing is written then).
    """
    values = template_values(slug)
    planned: dict[Path, str] = {}
    for source in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        target = Template(str(source.relative_to(TEMPLATE_DIR).with_suffix(""))).substitute(values)
        planned[Path(target)] = Template(source.read_text(encoding="utf-8")).substitute(values)
    planned[Path("examples") / slug / "cdk.json"] = _cdk_json()
    if clashes := sorted(str(p) for p in planned if (root / p).exists()):
        raise ScaffoldError(f"pattern {slug!r} exists already: {', '.join(clashes)}")
    for relative, text in planned.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return sorted(planned)
