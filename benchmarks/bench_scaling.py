"""Scaling of one EM iteration with n, d and K: ours, scikit-learn, daal4py.

Run from the repository root::

    python benchmarks/bench_scaling.py            # about 5 minutes on 2 cores
    python benchmarks/bench_scaling.py --quick    # smoke run, a few seconds

Full covariance, float64. One axis is swept at a time around the base point
n = 100 000, d = 16, K = 8::

    n  10 000, 100 000, 1 000 000, 10 000 000
    d  2, 8, 32, 128, 256
    K  1, 4, 16, 64

Data, starting point and timed fits are those of ``bench_em.py`` (imported,
not copied): seeded ``make_blobs``, initial parameters from the true labels
with 20 % scrambled, ``tol=0`` and a fixed ``max_iter``, seconds per
iteration ``(min t(N) - min t(1)) / (N - 1)`` (the fastest of the repeats,
each timed run after ``bench_em``'s settling pause and spin) so that fixed costs are
left out. Each contender is first fitted once with ``max_iter=1`` (warm-up);
how long that took chooses the timing, so that the whole run stays short:

    warm-up < 0.5 s   N = 4 (3 timed iterations), 3 repeats (fastest)
    warm-up < 5 s     N = 4, 1 repeat
    otherwise         N = 6 (5 timed iterations), 1 repeat

A warm-up of 5 s or more means a fit whose fixed cost (checks, copies,
blocks) is large and varies by tenths of a second from fit to fit, so the
difference of two single fits needs several iterations to stand out: with
N = 2, ours at n = 10 000 000 came out at 0.18 s per iteration one run after
0.08 s at n = 1 000 000 (10 times fewer rows).

The warm-up itself is never timed: a first fit of a new shape pays for fresh
memory pages. (Taking it as the t(1) gave scikit-learn 2.2 s and then 0.83 s
per iteration at n = 1 000 000 in two runs; with a separate t(1), 2.9 s.)

scikit-learn is skipped where its memory would pass ``SKLEARN_MEMORY_LIMIT``
(its peak is about ``SKLEARN_PEAK_PER_X`` times the data, as bench_em.py's
tracemalloc column shows), e.g. at n = 10 000 000; daal4py (``em_gmm`` from
scikit-learn-intelex) runs only when importable. Writes
``benchmarks/scaling_results.md`` (machine, load, versions, one table per
axis) and the 3-panel log-log figure ``doc/_static/scaling.png``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import bench_em as em
import numpy as np
import scipy
import sklearn
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

HERE = Path(__file__).resolve().parent
DEFAULT_FIGURE = em.REPO_ROOT / "doc" / "_static" / "scaling.png"
BASE = {"n": 100_000, "d": 16, "K": 8}
AXES = {
    "n": (10_000, 100_000, 1_000_000, 10_000_000),
    "d": (2, 8, 32, 128, 256),
    "K": (1, 4, 16, 64),
}
QUICK_BASE = {"n": 2_000, "d": 4, "K": 2}
QUICK_AXES = {"n": (1_000, 4_000), "d": (2, 6), "K": (1, 3)}
AXIS_LABELS = {
    "n": "n (samples)",
    "d": "d (features)",
    "K": "K (components)",
}
# reference slopes (log-log), drawn from the base value to ours' last point;
# a full-covariance iteration costs O(n K d^2) (plus O(K d^3), not per row)
GUIDE_SLOPES = {"n": (1,), "d": (1, 2), "K": (1,)}
SKLEARN_PEAK_PER_X = 6.5  # bench_em.py: sklearn's tracemalloc peak / X.nbytes
SKLEARN_MEMORY_LIMIT = 4 * 2**30
# (warm-up seconds below, N, repeats); the last entry catches the rest
TIMING_PLANS = ((0.5, 4, 3), (5.0, 4, 1), (float("inf"), 6, 1))
LOAD_THRESHOLD = 1.0  # wait for a quieter machine before the full run ...
LOAD_POLL_SECONDS = 15
LOAD_MAX_WAIT = 300  # ... but no longer than this
CONTENDERS = ("ours", "sklearn", "daal4py")


@dataclass(frozen=True)
class Measure:
    """Seconds per iteration of one contender at one point, or why not."""

    per_iter: float | None
    plan: str  # "N it x repeats", or the reason it was skipped


# --------------------------------------------------------------------------
# measuring


def points(base: dict, axes: dict) -> list[tuple[str, dict]]:
    """Every (axis, shape) of the sweep, one axis varied at a time."""
    return [
        (axis, {**base, axis: value})
        for axis, values in axes.items()
        for value in values
    ]


def sklearn_bytes(shape: dict) -> float:
    """Estimated peak bytes of scikit-learn's fit on float64 data of ``shape``."""
    return (
        SKLEARN_PEAK_PER_X * 8 * shape["n"] * shape["d"] + 8 * shape["n"] * shape["K"]
    )


