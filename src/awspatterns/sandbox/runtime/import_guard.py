"""Inside a worker: a function imports only what Lambda would give it (standard library only, like ``worker.py``).

Lambda's Python runtime puts the function's code, its layers and the runtime's own packages on the import path; the
sandbox's interpreter has many more packages installed. :func:`install` takes the interpreter's own package folders
(site-packages, editable installs) off ``sys.path`` and puts them behind a finder that finds only the top-level
packages the runtime allows (``import_policy.allowed_modules``); it drops from ``sys.modules`` what the worker
imported for its own use that the function could not import. Anything else is simply not there, as in Lambda:
``import jwt`` raises ``ModuleNotFoundError: No module named 'jwt'`` and ``importlib.util.find_spec("jwt")`` is
``None``. :func:`why_missing` tells the worker when such a module is one the sandbox has installed, so that an init
error can say so. Whatever the function brings (its code, its layers, paths it adds to ``sys.path``) and the
standard library are never hidden, except the standard-library modules that the function's runtime version no
longer has (``distutils`` on python3.12 and later, ...): those are refused, with the reason.

Loading a file by its path (``spec_from_file_location``) or reading installed distributions' metadata is not
guarded: a function that does that on purpose gets what the sandbox's interpreter has.

``worker.py`` loads this file by path (the worker runs with ``-I``, so its folder is not on ``sys.path``).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType

__all__ = ["REMOVED_FROM_STANDARD_LIBRARY", "AllowedPackages", "RemovedModules", "install", "removed_modules"]

#: Standard-library modules removed by a Python release (PEP 594 and earlier deprecations), by that release.
REMOVED_FROM_STANDARD_LIBRARY: dict[tuple[int, int], frozenset[str]] = {
    (3, 12): frozenset({"asynchat", "asyncore", "distutils", "imp", "smtpd"}),
    (3, 13): frozenset(
        {
            "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "lib2to3", "mailcap", "msilib", "nis",
            "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib",
        }
    ),
}  # fmt: skip


def _standard(name: str) -> bool:
    return name in sys.stdlib_module_names or name in sys.builtin_module_names or name == "__main__"


def _version(runtime: str) -> tuple[int, int] | None:
    """``(3, 14)`` for ``python3.14``; ``None`` for anything else."""
    major, _, minor = runtime.removeprefix("python").partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def removed_modules(runtime: str, local: tuple[int, int] = sys.version_info[:2]) -> dict[str, tuple[int, int]]:
    """The standard-library modules the local Python has and the ``runtime``'s Python (``python3.14``) no longer
    has, each with the release that removed it."""
    target = _version(runtime)
    if target is None:
        return {}
    return {
        name: release
        for release, names in REMOVED_FROM_STANDARD_LIBRARY.items()
        if local < release <= target
        for name in names
    }


class AllowedPackages(MetaPathFinder):
    """Finds, in the interpreter's own package folders (taken off ``sys.path``), the allowed top-level packages
    only; their submodules then load through their package's ``__path__`` as usual."""

    def __init__(self, allowed: Iterable[str], package_paths: Sequence[str]) -> None:
        self.allowed = frozenset(allowed)
        self.package_paths = list(package_paths)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if "." in fullname or fullname not in self.allowed:
            return None
        return PathFinder.find_spec(fullname, self.package_paths)

    def installed(self, name: str) -> bool:
        """Whether the sandbox's interpreter has a top-level module of this name (allowed or not)."""
        return PathFinder.find_spec(name, self.package_paths) is not None


class RemovedModules(MetaPathFinder):
    """Refuses the standard-library modules that the function's runtime version no longer has."""

    def __init__(self, removed: dict[str, tuple[int, int]], runtime: str) -> None:
        self.removed, self.runtime = removed, runtime

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        release = self.removed.get(fullname.partition(".")[0])
        if release is None:
            return None
        raise ModuleNotFoundError(
            f"No module named '{fullname}' (removed from the standard library in Python {release[0]}.{release[1]}: "
            f"Lambda's {self.runtime} runtime does not have it; the sandbox runs the function on Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, which still does)",
            name=fullname,
        )


def _is_standard_path(entry: str) -> bool:
    roots = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
    inside = any(entry == root or entry.startswith(root + "/") for root in roots)
    return (inside or entry.endswith(".zip")) and "site-packages" not in entry


_packages: AllowedPackages | None = None


def install(allowed: Iterable[str], own_paths: Iterable[str], runtime: str) -> AllowedPackages:
    """Guard every later import of this process; ``own_paths`` are the function's code and layer folders."""
    global _packages
    own = {os.path.realpath(entry) for entry in own_paths}
    interpreter = [e for e in sys.path if os.path.realpath(e) not in own and not _is_standard_path(e)]
    sys.path[:] = [entry for entry in sys.path if entry not in interpreter]
    sys.path_importer_cache.clear()
    _packages = AllowedPackages(allowed, interpreter)
    sys.meta_path.append(_packages)
    removed = removed_modules(runtime)
    if removed:
        sys.meta_path.insert(0, RemovedModules(removed, runtime))
    for name in list(sys.modules):
        top = name.partition(".")[0]
        if top in removed or not (top in _packages.allowed or _standard(top)):
            del sys.modules[name]
    return _packages


def why_missing(name: str | None) -> str:
    """For a module the function could not import: the reason, when the sandbox's interpreter has it installed
    (it is hidden because Lambda's runtime would not have it); otherwise nothing."""
    if _packages is None or not name or not _packages.installed(name.partition(".")[0]):
        return ""
    return (
        " (the sandbox's Python has it installed, but Lambda's Python runtime provides only the standard library "
        "and the AWS SDK for Python (boto3): package it with the function or in a layer)"
    )
