"""The lock files: what make test and the image install, pinned with hashes, agreeing."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(lock: str) -> dict[str, tuple[str, list[str]]]:
    """Package -> (version, hashes) of a lock file written by ``make lock``."""
    found: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in (ROOT / lock).read_text().splitlines():
        if pin := PIN.match(line):
            current = canonicalize_name(pin[1])
            found[current] = (pin[2].rstrip(" \\;"), [])
        elif hashed := re.search(r"--hash=(sha256:[0-9a-f]{64})", line):
            found[current][1].append(hashed[1])
    return found


def pyproject() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"runtime": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(spec) for spec in specs] for group, specs in groups.items()}


def test_every_pin_carries_its_hashes() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        locked = pins(lock)
        assert locked
        for name, (_, hashes) in locked.items():
            assert hashes, f"{name} in {lock} has no hash"


def test_the_locks_cover_pyproject_at_its_versions() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    for group, requirements in pyproject().items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            if name == "switchboard":  # the dev extra names the local one
                continue
            for lock_name, locked in (
                ("requirements-dev.lock", dev),
                ("requirements.lock", runtime),
            ):
                if lock_name == "requirements.lock" and group != "runtime":
                    continue
                assert name in locked, f"{name} ({group}) is not in {lock_name}: run make lock"
                assert requirement.specifier.contains(locked[name][0], prereleases=True), (
                    f"{name}: pyproject says {requirement.specifier}, {lock_name} "
                    f"{locked[name][0]}: run make lock"
                )


def test_the_image_installs_what_make_test_installs() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    # Every package of the image is in make test's lock at the same version, same files.
    for name, (version, hashes) in runtime.items():
        assert dev.get(name, ("", []))[0] == version, f"{name}: the locks disagree"
        assert set(hashes) <= set(dev[name][1])
    makefile = (ROOT / "Makefile").read_text()
    stamp = makefile[makefile.index("$(STAMP):") :].split("\n\n", 1)[0]
    assert "pip install --quiet --require-hashes -r requirements-dev.lock" in stamp
    assert "pip install --quiet --no-deps -e ." in stamp
    assert "requirements-dev.lock" in stamp.splitlines()[0]  # a new lock reinstalls
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
