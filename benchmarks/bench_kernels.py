"""The compiled kernels (numba, ``gmm_estimators[fast]``) against numpy's.

For each data set, fits the default ``GaussianMixtureSelector`` (mclust's
fourteen models) twice, each in a fresh process: once with the compiled
kernels and once with ``GMM_ESTIMATORS_NUMBA=0`` (numpy's code), the two
interleaved, and reports the wall times, their ratio, the chosen models and
how many candidates' BICs differ by more than 0.5 between the two (the
kernels are numpy's to rounding, which EM can amplify).  Each process first
runs a small search (K = 1, 2 on every third row), so that a first
compilation (cached on disk by numba for later processes) is not in the
times.

Usage::

    python benchmarks/bench_kernels.py                 # about 2 minutes
    python benchmarks/bench_kernels.py --repeats 3 --out benchmarks/kernels_results.md
    python benchmarks/bench_kernels.py --quick         # iris, K = 1..2 (smoke run)
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: name -> (loader code, components)
DATASETS = {
    "faithful (272x2)": (
        f"np.loadtxt({str(ROOT / 'tests/data/faithful.csv')!r}, delimiter=',', "
        "skiprows=1)",
        "range(1, 10)",
    ),
    "iris (150x4)": ("load_iris().data", "range(1, 10)"),
    "wine standardised (178x13)": (
        "StandardScaler().fit_transform(load_wine().data)",
        "range(1, 10)",
    ),
    "breast cancer (569x30), K = 4, 5": ("load_breast_cancer().data", "[4, 5]"),
}

CHILD = r"""
import json, sys, time, warnings
import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.preprocessing import StandardScaler
from gmm_estimators import GaussianMixtureSelector, _kernels
warnings.simplefilter("ignore")
X = {loader}
# every kernel the search uses compiled (or loaded from numba's cache), and
# numpy's code warmed up, outside the times: a small search on the same data
GaussianMixtureSelector(n_components=[1, 2], random_state=0).fit(X[::3])
t = time.perf_counter()
s = GaussianMixtureSelector(n_components={components}, random_state=0).fit(X)
wall = time.perf_counter() - t
r = s.cv_results_
print(json.dumps({{
    "wall": wall, "compiled": _kernels.enabled(),
    "best": f"{{s.covariance_type_}},{{s.n_components_}}", "score": s.best_score_,
    "bic": [float(b) if np.isfinite(b) else None for b in r["bic"]],
}}))
"""


def run(loader, components, compiled):
    env = dict(os.environ, GMM_ESTIMATORS_NUMBA="1" if compiled else "0")
    code = CHILD.format(loader=loader, components=components)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    datasets = DATASETS
    if args.quick:
        datasets = {"iris (150x4), K = 1, 2": ("load_iris().data", "[1, 2]")}
    import numba  # noqa: F401  (the comparison needs it)

    from gmm_estimators import __version__

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []
    for name, (loader, components) in datasets.items():
        times = {True: [], False: []}
        results = {}
        for _ in range(args.repeats):
            for compiled in (True, False):  # interleaved
                result = run(loader, components, compiled)
                assert result["compiled"] == compiled
                times[compiled].append(result["wall"])
                results[compiled] = result
                print(
                    name,
                    "numba" if compiled else "numpy",
                    round(result["wall"], 2),
                    result["best"],
                    file=sys.stderr,
                    flush=True,
                )
        a, b = (
            np.array(results[True]["bic"], float),
            np.array(results[False]["bic"], float),
        )
        both = np.isfinite(a) & np.isfinite(b)
        rows.append(
            (
                name,
                float(np.median(times[False])),
                float(np.median(times[True])),
                results[False]["best"],
                results[True]["best"],
                int((a[both] > b[both] + 0.5).sum()),
                int((a[both] < b[both] - 0.5).sum()),
                int(both.sum()),
            )
        )
    lines = [
        "# Compiled kernels (numba) against numpy's code: the default selector",
        "",
        f"- date: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}; gmm_estimators {__version__}; "
        f"numba {sys.modules['numba'].__version__}; numpy {np.__version__}; "
        f"Python {platform.python_version()}",
        f"- CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"1-min load average at start: {load:.2f} (other processes disturb the times)",
        f"- GaussianMixtureSelector(random_state=0), mclust's fourteen models; each fit in "
        f"a fresh process, the kernels compiled (or loaded from numba's cache) before "
        f"the clock starts; medians of {args.repeats} interleaved run(s)",
        "",
        "| data | numpy s | numba s | speed-up | choice (numpy) | choice (numba) "
        "| cells worse with numba | cells better | cells |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for name, t_np, t_nb, c_np, c_nb, worse, better, cells in rows:
        lines.append(
            f"| {name} | {t_np:.1f} | {t_nb:.1f} | {t_np / t_nb:.2f}x | {c_np} | {c_nb} "
            f"| {worse} | {better} | {cells} |"
        )
    lines += [
        "",
        "A cell is worse (better) with numba when its BIC is higher (lower) by more than",
        "0.5: the kernels are numpy's to rounding, and EM amplifies rounding where a",
        "run passes near a saddle.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
