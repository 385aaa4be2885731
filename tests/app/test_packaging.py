"""What a fresh machine installs: every dependency bounded above, so that a new resolve gets
the major versions the tests have seen (pytest 9 once broke a test that passed on pytest 8)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


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
    machine = re.compile(rb"/(work|tmp|home|root|Users)/[A-Za-z_.]")  # .pyenv too
    found = [str(p.relative_to(weights)) for p in sorted(weights.glob("*/*"))
             if p.is_file() and machine.search(p.read_bytes()[:1 << 20])]
    assert found == []


# -- The wheel: what `pip install .` installs, read by any tool, not only this checkout --------

ROOT = PYPROJECT.parent
NOT_SHIPPED = ("tests", "benchmarks", "docs")  # folders of the tree the wheel leaves out


def tree_copy(dest: Path) -> Path:
    """The checkout's files (tracked, and new ones git does not ignore) copied to ``dest``:
    a build in the checkout would leave build/ and latentjam.egg-info in it, and a stale
    build/lib from an earlier build would go into the wheel."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=ROOT, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
            "__pycache__", "*.egg-info", "build", "dist", ".*"))
        return dest
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # not one deleted from the work tree but still tracked
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def shipped_tree_files(tree: Path) -> tuple[list[str], list[str]]:
    """The tree's package modules (every .py in a folder that is a package, by a chain of
    __init__.py files from the root) and package data, as the wheel names them."""
    modules, data = [], []
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree)
        if not path.is_file() or rel.parts[0] in NOT_SHIPPED or rel == Path("setup.py") \
                or "__pycache__" in rel.parts:
            continue
        folders = [tree.joinpath(*rel.parts[:i]) for i in range(len(rel.parts))]
        if all((f / "__init__.py").is_file() for f in folders) and path.suffix == ".py":
            modules.append(f"latentjam/{rel.as_posix()}")
    for pattern in ("configs/*.toml", "layouts/*.json", "models/weights/*/*",
                    "controllers/web/static/*"):
        data += [f"latentjam/{p.relative_to(tree).as_posix()}" for p in sorted(tree.glob(pattern))
                 if p.is_file()]
    return modules, data


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel built offline from a copy of the tree, that copy)."""
    import setuptools
    from packaging.requirements import Requirement

    wanted = Requirement(tomllib.loads(PYPROJECT.read_text())["build-system"]["requires"][0])
    if not wanted.specifier.contains(setuptools.__version__):
        pytest.skip(f"building offline needs {wanted} installed (found setuptools "
                    f"{setuptools.__version__}): pip install '{wanted}' (in the dev extra)")
    tree = tree_copy(tmp_path_factory.mktemp("tree"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps",
                    "--no-build-isolation", "--no-index", "--quiet", "-w", str(out)],
                   check=True, cwd=out, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    wheel, = out.glob("latentjam-*.whl")
    return wheel, tree


def test_the_wheel_holds_every_package_the_configs_and_the_weights_and_no_tests(built):
    wheel, tree = built
    names = set(zipfile.ZipFile(wheel).namelist())
    modules, data = shipped_tree_files(tree)
    inits = [m for m in modules if m.endswith("/__init__.py")]
    assert "latentjam/models/personalize/__init__.py" in inits and len(inits) >= 13
    assert "latentjam/configs/live.toml" in data
    assert "latentjam/layouts/open-stage-control.json" in data
    assert {f"latentjam/controllers/web/static/{name}" for name in
            ("index.html", "app.css", "app.js")} <= set(data)  # the control page's files
    assert {"model.safetensors", "manifest.json", "NOTES.md"} <= {
        Path(d).name for d in data if "/weights/" in d}
    assert sorted(set(modules + data) - names) == []
    outside = sorted(n for n in names if n.split("/")[1] in (*NOT_SHIPPED, "setup.py")
                     or n.startswith(("tests/", "benchmarks/")))
    assert outside == []
    dist_info = "latentjam-0.1.0.dist-info"
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: GPL-3.0-or-later" in metadata
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "latentjam = latentjam.app.cli:main" in entry_points


def unpacked_wheel(wheel: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """The wheel unpacked (its folder, a working folder elsewhere, the environment to run it
    in): ``python -S`` keeps site's .pth files (the editable install's finder among them) out,
    the dependencies come from site-packages put after the unpacked wheel on the path."""
    import site

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = os.pathsep.join([str(unpacked), *site.getsitepackages()])
    # COLUMNS: argparse would wrap the help's long path at its hyphens
    env = {**os.environ, "PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "1000"}
    return unpacked, elsewhere, env


def test_the_unpacked_wheel_samples_and_writes_its_example_from_its_own_files(built, tmp_path):
    """The wheel's files alone, outside the checkout."""
    unpacked, elsewhere, env = unpacked_wheel(built[0], tmp_path)

    def latentjam(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
        command = ["-c", code] if code else ["-m", "latentjam", *args]
        return subprocess.run([sys.executable, "-S", *command], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)

    where = latentjam(code="import latentjam, latentjam.models.defaults as d, "
                           "latentjam.app.set_file as c; "
                           "print(latentjam.__file__, d.WEIGHTS_DIR, c.EXAMPLE_SET, sep='\\n')")
    assert where.returncode == 0, where.stderr
    files = [Path(line) for line in where.stdout.split()]
    assert [p.is_relative_to(unpacked) for p in files] == [True] * 3, where.stdout
    assert files[2].is_file()

    sampled = latentjam("sample", "--num", "1", "--seed", "1", "--out", "loops")
    assert sampled.returncode == 0, sampled.stderr
    assert len(list((elsewhere / "loops").glob("*.mid"))) == 1

    helped = latentjam("play", "--help")
    assert helped.returncode == 0, helped.stderr
    text = " ".join(helped.stdout.split())
    assert str(files[2]) in text and "drums (drums, channel 10, walk, humanized)" in text

    written = latentjam("play", "--write-example", "my_set.toml")
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == ("wrote the example set to my_set.toml; edit it, then play "
                                      "it with `latentjam play --config my_set.toml`")
    assert (elsewhere / "my_set.toml").read_bytes() == (ROOT / "configs" / "live.toml").read_bytes()
    (elsewhere / "my_set.toml").write_text("# mine\n")
    again = latentjam("play", "--write-example", "my_set.toml")
    assert (again.returncode, again.stderr.strip()) == (2, (
        "latentjam play: error: --write-example: my_set.toml exists; give a new file's path "
        "(nothing was written)"))
    assert (elsewhere / "my_set.toml").read_text() == "# mine\n"


def test_the_unpacked_wheel_plays_the_default_set_to_a_port(built, tmp_path, jack_server):
    from jack_server import MidiReceiver, wait_for_port

    _, elsewhere, env = unpacked_wheel(built[0], tmp_path)
    port = "lj-wheel"
    args = ["play", "--backend", "jack", "--port", port, "--no-osc", "--bpm", "240", "--bars",
            "4", "--seed", "1"]
    player = subprocess.Popen([sys.executable, "-S", "-m", "latentjam", *args], cwd=elsewhere,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for_port(port)
        with MidiReceiver(port) as rx:
            _, err = player.communicate(timeout=60)
            received = rx.stop(linger_s=0.2)
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    assert player.returncode == 0, err
    channels = {data[0] & 0x0F for _, data in received
                if data[0] & 0xF0 == 0x90 and len(data) == 3 and data[2]}
    assert channels == {0, 9}, err  # the default set: melody on channel 1, drums on 10
    assert "control page: http://127.0.0.1:" in err  # its files read from the wheel
