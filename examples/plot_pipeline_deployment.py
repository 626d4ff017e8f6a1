"""
=========================================================
A mixture in a Pipeline: tune, save, load, deploy
=========================================================

:class:`~gmm_estimators.GaussianMixture` is an ordinary scikit-learn
estimator, so it composes with the rest of the library: here it is the last
step of a :class:`~sklearn.pipeline.Pipeline` after a scaler, its number of
components and covariance type are tuned by
:class:`~sklearn.model_selection.GridSearchCV` on held-out log-likelihood, and
the tuned pipeline makes a round trip through :mod:`joblib`, as it would to be
deployed in a service.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# The data and the pipeline
# -------------------------
# The wine data: 178 wines from three cultivars, 13 chemical measurements on
# very different scales, hence the scaler. A quarter of the wines are kept
# aside to play the part of new data arriving after deployment.
import tempfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.datasets import load_wine
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import gmm_estimators
from gmm_estimators import GaussianMixture

X, y = load_wine(return_X_y=True)
X_train, X_new, y_train, y_new = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
pipe = make_pipeline(StandardScaler(), GaussianMixture(random_state=0))
print(pipe)

# %%
# Tune with GridSearchCV
# ----------------------
# A mixture's ``score`` is the mean log-likelihood per sample, so
# ``GridSearchCV`` needs no scorer: it keeps the candidate whose held-out
# likelihood is highest. The scaler is refitted inside every fold, so no
# information leaks from the held-out rows. The folds are shuffled because the
# rows are sorted by cultivar.
param_grid = {
    "gaussianmixture__n_components": range(1, 7),
    "gaussianmixture__covariance_type": ["full", "tied", "diag", "spherical"],
}
search = GridSearchCV(
    pipe, param_grid, cv=KFold(5, shuffle=True, random_state=0), n_jobs=1
)
search.fit(X_train)
best = search.best_params_
print(
    f"best: {best['gaussianmixture__n_components']} components, "
    f"covariance_type={best['gaussianmixture__covariance_type']!r}, "
    f"held-out log-likelihood {search.best_score_:.2f} per wine"
)

# %%
# The held-out log-likelihood of every candidate, with one standard deviation
# over the folds. ``'full'`` covariances have 91 parameters per component in
# 13 dimensions: with about 25 wines per component in a training fold they
# overfit, and their held-out likelihood collapses as components are added.
# The sparer types degrade gracefully.
results = search.cv_results_
fig, ax_cv = plt.subplots(figsize=(7, 4.8), layout="constrained")
for cov in param_grid["gaussianmixture__covariance_type"]:
    rows = np.flatnonzero(
        results["param_gaussianmixture__covariance_type"] == cov
    )
    ks = np.asarray(
        results["param_gaussianmixture__n_components"][rows], dtype=int
    )
    ax_cv.errorbar(
        ks,
        results["mean_test_score"][rows],
        yerr=results["std_test_score"][rows],
        marker="o",
        capsize=3,
        label=cov,
    )
ax_cv.plot(
    best["gaussianmixture__n_components"],
    search.best_score_,
    "o",
    markersize=16,
    markerfacecolor="none",
    markeredgecolor="black",
    label="selected",
)
ax_cv.set_ylim(bottom=max(ax_cv.get_ylim()[0], search.best_score_ - 15))
ax_cv.set_xlabel("Number of components")
ax_cv.set_ylabel("Held-out log-likelihood per wine (higher is better)")
ax_cv.set_title("GridSearchCV over the pipeline")
ax_cv.legend()
plt.show()

# %%
# Save, load, deploy
# ------------------
# The whole tuned pipeline (scaler and mixture) is one object: dump it with
# :func:`joblib.dump`, load it elsewhere with :func:`joblib.load`. Record the
# versions next to the file and load it with the same versions of
# scikit-learn and gmm_estimators; and since loading runs pickle, load only
# files you trust.
model = search.best_estimator_
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "wine_mixture.joblib"
    joblib.dump(
        {
            "model": model,
            "sklearn": sklearn.__version__,
            "gmm_estimators": gmm_estimators.__version__,
        },
        path,
    )
    print(f"saved {path.name}: {path.stat().st_size / 1024:.1f} KiB")
    bundle = joblib.load(path)

loaded = bundle["model"]
print(
    "saved with scikit-learn",
    bundle["sklearn"],
    "and gmm_estimators",
    bundle["gmm_estimators"],
)

# %%
# The loaded pipeline gives the same answers as the original, bit for bit:
proba_new = loaded.predict_proba(X_new)
assert np.array_equal(proba_new, model.predict_proba(X_new))
assert np.array_equal(loaded.score_samples(X_new), model.score_samples(X_new))
labels_new = loaded.predict(X_new)
ari = adjusted_rand_score(y_new, labels_new)
print(f"adjusted Rand index on the new wines: {ari:.2f}")

# %%
# What the deployed model says about the new wines: the probability of each
# component for each wine (rows sorted by known cultivar). The mixture never
# saw the cultivars, yet each cultivar is mostly claimed by its own
# component(s), and ``score_samples`` flags the wines the model finds unusual.
order = np.argsort(y_new, kind="stable")
fig, ax_proba = plt.subplots(figsize=(9, 3.8), layout="constrained")
image = ax_proba.imshow(
    proba_new[order].T,
    aspect="auto",
    cmap="Blues",
    vmin=0,
    vmax=1,
    interpolation="none",
)
for boundary in np.flatnonzero(np.diff(y_new[order])) + 0.5:
    ax_proba.axvline(boundary, color="red", linewidth=1.5)
ax_proba.set_yticks(range(proba_new.shape[1]))
ax_proba.set_ylabel("component")
ax_proba.set_xlabel(
    "new wines, sorted by cultivar (red lines separate cultivars)"
)
ax_proba.set_title("predict_proba of the loaded pipeline")
fig.colorbar(image, ax=ax_proba, label="probability")
plt.show()

log_density = loaded.score_samples(X_new)
print(
    "least likely new wine: index",
    int(np.argmin(log_density)),
    f"(log-density {log_density.min():.1f};",
    f"median {np.median(log_density):.1f})",
)
