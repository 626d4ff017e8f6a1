"""Benchmark EM for Gaussian mixtures: gmm_estimators against scikit-learn.

Run from the repository root::

    python benchmarks/bench_em.py             # full suite, 4-15 min on 2 cores
    python benchmarks/bench_em.py --quick     # smoke run on tiny data, < 20 s
    python benchmarks/bench_em.py --problems full-100k-d16-K8 diag-1M-d8-K8
    python benchmarks/bench_em.py --repeats 5 --out /tmp/results.md

Every problem is seeded ``make_blobs`` data. Both implementations start from
the same weights, means and precisions (from the true blob labels with a
fraction of them scrambled), run with ``tol=0`` for a fixed number of
iterations, alternately, in this process, on the same array. The seconds per
EM iteration of each are ``(min t(max_iter=N) - min t(max_iter=1)) / (N -
1)``, the fastest of the repeats (on a shared machine other work only adds
time, so the fastest run is the one it disturbed least), so that fixed costs (input validation, scikit-learn's
initialisation, which it runs even when all three ``*_init`` are given, the
final E-step) are not counted as iteration time. (``max_iter=0`` would be the
natural short run, but scikit-learn 1.9 fails on it when ``precisions_init``
is given.) ``daal4py.em_gmm`` (oneDAL), when importable, is timed the same
way. The results tables are written as Markdown to ``--out`` and printed;
progress goes to stderr. See ``benchmarks/README.rst`` for the meaning of each
column.

Flop model
----------
Only matrix-product work is counted, per EM iteration (E-step + M-step), for
``n`` samples, ``d`` features and ``K`` components; each product of an
``(m, k)`` by a ``(k, p)`` matrix counts ``2 m k p`` flops (see
:func:`block_gemms`, which is also what the "floor" times)::

    full       E  X @ [L_1 ... L_K]                       2 n K d^2
               M  K products (r_k * (X - c_k))^T (X - c_k) 2 n K d^2
               M  R^T X (weighted sums for the means)     2 n K d
    tied       E  X @ L                                   2 n d^2
               E  X @ (P mu_k)_k (cross term)             2 n K d
               M  R^T X                                   2 n K d
                  (X^T X depends on the data only: computed once, not per
                  iteration)
    diag       E  X^2 @ Lambda^T and X @ (Lambda mu)^T    4 n K d
               M  R^T X and R^T X^2                       4 n K d
    spherical  E  X @ (lambda mu)^T                       2 n K d
               M  R^T X                                   2 n K d
                  (||x||^2 and R^T ||x||^2 are O(n d) and O(n K): not counted)

Elementwise work (squares, exponentials, logsumexp) is not counted: it is what
separates an implementation from the floor.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OURS = "gmm_estimators:GaussianMixture"
BLOCK_ROWS = 4096  # rows per block of the floor's matrix products
REG_COVAR = 1e-6
# make_blobs cluster_std is this times sqrt(d): centres (in make_blobs' default
# box) about 4 std apart, so clusters overlap and EM is still moving after 30
# iterations instead of reaching an exact fixed point after a few
CLUSTER_STD_PER_SQRT_D = 2.0
PEAK_GEMM_SIZE = 2048  # square matmul that measures the machine's peak
QUICK_PEAK_GEMM_SIZE = 512
LABEL_NOISE = 0.2  # fraction of true labels scrambled for the initialisation
DATA_SEED = 0
SHORT_ITER = 1  # run length subtracted from the timed fits
MEMORY_ITER = 2  # iterations of the (untimed) tracemalloc fit
DAAL_STORAGE = {"full": "full", "diag": "diagonal"}  # types em_gmm supports
QUICK_SAMPLES, QUICK_FEATURES, QUICK_COMPONENTS, QUICK_ITER = 3000, 6, 3, 3
NOISE_SPREAD = 0.25  # long-run max/min - 1 flagged in the notes
NOISE_MIN_SECONDS = 0.05  # ... unless fits are this short (e.g. --quick)
LB_TOLERANCE = 1e-6  # relative lower-bound gap flagged in the notes
# Pause before every timed run, for the threads of the run before it to go
# idle.  OpenBLAS's threads (scikit-learn's fits) spin for about 0.1 s after
# a product, and oneDAL's TBB workers after a call; the contenders alternate
# in a fixed order, so a run that always follows another library paid for
# its spinning threads in every repeat: ours in float32 (always after
# scikit-learn or daal4py) measured 0.0063-0.0064 s per iteration at
# full-100k-d16-K8 straight after a scikit-learn fit and 0.0055-0.0058 after
# a pause of 0.05-1 s (5 repeats each, 2 cores).  Quick runs pause for none.
SETTLE_SECONDS = 0.2
# ... then this thread spins for a while before the run starts: straight
# after an idle pause the first milliseconds of a run are slow (the cores
# wake up), which inflated the short runs unevenly: at n=100k, d=8, K=8
# (100k x 8 full, 5 repeats) (min t(4) - min t(1)) / 3 came out 0.0071 s per
# iteration after a bare pause against 0.0030 with no pause and 0.0031 with
# the pause and a 0.05 s spin.
SPIN_SECONDS = 0.05
_START = time.perf_counter()


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Parameters
    ----------
    name : str
        Name used by ``--problems`` and in the tables.
    covariance_type : {"full", "tied", "diag", "spherical"}
        Covariance type of both estimators.
    n_samples, n_features, n_components : int
        Shape of the ``make_blobs`` data and number of blobs / components.
    max_iter : int
        EM iterations of each timed fit.
    end_to_end : bool
        If True, time default ``fit`` (initialisation included, default
        ``tol``) over several seeds instead of fixed-length EM.
    """

    name: str
    covariance_type: str
    n_samples: int
    n_features: int
    n_components: int
    max_iter: int = 10
    end_to_end: bool = False

    def shrunk(self) -> Problem:
        """Return a tiny version of this problem for ``--quick``."""
        return replace(
            self,
            n_samples=min(self.n_samples, QUICK_SAMPLES),
            n_features=min(self.n_features, QUICK_FEATURES),
            n_components=min(self.n_components, QUICK_COMPONENTS),
            max_iter=min(self.max_iter, QUICK_ITER),
        )


