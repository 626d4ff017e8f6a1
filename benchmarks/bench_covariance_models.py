"""Seconds per EM iteration of mclust's fourteen covariance models against 'full'.

Run from the repository root::

    python benchmarks/bench_covariance_models.py            # n=20000, d in {4, 16}, K=8
    python benchmarks/bench_covariance_models.py --quick    # smoke run, a few seconds
    python benchmarks/bench_covariance_models.py --d 4 8 16 --repeats 5 --out /tmp/r.md

Issue 10 asks that each parsimonious model cost at most 1.5 times the
full-covariance model per EM iteration at the same ``n``, ``d`` and ``K``.
Every model runs ``gmm_estimators.GaussianMixture`` on the same float64 data
from its own one-M-step start from the same partition (the true labels with 10%
reassigned at random), with ``tol=0``; the seconds per iteration are
``(median t(max_iter=L) - median t(max_iter=1)) / (L - 1)`` so that the fixed
costs (validation, the initial M-step, the final E-step) are not counted. The
repeats are interleaved (every model once, then again) so that a change of the
machine's load affects all models alike; 'VVV' is the same class as 'full',
so its ratio shows the noise of the measurement.

The data: ``K`` blobs of ``n / K`` points, each a standard normal cloud
stretched by its own random linear map (condition number about 10, random
orientation), centres drawn in a box of side ``6 sqrt(d)``, so that components
differ in volume, shape and orientation and the constrained M-steps have work
to do. The Markdown report goes to ``benchmarks/covariance_models_results.md``
(``..._quick.md`` with ``--quick``) and to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# the machine description, written once for the benchmarks
from bench_em import blas_description, cpu_model  # noqa: E402

import gmm_estimators  # noqa: E402
from gmm_estimators import GaussianMixture  # noqa: E402
from gmm_estimators._covariance import MCLUST_MODELS  # noqa: E402
from gmm_estimators._gaussian_mixture import initial_parameters  # noqa: E402

TARGET_RATIO = 1.5
REG_COVAR = 1e-6
LABEL_NOISE = 0.10
SEED = 0
_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr)


def make_data(n: int, d: int, K: int, seed: int = SEED):
    """Blobs with their own volume, shape and orientation, and noisy labels."""
    rng = np.random.default_rng(seed)
    sizes = np.full(K, n // K)
    sizes[: n - sizes.sum()] += 1
    parts, labels = [], []
    for k, size in enumerate(sizes):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))  # random orientation
        axes = np.geomspace(1.0, 10.0, d) * rng.uniform(0.5, 2.0)  # shape, volume
        centre = rng.uniform(-3.0, 3.0, d) * np.sqrt(d)
        parts.append(centre + (rng.standard_normal((size, d)) * axes) @ q.T)
        labels.append(np.full(size, k))
    X, y = np.concatenate(parts), np.concatenate(labels)
    order = rng.permutation(n)
    X, y = X[order], y[order]
    noisy = y.copy()
    chosen = rng.random(n) < LABEL_NOISE
    noisy[chosen] = rng.integers(0, K, chosen.sum())
    return np.ascontiguousarray(X), noisy


def fit_seconds(X, K, name, init, max_iter):
    """Wall time of one fit of ``max_iter`` iterations from ``init``."""
    w, m, p = init
    gm = GaussianMixture(
        K,
        covariance_type=name,
        weights_init=w,
        means_init=m,
        precisions_init=p,
        tol=0.0,
        reg_covar=REG_COVAR,
        max_iter=max_iter,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            gm.fit(X)
            seconds = time.perf_counter() - start
        finally:
            gc.enable()
    return seconds, gm


def bench_problem(n, d, K, models, long_iter, repeats):
    """Per-iteration seconds of each model (interleaved repeats)."""
    X, labels = make_data(n, d, K)
    inits = {
        name: initial_parameters(X, labels, name, reg_covar=REG_COVAR)
        for name in models
    }
    for name in models:  # warm-up: imports, thread pools, caches
        fit_seconds(X, K, name, inits[name], 1)
    long_t = {name: [] for name in models}
    short_t = {name: [] for name in models}
    final = {}
    for r in range(repeats):
        order = models if r % 2 == 0 else models[::-1]
        for name in order:
            t, gm = fit_seconds(X, K, name, inits[name], long_iter)
            long_t[name].append(t)
            final[name] = gm
            short_t[name].append(fit_seconds(X, K, name, inits[name], 1)[0])
        log(f"n={n} d={d} K={K}: repeat {r + 1}/{repeats} done")
    out = {}
    for name in models:
        per_iter = (
            statistics.median(long_t[name]) - statistics.median(short_t[name])
        ) / (long_iter - 1)
        spread = max(long_t[name]) / min(long_t[name]) - 1
        out[name] = dict(
            per_iter=per_iter,
            spread=spread,
            n_iter=final[name].n_iter_,
            lower_bound=float(final[name].lower_bound_),
        )
    return out


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def render(args, results, load_start, load_end, seconds) -> str:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    lines = [
        "# Per-iteration cost of mclust's fourteen covariance models vs 'full'"
        + (" (quick)" if args.quick else ""),
        "",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}; "
        f"gmm_estimators {gmm_estimators.__version__} (commit {git_commit()})",
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores ({usable} usable); "
        f"BLAS: {blas_description()}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}",
        f"- load average (1, 5, 15 min) at start: {load_start}; at end: {load_end}. "
        "The machine is shared with other work: timings are disturbed, and the "
        "spread column shows by how much (max/min - 1 of the long runs).",
        f"- n={args.n}, K={args.K}, float64, reg_covar={REG_COVAR}, tol=0; seconds per "
        f"iteration = (median t({args.iterations} iterations) - median t(1)) / "
        f"{args.iterations - 1}, medians of {args.repeats} interleaved repeats; "
        f"whole run {seconds:.0f} s",
    ]
    if args.quick:
        lines.append(
            "- quick run: tiny data and one repeat; the numbers mean nothing, the run "
            "checks that the script works"
        )
    lines.append("")
    ds = sorted(results)
    header = ["model"]
    for d in ds:
        header += [f"d={d} ms/iter", f"d={d} x full", f"d={d} spread"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    over = []
    for name in ("full",) + MCLUST_MODELS:
        if name not in results[ds[0]]:  # not asked for (--models)
            continue
        row = [f"`{name}`"]
        for d in ds:
            r = results[d][name]
            ratio = r["per_iter"] / results[d]["full"]["per_iter"]
            mark = " **!**" if ratio > TARGET_RATIO else ""
            if ratio > TARGET_RATIO:
                over.append(f"{name} at d={d} ({ratio:.2f}x)")
            row += [
                f"{1e3 * r['per_iter']:.2f}",
                f"{ratio:.2f}{mark}",
                f"{r['spread']:.0%}",
            ]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"Target (issue 10): at most {TARGET_RATIO}x full's per-iteration cost. "
        + (
            "Above it (**!**): " + ", ".join(over) + "."
            if over
            else "Every model is within it."
        ),
        "",
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run on tiny data")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--K", type=int, default=8)
    parser.add_argument("--d", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--iterations", type=int, default=21, help="long-run length")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MCLUST_MODELS))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.K, args.d = 1500, 3, [3]
        args.iterations, args.repeats = 3, 1
    if args.out is None:
        suffix = "_quick" if args.quick else ""
        args.out = REPO_ROOT / "benchmarks" / f"covariance_models_results{suffix}.md"
    return args


def main(argv=None):
    args = parse_args(argv)
    models = ["full"] + [m for m in args.models if m != "full"]
    load_start = load_average()
    start = time.perf_counter()
    results = {}
    for d in args.d:
        log(f"n={args.n} d={d} K={args.K}: {len(models)} models")
        results[d] = bench_problem(
            args.n, d, args.K, models, args.iterations, args.repeats
        )
    report = render(
        args, results, load_start, load_average(), time.perf_counter() - start
    )
    args.out.write_text(report)
    print(report)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
