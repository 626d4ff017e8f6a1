"""Initial responsibilities: hc, k-means, k-means++, random and random_from_data.

Every method but 'hc' is a function of the *weighted set* of distinct data
points, not of the row order or of how often a row is repeated: the random
draws are mapped to points along a canonical order (rows sorted by a random
projection) with probabilities proportional to the sample weights.  So
shuffling the rows, repeating a row ``m`` times or giving it weight ``m`` yield
the same initialisation, and zero-weight rows never influence it.  'hc' is
mclust's tree (:mod:`gmm_estimators._hc`), whose leaves are the rows in their
order, as mclust's are: weight ``m`` is the row repeated ``m`` times in its
place, and where merge costs tie the row order decides, as in mclust.

Each method returns a *responsibility source*: a callable ``source(start,
stop)`` that gives the ``(n_components, stop - start)`` initial
responsibilities of those rows, so that the engine never needs an
``n_samples x n_components`` array.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.cluster import KMeans

from ._hc import HC_SUBSAMPLE, HierarchicalStart, QuantileStart, leaf_units
from ._utils import canonical_labels, kmeans_threads, weighted_moments

#: k-means runs on at most this many rows drawn from the data (with
#: probability proportional to the sample weights); EM then refines on all rows.
KMEANS_SUBSAMPLE = 20_000
_CHUNK = 8192


class _Canonical:
    """Weighted sampling of data points along a canonical, order-free ranking.

    Rows are ranked by their projection on a random direction (of the
    standardised data), so identical rows are adjacent and the ranking does not
    depend on the row order.  A draw ``u * total_mass`` is mapped through the
    cumulative mass along that ranking.
    """

    def __init__(self, X, weights, rng):
        direction = rng.standard_normal(X.shape[1])
        _, var = weighted_moments(X, weights)
        scale = np.sqrt(var)
        scale[scale == 0] = 1.0
        self.key = X @ (direction / scale).astype(X.dtype)
        self.order = np.argsort(self.key, kind="stable")

    def draw(self, rng, mass, size=None):
        """Indices drawn with probability proportional to ``mass``."""
        cum = np.cumsum(mass[self.order])
        u = rng.uniform(size=size) * cum[-1]
        pos = np.searchsorted(cum, u, side="right")
        return self.order[np.minimum(pos, len(cum) - 1)]

    def same_rows(self, X, idx):
        """Boolean mask of the rows identical to row ``idx``."""
        mask = self.key == self.key[idx]
        cand = np.flatnonzero(mask)
        mask[cand] = (X[cand] == X[idx]).all(axis=1)
        return mask


def _sq_dist(X, centers):
    """Squared Euclidean distances (n_samples, n_centers) in float64, clipped at 0."""
    X = np.asarray(X, dtype=np.float64)
    d2 = np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * (X @ centers.T)
    d2 += np.einsum("ij,ij->i", centers, centers)[None, :]
    return np.maximum(d2, 0.0, out=d2)


def _chunks(n):
    return ((s, min(s + _CHUNK, n)) for s in range(0, n, _CHUNK))


def kmeans_plusplus_indices(X, weights, n_clusters, rng):
    """Greedy k-means++ seeding on weighted points; returns row indices.

    As scikit-learn's ``kmeans_plusplus`` (``2 + log k`` candidates per step,
    the one that most reduces the weighted potential is kept), with draws
    along the canonical order and distances in row chunks (memory O(n)).

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
    n = X.shape[0]
    canon = _Canonical(X, weights, rng)
    n_trials = 2 + int(np.log(n_clusters))
    indices = [int(canon.draw(rng, weights))]
    closest = np.empty(n)
    for s, e in _chunks(n):
        closest[s:e] = _sq_dist(X[s:e], X[indices].astype(np.float64))[:, 0]
    for _ in range(1, n_clusters):
        pot = weights * closest
        if pot.sum() <= 0:  # fewer distinct weighted points than clusters
            pot = weights.astype(np.float64)
        candidates = canon.draw(rng, pot, size=n_trials)
        centers = X[candidates].astype(np.float64)
        potentials = np.zeros(n_trials)
        for s, e in _chunks(n):
            dist = np.minimum(closest[s:e, None], _sq_dist(X[s:e], centers))
            potentials += weights[s:e] @ dist
        best = int(np.argmin(potentials))
        indices.append(int(candidates[best]))
        for s, e in _chunks(n):
            d_best = _sq_dist(X[s:e], centers[best : best + 1])[:, 0]
            np.minimum(closest[s:e], d_best, out=closest[s:e])
    return np.asarray(indices)


