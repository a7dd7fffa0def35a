"""What `pip install .` ships: every data file the code reads at run time must be package data,
or the installed `nps demo` fails where the source checkout works."""

import fnmatch
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("connectors", "nps_engine", "jobs", "sandbox")


def test_every_data_file_in_the_packages_is_shipped() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    left_out = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file()
        and path.suffix not in {".py", ".pyc"}
        and "__pycache__" not in path.parts
        and not any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    ]
    assert left_out == []


def test_readme_installs_from_the_repository_until_nps_loop_is_on_pypi() -> None:
    """`pip install 'nps-loop[postgres]'` fails on a fresh machine: every install command of the
    README installs the checkout (`.`) or a wheel built from it."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"pip install ([^`\n]+)", readme)
    assert commands
    for arguments in commands:
        words = arguments.split("#")[0].split("&&")[0].split()
        targets = [a.strip("'\"") for a in words if not a.startswith("-")]
        assert targets, arguments
        for target in targets:
            assert target.startswith((".", "dist/", "psycopg")), arguments
