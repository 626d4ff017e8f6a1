"""Stepwise (online) EM against exact EM, and the out-of-core paths.

Two measurements, written to ``benchmarks/online_results.md``:

1. **Passes to the optimum.**  On a mixture with well separated and one with
   overlapping clusters (by default n = 200 000, d = 8, K = 5, full
   covariances), exact EM (``GaussianMixture``, tol 1e-10) and stepwise EM
   (``OnlineGaussianMixture.partial_fit`` on shuffled mini-batches, a new
   order each pass, as ``fit`` does) start from the same parameters (a
   k-means start).  Reported: the passes over the data each needs to come
   within 1e-3 nats/row of exact EM's optimum (exact EM: iterations; online:
   measured every quarter pass, by an extra pass that is not counted), the
   gap left after the last pass, and the seconds per pass.
2. **Out of core.**  ``GaussianMixture.fit`` on a ``.npy`` file opened with
   ``np.load(mmap_mode="r")`` (by default 4 000 000 x 16 float64, 512 MB),
   and a plain loop of ``OnlineGaussianMixture.partial_fit`` over its chunks:
   seconds per pass and peak memory of a fresh process (``ru_maxrss``, which
   counts the file's pages mapped into the process, and the peak of its
   anonymous memory, ``RssAnon``, sampled every 20 ms: what the fit allocates).

Usage::

    python benchmarks/bench_online.py            # about 10 minutes on 2 cores
    python benchmarks/bench_online.py --quick    # smoke run (small data)

``--quick`` writes ``benchmarks/online_results_quick.md`` unless ``--out`` is
given; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning

import gmm_estimators
from gmm_estimators import GaussianMixture, OnlineGaussianMixture

HERE = Path(__file__).resolve().parent
TARGET = 1e-3  # nats per row
SEED = 0


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_average():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average: {load_average()}"


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_description():
    from threadpoolctl import threadpool_info

    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
        for i in libs
    )


# -- data -----------------------------------------------------------------------------


def make_mixture(n, d, K, separation, seed=SEED):
    """Rows of K Gaussian clusters with random full covariances (eigenvalues
    0.25 to 1 after a random rotation) and centres drawn from
    N(0, separation^2 I / d) (so centre distances are about separation*sqrt(2)
    standard deviations), in random order."""
    rng = np.random.RandomState(seed)
    centres = rng.standard_normal((K, d)) * separation / np.sqrt(d) * np.sqrt(2)
    roots = []
    for _ in range(K):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        roots.append(q * np.sqrt(rng.uniform(0.25, 1.0, d)))
    weights = rng.dirichlet(np.full(K, 5.0))
    labels = rng.choice(K, size=n, p=weights)
    X = np.empty((n, d))
    for k in range(K):
        rows = labels == k
        X[rows] = centres[k] + rng.standard_normal((rows.sum(), d)) @ roots[k].T
    return X


def start_of(X, K, covariance_type, init_params):
    """A start of the package's initialisations, as *_init: 'kmeans' (the
    default) or 'k-means++' (the seeds alone, a rougher start)."""
    gm = GaussianMixture(
        K,
        covariance_type=covariance_type,
        init_params=init_params,
        max_iter=0,
        random_state=SEED,
    ).fit(X)
    return {
        # k-means++ starts give weights of the seeds alone (as scikit-learn's)
        "weights_init": gm.weights_ / gm.weights_.sum(),
        "means_init": gm.means_,
        "precisions_init": gm.precisions_,
    }


# -- 1. passes to the optimum --------------------------------------------------------


def exact_em(X, K, covariance_type, start, max_iter):
    gm = GaussianMixture(
        K, covariance_type=covariance_type, tol=1e-10, max_iter=max_iter, **start
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        gm.fit(X)
        seconds = time.perf_counter() - t0
    # lower_bounds_[i] is the log-likelihood of the parameters after i
    # iterations (measured by iteration i + 1); then the final parameters'
    final = gm.score(X)
    history = np.append(gm.lower_bounds_, final)
    optimum = max(final, history.max())
    reached = np.flatnonzero(history >= optimum - TARGET)

    def gap_after(i):
        return optimum - history[min(i, len(history) - 1)]

    return {
        "optimum": optimum,
        "passes": int(reached[0]) if reached.size else None,
        "gap1": gap_after(1),
        "gap10": gap_after(10),
        "run": gm.n_iter_,
        # each iteration is one pass; fit adds a final pass (labels_)
        "s_per_pass": seconds / (gm.n_iter_ + 1),
    }


def online_em(X, K, covariance_type, start, optimum, setting, max_passes):
    """Stepwise EM from ``start``: the gap to the optimum every quarter pass
    for four passes, then after every pass, until the gap is below the
    target after at least ten passes, or ``max_passes``."""
    batch_size, decay, offset = setting
    gm = OnlineGaussianMixture(
        K,
        covariance_type=covariance_type,
        batch_size=batch_size,
        learning_decay=decay,
        learning_offset=offset,
        random_state=SEED,
        **start,
    )
    n = len(X)
    rng = np.random.RandomState(SEED)
    n_batches = max(1, -(-n // batch_size))
    bounds = np.linspace(0, n, n_batches + 1).round().astype(int)
    quarters = set(np.linspace(0, n_batches, 5).round().astype(int)[1:])
    res = {"passes": None, "gap1": None, "gap10": None}
    seconds = 0.0
    for p in range(max_passes):
        marks = quarters if p < 4 else {n_batches}
        order = rng.permutation(n)
        for i in range(n_batches):
            rows = np.sort(order[bounds[i] : bounds[i + 1]])
            t0 = time.perf_counter()
            gm.partial_fit(X[rows])
            seconds += time.perf_counter() - t0
            if i + 1 in marks:
                gap = optimum - gm.score(X)
                if res["passes"] is None and gap <= TARGET:
                    res["passes"] = p + (i + 1) / n_batches
        res["gap1" if p == 0 else "gap10" if p == 9 else "last"] = gap
        if p >= 9 and res["passes"] is not None:
            break
    res.update(run=p + 1, s_per_pass=seconds / (p + 1), last=gap)
    return res


def passes_table(args):
    rows = []
    problems = [
        (name, sep)
        for name, sep in [("separated", 8.0), ("overlapping", 0.6)]
        if name in args.problems
    ]
    for (data_name, separation), init in itertools.product(problems, args.starts):
        name = f"{data_name}, {init} start"
        X = make_mixture(args.n, args.d, args.K, separation)
        start = start_of(X, args.K, "full", init)
        log(f"{name}: exact EM")
        exact = exact_em(X, args.K, "full", start, args.max_exact)
        rows.append({"data": name, "method": "exact EM (GaussianMixture)", **exact})
        log(f"    {rows[-1]}")
        for setting in args.settings:
            batch_size, decay, offset = setting
            res = online_em(
                X, args.K, "full", start, exact["optimum"], setting, args.max_passes
            )
            method = f"online, batch_size={batch_size}, decay={decay}, t0={offset:g}"
            rows.append({"data": name, "method": method, **res})
            log(f"    {rows[-1]}")
    return rows


def render_passes(rows):
    lines = [
        "| data, start | method | gap after 1 pass | after 10 passes "
        "| passes to 1e-3 | passes run | s/pass |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]

    def gap(value):
        return "" if value is None else f"{value:.1e}"

    for r in rows:
        passes = "not reached" if r["passes"] is None else f"{r['passes']:.2f}"
        lines.append(
            f"| {r['data']} | {r['method']} | {gap(r['gap1'])} | {gap(r['gap10'])} "
            f"| {passes} | {r['run']} | {r['s_per_pass']:.3f} |"
        )
    return "\n".join(lines)


# -- 2. out of core ------------------------------------------------------------------


CHILD = r"""
import json, resource, sys, threading, time, warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from gmm_estimators import GaussianMixture, OnlineGaussianMixture

