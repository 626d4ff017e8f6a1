"""
====================================================
The four covariance types on the same data
====================================================

A Gaussian mixture's ``covariance_type`` says what shape its components may
take. Here the same three clusters (one round, one stretched along the
diagonal, one flat and wide) are fitted with each of the four types:

- ``'full'``: every component has its own covariance matrix, any orientation;
- ``'tied'``: all components share one covariance matrix (same shape and
  orientation, different centres);
- ``'diag'``: every component has its own diagonal covariance, so its
  ellipses are aligned with the axes;
- ``'spherical'``: every component has a single variance, so its contours are
  circles.

The more freedom, the more parameters: the titles give each model's number of
free parameters and its BIC (lower is better).
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Three clusters of different shapes
# -----------------------------------
import matplotlib.pyplot as plt
import numpy as np

from gmm_estimators import ClusterDisplay, GaussianMixture

rng = np.random.RandomState(0)
round_cluster = rng.standard_normal((250, 2)) * 0.6 + [0, 6]
stretched = rng.standard_normal((300, 2)) @ [[1.8, 1.6], [0.0, 0.5]] + [-1, 0]
flat = rng.standard_normal((250, 2)) * [2.2, 0.4] + [5, 3]
X = np.vstack([round_cluster, stretched, flat])

# %%
# Fit one mixture per covariance type
# -----------------------------------
# With ``K`` components in ``d`` dimensions, a mixture has ``K - 1`` free
# weights, ``K d`` mean coordinates and a number of covariance parameters that
# depends on the type:
#
# =============  ========================  ===================
# type           covariance parameters     here (K=3, d=2)
# =============  ========================  ===================
# ``full``       ``K d (d + 1) / 2``       9
# ``tied``       ``d (d + 1) / 2``         3
# ``diag``       ``K d``                   6
# ``spherical``  ``K``                     3
# =============  ========================  ===================
#
# ``n_parameters_`` counts all three kinds; :meth:`~GaussianMixture.bic` adds
# ``n_parameters_ * log(n_samples)`` to minus twice the log-likelihood.
covariance_types = ["full", "tied", "diag", "spherical"]
models = {
    cov: GaussianMixture(
        n_components=3, covariance_type=cov, random_state=0
    ).fit(X)
    for cov in covariance_types
}
for cov, gm in models.items():
    print(
        f"{cov:>9}: {gm.n_parameters_:2d} parameters, "
        f"log-likelihood {gm.score(X):.3f} per sample, BIC {gm.bic(X):.1f}"
    )


# %%
# Draw the components
# -------------------
# :class:`~gmm_estimators.ClusterDisplay` colours each point by its cluster
# and draws each component's ellipses, here at one and two standard deviations
# (Mahalanobis distance 1 and 2, which hold 39% and 86% of a two-dimensional
# Gaussian), in the colour of the points it claims.
best = min(models, key=lambda cov: models[cov].bic(X))
fig, axes = plt.subplots(2, 2, figsize=(10, 9), sharex=True, sharey=True)
for ax, (cov, gm) in zip(axes.ravel(), models.items(), strict=True):
    ClusterDisplay.from_estimator(
        gm, X, n_std=[1, 2], ax=ax, scatter_kwargs={"s": 6, "alpha": 0.5}
    )
    mark = "  (lowest BIC)" if cov == best else ""
    ax.set_title(
        f"'{cov}': {gm.n_parameters_} parameters, BIC {gm.bic(X):.0f}{mark}",
        fontweight="bold" if cov == best else "normal",
    )
    ax.set_aspect("equal")
fig.suptitle("Three components, four covariance types")
fig.tight_layout()
plt.show()

# %%
# Reading the panels
# ------------------
# - ``'full'`` follows every cluster's own shape and orientation; it pays the
#   most parameters but fits this data much better, so its BIC is lowest.
# - ``'tied'`` forces one shape on all three clusters: the round cluster gets
#   the same tilted ellipse as the others, a compromise that fits none of them.
# - ``'diag'`` can stretch its ellipses only along the axes: right for the round
#   and the flat cluster, but the tilted cluster becomes a wide axis-aligned
#   ellipse that puts density where there are no points.
# - ``'spherical'`` has circles only: the flat cluster gets a circle as wide as
#   its long axis. The clusters are far apart, so the labels are still mostly
#   right; it is the density (the log-likelihood) that suffers.
#
# The labels depend on the covariance type less than the density does: to
# cluster well separated groups a cheap type may do, but to estimate a density
# (or to sample from it) the shape matters.
#
# With more features the parameter counts diverge quickly: with ``d = 50`` a
# ``'full'`` component has 1,275 covariance parameters against 50 for
# ``'diag'``. When ``'full'`` is too many parameters and ``'diag'`` too few,
# :class:`~gmm_estimators.MixtureOfPPCA` gives each component a few principal
# directions of its own. To let the data choose the type and the number of
# components, see :class:`~gmm_estimators.GaussianMixtureSelector`.
