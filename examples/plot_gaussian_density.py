"""
=====================================
The density of a 2-D Gaussian by hand
=====================================

Every component of a Gaussian mixture is a multivariate Gaussian density

.. math::

    \\mathcal{N}(x \\mid \\mu, \\Sigma) = (2\\pi)^{-d/2} \\det(\\Sigma)^{-1/2}
    \\exp\\left(-\\tfrac12 (x-\\mu)^\\top \\Sigma^{-1} (x-\\mu)\\right).

This example takes the simplest interesting case, :math:`\\mu = (0, 0)` and
:math:`\\Sigma = \\mathrm{diag}(2, 1)`, computes its value at the point
:math:`x = (1, 1)` by hand, checks it against SciPy and against a
:class:`~gmm_estimators.GaussianMixture` with one component fitted to a sample,
and draws the density with its contours of equal Mahalanobis distance.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# The value at one point, by hand
# -------------------------------
# With :math:`d = 2`, :math:`\det\Sigma = 2 \cdot 1 = 2` and
# :math:`\Sigma^{-1} = \mathrm{diag}(1/2, 1)`, the squared Mahalanobis distance
# of :math:`x = (1, 1)` from the mean is
# :math:`1^2/2 + 1^2/1 = 1.5`, so
#
# .. math::
#
#     \mathcal{N}(x) = \frac{1}{2\pi\sqrt{2}} e^{-1.5/2}
#     = 0.112540 \times 0.472367 = 0.053160,
#
# and :math:`\log \mathcal{N}(x) = -\log 2\pi - \tfrac12 \log 2 - 0.75
# = -2.934451`. The same numbers from the formula in code:
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse
from scipy.stats import multivariate_normal

from gmm_estimators import GaussianMixture

mean = np.array([0.0, 0.0])
cov = np.diag([2.0, 1.0])
x = np.array([1.0, 1.0])

d = len(mean)
diff = x - mean
mahalanobis_sq = diff @ np.linalg.solve(cov, diff)
by_hand = np.exp(-0.5 * mahalanobis_sq) / np.sqrt(
    (2 * np.pi) ** d * np.linalg.det(cov)
)
print(f"squared Mahalanobis distance: {mahalanobis_sq}")
print(f"density by hand:              {by_hand:.6f}")
print(f"log-density by hand:          {np.log(by_hand):.6f}")

# %%
# SciPy agrees to the last digit:
reference = multivariate_normal(mean, cov).pdf(x)
print(f"scipy.stats.multivariate_normal: {reference:.6f}")

# %%
# A mixture with one component, fitted to a large sample of this Gaussian,
# estimates :math:`\mu` and :math:`\Sigma` from the data, so its density at
# :math:`x` is close to the true value (within the sampling error):
rng = np.random.RandomState(0)
sample = rng.multivariate_normal(mean, cov, size=20_000)
gm = GaussianMixture(n_components=1, random_state=0).fit(sample)
print("estimated mean:      ", np.round(gm.means_[0], 3))
print("estimated covariance:", np.round(gm.covariances_[0], 3).tolist())
print(f"fitted density at x:  {np.exp(gm.score_samples([x]))[0]:.6f}")

# %%
# The precision Cholesky factor
# -----------------------------
# The package stores each component as the Cholesky factor :math:`L` of its
# precision :math:`\Sigma^{-1} = L L^\top`: the Mahalanobis term is then
# :math:`\lVert (x-\mu)^\top L \rVert^2` and
# :math:`\log\det\Sigma = -2 \sum_j \log L_{jj}`, with no matrix inverse at
# prediction time. For :math:`\Sigma = \mathrm{diag}(2, 1)`,
# :math:`L = \mathrm{diag}(1/\sqrt2, 1)`:
L = np.linalg.cholesky(np.linalg.inv(cov))
print("L =", np.round(L, 6).tolist())
print("||(x - mu)^T L||^2 =", np.sum((diff @ L) ** 2))
print(
    "log det Sigma =", -2 * np.sum(np.log(np.diag(L))), "= log 2 =", np.log(2)
)

# %%
# The picture
# -----------
# The contours of a Gaussian density are ellipses of constant Mahalanobis
# distance :math:`r`; with :math:`\Sigma = \mathrm{diag}(2, 1)` their half-axes
# are :math:`r\sqrt2` along :math:`x_1` and :math:`r` along :math:`x_2`. The
# dashed red ellipse, at :math:`r = \sqrt{1.5}`, passes through
# :math:`x = (1, 1)`. The right panel shows 2,000 points of the sample, with the
# fitted ellipses (dashed, orange) over the true ones: twenty thousand points
# pin :math:`\Sigma` down to about one percent.
grid = np.linspace(-5, 5, 301)
xx, yy = np.meshgrid(grid, grid)
points = np.column_stack([xx.ravel(), yy.ravel()])
density = multivariate_normal(mean, cov).pdf(points).reshape(xx.shape)


def add_ellipse(ax, center, covariance, r, **kwargs):
    """Ellipse of squared Mahalanobis distance r**2 around center."""
    values, vectors = np.linalg.eigh(covariance)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    width, height = 2 * r * np.sqrt(values[::-1])
    ax.add_patch(
        Ellipse(center, width, height, angle=angle, fill=False, **kwargs)
    )


fig, (ax_density, ax_sample) = plt.subplots(
    1, 2, figsize=(12, 5), layout="constrained"
)
image = ax_density.contourf(xx, yy, density, levels=20, cmap="viridis")
fig.colorbar(image, ax=ax_density, label="density", shrink=0.8)
for r in (1, 2, 3):
    add_ellipse(ax_density, mean, cov, r, edgecolor="white", linewidth=1)
    ax_density.annotate(
        f"r = {r}", (0, r), color="white", ha="center", va="bottom", fontsize=8
    )
add_ellipse(
    ax_density, mean, cov, np.sqrt(mahalanobis_sq), edgecolor="red", ls="--"
)
ax_density.plot(*x, "o", color="red")
ax_density.annotate(
    f"x = (1, 1)\ndensity {by_hand:.4f}",
    x,
    xytext=(1.6, 2.4),
    color="white",
    arrowprops={"arrowstyle": "->", "color": "white"},
)
ax_density.set_title(r"$\mathcal{N}(\mu=(0, 0),\ \Sigma=\mathrm{diag}(2, 1))$")

ax_sample.scatter(*sample[:2000].T, s=3, alpha=0.3, color="tab:blue")
for r in (1, 2, 3):
    add_ellipse(ax_sample, mean, cov, r, edgecolor="black", linewidth=1.5)
    add_ellipse(
        ax_sample,
        gm.means_[0],
        gm.covariances_[0],
        r,
        edgecolor="orange",
        ls="--",
        lw=2,
    )
ax_sample.set_title("Sample: true (black) and fitted (dashed) ellipses")
for ax in (ax_density, ax_sample):
    ax.set_xlim(-5, 5)
    ax.set_ylim(-4, 4)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
plt.show()