def time_one(run) -> Measure:
    """Warm up ``run`` with ``max_iter=1``, then time it by ``TIMING_PLANS``."""
    warm = run(em.SHORT_ITER)
    _, max_iter, repeats = next(p for p in TIMING_PLANS if warm.seconds < p[0])
    long_runs, short_runs = [], []
    for _ in range(repeats):
        gc.collect()
        long_runs.append(run(max_iter))
        short_runs.append(run(em.SHORT_ITER))
    timing = em.summarize(long_runs, short_runs)
    return Measure(timing.per_iter, f"{max_iter} it x {repeats}")


def measure_point(shape: dict, ours: type, d4p) -> dict[str, Measure]:
    """Time every available contender at one (n, d, K)."""
    problem = em.Problem(
        f"n{shape['n']}-d{shape['d']}-K{shape['K']}",
        "full",
        shape["n"],
        shape["d"],
        shape["K"],
    )
    X, labels = em.make_data(problem)
    init = em.initial_parameters(
        X, em.scrambled_labels(labels, problem.n_components), problem
    )
    result = {"ours": time_one(em.mixture_runner(ours, X, problem, init))}
    if sklearn_bytes(shape) > SKLEARN_MEMORY_LIMIT:
        result["sklearn"] = Measure(None, "skipped: memory > 4 GiB")
    else:
        runner = em.mixture_runner(SklearnGaussianMixture, X, problem, init)
        result["sklearn"] = time_one(runner)
    if d4p is None:
        result["daal4py"] = Measure(None, "not installed")
    else:
        try:
            result["daal4py"] = time_one(em.daal4py_runner(d4p, X, problem, init))
        except RuntimeError as exc:  # e.g. oneDAL's M-step refusing a covariance
            reason = " ".join(str(exc).split())[:80]
            em.log(f"  daal4py failed: {reason}")
            result["daal4py"] = Measure(None, f"failed: {reason}")
    return result


def wait_for_quiet_machine() -> str:
    """Poll the load average until it is below the threshold (or give up)."""
    waited = 0
    while os.getloadavg()[0] >= LOAD_THRESHOLD and waited < LOAD_MAX_WAIT:
        em.log(f"load {os.getloadavg()[0]:.2f} >= {LOAD_THRESHOLD}: waiting")
        time.sleep(LOAD_POLL_SECONDS)
        waited += LOAD_POLL_SECONDS
    load = em.load_average()
    if waited:
        return f"waited {waited} s for the load to fall; {load} at start"
    return f"{load} at start, no wait"


# --------------------------------------------------------------------------
# report


def fmt_measure(measure: Measure) -> str:
    """Seconds per iteration, or the reason there is none."""
    if measure.per_iter is None:
        return measure.plan
    return em.fmt(measure.per_iter)


def axis_table(axis: str, results: dict, base: dict, values: Sequence[int]) -> str:
    """Markdown table of one axis."""
    rows = []
    for value in values:
        key = tuple({**base, axis: value}.values())
        if key not in results:
            continue
        point = results[key]
        ours, skl = point["ours"].per_iter, point["sklearn"].per_iter
        rows.append(
            {
                axis: f"{value:,}",
                "ours s/iter": fmt_measure(point["ours"]),
                "sklearn s/iter": fmt_measure(point["sklearn"]),
                "sklearn / ours": em.fmt(skl / ours if skl and ours else None, ".1f")
                + ("x" if skl and ours else ""),
                "daal4py s/iter": fmt_measure(point["daal4py"]),
                "timing (ours; sklearn)": f"{point['ours'].plan}; "
                + (point["sklearn"].plan if skl else "-"),
            }
        )
    columns = (axis, *list(rows[0])[1:]) if rows else (axis,)
    return em.markdown_table(columns, rows)


def header(args, ours: type, d4p, load_note: str) -> str:
    """Machine, versions and load, in the style of bench_em.py's header."""
    ours_module = __import__(ours.__module__.split(".")[0])
    return "\n".join(
        [
            "# EM scaling: seconds per iteration against n, d and K"
            + (" (quick)" if args.quick else ""),
            "",
            f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
            f"- CPU: {em.cpu_model()}, {os.cpu_count()} cores",
            f"- Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
            f"daal4py {em.package_version(d4p) if d4p else 'not installed'}, "
            f"gmm_estimators {em.package_version(ours_module)}",
            f"- BLAS: {em.blas_description()}",
            f"- 1-min load average: {load_note}; {em.load_average()} at end",
            f"- `uptime` at start: {args.uptime_start}",
            f"- `uptime` at end: {uptime()}",
            "- full covariance, float64; base point "
            + ", ".join(f"{k}={v:,}" for k, v in args.base.items())
            + "; timing: `N it x repeats` = (min t(N) - min t(1)) / (N - 1)"
            f" over repeats, each after a pause of {em.SETTLE_SECONDS} s and a spin of {em.SPIN_SECONDS} s, after a max_iter=1 warm-up (see the script's docstring)",
        ]
    )