def _labels_source(labels, n_components, dtype, values=None, split=None):
    """Responsibility source of hard labels (-1: the row belongs to no component).

    ``values`` (one per row) replaces the 1 of the one-hot rows; ``split``,
    ``(rows, resp)`` with ``rows`` sorted and ``resp`` of shape
    ``(len(rows), n_components)``, replaces those rows' responsibilities.
    """
    comps = np.arange(n_components)

    def source(start, stop):
        resp = (labels[start:stop] == comps[:, None]).astype(dtype)
        if values is not None:
            resp *= values[start:stop]
        if split is not None and len(split[0]):
            lo, hi = np.searchsorted(split[0], [start, stop])
            resp[:, split[0][lo:hi] - start] = split[1][lo:hi].T
        return resp

    return source


def _nearest_center_source(X, centers, dtype):
    """Responsibility source: each row belongs to its nearest centre."""
    comps = np.arange(len(centers))

    def source(start, stop):
        labels = np.argmin(_sq_dist(X[start:stop], centers), axis=1)
        return (labels == comps[:, None]).astype(dtype)

    return source


def kmeans_centers(X, weights, n_clusters, rng):
    """Weighted k-means centres, on a weighted subsample of at most
    :data:`KMEANS_SUBSAMPLE` rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,)
    n_clusters : int
    rng : numpy.random.RandomState

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
    """
    positive = np.flatnonzero(weights > 0)
    if len(positive) <= KMEANS_SUBSAMPLE:
        rows, row_weights = positive, weights[positive]
    else:
        # Draws with replacement, proportional to the weights: a row drawn c
        # times enters k-means once with weight c.
        drawn = _Canonical(X, weights, rng).draw(rng, weights, size=KMEANS_SUBSAMPLE)
        rows, counts = np.unique(drawn, return_counts=True)
        row_weights = counts.astype(np.float64)
    sub = X[rows]
    seeds = sub[kmeans_plusplus_indices(sub, row_weights, n_clusters, rng)]
    # KMeans scales ``tol`` by the unweighted mean variance of its input;
    # rescale it so that the effective tolerance is 1e-4 of the *weighted*
    # variance (repetition and weighting then stop at the same point).
    wvar = float(np.mean(weighted_moments(sub, row_weights)[1]))
    uvar = float(np.mean(weighted_moments(sub, np.ones(len(sub)))[1]))
    tol = 1e-4 * wvar / uvar if uvar > 0 else 0.0
    km = KMeans(n_clusters=n_clusters, init=seeds, n_init=1, tol=tol, random_state=rng)
    with kmeans_threads(len(sub)):
        km.fit(sub, sample_weight=row_weights)
    return km.cluster_centers_.astype(np.float64)


#: The initialisation methods, in the order a list of them is tried.
INIT_METHODS = ("hc", "kmeans", "k-means++", "random", "random_from_data")

#: The second round's 'hc' start (internal): the tree of the rows sorted by
#: value.  mclust's tree breaks ties between merges of equal cost (identical
#: rows, equal distances of rounded data) by the row order; sorted rows break
#: them otherwise, and on data with ties EM from the two trees often ends at
#: different optima (on R's quakes[, c("depth", "mag")], diag K=8: 13578.9
#: from the rows' order, 13555.5 sorted, mclust 13557.0).  Skipped when its
#: cut is the first tree's, for one feature (quantile classes do not depend
#: on the order) and when the tree would be built on a subsample; and not
#: built when no two merges of the first tree tied (on the 46 panel data
#: sets of 2 to 2000 rows and at least two features, the sorted tree's cuts
#: at 1..9 differed from the first tree's on 7, each with ties, and on none
#: of the 30 without: there it cost a tree for nothing, about 5% of the
#: four-type search on wine).
HC_SORTED = "hc:sorted"


