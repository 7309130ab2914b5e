"""``constraints.txt`` (the lock) and ``.ci/check_lock.py``, the CI check against it."""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "constraints.txt"


def _check_lock():
    spec = importlib.util.spec_from_file_location("check_lock", REPO / ".ci" / "check_lock.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_lock", module)
    spec.loader.exec_module(module)
    return module


check_lock = _check_lock()


def test_lock_pins_every_declared_dependency_and_narwhals() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    pins = check_lock.read_lock(LOCK)
    for text in declared:
        requirement = Requirement(text)
        name = check_lock.canonical(requirement.name)
        assert name in pins, f"{name} missing from constraints.txt"
        assert requirement.specifier.contains(pins[name]), (text, pins[name])
    assert "narwhals" in pins and pins["torch"] == "2.13.0" and "polygym" not in pins
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.]*", version) for version in pins.values())


def test_check_lock_reports_missing_and_other_versions(tmp_path) -> None:
    installed = {check_lock.canonical(d.metadata["Name"]): d.version for d in distributions()}
    installed = {k: v for k, v in installed.items() if k not in check_lock.IGNORED}
    assert check_lock.problems(installed) == []
    numpy_version = installed.pop("numpy")
    installed["packaging"] = "0.0.1"
    found = check_lock.problems(installed)
    assert f"numpy=={numpy_version} is installed but missing from the lock" in found
    assert any(line.startswith("packaging==") and "lock has 0.0.1" in line for line in found)
    bad = tmp_path / "lock.txt"
    bad.write_text("numpy>=1\n")
    with pytest.raises(SystemExit, match="lock.txt:1"):
        check_lock.read_lock(bad)
