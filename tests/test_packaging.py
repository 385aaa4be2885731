"""What a fresh machine installs: every dependency bounded above, so that a new resolve gets
the major versions the tests have seen (pytest 9 once broke a test that passed on pytest 8)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def requirements(build: bool = True) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text())
    found = [*project["build-system"]["requires"]] if build else []
    found.extend(project["project"]["dependencies"])
    for extra in project["project"]["optional-dependencies"].values():
        found.extend(extra)
    return found


def test_every_requirement_has_a_lower_and_an_upper_bound():
    unbounded = [r for r in requirements()
                 if not re.search(r">=\s*[\d.]+", r) or not re.search(r"<\s*[\d.]+", r)]
    assert requirements() and unbounded == []


def test_the_installed_versions_lie_within_the_bounds():
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    outside = []
    for text in requirements(build=False):  # the build's own live in its isolated env
        requirement = Requirement(text)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            continue  # an extra not installed here
        if not requirement.specifier.contains(installed, prereleases=True):
            outside.append(f"{requirement.name} {installed} (wants {requirement.specifier})")
    assert outside == []


def test_shipped_weights_name_no_machine_paths():
    weights = PYPROJECT.parent / "models" / "weights"
    machine = re.compile(rb"/(work|tmp|home|root|Users)/[A-Za-z_]")
    found = [str(p.relative_to(weights)) for p in sorted(weights.glob("*/*"))
             if p.is_file() and machine.search(p.read_bytes()[:1 << 20])]
    assert found == []