class SkippedStart(ValueError):
    """A start that is not run because it would repeat another (the second
    tree where it has no cut of its own): not a failure of the fit, which
    reports the errors of the starts that did run."""


def last_hc_responsibilities(X, n_components, cache):
    """The responsibility source of the last 'hc' start drawn on the rows
    ``X`` through ``cache`` (by :func:`initial_responsibilities`), with no
    draw from a generator: another run from the very same start (its tree's
    subset included), or None when there was none."""
    start = (cache or {}).get(("hc", "last", X.shape[0]))
    return None if start is None else _tree_source(start, n_components, X.dtype)


#: The starts of a fit drawn through a search's cache are kept there,
#: responsibilities and all, when together they hold at most this many
#: elements (starts x components x rows: 8 MiB for each number of
#: components; a screening subsample of 4096 rows and 13 starts of 9
#: components hold 479 232): the candidates of a search with the same number
#: of components (every covariance type) draw the same starts from the same
#: generator state, and each after the first then costs a look-up (on
#: faithful, the fourteen-model search drew its starts 1764 times, 126 of
#: them distinct).
SHARED_START_ELEMENTS = 2**20


def shared_starts(draw, methods, n_samples, n_components, dtype, rng, cache):
    """``draw()``: the responsibility source (or ``ValueError``) of each of
    ``methods``, drawn from ``rng`` through ``cache``, looked up in ``cache``
    where a fit drew the same starts from the same generator state on rows as
    many (the rows of a search's cache are one data set), and ``rng`` then
    moved on as the draws would move it.  ``methods`` are ``init_params``
    names; a search's partitions are not shared."""
    if (
        cache is None
        or not all(isinstance(method, str) for method in methods)
        or len(methods) * n_samples * n_components > SHARED_START_ELEMENTS
        or not isinstance(rng, np.random.RandomState)
    ):
        return draw()
    name, keys, pos, has_gauss, gauss = rng.get_state(legacy=True)
    key = ("starts", tuple(methods), n_samples, n_components, np.dtype(dtype).str)
    key += (keys.tobytes(), pos, has_gauss, gauss)
    last = ("hc", "last", n_samples)
    if key not in cache:
        made = [
            out if isinstance(out, ValueError) else out(0, n_samples) for out in draw()
        ]
        cache[key] = (made, rng.get_state(), cache.get(last))
    made, state, tree = cache[key]
    rng.set_state(state)
    if tree is not None:
        cache[last] = tree
    return [
        type(out)(*out.args)
        if isinstance(out, ValueError)
        else (lambda start, stop, resp=out: resp[:, start:stop].copy())
        for out in made
    ]


def _tree_source(start, n_components, dtype):
    """The responsibility source of an 'hc' start cut at ``n_components``."""
    labels, values, split = start.responsibilities(n_components)
    return _labels_source(labels, n_components, dtype, values, split)


