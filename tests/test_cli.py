"""Tests of the command line.

The demo (no command), ``fit``, ``predict`` and ``reduce`` on small CSV files
in ``tmp_path``, run in-process through ``main()`` (stdout and stderr captured
by pytest's ``capsys``). Three smoke tests run real processes, for what only a
process shows: the installed ``gmm-estimators`` script and its start-up time,
the exit status of ``python -m gmm_estimators``, and a reader closing the pipe.
Bad input must give one line on stderr and exit status 2, never a traceback;
a failed run leaves no output file behind.
"""

import contextlib
import csv
import errno
import io
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections import namedtuple

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs

from gmm_estimators import GaussianMixture, GaussianMixtureSelector
from gmm_estimators._cli import main

try:
    import resource
except ImportError:  # Windows
    resource = None


# -- running the command line ------------------------------------------------------
Result = namedtuple("Result", "status out err")


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """``cli(*args)``: run ``main(args)`` in ``tmp_path``; a ``Result``."""
    monkeypatch.chdir(tmp_path)

    def run(*args):
        status = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


def assert_one_line_error(result, words):
    """Exit status 2, nothing on stdout, one line on stderr with ``words``."""
    assert result.status == 2, result.err
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("gmm-estimators: error: ")
    for word in words:
        assert word in lines[0]


def files_in(path):
    return sorted(p.name for p in path.iterdir())


@pytest.fixture
def cli_fails(cli, tmp_path):
    """``cli_fails(*args, words=...)``: a one-line error that wrote nothing."""

    def run(*args, words):
        before = files_in(tmp_path)
        result = cli(*args)
        assert_one_line_error(result, words)
        assert "Selecting" not in result.err  # nothing was fitted
        assert files_in(tmp_path) == before  # no output, no temporary file
        return result

    return run