PROBLEMS = (
    Problem("full-100k-d16-K8", "full", 100_000, 16, 8, max_iter=10),
    Problem("full-200k-d32-K16", "full", 200_000, 32, 16, max_iter=5),
    Problem("tied-100k-d32-K16", "tied", 100_000, 32, 16, max_iter=10),
    Problem("diag-100k-d32-K16", "diag", 100_000, 32, 16, max_iter=10),
    Problem("spherical-100k-d32-K16", "spherical", 100_000, 32, 16, max_iter=10),
    Problem("full-1M-d8-K8", "full", 1_000_000, 8, 8, max_iter=10),
    Problem("diag-1M-d8-K8", "diag", 1_000_000, 8, 8, max_iter=10),
    Problem("default-fit-100k-d32-K16", "full", 100_000, 32, 16, end_to_end=True),
)
PROBLEM_NAMES = tuple(problem.name for problem in PROBLEMS)

EM_COLUMNS = (
    "problem",
    "ours s/iter",
    "sklearn s/iter",
    "ratio",
    "daal4py s/iter",
    "GFLOP/s",
    "floor s/iter",
    "ours/floor",
    "peak mem ours (xX)",
    "peak mem sklearn (xX)",
    "float32 speedup",
    "ours f32 s/iter",
    "daal4py f32 s/iter",
    "|Δ lower bound| rel",
    "float32 |Δ lb| rel",
)
END_TO_END_COLUMNS = (
    "problem",
    "seeds",
    "ours wall s",
    "sklearn wall s",
    "ratio",
    "daal4py wall s",
    "ours init s",
    "sklearn init s",
    "ours n_iter",
    "sklearn n_iter",
    "daal4py n_iter",
    "ours lower bound",
    "sklearn lower bound",
    "daal4py lower bound",
)


