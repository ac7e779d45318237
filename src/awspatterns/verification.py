"""When each pattern was last proven to work: the end-to-end run that covered its current files.

A pattern's *files* are exactly its own: ``examples/<slug>/``, ``diagrams/<slug>.py`` and its tests
(``tests/examples/test_<name>.py``, ``tests/e2e/test_<name>_e2e.py``). Their SHA-256 keys the record in
``docs/verified/<slug>.json`` (one file per pattern, so patterns never touch each other's record). A passing
end-to-end test writes it; a test of the catalog fails when a pattern's files no longer match their record, so a
page can never show a stale "verified" line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from awspatterns import REPO_ROOT
from awspatterns.catalog import Pattern
from awspatterns.files import write_text_atomically

__all__ = [
    "LOCAL_CHANGES",
    "VERIFIED_DIR",
    "Verification",
    "files_hash",
    "load_verification",
    "pattern_files",
    "record_verification",
]

VERIFIED_DIR = REPO_ROOT / "docs" / "verified"
#: Generated or cached files inside a pattern's folder that are not part of it.
_IGNORED_PARTS = frozenset({"__pycache__", "cdk.out", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


@dataclass(frozen=True)
class Verification:
    """One recorded end-to-end verification of a pattern's files."""

    slug: str
    files_sha256: str
    date: str
    commit: str
    target: str
    tests: tuple[str, ...]

    @property
    def day(self) -> str:
        """The date of the run, without the time."""
        return self.date[:10]

    def is_current(self, pattern: Pattern, root: Path = REPO_ROOT) -> bool:
        """Whether the pattern's files are still those this run verified."""
        return self.files_sha256 == files_hash(pattern, root)

    def describe(self) -> str:
        """One line for the page: date, commit and target."""
        return f"{self.day}, commit {self.commit}, target {self.target}"


def _shared_code(example: Path, root: Path) -> list[Path]:
    """The files of the shared handler packages (``awspatterns.shared_handlers``) the example's handlers import:
    they ship in its functions, so a change there is a change to the pattern."""
    shared = root / "src" / "awspatterns" / "shared_handlers"
    packages = (
        [folder for folder in sorted(shared.iterdir()) if (folder / "__init__.py").is_file()] if shared.is_dir() else []
    )
    code = "\n".join(path.read_text(encoding="utf-8") for path in (example / "handlers").rglob("*.py"))
    return [
        path
        for package in packages
        if re.search(rf"^\s*(?:from|import)\s+{package.name}\b", code, flags=re.MULTILINE)
        for path in package.rglob("*")
        if path.is_file()
    ]


def pattern_files(pattern: Pattern, root: Path = REPO_ROOT) -> list[Path]:
    """The files a verification of ``pattern`` covers, relative to ``root``, sorted: the example, its diagram, its
    tests, and the shared handler code its functions ship."""
    name = pattern.slug.replace("-", "_")
    example = root / "examples" / pattern.slug
    candidates = [
        *(p for p in example.rglob("*") if p.is_file()),
        *_shared_code(example, root),
        root / "diagrams" / f"{pattern.slug}.py",
        root / "tests" / "examples" / f"test_{name}.py",
        root / "tests" / "e2e" / f"test_{name}_e2e.py",
    ]
    return sorted(
        path.relative_to(root)
        for path in candidates
        if path.is_file() and not _IGNORED_PARTS & set(path.parts) and path.suffix != ".pyc"
    )


def files_hash(pattern: Pattern, root: Path = REPO_ROOT) -> str:
    """SHA-256 over the pattern's files: each relative path and content, in path order."""
    digest = hashlib.sha256()
    for relative in pattern_files(pattern, root):
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()


def load_verification(slug: str, directory: Path = VERIFIED_DIR) -> Verification | None:
    """The recorded verification of ``slug``, or ``None`` if it was never verified."""
    path = directory / f"{slug}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Verification(**{**data, "tests": tuple(data["tests"])})


#: Appended to the commit when the verified files differ from that commit's (the run tested local changes).
LOCAL_CHANGES = "+local-changes"


def _commit(pattern: Pattern, root: Path) -> str:
    """HEAD, marked when the pattern's files differ from it (then no commit holds exactly what was verified)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        files = [str(p) for p in pattern_files(pattern, root)]
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", *files], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (LOCAL_CHANGES if status.stdout.strip() else "")


def record_verification(
    pattern: Pattern, target: str, test: str, root: Path = REPO_ROOT, directory: Path = VERIFIED_DIR
) -> Verification:
    """Record that ``test`` passed end to end against ``target`` with the pattern's current files.

    A record of the same files and target keeps its date and commit and only gains the test's name: re-running
    unchanged code proves nothing new and should not dirty the working tree. The exception is a record made
    before those files were committed: the next run names the commit that holds them.
    """
    sha = files_hash(pattern, root)
    existing = load_verification(pattern.slug, directory)
    unchanged = existing is not None and (existing.files_sha256, existing.target) == (sha, target)
    if existing is not None and unchanged and not existing.commit.endswith(LOCAL_CHANGES):
        if test in existing.tests:
            return existing
        verification = Verification(**{**asdict(existing), "tests": tuple(sorted({*existing.tests, test}))})
    else:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        verification = Verification(pattern.slug, sha, now, _commit(pattern, root), target, (test,))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{pattern.slug}.json"
    write_text_atomically(path, json.dumps(asdict(verification), indent=2) + "\n")
    return verification
