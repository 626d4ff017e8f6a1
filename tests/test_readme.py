"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.rst"


def _python_blocks(text):
    blocks = []
    for match in re.finditer(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text):
        lines = [line[4:] for line in match.group(1).splitlines()]
        blocks.append("\n".join(lines))
    return blocks


def test_readme_has_the_three_uses_and_two_quick_start_commands():
    text = README.read_text()
    assert "make_pipeline" in text and "GridSearchCV" in text and "joblib.dump" in text
    quick = text.split("Quick start")[1].split("Three uses")[0]
    commands = re.findall(r"^    (python3 -m venv .*)$", quick, flags=re.M)
    assert len(commands) == 2
    assert commands[0].endswith("-m gmm_estimators")
    assert commands[1].endswith("-m pytest")


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example writes a joblib file
    namespace = {}
    blocks = _python_blocks(README.read_text())
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "wine_gmm.joblib").exists()
    assert namespace["Z"].shape == (178, 9)
    assert 1 <= namespace["selector"].n_components_ <= 6


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
