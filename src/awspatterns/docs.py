"""HTML and Markdown generated for the documentation site from the catalog (used by ``docs/hooks.py``)."""

from __future__ import annotations

import html
from collections.abc import Mapping

from awspatterns.catalog import GROUPS, LEVELS, Pattern
from awspatterns.verification import Verification

__all__ = ["catalog_cards", "catalog_table", "run_panel", "verified_line"]


def catalog_table(patterns: list[Pattern], link_prefix: str = "patterns/") -> str:
    """A Markdown table of the catalog: title (linked), summary, services, level."""
    rows = ["| Pattern | What it shows | Services | Level |", "|---|---|---|---|"]
    for pattern in patterns:
        services = ", ".join(pattern.services)
        rows.append(
            f"| [{pattern.title}]({link_prefix}{pattern.slug}.md) | {pattern.summary} | {services} | {pattern.level} |"
        )
    return "\n".join(rows)


def _status(pattern: Pattern, verification: Verification | None) -> tuple[str, str]:
    """The verification status of a pattern: a CSS modifier and the text shown."""
    if verification is None:
        return "never", "Not verified end to end yet"
    if not verification.is_current(pattern):
        return "stale", "Changed since its last verification"
    return "current", f"Verified {verification.day} ({verification.target.split(' ')[0]})"


def _options(name: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)
    return (
        f'<label class="catalog-filter"><span>{label}</span>'
        f'<select name="{name}" data-filter="{name}"><option value="">Any</option>{options}</select></label>'
    )


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _card(pattern: Pattern, verification: Verification | None, base: str) -> str:
    e = html.escape
    status, status_text = _status(pattern, verification)
    services = "".join(f"<li>{e(s)}</li>" for s in pattern.services)
    return (
        f'<li class="catalog-card" data-slug="{e(pattern.slug)}" data-services="{e("|".join(pattern.services))}" '
        f'data-tags="{e("|".join(pattern.tags))}" data-level="{e(pattern.level)}">'
        f'<a class="catalog-card__thumb" href="{base}patterns/{e(pattern.slug)}/" tabindex="-1" aria-hidden="true">'
        f'<img src="{base}assets/diagrams/{e(pattern.slug)}.svg" alt="" loading="lazy" decoding="async"></a>'
        f'<div class="catalog-card__body">'
        f'<h4 class="catalog-card__heading"><a class="catalog-card__title" href="{base}patterns/{e(pattern.slug)}/">'
        f"{_text(pattern.title)}</a></h4>"
        f'<p class="catalog-card__summary">{_text(pattern.summary)}</p>'
        f'<ul class="catalog-card__services" aria-label="Services">{services}</ul>'
        f'<p class="catalog-card__meta"><span class="catalog-level catalog-level--{e(pattern.level)}">'
        f"{e(pattern.level)}</span>"
        f'<span class="catalog-status catalog-status--{status}">{e(status_text)}</span></p>'
        f"</div></li>"
    )


def catalog_cards(patterns: list[Pattern], verifications: Mapping[str, Verification | None], base: str = "") -> str:
    """The home page's catalog: filters (service, tag, level) and one card per pattern, grouped by section.

    ``base`` is the relative path from the page to the site root. The filters work in the browser without a
    reload (``assets/catalog.js``) and keep their state in the URL's query string.
    """
    services = sorted({s for p in patterns for s in p.services})
    tags = sorted({t for p in patterns for t in p.tags})
    levels = [level for level in LEVELS if any(p.level == level for p in patterns)]
    parts = [
        '<form class="catalog-filters" role="search" aria-label="Filter the catalog" data-catalog-filters>',
        _options("service", "AWS service", services),
        _options("tag", "Tag", tags),
        _options("level", "Level", levels),
        '<button type="reset" class="md-button catalog-filters__reset">Clear filters</button>',
        f'<p class="catalog-filters__count" aria-live="polite" data-catalog-count>{len(patterns)} patterns</p>',
        "</form>",
    ]
    for group, heading in GROUPS.items():
        members = [p for p in patterns if p.group == group]
        if not members:
            continue
        cards = "".join(_card(p, verifications.get(p.slug), base) for p in members)
        parts.append(
            f'<section class="catalog-group" data-group="{group}" aria-labelledby="group-{group}">'
            f'<h3 id="group-{group}">{html.escape(heading)}</h3><ul class="catalog-cards">{cards}</ul></section>'
        )
    parts.append('<p class="catalog-empty" data-catalog-empty hidden>No pattern matches these filters.</p>')
    return "\n".join(parts)


def verified_line(pattern: Pattern, verification: Verification | None) -> str:
    """The "last verified" line of a pattern page, true for the files the page embeds."""
    status, text = _status(pattern, verification)
    if status == "current" and verification is not None:
        text = (
            f"Last verified end to end: {verification.describe()} "
            f"({len(verification.tests)} test{'s' if len(verification.tests) != 1 else ''} passed)."
        )
    elif status == "stale":
        text = "Last verified: never for the current files (they changed after the last end-to-end run)."
    else:
        text = "Last verified: never (no end-to-end run has been recorded for this pattern)."
    return f'<p class="pattern-verified pattern-verified--{status}">{html.escape(text)}</p>'


def run_panel(pattern: Pattern) -> str:
    """The "Run it" panel (Markdown with HTML): the exact commands for the sandbox and a real account, with copy
    buttons; with the companion of ``make serve``, buttons that run them and stream the output into the page."""
    slug = pattern.slug
    buttons = "".join(
        f'<button type="button" class="md-button{" md-button--primary" if command == "run" else ""}" '
        f'data-command="{command}">{label}</button>'
        for command, label in (("deploy", "Deploy"), ("run", "Run"), ("destroy", "Destroy"))
    )
    return f"""<div class="run-panel" data-run-panel data-slug="{slug}" markdown>

In the local sandbox (no AWS account, no Docker):

```bash
patterns sandbox start
patterns run {slug}
patterns destroy {slug}
```

In your AWS account (AWS CLI credentials, `cdk bootstrap` done):

```bash
patterns run {slug} --target aws
patterns destroy {slug} --target aws
```

<div class="run-panel__live" data-run-live hidden>
<p class="run-panel__intro">Served by <code>make serve</code>: run it here, in the local sandbox.</p>
<div class="run-panel__buttons">{buttons}</div>
<progress hidden aria-label="Command running"></progress>
<p class="run-panel__status" data-run-status role="status"></p>
<p class="run-panel__error" data-run-error role="alert" hidden></p>
<pre class="run-panel__output" data-run-output role="log" aria-label="Output of the command" tabindex="0"></pre>
</div>
</div>
"""