path, mode, K, iters, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
peak = {"anon": 0}
stop = threading.Event()

def status_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0

def sample():
    while not stop.is_set():
        peak["anon"] = max(peak["anon"], status_kib("RssAnon"))
        time.sleep(0.02)

out = {"base_anon_mib": status_kib("RssAnon") / 1024,
       "base_hwm_mib": status_kib("VmHWM") / 1024}
threading.Thread(target=sample, daemon=True).start()
X = np.load(path, mmap_mode="r")
out.update(rows=X.shape[0], features=X.shape[1], dtype=str(X.dtype))
warnings.simplefilter("ignore", ConvergenceWarning)
if mode == "exact":
    t0 = time.perf_counter()
    init = GaussianMixture(K, max_iter=0, random_state=0).fit(X)
    out["init_s"] = time.perf_counter() - t0
    start = dict(weights_init=init.weights_, means_init=init.means_,
                 precisions_init=init.precisions_)
    t0 = time.perf_counter()
    GaussianMixture(K, max_iter=iters, tol=0, **start).fit(X)
    # iters EM passes and the final pass of fit (labels_)
    out["s_per_pass"] = (time.perf_counter() - t0) / (iters + 1)
else:
    gm = OnlineGaussianMixture(K, random_state=0)
    t0 = time.perf_counter()
    for p in range(iters):
        for s in range(0, X.shape[0], chunk):
            gm.partial_fit(X[s:s + chunk])
    out["s_per_pass"] = (time.perf_counter() - t0) / iters
