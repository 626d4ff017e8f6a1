"""GaussianMixtureSelector against R's mclust, cell by cell.

For every data set written by ``Rscript benchmarks/mclust_reference.R OUTDIR``
(R's ``datasets`` and mclust's own), fits the selector over the four shared
covariance models (spherical = VII, diag = VVI, tied = EEE, full = VVV; for one
feature tied = E and full = V) and K = 1..9, and reports per data set:

- the (K, type) cells whose BIC is worse than mclust's by more than 0.5
  (mclust's BIC is ``-2 log L + p log n`` with the opposite sign; its NA cells
  are skipped);
- the chosen model against mclust's choice among the four types;
- the selector's time against ``mclustBIC``'s (median of 3 in R).

Run: ``python benchmarks/bench_selector_mclust.py OUTDIR [names...]``.
Needs only the files in OUTDIR (R is not needed to rerun this script).
"""

import json
import sys
import time
import warnings

import numpy as np

from gmm_estimators import GaussianMixtureSelector

MCLUST = {"VII": "spherical", "VVI": "diag", "EEE": "tied", "VVV": "full"}
MCLUST_1D = {"E": "tied", "V": "full"}


def main(outdir, names=(), seeds=(0,)):
    ref = json.load(open(f"{outdir}/mclust_reference.json"))
    names = list(names) or list(ref)
    total_cells = total_worse = total_better = total_choice = 0
    print(
        f"{'data':18s} {'n':>5s} {'d':>3s} {'worse':>7s} {'max gap':>8s} "
        f"{'ours':>14s} {'mclust':>14s} {'choice':>7s} {'t ours':>7s} {'t R':>6s}"
    )
    for name in names:
        r = ref[name]
        X = np.loadtxt(f"{outdir}/data/{name}.csv", delimiter=",", skiprows=1, ndmin=2)
        n, d = X.shape
        names_map = MCLUST_1D if d == 1 else MCLUST
        types = [names_map[m] for m in r["cells"]]
        for seed in seeds:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sel = GaussianMixtureSelector(
                    n_components=range(1, min(9, n) + 1),
                    covariance_type=list(dict.fromkeys(types)),
                    random_state=seed,
                ).fit(X)
            elapsed = time.perf_counter() - t0
            res = sel.cv_results_
            ours = {
                (p["covariance_type"], p["n_components"]): b
                for p, b in zip(res["params"], res["bic"], strict=True)
            }
            worse = []
            better = 0
            cells = 0
            for m, bics in r["cells"].items():
                if isinstance(bics, dict):  # {"1": bic, ...} (jsonlite's lists)
                    bics = [bics.get(str(k)) for k in range(1, 10)]
                for k, b in enumerate(bics, start=1):
                    if not isinstance(b, (int, float)) or k > n:
                        continue
                    cells += 1
                    gap = ours[(names_map[m], k)] + b
                    if not gap <= 0.5:
                        worse.append((m, k, round(gap, 2)))
                    elif gap < -0.5:
                        better += 1
            best = r["best"]
            mclust_bic = -best["bic"]
            ok = sel.best_score_ <= mclust_bic + 0.5
            total_cells += cells
            total_worse += len(worse)
            total_better += better
            total_choice += not ok
            ours_txt = (
                f"{sel.covariance_type_[:4]},{sel.n_components_} {sel.best_score_:.1f}"
            )
            ref_txt = f"{best['model']},{best['K']} {mclust_bic:.1f}"
            max_gap = max([g for *_, g in worse], default=0.0)
            print(
                f"{name:18s} {n:5d} {d:3d} {len(worse):3d}/{cells:<3d} {max_gap:8.2f} "
                f"{ours_txt:>14s} {ref_txt:>14s} {'ok' if ok else 'WORSE':>7s} "
                f"{elapsed:7.2f} {r['time_s']:6.2f}  {worse[:3] if worse else ''}",
                flush=True,
            )
    print(
        f"cells worse by > 0.5: {total_worse} of {total_cells}; better by > 0.5: "
        f"{total_better}; choices worse than mclust's: {total_choice}"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
