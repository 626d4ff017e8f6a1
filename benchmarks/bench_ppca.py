"""Benchmark MixtureOfPPCA against GaussianMixture (full and diag) at d = 784.

Run from the repository root::

    python benchmarks/bench_ppca.py            # n=50k, d=784, K=10, q=10; ~10 min
    python benchmarks/bench_ppca.py --quick    # tiny smoke run (< 30 s), prints only
    python benchmarks/bench_ppca.py --n 20000 --repeats 5 --out /tmp/ppca.md

The data are drawn from a mixture of probabilistic PCA (K components of latent
dimension q, unit noise), in float64 and, as a copy, in float32.

What is measured, per estimator and dtype:

* **s/iter**: one EM iteration (E-step and M-step, one pass over the data)
  through the engine's own ``em_step`` -- the code ``fit`` runs at each
  iteration, with the same blocks and threads -- from the parameters of a
  fitted model; the median of ``--repeats`` runs.
* **peak MiB/iter**: the peak of ``tracemalloc`` (numpy's allocations, not
  BLAS's internal buffers) during one iteration; the data array itself is
  allocated before and not counted.
* **fit**: for MixtureOfPPCA and diag, a default ``fit`` end to end (k-means
  initialisation on a subsample, the model's own initialisation, EM to
  ``tol=1e-3``, the final E-step): wall seconds and iterations; its peak MiB
  from a traced copy stopped after two iterations (initialisation and first
  iterations are where the peak is reached).

A full-covariance ``fit`` at d=784 takes many minutes (each iteration is about
``4 n K d^2`` flops, 1.2 TFLOP here), so full is measured differently and
labelled so: its parameters come from a ``fit`` with ``max_iter=1`` on a
subsample of ``--full-fit-rows`` rows, and then one iteration on all ``n``
rows is timed (a single run, no median).

The flop model counts matrix products only (``2 m k p`` for an ``(m, k)`` by
``(k, p)`` product), per iteration::

    ppca  E  [X, 1] @ [A_k; -m_k A_k]  (K q columns) and the K distances  2 n d K (q + 1)
          M  [X, 1]^T (resp * Y)  and  R^T X                            2 n d K (q + 1)
    diag  E and M, as in bench_em.py                                     8 n d K
    full  E and M, as in bench_em.py                                     4 n d^2 K + 2 n d K
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from gmm_estimators import GaussianMixture  # noqa: E402
from gmm_estimators._em import _Blocks, em_step  # noqa: E402
from gmm_estimators._ppca import MixtureOfPPCA  # noqa: E402

MiB = 2**20


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_data(n, d, K, q, seed=0):
    """Samples of a mixture of PPCA: unit noise, axes of std ~ sqrt(d) / 2."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(K, size=n)
    means = rng.standard_normal((K, d))
    X = rng.standard_normal((n, d))  # the noise, sigma = 1
    for k in range(K):
        rows = np.flatnonzero(labels == k)
        W = 0.5 * rng.standard_normal((d, q))
        X[rows] += means[k] + rng.standard_normal((len(rows), q)) @ W.T
    return X


def engine_iteration(est, X):
    """A callable running one EM iteration of a fitted estimator on X."""
    center = X.mean(axis=0, dtype=np.float64)
    model = est._get_model(center)
    weights = np.asarray(est.weights_, dtype=np.float64)
    blocks = _Blocks(X, center, est._row_width())

    def run():
        with blocks.limits():
            em_step(blocks, model, weights, None, est.reg_covar, None)

    return run, blocks


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def traced_peak(fn):
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MiB
    finally:
        tracemalloc.stop()


def flops(kind, n, d, K, q):
    if kind == "ppca":
        return 4.0 * n * (d + 1) * K * (q + 1)
    if kind == "diag":
        return 8.0 * n * d * K
    return 4.0 * n * d * d * K + 2.0 * n * d * K


def param_mib(kind, d, K, q, itemsize):
    per = {"ppca": d * q + d + q + 1, "diag": 2 * d, "full": 3 * d * d + d}[kind]
    return K * per * itemsize / MiB


def quiet_fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def bench(args):
    n, d, K, q = args.n, args.d, args.K, args.q
    log(f"data: n={n} d={d} K={K} q={q}")
    X64 = make_data(n, d, K, q)
    rows = []
    for dtype in (np.float64, np.float32):
        X = X64 if dtype == np.float64 else X64.astype(np.float32)
        name = np.dtype(dtype).name
        for kind in ("ppca", "diag", "full"):
            log(f"{kind} {name}")
            row = {"kind": kind, "dtype": name}
            if kind == "full":
                est = GaussianMixture(
                    K, covariance_type="full", max_iter=1, random_state=0
                )
                quiet_fit(est, X[: args.full_fit_rows])
                run, blocks = engine_iteration(est, X)
                row["s_iter"] = timed(run, 1)
                row["peak"] = traced_peak(run)
                row["note"] = (
                    f"parameters from max_iter=1 on {args.full_fit_rows} rows; "
                    "one timed iteration on all rows"
                )
            else:
                if kind == "ppca":
                    est = MixtureOfPPCA(K, n_latent=q, random_state=0)
                else:
                    est = GaussianMixture(K, covariance_type="diag", random_state=0)
                gc.collect()
                start = time.perf_counter()
                quiet_fit(est, X)
                row["fit_s"] = time.perf_counter() - start
                row["n_iter"] = est.n_iter_
                # the peak of a fit is reached by its initialisation and first
                # iterations: trace a copy stopped after two
                short = clone(est).set_params(max_iter=2)
                row["fit_peak"] = traced_peak(lambda e=short, X=X: quiet_fit(e, X))
                row["log_likelihood"] = est.log_likelihood_
                run, blocks = engine_iteration(est, X)
                run()  # warm up
                row["s_iter"] = timed(run, args.repeats)
                row["peak"] = traced_peak(run)
                row["note"] = ""
            row["blocks"] = (
                f"{blocks.n_blocks} x {blocks.rows} rows, {blocks.n_threads} threads"
            )
            row["gflops"] = flops(kind, n, d, K, q) / row["s_iter"] / 1e9
            row["params"] = param_mib(kind, d, K, q, X.itemsize)
            rows.append(row)
            log(f"  {row['s_iter']:.3f} s/iter, peak {row['peak']:.1f} MiB")
        del X
    return rows