stop.set()
time.sleep(0.05)
out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["hwm_mib"] = status_kib("VmHWM") / 1024
out["peak_anon_mib"] = peak["anon"] / 1024
print(json.dumps(out))
"""

WRITER = r"""
import sys
import numpy as np

path, n, d, K, seed = sys.argv[1], *map(int, sys.argv[2:])
X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
rng = np.random.RandomState(seed)
centres = rng.standard_normal((K, d)) * 4.0
for s in range(0, n, 250_000):
    e = min(n, s + 250_000)
    labels = rng.randint(K, size=e - s)
    X[s:e] = centres[labels] + rng.standard_normal((e - s, d))
X.flush()
"""


def _rss_mib():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def out_of_core(args):
    rows = []
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        path = os.path.join(tmp, "rows.npy")
        log(f"writing {args.ooc_n} x {args.ooc_d} float64 to {path}")
        # in a process of its own: the written pages stay out of this one
        subprocess.run(
            [sys.executable, "-c", WRITER, path]
            + [str(v) for v in (args.ooc_n, args.ooc_d, args.ooc_K, SEED)],
            check=True,
        )
        size_mib = os.path.getsize(path) / 2**20
        for mode, iters in (("exact", args.ooc_iters), ("online", 1)):
            log(f"  {mode} on the memory map")
            parent_rss = _rss_mib()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    path,
                    mode,
                    str(args.ooc_K),
                    str(iters),
                    str(args.ooc_chunk),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res.update(mode=mode, size_mib=size_mib, iters=iters, parent=parent_rss)
            log(f"    {res}")
            rows.append(res)
    return rows


def render_out_of_core(rows, args):
    lines = [
        "| method | file (MiB) | s/pass | ru_maxrss (MiB) | VmHWM (MiB) "
        "| peak anonymous (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = {
        "exact": f"GaussianMixture.fit, K={args.ooc_K} full, {args.ooc_iters} "
        "iterations + final pass",
        "online": f"OnlineGaussianMixture.partial_fit loop, chunks of "
        f"{args.ooc_chunk} rows, 1 pass",
    }
    for r in rows:
        lines.append(
            f"| {names[r['mode']]} | {r['size_mib']:.0f} | {r['s_per_pass']:.2f} "
            f"| {r['maxrss_mib']:.0f} | {r['hwm_mib']:.0f} "
            f"| {r['peak_anon_mib']:.0f} |"
        )
    base = rows[0]
    lines += [
        "",
        "ru_maxrss is `resource.getrusage(RUSAGE_SELF).ru_maxrss` of the fresh "
        "process at the end; on Linux it also carries the high-water mark of the "
        f"process that spawned it (here {base['parent']:.0f} MiB resident at the "
        "time), so VmHWM (`/proc/self/status`, reset at exec) is the process's own "
        "peak. Both count the file's pages mapped into the process; the "
        "anonymous memory (`RssAnon`, sampled every 20 ms) is what the fit "
        f"allocates. At start the interpreter (numpy, scikit-learn and the package "
        f"imported) held {base['base_hwm_mib']:.0f} MiB resident, "
        f"{base['base_anon_mib']:.0f} MiB of it anonymous.",
    ]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------


def parse_settings(text):
    batch, decay, offset = text.split(",")
    return int(batch), float(decay), float(offset)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, small data")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--K", type=int, default=5)
    parser.add_argument("--max-passes", type=int, default=200)
    parser.add_argument("--problems", nargs="+", default=["separated", "overlapping"])
    parser.add_argument(
        "--starts", nargs="+", default=["kmeans", "k-means++"], help="init_params"
    )
    parser.add_argument("--max-exact", type=int, default=2000)
    parser.add_argument(
        "--settings",
        type=parse_settings,
        nargs="+",
        default=[
            (1024, 0.6, 1.0),  # the defaults
            (1024, 0.51, 1.0),
            (1024, 0.8, 1.0),
            (4096, 0.6, 1.0),
        ],
        help="online settings as batch_size,learning_decay,learning_offset",
    )
    parser.add_argument("--ooc-n", type=int, default=4_000_000)
    parser.add_argument("--ooc-d", type=int, default=16)
    parser.add_argument("--ooc-K", type=int, default=8)
    parser.add_argument("--ooc-iters", type=int, default=3)
    parser.add_argument("--ooc-chunk", type=int, default=4096)
    parser.add_argument("--skip-out-of-core", action="store_true")
    parser.add_argument("--tmpdir", default=None, help="where the .npy file goes")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.max_passes, args.max_exact = 20_000, 12, 300
        args.settings = args.settings[:2]
        args.ooc_n, args.ooc_iters = 200_000, 1
    out = args.out or HERE / (
        "online_results_quick.md" if args.quick else "online_results.md"
    )
    load_start = uptime()
    t_start = time.perf_counter()
    passes = passes_table(args)
    ooc = [] if args.skip_out_of_core else out_of_core(args)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    header = [
        "# Online (stepwise) EM and out-of-core fits"
        + (" (quick)" if args.quick else ""),
        "",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {cpu_model()}, {os.cpu_count()} cores ({usable} usable), "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM",
        f"- load (`uptime`) at start: `{load_start}`",
        f"- load (`uptime`) at end: `{uptime()}` (other processes share the machine: "
        "the seconds are indicative, the passes are not affected)",
        f"- Python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}, gmm_estimators "
        f"{gmm_estimators.__version__}",
        f"- BLAS: {blas_description()}",
        f"- command: `python benchmarks/bench_online.py{' --quick' if args.quick else ''}`"
        f" ({time.perf_counter() - t_start:.0f} s)",
        "",
        "## Passes over the data to come within 1e-3 nats/row of exact EM's optimum",
        "",
        f"n = {args.n}, d = {args.d}, K = {args.K}, full covariances, reg_covar 1e-6; "
        "both from the same k-means start (`GaussianMixture(max_iter=0)`'s). "
        "Separated: centres about 11 standard deviations apart; overlapping: about 3. "
        "Exact EM runs to tol 1e-10; its optimum is the reference. Online: one "
        "`partial_fit` per mini-batch, a new random order each pass; the gap is "
        "measured every quarter pass (fractional passes) and not counted in s/pass. "
        "The online runs stop once within the target after at least ten passes, "
        f"or after {args.max_passes} passes.",
        "",
        render_passes(passes),
    ]
    if ooc:
        header += [
            "",
            "## Out of core: a memory-mapped `.npy` file",
            "",
            f"{args.ooc_n} x {args.ooc_d} float64 (`np.load(path, mmap_mode='r')`), "
            f"{args.ooc_K} separated clusters; each measurement in a fresh process. "
            "The file was just written, so its pages are in the page cache: the "
            "passes read memory, not the disk (a cold first pass reads at the "
            "disk's speed). The file's pages are clean page cache, which the "
            "kernel reclaims at will: the memory a fit needs is the anonymous "
            "memory.",
            "",
            render_out_of_core(ooc, args),
        ]
    text = "\n".join(header) + "\n"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