def initial_responsibilities(method, X, sample_weight, n_components, rng, cache=None):
    """The responsibility source of an initialisation method.

    Parameters
    ----------
    method : {'hc', 'kmeans', 'k-means++', 'random', 'random_from_data'}
        'hc': the tree of model-based agglomerative hierarchical clustering
        (:class:`~gmm_estimators._hc.HierarchicalStart`) cut at
        ``n_components`` clusters; 'kmeans': each row belongs to its nearest k-means centre (see
        :func:`kmeans_centers`); 'k-means++': the k-means++ seeds, one row per
        component; 'random': pseudo-random responsibilities that are a
        function of the point; 'random_from_data': distinct random rows, one
        per component.
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,)
    n_components : int
    rng : numpy.random.RandomState
    cache : dict or None, default=None
        Work shared between fits on the same data (the hc tree, and each
        number of components' k-means centres), keyed by the method, the
        number of components and a seed drawn from ``rng``.

    Returns
    -------
    source : callable
        ``source(start, stop)`` returns the responsibilities of those rows.
    """
    n_samples = X.shape[0]
    if method == HC_SORTED:
        return _sorted_tree_source(X, sample_weight, n_components, cache)
    if method in ("hc", "kmeans"):
        # One seed per call, drawn whether or not a cache is given, so that a
        # fit sharing a search's cache starts exactly as a fit alone would.
        seed = int(rng.randint(np.iinfo(np.int32).max))
        # (the rows count too: a fit may draw its starts on a subsample)
        key = (method, seed, n_samples) + (
            (n_components,) if method == "kmeans" else ()
        )
        cache = {} if cache is None else cache
        if key not in cache:
            cache[key] = _compute_start(
                method, X, sample_weight, n_components, np.random.RandomState(seed)
            )
        start = cache[key]
        if method == "hc":
            cache[("hc", "last", n_samples)] = start
    if method == "hc":
        return _tree_source(start, n_components, X.dtype)
    if method == "kmeans":
        return _nearest_center_source(X, start, X.dtype)
    dtype = X.dtype
    weights = np.asarray(sample_weight, dtype=np.float64)
    if method == "random":
        # frac(a_k . z + b_k) with z the standardised point: random across
        # points, identical for identical rows.
        center, var = weighted_moments(X, weights)
        scale = np.sqrt(var)
        scale[scale == 0] = 1.0
        proj = rng.standard_normal((X.shape[1], n_components)) * 1000.0
        phase = rng.uniform(size=n_components)

        def source(start, stop):
            z = (np.asarray(X[start:stop], dtype=np.float64) - center) / scale
            r = np.mod(proj.T @ z.T + phase[:, None], 1.0) + 1e-3
            r /= r.sum(axis=0)
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
            mass[canon.same_rows(X, idx)] = 0.0
    else:  # "k-means++"
        chosen = kmeans_plusplus_indices(X, weights, n_components, rng)
    labels[chosen] = np.arange(n_components)
    # A seed row counts once, whatever its weight: its responsibility is
    # 1 / weight, so that the weighted responsibility the engine forms is 1,
    # as for one of the repeated copies of that row.
    seed_values = np.zeros(n_samples)
    seed_values[chosen] = 1.0 / weights[chosen]
    return _labels_source(labels, n_components, dtype, seed_values)


def _sorted_tree_source(X, sample_weight, n_components, cache):
    """The responsibility source of :data:`HC_SORTED`, or a ``ValueError``
    when there is none to run (see there)."""
    n_samples = X.shape[0]
    cache = {} if cache is None else cache
    key = (HC_SORTED, n_samples)
    if key not in cache:
        weights = np.asarray(sample_weight, dtype=np.float64)
        tree = None
        firsts = [
            start
            for other, start in cache.items()
            if other[0] == "hc" and other[2] == n_samples
        ]
        if firsts and not any(getattr(t, "tied_steps", 1) for t in firsts):
            tree = "untied"
        elif X.shape[1] > 1 and leaf_units(weights).sum() <= HC_SUBSAMPLE:
            order = np.lexsort(np.asarray(X).T[::-1])
            tree = (order, HierarchicalStart(X[order], weights[order], None))
        cache[key] = tree
    if cache[key] is None:
        raise SkippedStart("no second tree: one feature, or a subsample")
    if isinstance(cache[key], str):  # "untied"
        raise SkippedStart("no tie in the first tree: the second tree's cuts are its")
    order, tree = cache[key]
    labels, values, (rows, split) = tree.responsibilities(n_components)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(n_samples)
    labels = labels[inverse]
    values = None if values is None else values[inverse]
    rows = order[rows]
    by_row = np.argsort(rows)
    split = (rows[by_row], split[by_row])
    for other, start in cache.items():
        if other[0] == "hc" and other[2] == n_samples:
            first = start.labels(n_components)
            if (
                values is None
                and len(rows) == 0
                and np.array_equal(canonical_labels(first), canonical_labels(labels))
            ):
                raise SkippedStart("the second tree's cut is the first's")
    return _labels_source(labels, n_components, X.dtype, values, split)


def _compute_start(method, X, sample_weight, n_components, rng):
    """The shareable part of a start: the hc tree, or the k-means centres."""
    weights = np.asarray(sample_weight, dtype=np.float64)
    if method == "hc":
        if X.shape[1] == 1:
            return QuantileStart(X, weights)
        return HierarchicalStart(X, weights, rng)
    return kmeans_centers(X, weights, n_components, rng)
