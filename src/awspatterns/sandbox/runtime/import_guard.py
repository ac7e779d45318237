"""Inside a worker: a function imports only what Lambda would give it (standard library only, like ``worker.py``).

Lambda's Python runtime puts the function's code, its layers and the runtime's own packages on the import path; the
sandbox's interpreter has many more packages installed. :func:`install` puts a finder first on ``sys.meta_path``
that refuses any top-level module the interpreter would load from its own paths (site-packages, editable installs)
unless the runtime allows it (``import_policy.allowed_modules``), and drops such modules the worker imported for its
own use from ``sys.modules``, so they do not leak to the function. Whatever the function brings (its code, its
layers, paths it adds to ``sys.path`` itself) and the standard library are never refused. A refused import raises
``ModuleNotFoundError: No module named 'x'``, as in Lambda, with the reason added.

``worker.py`` loads this file by path (the worker runs with ``-I``, so its folder is not on ``sys.path``).
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Iterable, Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType

__all__ = ["ImportGuard", "install"]


def _standard(name: str) -> bool:
    return name in sys.stdlib_module_names or name in sys.builtin_module_names or name == "__main__"


class ImportGuard(MetaPathFinder):
    """Refuses top-level modules that only the sandbox's interpreter has."""

    def __init__(self, allowed: Iterable[str], interpreter_paths: Iterable[str], runtime: str) -> None:
        self.allowed = frozenset(allowed)
        #: The import path entries the interpreter itself brought (site-packages, the standard library...).
        self.interpreter_paths = frozenset(interpreter_paths)
        #: Those of the standard library, which also holds modules ``sys.stdlib_module_names`` does not list
        #: (``_sysconfigdata_*``, which ``sysconfig`` imports on demand).
        self.standard_paths = [entry for entry in self.interpreter_paths if _is_standard_path(entry)]
        self.runtime = runtime

    def permits(self, name: str) -> bool:
        """Whether a top-level module of this name may come from the interpreter's own paths."""
        return name in self.allowed or _standard(name)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if "." in fullname or self.permits(fullname):  # a submodule's parent was already let through
            return None
        own = [entry for entry in sys.path if entry not in self.interpreter_paths]
        spec = PathFinder.find_spec(fullname, own)
        if spec is not None:  # the function's code or layers, or a path the function added
            return spec
        if PathFinder.find_spec(fullname, self.standard_paths) is not None:
            return None
        if not any(_finds(finder, fullname) for finder in sys.meta_path if finder is not self):
            return None  # nowhere: the import system reports it as usual
        raise ModuleNotFoundError(
            f"No module named '{fullname}' (the sandbox's Python has it installed, but Lambda's {self.runtime} "
            "runtime provides only the standard library and the AWS SDK for Python (boto3): package it with the "
            "function or in a layer)",
            name=fullname,
        )


def _is_standard_path(entry: str) -> bool:
    roots = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
    inside = any(entry == root or entry.startswith(root + "/") for root in roots)
    return (inside or entry.endswith(".zip")) and "site-packages" not in entry


def _finds(finder: object, name: str) -> bool:
    find_spec = getattr(finder, "find_spec", None)
    try:
        return find_spec is not None and find_spec(name, None) is not None
    except (ImportError, ValueError):
        return False


def install(allowed: Iterable[str], own_paths: Iterable[str], runtime: str) -> ImportGuard:
    """Guard every later import of this process; ``own_paths`` are the function's code and layer folders."""
    own = set(own_paths)
    guard = ImportGuard(allowed, [entry for entry in sys.path if entry not in own], runtime)
    sys.meta_path.insert(0, guard)
    for name in [name for name in sys.modules if not guard.permits(name.partition(".")[0])]:
        del sys.modules[name]
    return guard