@dataclass(frozen=True)
class InitialParameters:
    """Starting point shared by every implementation of one problem."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray  # scikit-learn's layout for the covariance type
    precisions: np.ndarray  # same layout, inverted


@dataclass(frozen=True)
class RunResult:
    """Outcome of one timed fit."""

    seconds: float
    n_iter: int
    lower_bound: float


@dataclass(frozen=True)
class Contender:
    """A fit to time: ``run(max_iter)`` fits once and returns a RunResult."""

    name: str
    run: Callable[[int], RunResult]


@dataclass(frozen=True)
class Timing:
    """Medians over repeats for one contender."""

    per_iter: float  # seconds per EM iteration, fixed cost removed
    fixed: float  # seconds of a fit less its iterations
    n_iter: int
    lower_bound: float
    spread: float  # max / min - 1 over the long runs (0 for very short fits)


@dataclass(frozen=True)
class Gemm:
    """``count`` products of an ``(m, k)`` matrix by a ``(k, p)`` matrix."""

    m: int
    k: int
    p: int
    count: int = 1
    transpose_a: bool = False  # left operand is a transposed row block

    @property
    def flops(self) -> int:
        """Flops of all ``count`` products."""
        return 2 * self.m * self.k * self.p * self.count


# --------------------------------------------------------------------------
# helpers


def log(message: str) -> None:
    """Print a progress line with the elapsed time to stderr."""
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr)


@contextmanager
def no_convergence_warnings():
    """Silence ``ConvergenceWarning`` (fixed-length fits stop unconverged)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Call ``fn`` once and return its wall time and its value.

    Convergence warnings are silenced and the garbage collector is paused, as
    ``timeit`` does; first the machine settles (:data:`SETTLE_SECONDS`, then
    :data:`SPIN_SECONDS` of spinning).
    """
    if SETTLE_SECONDS > 0:
        time.sleep(SETTLE_SECONDS)
        spin_until = time.perf_counter() + SPIN_SECONDS
        while time.perf_counter() < spin_until:
            pass
    with no_convergence_warnings():
        gc.disable()
        try:
            start = time.perf_counter()
            value = fn()
            return time.perf_counter() - start, value
        finally:
            gc.enable()


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes traced by ``tracemalloc`` while ``fn`` runs (above what exists)."""
    gc.collect()
    tracemalloc.start()
    try:
        with no_convergence_warnings():
            fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def relative_gap(value: float, reference: float) -> float:
    """Return ``|value - reference| / |reference|``."""
    return abs(value - reference) / abs(reference)


def load_estimator(spec: str) -> type:
    """Import ``"module:Class"``, with the repository root importable."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    module_name, _, class_name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        sys.exit(
            f"cannot import {spec!r} ({exc}); to try the suite without it, "
            "pass --ours sklearn.mixture:GaussianMixture"
        )


def load_daal4py():
    """Return the ``daal4py`` module, or None when it cannot be imported."""
    try:
        import daal4py
    except Exception as exc:  # any failure (e.g. a version clash) means skip
        log(f"daal4py unavailable ({type(exc).__name__}: {exc}); skipped")
        return None
    return daal4py


# --------------------------------------------------------------------------
# data and initial parameters


def make_data(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``make_blobs`` data and its true labels."""
    return make_blobs(
        n_samples=problem.n_samples,
        n_features=problem.n_features,
        centers=problem.n_components,
        cluster_std=CLUSTER_STD_PER_SQRT_D * np.sqrt(problem.n_features),
        random_state=DATA_SEED,
    )


def scrambled_labels(labels: np.ndarray, n_components: int) -> np.ndarray:
    """Reassign a seeded ``LABEL_NOISE`` fraction of labels at random."""
    rng = np.random.default_rng(DATA_SEED)
    labels = labels.copy()
    chosen = rng.random(labels.shape[0]) < LABEL_NOISE
    labels[chosen] = rng.integers(0, n_components, chosen.sum())
    return labels


def component_covariances(X: np.ndarray, labels: np.ndarray, means: np.ndarray):
    """Full covariance of each labelled group, shape ``(K, d, d)``, unregularised."""
    covariances = np.empty((means.shape[0], X.shape[1], X.shape[1]))
    for k, mean in enumerate(means):
        centred = X[labels == k] - mean
        covariances[k] = centred.T @ centred / centred.shape[0]
    return covariances


def covariances_of_type(full: np.ndarray, weights: np.ndarray, kind: str):
    """Reduce per-component full covariances to ``kind``'s layout, regularised."""
    d = full.shape[1]
    if kind == "full":
        return full + REG_COVAR * np.eye(d)
    if kind == "tied":
        return np.tensordot(weights, full, axes=1) + REG_COVAR * np.eye(d)
    variances = np.diagonal(full, axis1=1, axis2=2) + REG_COVAR
    return variances if kind == "diag" else variances.mean(axis=1)


def invert_covariances(covariances: np.ndarray, kind: str) -> np.ndarray:
    """Precisions in the same layout as ``covariances``."""
    if kind in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / covariances


def initial_parameters(X: np.ndarray, labels: np.ndarray, problem: Problem):
    """Weights, means, covariances and precisions of a hard labelling."""
    counts = np.bincount(labels, minlength=problem.n_components)
    means = np.stack([X[labels == k].mean(axis=0) for k in range(len(counts))])
    weights = counts / counts.sum()
    full = component_covariances(X, labels, means)
    covariances = covariances_of_type(full, weights, problem.covariance_type)
    return InitialParameters(
        weights=weights,
        means=means,
        covariances=covariances,
        precisions=invert_covariances(covariances, problem.covariance_type),
    )


# --------------------------------------------------------------------------
# contenders