def environment():
    from threadpoolctl import threadpool_info

    blas = [
        f"{i['internal_api']} {i['version']} ({i.get('architecture')}, "
        f"{i['num_threads']} threads)"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "versions": (
            f"Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}"
        ),
        "blas": "; ".join(blas),
    }


def report(rows, args, env, load_start, load_end, elapsed):
    n, d, K, q = args.n, args.d, args.K, args.q
    by = {(r["kind"], r["dtype"]): r for r in rows}
    lines = [
        "# MixtureOfPPCA benchmark",
        "",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- command: `python benchmarks/bench_ppca.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- CPU: {env['cpu']}",
        f"- {env['versions']}",
        f"- BLAS: {env['blas']}",
        f"- 1-min load average at start / end: {load_start:.2f} / {load_end:.2f} "
        "(other processes on the machine disturb the timings)",
        f"- data: n={n}, d={d}, K={K}, q={q}, drawn from a mixture of PPCA "
        "(unit noise); float32 is a copy of the float64 data",
        f"- s/iter: median of {args.repeats} runs of the engine's `em_step` "
        "(what `fit` runs per iteration); peak: tracemalloc during one iteration",
        f"- total benchmark time: {elapsed:.0f} s",
        "",
        "## One EM iteration",
        "",
        "| model | dtype | s/iter | GFLOP/s | vs PPCA | peak MiB/iter | parameters MiB | blocks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    labels = {
        "ppca": f"MixtureOfPPCA(q={q})",
        "diag": "GaussianMixture(diag)",
        "full": "GaussianMixture(full) *",
    }
    for r in rows:
        ppca = by[("ppca", r["dtype"])]
        lines.append(
            f"| {labels[r['kind']]} | {r['dtype']} | {r['s_iter']:.3g} | "
            f"{r['gflops']:.1f} | {r['s_iter'] / ppca['s_iter']:.2g}x | "
            f"{r['peak']:.1f} | {r['params']:.2f} | {r['blocks']} |"
        )
    full = [r for r in rows if r["kind"] == "full"]
    if full:
        lines += ["", f"\\* {full[0]['note']}."]
    lines += [
        "",
        "## Default fit, end to end",
        "",
        "| model | dtype | wall s | n_iter | peak MiB | log-likelihood / sample |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "fit_s" in r:
            lines.append(
                f"| {labels[r['kind']]} | {r['dtype']} | {r['fit_s']:.1f} | "
                f"{r['n_iter']} | {r['fit_peak']:.1f} | {r['log_likelihood']:.2f} |"
            )
    x_mib = n * d * 8 / MiB
    lines += [
        "",
        "## Notes",
        "",
        f"- The float64 data array is {x_mib:.0f} MiB (float32: {x_mib / 2:.0f} MiB); "
        "it is not part of the peaks.",
        "- MixtureOfPPCA never forms a d x d matrix: its parameters are "
        "K (d q + d + q + 1) numbers, the block temporaries O(block (d + K q)).",
        "- The full covariance model keeps three K x d x d stacks (covariances, "
        "precision Cholesky factors, precisions) and its E-step produces a "
        "K x block x d array.",
        "- GFLOP/s use the flop model in the script's docstring (matrix products only).",
        "- A default fit peaks at the same memory for MixtureOfPPCA and diag: the "
        "peak is the shared k-means initialisation (a subsample of up to 20 000 "
        "rows and KMeans's own copies), not the model.",
    ]
    cores = os.cpu_count() or 1
    if max(load_start, load_end) > cores:
        lines.append(
            f"- The load average exceeded the {cores} cores: other processes "
            "shared them, so absolute times are inflated (two threads then run "
            "no faster than one); the ratios between rows, measured in the same "
            "run, are the informative part."
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=784)
    parser.add_argument("--K", type=int, default=10)
    parser.add_argument("--q", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full-fit-rows", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.d, args.K, args.q = 3000, 64, 4, 3
        args.full_fit_rows = 1000
        args.repeats = 1
    out = args.out
    if out is None and not args.quick:
        out = REPO_ROOT / "benchmarks" / "ppca_results.md"
    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    rows = bench(args)
    text = report(
        rows,
        args,
        environment(),
        load_start,
        os.getloadavg()[0],
        time.perf_counter() - start,
    )
    print(text)
    if out is not None:
        out.write_text(text)
        log(f"written to {out}")


if __name__ == "__main__":
    main()
