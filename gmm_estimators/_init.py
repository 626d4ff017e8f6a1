"""Initial responsibilities: k-means, k-means++, random and random_from_data.

Every method here is a function of the *weighted set* of distinct data points,
not of the row order or of how often a row is repeated: the random draws are
mapped to points along a canonical order (rows sorted by a random projection)
with probabilities proportional to the sample weights.  So shuffling the rows,
repeating a row ``m`` times or giving it weight ``m`` yield the same
initialisation, and zero-weight rows never influence it.

Each method returns a *responsibility source*: a callable ``source(start,
stop)`` that gives the ``(stop - start, n_components)`` initial
responsibilities of those rows, so that the engine never needs an
``n_samples x n_components`` array.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.cluster import KMeans

from ._utils import weighted_moments


class _Canonical:
    """Weighted sampling of data points along a canonical, order-free ranking."""

    def __init__(self, X, weights, rng):
        self.X = X
        self.weights = weights
        direction = rng.standard_normal(X.shape[1])
        _, var = weighted_moments(X, np.ones(X.shape[0]))
        scale = np.sqrt(var)
        scale[scale == 0] = 1.0
        key = X @ (direction / scale)
        self.order = np.argsort(key, kind="stable")

    def draw(self, rng, mass, size=None):
        """Indices drawn with probability proportional to ``mass``."""
        cum = np.cumsum(mass[self.order])
        u = rng.uniform(size=size) * cum[-1]
        pos = np.searchsorted(cum, u, side="right")
        return self.order[np.minimum(pos, len(cum) - 1)]


def _sq_dist(X, centers):
    """Squared Euclidean distances, shape (n_samples, n_centers), clipped at 0."""
    d2 = np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * (X @ centers.T)
    d2 += np.einsum("ij,ij->i", centers, centers)[None, :]
    return np.maximum(d2, 0.0, out=d2)


def kmeans_plusplus_indices(X, weights, n_clusters, rng):
    """Greedy k-means++ seeding on weighted points; returns row indices.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,)
        Non-negative weights; rows of zero weight are never chosen.
    n_clusters : int
    rng : numpy.random.RandomState

    Returns
    -------
    indices : ndarray of shape (n_clusters,)
    """
    canon = _Canonical(X, weights, rng)
    n_trials = 2 + int(np.log(n_clusters))
    indices = [int(canon.draw(rng, weights))]
    closest = _sq_dist(X, X[indices])[:, 0]
    for _ in range(1, n_clusters):
        pot = weights * closest
        if pot.sum() <= 0:  # fewer distinct weighted points than clusters
            pot = weights.astype(np.float64)
        candidates = canon.draw(rng, pot, size=n_trials)
        dist = np.minimum(closest[:, None], _sq_dist(X, X[candidates]))
        best = int(np.argmin(weights @ dist))
        indices.append(int(candidates[best]))
        closest = dist[:, best]
    return np.asarray(indices)


def _labels_source(labels, n_components, dtype):
    """Responsibility source of hard labels (-1: the row belongs to no component)."""
    comps = np.arange(n_components)

    def source(start, stop):
        return (labels[start:stop, None] == comps).astype(dtype)

    return source


def initial_responsibilities(method, X, sample_weight, n_components, rng):
    """The responsibility source of an initialisation method.

    Parameters
    ----------
    method : {'kmeans', 'k-means++', 'random', 'random_from_data'}
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    n_components : int
    rng : numpy.random.RandomState

    Returns
    -------
    source : callable
        ``source(start, stop)`` returns the responsibilities of those rows.
    """
    n_samples = X.shape[0]
    dtype = X.dtype
    weights = np.asarray(sample_weight, dtype=np.float64)
    if method == "random":
        # Pseudo-random responsibilities that are a function of the point
        # itself: frac(a_k . z + b_k) with z the standardised point.
        center, var = weighted_moments(X, weights)
        scale = np.sqrt(var)
        scale[scale == 0] = 1.0
        proj = rng.standard_normal((X.shape[1], n_components)) * 1000.0
        phase = rng.uniform(size=n_components)

        def source(start, stop):
            z = (np.asarray(X[start:stop], dtype=np.float64) - center) / scale
            r = np.mod(z @ proj + phase, 1.0) + 1e-3
            r /= r.sum(axis=1, keepdims=True)
            return r.astype(dtype)

        return source

    labels = np.full(n_samples, -1, dtype=np.intp)
    if method == "random_from_data":
        canon = _Canonical(X, weights, rng)
        mass = weights.copy()
        chosen = []
        for _ in range(n_components):
            if mass.sum() <= 0:  # fewer distinct points than components
                mass = weights.copy()
            idx = int(canon.draw(rng, mass))
            chosen.append(idx)
            mass[(X == X[idx]).all(axis=1)] = 0.0
        labels[chosen] = np.arange(n_components)
    elif method == "k-means++":
        labels[kmeans_plusplus_indices(X, weights, n_components, rng)] = np.arange(
            n_components
        )
    else:  # "kmeans"
        centers = X[kmeans_plusplus_indices(X, weights, n_components, rng)]
        # KMeans scales ``tol`` by the unweighted mean variance of X; rescale it
        # so that the effective tolerance is 1e-4 of the *weighted* variance.
        wvar = float(np.mean(weighted_moments(X, weights)[1]))
        uvar = float(np.mean(weighted_moments(X, np.ones(X.shape[0]))[1]))
        tol = 1e-4 * wvar / uvar if uvar > 0 else 0.0
        km = KMeans(
            n_clusters=n_components,
            init=centers,
            n_init=1,
            tol=tol,
            random_state=rng,
        )
        labels = km.fit(X, sample_weight=weights).labels_.astype(np.intp)
        labels[weights == 0] = -1
    return _labels_source(labels, n_components, dtype)
