"""Benchmark EM on Dask arrays against the in-memory engine.

Run from the repository root (needs ``pip install -e '.[dask]'``)::

    python benchmarks/bench_dask.py            # n = 2M, d = 16, K = 8 full; 2-4 min on 2 cores
    python benchmarks/bench_dask.py --quick    # smoke run on tiny data (< 1 min)

Three measurements, on a ``distributed.LocalCluster`` of two worker processes
with one thread each (the in-memory engine gets the same two cores as two
block threads):

1. **Seconds per EM iteration** at n = 2,000,000, d = 16, K = 8, full
   covariances, float64, from the same parameters: the engine's own
   ``em_step`` on a numpy array against ``em_step`` on the same rows as a
   Dask array persisted on the workers (16 chunks), where each chunk computes
   its block statistics on its worker, the vectors are tree-summed there and
   the M-step runs here.  Medians over ``--repeats`` iterations.  Also the
   whole fit from given parameters (``tol=0``, a fixed number of
   iterations), which adds the Dask path's data pass and final pass.
2. **Traffic per iteration**: the parameters that go out (the pickled model
   and log-weights, one task every chunk depends on), the bytes the workers
   send each other (distributed's ``transfer_outgoing_bytes_total``: the
   parameters fetched by the second worker, the statistics vectors gathered
   for the tree sum) and the one vector that comes back.
3. **Out of core**: rows written as a stack of ``.npy`` files, one per chunk
   (``dask.array.to_npy_stack``), read by the workers at every pass
   (``from_npy_stack(mmap_mode=None)``: each task reads its chunk, nothing
   is kept), at two sizes; seconds per iteration and the peak resident
   memory of each worker and of the client, sampled every 20 ms.  Next to it
   the in-memory engine on ``numpy.load(mmap_mode='r')`` of one ``.npy``
   file (the one-machine route to data larger than memory).

Results go to ``benchmarks/dask_results.md`` (``--out`` to change), with the
machine, the load average and the versions; progress goes to stderr.
"""

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# the machine description, written once for the benchmarks
from bench_em import blas_description, cpu_model  # noqa: E402

try:
    import dask
    import dask.array as da
    import distributed
    import psutil
except ImportError as exc:  # pragma: no cover - a clear message, then out
    raise SystemExit(
        f"bench_dask.py needs dask, distributed and psutil ({exc}); "
        "pip install -e '.[dask]'"
    ) from exc

import scipy  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import gmm_estimators  # noqa: E402
from gmm_estimators import GaussianMixture  # noqa: E402
from gmm_estimators._dask import _DaskBlocks  # noqa: E402
from gmm_estimators._em import em_step, fit_blocks  # noqa: E402

MiB = 2**20
REG_COVAR = 1e-6
TARGET = 1.2
_START = time.perf_counter()


def log(message):
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr)


# -- data ---------------------------------------------------------------------------
def centers_and_std(d, K, seed=0):
    """Blob centres in make_blobs' box and a spread that makes them overlap."""
    rng = np.random.RandomState(seed)
    return rng.uniform(-10, 10, size=(K, d)), 0.5 * np.sqrt(d)


def blob_chunk(n, d, K, index, seed=0):
    """Rows ``index`` of a seeded mixture, drawn chunk by chunk (anywhere)."""
    centers, std = centers_and_std(d, K, seed)
    rng = np.random.RandomState(1000 + index)
    labels = rng.randint(K, size=n)
    return centers[labels] + std * rng.standard_normal((n, d))


def _blob_block(n_rows, d, K, block_id=None):
    # a map_blocks function: block_id says which chunk it draws
    return blob_chunk(n_rows, d, K, block_id[0])


