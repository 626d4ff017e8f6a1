"""Small numerical helpers shared by the engine and the initialisations."""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import contextlib

import numpy as np

#: Where the "?" link of an estimator's HTML representation points (the
#: mechanism of scikit-learn's ``_doc_link_*`` attributes).
DOC_LINK_MODULE = "gmm_estimators"
DOC_LINK_TEMPLATE = (
    "https://gmm-estimators.readthedocs.io/en/stable/generated/"
    "{estimator_module}.{estimator_name}.html"
)

#: Bytes of float64 temporaries a chunk of rows may take.
_CHUNK_BYTES = 4 * 2**20


def weighted_moments(X, weights, *, scatter=False):
    """Weighted mean and variance of the columns of X, in one pass over row chunks.

    The sums are taken around a shift (the first rows' mean) so that data far
    from the origin keep their digits; memory stays O(chunk).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,)
        Non-negative weights with a positive sum.
    scatter : bool, default=False
        Also return the weighted scatter matrix ``sum_i w_i (x_i - m)(x_i - m)^T``.

    Returns
    -------
    mean : ndarray of shape (n_features,)
    var : ndarray of shape (n_features,)
    scatter : ndarray of shape (n_features, n_features)
        Only when ``scatter=True``.
    """
    n, d = X.shape
    chunk = max(64, _CHUNK_BYTES // (8 * max(d, 1)))
    shift = np.asarray(X[: min(n, 64)], dtype=np.float64).mean(axis=0)
    total = float(weights.sum())
    s1 = np.zeros(d)
    s2 = np.zeros((d, d)) if scatter else np.zeros(d)
    for start in range(0, n, chunk):
        xc = np.asarray(X[start : start + chunk], dtype=np.float64) - shift
        w = weights[start : start + chunk]
        s1 += w @ xc
        if scatter:
            s2 += (xc.T * w) @ xc
        else:
            s2 += w @ (xc * xc)
    m = s1 / total
    if scatter:
        s2 -= total * np.outer(m, m)
        var = np.diagonal(s2) / total
    else:
        var = s2 / total - m * m
    mean = shift + m
    var = np.maximum(var, 0.0)
    return (mean, var, s2) if scatter else (mean, var)


#: Rows (evenly spaced) whose distinct values give a column's candidate step
#: in :func:`recording_steps`; all rows then check it in one pass.
_STEP_SAMPLE = 4096


def recording_steps(X, sample_weight=None, finest=0.0):
    """The step of the grid each feature is recorded on, or 0.

    A column is on a grid of step ``q`` when every value (of the rows of
    positive weight) is its smallest value plus a whole number of ``q``,
    ``q`` being the smallest difference between two of its values: integer
    counts (``q = 1``), a binary indicator, measurements to one decimal
    (``q = 0.1``), and these shifted or scaled (standardised integers).
    Returns 0 for a column on no grid (continuous values), a constant one, or
    one whose step is below ``finest`` times its standard deviation.

    The candidate step comes from the distinct values of at most
    :data:`_STEP_SAMPLE` evenly spaced rows and is checked on all rows in one
    pass; only where that check fails (the sample missed the finest
    spacing) are all the column's distinct values taken.  The result does
    not depend on the row order: a step that every value is a multiple of,
    and that two values of the sample are apart, is the smallest difference
    of the whole column.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), default=None
        Rows of zero weight are left out.
    finest : float, default=0.0
        Steps below this fraction of a column's standard deviation are
        reported as 0 (and continuous values are then told from a fine grid
        by the sample alone, without sorting all rows).

    Returns
    -------
    steps : ndarray of shape (n_features,)

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._utils import recording_steps
    >>> X = np.array([[1.0, 0.25, 3.1], [2.0, 1.7, 3.3], [4.0, 2.9, 2.9]])
    >>> recording_steps(X)
    array([1. , 0. , 0.2])
    """
    X = np.asarray(X)
    rows = None if sample_weight is None else np.asarray(sample_weight) > 0
    n = X.shape[0] if rows is None else int(np.count_nonzero(rows))
    d = X.shape[1]
    steps = np.zeros(d)
    if n < 2:
        return steps
    # float32 rows hold about 7 digits: a value's distance to the grid is
    # then larger, in steps, by the ratio of its size to the step
    eps = float(np.finfo(X.dtype).eps) if X.dtype.kind == "f" else 2.0**-52
    stride = max(1, n // _STEP_SAMPLE)
    for j in range(d):
        # one column at a time (a weighted fit's rows are not copied whole)
        col = X[:, j] if rows is None else X[rows, j]
        col = np.asarray(col, dtype=np.float64)
        low, high = float(col.min()), float(col.max())
        if not high > low:
            continue
        sd = float(col.std())
        q = _grid_step(col[::stride], col, low, high, finest * sd, eps)
        if q is None and stride > 1:
            q = _grid_step(col, col, low, high, finest * sd, eps)
        steps[j] = q or 0.0
    return steps


def _grid_step(sample, col, low, high, finest, eps):
    """The smallest gap between the distinct values of ``sample`` if every
    value of ``col`` lies on its grid from ``low`` (see
    :func:`recording_steps`), 0.0 if that gap is below ``finest``, None if
    ``col`` is not on its grid."""
    values = np.unique(sample)
    if values.size < 2:
        return None
    q = float(np.diff(values).min())
    if q < finest or q <= 0.0:
        return 0.0
    # the range over its whole number of steps: the step to the rounding of
    # the largest values (the smallest gap alone carries that rounding over
    # every step of the range)
    q = (high - low) / np.rint((high - low) / q)
    # a value's rounding, in steps: a few ulps of the largest magnitude
    tol = 16 * eps * (max(abs(low), abs(high)) / q + 1.0)
    if tol > 0.01:
        return 0.0
    # in place: two temporaries of the column's length
    k = col - low
    k /= q
    k -= np.rint(k)
    return q if max_abs(k) <= tol else None


def constant_features(X, sample_weight=None):
    """Indices of the columns of ``X`` with one value over its rows of
    positive weight (none with fewer than two such rows): one pass for the
    smallest and one for the largest values, without copying the rows.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._utils import constant_features
    >>> X = np.array([[1.0, 5.0, 2.0], [2.0, 5.0, 2.0], [3.0, 5.0, 9.0]])
    >>> constant_features(X)
    array([1])
    >>> constant_features(X, sample_weight=[1.0, 1.0, 0.0])
    array([1, 2])
    """
    X = np.asarray(X)
    if sample_weight is None:
        if X.shape[0] < 2:
            return np.array([], dtype=np.intp)
        return np.flatnonzero(X.min(axis=0) == X.max(axis=0))
    rows = (np.asarray(sample_weight) > 0)[:, None]
    if np.count_nonzero(rows) < 2:
        return np.array([], dtype=np.intp)
    low = np.min(X, axis=0, where=rows, initial=np.inf)
    high = np.max(X, axis=0, where=rows, initial=-np.inf)
    return np.flatnonzero(low == high)


def max_abs(X):
    """Largest absolute value of an array, in float64 (no temporary copy)."""
    return max(float(np.max(X)), -float(np.min(X)))


#: Below this many rows, scikit-learn's KMeans runs on one OpenMP thread: on
#: small data its threads cost more than they share (measured 38x slower on
#: faithful's 272 rows with two threads on a loaded 2-core machine).
KMEANS_ONE_THREAD_ROWS = 4096

_CONTROLLER = {}


def threadpool_controller():
    """threadpoolctl's view of the native thread pools, built once (it is costly)."""
    if "controller" not in _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER["controller"] = ThreadpoolController()
    return _CONTROLLER["controller"]


def kmeans_threads(n_rows):
    """Context for a KMeans fit on ``n_rows`` rows: one OpenMP thread on small
    data (OpenMP's limit is per calling thread, so concurrent fits do not
    interfere), nothing otherwise."""
    if n_rows > KMEANS_ONE_THREAD_ROWS:
        return contextlib.nullcontext()
    return threadpool_controller().select(user_api="openmp").limit(limits=1)


def canonical_labels(labels):
    """Labels renumbered by first appearance: equal partitions, equal arrays.

    Examples
    --------
    >>> from gmm_estimators._utils import canonical_labels
    >>> canonical_labels([5, 5, 2, 7, 2]).tolist()
    [0, 0, 1, 2, 1]
    """
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]