def mixture_runner(cls: type, X: np.ndarray, problem: Problem, init):
    """``run(max_iter)`` fitting a scikit-learn-style GaussianMixture ``cls``.

    ``init_params="random_from_data"`` is scikit-learn's cheapest
    initialisation; it runs even though all three ``*_init`` are given.
    """

    def run(max_iter: int) -> RunResult:
        estimator = cls(
            n_components=problem.n_components,
            covariance_type=problem.covariance_type,
            tol=0.0,
            reg_covar=REG_COVAR,
            max_iter=max_iter,
            init_params="random_from_data",
            random_state=0,
            weights_init=init.weights,
            means_init=init.means,
            precisions_init=init.precisions,
        )
        seconds, _ = timed(lambda: estimator.fit(X))
        return RunResult(seconds, estimator.n_iter_, float(estimator.lower_bound_))

    return run


def daal4py_runner(d4p, X: np.ndarray, problem: Problem, init):
    """``run(max_iter)`` calling ``daal4py.em_gmm`` from the same start, in
    ``X``'s precision (``fptype="float"`` for float32 data).

    Its ``goalFunction`` is the total log-likelihood; divided by ``n`` it is
    comparable to scikit-learn's ``lower_bound_``.
    """
    kind = problem.covariance_type
    dtype = X.dtype
    covariances = [
        (c if kind == "full" else c[None, :]).astype(dtype) for c in init.covariances
    ]
    weights = init.weights[None, :].astype(dtype)
    means = init.means.astype(dtype)
    fptype = "float" if dtype == np.float32 else "double"

    def run(max_iter: int) -> RunResult:
        algorithm = d4p.em_gmm(
            nComponents=problem.n_components,
            fptype=fptype,
            maxIterations=max_iter,
            accuracyThreshold=0.0,
            regularizationFactor=REG_COVAR,
            covarianceStorage=DAAL_STORAGE[kind],
        )
        seconds, result = timed(
            lambda: algorithm.compute(X, weights, means, covariances)
        )
        goal = float(result.goalFunction[0, 0]) / X.shape[0]
        return RunResult(seconds, int(result.nIterations[0, 0]), goal)

    return run


def summarize(long_runs: list[RunResult], short_runs: list[RunResult]) -> Timing:
    """Per-iteration seconds from the fastest long and short runs.

    Other work on the machine only adds time, so the fastest of the repeats
    is the run it disturbed least.  With medians, a difference of two fits
    of 0.3-0.5 s over four iterations moved by a quarter between two runs
    of the suite on an idle 2-core machine (full-1M-d8-K8 float32: 0.0269
    and 0.0202 s per iteration, float64 0.0334 and 0.037)."""
    t_long = min(run.seconds for run in long_runs)
    t_short = min(run.seconds for run in short_runs)
    short_iter = short_runs[-1].n_iter
    extra_iter = long_runs[-1].n_iter - short_iter
    per_iter = (t_long - t_short) / extra_iter if extra_iter > 0 else float("nan")
    last = long_runs[-1]
    fixed = t_short - short_iter * per_iter
    seconds = [run.seconds for run in long_runs]
    spread = max(seconds) / min(seconds) - 1 if min(seconds) > NOISE_MIN_SECONDS else 0
    return Timing(per_iter, fixed, last.n_iter, last.lower_bound, spread)


def time_contenders(
    contenders: Sequence[Contender], max_iter: int, repeats: int
) -> dict[str, Timing]:
    """Time all contenders, alternating them (order reversed every repeat)."""
    long_runs = {c.name: [] for c in contenders}
    short_runs = {c.name: [] for c in contenders}
    for contender in contenders:  # untimed: first-call costs (numba's cache)
        contender.run(SHORT_ITER)
    for repeat in range(repeats):
        order = contenders if repeat % 2 == 0 else contenders[::-1]
        gc.collect()  # once per repeat: a full collection can take 0.1 s
        for contender in order:
            long_runs[contender.name].append(contender.run(max_iter))
        for contender in order:
            short_runs[contender.name].append(contender.run(SHORT_ITER))
        log(f"  repeat {repeat + 1}/{repeats} done")
    return {
        c.name: summarize(long_runs[c.name], short_runs[c.name]) for c in contenders
    }


# --------------------------------------------------------------------------
# flop model and floor