def lazy_blobs(n, d, K, chunk):
    """A lazy Dask array of the rows, drawn on the workers."""
    n_chunks = -(-n // chunk)
    rows = [min(chunk, n - i * chunk) for i in range(n_chunks)]
    return da.map_blocks(
        lambda block_id=None: _blob_block(rows[block_id[0]], d, K, block_id),
        chunks=(tuple(rows), (d,)),
        dtype=np.float64,
        meta=np.empty((0, 0)),
    )


def numpy_blobs(n, d, K, chunk):
    """The same rows as :func:`lazy_blobs`, here."""
    n_chunks = -(-n // chunk)
    return np.concatenate(
        [blob_chunk(min(chunk, n - i * chunk), d, K, i) for i in range(n_chunks)]
    )


def initial_parameters(d, K):
    """Weights, means near the centres, unit-spread precisions."""
    centers, std = centers_and_std(d, K)
    rng = np.random.RandomState(1)
    means = centers + std * rng.standard_normal((K, d))
    precisions = np.broadcast_to(np.eye(d) / (4 * std**2), (K, d, d)).copy()
    return {
        "weights_init": np.full(K, 1.0 / K),
        "means_init": means,
        "precisions_init": precisions,
    }


# -- measurement --------------------------------------------------------------------
class PeakRSS:
    """Peak resident memory of some processes, sampled on a thread."""

    def __init__(self, pids, interval=0.02):
        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0)
        self.interval = interval
        self._stop = threading.Event()

    def _sample(self):
        for pid, proc in self.procs.items():
            try:
                self.peak[pid] = max(self.peak[pid], proc.memory_info().rss)
            except psutil.Error:
                pass

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self):
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def worker_pids(client):
    return list(client.run(os.getpid).values())


def worker_outgoing(client):
    """Bytes the workers have sent each other so far."""
    return sum(
        client.run(
            lambda dask_worker: dask_worker.transfer_outgoing_bytes_total
        ).values()
    )


def model_and_blocks(X, params, K, dask_X=None):
    """The full model at the given parameters, the numpy blocks and (for a
    Dask array of the same rows) the Dask blocks, with the same centre."""
    est = GaussianMixture(K, **params)
    cls = est._model_class()
    blocks, _ = fit_blocks(X, None, cls, est._fit_row_width(X.shape[1]))
    center = blocks.center.astype(np.float64)
    model = cls.from_precisions(params["means_init"], params["precisions_init"], center)
    dask_blocks = None
    if dask_X is not None:
        dask_blocks = _DaskBlocks(dask_X, None, center, blocks.data_var, blocks.rows)
    return model, np.asarray(params["weights_init"]), blocks, dask_blocks


def iteration_times(blocks, model, weights, repeats):
    """Seconds of ``repeats`` EM iterations from the same model, and the
    lower bound they report."""
    times = []
    limits = getattr(blocks, "limits", contextlib.nullcontext)
    with limits():
        for _ in range(repeats):
            start = time.perf_counter()
            _, _, lower_bound = em_step(blocks, model, weights, None, REG_COVAR, None)
            times.append(time.perf_counter() - start)
    return times, lower_bound


def timed_fit(X, params, K, iterations):
    est = GaussianMixture(
        K, tol=0.0, max_iter=iterations, reg_covar=REG_COVAR, **params
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    return time.perf_counter() - start, est


def new_cluster(workers):
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,
    )
    return cluster, distributed.Client(cluster)


# -- the three parts ----------------------------------------------------------------
def bench_iterations(args, client):
    n, d, K, chunk = args.n, args.d, args.K, args.chunk
    log(f"data: n={n} d={d} K={K}, chunks of {chunk} rows")
    X = numpy_blobs(n, d, K, chunk)
    Xd = lazy_blobs(n, d, K, chunk).persist()
    distributed.wait(Xd)
    # the scheduler may place more chunks on one worker than on the other,
    # and an iteration then waits for the busier one: say how they lie
    placement = sorted(
        Counter(w for ws in client.who_has(Xd).values() for w in ws).values()
    )
    params = initial_parameters(d, K)
    model, weights, blocks, dblocks = model_and_blocks(X, params, K, Xd)
    log("em_step: a Dask warm-up, then in memory and Dask alternately")
    iteration_times(dblocks, model, weights, 1)
    t_mem, t_dask, peer = [], [], []
    for _ in range(args.repeats):
        # alternating, so that a burst of load from other processes hits both
        times, lb_mem = iteration_times(blocks, model, weights, 1)
        t_mem += times
        before = worker_outgoing(client)
        times, lb_dask = iteration_times(dblocks, model, weights, 1)
        t_dask += times
        peer.append(worker_outgoing(client) - before)
    log("whole fits from the given parameters")
    fit_mem, est_mem = timed_fit(X, params, K, args.fit_iterations)
    fit_dask, est_dask = timed_fit(Xd, params, K, args.fit_iterations)
    row = {
        "n": n,
        "chunks": Xd.numblocks[0],
        "placement": placement,
        "mem_s": statistics.median(t_mem),
        "dask_s": statistics.median(t_dask),
        "lb_gap": abs(lb_mem - lb_dask) / abs(lb_mem),
        "fit_mem": fit_mem,
        "fit_dask": fit_dask,
        "fit_gap": float(
            np.max(np.abs(est_mem.means_ - est_dask.means_) / np.abs(est_mem.means_))
        ),
        "params_bytes": dblocks.traffic["params_bytes"],
        "stats_bytes": dblocks.traffic["stats_bytes"],
        "peer_bytes": statistics.median(peer),
        "peer_max": max(peer),
        "data_bytes": X.nbytes,
    }
    del X, Xd
    client.cancel(list(client.futures))
    return row


