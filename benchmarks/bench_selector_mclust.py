"""GaussianMixtureSelector against R's mclust, cell by cell.

For every data set written by ``Rscript benchmarks/mclust_reference.R OUTDIR``
(R's ``datasets`` and mclust's own), fits the selector over the four shared
covariance models (spherical = VII, diag = VVI, tied = EEE, full = VVV; for one
feature tied = E and full = V) and K = 1..9, and reports per data set:

- the (K, type) cells whose BIC is worse than mclust's by more than 0.5
  (mclust's BIC is ``-2 log L + p log n`` with the opposite sign; its NA cells
  are skipped);
- of those, the cells where mclust's fit is one our selector refuses: EM
  from mclust's own start (``init_params="hc"``, which builds mclust's tree)
  reaches mclust's BIC (within 0.5) or better, where our tighter tolerance
  lets it go on, and the fit is degenerate by our rule (a
  component singular but for ``reg_covar``, or with fewer effective points
  than its covariance needs); with one component, whose fit is unique,
  when ours is degenerate or collapses (a covariance singular even with
  ``reg_covar``: mclust's singular fits of data with identical columns);
  and where EM from mclust's start collapses with our tolerance, when
  stopped earlier it was at mclust's BIC or better (mclust's looser
  tolerance stopped it there, on the way to the collapse).
  and, where OUTDIR has ``mclust_points.json`` (written by
  ``Rscript benchmarks/mclust_points.R OUTDIR``), the EEV and VEV cells where
  mclust's own fit has a component with fewer effective points than the
  dimensions, which our rule refuses whatever the start (its orientation is
  not identified there).
  They are listed apart ("degenerate at mclust's optimum") and not counted
  as worse; where mclust's choice is such a fit, ours is not counted as a
  worse choice;
- the chosen model against mclust's choice among the four types;
- the selector's time against ``mclustBIC``'s (median of 3 in R).

Run: ``python benchmarks/bench_selector_mclust.py OUTDIR [names...]``.
Needs only the files in OUTDIR (R is not needed to rerun this script).  With
an OUTDIR written by ``Rscript benchmarks/mclust_family_panel.R`` the same
comparison runs over all fourteen of mclust's models.
"""

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from gmm_estimators import GaussianMixture, GaussianMixtureSelector
from gmm_estimators._covariance import COVARIANCE_MODELS
from gmm_estimators._selection import default_estimator

MCLUST = {"VII": "spherical", "VVI": "diag", "EEE": "tied", "VVV": "full"}
MCLUST_1D = {"E": "tied", "V": "full"}


