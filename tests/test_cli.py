"""Tests of the command line.

``python -m gmm_estimators`` (the demo), ``fit``, ``predict`` and ``reduce``
on small CSV files in ``tmp_path``: mostly in-process through ``main()``, with
real subprocesses where start-up matters (the demo, bad input as users meet
it, a few smoke tests). Bad input must give one line on stderr and exit
status 2, never a traceback; a failed run leaves no output file behind.
"""

import csv
import errno
import io
import os
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs

from gmm_estimators import GaussianMixture
from gmm_estimators._cli import main

try:
    import resource
except ImportError:  # Windows
    resource = None


def run_cli(*args, cwd, timeout=60):
    """Run ``python -m gmm_estimators ARGS`` in ``cwd``; return the result."""
    return subprocess.run(
        [sys.executable, "-m", "gmm_estimators", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"},
    )


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def data(seed):
    """Three blobs in three dimensions."""
    X, _ = make_blobs(n_samples=120, n_features=3, centers=3, random_state=seed)
    return X


@pytest.fixture
def data_csv(tmp_path, data):
    """``data`` as a CSV file with a header row."""
    path = tmp_path / "data.csv"
    np.savetxt(path, data, delimiter=",", header="x,y,z", comments="", fmt="%.10g")
    return path


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_demo_runs_quickly_and_writes_its_figure(tmp_path):
    # CPU seconds rather than wall time, so that a loaded machine does not
    # make the check fail; the demo's wall time on an idle 2-core machine is
    # about 5 s.
    start = _children_cpu_seconds() if resource else time.perf_counter()
    result = run_cli(cwd=tmp_path)
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


def test_demo_without_matplotlib_says_how_to_get_the_figure(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from gmm_estimators._cli import main\n"
        "sys.exit(main(['--components', '1-3', '--quiet']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Adjusted Rand index" in result.stdout
    assert "pip install gmm-estimators[plot]" in result.stdout
    assert result.stderr == ""
    assert not list(tmp_path.iterdir())


def test_help_lists_the_options_and_commands(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--components", "--covariance", "--criterion", "--figure"):
        assert option in result.stdout
    for command in ("fit", "predict", "reduce"):
        assert command in result.stdout


def test_fit_then_predict_round_trip(tmp_path, data, data_csv):
    # fit: header row in the input, model and figure saved
    result = run_cli(
        "fit",
        data_csv,
        "--out",
        "labels.csv",
        "--components",
        "1-4",
        "--covariance",
        "full,diag",
        "--model",
        "model.joblib",
        "--plot",
        "figure.png",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Selected: 3 components" in result.stdout
    assert "Best candidates by BIC" in result.stdout
    assert "[GaussianMixtureSelector] 8/8" in result.stderr  # progress
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
    result = run_cli(
        "predict", "model.joblib", "new.csv", "--out", "predicted.csv", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Predicted 120 rows" in result.stdout
    assert read_rows(tmp_path / "predicted.csv") == rows


def test_fit_writes_to_stdout_with_dash(tmp_path, data_csv):
    result = run_cli(
        "fit",
        data_csv,
        "--out",
        "-",
        "--components",
        "2,3",
        "--covariance",
        "spherical",
        "--criterion",
        "icl",
        "--quiet",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("label,proba_0")
    assert len(lines) == 121
    # the summary goes to stderr when stdout carries the data
    assert "Best candidates by ICL" in result.stderr


def test_reduce_writes_the_transform_with_feature_names(tmp_path, data, data_csv):
    result = run_cli(
        "reduce",
        data_csv,
        "--components",
        "2",
        "--latent",
        "1",
        "--out",
        "reduced.csv",
        "--model",
        "ppca.joblib",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "MixtureOfPPCA: 2 components, 1 latent" in result.stdout
    model = joblib.load(tmp_path / "ppca.joblib")
    rows = read_rows(tmp_path / "reduced.csv")
    assert rows[0] == list(model.get_feature_names_out())
    reduced = np.array(rows[1:], dtype=float)
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    assert_allclose(reduced, np.asarray(model.transform(frame)), rtol=1e-6, atol=1e-9)


# Bad input: (files to write, arguments, words the error must contain).
# Each of these runs in a subprocess, as users meet them.
HEADER = "a,b,c\n"
BAD_INPUTS = {
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
    "too few rows": (
        {"few.csv": "1,2\n3,4\n5,7\n"},
        ["fit", "few.csv", "--out", "o.csv", "--components", "1-5"],
        ["3 data rows", "5 components"],
    ),
    "bad range": (
        {},
        ["fit", "data.csv", "--out", "o.csv", "--components", "5-2"],
        ["--components", "'5-2'"],
    ),
    "output directory missing": (
        {},
        ["fit", "data.csv", "--out", "nowhere/o.csv"],
        ["nowhere", "does not exist"],
    ),
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
    "latent too large": (
        {},
        ["reduce", "data.csv", "--components", "2", "--latent", "3", "--out", "o.csv"],
        ["--latent 3", "number of columns", "(3)"],
    ),
}

# More bad input, checked in-process through ``main`` (the same code path
# after start-up), to keep the test file fast.
MORE_BAD_INPUTS = {
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
    "zero components": (
        {},
        ["fit", "data.csv", "--out", "o.csv", "--components", "0-3"],
        ["--components", "start at 1"],
    ),
    "not a range": (
        {},
        ["fit", "data.csv", "--out", "o.csv", "--components", "1..4"],
        ["--components", "'1..4'"],
    ),
    "unknown covariance": (
        {},
        ["fit", "data.csv", "--out", "o.csv", "--covariance", "full,round"],
        ["--covariance", "'round'"],
    ),
    "unknown criterion": (
        {},
        ["fit", "data.csv", "--out", "o.csv", "--criterion", "mdl"],
        ["--criterion", "'mdl'"],
    ),
    "missing --out": ({}, ["fit", "data.csv"], ["--out"]),
    "missing model": (
        {},
        ["predict", "nothing.joblib", "data.csv", "--out", "o.csv"],
        ["nothing.joblib", "no such file"],
    ),
    "reduce: zero components": (
        {},
        ["reduce", "data.csv", "--components", "0", "--out", "o.csv"],
        ["--components", "positive integer"],
    ),
    "unknown command": ({}, ["frobnicate"], ["invalid choice", "'frobnicate'"]),
}


def check_one_line_error(returncode, stdout, stderr, words, cwd):
    """Exit status 2, nothing on stdout, one line on stderr, no output file."""
    assert returncode == 2, stderr
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("gmm-estimators: error: ")
    for word in words:
        assert word in lines[0]
    assert not (cwd / "o.csv").exists()


@pytest.mark.parametrize("case", list(MORE_BAD_INPUTS))
def test_more_bad_input_in_process(tmp_path, monkeypatch, capsys, data_csv, case):
    files, args, words = MORE_BAD_INPUTS[case]
    for filename, text in files.items():
        (tmp_path / filename).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    status = main(args)
    captured = capsys.readouterr()
    check_one_line_error(status, captured.out, captured.err, words, tmp_path)


@pytest.fixture(scope="module")
def bad_input_results(tmp_path_factory):
    """Run every bad-input case, a few at a time, as the tests start.

    Each case is a separate ``python -m gmm_estimators`` process in its own
    directory (with ``data.csv`` and ``model3.joblib``); most of its time is
    the interpreter importing scikit-learn, so the cases run in parallel.
    """
    X, _ = make_blobs(n_samples=120, n_features=3, centers=3, random_state=0)
    model = GaussianMixture(n_components=2, random_state=0).fit(X)
    pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1))
    futures = {}
    for name, (files, args, _) in BAD_INPUTS.items():
        cwd = tmp_path_factory.mktemp("bad_input")
        np.savetxt(cwd / "data.csv", X, delimiter=",", fmt="%.10g")
        joblib.dump(model, cwd / "model3.joblib")
        for filename, text in files.items():
            (cwd / filename).write_text(text, encoding="utf-8")
        futures[name] = (cwd, pool.submit(run_cli, *args, cwd=cwd))
    yield futures
    pool.shutdown()


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_status_2(bad_input_results, case):
    cwd, future = bad_input_results[case]
    result = future.result()
    check_one_line_error(
        result.returncode, result.stdout, result.stderr, BAD_INPUTS[case][2], cwd
    )


def test_closed_pipe_is_not_an_error(tmp_path):
    """``gmm-estimators ... --out - | head`` ends quietly."""
    data = tmp_path / "data.csv"
    rows = np.random.RandomState(0).randn(3000, 3)
    np.savetxt(data, rows, delimiter=",")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gmm_estimators",
            "reduce",
            str(data),
            "--components",
            "2",
            "--latent",
            "1",
            "--out",
            "-",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err


# -- reading CSV files: what was silently wrong (issues 12 and 13) ------------------
def cli(args, monkeypatch, capsys, cwd):
    """Run ``main(args)`` in ``cwd``; return (status, stdout, stderr)."""
    monkeypatch.chdir(cwd)
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


FAST = ["--components", "1-3", "--covariance", "full", "--quiet"]


def labels_of(path):
    return [row[0] for row in read_rows(path)[1:]]


@pytest.fixture
def fitted(tmp_path, monkeypatch, capsys, data_csv):
    """``fit data.csv --model model.joblib``: the labels it wrote."""
    status, _, err = cli(
        ["fit", data_csv, "--out", "fit.csv", "--model", "model.joblib", *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    return labels_of(tmp_path / "fit.csv")


def write_frame(path, data, columns, **kwargs):
    pd.DataFrame(data, columns=columns).to_csv(path, **kwargs)


def test_predict_matches_columns_by_name(tmp_path, monkeypatch, capsys, data, fitted):
    # the columns in another order, and one the model does not use
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    frame["label"] = 7
    frame[["label", "z", "x", "y"]].to_csv(tmp_path / "new.csv", index=False)
    status, _, err = cli(
        ["predict", "model.joblib", "new.csv", "--out", "p.csv"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert labels_of(tmp_path / "p.csv") == fitted
    assert "another order than in the model; they are matched by name" in err
    assert "ignored 1 column of new.csv that the model does not use: 'label'" in err


def test_predict_refuses_a_file_without_a_column_of_the_model(
    tmp_path, monkeypatch, capsys, data, fitted
):
    write_frame(tmp_path / "new.csv", data, ["x", "w", "z"], index=False)
    status, out, err = cli(
        ["predict", "model.joblib", "new.csv", "--out", "o.csv"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    check_one_line_error(
        status, out, err, ["new.csv has no column 'y'", "model.joblib"], tmp_path
    )


def test_predict_takes_a_file_without_header_in_the_models_order(
    tmp_path, monkeypatch, capsys, data, fitted
):
    np.savetxt(tmp_path / "new.csv", data, delimiter=",", fmt="%.10g")
    status, _, err = cli(
        ["predict", "model.joblib", "new.csv", "--out", "p.csv"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert labels_of(tmp_path / "p.csv") == fitted
    assert "new.csv has no header row: its 3 columns are taken in the model's" in err


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
    tmp_path, monkeypatch, capsys, data, fitted, write, note
):
    write(tmp_path / "indexed.csv", data)
    status, _, err = cli(
        ["fit", "indexed.csv", "--out", "o.csv", "--model", "m.joblib", *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert note in err and "note: " in err
    assert joblib.load(tmp_path / "m.joblib").n_features_in_ == 3
    assert labels_of(tmp_path / "o.csv") == fitted  # the same data, the same fit


def test_an_index_column_chosen_with_columns_is_read(
    tmp_path, monkeypatch, capsys, data
):
    write_frame(tmp_path / "indexed.csv", data, ["x", "y", "z"])
    status, _, err = cli(
        ["fit", "indexed.csv", "--out", "o.csv", "--model", "m.joblib"]
        + ["--columns", "1,x,y", *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert "skipped" not in err
    assert list(joblib.load(tmp_path / "m.joblib").feature_names_in_) == ["", "x", "y"]


def test_a_first_column_counting_the_rows_gets_a_note(
    tmp_path, monkeypatch, capsys, data
):
    write_frame(tmp_path / "ids.csv", data, ["x", "y", "z"], index_label="id")
    status, _, err = cli(
        ["fit", "ids.csv", "--out", "o.csv", *FAST], monkeypatch, capsys, tmp_path
    )
    assert status == 0, err
    assert "counts the rows 0, 1, 2" in err and "--drop id" in err


@pytest.mark.parametrize(
    "before",
    [
        ["--components", "2"],
        ["--covariance", "diag"],
        ["--criterion", "aic"],
        ["--quiet"],
        ["--no-figure"],
        ["--random-state", "3"],
    ],
)
def test_demo_options_before_a_command_are_refused(
    tmp_path, monkeypatch, capsys, data_csv, before
):
    status, out, err = cli(
        [*before, "fit", "data.csv", "--out", "o.csv"], monkeypatch, capsys, tmp_path
    )
    check_one_line_error(
        status,
        out,
        err,
        [before[0], "before the command 'fit'", "demo", "gmm-estimators fit --help"],
        tmp_path,
    )


def test_a_demo_option_after_a_command_is_refused(
    tmp_path, monkeypatch, capsys, data_csv
):
    status, out, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--figure", "f.png"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    check_one_line_error(
        status,
        out,
        err,
        ["unrecognized arguments for 'fit': --figure f.png", "option of the demo"],
        tmp_path,
    )


def test_help_says_which_options_are_the_demos(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "The options below are the demo's" in out
    for title in ("demo: figure", "demo: model selection", "demo: run"):
        assert title in out
    assert main(["fit", "--help"]) == 0
    out = capsys.readouterr().out
    assert "demo" not in out
    for option in ("--columns", "--drop", "--delimiter", "--scale", "--dropna"):
        assert option in out


@pytest.mark.parametrize(
    "option, names",
    [
        (["--columns", "z,x"], ["z", "x"]),
        (["--columns", "3,1"], ["z", "x"]),
        (["--drop", "y"], ["x", "z"]),
        (["--drop", "2"], ["x", "z"]),
    ],
)
def test_columns_and_drop_choose_the_columns(
    tmp_path, monkeypatch, capsys, data_csv, option, names
):
    status, _, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--model", "m.joblib", *option, *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert list(joblib.load(tmp_path / "m.joblib").feature_names_in_) == names


@pytest.mark.parametrize(
    "option, words",
    [
        (["--columns", "x,w"], ["--columns w", "no column 'w'", "'x', 'y', 'z'"]),
        (["--drop", "9"], ["--drop 9", "no column '9'", "from 1 to 3"]),
        (["--drop", "x,y,z"], ["--drop leaves no column"]),
        (["--columns", "x,1"], ["--columns names a column of data.csv twice"]),
        (["--columns", "x", "--drop", "y"], ["not allowed with argument"]),
        (["--columns", "x,,y"], ["--columns", "not a list of columns"]),
    ],
)
def test_bad_column_choices_are_one_line_errors(
    tmp_path, monkeypatch, capsys, data_csv, option, words
):
    status, out, err = cli(
        ["fit", "data.csv", "--out", "o.csv", *option, *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    check_one_line_error(status, out, err, words, tmp_path)


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
    tmp_path, monkeypatch, capsys, data, fitted, sep, name, option
):
    write_frame(tmp_path / "other.csv", data, ["x", "y", "z"], sep=sep, index=False)
    status, _, err = cli(
        ["fit", "other.csv", "--out", "o.csv", *option, *FAST[:-1]],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    if name:
        assert f"Reading other.csv as {name}-separated values" in err
    assert labels_of(tmp_path / "o.csv") == fitted


def test_a_semicolon_file_never_becomes_one_column(tmp_path, monkeypatch, capsys, data):
    write_frame(tmp_path / "semi.csv", data, ["x", "y", "z"], sep=";", index=False)
    status, out, err = cli(
        ["fit", "semi.csv", "--out", "o.csv", "--delimiter", ",", *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    check_one_line_error(
        status, out, err, ["single column", "pass --delimiter ';'"], tmp_path
    )


def test_decimal_commas_get_a_hint(tmp_path, monkeypatch, capsys):
    (tmp_path / "dec.csv").write_text("a;b\n1,5;2\n3;4,25\n")
    status, out, err = cli(
        ["fit", "dec.csv", "--out", "o.csv", "--quiet"], monkeypatch, capsys, tmp_path
    )
    check_one_line_error(
        status, out, err, ["row 2", "'1,5'", "decimal commas"], tmp_path
    )


def test_a_text_column_gets_a_hint_to_drop_it(tmp_path, monkeypatch, capsys):
    (tmp_path / "mixed.csv").write_text("a,kind,b\n1,x,2\n3,y,4\n")
    status, out, err = cli(
        ["fit", "mixed.csv", "--out", "o.csv"], monkeypatch, capsys, tmp_path
    )
    check_one_line_error(
        status, out, err, ["column 2 ('kind')", "--drop kind"], tmp_path
    )


def test_scale_standardises_and_the_saved_model_applies_it(
    tmp_path, monkeypatch, capsys, data, data_csv
):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    status, _, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--model", "m.joblib", "--scale"]
        + FAST[:-1],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert "(standardised: --scale)" in err
    model = joblib.load(tmp_path / "m.joblib")
    assert isinstance(model, Pipeline)
    assert isinstance(model[0], StandardScaler)
    assert list(model.feature_names_in_) == ["x", "y", "z"]
    assert_allclose(model[0].mean_, data.mean(axis=0))
    frame = pd.DataFrame(data, columns=["x", "y", "z"])
    assert [str(k) for k in model.predict(frame)] == labels_of(tmp_path / "o.csv")
    # predict applies the scaler: the same labels as the fit wrote
    status, _, err = cli(
        ["predict", "m.joblib", "data.csv", "--out", "p.csv"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert read_rows(tmp_path / "p.csv") == read_rows(tmp_path / "o.csv")


def test_fit_says_that_it_does_not_standardise(tmp_path, monkeypatch, capsys, data_csv):
    status, _, err = cli(
        ["fit", "data.csv", "--out", "o.csv", *FAST[:-1]], monkeypatch, capsys, tmp_path
    )
    assert status == 0, err
    assert "(not standardised; --scale standardises each column)" in err


def test_reduce_takes_the_reading_options(tmp_path, monkeypatch, capsys, data):
    write_frame(tmp_path / "semi.csv", data, ["x", "y", "z"], sep=";")
    status, _, err = cli(
        ["reduce", "semi.csv", "--components", "2", "--latent", "1", "--scale"]
        + ["--drop", "y", "--out", "r.csv", "--model", "m.joblib", "--quiet"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert "skipped column 1 (no name)" in err
    model = joblib.load(tmp_path / "m.joblib")
    assert list(model.feature_names_in_) == ["x", "z"]
    assert len(read_rows(tmp_path / "r.csv")) == 1 + len(data)


MISSING = "a,b,c\n1,2,3\n4,,6\n7,8,NA\n1.5,-0.5,0.7\n3,3,3\n2,1,nan\n"


def test_missing_values_are_refused_naming_rows_and_columns(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "na.csv").write_text(MISSING)
    status, out, err = cli(
        ["fit", "na.csv", "--out", "o.csv", "--components", "1"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    check_one_line_error(
        status,
        out,
        err,
        ["row 3, column 2 ('b'): an empty cell", "3 rows", "rows 3, 4, 7"]
        + ["column 2 ('b'), column 3 ('c')", "--dropna"],
        tmp_path,
    )


def test_dropna_leaves_rows_out_and_keeps_one_output_line_per_row(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "na.csv").write_text(MISSING)
    status, _, err = cli(
        ["fit", "na.csv", "--out", "o.csv", "--model", "m.joblib", "--dropna"]
        + ["--components", "1", "--covariance", "diag", "--quiet"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert "left out 3 of 6 rows of na.csv with missing values" in err
    rows = read_rows(tmp_path / "o.csv")
    assert len(rows) == 1 + 6
    assert [row == ["", ""] for row in rows[1:]] == [False, True, True] + [
        False
    ] * 2 + [True]
    # predict refuses them too, unless --dropna
    status, _, err = cli(
        ["predict", "m.joblib", "na.csv", "--out", "p.csv"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 2 and "--dropna" in err
    assert not (tmp_path / "p.csv").exists()
    status, _, err = cli(
        ["predict", "m.joblib", "na.csv", "--out", "p.csv", "--dropna"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert read_rows(tmp_path / "p.csv") == rows


@pytest.mark.parametrize(
    "text",
    ['a,b,c\n1,2,3\n1.25,-0.5,"0.7', 'a,b,c\n1,2,3\n1.25,-0.5,"0.7\n'],
    ids=["no newline", "newline"],
)
def test_a_quote_left_open_at_the_end_is_an_error(tmp_path, monkeypatch, capsys, text):
    (tmp_path / "cut.csv").write_text(text)
    status, out, err = cli(
        ["fit", "cut.csv", "--out", "o.csv", "--components", "1"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    check_one_line_error(
        status, out, err, ["cut.csv, row", "quoted field is not closed"], tmp_path
    )


def test_quoted_numbers_are_read(tmp_path, monkeypatch, capsys):
    (tmp_path / "q.csv").write_text('"a","b"\n"1.5","2"\n3,"4"\n5,6.5\n')
    status, _, err = cli(
        ["fit", "q.csv", "--out", "o.csv", "--components", "1", "--quiet"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err


@pytest.mark.parametrize(
    "model, words",
    [
        ("data.csv", ["cannot load a model from data.csv", "text file", "'x,y,z'"]),
        ("empty.joblib", ["cannot load a model from empty.joblib", "is empty"]),
        (".", ["is a directory"]),
    ],
)
def test_predict_says_what_is_wrong_with_the_model_file(
    tmp_path, monkeypatch, capsys, data_csv, model, words
):
    (tmp_path / "empty.joblib").write_bytes(b"")
    status, out, err = cli(
        ["predict", model, "data.csv", "--out", "o.csv"], monkeypatch, capsys, tmp_path
    )
    check_one_line_error(status, out, err, words, tmp_path)
    if model == "data.csv":
        assert "predict MODEL DATA" in err


def test_a_binary_or_directory_data_file_is_an_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "bin.csv").write_bytes(b"\x80\x04\x95\x00\x00abc")
    status, out, err = cli(
        ["fit", "bin.csv", "--out", "o.csv"], monkeypatch, capsys, tmp_path
    )
    check_one_line_error(status, out, err, ["bin.csv is a binary file"], tmp_path)
    (tmp_path / "dir.csv").mkdir()
    status, out, err = cli(
        ["fit", "dir.csv", "--out", "o.csv"], monkeypatch, capsys, tmp_path
    )
    check_one_line_error(status, out, err, ["dir.csv is a directory"], tmp_path)


def test_long_reads_report_progress(tmp_path, monkeypatch, capsys, data_csv):
    from gmm_estimators import _cli

    monkeypatch.setattr(_cli, "_READ_PROGRESS_SECONDS", 0)
    monkeypatch.setattr(_cli, "_READ_PROGRESS_ROWS", 50)
    status, _, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--components", "1"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert "Reading data.csv: 50 rows (" in err
    assert "Reading data.csv: 100 rows (" in err
    assert "Read 120 rows of data.csv in " in err
    status, _, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--components", "1", "--quiet"],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0 and err == ""


def test_a_warning_about_failed_candidates_is_one_line(
    tmp_path, monkeypatch, capsys, data_csv
):
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
    status, _, err = cli(
        ["fit", "data.csv", "--out", "o.csv", *FAST], monkeypatch, capsys, tmp_path
    )
    assert status == 0, err
    lines = [line for line in err.splitlines() if "warning" in line]
    assert lines == [
        "gmm-estimators: warning: 2 of 8 fits failed; their scores are set to "
        "error_score=nan and failed candidates are never selected: "
        "n_components=3, covariance_type='full': collapsed; "
        "n_components=4, covariance_type='full': collapsed"
    ]


# -- writing outputs: all or nothing (issue 12, item 7) --------------------------------
def files_in(path):
    return sorted(p.name for p in path.iterdir())


@pytest.mark.parametrize(
    "option",
    [
        ["--model", "data.csv/m.joblib"],  # a file as a directory: even root fails
        ["--plot", "nowhere/f.png"],
        ["--out", "data.csv/o.csv"],
        ["--plot", "figure.xyz"],
        ["--model", "-"],
        ["--model", "o.csv"],
    ],
)
def test_outputs_are_checked_before_the_fit(
    tmp_path, monkeypatch, capsys, data_csv, option
):
    before = files_in(tmp_path)
    status, out, err = cli(
        ["fit", "data.csv", "--out", "o.csv", *FAST[:-1], *option],
        monkeypatch,
        capsys,
        tmp_path,
    )
    check_one_line_error(
        status, out, err, [option[0] if option[1] != "o.csv" else "same file"], tmp_path
    )
    assert "Selecting" not in err  # nothing was fitted
    assert files_in(tmp_path) == before


def fail_after_some_bytes(handle, *args, **kwargs):
    handle.write("label,proba_0\n0,0.5")
    handle.flush()
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failing_write_leaves_nothing_behind(tmp_path, monkeypatch, capsys, data_csv):
    from gmm_estimators import _cli

    (tmp_path / "o.csv").write_text("an older result\n")
    before = files_in(tmp_path)
    monkeypatch.setattr(_cli, "_write_rows", fail_after_some_bytes)
    status, out, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--model", "m.joblib", *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 2
    assert out == ""
    assert err.splitlines() == [
        f"gmm-estimators: error: cannot write o.csv: {os.strerror(errno.ENOSPC)}"
    ]
    assert files_in(tmp_path) == before  # no model, no temporary file
    assert (tmp_path / "o.csv").read_text() == "an older result\n"


def test_a_failing_model_write_leaves_no_labels_behind(
    tmp_path, monkeypatch, capsys, data_csv
):
    def failing_dump(value, handle, *args, **kwargs):
        handle.write(b"\x80\x04partial")
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(joblib, "dump", failing_dump)
    before = files_in(tmp_path)
    status, out, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--model", "m.joblib", *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 2 and out == ""
    assert err.splitlines() == [
        f"gmm-estimators: error: cannot write m.joblib: {os.strerror(errno.EDQUOT)}"
    ]
    assert files_in(tmp_path) == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root writes to read-only directories",
)
def test_an_unwritable_directory_is_refused_before_the_fit(
    tmp_path, monkeypatch, capsys, data_csv
):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, out, err = cli(
            ["fit", "data.csv", "--out", "locked/o.csv", *FAST],
            monkeypatch,
            capsys,
            tmp_path,
        )
    finally:
        locked.chmod(0o700)
    check_one_line_error(status, out, err, ["cannot write locked/o.csv"], tmp_path)
    assert not list(locked.iterdir())


def test_outputs_are_replaced_whole_with_the_usual_permissions(
    tmp_path, monkeypatch, capsys, data_csv
):
    (tmp_path / "o.csv").write_text("an older result\n")
    status, _, err = cli(
        ["fit", "data.csv", "--out", "o.csv", "--model", "m.joblib", *FAST],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert status == 0, err
    assert files_in(tmp_path) == ["data.csv", "m.joblib", "o.csv"]
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "o.csv").stat().st_mode & 0o777 == 0o666 & ~mask


# -- a few of the above as users meet them: in a subprocess -----------------------
def test_subprocess_demo_option_before_a_command(tmp_path, data_csv):
    result = run_cli(
        "--components", "2", "fit", "data.csv", "--out", "o.csv", cwd=tmp_path
    )
    check_one_line_error(
        result.returncode,
        result.stdout,
        result.stderr,
        ["--components", "before the command 'fit'"],
        tmp_path,
    )


def test_subprocess_semicolons_scale_and_reordered_columns(tmp_path, data):
    write_frame(tmp_path / "train.csv", data, ["x", "y", "z"], sep=";")
    result = run_cli(
        "fit",
        "train.csv",
        "--out",
        "fit.csv",
        "--model",
        "m.joblib",
        "--scale",
        "--components",
        "1-3",
        "--covariance",
        "full",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "note: skipped column 1 (no name)" in result.stderr
    assert "semicolon-separated" in result.stderr
    assert "(standardised: --scale)" in result.stderr
    write_frame(tmp_path / "new.csv", data[:, ::-1], ["z", "y", "x"], index=False)
    result = run_cli("predict", "m.joblib", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_rows(tmp_path / "p.csv") == read_rows(tmp_path / "fit.csv")