def bench_out_of_core(args, workdir):
    d, K, chunk = args.d, args.K, args.chunk
    params = initial_parameters(d, K)
    rows = []
    for n in args.ooc_rows:
        stack = workdir / f"stack-{n}"
        single = workdir / f"single-{n}.npy"
        cluster, client = new_cluster(args.workers)
        try:
            log(f"out of core, n={n}: writing the .npy stack on the workers")
            da.to_npy_stack(str(stack), lazy_blobs(n, d, K, chunk))
            log("  and one .npy file here, chunk by chunk")
            out = np.lib.format.open_memmap(
                single, mode="w+", dtype=np.float64, shape=(n, d)
            )
            for i, start in enumerate(range(0, n, chunk)):
                stop = min(n, start + chunk)
                out[start:stop] = blob_chunk(stop - start, d, K, i)
            out.flush()
            del out
            X_disk = da.from_npy_stack(str(stack), mmap_mode=None)
            pids = worker_pids(client)
            me = os.getpid()
            log("  dask fit on the stack (read at every pass)")
            with PeakRSS([me, *pids]) as peak:
                base = dict(peak.peak)
                fit_s, est = timed_fit(X_disk, params, K, args.ooc_iterations)
            passes = est.n_iter_ + 2  # the data pass, the iterations, the final pass
            X_map = np.load(single, mmap_mode="r")
            log("  in-memory engine on np.load(mmap_mode='r')")
            with PeakRSS([me]) as mpeak:
                mbase = dict(mpeak.peak)
                map_s, est_map = timed_fit(X_map, params, K, args.ooc_iterations)
            rows.append(
                {
                    "n": n,
                    "data_mib": n * d * 8 / MiB,
                    "chunk_mib": chunk * d * 8 / MiB,
                    "chunks": X_disk.numblocks[0],
                    "dask_fit": fit_s,
                    "dask_pass": fit_s / passes,
                    "worker_peak": max(peak.peak[p] for p in pids) / MiB,
                    "client_growth": (peak.peak[me] - base[me]) / MiB,
                    "map_fit": map_s,
                    "map_pass": map_s / (est_map.n_iter_ + 1),
                    "map_growth": (mpeak.peak[me] - mbase[me]) / MiB,
                    "gap": float(
                        np.max(
                            np.abs(est.means_ - est_map.means_) / np.abs(est_map.means_)
                        )
                    ),
                }
            )
            del X_map
        finally:
            client.close()
            cluster.close()
            shutil.rmtree(stack, ignore_errors=True)
            single.unlink(missing_ok=True)
    return rows


# -- report -------------------------------------------------------------------------
def uptime():
    try:
        return os.popen("uptime").read().strip()
    except OSError:  # pragma: no cover
        return "n/a"