def block_gemms(kind: str, rows: int, d: int, K: int) -> list[Gemm]:
    """Matrix products of one EM iteration on a block of ``rows`` samples.

    This is the flop model of the module docstring, and what the floor times.
    """
    means_sums = Gemm(K, rows, d, transpose_a=True)  # R^T X
    if kind == "full":
        return [
            Gemm(rows, d, K * d),  # E: X_b @ [L_1 ... L_K]
            Gemm(d, rows, d, count=K, transpose_a=True),  # M: scatter per k
            means_sums,
        ]
    if kind == "tied":
        return [Gemm(rows, d, d), Gemm(rows, d, K), means_sums]
    if kind == "diag":
        return [Gemm(rows, d, K, count=2), replace(means_sums, count=2)]
    if kind == "spherical":
        return [Gemm(rows, d, K), means_sums]
    raise ValueError(f"unknown covariance type {kind!r}")


def iteration_gemms(problem: Problem, block: int = BLOCK_ROWS) -> list[Gemm]:
    """All matrix products of one EM iteration, over blocks of ``block`` rows."""
    shape = (problem.n_features, problem.n_components)
    n_blocks, rest = divmod(problem.n_samples, block)
    gemms = [
        replace(gemm, count=gemm.count * n_blocks)
        for gemm in block_gemms(problem.covariance_type, block, *shape)
    ]
    if rest:
        gemms += block_gemms(problem.covariance_type, rest, *shape)
    return [gemm for gemm in gemms if gemm.count]


def time_gemm(gemm: Gemm, rng: np.random.Generator) -> float:
    """Seconds for ``gemm.count`` products of fresh operands of its shape."""
    if gemm.transpose_a:
        a = rng.standard_normal((gemm.k, gemm.m)).T
    else:
        a = rng.standard_normal((gemm.m, gemm.k))
    b = rng.standard_normal((gemm.k, gemm.p))
    out = np.empty((gemm.m, gemm.p))
    start = time.perf_counter()
    for _ in range(gemm.count):
        np.matmul(a, b, out=out)
    return time.perf_counter() - start


def peak_gflops(repeats: int, size: int = PEAK_GEMM_SIZE) -> float:
    """Best GFLOP/s of a square float64 ``numpy.matmul`` of order ``size``."""
    gemm = Gemm(size, size, size)
    rng = np.random.default_rng(0)
    return gemm.flops / min(time_gemm(gemm, rng) for _ in range(repeats)) / 1e9


def floor_seconds(gemms: Sequence[Gemm], repeats: int) -> float:
    """Median over repeats of the time of all ``gemms`` in plain numpy."""
    rng = np.random.default_rng(0)
    return statistics.median(
        sum(time_gemm(gemm, rng) for gemm in gemms) for _ in range(repeats)
    )


# --------------------------------------------------------------------------
# formatting


def fmt(value: float | None, spec: str = ".3g", suffix: str = "") -> str:
    """Format a number, or ``n/a`` for None / NaN."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:{spec}}{suffix}"


def fmt_memory(peak: int, nbytes: int) -> str:
    """Peak bytes as ``MiB (multiple of X.nbytes)``."""
    return f"{peak / 2**20:.1f} MiB ({peak / nbytes:.1f}x)"


def markdown_table(columns: Sequence[str], rows: Sequence[dict]) -> str:
    """A Markdown table with one line per row dict (keys: ``columns``)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row[c] for c in columns) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# one problem


def em_contenders(problem: Problem, X: np.ndarray, init, ours: type, d4p):
    """Contenders of a fixed-length EM problem: ours, sklearn, and extras."""
    contenders = [
        Contender("ours", mixture_runner(ours, X, problem, init)),
        Contender("sklearn", mixture_runner(SklearnGaussianMixture, X, problem, init)),
    ]
    if problem.covariance_type == "full":
        X32 = X.astype(np.float32)
        contenders.append(
            Contender("ours-f32", mixture_runner(ours, X32, problem, init))
        )
    if d4p is not None and problem.covariance_type in DAAL_STORAGE:
        runner = daal4py_runner(d4p, X, problem, init)
        contenders.append(Contender("daal4py", runner))
        if problem.covariance_type == "full":
            runner = daal4py_runner(d4p, X32, problem, init)
            contenders.append(Contender("daal4py-f32", runner))
    return contenders


