"""How much the selector's choice depends on its seed, over a panel's data.

For every data set of an OUTDIR written by the mclust panel scripts
(``mclust_reference.R``, ``mclust_family_panel.R``, ...; only the CSV files
in OUTDIR/data are read, R is not needed), fits ``GaussianMixtureSelector``
over K = 1..min(9, n) with ``random_state`` 0..SEEDS-1 and reports the
distinct choices, how many seeds reached the best BIC found (within 0.5),
and the best and worst chosen BIC.  A data set is flagged where the choice
or its BIC varies (in one dimension spherical, diag and full are one model,
and a tie between them at the same BIC shows as a varying choice).

Run: ``python benchmarks/bench_seeds_panel.py OUTDIR four|mclust [SEEDS]``
(``four``: scikit-learn's four covariance types; ``mclust``: the fourteen
models, skipping sets of more than 3000 rows).
"""

import json
import sys
import time
import warnings

import numpy as np

from gmm_estimators import GaussianMixtureSelector

FOUR = ["spherical", "diag", "tied", "full"]


def main(outdir, grid, n_seeds):
    ref = json.load(open(f"{outdir}/mclust_reference.json"))
    varying = 0
    for name in ref:
        X = np.loadtxt(f"{outdir}/data/{name}.csv", delimiter=",", skiprows=1, ndmin=2)
        n = X.shape[0]
        if grid == "mclust" and n > 3000:
            continue
        chosen = []
        t0 = time.perf_counter()
        for seed in range(n_seeds):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sel = GaussianMixtureSelector(
                    n_components=range(1, min(9, n) + 1),
                    covariance_type=FOUR if grid == "four" else "mclust",
                    random_state=seed,
                ).fit(X)
            chosen.append((sel.covariance_type_, sel.n_components_, sel.best_score_))
        choices = sorted({(c, k) for c, k, _ in chosen})
        best = min(b for *_, b in chosen)
        worst = max(b for *_, b in chosen)
        reached = sum(b <= best + 0.5 for *_, b in chosen)
        varies = len(choices) > 1 or reached < len(chosen)
        varying += varies
        names = ", ".join(f"{c[:4]},{k}" for c, k in choices)
        print(
            f"{name:18s} {n:5d} {names:34s} reached {reached}/{len(chosen)} "
            f"best {best:10.2f} worst {worst:10.2f} {time.perf_counter() - t0:6.1f} s"
            + ("  varies" if varies else ""),
            flush=True,
        )
    print(f"data sets whose choice or chosen BIC varies over the seeds: {varying}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)
