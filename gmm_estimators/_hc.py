"""Model-based agglomerative hierarchical clustering: mclust's initialisation.

Banfield & Raftery (1993) and Fraley (1998) start EM from a tree built by
merging, at each step, the two clusters whose union loses the least
classification likelihood of a Gaussian model.  mclust's default (and ours) is
the unconstrained model (``VVV``) on data standardised and rotated by their
SVD (mclust's ``hcUse = "SVD"``); cutting the one tree at every number of
components gives every candidate of a model-selection grid its start.

The criterion (mclust's ``hcVVV`` with ``alpha = beta = 1``) of a cluster with
(weighted) size ``c``, scatter matrix ``W`` and ``t = trace(W)`` is::

    term = c * log(det(W / c) + (t + alpha) / c),   alpha = trace(S) / d

with ``S`` the covariance of the transformed data: the ``(t + alpha) / c``
part keeps the criterion finite for clusters too small to have a regular
covariance.  Merging clusters ``A`` and ``B`` costs
``term(A u B) - term(A) - term(B)``; the union's scatter is
``W_A + W_B + (c_A c_B / c_AB) (m_A - m_B)(m_A - m_B)^T``.

Identical rows start merged (mclust's ``dupPartition``) and a sample weight
counts as that many identical rows, so the tree is a function of the weighted
set of distinct points: rows are sorted before the merges, so their order does
not matter either.  The tree is built on at most :data:`HC_SUBSAMPLE` distinct
points (mclust uses a random subset of 2000 rows); EM then runs on all rows.

Cost: the first merges need only distances (``O(m^2 d)``); each merge then
updates one row of the ``m x m`` cost matrix with ``m`` determinants of
``d x d`` matrices, ``O(m^2 d^3 / 3)`` flops in all for ``m`` points
(about a second for 2000 points in 10 dimensions on one core).
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from ._utils import weighted_moments

#: The tree is built on at most this many distinct rows (mclust's ``subset``).
HC_SUBSAMPLE = 2000


def svd_transform(X, weights):
    """mclust's ``hcUse = "SVD"``: standardise, rotate, scale by ``1/sqrt(s)``.

    Columns are centred and divided by their (weighted, ``n - 1``) standard
    deviation, constant columns are dropped, then the data are projected on
    their right singular vectors and each coordinate divided by the square root
    of its singular value.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,)

    Returns
    -------
    Z : ndarray of shape (n_samples, n_kept), float64
    """
    X = np.asarray(X, dtype=np.float64)
    total = float(weights.sum())
    mean, var = weighted_moments(X, weights)
    keep = var > 0
    if not keep.any():
        return np.zeros((X.shape[0], 1))
    denom = max(total - 1.0, 1e-12)
    sd = np.sqrt(var[keep] * total / denom)
    Z = (X[:, keep] - mean[keep]) / sd
    _, s, vt = np.linalg.svd(np.sqrt(weights)[:, None] * Z, full_matrices=False)
    positive = s > s[0] * 1e-12
    return (Z @ vt[positive].T) / np.sqrt(s[positive])


def _terms(counts, traces, dets, alpha):
    """Criterion of clusters of sizes ``counts`` (see the module docstring)."""
    return counts * np.log(np.maximum(dets, 0.0) + (traces + alpha) / counts)


def hc_merges(Z, counts):
    """The merges of VVV model-based agglomerative clustering of weighted points.

    Parameters
    ----------
    Z : ndarray of shape (m, d)
        Distinct points (already transformed).
    counts : ndarray of shape (m,)
        Positive weight of each point (the number of rows it stands for).

    Returns
    -------
    merges : ndarray of shape (m - 1, 2)
        At step ``s`` cluster ``merges[s, 1]`` is merged into cluster
        ``merges[s, 0]`` (clusters are named by a point index they contain).
    """
    m, d = Z.shape
    if m < 2:
        return np.empty((0, 2), dtype=np.intp)
    total = counts.sum()
    mean = counts @ Z / total
    alpha = max(float(counts @ ((Z - mean) ** 2).sum(axis=1)) / (total * d), 2.2e-16)

    size = counts.astype(np.float64).copy()
    mu = Z.astype(np.float64).copy()
    W = np.zeros((m, d, d))
    trace = np.zeros(m)
    det = np.zeros(m)
    term = _terms(size, trace, det, alpha)

    # Costs of merging two single points: W has rank one, det(W / c) = 0
    # unless d == 1 (where it is the variance of the pair).
    sq = np.einsum("ij,ij->i", mu, mu)
    f = np.outer(size, size) / (size[:, None] + size[None, :])
    t_pair = f * np.maximum(sq[:, None] + sq[None, :] - 2.0 * mu @ mu.T, 0.0)
    c_pair = size[:, None] + size[None, :]
    det_pair = t_pair / c_pair if d == 1 else 0.0
    D = _terms(c_pair, t_pair, det_pair, alpha) - term[:, None] - term[None, :]
    np.fill_diagonal(D, np.inf)
    alive = np.ones(m, dtype=bool)
    nn = np.argmin(D, axis=1)
    nnd = D[np.arange(m), nn]

    merges = np.empty((m - 1, 2), dtype=np.intp)
    for step in range(m - 1):
        a = int(np.argmin(nnd))
        b = int(nn[a])
        if b < a:
            a, b = b, a
        merges[step] = a, b
        # the union, stored at a
        c = size[a] + size[b]
        delta = mu[a] - mu[b]
        g = size[a] * size[b] / c
        W[a] = W[a] + W[b] + g * np.outer(delta, delta)
        trace[a] = trace[a] + trace[b] + g * (delta @ delta)
        mu[a] = (size[a] * mu[a] + size[b] * mu[b]) / c
        size[a] = c
        det[a] = _det(W[a][None] / c)[0]
        term[a] = _terms(size[a : a + 1], trace[a : a + 1], det[a : a + 1], alpha)[0]
        alive[b] = False
        D[b, :] = np.inf
        D[:, b] = np.inf
        nnd[b] = np.inf
        others = np.flatnonzero(alive)
        others = others[others != a]
        if others.size == 0:
            break
        # costs of merging the union with every other cluster
        cj = size[others]
        cu = c + cj
        dl = mu[others] - mu[a]
        gj = c * cj / cu
        tu = trace[a] + trace[others] + gj * np.einsum("ij,ij->i", dl, dl)
        du = np.zeros(len(others))
        big = cu > d  # smaller unions have a singular scatter: det 0
        if big.any():
            Wu = W[a] + W[others[big]]
            Wu += gj[big, None, None] * dl[big, :, None] * dl[big, None, :]
            du[big] = _det(Wu / cu[big, None, None])
        cost = _terms(cu, tu, du, alpha) - term[a] - term[others]
        D[a, others] = cost
        D[others, a] = cost
        # nearest neighbours: the union's own, and rows that pointed at a or b
        j = int(np.argmin(D[a]))
        nn[a], nnd[a] = j, D[a, j]
        stale = others[(nn[others] == a) | (nn[others] == b)]
        if stale.size:
            nn[stale] = np.argmin(D[stale], axis=1)
            nnd[stale] = D[stale, nn[stale]]
        closer = others[cost < nnd[others]]
        nn[closer] = a
        nnd[closer] = D[closer, a]
    return merges


def _det(mats):
    """Determinants of a stack of symmetric positive semi-definite matrices."""
    sign, logdet = np.linalg.slogdet(mats)
    return np.where(sign > 0, np.exp(logdet), 0.0)


def cut_tree(merges, n_points, n_clusters):
    """Labels ``0 .. n_clusters - 1`` of the points when the tree has that many
    clusters (labels numbered by first appearance along the points)."""
    parent = np.arange(n_points)
    for a, b in merges[: n_points - n_clusters]:
        parent[b] = a

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    roots = np.array([root(i) for i in range(n_points)])
    _, first, labels = np.unique(roots, return_index=True, return_inverse=True)
    # renumber by first appearance
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels.ravel()]


class HierarchicalStart:
    """The tree of the ``'hc'`` initialisation of one data set, cut on demand.

    Built once per data set (the selector shares it between all numbers of
    components and covariance types).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    rng : numpy.random.RandomState
        Used only to draw the subsample when there are more than
        :data:`HC_SUBSAMPLE` distinct rows.

    Attributes
    ----------
    merges : ndarray of shape (n_points - 1, 2)
        The tree (see :func:`hc_merges`).
    point_of_row : ndarray of shape (n_samples,)
        The distinct point of each row in the tree, -1 for rows left out.
    row_values : ndarray of shape (n_samples,) or None
        Each row's initial responsibility when the tree was built on a
        subsample; None when every row counts once.
    """

    def __init__(self, X, sample_weight, rng):
        weights = np.asarray(sample_weight, dtype=np.float64)
        Z = svd_transform(X, weights)
        positive = np.flatnonzero(weights > 0)
        # distinct rows in the order of the data's own values, so that the
        # points (and the cluster numbers) do not depend on the transform's
        # rounding or the signs of its singular vectors
        _, first, inverse = np.unique(
            np.asarray(X)[positive], axis=0, return_index=True, return_inverse=True
        )
        inverse = inverse.ravel()
        rows = Z[positive][first]
        counts = np.bincount(inverse, weights=weights[positive], minlength=len(first))
        self.n_samples = X.shape[0]
        if len(rows) > HC_SUBSAMPLE:
            # a weighted draw of rows (order-free: along the sorted distinct
            # rows), then the distinct rows drawn with their multiplicities
            p = counts / counts.sum()
            drawn = rng.choice(len(rows), size=HC_SUBSAMPLE, replace=True, p=p)
            picked, mult = np.unique(drawn, return_counts=True)
            rows = rows[picked]
            # a row stands for its share of its point's draws: responsibility
            # draws / (the point's weight), so that the weighted
            # responsibilities the engine forms add up to the draws
            share = np.zeros(len(counts))
            share[picked] = mult / counts[picked]
            remap = np.full(len(counts), -1)
            remap[picked] = np.arange(len(picked))
            counts = mult.astype(np.float64)
            self.row_values = np.zeros(self.n_samples)
            self.row_values[positive] = share[inverse]
            point = remap[inverse]
        else:
            self.row_values = None  # 1 for every labelled row
            point = inverse
        self.point_of_row = np.full(self.n_samples, -1, dtype=np.intp)
        self.point_of_row[positive] = point
        self.n_points = len(rows)
        self.merges = hc_merges(rows, counts)

    def labels(self, n_clusters):
        """Cluster of each row when the tree is cut at ``n_clusters`` (-1: none)."""
        if n_clusters > self.n_points:
            raise ValueError(
                f"init_params='hc' cannot make {n_clusters} clusters from "
                f"{self.n_points} distinct points."
            )
        point_labels = cut_tree(self.merges, self.n_points, n_clusters)
        labels = np.full(self.n_samples, -1, dtype=np.intp)
        inside = self.point_of_row >= 0
        labels[inside] = point_labels[self.point_of_row[inside]]
        return labels