def em_row(problem, timings, peaks, floor, nbytes) -> dict:
    """Table row of a fixed-length EM problem."""
    ours, sk = timings["ours"], timings["sklearn"]
    f32, daal = timings.get("ours-f32"), timings.get("daal4py")
    daal32 = timings.get("daal4py-f32")
    flops = sum(gemm.flops for gemm in iteration_gemms(problem))
    return {
        "problem": f"{problem.name} ({problem.max_iter} it)",
        "ours s/iter": fmt(ours.per_iter),
        "sklearn s/iter": fmt(sk.per_iter),
        "ratio": fmt(sk.per_iter / ours.per_iter, ".2f", "x"),
        "daal4py s/iter": fmt(daal and daal.per_iter),
        "GFLOP/s": fmt(flops / ours.per_iter / 1e9, ".1f"),
        "floor s/iter": fmt(floor),
        "ours/floor": fmt(ours.per_iter / floor, ".1f", "x"),
        "peak mem ours (xX)": fmt_memory(peaks["ours"], nbytes),
        "peak mem sklearn (xX)": fmt_memory(peaks["sklearn"], nbytes),
        "float32 speedup": fmt(f32 and ours.per_iter / f32.per_iter, ".2f", "x"),
        "ours f32 s/iter": fmt(f32 and f32.per_iter),
        "daal4py f32 s/iter": fmt(daal32 and daal32.per_iter),
        "|Δ lower bound| rel": fmt(
            relative_gap(ours.lower_bound, sk.lower_bound), ".1e"
        ),
        "float32 |Δ lb| rel": fmt(
            f32 and relative_gap(f32.lower_bound, ours.lower_bound), ".1e"
        ),
    }


def em_notes(problem: Problem, timings: dict[str, Timing]) -> list[str]:
    """Notes on fixed costs, iteration counts and lower-bound agreement."""
    ours, sk = timings["ours"], timings["sklearn"]
    notes = [
        f"{problem.name}: fixed cost (fit less its iterations): "
        f"ours {ours.fixed:.3g} s, sklearn {sk.fixed:.3g} s"
    ]
    if relative_gap(ours.lower_bound, sk.lower_bound) > LB_TOLERANCE:
        notes.append(f"{problem.name}: WARNING lower bounds differ beyond 1e-6")
    for name, timing in timings.items():
        if timing.n_iter != problem.max_iter:
            notes.append(f"{problem.name}: {name} ran {timing.n_iter} iterations")
        if timing.spread > NOISE_SPREAD:
            notes.append(
                f"{problem.name}: WARNING {name} timings vary by "
                f"{timing.spread:.0%} between repeats (machine busy?)"
            )
        if not timing.per_iter > 0:
            notes.append(
                f"{problem.name}: WARNING {name} s/iter is not positive: timing "
                "noise exceeded the iterations' time (machine busy?)"
            )
    daal = timings.get("daal4py")
    if daal is not None and daal.n_iter == sk.n_iter:
        gap = relative_gap(daal.lower_bound, sk.lower_bound)
        notes.append(
            f"{problem.name}: daal4py goalFunction/n vs sklearn lower_bound_: "
            f"rel. diff {gap:.1e}"
        )
    return notes


def bench_em_problem(problem: Problem, ours: type, d4p, repeats: int):
    """Benchmark one fixed-length EM problem; return its row and notes."""
    X, labels = make_data(problem)
    init = initial_parameters(
        X, scrambled_labels(labels, problem.n_components), problem
    )
    contenders = em_contenders(problem, X, init, ours, d4p)
    log(f"{problem.name}: timing {', '.join(c.name for c in contenders)}")
    timings = time_contenders(contenders, problem.max_iter, repeats)
    log(f"{problem.name}: peak memory")
    peaks = {
        c.name: peak_memory(lambda c=c: c.run(min(MEMORY_ITER, problem.max_iter)))
        for c in contenders[:2]
    }
    log(f"{problem.name}: floor")
    floor = floor_seconds(iteration_gemms(problem), repeats)
    row = em_row(problem, timings, peaks, floor, X.nbytes)
    return row, em_notes(problem, timings)


def default_fit(cls: type, X: np.ndarray, problem: Problem, seed: int, **params):
    """Fit ``cls`` with default parameters (plus ``params``); return a RunResult."""
    estimator = cls(n_components=problem.n_components, random_state=seed, **params)
    seconds, _ = timed(lambda: estimator.fit(X))
    return RunResult(seconds, estimator.n_iter_, float(estimator.lower_bound_))