def run_process(command, *args, cwd, timeout=60):
    """Run ``command ARGS`` in ``cwd``, deprecations as errors; the result."""
    return subprocess.run(
        [*command, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"},
    )


PYTHON_M = [sys.executable, "-m", "gmm_estimators"]


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def labels_of(path):
    return [row[0] for row in read_rows(path)[1:]]


def write_frame(path, data, columns, **kwargs):
    pd.DataFrame(data, columns=columns).to_csv(path, **kwargs)


#: A quick selection: three candidates, no progress.
FAST = ["--components", "1-3", "--covariance", "full", "--quiet"]


@pytest.fixture
def data(seed):
    """Three blobs in three dimensions."""
    X, _ = make_blobs(n_samples=120, n_features=3, centers=3, random_state=seed)
    return X


@pytest.fixture
def data_csv(tmp_path, data):
    """``data`` as a CSV file with a header row ``x,y,z``."""
    path = tmp_path / "data.csv"
    np.savetxt(path, data, delimiter=",", header="x,y,z", comments="", fmt="%.10g")
    return path


@pytest.fixture
def semicolon_csv(tmp_path, data):
    """``data`` as pandas writes it with ``sep=";"``: with its index, unnamed."""
    path = tmp_path / "semi.csv"
    write_frame(path, data, ["x", "y", "z"], sep=";")
    return path


@pytest.fixture
def fitted(cli, data_csv):
    """``fit data.csv --model model.joblib``: the labels it wrote."""
    result = cli("fit", data_csv, "--out", "fit.csv", "--model", "model.joblib", *FAST)
    assert result.status == 0, result.err
    return labels_of(data_csv.parent / "fit.csv")


# -- smoke tests in real processes ---------------------------------------------------
def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_installed_script_runs_the_demo_quickly_and_writes_its_figure(tmp_path):
    # The console script as installed (python -m where it is not installed).
    script = shutil.which("gmm-estimators", path=os.path.dirname(sys.executable))
    # CPU seconds rather than wall time, so that a loaded machine does not
    # make the check fail; the demo's wall time on an idle 2-core machine is
    # about 5 s.
    start = _children_cpu_seconds() if resource else time.perf_counter()
    result = run_process([script] if script else PYTHON_M, cwd=tmp_path)
    elapsed = (_children_cpu_seconds() if resource else time.perf_counter()) - start

    assert result.returncode == 0, result.stderr
    assert elapsed < 20
    out = result.stdout
    assert "Wine data: 178 wines x 13" in out
    assert "Selected: " in out and "covariance type" in out
    assert "Best candidates by BIC" in out
    assert "Cluster sizes: " in out
    assert "Adjusted Rand index against the known cultivars: " in out
    figure = tmp_path / "gmm_estimators_wine.png"
    assert figure.stat().st_size > 10_000
    assert f"Wrote the figure {figure}" in out
    # progress went to stderr, not stdout
    assert "Selecting among 40 Gaussian mixtures" in result.stderr
    assert "[GaussianMixtureSelector]" not in out


def test_python_m_bad_input_is_one_line_and_exit_status_2(tmp_path):
    result = run_process(PYTHON_M, "fit", "missing.csv", "--out", "o.csv", cwd=tmp_path)
    assert_one_line_error(
        Result(result.returncode, result.stdout, result.stderr), ["missing.csv"]
    )
    assert not list(tmp_path.iterdir())


def test_closed_pipe_is_not_an_error(tmp_path):
    """``gmm-estimators ... --out - | head`` ends quietly."""
    data = tmp_path / "data.csv"
    rows = np.random.RandomState(0).randn(3000, 3)
    np.savetxt(data, rows, delimiter=",")
    proc = subprocess.Popen(
        [*PYTHON_M, "reduce", str(data), "--components", "2", "--latent", "1"]
        + ["--out", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err


class ClosedPipe(io.StringIO):
    """A stdout whose reader went away."""

    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def test_closed_pipe_in_process_ends_quietly(cli, data_csv):
    # in-process stdout has no file descriptor to point at os.devnull
    with contextlib.redirect_stdout(ClosedPipe()):
        result = cli("fit", "data.csv", "--out", "-", *FAST)
    assert result.status == 0
    assert result.err == ""


# -- the demo and --help -------------------------------------------------------------
def test_demo_without_matplotlib_says_how_to_get_the_figure(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = cli("--components", "1-3", "--quiet")
    assert result.status == 0, result.err
    assert "Adjusted Rand index" in result.out
    assert "pip install gmm-estimators[plot]" in result.out
    assert result.err == ""
    assert not list(tmp_path.iterdir())


def test_help_lists_the_options_and_commands_and_which_are_the_demos(cli):
    result = cli("--help")
    assert result.status == 0
    for option in ("--components", "--covariance", "--criterion", "--figure"):
        assert option in result.out
    for command in ("fit", "predict", "reduce"):
        assert command in result.out
    assert "The options below are the demo's" in result.out
    for title in ("demo: figure", "demo: model selection", "demo: run"):
        assert title in result.out
    result = cli("fit", "--help")
    assert result.status == 0
    assert "demo" not in result.out
    for option in ("--columns", "--drop", "--delimiter", "--scale", "--dropna"):
        assert option in result.out


# -- fit, predict and reduce ---------------------------------------------------------
def test_fit_then_predict_round_trip(cli, tmp_path, data, data_csv):
    # fit: header row in the input, model and figure saved
    result = cli(
        *"fit data.csv --out labels.csv --components 1-4 --covariance "
        "full,diag --model model.joblib --plot figure.png".split()
    )
    assert result.status == 0, result.err
    assert "Selected: 3 components" in result.out
    assert "Best candidates by BIC" in result.out
    assert "[GaussianMixtureSelector] 8/8" in result.err  # progress
    assert (tmp_path / "figure.png").stat().st_size > 10_000

    rows = read_rows(tmp_path / "labels.csv")
    assert rows[0] == ["label", "proba_0", "proba_1", "proba_2"]
    assert len(rows) == 1 + len(data)
    labels = np.array([int(row[0]) for row in rows[1:]])
    proba = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert_array_equal(labels, proba.argmax(axis=1))
    assert sorted(np.bincount(labels)) == [40, 40, 40]

    model = joblib.load(tmp_path / "model.joblib")
    assert isinstance(model, GaussianMixture)
    # the saved model carries the column names, checked by scikit-learn
    assert list(model.feature_names_in_) == ["x", "y", "z"]
    assert_array_equal(
        model.predict(pd.DataFrame(data, columns=["x", "y", "z"])), labels
    )

    # predict: the same rows without a header give the same labels
    np.savetxt(tmp_path / "new.csv", data, delimiter=",", fmt="%.10g")
    result = cli("predict", "model.joblib", "new.csv", "--out", "predicted.csv")
    assert result.status == 0, result.err
    assert "Predicted 120 rows" in result.out
    assert read_rows(tmp_path / "predicted.csv") == rows


def test_fit_writes_to_stdout_with_dash(cli, data_csv):
    result = cli(
        *"fit data.csv --out - --components 2,3 --covariance spherical "
        "--criterion icl --quiet".split()
    )
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("label,proba_0")
    assert len(lines) == 121
    # the summary goes to stderr when stdout carries the data
    assert "Best candidates by ICL" in result.err


def test_fit_searches_mclust_models(cli, data_csv):
    # mclust's names, and 'mclust' for all fourteen, reach the selector
    result = cli(*"fit data.csv --out - --components 1,2 --covariance VEV,EII".split())
    assert result.status == 0, result.err
    assert "covariance VEV, EII" in result.err  # the summary is on stderr
    result = cli(*"fit data.csv --out - --components 1 --covariance mclust".split())
    assert result.status == 0, result.err
    assert "best of 14 candidates" in result.err


def test_fit_searches_mclusts_models_by_default_and_the_demo_the_four(cli, data_csv):
    # fit, as the selector, searches mclust's fourteen unless told otherwise;
    # the demo keeps scikit-learn's four (a few seconds on the wine data)
    result = cli(*"fit data.csv --out - --components 1".split())
    assert result.status == 0, result.err
    assert "covariance EII, VII, EEI," in result.err
    assert "best of 14 candidates" in result.err
    result = cli("--components", "1", "--no-figure")
    assert result.status == 0, result.err
    assert "covariance full, tied, diag, spherical)" in result.err


def test_fit_refuses_a_constant_column_and_says_how_to_drop_it(cli, tmp_path, data):
    # a constant column cannot tell clusters apart, and its zero variance,
    # held at the regularisation, would decide the criteria: a clear error
    rows = "\n".join(",".join(f"{v:.6f}" for v in row) + ",1" for row in data[:, :2])
    (tmp_path / "const.csv").write_text("x,y,flag\n" + rows + "\n")
    args = "fit const.csv --out - --components 1,2 --covariance full --quiet"
    result = cli(*args.split())
    assert result.status == 2
    assert "const.csv: column 'flag' is constant (every row 1)" in result.err
    assert "leave it out with --drop flag" in result.err
    assert result.out == ""
    result = cli(*args.split(), "--drop", "flag")
    assert result.status == 0, result.err
    # without a header: the column's number among those read
    (tmp_path / "bare.csv").write_text(rows + "\n")
    result = cli(*args.replace("const.csv", "bare.csv").split())
    assert result.status == 2
    assert "bare.csv: column 3 (of the columns read) is constant" in result.err


def test_fit_searches_mclusts_univariate_models_on_one_feature(cli, tmp_path, data):
    # for one feature 'mclust' means E and V, as mclustBIC fits there
    (tmp_path / "one.csv").write_text(
        "x\n" + "\n".join(f"{v:.6f}" for v in data[:, 0]) + "\n"
    )
    result = cli(*"fit one.csv --out - --components 1-3 --covariance mclust".split())
    assert result.status == 0, result.err
    assert "covariance E, V)" in result.err
    assert "best of 6 candidates" in result.err


def test_reduce_writes_the_transform_with_feature_names(cli, tmp_path, data, data_csv):
    result = cli(
        *"reduce data.csv --components 2 --latent 1 --out reduced.csv --model "
        "ppca.joblib".split()
    )
    assert result.status == 0, result.err
    assert "MixtureOfPPCA: 2 components, 1 latent" in result.out
    model = joblib.load(tmp_path / "ppca.joblib")
    rows = read_rows(tmp_path / "reduced.csv")
    assert rows[0] == list(model.get_feature_names_out())
    reduced = np.array(rows[1:], dtype=float)
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    assert_allclose(reduced, np.asarray(model.transform(frame)), rtol=1e-6, atol=1e-9)


# -- bad input: one line on stderr, exit status 2, nothing written -----------------
HEADER = "a,b,c\n"
MISSING = "a,b,c\n1,2,3\n4,,6\n7,8,NA\n1.5,-0.5,0.7\n3,3,3\n2,1,nan\n"
FIT = ["fit", "data.csv", "--out", "o.csv"]

#: case: (files to write, arguments, words the error must contain). A file's
#: content is text or bytes; a name ending in '/' is a directory. Every case
#: also has ``data.csv`` (columns x, y, z) and ``model3.joblib`` (a mixture
#: fitted on 3 unnamed columns).
BAD_INPUTS = {
    # reading the data
    "missing file": ({}, ["fit", "missing.csv", "--out", "o.csv"], ["missing.csv"]),
    "non-numeric cell": (
        {"bad.csv": HEADER + "1,2,3\n4,oops,6\n"},
        ["fit", "bad.csv", "--out", "o.csv"],
        ["row 3", "column 2", "'b'", "oops", "not a number"],
    ),
    "not a finite number": (
        {"bad.csv": "1,2\n3,4\nnan,6\n"},
        ["fit", "bad.csv", "--out", "o.csv"],
        ["row 3", "column 1", "nan", "not a finite number"],
    ),
    "ragged rows": (
        {"bad.csv": HEADER + "1,2,3\n4,5\n"},
        ["fit", "bad.csv", "--out", "o.csv"],
        ["row 3", "2 fields", "row 1 has 3"],
    ),
    "empty file": ({"bad.csv": ""}, ["fit", "bad.csv", "--out", "o.csv"], ["empty"]),
    "empty cell": (
        {"bad.csv": "1,2\n3,\n5,6\n"},
        ["fit", "bad.csv", "--out", "o.csv"],
        ["row 2", "column 2", "empty cell"],
    ),
    "header only": (
        {"bad.csv": HEADER},
        ["fit", "bad.csv", "--out", "o.csv"],
        ["no data rows"],
    ),
    "blank lines only": (
        {"bad.csv": "\n \n"},
        ["fit", "bad.csv", "--out", "o.csv"],
        ["empty"],
    ),
    "header with a number": (
        {"bad.csv": "a,2,c\n1,2,3\n"},
        ["fit", "bad.csv", "--out", "o.csv"],
        ["row 1", "column 1", "'a'", "header row must name every column"],
    ),
    "too few rows": (
        {"few.csv": "1,2\n3,4\n5,7\n"},
        ["fit", "few.csv", "--out", "o.csv", "--components", "1-5"],
        ["3 data rows", "5 components"],
    ),
    "semicolons read with --delimiter ,": (
        {"semi.csv": "x;y;z\n1.5;2;3\n4;5.5;6\n"},
        ["fit", "semi.csv", "--out", "o.csv", "--delimiter", ",", *FAST],
        ["single column", "pass --delimiter ';'"],
    ),
    "decimal commas": (
        {"dec.csv": "a;b\n1,5;2\n3;4,25\n"},
        ["fit", "dec.csv", "--out", "o.csv", "--quiet"],
        ["row 2", "'1,5'", "decimal commas"],
    ),
    "a text column": (
        {"mixed.csv": "a,kind,b\n1,x,2\n3,y,4\n"},
        ["fit", "mixed.csv", "--out", "o.csv"],
        ["column 2 ('kind')", "--drop kind"],
    ),
    # float() reads '1_12' as 112; pandas and CSV users read it as text
    "an ID column with underscores": (
        {"ids.csv": "sample,a,b\n1_1,1,2\n1_2,3,4.5\n1_12,5,6\n"},
        ["fit", "ids.csv", "--out", "o.csv", "--components", "1"],
        ["row 2, column 1 ('sample')", "'1_1'", "not a number", "--drop sample"],
    ),
    "non-ASCII digits": (
        {"ar.csv": "a,b\n1,2\n\u0663,4\n5,6\n"},
        ["fit", "ar.csv", "--out", "o.csv", "--components", "1"],
        ["row 3, column 1 ('a')", "not a number"],
    ),
    "a row of empty cells": (
        {"na.csv": "a,b,c\n1,2,3\n4,5,6\n,,\n7,8,9.5\n"},
        ["fit", "na.csv", "--out", "o.csv", "--components", "1"],
        ["row 4, column 1 ('a'): an empty cell", "1 row", "--dropna"],
    ),
    "a first row of empty cells": (
        {"na.csv": ",,\n1,2,3\n4,5,6\n7,8,9.5\n"},
        ["fit", "na.csv", "--out", "o.csv", "--components", "1"],
        ["row 1, column 1: an empty cell", "1 row", "--dropna"],
    ),
    "missing values": (
        {"na.csv": MISSING},
        ["fit", "na.csv", "--out", "o.csv", "--components", "1"],
        ["row 3, column 2 ('b'): an empty cell", "3 rows", "rows 3, 4, 7"]
        + ["column 2 ('b'), column 3 ('c')", "--dropna"],
    ),
    "quote left open, no newline": (
        {"cut.csv": 'a,b,c\n1,2,3\n1.25,-0.5,"0.7'},
        ["fit", "cut.csv", "--out", "o.csv", "--components", "1"],
        ["cut.csv, row", "quoted field is not closed"],
    ),
    "quote left open, newline": (
        {"cut.csv": 'a,b,c\n1,2,3\n1.25,-0.5,"0.7\n'},
        ["fit", "cut.csv", "--out", "o.csv", "--components", "1"],
        ["cut.csv, row", "quoted field is not closed"],
    ),
    "binary data file": (
        {"bin.csv": b"\x80\x04\x95\x00\x00abc"},
        ["fit", "bin.csv", "--out", "o.csv"],
        ["bin.csv is a binary file"],
    ),
    "data file is a directory": (
        {"dir.csv/": None},
        ["fit", "dir.csv", "--out", "o.csv"],
        ["dir.csv is a directory"],
    ),
    # choosing columns
    "--columns: no such name": (
        {},
        [*FIT, "--columns", "x,w", *FAST],
        ["--columns w", "no column 'w'", "'x', 'y', 'z'"],
    ),
    "--drop: no such number": (
        {},
        [*FIT, "--drop", "9", *FAST],
        ["--drop 9", "no column '9'", "from 1 to 3"],
    ),
    "--drop: every column": (
        {},
        [*FIT, "--drop", "x,y,z", *FAST],
        ["--drop leaves no column"],
    ),
    "--columns: a column twice": (
        {},
        [*FIT, "--columns", "x,1", *FAST],
        ["--columns names a column of data.csv twice"],
    ),
    "--columns and --drop": (
        {},
        [*FIT, "--columns", "x", "--drop", "y", *FAST],
        ["not allowed with argument"],
    ),
    "--columns: an empty name": (
        {},
        [*FIT, "--columns", "x,,y", *FAST],
        ["--columns", "not a list of columns"],
    ),
    # options
    "bad range": ({}, [*FIT, "--components", "5-2"], ["--components", "'5-2'"]),
    "zero components": (
        {},
        [*FIT, "--components", "0-3"],
        ["--components", "start at 1"],
    ),
    "not a range": ({}, [*FIT, "--components", "1..4"], ["--components", "'1..4'"]),
    "unknown covariance": (
        {},
        [*FIT, "--covariance", "full,round"],
        ["--covariance", "'round'"],
    ),
    "unknown criterion": ({}, [*FIT, "--criterion", "mdl"], ["--criterion", "'mdl'"]),
    "unknown search": ({}, [*FIT, "--search", "quick"], ["--search", "'quick'"]),
    "missing --out": ({}, ["fit", "data.csv"], ["--out"]),
    "unknown command": ({}, ["frobnicate"], ["invalid choice", "'frobnicate'"]),
    "a demo option after a command": (
        {},
        [*FIT, "--figure", "f.png"],
        ["unrecognized arguments for 'fit': --figure f.png", "option of the demo"],
    ),
    **{
        f"demo option {before[0]} before a command": (
            {},
            [*before, *FIT],
            [before[0], "before the command 'fit'", "demo"]
            + ["gmm-estimators fit --help"],
        )
        for before in (
            ["--components", "2"],
            ["--covariance", "diag"],
            ["--criterion", "aic"],
            ["--quiet"],
            ["--no-figure"],
            ["--random-state", "3"],
        )
    },
    # outputs, checked before the fit
    "output directory missing": (
        {},
        ["fit", "data.csv", "--out", "nowhere/o.csv"],
        ["nowhere", "does not exist"],
    ),
    **{
        f"{option[0]} {option[1]}": (
            {},
            [*FIT, *FAST[:-1], *option],
            [option[0] if option[1] != "o.csv" else "same file"],
        )
        for option in (
            ["--model", "data.csv/m.joblib"],  # a file as a directory: root fails too
            ["--plot", "nowhere/f.png"],
            ["--out", "data.csv/o.csv"],
            ["--plot", "figure.xyz"],
            ["--model", "-"],
            ["--model", "o.csv"],
            ["--model", "./sub/../o.csv"],
        )
    },
    # an output that would replace an input
    "--out is the data file": (
        {},
        ["fit", "data.csv", "--out", "data.csv", *FAST],
        ["--out data.csv and the data file (DATA) data.csv are the same file"],
    ),
    "--model is the data file, by another path": (
        {"sub/": None},
        [*FIT, "--model", "sub/../data.csv", *FAST],
        ["--model sub/../data.csv", "the data file (DATA) data.csv"],
    ),
    "reduce --out is the data file": (
        {},
        ["reduce", "data.csv", "--components", "2", "--out", "./data.csv"],
        ["--out ./data.csv", "the data file (DATA)"],
    ),
    "predict --out is the model file": (
        {},
        ["predict", "model3.joblib", "data.csv", "--out", "model3.joblib"],
        ["--out model3.joblib", "the model file (MODEL) model3.joblib"],
    ),
    "predict --out is the data file": (
        {},
        ["predict", "model3.joblib", "data.csv", "--out", "data.csv"],
        ["--out data.csv", "the data file (DATA) data.csv"],
    ),
    # --cv without --criterion cv would be ignored
    "--cv without --criterion cv": (
        {},
        [*FIT, "--cv", "3", *FAST],
        ["--cv 3", "--criterion cv", "the criterion is bic"],
    ),
    "demo --cv without --criterion cv": (
        {},
        ["--cv", "3", "--criterion", "aic", "--no-figure"],
        ["--cv 3", "--criterion cv", "the criterion is aic"],
    ),
    # the model of predict
    "feature count mismatch": (
        {"two.csv": "1,2\n3,4\n"},
        ["predict", "model3.joblib", "two.csv", "--out", "o.csv"],
        ["2 columns", "fitted on 3"],
    ),
    "not a model": (
        {"fake.joblib": "not a model\n"},
        ["predict", "fake.joblib", "data.csv", "--out", "o.csv"],
        ["cannot load a model from fake.joblib"],
    ),
    "missing model": (
        {},
        ["predict", "nothing.joblib", "data.csv", "--out", "o.csv"],
        ["nothing.joblib", "no such file"],
    ),
    "a CSV file as the model": (
        {},
        ["predict", "data.csv", "data.csv", "--out", "o.csv"],
        ["cannot load a model from data.csv", "text file", "'x,y,z'"]
        + ["predict MODEL DATA"],
    ),
    "an empty model file": (
        {"empty.joblib": b""},
        ["predict", "empty.joblib", "data.csv", "--out", "o.csv"],
        ["cannot load a model from empty.joblib", "is empty"],
    ),
    "a directory as the model": (
        {},
        ["predict", ".", "data.csv", "--out", "o.csv"],
        ["is a directory"],
    ),
    # reduce
    "latent too large": (
        {},
        ["reduce", "data.csv", "--components", "2", "--latent", "3", "--out", "o.csv"],
        ["--latent 3", "number of columns", "(3)"],
    ),
    "reduce: zero components": (
        {},
        ["reduce", "data.csv", "--components", "0", "--out", "o.csv"],
        ["--components", "positive integer"],
    ),
}


@pytest.fixture(scope="module")
def model3():
    """A mixture fitted on three unnamed columns."""
    X, _ = make_blobs(n_samples=120, n_features=3, centers=3, random_state=0)
    return GaussianMixture(n_components=2, random_state=0).fit(X)


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_status_2(
    cli_fails, tmp_path, data_csv, model3, case
):
    files, args, words = BAD_INPUTS[case]
    joblib.dump(model3, tmp_path / "model3.joblib")
    for name, content in files.items():
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        elif isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content, encoding="utf-8")
    cli_fails(*args, words=words)


# -- reading CSV files: what was silently wrong (issues 12 and 13) ------------------
def test_predict_matches_columns_by_name(cli, tmp_path, data, fitted):
    # the columns in another order, and one the model does not use
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    frame["label"] = 7
    frame[["label", "z", "x", "y"]].to_csv(tmp_path / "new.csv", index=False)
    result = cli("predict", "model.joblib", "new.csv", "--out", "p.csv")
    assert result.status == 0, result.err
    assert labels_of(tmp_path / "p.csv") == fitted
    assert "another order than in the model; they are matched by name" in result.err
    assert (
        "ignored 1 column of new.csv that the model does not use: 'label'" in result.err
    )


@pytest.mark.parametrize("grid", [3, range(1, 4), [1, 2, 3]])
def test_predict_with_a_saved_selector_reports_its_chosen_model(
    cli, tmp_path, data, data_csv, grid
):
    # a fitted selector saved with joblib: the summary counts the chosen
    # number of components (not the grid: phantom empty clusters with an
    # int, a TypeError with a range or a list)
    selector = GaussianMixtureSelector(
        n_components=grid, covariance_type=["full"], random_state=0
    ).fit(data)
    joblib.dump(selector, tmp_path / "selector.joblib")
    result = cli("predict", "selector.joblib", data_csv, "--out", "p.csv")
    assert result.status == 0, result.err
    k = selector.n_components_
    assert f"({k} components)" in result.out
    sizes = np.bincount(selector.predict(data), minlength=k)
    assert (
        "Cluster sizes: " + ", ".join(f"{i}: {n}" for i, n in enumerate(sizes))
        in result.out
    )


def test_predict_refuses_a_file_without_a_column_of_the_model(
    cli_fails, tmp_path, data, fitted
):
    write_frame(tmp_path / "new.csv", data, ["x", "w", "z"], index=False)
    cli_fails(
        *"predict model.joblib new.csv --out o.csv".split(),
        words=["new.csv has no column 'y'", "model.joblib"],
    )


def test_predict_takes_a_file_without_header_in_the_models_order(
    cli, tmp_path, data, fitted
):
    np.savetxt(tmp_path / "new.csv", data, delimiter=",", fmt="%.10g")
    result = cli("predict", "model.joblib", "new.csv", "--out", "p.csv")
    assert result.status == 0, result.err
    assert labels_of(tmp_path / "p.csv") == fitted
    assert (
        "new.csv has no header row: its 3 columns are taken in the model's"
        in result.err
    )


@pytest.mark.parametrize(
    "write, note",
    [
        # pandas' to_csv with its index: an unnamed first column
        (lambda path, X: write_frame(path, X, ["x", "y", "z"]), "column 1 (no name)"),
        # read back and written again: 'Unnamed: 0' too
        (
            lambda path, X: pd.read_csv(
                io.StringIO(pd.DataFrame(X, columns=list("xyz")).to_csv())
            ).to_csv(path),
            "column 2 ('Unnamed: 0')",
        ),
        # a data frame without column names: the header is ',0,1,2'
        (lambda path, X: pd.DataFrame(X).to_csv(path), "column 1 (no name)"),
        # ... and without its index: the header is '0,1,2'
        (
            lambda path, X: pd.DataFrame(X).to_csv(path, index=False),
            "read as a header: the column numbers pandas writes",
        ),
    ],
    ids=["index", "index twice", "no column names", "column numbers"],
)
def test_a_pandas_index_column_is_skipped_with_a_note(
    cli, tmp_path, data, fitted, write, note
):
    write(tmp_path / "indexed.csv", data)
    result = cli("fit", "indexed.csv", "--out", "o.csv", "--model", "m.joblib", *FAST)
    assert result.status == 0, result.err
    assert note in result.err and "note: " in result.err
    assert joblib.load(tmp_path / "m.joblib").n_features_in_ == 3
    assert labels_of(tmp_path / "o.csv") == fitted  # the same data, the same fit


def test_an_index_column_chosen_with_columns_is_read(cli, tmp_path, data):
    write_frame(tmp_path / "indexed.csv", data, ["x", "y", "z"])
    result = cli(
        *"fit indexed.csv --out o.csv --model m.joblib --columns 1,x,y".split(), *FAST
    )
    assert result.status == 0, result.err
    assert "skipped" not in result.err
    assert list(joblib.load(tmp_path / "m.joblib").feature_names_in_) == ["", "x", "y"]


def test_a_first_column_counting_the_rows_gets_a_note(cli, tmp_path, data):
    write_frame(tmp_path / "ids.csv", data, ["x", "y", "z"], index_label="id")
    result = cli("fit", "ids.csv", "--out", "o.csv", *FAST)
    assert result.status == 0, result.err
    assert "counts the rows 0, 1, 2" in result.err and "--drop id" in result.err


@pytest.mark.parametrize(
    "option, names",
    [
        (["--columns", "z,x"], ["z", "x"]),
        (["--columns", "3,1"], ["z", "x"]),
        (["--drop", "y"], ["x", "z"]),
        (["--drop", "2"], ["x", "z"]),
    ],
)
def test_columns_and_drop_choose_the_columns(cli, tmp_path, data_csv, option, names):
    result = cli(*FIT, "--model", "m.joblib", *option, *FAST)
    assert result.status == 0, result.err
    assert list(joblib.load(tmp_path / "m.joblib").feature_names_in_) == names


@pytest.mark.parametrize(
    "sep, name, option",
    [
        (";", "semicolon", []),
        ("\t", "tab", []),
        ("|", "pipe", []),
        (";", None, ["--delimiter", ";"]),
        ("\t", None, ["--delimiter", "tab"]),
    ],
)
def test_other_delimiters_are_detected_or_given(
    cli, tmp_path, data, fitted, sep, name, option
):
    write_frame(tmp_path / "other.csv", data, ["x", "y", "z"], sep=sep, index=False)
    result = cli("fit", "other.csv", "--out", "o.csv", *option, *FAST[:-1])
    assert result.status == 0, result.err
    if name:
        assert f"Reading other.csv as {name}-separated values" in result.err
    assert labels_of(tmp_path / "o.csv") == fitted


def test_semicolons_scale_and_reordered_columns_as_users_meet_them(
    cli, tmp_path, data, semicolon_csv
):
    result = cli(
        *"fit semi.csv --out fit.csv --model m.joblib --scale --components "
        "1-3 --covariance full".split()
    )
    assert result.status == 0, result.err
    assert "note: skipped column 1 (no name)" in result.err
    assert "semicolon-separated" in result.err
    assert "(standardised: --scale)" in result.err
    write_frame(tmp_path / "new.csv", data[:, ::-1], ["z", "y", "x"], index=False)
    result = cli("predict", "m.joblib", "new.csv", "--out", "p.csv")
    assert result.status == 0, result.err
    assert read_rows(tmp_path / "p.csv") == read_rows(tmp_path / "fit.csv")


def test_scale_standardises_and_the_saved_model_applies_it(
    cli, tmp_path, data, data_csv
):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    result = cli(*FIT, "--model", "m.joblib", "--scale", *FAST[:-1])
    assert result.status == 0, result.err
    assert "(standardised: --scale)" in result.err
    model = joblib.load(tmp_path / "m.joblib")
    assert isinstance(model, Pipeline)
    assert isinstance(model[0], StandardScaler)
    assert list(model.feature_names_in_) == ["x", "y", "z"]
    assert_allclose(model[0].mean_, data.mean(axis=0))
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    assert [str(k) for k in model.predict(frame)] == labels_of(tmp_path / "o.csv")
    # predict applies the scaler: the same labels as the fit wrote
    result = cli("predict", "m.joblib", "data.csv", "--out", "p.csv")
    assert result.status == 0, result.err
    assert read_rows(tmp_path / "p.csv") == read_rows(tmp_path / "o.csv")


def test_fit_says_that_it_does_not_standardise(cli, data_csv):
    result = cli(*FIT, *FAST[:-1])
    assert result.status == 0, result.err
    assert "(not standardised; --scale standardises each column)" in result.err


def test_reduce_takes_the_reading_options(cli, tmp_path, data, semicolon_csv):
    result = cli(
        *"reduce semi.csv --components 2 --latent 1 --scale --drop y --out "
        "r.csv --model m.joblib --quiet".split()
    )
    assert result.status == 0, result.err
    assert "skipped column 1 (no name)" in result.err
    model = joblib.load(tmp_path / "m.joblib")
    assert list(model.feature_names_in_) == ["x", "z"]
    assert len(read_rows(tmp_path / "r.csv")) == 1 + len(data)


def test_dropna_leaves_rows_out_and_keeps_one_output_line_per_row(cli, tmp_path):
    (tmp_path / "na.csv").write_text(MISSING)
    result = cli(
        *"fit na.csv --out o.csv --model m.joblib --dropna --components 1 "
        "--covariance diag --quiet".split()
    )
    assert result.status == 0, result.err
    assert "left out 3 of 6 rows of na.csv with missing values" in result.err
    rows = read_rows(tmp_path / "o.csv")
    assert len(rows) == 1 + 6
    assert [row == ["", ""] for row in rows[1:]] == [False, True, True] + [
        False
    ] * 2 + [True]
    # predict refuses them too, unless --dropna
    result = cli("predict", "m.joblib", "na.csv", "--out", "p.csv")
    assert result.status == 2 and "--dropna" in result.err
    assert not (tmp_path / "p.csv").exists()
    result = cli("predict", "m.joblib", "na.csv", "--out", "p.csv", "--dropna")
    assert result.status == 0, result.err
    assert read_rows(tmp_path / "p.csv") == rows


def test_quoted_numbers_are_read(cli, tmp_path):
    (tmp_path / "q.csv").write_text('"a","b"\n"1.5","2"\n3,"4"\n5,6.5\n')
    result = cli("fit", "q.csv", "--out", "o.csv", "--components", "1", "--quiet")
    assert result.status == 0, result.err


def test_long_reads_report_progress(cli, monkeypatch, data_csv):
    from gmm_estimators import _cli

    monkeypatch.setattr(_cli, "_READ_PROGRESS_SECONDS", 0)
    monkeypatch.setattr(_cli, "_READ_PROGRESS_ROWS", 50)
    result = cli(*FIT, "--components", "1")
    assert result.status == 0, result.err
    assert "Reading data.csv: 50 rows (" in result.err
    assert "Reading data.csv: 100 rows (" in result.err
    assert "Read 120 rows of data.csv in " in result.err
    result = cli(*FIT, "--components", "1", "--quiet")
    assert result.status == 0 and result.err == ""


def test_a_warning_about_failed_candidates_is_one_line(cli, monkeypatch, data_csv):
    from sklearn.exceptions import FitFailedWarning

    from gmm_estimators import _selection

    fit = _selection.GaussianMixtureSelector.fit

    def failing_fit(self, X, *args, **kwargs):
        warnings.warn(
            "2 of 8 fits failed; their scores are set to error_score=nan and "
            "failed candidates are never selected. Set error_score='raise' to "
            "debug.\n- n_components=3, covariance_type='full': collapsed\n"
            "- n_components=4, covariance_type='full': collapsed",
            FitFailedWarning,
            stacklevel=2,
        )
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(_selection.GaussianMixtureSelector, "fit", failing_fit)
    result = cli(*FIT, *FAST)
    assert result.status == 0, result.err
    lines = [line for line in result.err.splitlines() if "warning" in line]
    assert lines == [
        "gmm-estimators: warning: 2 of 8 fits failed; their scores are set to "
        "error_score=nan and failed candidates are never selected: "
        "n_components=3, covariance_type='full': collapsed; "
        "n_components=4, covariance_type='full': collapsed"
    ]


# -- writing outputs: all or nothing (issue 12, item 7) --------------------------------
def fail_after_some_bytes(handle, *args, **kwargs):
    handle.write("label,proba_0\n0,0.5")
    handle.flush()
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failing_write_leaves_nothing_behind(cli, tmp_path, monkeypatch, data_csv):
    from gmm_estimators import _cli

    (tmp_path / "o.csv").write_text("an older result\n")
    before = files_in(tmp_path)
    monkeypatch.setattr(_cli, "_write_rows", fail_after_some_bytes)
    result = cli(*FIT, "--model", "m.joblib", *FAST)
    assert result.status == 2
    assert result.out == ""
    assert result.err.splitlines() == [
        f"gmm-estimators: error: cannot write o.csv: {os.strerror(errno.ENOSPC)}"
    ]
    assert files_in(tmp_path) == before  # no model, no temporary file
    assert (tmp_path / "o.csv").read_text() == "an older result\n"


def test_a_failing_model_write_leaves_no_labels_behind(
    cli, tmp_path, monkeypatch, data_csv
):
    def failing_dump(value, handle, *args, **kwargs):
        handle.write(b"\x80\x04partial")
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(joblib, "dump", failing_dump)
    before = files_in(tmp_path)
    result = cli(*FIT, "--model", "m.joblib", *FAST)
    assert result.status == 2 and result.out == ""
    assert result.err.splitlines() == [
        f"gmm-estimators: error: cannot write m.joblib: {os.strerror(errno.EDQUOT)}"
    ]
    assert files_in(tmp_path) == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root writes to read-only directories",
)
def test_an_unwritable_directory_is_refused_before_the_fit(
    cli_fails, tmp_path, data_csv
):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        cli_fails(
            "fit",
            "data.csv",
            "--out",
            "locked/o.csv",
            *FAST,
            words=["cannot write locked/o.csv"],
        )
    finally:
        locked.chmod(0o700)
    assert not list(locked.iterdir())


def test_outputs_are_replaced_whole_with_the_usual_permissions(cli, tmp_path, data_csv):
    (tmp_path / "o.csv").write_text("an older result\n")
    result = cli(*FIT, "--model", "m.joblib", *FAST)
    assert result.status == 0, result.err
    assert files_in(tmp_path) == ["data.csv", "m.joblib", "o.csv"]
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "o.csv").stat().st_mode & 0o777 == 0o666 & ~mask


# -- outputs that are links, devices or FIFOs; outputs replacing inputs (h7) ---------
def test_an_output_through_a_symlink_replaces_its_target_and_keeps_the_link(
    cli, tmp_path, data_csv
):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "o.csv").write_text("an older result\n")
    (tmp_path / "o.csv").symlink_to("results/o.csv")
    # a dangling link: the file is created at its target
    (tmp_path / "m.joblib").symlink_to("results/m.joblib")
    result = cli(*FIT, "--model", "m.joblib", *FAST)
    assert result.status == 0, result.err
    assert (tmp_path / "o.csv").is_symlink() and (tmp_path / "m.joblib").is_symlink()
    assert len(read_rows(tmp_path / "results" / "o.csv")) == 1 + 120
    assert joblib.load(tmp_path / "results" / "m.joblib").n_components == 3
    assert files_in(tmp_path / "results") == ["m.joblib", "o.csv"]
    # a link to an output of the same run is the same file
    (tmp_path / "p.csv").symlink_to("results/o.csv")
    result = cli(*FIT, "--model", "p.csv", *FAST)
    assert result.status == 2 and "same file" in result.err
    # and a link to the data is the data
    (tmp_path / "d.csv").symlink_to("data.csv")
    result = cli("fit", "data.csv", "--out", "d.csv", *FAST)
    assert result.status == 2 and "the data file (DATA) data.csv" in result.err
    assert data_csv.read_text().startswith("x,y,z\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_an_output_that_is_a_fifo_is_written_not_replaced(cli, tmp_path, data_csv):
    """What ``--out /dev/null`` needs: a path that is not a regular file is
    opened and written, not replaced by a regular file."""
    import stat
    import threading

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # held open until the run ends, so that the reader sees the end of the data
    # then, even if the run wrote nothing to the FIFO
    held = os.open(fifo, os.O_RDWR)
    received = []

    def read():
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        result = cli(*FIT[:-1], "fifo", *FAST)
    finally:
        os.close(held)
        reader.join(10)
    assert result.status == 0, result.err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    lines = received[0].decode().splitlines()
    assert lines[0] == "label,proba_0,proba_1,proba_2" and len(lines) == 1 + 120
    assert files_in(tmp_path) == ["data.csv", "fifo"]  # no temporary file


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc/self/fd")
def test_an_output_through_a_file_descriptor_link_is_written_in_place(
    cli, tmp_path, data_csv
):
    """``--out /dev/stdout`` with stdout redirected to a file writes to that
    file (the shell's), not to a new file renamed over it."""
    with open(tmp_path / "log.txt", "w") as log:
        inode = os.fstat(log.fileno()).st_ino
        (tmp_path / "stdout").symlink_to(f"/proc/self/fd/{log.fileno()}")
        result = cli(*FIT[:-1], "stdout", *FAST)
    assert result.status == 0, result.err
    assert (tmp_path / "log.txt").stat().st_ino == inode
    assert len(read_rows(tmp_path / "log.txt")) == 1 + 120


class FullStdout(io.StringIO):
    """A stdout on a full disk (``--out - > /dev/full``)."""

    def write(self, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failing_stdout_is_a_clean_error_and_leaves_no_file(cli, tmp_path, data_csv):
    with contextlib.redirect_stdout(FullStdout()):
        result = cli(*FIT[:-1], "-", "--model", "m.joblib", *FAST)
    assert result.status == 2
    assert result.err.splitlines() == [
        f"gmm-estimators: error: cannot write to stdout: {os.strerror(errno.ENOSPC)}"
    ]
    assert files_in(tmp_path) == ["data.csv"]


def test_a_closed_pipe_keeps_the_model(cli, tmp_path, data_csv):
    with contextlib.redirect_stdout(ClosedPipe()):
        result = cli(*FIT[:-1], "-", "--model", "m.joblib", *FAST)
    assert result.status == 0 and result.err == ""
    assert files_in(tmp_path) == ["data.csv", "m.joblib"]


# -- reading CSV files: rows of empty cells, numbers, numeric headers (h7) ---------
def test_a_row_of_empty_cells_is_a_row_of_missing_values(cli, tmp_path, data):
    rows = [",".join(f"{v:.10g}" for v in row) for row in data[:20]]
    # a blank line (skipped, as pandas does) and a row of empty cells (missing)
    text = "\n".join(["a,b,c", *rows[:5], "", *rows[5:9], ",,", *rows[9:]]) + "\n"
    (tmp_path / "e.csv").write_text(text)
    result = cli("fit", "e.csv", "--out", "o.csv", "--dropna", *FAST)
    assert result.status == 0, result.err
    # rows 1 (header), 2-6, 7 (blank), 8-11, 12 (',,')
    assert "left out 1 of 21 rows of e.csv with missing values" in result.err
    assert "rows 12;" in result.err
    out = read_rows(tmp_path / "o.csv")
    assert len(out) - 1 == len(pd.read_csv(tmp_path / "e.csv")) == 21
    assert [i for i, row in enumerate(out[1:]) if row[0] == ""] == [9]
    assert out[1:10] + out[11:] == read_rows_of_fit(cli, tmp_path, rows)[1:]


def read_rows_of_fit(cli, tmp_path, rows):
    (tmp_path / "plain.csv").write_text("\n".join(["a,b,c", *rows]) + "\n")
    result = cli("fit", "plain.csv", "--out", "plain_o.csv", *FAST)
    assert result.status == 0, result.err
    return read_rows(tmp_path / "plain_o.csv")


def test_numbers_are_read_in_their_usual_forms(cli, tmp_path):
    (tmp_path / "n.csv").write_text(
        "a,b\n+1.5, -2\n.5e1,3.\n 1E-2 ,4e+0\n-0.25,\t7\n2,3\n"
    )
    result = cli(
        *"fit n.csv --out o.csv --model m.joblib --delimiter , --components 1 "
        "--covariance full --quiet".split()
    )
    assert result.status == 0, result.err
    assert_allclose(
        joblib.load(tmp_path / "m.joblib").means_[0],
        np.mean([[1.5, -2], [5, 3], [0.01, 4], [-0.25, 7], [2, 3]], axis=0),
    )


def test_a_header_of_numbers_read_as_data_gets_a_note(cli, tmp_path, data):
    rows = [",".join(f"{v:.10g}" for v in row) for row in data]
    (tmp_path / "years.csv").write_text("\n".join(["2019,2020,2021", *rows]) + "\n")
    result = cli("fit", "years.csv", "--out", "o.csv", *FAST)
    assert result.status == 0, result.err
    assert result.err.splitlines() == [
        "gmm-estimators: note: row 1 of years.csv (2019, 2020, 2021) is read as "
        "data, not as a header, because all its cells are numbers; if it names the "
        "columns, rename them so that they are not numbers (e.g. 'y2019')"
    ]
    # a first row of numbers like the others: no note
    (tmp_path / "plain.csv").write_text("\n".join(["1,2,3", *rows]) + "\n")
    result = cli("fit", "plain.csv", "--out", "o.csv", *FAST)
    assert result.status == 0 and result.err == ""


# -- options refused up front (h7) -------------------------------------------------
def test_cv_sets_the_folds_of_criterion_cv(cli, data_csv):
    result = cli(*FIT, "--criterion", "cv", "--cv", "2", *FAST[:-1])
    assert result.status == 0, result.err
    assert "by CV, 2-fold cross-validation" in result.err


def test_search_mclust_fits_each_candidate_from_mclusts_start(cli, data_csv, data):
    from gmm_estimators import GaussianMixtureSelector

    result = cli(*FIT, "--search", "mclust", *FAST[:-1])
    assert result.status == 0, result.err
    assert "by BIC, mclust's search, on" in result.err
    expected = GaussianMixtureSelector(
        n_components=range(1, 4),
        covariance_type=["full"],
        search="mclust",
        random_state=0,
    ).fit(data)
    assert f"BIC = {expected.best_score_:.1f}" in result.out


def test_a_pgf_plot_without_latex_is_refused_before_the_fit(
    cli_fails, monkeypatch, data_csv
):
    pytest.importorskip("matplotlib")
    from gmm_estimators import _cli

    monkeypatch.setattr(_cli.shutil, "which", lambda name: None)
    cli_fails(*FIT, "--plot", "f.pgf", *FAST, words=["f.pgf", "LaTeX", ".pdf"])
