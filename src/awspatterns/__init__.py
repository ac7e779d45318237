"""AWS Serverless Patterns: the catalog library, the ``patterns`` CLI and the local sandbox account."""

from pathlib import Path

__all__ = ["ASSEMBLIES_DIR", "REPO_ROOT"]

__version__ = "0.1.0"

#: Root of the repository checkout (the library is used from a checkout: examples, docs and diagrams live there).
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Where ``patterns synth`` writes each example's cloud assembly (``cdk.out/<slug>/``).
ASSEMBLIES_DIR = REPO_ROOT / "cdk.out"