def daal4py_default_fit(d4p, X: np.ndarray, problem: Problem, seed: int) -> RunResult:
    """oneDAL's EM from its own default start (``em_gmm_init``: short EM
    runs from random starts), to scikit-learn's default tolerance.

    oneDAL stops when the total log-likelihood changes by less than
    ``accuracyThreshold`` (checked: with ``1e-3 * n`` it stops where the
    change per row falls below 1e-3), so that is scikit-learn's ``tol=1e-3``
    on the mean; ``maxIterations`` and ``regularizationFactor`` are
    scikit-learn's defaults too."""
    K = problem.n_components

    def fit():
        init = d4p.em_gmm_init(
            nComponents=K, engine=d4p.engines_mt19937(seed=seed)
        ).compute(X)
        return d4p.em_gmm(
            nComponents=K,
            maxIterations=100,
            accuracyThreshold=1e-3 * X.shape[0],
            regularizationFactor=REG_COVAR,
        ).compute(X, init.weights, init.means, init.covariances)

    seconds, result = timed(fit)
    goal = float(result.goalFunction[0, 0]) / X.shape[0]
    return RunResult(seconds, int(result.nIterations[0, 0]), goal)


def bench_end_to_end(problem: Problem, ours: type, repeats: int, d4p=None):
    """Default ``fit`` (init included) of ours, sklearn and daal4py (when
    installed) over several seeds."""
    X, _ = make_data(problem)
    classes = {"ours": ours, "sklearn": SklearnGaussianMixture}
    seeds = range(max(3, repeats))
    fits = {name: [] for name in classes}
    inits = {name: [] for name in classes}
    default_fit(ours, X, problem, 0, max_iter=1)  # untimed: first-call costs
    if d4p is not None:
        fits["daal4py"] = []
    for seed in seeds:
        gc.collect()
        order = list(classes.items())[:: 1 if seed % 2 == 0 else -1]
        for name, cls in order:
            fits[name].append(default_fit(cls, X, problem, seed))
            inits[name].append(default_fit(cls, X, problem, seed, max_iter=0))
        if d4p is not None:
            fits["daal4py"].append(daal4py_default_fit(d4p, X, problem, seed))
        log(f"{problem.name}: seed {seed} done")

    def median(name, runs, attribute):
        return statistics.median(getattr(run, attribute) for run in runs[name])

    wall = {name: median(name, fits, "seconds") for name in fits}
    row = {
        "problem": problem.name,
        "seeds": str(len(seeds)),
        "ours wall s": fmt(wall["ours"]),
        "sklearn wall s": fmt(wall["sklearn"]),
        "ratio": fmt(wall["sklearn"] / wall["ours"], ".2f", "x"),
        "daal4py wall s": fmt(wall.get("daal4py")),
    }
    for name in classes:
        row[f"{name} init s"] = fmt(median(name, inits, "seconds"))
    for name in ("ours", "sklearn", "daal4py"):
        found = name in fits
        row[f"{name} n_iter"] = fmt(
            median(name, fits, "n_iter") if found else None, "g"
        )
        row[f"{name} lower bound"] = fmt(
            median(name, fits, "lower_bound") if found else None, ".6f"
        )
    return row, []


# --------------------------------------------------------------------------
# report


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_description() -> str:
    """BLAS libraries, versions and thread counts from threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    entries = [
        f"{info['internal_api']} {info.get('version')} "
        f"({info.get('architecture', '?')}, {info['num_threads']} threads, "
        f"{Path(info['filepath']).name})"
        for info in threadpool_info()
        if info["user_api"] == "blas"
    ]
    return "; ".join(entries) or "unknown"


def package_version(module) -> str:
    """Version of an imported top-level module, or ``n/a``."""
    if module is None:
        return "n/a"
    version = getattr(module, "__version__", None)
    if version is None:  # daal4py: ask the distribution that installed it
        names = importlib.metadata.packages_distributions().get(module.__name__, [])
        versions = [importlib.metadata.version(name) for name in names]
        version = ", ".join(f"{n} {v}" for n, v in zip(names, versions, strict=True))
    return str(version or "unknown")


def load_average() -> str:
    """The 1-minute load average, or ``n/a``."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def machine_header(ours: type, d4p, args, load_at_start: str, peak: float) -> str:
    """Markdown header: machine, library versions, date and settings."""
    ours_module = sys.modules.get(ours.__module__.split(".")[0])
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    lines = [
        "# EM benchmark: gmm_estimators vs scikit-learn"
        + (" (quick)" if args.quick else ""),
        "",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores ({usable} usable)",
        f"- Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"daal4py {package_version(d4p)}",
        f"- ours: `{args.ours}` {package_version(ours_module)}",
        f"- BLAS: {blas_description()}",
        f"- numpy matmul peak: {peak:.1f} GFLOP/s "
        f"(float64 square matmul, best of {args.repeats})",
        f"- 1-min load average at start / end: {load_at_start} / {load_average()} "
        "(other processes on the machine disturb the timings)",
        f"- repeats: {args.repeats} (s/iter from the fastest runs, end to end medians; a pause of {SETTLE_SECONDS} s and a spin of {SPIN_SECONDS} s before each timed run); make_blobs cluster_std={CLUSTER_STD_PER_SQRT_D} sqrt(d), "
        f"seed {DATA_SEED}; init from true labels with {LABEL_NOISE:.0%} scrambled; "
        f"reg_covar={REG_COVAR}; floor blocks of {BLOCK_ROWS} rows",
    ]
    return "\n".join(lines)


