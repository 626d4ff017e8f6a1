"""
===================================================
Choosing the number of components with BIC and ICL
===================================================

A Gaussian mixture needs its number of components ``K`` and a covariance
model. :class:`~gmm_estimators.GaussianMixtureSelector` fits every
combination and keeps the one with the lowest information criterion, as the
R package mclust does. This example shows the criterion plot, the selected
clustering, and how the BIC and the ICL answer different questions when
clusters overlap.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Data: four clusters of different shapes
# ---------------------------------------
# Two round clusters, one stretched and one small and tight.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from gmm_estimators import (
    ClusterDisplay,
    CriterionDisplay,
    GaussianMixtureSelector,
)

rng = np.random.RandomState(0)
X = np.vstack(
    [
        rng.standard_normal((200, 2)) + [0, 0],
        rng.standard_normal((200, 2)) + [6, 1],
        rng.standard_normal((150, 2)) @ [[3.0, 0.0], [1.5, 0.4]] + [1, 8],
        0.4 * rng.standard_normal((100, 2)) + [7, 7],
    ]
)

# %%
# Fit every candidate
# -------------------
# One to eight components times scikit-learn's four covariance types: 32
# mixtures (without ``covariance_type`` the selector searches mclust's
# fourteen models, 112 here). The starts (mclust's hierarchical clustering,
# k-means for each ``K``) are shared by the covariance types, and the BIC
# comes straight from the fit.
selector = GaussianMixtureSelector(
    n_components=8,
    covariance_type=["full", "tied", "diag", "spherical"],
    random_state=0,
).fit(X)
print(
    f"selected: {selector.n_components_} components, "
    f"covariance_type={selector.covariance_type_!r}, "
    f"BIC={selector.best_score_:.1f}"
)

# %%
# ``cv_results_`` holds one row per candidate, with the BIC, AIC and ICL of
# each, its log-likelihood, number of parameters, convergence and, in
# ``degenerate``, why the fit degenerated (``""`` if it did not; such a
# candidate is never selected). The best five by BIC, in a few columns and
# without the ``param_`` prefix so that the table fits the page:
results = pd.DataFrame(selector.cv_results_)
columns = {
    "param_n_components": "n_components",
    "param_covariance_type": "covariance_type",
    "bic": "bic",
    "icl": "icl",
    "n_parameters": "n_parameters",
    "rank_test_score": "rank",
}
best = results.sort_values("rank_test_score")[list(columns)].head()
print(best.rename(columns=columns).round(1).to_string(index=False))
print("degenerate candidates:", int((results["degenerate"] != "").sum()))

# %%
# The BIC plot
# ------------
# One line per covariance type, the selected model circled. The BIC drops
# steeply until ``K`` reaches the number of clusters, then rises slowly: each
# extra component costs ``log n`` per parameter and buys little likelihood.
# On the right, :class:`~gmm_estimators.ClusterDisplay` draws the selected
# mixture: the samples coloured by cluster, each component's ellipse at two
# standard deviations.
fig, (ax_bic, ax_clusters) = plt.subplots(1, 2, figsize=(11, 4.5))
CriterionDisplay.from_estimator(selector, ax=ax_bic)
ax_bic.set_title("BIC of every candidate")
ClusterDisplay.from_estimator(selector, X, ax=ax_clusters)
ax_clusters.set_title(f"selected clustering, K={selector.n_components_}")
ax_clusters.set_aspect("equal")
fig.tight_layout()

# %%
# BIC against ICL on overlapping clusters
# ---------------------------------------
# The BIC measures how well a mixture fits the *density*. The ICL adds twice
# the entropy of the responsibilities, a penalty for samples whose component
# is uncertain, so it asks how well the mixture *clusters*. On two strongly
# overlapping Gaussians the density is clearly bimodal enough for the BIC to
# want two components, but the samples cannot be told apart with confidence,
# so the ICL prefers one cluster.
X_overlap = np.vstack(
    [rng.standard_normal((400, 2)), rng.standard_normal((400, 2)) + [2.5, 0]]
)
params = dict(
    n_components=5, covariance_type=("full", "spherical"), random_state=0
)
by_bic = GaussianMixtureSelector(criterion="bic", **params).fit(X_overlap)
by_icl = GaussianMixtureSelector(criterion="icl", **params).fit(X_overlap)
print(f"BIC selects {by_bic.n_components_} components,", end=" ")
print(f"ICL {by_icl.n_components_}")

fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
ClusterDisplay.from_estimator(by_bic, X_overlap, ax=axes[0])
axes[0].set_title(f"BIC's choice: K={by_bic.n_components_}")
axes[0].set_aspect("equal")
CriterionDisplay.from_estimator(by_bic, ax=axes[1])
axes[1].set_title("BIC")
CriterionDisplay.from_estimator(by_icl, ax=axes[2])
axes[2].set_title("ICL")
fig.tight_layout()
plt.show()

# %%
# Which to use? If the mixture is a density estimate (for sampling, anomaly
# scores or a likelihood), use the BIC, or ``criterion="cv"`` for the held-out
# likelihood. If each component should be a cluster a person would name, the
# ICL avoids splitting one cluster into several overlapping components.
