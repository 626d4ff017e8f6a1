"""Sphinx configuration of the gmm_estimators documentation.

Build (warnings are errors), from the repository root::

    python -m sphinx -W -b html doc doc/_build/html

Environment variables:

``GMM_DOCS_NO_GALLERY=1``
    Quick build: the gallery pages are made but the examples are not run
    (sphinx-gallery's ``plot_gallery = False``), so they have no figures or
    output.
``GMM_DOCS_INTERSPHINX=1``
    Link to the numpy, scipy, scikit-learn, matplotlib, joblib and Python
    documentation, downloading their inventories (needs network access).
    Without it the build never touches the network: it uses the inventories
    found in ``doc/_intersphinx/<name>.inv`` (none are shipped) and leaves
    other references to those projects as plain text.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

from threadpoolctl import threadpool_limits  # noqa: E402

import gmm_estimators  # noqa: E402

DOC = Path(__file__).resolve().parent
ROOT = DOC.parent
sys.path.insert(0, str(DOC / "_sphinxext"))


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_GALLERY = _flag("GMM_DOCS_NO_GALLERY")
ONLINE = _flag("GMM_DOCS_INTERSPHINX")

# The examples and the figures of the user guide fit hundreds of small
# mixtures. On small data, BLAS and OpenMP threads cost more than they save,
# and far more when the machine is busy (42 fits of 900 x 2 rows: 0.8 s on
# one thread, 18 s with two threads each on a loaded 2-core machine), so the
# build runs them on one thread. Kept in a variable so that the limits stay.
_THREAD_LIMITS = threadpool_limits(limits=1)

# -- Project -----------------------------------------------------------------------
project = "gmm_estimators"
author = "The gmm_estimators developers"
copyright = "2026, The gmm_estimators developers"
release = gmm_estimators.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "README.rst",
    "generated/*.rst.inc",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"
nitpicky = False

# Figures of the gallery used in the user guide do not exist in a quick build.
suppress_warnings = ["image.not_readable"] if NO_GALLERY else []

# -- autodoc / autosummary / numpydoc -------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- intersphinx (never fails offline) -----------------------------------------------
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "matplotlib": "https://matplotlib.org/stable/",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
}
intersphinx_mapping = {}
for _name, _url in _INVENTORIES.items():
    _local = DOC / "_intersphinx" / f"{_name}.inv"
    if ONLINE:
        intersphinx_mapping[_name] = (
            _url,
            (None, str(_local)) if _local.exists() else None,
        )
    elif _local.exists():
        intersphinx_mapping[_name] = (_url, str(_local))
intersphinx_timeout = 10
# Only API objects are linked; a missing :ref: or :doc: stays an error.
intersphinx_disabled_reftypes = ["std:doc", "std:label"]

# -- sphinx-gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": re.escape(os.sep) + "plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "plot_gallery": not NO_GALLERY,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("gmm_estimators",),
    "exclude_implicit_doc": {r"gmm_estimators\._.*"},
    "log_level": {"backreference_missing": "debug"},
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- matplotlib plot directive (figures in the user guide) ------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.autolayout": True}
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\n"

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"gmm_estimators {release}"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "quickstart": [], "cli": [], "release_notes": []}
# "On this page" lists a class's methods under the class, so show them as
# ``fit()`` rather than ``GaussianMixtureSelector.fit()`` (which did not fit
# the sidebar and wrapped over two lines).
toc_object_entries_show_parents = "hide"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_last_updated_fmt = None


# -- The benchmark tables of the performance page ---------------------------------
def _markdown_table(lines):
    """A Markdown pipe table as an RST list-table, or None if it looks odd."""

    def cells(line):
        line = line.strip()
        line = line[1:] if line.startswith("|") else line
        line = line[:-1] if line.endswith("|") else line
        return [cell.strip() for cell in re.split(r"\s\|\s", f" {line} ")]

    separator = lines[1].strip().strip("|").split("|")
    if not all(set(cell.strip()) <= set("-:") for cell in separator):
        return None
    rows = [cells(line) for line in [lines[0], *lines[2:]]]
    if any(len(row) != len(separator) for row in rows):
        return None
    out = [".. list-table::", "   :header-rows: 1", "   :class: benchmark-table", ""]
    for row in rows:
        for j, cell in enumerate(row):
            text = _markdown_inline(cell) or r"\ "
            out.append(f"   {'* -' if j == 0 else '  -'} {text}")
    return out + [""]


def _markdown_inline(text):
    """`code` -> ``code``; escape RST markup characters elsewhere."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"``{part[1:-1]}``")
        else:
            out.append(re.sub(r"([*_|\\])", r"\\\1", part))
    return "".join(out).replace("`` ``", "`` ``")


def _markdown_to_rst(text):
    """Convert the benchmark report (headings, bullets, pipe tables) to RST."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1
            table = _markdown_table(block) if len(block) >= 2 else None
            if table is None:
                table = ["::", ""] + [f"    {row}" for row in block] + [""]
            out += table
            continue
        if line.startswith("# "):
            out += [f".. rubric:: {_markdown_inline(line[2:].strip())}", ""]
        elif line.startswith("#"):
            out += [f".. rubric:: {_markdown_inline(line.lstrip('#').strip())}", ""]
        elif line.startswith("- "):
            out.append(f"- {_markdown_inline(line[2:])}")
        elif line.strip():
            out.append(_markdown_inline(line))
        else:
            out.append("")
        i += 1
    return "\n".join(out) + "\n"


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _benchmark_pages():
    """Write ``generated/benchmark_*.rst.inc`` included by ``performance.rst``."""
    results = ROOT / "benchmarks" / "results.md"
    if results.exists():
        text = (
            ".. This file is generated by doc/conf.py from benchmarks/results.md.\n\n"
            + _markdown_to_rst(results.read_text(encoding="utf-8"))
        )
    else:
        text = (
            ".. note::\n\n   ``benchmarks/results.md`` does not exist in this "
            "checkout, so there is no table to show yet: run\n   ``python "
            "benchmarks/bench_em.py`` (about 15 minutes) and rebuild the "
            "documentation.\n"
        )
    _write_if_changed(DOC / "generated" / "benchmark_results.rst.inc", text)

    readme = ROOT / "benchmarks" / "README.rst"
    if readme.exists():
        # The README without its title; its sections become subsections.
        body = readme.read_text(encoding="utf-8").split("\n")
        start = next(
            (i + 2 for i, line in enumerate(body[:6]) if set(line) == {"="}), 0
        )
        text = "\n".join(
            "~" * len(line) if line and set(line) == {"-"} else line
            for line in body[start:]
        )
    else:
        text = "The benchmark script is not part of this checkout.\n"
    _write_if_changed(DOC / "generated" / "benchmark_methods.rst.inc", text)


_benchmark_pages()


# -- Members inherited from scikit-learn --------------------------------------------
# scikit-learn's own methods (get_metadata_routing, set_output, ...) are
# documented by scikit-learn, with references to its user guide that do not
# resolve here; keep the few that are part of using our estimators.
_SKLEARN_MEMBERS_KEPT = {
    "fit_predict",
    "fit_transform",
    "get_feature_names_out",
    "get_params",
    "set_params",
}


def _skip_sklearn_member(app, what, name, obj, skip, options):
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and module.startswith("sklearn."):
        return name not in _SKLEARN_MEMBERS_KEPT
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_member)