def render_report(header: str, em_rows, end_rows, notes) -> str:
    """Assemble header, tables and notes into one Markdown document."""
    parts = [header]
    if em_rows:
        parts += ["## Fixed-length EM (s/iter)", markdown_table(EM_COLUMNS, em_rows)]
    if end_rows:
        parts += [
            "## Default fit, end to end (medians over seeds)",
            markdown_table(END_TO_END_COLUMNS, end_rows),
        ]
    if notes:
        parts += ["## Notes", "\n".join(f"- {note}" for note in notes)]
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------
# command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="problems: " + ", ".join(PROBLEM_NAMES),
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (< 20 s)")
    parser.add_argument(
        "--problems",
        nargs="+",
        choices=PROBLEM_NAMES,
        metavar="NAME",
        help="problems to run (default: all)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed runs per measurement (fastest for s/iter, median end to end)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Markdown output (default benchmarks/results.md, "
        "benchmarks/results_quick.md with --quick)",
    )
    parser.add_argument(
        "--ours",
        default=DEFAULT_OURS,
        help=f"'module:Class' benchmarked as ours (default {DEFAULT_OURS})",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        metavar="N",
        help="limit BLAS to N threads with threadpoolctl (default: no limit)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.out is None:
        name = "results_quick.md" if args.quick else "results.md"
        args.out = Path(__file__).resolve().parent / name
    return args


def selected_problems(names: Sequence[str] | None, quick: bool) -> list[Problem]:
    """Problems to run, in suite order.

    For ``--quick`` they are shrunk, and those that become identical (the
    same but for the name) are run once.
    """
    problems = [p for p in PROBLEMS if names is None or p.name in names]
    if not quick:
        return problems
    distinct = {}
    for problem in problems:
        distinct.setdefault(replace(problem.shrunk(), name=""), problem.shrunk())
    return list(distinct.values())


def blas_threads(n_threads: int | None):
    """Context that limits BLAS to ``n_threads`` threads (None: no limit)."""
    if n_threads is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_threads, user_api="blas")


def opening_notes(args: argparse.Namespace, d4p) -> list[str]:
    """Notes on the run itself: quick mode, daal4py missing."""
    notes = []
    if args.quick:
        notes.append(
            f"quick: every problem shrunk to n<={QUICK_SAMPLES}, "
            f"d<={QUICK_FEATURES}, K<={QUICK_COMPONENTS}, <={QUICK_ITER} "
            "iterations; the numbers only show that the script runs"
        )
    if d4p is None:
        notes.append("daal4py is not importable: its column is skipped")
    return notes


def run_problem(problem: Problem, ours: type, d4p, repeats: int):
    """Benchmark one problem; return ``(is_end_to_end, row, notes)``."""
    log(
        f"{problem.name}: n={problem.n_samples} d={problem.n_features} "
        f"K={problem.n_components} {problem.covariance_type}"
    )
    if problem.end_to_end:
        return True, *bench_end_to_end(problem, ours, repeats, d4p)
    return False, *bench_em_problem(problem, ours, d4p, repeats)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the selected problems and write the report after each one."""
    global SETTLE_SECONDS
    args = parse_args(argv)
    if args.quick:
        SETTLE_SECONDS = 0.0
    ours = load_estimator(args.ours)
    d4p = load_daal4py()
    with blas_threads(args.blas_threads):
        load_at_start = load_average()
        peak_size = QUICK_PEAK_GEMM_SIZE if args.quick else PEAK_GEMM_SIZE
        peak = peak_gflops(args.repeats, peak_size)
        rows = {False: [], True: []}  # keyed by end_to_end
        notes = opening_notes(args, d4p)
        for problem in selected_problems(args.problems, args.quick):
            end_to_end, row, problem_notes = run_problem(
                problem, ours, d4p, args.repeats
            )
            rows[end_to_end].append(row)
            notes += problem_notes
            header = machine_header(ours, d4p, args, load_at_start, peak)
            report = render_report(header, rows[False], rows[True], notes)
            args.out.write_text(report, encoding="utf-8")  # partial results survive
    log(f"written {args.out}")
    print(report)


if __name__ == "__main__":
    main()
