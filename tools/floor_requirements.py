"""Print the oldest versions the package declares, as pip requirements.

Reads ``[project] dependencies`` from ``pyproject.toml`` and turns every
lower bound ``name>=X`` into ``name==X``, one per line, so that CI installs
exactly the declared floors together (``.ci/run``)::

    python tools/floor_requirements.py            # numpy==1.23.2 ...
    pip install '.[test]' $(python tools/floor_requirements.py)

A dependency without a lower bound is an error: its floor could not be tested.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import re
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def declared_dependencies(text):
    """The strings of the ``dependencies = [...]`` array of ``[project]``."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: the array is simple enough for a regex
        project = text.split("[project]", 1)[1].split("\n[", 1)[0]
        array = re.search(r"^dependencies\s*=\s*\[(.*?)\]", project, re.M | re.S)
        return re.findall(r"\"([^\"]+)\"", array.group(1))
    return tomllib.loads(text)["project"]["dependencies"]


def floors(dependencies):
    out = []
    for dep in dependencies:
        spec = dep.split(";", 1)[0].replace(" ", "")
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?(.*)", spec)
        name, constraints = match.group(1), match.group(2)
        lower = re.search(r">=([^,]+)", constraints)
        if lower is None:
            raise SystemExit(f"{dep!r} has no lower bound (>=) to test")
        out.append(f"{name}=={lower.group(1)}")
    return out


def main():
    print("\n".join(floors(declared_dependencies(PYPROJECT.read_text()))))


if __name__ == "__main__":
    sys.exit(main())
