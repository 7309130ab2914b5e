"""Check the running environment against ``constraints.txt`` (CI runs it after installing).

    python .ci/check_lock.py [LOCK]

Fails (exit 1, one line per problem) when a distribution installed in this environment
is missing from the lock or installed at another version. pip, setuptools, wheel (the
installer's own tools) and polygym itself are not checked. Regenerate the lock with
``python .ci/update_lock.py``.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
IGNORED = {"pip", "setuptools", "wheel", "polygym"}


def canonical(name: str) -> str:
    """PEP 503 normalised name (``Sb3_Contrib`` -> ``sb3-contrib``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of the ``name==version`` lines of a lock file."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise SystemExit(f"error: {path}:{number}: not 'name==version': {raw!r}")
        pins[canonical(name.strip())] = version.strip()
    return pins


def problems(pins: dict[str, str]) -> list[str]:
    """One line per installed distribution that is not in ``pins`` at its version."""
    found = []
    seen = set()
    for dist in distributions():
        name = canonical(dist.metadata["Name"] or "")
        if not name or name in IGNORED or name in seen:
            continue
        seen.add(name)
        version = dist.version
        if name not in pins:
            found.append(f"{name}=={version} is installed but missing from the lock")
        elif not SpecifierSet(f"=={pins[name]}").contains(version, prereleases=True):
            found.append(f"{name}=={version} is installed but the lock has {pins[name]}")
    return sorted(found)


HINT = (
    "a new dependency: add it to pyproject.toml and run python .ci/update_lock.py; "
    "not one of polygym's: install into a clean venv with pip install -c constraints.txt"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    lock = Path(args[0]) if args else ROOT / "constraints.txt"
    found = problems(read_lock(lock))
    for line in found:
        print(f"error: {line} ({lock.name})", file=sys.stderr)
    if found:
        print(f"({HINT})", file=sys.stderr)
    else:
        print(f"lock ok: every installed distribution is pinned in {lock.name}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