def degenerate_at_mclust(X, covariance_type, k, mclust_bic):
    """Whether EM from mclust's start reaches mclust's BIC (our sign
    ``mclust_bic``, within 0.5) or better, with a fit our rule calls
    degenerate, or, with one component (no start to differ: the fit is unique),
    is degenerate or collapses (a covariance singular even with
    ``reg_covar``): mclust's fit is, or its EM heads to, one we refuse."""
    params = default_estimator().get_params()
    params.update(n_components=k, covariance_type=covariance_type)
    params.update(init_params="hc", n_init=1, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm = GaussianMixture(**params).fit(X)
    except ValueError:  # a covariance collapses: singular even with reg_covar
        # with one component the fit does not depend on the start, so
        # mclust's is singular too; with more, EM from mclust's start may
        # pass mclust's BIC on its way to the collapse: mclust's looser
        # tolerance stopped it there (R's Theoph, EVV,8)
        return k == 1 or passes_on_the_way(X, params, mclust_bic)
    if k == 1:  # the one-component fit is unique: mclust's is ours, less reg_covar
        return bool(gm.degenerate_)
    return bool(gm.degenerate_) and gm.bic(X) <= mclust_bic + 0.5


def passes_on_the_way(X, params, mclust_bic):
    """Whether EM from mclust's start, stopped after 10, 20, 40, ... steps,
    is at mclust's BIC (within 0.5) or better at one of them before its
    covariance collapses."""
    steps = 10
    while steps <= params["max_iter"]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gm = GaussianMixture(**dict(params, max_iter=steps, tol=0.0)).fit(X)
        except ValueError:
            return False
        if gm.bic(X) <= mclust_bic + 0.5:
            return True
        steps *= 2
    return False


def too_few_points(points, model, k, n_features):
    """Whether mclust's own fit of ``model`` with ``k`` components
    (``points``: the smallest component's effective points per model and k,
    from mclust_points.R) has fewer effective points than our rule asks of
    the model's components."""
    values = (points or {}).get(model)
    if not values or k > len(values) or values[k - 1] is None:
        return False
    need = COVARIANCE_MODELS[model].points_needed_by(n_features)
    return values[k - 1] < need - 0.05


def _starts_estimator():
    """The selector's default estimator, or with the starts named in the
    environment variable ``GMM_STARTS`` (comma-separated ``init_params``, one
    round, with the restarts: ``GMM_STARTS=hc``). ``GMM_SEARCH=mclust``
    measures ``search="mclust"`` (mclust's start alone, no restarts)."""
    est = default_estimator()
    if os.environ.get("GMM_STARTS"):
        est.set_params(init_params=tuple(os.environ["GMM_STARTS"].split(",")), n_init=1)
    return est


def main(outdir, names=(), seeds=(0,)):
    ref = json.load(open(f"{outdir}/mclust_reference.json"))
    points_path = Path(outdir) / "mclust_points.json"
    points = json.load(open(points_path)) if points_path.exists() else {}
    names = list(names) or list(ref)
    total_cells = total_worse = total_better = total_choice = total_degenerate = 0
    print(
        f"{'data':18s} {'n':>5s} {'d':>3s} {'worse':>7s} {'max gap':>8s} "
        f"{'ours':>14s} {'mclust':>14s} {'choice':>7s} {'t ours':>7s} {'t R':>6s}"
    )
    for name in names:
        r = ref[name]
        X = np.loadtxt(f"{outdir}/data/{name}.csv", delimiter=",", skiprows=1, ndmin=2)
        n, d = X.shape
        names_map = MCLUST_1D if d == 1 else MCLUST
        # mclust's other ten names (mclust_family_panel.R) are ours too
        names_map = {m: names_map.get(m, m) for m in r["cells"]}
        types = [names_map[m] for m in r["cells"]]
        for seed in seeds:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sel = GaussianMixtureSelector(
                    _starts_estimator(),
                    n_components=range(1, min(9, n) + 1),
                    covariance_type=list(dict.fromkeys(types)),
                    search=os.environ.get("GMM_SEARCH", "thorough"),
                    random_state=seed,
                ).fit(X)
            elapsed = time.perf_counter() - t0
            res = sel.cv_results_
            ours = {
                (p["covariance_type"], p["n_components"]): b
                for p, b in zip(res["params"], res["bic"], strict=True)
            }
            worse = []
            theirs = {}
            better = 0
            cells = 0
            for m, bics in r["cells"].items():
                if isinstance(bics, dict):  # {"1": bic, ...} (jsonlite's lists)
                    bics = [bics.get(str(k)) for k in range(1, 10)]
                for k, b in enumerate(bics, start=1):
                    if not isinstance(b, (int, float)) or k > n:
                        continue
                    cells += 1
                    theirs[(m, k)] = b
                    gap = ours[(names_map[m], k)] + b
                    if not gap <= 0.5:
                        worse.append((m, k, round(gap, 2)))
                    elif gap < -0.5:
                        better += 1
            degenerate = [
                (m, k, gap)
                for m, k, gap in worse
                if too_few_points(points.get(name), m, k, d)
                or degenerate_at_mclust(X, names_map[m], k, -theirs[(m, k)])
            ]
            worse = [cell for cell in worse if cell not in degenerate]
            best = r["best"]
            mclust_bic = -best["bic"]
            ok = (
                sel.best_score_ <= mclust_bic + 0.5
                or (best["model"], best["K"]) in {(m, k) for m, k, _ in degenerate}
                or too_few_points(points.get(name), best["model"], best["K"], d)
                or degenerate_at_mclust(
                    X, names_map[best["model"]], best["K"], mclust_bic
                )
            )
            total_cells += cells
            total_worse += len(worse)
            total_degenerate += len(degenerate)
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
                f"{elapsed:7.2f} {r['time_s']:6.2f}  {worse[:3] if worse else ''}"
                + (
                    f" degenerate at mclust's optimum: {degenerate}"
                    if degenerate
                    else ""
                ),
                flush=True,
            )
    print(
        f"cells worse by > 0.5: {total_worse} of {total_cells}; better by > 0.5: "
        f"{total_better}; choices worse than mclust's: {total_choice}; cells where "
        f"mclust's fit is degenerate by our rule: {total_degenerate}"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
