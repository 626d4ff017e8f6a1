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
