"""
==========================================
Density estimation and sampling
==========================================

A Gaussian mixture is a density model as much as a clusterer: with enough
components it approximates any smooth density, ``score_samples`` evaluates the
log-density at new points, and ``sample`` draws new points from it. This
example estimates the density of two interleaved half-moons, where no single
component is a "cluster", and then learns a density of handwritten digits and
draws new digits from it.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# Two moons: many components for a non-Gaussian shape
# ---------------------------------------------------
# As a clusterer a mixture would want two components here, one per moon. As a
# density estimator it wants as many as the curved shapes need, and the BIC
# decides how many are worth their parameters.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.decomposition import PCA

from gmm_estimators import GaussianMixture, GaussianMixtureSelector

X, _ = make_moons(n_samples=500, noise=0.06, random_state=0)
selector = GaussianMixtureSelector(
    n_components=range(1, 13), covariance_type="full", random_state=0
).fit(X)
gm = selector.best_estimator_
print(f"BIC selects {selector.n_components_} full-covariance components")

# %%
# ``score_samples`` gives the log-density on a grid; ``sample`` draws new
# points (returned grouped by component, with the component of each).
xx, yy = np.meshgrid(np.linspace(-1.6, 2.6, 200), np.linspace(-1.0, 1.5, 150))
log_density = gm.score_samples(np.column_stack([xx.ravel(), yy.ravel()]))
log_density = log_density.reshape(xx.shape)
X_new, component = gm.sample(500)

fig, (ax_density, ax_sample) = plt.subplots(
    1, 2, figsize=(12, 4.2), layout="constrained"
)
image = ax_density.contourf(
    xx, yy, np.exp(log_density), levels=15, cmap="magma_r", alpha=0.9
)
ax_density.scatter(*X.T, s=4, color="black", alpha=0.5)
fig.colorbar(image, ax=ax_density, label="estimated density")
ax_density.set_title(
    f"Data and the estimated density ({gm.n_components} components)"
)
ax_sample.scatter(*X_new.T, s=6, c=[f"C{k % 10}" for k in component])
ax_sample.set_title("500 new points from gm.sample, coloured by component")
for ax in (ax_density, ax_sample):
    ax.set_xlim(-1.6, 2.6)
    ax.set_ylim(-1.0, 1.5)
    ax.set_aspect("equal")
plt.show()

# %%
# Mean log-likelihood of the data and of the samples under the model are
# close, as they should be for points drawn from it:
print(f"training data: {gm.score(X):.3f}, samples: {gm.score(X_new):.3f}")

# %%
# Low density flags outliers
# --------------------------
# ``score_samples`` also ranks points by how typical they are. A point between
# the moons has a far lower log-density than any training point:
odd = np.array([[0.5, 0.25], [-1.5, -0.8]])
print("log-density of two odd points:", np.round(gm.score_samples(odd), 1))
print(
    "1st percentile over the training data:",
    round(float(np.percentile(gm.score_samples(X), 1)), 1),
)

# %%
# New handwritten digits
# ----------------------
# The 8x8 digit images live in 64 dimensions, too many for a full-covariance
# mixture fitted on 1,797 images. Project them on their first 15 principal
# components (which keep 84% of the variance), fit a mixture of ten
# full-covariance Gaussians there, draw new points and map them back to images
# with the PCA's inverse transform. (For the digits as a whole, a
# :class:`~gmm_estimators.MixtureOfPPCA` in the 64 dimensions is the
# alternative: a few principal directions per component.)
digits = load_digits()
pca = PCA(n_components=15, random_state=0).fit(digits.data)
Z = pca.transform(digits.data)
print(f"variance kept: {pca.explained_variance_ratio_.sum():.0%}")

digit_gm = GaussianMixture(n_components=10, random_state=0).fit(Z)
print(f"log-likelihood per image: {digit_gm.score(Z):.2f}")

Z_new, _ = digit_gm.sample(40)
rng = np.random.RandomState(0)
new_digits = pca.inverse_transform(Z_new[rng.permutation(len(Z_new))])
real_digits = digits.data[rng.choice(len(digits.data), 40, replace=False)]

# %%
# Real digits (top) and digits drawn from the mixture (bottom). The samples are
# blurrier than the real images (15 components out of 64 keep only the coarse
# strokes) but they are recognisable digits in the writers' styles, not
# averages of them.
fig, axes = plt.subplots(8, 10, figsize=(8, 7), layout="constrained")
for ax, image in zip(
    axes.ravel(), np.vstack([real_digits, new_digits]), strict=True
):
    ax.imshow(image.reshape(8, 8), cmap="binary", vmin=0, vmax=16)
    ax.set_axis_off()
axes[0, 0].set_title("real", loc="left")
axes[4, 0].set_title("sampled", loc="left")
plt.show()