def report(args, it, ooc, up_start, up_end, elapsed):
    lines = [
        "# Dask benchmark: EM on a LocalCluster against the in-memory engine"
        + (" (quick)" if args.quick else ""),
        "",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- command: `python benchmarks/bench_dask.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores; "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB memory",
        f"- Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"dask {dask.__version__}, distributed {distributed.__version__}, "
        f"gmm_estimators {gmm_estimators.__version__}",
        f"- BLAS: {blas_description()}",
        f"- cluster: LocalCluster of {args.workers} worker processes x 1 thread; "
        f"the in-memory engine runs its blocks on the same cores",
        f"- `uptime` at start: {up_start}",
        f"- `uptime` at end: {up_end}",
        "  (other processes on the machine share its cores and disturb the timings)",
        f"- total benchmark time: {elapsed:.0f} s",
        "",
        f"## Seconds per EM iteration (full, d={args.d}, K={args.K}, float64)",
        "",
        "| n | chunks | in memory s/iter | Dask s/iter | ratio | target | "
        "rel. gap of the lower bounds |",
        "|---|---|---|---|---|---|---|",
        f"| {it['n']:,} | {it['chunks']} | {it['mem_s']:.3f} | {it['dask_s']:.3f} | "
        f"{it['dask_s'] / it['mem_s']:.2f}x | {TARGET}x | {it['lb_gap']:.1e} |",
        "",
        f"Medians of {args.repeats} iterations of the engine's `em_step` from the "
        "same parameters, in memory and Dask alternately (Dask: the array "
        "persisted on the workers, chunks per "
        f"worker {it['placement']}; the first Dask "
        "iteration, which imports and warms the workers, is not timed).",
        "",
        f"Whole fit from the given parameters, {args.fit_iterations} iterations, "
        f"`tol=0`: in memory {it['fit_mem']:.2f} s, Dask {it['fit_dask']:.2f} s "
        "(Dask adds its data pass and its final pass, each about one iteration's "
        f"reading of the data; fitted means agree to {it['fit_gap']:.1e}).",
        "",
        "## Traffic per iteration",
        "",
        "| what | bytes |",
        "|---|---|",
        f"| parameters out (pickled model and log-weights, one task) | "
        f"{it['params_bytes']:,} |",
        f"| between workers (measured, median of the iterations: the parameters "
        f"fetched by the other worker, the chunks' statistics gathered for the tree "
        f"sum) | {it['peer_bytes']:,.0f} |",
        f"| statistics back to the client (one vector of K(1 + d + d^2) + 2 numbers) "
        f"| {it['stats_bytes']:,} |",
        f"| the data, for comparison | {it['data_bytes']:,} |",
        "",
        f"The most the workers sent each other in one iteration: {it['peer_max']:,} "
        "bytes. More than the median means distributed's work stealing moved a "
        "chunk: when other processes slow one worker down, the idle one takes "
        "over a task and fetches its chunk (it then keeps a copy).",
        "",
        "## Out of core: a stack of .npy files read at every pass",
        "",
        "| n | data MiB | chunks (MiB each) | Dask s/pass | worker peak RSS MiB | "
        "client growth MiB | memmap s/pass | memmap growth MiB | rel. gap |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ooc:
        lines.append(
            f"| {r['n']:,} | {r['data_mib']:.0f} | {r['chunks']} ({r['chunk_mib']:.0f}) | "
            f"{r['dask_pass']:.2f} | {r['worker_peak']:.0f} | {r['client_growth']:.0f} | "
            f"{r['map_pass']:.2f} | {r['map_growth']:.0f} | {r['gap']:.0e} |"
        )
    lines += [
        "",
        f"Fits from the given parameters, {args.ooc_iterations} iterations, `tol=0`. "
        "Dask s/pass is the fit's time over its passes (the data pass, the "
        "iterations, the final pass): every pass reads every chunk from its file "
        "(from the page cache when it is warm). Worker peak RSS is the largest "
        "resident set of a worker process during the fit (a worker starts at "
        "about 100-150 MiB: Python, numpy, dask); client growth is the client "
        "process's. memmap: the in-memory engine on `np.load(mmap_mode='r')` of "
        "one .npy file (no Dask; s/pass over its iterations and final E-step); "
        "its growth counts the file's pages it has touched, which are page cache "
        "the kernel reclaims under pressure, not allocations.",
    ]
    cores = os.cpu_count() or 1
    load = max(os.getloadavg())
    if load > cores:
        lines += [
            "",
            f"The load average ({load:.1f}) exceeded the {cores} cores: other "
            "processes shared them, so absolute times are inflated; the ratios, "
            "measured in the same run, are the informative part.",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--K", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=125_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--fit-iterations", type=int, default=5)
    parser.add_argument(
        "--ooc-rows", type=int, nargs="+", default=[2_000_000, 8_000_000]
    )
    parser.add_argument("--ooc-iterations", type=int, default=3)
    parser.add_argument("--tmpdir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.d, args.K, args.chunk = 40_000, 4, 3, 10_000
        args.repeats, args.fit_iterations = 2, 2
        args.ooc_rows, args.ooc_iterations = [40_000], 2
    out = args.out or (
        REPO_ROOT
        / "benchmarks"
        / ("dask_results_quick.md" if args.quick else "dask_results.md")
    )
    up_start = uptime()
    cluster, client = new_cluster(args.workers)
    try:
        it = bench_iterations(args, client)
    finally:
        client.close()
        cluster.close()
    workdir = Path(tempfile.mkdtemp(prefix="bench_dask-", dir=args.tmpdir))
    try:
        ooc = bench_out_of_core(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = report(args, it, ooc, up_start, uptime(), time.perf_counter() - _START)
    out.write_text(text)
    print(text)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
