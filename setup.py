"""The package list, found rather than written out (everything else is in pyproject.toml).

The repository root is the ``latentjam`` package (``package-dir`` in pyproject.toml), so every
folder under it with an ``__init__.py`` is ``latentjam.<its dotted path>``; pyproject.toml
alone cannot put that prefix on what setuptools finds. tests/ and benchmarks/ stay out, and
so does this file (a module of the root package by its place, though no part of it).
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
NOT_SHIPPED = ("tests", "benchmarks", "docs", "build", "dist")


class BuildPy(build_py):
    def find_package_modules(self, package, package_dir):
        # distutils leaves out the setup script only when it is sys.argv[0], which under a
        # PEP 517 build it is not (the build frontend's hook script is)
        return [(pkg, module, path) for pkg, module, path
                in super().find_package_modules(package, package_dir)
                if (pkg, module) != ("latentjam", "setup")]


setup(
    packages=["latentjam", *(
        f"latentjam.{name}" for name in
        find_packages(str(ROOT), exclude=[p for n in NOT_SHIPPED for p in (n, f"{n}.*")])
    )],
    cmdclass={"build_py": BuildPy},
)
