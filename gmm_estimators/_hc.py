"""Model-based agglomerative hierarchical clustering: mclust's initialisation.

Banfield & Raftery (1993) and Fraley (1998) start EM from a tree built by
merging, at each step, the two clusters whose union loses the least
classification likelihood of a Gaussian model.  mclust's default (and ours) is
the unconstrained model (``VVV``) on data standardised and rotated by their
SVD (mclust's ``hcUse = "SVD"``), and where there are no more rows than
features Ward's criterion (``EII``: mclustBIC's choice there); cutting the
one tree at every number of components gives every candidate of a
model-selection grid its start.

The criterion (mclust's ``hcVVV`` with ``alpha = beta = 1``) of a cluster with
(weighted) size ``c``, scatter matrix ``W`` and ``t = trace(W)`` is::

    term = c * log(det(W / c) + (t + alpha) / c),   alpha = trace(S) / d

with ``S`` the covariance of the transformed data: the ``(t + alpha) / c``
part keeps the criterion finite for clusters too small to have a regular
covariance.  Merging clusters ``A`` and ``B`` costs
``term(A u B) - term(A) - term(B)``; the union's scatter is
``W_A + W_B + (c_A c_B / c_AB) (m_A - m_B)(m_A - m_B)^T``.

The leaves of the tree are the rows, in their order, as in mclust: identical
rows are separate leaves, which merge when their turn comes (the criterion
favours growing clusters, so an identical pair may wait while its neighbours'
cluster grows), and a tie between merges of equal cost is broken as
mclust's ``hcvvv`` breaks it (:func:`hc_merges`).  So the tree is mclust's on
data with identical rows too (``faithful``, ``geyser``, ``esoph``,
``EuStockMarkets``: every cut at 1..9 components); where costs tie, it
depends on the row order, as mclust's does.  Near ties (equal distances in
exact arithmetic) are broken by rounding, here as in R, and the two round
differently, so on gridded data a cut may still differ.  A row of integer
weight ``w`` is ``w`` leaves in its place (the row repeated, to the last
bit: :func:`svd_transform`); a row of non-integer weight is one leaf that
counts its weight.  The tree is built on at most :data:`HC_SUBSAMPLE`
leaves (mclust uses a random subset of 2000 rows); EM then runs on all
rows.

mclust's ``hcvvv`` keeps each cluster's scatter as a triangular factor in
rows of its data matrix, and it stores the factor's first row in every row
(:func:`_stored`): merges are costed with the factors it reads back, exact
only for the union of the last step, and a union of two older clusters
keeps the term of the cost it stored.  The tree does the same: with the
exact scatters its cuts differed from mclust's on ``wreath`` (K = 2, 3),
``ChickWeight`` (K = 7-10) and ``Orange`` (K = 5); now they are mclust's
on every data set of the panels with more rows than features (but for
rounding near ties, ``quakes[, c("depth", "mag")]``, and ``UKLung``, whose
rows lie in a plane that mclust's transform keeps a rounding-noise
dimension of).

Cost: the first merges need only distances (``O(m^2 d)``); each merge then
updates one row of the ``m x m`` cost matrix with ``m`` determinants of
``d x d`` matrices, ``O(m^2 d^3 / 3)`` flops in all for ``m`` points
(about a second for 2000 points in 10 dimensions on one core); the
determinants of a union with points not merged yet take ``O(d^2)`` each (the
matrix determinant lemma), which saves about a third of the time on 2000
points in 4 dimensions (the merges were the same on every data set of the
panels). With numba installed, trees of at least :data:`HC_COMPILED_POINTS`
points merge in one compiled loop, numpy's operations in the same order
(the same merges on every data set of the panels), about ten times faster.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.linalg import solve_triangular

from . import _kernels
from ._utils import canonical_labels, weighted_moments

#: The tree is built on at most this many distinct rows (mclust's ``subset``).
HC_SUBSAMPLE = 2000

#: The merges of a tree of at least this many points run in one compiled
#: loop (:func:`~gmm_estimators._kernels.hc_loop`) where numba is installed
#: (None: never): numpy's loop's operations in the same order, where only
#: the libraries' rounding can differ (the determinants, a sum of squares):
#: the same merges and ties on the 65 data sets of the panels and
#: scikit-learn's with numpy 2; with numpy 1.23 and scipy 1.9 the same
#: merges, and on one set one more exact tie, broken the same way.  About
#: ten times faster (faithful's tree 4.4 ms instead of 50, 2000 points 0.45
#: s instead of 1.05).  Smaller trees keep numpy's loop: there it takes
#: 20-30 ms, and the loop's first compilation after an install, 7 s, would
#: have doubled the first run of the demo (178 rows).
HC_COMPILED_POINTS = 200


#: Integer weights are expanded into repeated rows for the transform's
#: statistics when they add up to at most this many rows.
EXPAND_ROWS = 10**6


def leaf_units(weights):
    """The leaves of the tree for rows of these weights: ``w`` for an integer
    weight ``w`` (the row repeated), 1 for another positive weight."""
    w = np.asarray(weights, dtype=np.float64)
    return np.where(w == np.floor(w), w, 1.0 * (w > 0))


def svd_transform(X, weights):
    """mclust's ``hcUse = "SVD"``: standardise, rotate, scale by ``1/sqrt(s)``.

    Columns are centred and divided by their (weighted, ``n - 1``) standard
    deviation, constant columns are dropped, then the data are projected on
    their right singular vectors and each coordinate multiplied by the
    reciprocal of the square root of its singular value.

    With integer weights (every weight 1 included) the statistics are those
    of the rows repeated by weight, so that a row of weight ``w`` gives, to
    the last bit, the numbers of the row repeated ``w`` times in its place
    (which the tree's ties need); other weights take weighted moments.  The
    points are not R's to the last bit (its SVD rounds otherwise), so a near
    tie between merge costs (equal distances in exact arithmetic) may be
    broken otherwise than in mclust; exact ties (identical rows) are not.

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
    if np.all(weights == np.floor(weights)) and total <= EXPAND_ROWS:
        if not np.all(weights == 1.0):
            rows = np.repeat(X, weights.astype(np.intp), axis=0)
            return _standardised_svd(X, rows, np.ones(len(rows)))
    return _standardised_svd(X, X, weights)


def _standardised_svd(X, rows, weights):
    """:func:`svd_transform` of X with the statistics of the weighted ``rows``."""
    total = float(weights.sum())
    mean, var = weighted_moments(rows, weights)
    keep = var > 0
    if not keep.any():
        return np.zeros((X.shape[0], 1))
    denom = max(total - 1.0, 1e-12)
    sd = np.sqrt(var[keep] * total / denom)
    Z = (rows[:, keep] - mean[keep]) / sd
    _, s, vt = np.linalg.svd(np.sqrt(weights)[:, None] * Z, full_matrices=False)
    if rows is not X:
        Z = (X[:, keep] - mean[keep]) / sd
    positive = s > s[0] * 1e-12
    return (Z @ vt[positive].T) * (1.0 / np.sqrt(s[positive]))


def _terms(counts, traces, dets, alpha):
    """Criterion of clusters of sizes ``counts`` (see the module docstring)."""
    return counts * np.log(np.maximum(dets, 0.0) + (traces + alpha) / counts)


def hc_merges(Z, counts, spherical=False, ties=None):
    """The merges of VVV model-based agglomerative clustering of weighted points.

    At each step the pair of clusters whose merge costs least is merged.
    With ``spherical``, the model is mclust's ``EII`` instead (``hcEII``,
    Ward's criterion: merging ``A`` and ``B`` costs ``(c_A c_B / c_AB)
    |m_A - m_B|^2``), which mclust uses when there are no more rows than
    features.
    Ties are broken as mclust's ``hcvvv`` breaks them: clusters sit in slots
    ``0 .. s - 1`` (at first point ``i`` in slot ``i``); of the pairs of
    least cost, the one whose larger slot is largest, then whose smaller slot
    is largest, is merged; the union takes the smaller slot, and the cluster
    in the last slot moves to the freed one.

    Parameters
    ----------
    Z : ndarray of shape (m, d)
        The points (already transformed), in order.
    counts : ndarray of shape (m,)
        Positive weight of each point (the number of rows it stands for).
    spherical : bool, default=False
        Ward's criterion (mclust's ``hcEII``) instead of ``hcVVV``'s.
    ties : list or None, default=None
        Where given, the number of steps at which several pairs cost least
        (a tie the slots broke) is appended to it.

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
    W = None if spherical else np.zeros((m, d, d))
    trace = np.zeros(m)
    det = np.zeros(m)
    leaf = np.ones(m, dtype=bool)  # a point not merged yet: W = 0
    term = _terms(size, trace, det, alpha)

    # Costs of merging two single points: W has rank one, det(W / c) = 0
    # unless d == 1 (where it is the variance of the pair).
    sq = np.einsum("ij,ij->i", mu, mu)
    f = np.outer(size, size) / (size[:, None] + size[None, :])
    t_pair = f * np.maximum(sq[:, None] + sq[None, :] - 2.0 * mu @ mu.T, 0.0)
    if spherical:
        D = t_pair
    else:
        c_pair = size[:, None] + size[None, :]
        det_pair = t_pair / c_pair if d == 1 else 0.0
        D = _terms(c_pair, t_pair, det_pair, alpha) - term[:, None] - term[None, :]
    np.fill_diagonal(D, np.inf)
    alive = np.ones(m, dtype=bool)
    nn = np.argmin(D, axis=1)
    nnd = D[np.arange(m), nn]
    # mclust's slots: the slot of each cluster, the cluster in each slot
    slot = np.arange(m)
    at = np.arange(m)

    merges = np.empty((m - 1, 2), dtype=np.intp)
    if (
        HC_COMPILED_POINTS is not None
        and m >= HC_COMPILED_POINTS
        and _kernels.enabled()
    ):
        n_tied = _kernels.hc_loop(
            D, mu, size, np.zeros((1, d, d)) if spherical else W, trace, det,
            term, leaf, nn, nnd, alive, slot, at, spherical, alpha, LEMMA_MIN,
            merges,
        )  # fmt: skip
        if ties is not None:
            ties.append(n_tied)
        return merges
    recent = -1  # the union of the last step
    n_tied = 0
    for step in range(m - 1):
        lg = m - step  # clusters left, in slots 0 .. lg - 1
        least = nnd.min()
        tied = np.flatnonzero(nnd == least)
        if tied.size == 2:  # one pair costs least
            a, b = int(tied[0]), int(tied[1])
        else:
            a, b = _last_pair(D, tied, least, slot)
            n_tied += 1
        # a in the smaller slot: it keeps the union
        if slot[b] < slot[a]:
            a, b = b, a
        merges[step] = a, b
        freed, last = slot[b], lg - 1
        if freed != last:
            moved = at[last]
            at[freed], slot[moved] = moved, freed
        # the union, stored at a
        c = size[a] + size[b]
        delta = mu[a] - mu[b]
        g = size[a] * size[b] / c
        if not spherical:
            # mclust's term of a union of two clusters neither of which was
            # formed at the last step: the cost it stored plus their terms
            involves_recent = recent in (a, b)
            stored_term = D[a, b] + term[a] + term[b]
            # the scatter as mclust's factors hold it: the last step's union
            # its own, every other cluster's as mclust stores it (_stored)
            pair = np.array([a, b])
            Wab = _stored(W[pair], size[pair], d)
            Wab[pair == recent] = W[recent]
            W[a] = Wab[0] + Wab[1] + g * np.outer(delta, delta)
        mu[a] = (size[a] * mu[a] + size[b] * mu[b]) / c
        size[a] = c
        recent = a
        if not spherical:
            trace[a] = trace[a] + trace[b] + g * (delta @ delta)
            leaf[a] = False
            det[a] = _det(W[a][None] / c)[0]
            if involves_recent:
                term[a] = _terms(
                    size[a : a + 1], trace[a : a + 1], det[a : a + 1], alpha
                )[0]
            else:
                term[a] = stored_term
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
        if spherical:  # the growth of the within-cluster sum of squares
            cost = gj * np.einsum("ij,ij->i", dl, dl)
        else:
            cost = _vvv_costs(
                a, others, c, cu, dl, gj, W, trace, det, term, leaf, alpha, d
            )
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
    if ties is not None:
        ties.append(n_tied)
    return merges


def _stored(W, size, d):
    """The scatters ``W`` (a stack) of clusters of ``size`` points as mclust's
    ``hcvvv`` reads them back from storage.

    ``hcvvv`` keeps each cluster's scatter as a triangular factor ``R``
    (``W = R^T R``), stored in rows of its data matrix; it stores the first
    row of ``R`` in every one of the ``min(size - 1, d)`` rows and reads
    row ``k`` back from column ``k`` on, so the factor it reads has
    ``R'[k, l] = R[0, l]`` for ``l >= k``.  Only the union formed at the
    last step keeps its own factor.  The costs it compares are those of the
    read factors, and so are its merges (``wreath``: at 3 components the
    merge it makes costs 443.117 by the exact scatters and 442.413 by the
    stored ones, the other 442.605 and 442.529)."""
    W = np.asarray(W)
    pivot = W[:, 0, 0]
    safe = np.where(pivot > 0, pivot, 1.0)
    r0 = np.where(pivot[:, None] > 0, W[:, 0, :] / np.sqrt(safe)[:, None], 0.0)
    rows = np.minimum(np.asarray(size) - 1, d)
    idx = np.arange(d)
    # row k of the read factor is r0 from column k on: sum_k suffix outer
    # products, r0_i r0_l times the rows k <= min(i, l)
    times = np.minimum(np.minimum.outer(idx, idx)[None] + 1, rows[:, None, None])
    return r0[:, :, None] * r0[:, None, :] * np.maximum(times, 0)


def _vvv_costs(a, others, c, cu, dl, gj, W, trace, det, term, leaf, alpha, d):
    """The costs under ``hcVVV``'s criterion of merging the union just
    stored at ``a`` (weight ``c``) with each of the clusters ``others``."""
    tu = trace[a] + trace[others] + gj * np.einsum("ij,ij->i", dl, dl)
    du = np.zeros(len(others))
    big = cu > d  # smaller unions have a singular scatter: det 0
    if big.any():
        # with a leaf j (W_j = 0), W_u = W_a + g_j dl_j dl_j^T and, by the
        # matrix determinant lemma, det(W_u) = det(W_a) (1 + g_j dl_j^T
        # W_a^-1 dl_j): O(d^2) a pair instead of a determinant
        lemma = big & leaf[others]
        factor = None
        if c > d and det[a] > 0 and np.count_nonzero(lemma) >= LEMMA_MIN:
            factor = _regular_factor(W[a])
        if factor is None:
            lemma[:] = False
        else:
            y = solve_triangular(factor, dl[lemma].T, lower=True, check_finite=False)
            q = np.einsum("ij,ij->j", y, y)
            du[lemma] = det[a] * (c / cu[lemma]) ** d * (1.0 + gj[lemma] * q)
        full = big & ~lemma
        if full.any():
            j = others[full]
            Wu = W[a] + _stored(W[j], cu[full] - c, d)
            Wu += gj[full, None, None] * dl[full, :, None] * dl[full, None, :]
            du[full] = _det(Wu / cu[full, None, None])
    return _terms(cu, tu, du, alpha) - term[a] - term[others]


#: The determinants of a union with the points not merged yet go by the
#: matrix determinant lemma when there are at least this many of them (below,
#: the Cholesky factor costs more than the determinants it saves).
LEMMA_MIN = 64


def _regular_factor(W):
    """The lower Cholesky factor of the scatter ``W`` when it is well
    conditioned (its diagonal within a factor 1e6), else None."""
    try:
        L = np.linalg.cholesky(W)
    except np.linalg.LinAlgError:
        return None
    r = np.abs(np.diag(L))
    if not r.min() > 1e-6 * r.max():
        return None
    return L


def _last_pair(D, tied, least, slot):
    """Of the pairs of clusters that cost ``least`` (each in a row of
    ``tied``), the one mclust merges: the largest larger slot, then the
    largest smaller slot."""
    rows, cols = np.nonzero(D[tied] == least)
    i, j = tied[rows], cols
    hi = np.maximum(slot[i], slot[j])
    lo = np.minimum(slot[i], slot[j])
    best = int(np.argmax(hi * len(slot) + lo))
    return int(i[best]), int(j[best])


def _det(mats):
    """Determinants of a stack of symmetric positive semi-definite matrices."""
    sign, logdet = np.linalg.slogdet(mats)
    return np.where(sign > 0, np.exp(logdet), 0.0)


def cut_tree(merges, n_points, n_clusters):
    """Labels ``0 .. n_clusters - 1`` of the points when the tree has that many
    clusters (labels numbered by first appearance along the points)."""
    parent = np.arange(n_points)
    done = np.asarray(merges[: n_points - n_clusters], dtype=np.intp).reshape(-1, 2)
    # a cluster is merged into another once and never named again: each
    # point has at most one parent, and the roots follow by pointer jumping
    # (each pass halves the longest path: log2(n_points) passes at most)
    parent[done[:, 1]] = done[:, 0]
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    return canonical_labels(parent)


class HierarchicalStart:
    """The tree of the ``'hc'`` initialisation of one data set, cut on demand.

    Built once per data set (the selector shares it between all numbers of
    components and covariance types).  Its leaves are the rows in their order
    (a row of integer weight ``w``: ``w`` leaves; of another positive weight:
    one leaf counting it; of weight 0: none); on more than
    :data:`HC_SUBSAMPLE` leaves, a draw of that many without replacement,
    kept in row order: of the rows when every weight is 1 (mclust's
    ``subset``), of the rows repeated by weight with integer weights (a row
    drawn ``m`` times is ``m`` leaves), of the rows with probabilities by
    weight otherwise.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    rng : numpy.random.RandomState
        Used only to draw the subsample when there are more than
        :data:`HC_SUBSAMPLE` leaves.

    Attributes
    ----------
    merges : ndarray of shape (n_points - 1, 2)
        The tree (see :func:`hc_merges`).
    n_points : int
        The number of leaves.
    leaf_row : ndarray of shape (n_points,)
        The row of each leaf.
    leaf_value : ndarray of shape (n_points,)
        What each leaf adds to its row's initial responsibility for its
        cluster: ``1 / weight`` for a leaf that counts one (so that the
        weighted responsibilities the engine forms count the leaves), 1 for
        a leaf that counts its row's weight.
    n_distinct : int
        The number of distinct rows of positive weight.
    """

    def __init__(self, X, sample_weight, rng):
        weights = np.asarray(sample_weight, dtype=np.float64)
        positive = np.flatnonzero(weights > 0)
        w = weights[positive]
        self.n_samples = X.shape[0]
        self.n_distinct = len(np.unique(np.asarray(X)[positive], axis=0))
        Z = svd_transform(np.asarray(X)[positive], w)
        integral = w == np.floor(w)
        units = leaf_units(w)
        if units.sum() > HC_SUBSAMPLE:
            # a draw without replacement: of the rows (mclust's subset) or,
            # with integer weights, of the rows repeated by weight; with
            # other weights, of the rows with probabilities by weight
            if np.all(integral) and units.sum() <= EXPAND_ROWS:
                copies = np.repeat(np.arange(len(w)), units.astype(np.intp))
                drawn = copies[rng.choice(len(copies), HC_SUBSAMPLE, replace=False)]
            else:
                p = None if np.all(w == w[0]) else w / w.sum()
                size = min(HC_SUBSAMPLE, len(w))
                drawn = rng.choice(len(w), size, replace=False, p=p)
            leaf = np.sort(drawn)
            counts = np.ones(len(leaf))
            value = 1.0 / w[leaf]
        else:
            leaf = np.repeat(np.arange(len(w)), units.astype(np.intp))
            counts = np.where(integral, 1.0, w)[leaf]
            value = np.where(integral, 1.0 / w, 1.0)[leaf]
        self.leaf_row = positive[leaf]
        self.leaf_value = value
        self.n_points = len(leaf)
        # mclust's hcEII where there are no more rows than features
        self.spherical = units.sum() <= X.shape[1]
        ties = []
        self.merges = hc_merges(Z[leaf], counts, spherical=self.spherical, ties=ties)
        #: the steps at which several merges cost least (broken by the slots)
        self.tied_steps = ties[0] if ties else 0

    def _leaf_labels(self, n_clusters):
        if n_clusters > self.n_distinct:
            raise ValueError(
                f"init_params='hc' cannot make {n_clusters} clusters from "
                f"{self.n_distinct} distinct points."
            )
        return cut_tree(self.merges, self.n_points, n_clusters)

    def labels(self, n_clusters):
        """Cluster of each row when the tree is cut at ``n_clusters`` (-1: none;
        a row whose leaves fall in several clusters: its first leaf's)."""
        return self.responsibilities(n_clusters)[0]

    def responsibilities(self, n_clusters):
        """The initial responsibilities of the cut at ``n_clusters``: each
        row's leaves' values summed per cluster.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The cluster of each row's first leaf (-1: a row without leaves).
        values : ndarray of shape (n_samples,) or None
            The responsibility of each row for that cluster (None: 1 for
            every labelled row).
        split : tuple of two ndarrays
            The rows whose leaves fall in several clusters, shape
            ``(n_split,)``, and their responsibilities, shape
            ``(n_split, n_clusters)``.
        """
        leaf_labels = self._leaf_labels(n_clusters)
        # the leaves of a row are consecutive
        rows, first = np.unique(self.leaf_row, return_index=True)
        labels = np.full(self.n_samples, -1, dtype=np.intp)
        labels[rows] = leaf_labels[first]
        none = (np.empty(0, dtype=np.intp), np.empty((0, n_clusters)))
        if len(rows) == self.n_points and np.all(self.leaf_value == 1.0):
            return labels, None, none  # a leaf of value 1 per row
        values = np.zeros(self.n_samples)
        values[rows] = np.add.reduceat(self.leaf_value, first)
        lo = np.minimum.reduceat(leaf_labels, first)
        hi = np.maximum.reduceat(leaf_labels, first)
        if np.all(lo == hi):
            return labels, values, none
        split_rows = rows[lo != hi]
        of_leaf = np.repeat(lo != hi, np.diff(np.append(first, self.n_points)))
        split = np.zeros((len(split_rows), n_clusters))
        np.add.at(
            split,
            (np.searchsorted(split_rows, self.leaf_row[of_leaf]), leaf_labels[of_leaf]),
            self.leaf_value[of_leaf],
        )
        return labels, values, (split_rows, split)


#: mclust's ``qclass`` adds one quantile probability at a time while fewer
#: than ``K + 1`` quantiles are distinct; after this many, the distinct values
#: join the quantiles (on the panels' data it never took more than 6).
QCLASS_STEPS = 100


class QuantileStart:
    """mclust's start for one feature (its ``qclass``): classes between
    quantiles of the data, cut on demand.

    For one feature mclust builds no tree: ``mclustBIC`` starts EM at ``K``
    components from ``K`` classes between ``R``'s (type 7) quantiles at
    ``K + 1`` equally spaced probabilities, taking more probabilities while
    fewer than ``K + 1`` quantiles are distinct and then dropping the lower
    end of the smallest gaps.  A row's weight counts as repetition (the
    quantiles of the repeated data).  Unlike mclust, which takes the
    quantiles of a random subset of 2000 rows on larger data, the quantiles
    here are of all the rows; and where a few values hold nearly all the
    rows, mclust's loop would run for as many steps as there are rows: after
    :data:`QCLASS_STEPS` the distinct values join the quantiles instead.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 1)
    sample_weight : ndarray of shape (n_samples,)
    """

    def __init__(self, X, sample_weight):
        weights = np.asarray(sample_weight, dtype=np.float64)
        x = np.asarray(X, dtype=np.float64)[:, 0]
        positive = weights > 0
        self.x = x
        self.positive = positive
        self.values, inverse = np.unique(x[positive], return_inverse=True)
        self.counts = np.bincount(inverse.ravel(), weights=weights[positive])
        self.n_distinct = len(self.values)
        self.n_samples = len(x)

    def _quantiles(self, p):
        """Type 7 quantiles of the data repeated by weight."""
        v, c = self.values, self.counts
        total = c.sum()
        ends = np.cumsum(c)
        h = np.clip(p * (total - 1.0), 0.0, None)
        lo = np.floor(h)

        def at(pos):
            return v[np.minimum(np.searchsorted(ends, pos, side="right"), len(v) - 1)]

        below, above, f = at(lo), at(lo + 1), h - lo
        # R's form of the interpolation, (1 - f) * below + f * above
        return np.where(above != below, (1.0 - f) * below + f * above, below)

    def labels(self, n_clusters):
        """Class of each row (-1: a row of zero weight)."""
        if n_clusters > self.n_distinct:
            raise ValueError(
                f"init_params='hc' cannot make {n_clusters} clusters from "
                f"{self.n_distinct} distinct points."
            )
        k = n_clusters
        q = np.unique(self._quantiles(np.linspace(0.0, 1.0, k + 1)))
        m = k + 1
        while len(q) < k + 1 and self.n_distinct > k and m < k + 1 + QCLASS_STEPS:
            m += 1
            q = np.unique(self._quantiles(np.linspace(0.0, 1.0, m)))
        if len(q) < k + 1:
            # a few values hold nearly all the weight (mclust would go on
            # adding probabilities, for as many steps as there are rows):
            # the distinct values join the quantiles; as many distinct values
            # as classes: each value a class
            q = np.unique(np.concatenate([q, self.values]))
            if len(q) < k + 1:
                q = np.append(q, np.inf)
        if len(q) > k + 1:
            drop = np.argsort(np.diff(q), kind="stable")[: len(q) - k - 1]
            q = np.delete(q, drop)
        labels = np.searchsorted(q[1:-1], self.x, side="right")
        labels[~self.positive] = -1
        return labels

    def responsibilities(self, n_clusters):
        """As :meth:`HierarchicalStart.responsibilities`: every row wholly
        in its class."""
        none = (np.empty(0, dtype=np.intp), np.empty((0, n_clusters)))
        return self.labels(n_clusters), None, none