def uptime() -> str:
    """The output of ``uptime`` (its load averages), or the 1-minute load."""
    try:
        done = subprocess.run(["uptime"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return em.load_average()
    return done.stdout.strip()


def render(args, ours, d4p, load_note, results) -> str:
    """The whole Markdown report."""
    parts = [header(args, ours, d4p, load_note)]
    for axis, values in args.axes.items():
        others = ", ".join(f"{k}={v:,}" for k, v in args.base.items() if k != axis)
        parts += [f"## {AXIS_LABELS[axis]} ({others})"]
        parts += [axis_table(axis, results, args.base, values)]
    return "\n\n".join(parts) + "\n"


def draw(args, results, path: Path) -> None:
    """Three log-log panels: s/iter against n, d and K, one line per contender."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"ours": "o-", "sklearn": "s--", "daal4py": "^:"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), constrained_layout=True)
    for ax, (axis, values) in zip(axes, args.axes.items(), strict=True):
        keys = [(v, tuple({**args.base, axis: v}.values())) for v in values]
        keys = [(v, key) for v, key in keys if key in results]
        for name in CONTENDERS:
            pts = [(v, results[key][name].per_iter) for v, key in keys]
            shown = [(v, t) for v, t in pts if t is not None and t > 0]
            if shown:
                ax.plot(*zip(*shown, strict=True), styles[name], label=name)
            skipped = [
                v for v, key in keys if results[key][name].plan.startswith("skip")
            ]
            for v in skipped:
                ax.annotate(
                    f"{name}\nskipped\n(memory)",
                    (v, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 4),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color="C1",
                )
        last_v, last_key = keys[-1] if keys else (None, None)
        last_t = results[last_key]["ours"].per_iter if keys else None
        if last_t and last_t > 0 and args.base[axis] < last_v:
            # guides from the base value to ours' last point: does the tail
            # follow the slope?
            xs = np.array([args.base[axis], last_v], dtype=float)
            for slope in GUIDE_SLOPES[axis]:
                ys = last_t * (xs / last_v) ** slope
                ax.plot(xs, ys, color="0.6", lw=0.8, ls="-.", zorder=0)
                ax.annotate(
                    f"slope {slope}",
                    (xs[0], ys[0]),
                    fontsize=8,
                    color="0.4",
                    ha="right",
                    va="center",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(AXIS_LABELS[axis])
        others = ", ".join(f"{k}={v:,}" for k, v in args.base.items() if k != axis)
        ax.set_title(others, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("seconds per EM iteration")
    axes[0].legend()
    fig.suptitle("One EM iteration, full covariance, float64", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Markdown output (default benchmarks/scaling_results.md, "
        "benchmarks/scaling_results_quick.md with --quick)",
    )
    parser.add_argument(
        "--figure",
        type=Path,
        default=None,
        help="figure (default doc/_static/scaling.png; with --quick, the "
        "Markdown output's name with .png)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="start at once, whatever the load (always so with --quick)",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        name = "scaling_results_quick.md" if args.quick else "scaling_results.md"
        args.out = HERE / name
    if args.figure is None:
        args.figure = args.out.with_suffix(".png") if args.quick else DEFAULT_FIGURE
    args.base, args.axes = (QUICK_BASE, QUICK_AXES) if args.quick else (BASE, AXES)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Sweep the three axes, writing the report after every point."""
    args = parse_args(argv)
    ours = em.load_estimator(em.DEFAULT_OURS)
    d4p = em.load_daal4py()
    if args.quick or args.no_wait:
        load_note = f"{em.load_average()} at start, no wait"
    else:
        load_note = wait_for_quiet_machine()
    args.uptime_start = uptime()
    results = {}
    for axis, shape in points(args.base, args.axes):
        key = tuple(shape.values())
        if key in results:  # the base point lies on every axis
            continue
        em.log(f"{axis}: n={shape['n']} d={shape['d']} K={shape['K']}")
        results[key] = measure_point(shape, ours, d4p)
        em.log(
            "  " + ", ".join(f"{k} {fmt_measure(m)}" for k, m in results[key].items())
        )
        args.out.write_text(render(args, ours, d4p, load_note, results), "utf-8")
    draw(args, results, args.figure)
    em.log(f"written {args.out} and {args.figure}")
    print(args.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
