"""Tests of the command line, run as users run it: in a subprocess.

``python -m gmm_estimators`` (the demo), ``fit``, ``predict`` and ``reduce``
on small CSV files in ``tmp_path``, and every kind of bad input, which must
give one line on stderr and exit status 2, never a traceback.
"""

import csv
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
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
    assert_array_equal(model.predict(data), labels)

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
    assert_allclose(reduced, model.transform(data), rtol=1e-6, atol=1e-9)


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
