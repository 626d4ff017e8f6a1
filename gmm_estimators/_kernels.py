"""Compiled kernels, where numba is installed (``pip install
'gmm-estimators[fast]'``).

A kernel here does what a numpy function elsewhere in the package does, to
rounding, and replaces it only where profiles showed the numpy version's
cost to be its number of calls or wasted flops: loops over small matrices
that numpy can only express as many small calls or as products with
mostly-zero matrices.  Without numba (or with the environment variable
``GMM_ESTIMATORS_NUMBA=0``) the numpy versions run, and the tests compare
the two.

The kernels are compiled on first use and cached on disk (numba's
``cache=True``): the first process after installing pays the compilation
(about 1.5 s for :func:`rotation_sweep` and 7 s for :func:`mclust_mm`
here), later ones load them.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import functools
import math
import os

import numpy as np

#: The environment variable that turns the compiled kernels off ("0").
ENV_SWITCH = "GMM_ESTIMATORS_NUMBA"


@functools.cache
def _numba():
    """numba's ``njit``, or None when numba is absent or switched off."""
    if os.environ.get(ENV_SWITCH, "1").strip() == "0":
        return None
    try:
        from numba import njit
    except Exception:  # absent, or an install that does not import: numpy
        return None
    return njit


def enabled():
    """Whether the compiled kernels run (numba importable and not switched
    off by ``GMM_ESTIMATORS_NUMBA=0``).

    Examples
    --------
    >>> from gmm_estimators._kernels import enabled
    >>> isinstance(enabled(), bool)
    True
    """
    return _numba() is not None


def _rotation_sweep_impl(orientation, m, b, frozen, pair_i, pair_j, starts, flat):
    """The loops of :func:`rotation_sweep` (compiled by numba)."""
    S, d = orientation.shape[0], orientation.shape[1]
    K = m.shape[1]
    turn = np.zeros(S)
    n_rounds = starts.shape[0] - 1
    cosines = np.empty(d)
    sines = np.empty(d)
    for s in range(S):
        for r in range(n_rounds):
            lo, hi = starts[r], starts[r + 1]
            # every angle of a round from m before the round's rotations
            for p in range(lo, hi):
                i, j = pair_i[p], pair_j[p]
                big = 0.0
                small = 0.0
                scale = 0.0
                for k in range(K):
                    bi, bj = b[s, k, i], b[s, k, j]
                    mii, mjj = m[s, k, i, i], m[s, k, j, j]
                    big += (bi - bj) * (mii - mjj)
                    small += (bj - bi) * m[s, k, i, j]
                    scale += (bi + bj) * (mii + mjj)
                theta = 0.5 * math.atan2(-small, -0.5 * big)
                if frozen[s] or math.hypot(0.5 * big, small) <= flat * scale:
                    theta = 0.0
                # np.maximum's NaN propagation
                a = abs(theta)
                if turn[s] == turn[s] and (a != a or a > turn[s]):
                    turn[s] = a
                cosines[p - lo] = math.cos(theta)
                sines[p - lo] = math.sin(theta)
            # D G and G^T m_k G, G the identity but G_ii = G_jj = c,
            # G_ij = s, G_ji = -s: disjoint pairs of columns and rows
            for p in range(lo, hi):
                c, t = cosines[p - lo], sines[p - lo]
                if t == 0.0 and c == 1.0:
                    continue
                i, j = pair_i[p], pair_j[p]
                for q in range(d):
                    oi, oj = orientation[s, q, i], orientation[s, q, j]
                    orientation[s, q, i] = oi * c - oj * t
                    orientation[s, q, j] = oi * t + oj * c
                for k in range(K):
                    for q in range(d):
                        xi, xj = m[s, k, q, i], m[s, k, q, j]
                        m[s, k, q, i] = xi * c - xj * t
                        m[s, k, q, j] = xi * t + xj * c
                    for q in range(d):
                        xi, xj = m[s, k, i, q], m[s, k, j, q]
                        m[s, k, i, q] = xi * c - xj * t
                        m[s, k, j, q] = xi * t + xj * c
    return turn


@functools.cache
def _compiled_rotation_sweep():
    return _numba()(cache=True, nogil=True)(_rotation_sweep_impl)


@functools.cache
def _flat_rounds(n_features):
    """The rounds of pairs of :func:`~gmm_estimators._covariance._rotation_rounds`
    as flat index arrays, and the rounds' offsets."""
    from ._covariance import _rotation_rounds

    rounds = _rotation_rounds(n_features)  # none for one feature
    pair_i = np.concatenate([[], *(i for i, _ in rounds)]).astype(np.int64)
    pair_j = np.concatenate([[], *(j for _, j in rounds)]).astype(np.int64)
    starts = np.cumsum([0] + [len(i) for i, _ in rounds]).astype(np.int64)
    return pair_i, pair_j, starts


def rotation_sweep(orientation, m, b, frozen, flat):
    """Compiled :func:`~gmm_estimators._covariance._rotation_sweep`: the same
    rotations, round by round (its ``_rotation_rounds``), each
    pair's rotation applied to its two columns (and rows) in place, O(K d^2)
    a round instead of the products with the round's rotation matrix; each
    run alone, so that a run stacked with others ends where it ends alone.
    Returns the new orientations and each run's largest turn.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import enabled, rotation_sweep
    >>> m = np.array([[[[2.0, 1.0], [1.0, 2.0]]]])
    >>> if enabled():
    ...     d, turn = rotation_sweep(
    ...         np.eye(2)[None], m, np.array([[[1.0, 2.0]]]), np.array([False]), 1e-12
    ...     )
    ...     print(np.round(np.abs(d[0]) * 2**0.5, 6), np.round(turn, 6))
    ... else:
    ...     print("[[1. 1.]\\n [1. 1.]] [0.785398]")
    [[1. 1.]
     [1. 1.]] [0.785398]
    """
    orientation = np.array(orientation, dtype=np.float64, order="C")
    m = np.array(m, dtype=np.float64, order="C")
    b = np.ascontiguousarray(b, dtype=np.float64)
    frozen = np.ascontiguousarray(frozen, dtype=np.bool_)
    pair_i, pair_j, starts = _flat_rounds(orientation.shape[-1])
    turn = _compiled_rotation_sweep()(
        orientation, m, b, frozen, pair_i, pair_j, starts, float(flat)
    )
    return orientation, turn


def _mclust_mm_impl(u, n_k, o, shapes, equal_volume, tol, max_iter, singular):
    """The loop of :func:`mclust_mm` (compiled by numba)."""
    K, d = u.shape[0], u.shape[1]
    volumes = np.ones(K)
    omega = np.empty(K)
    for k in range(K):
        values = np.linalg.eigvalsh(u[k])
        if not values[0] >= singular:
            return 1, o, shapes, volumes, 0.0
        omega[k] = values[d - 1]
    previous = np.finfo(np.float64).max / 2
    for _ in range(max_iter):
        # MM 1: F = sum_k A_k^-1 D^T W_k - omega_k A_k^-1 D^T
        f = np.zeros((d, d))
        for k in range(K):
            a_dt = o / shapes[k].reshape(d, 1)
            f += a_dt @ u[k] - omega[k] * a_dt
        left, _, right = np.linalg.svd(f)
        o = left @ right
        # MM 2: F = sum_k W_k D A_k^-1 - max_j(1 / a_kj) W_k D
        f = np.zeros((d, d))
        ot = np.ascontiguousarray(o.T)
        for k in range(K):
            wd = u[k] @ ot
            f += wd / shapes[k].reshape(1, d) - (1.0 / shapes[k]).max() * wd
        left, _, right = np.linalg.svd(f)
        o = np.ascontiguousarray((left @ right).T)
        e = np.empty((K, d))  # diag(D^T W_k D)
        for k in range(K):
            for j in range(d):
                e[k, j] = o[j] @ (u[k] @ o[j])
        if equal_volume:
            for k in range(K):
                g = math.exp(np.log(e[k]).sum() / d)
                shapes[k] = e[k] / g
        else:
            for k in range(K):
                shapes[k] = e[k] / n_k[k]
                volumes[k] = math.exp(np.log(shapes[k]).sum() / d)
                shapes[k] = shapes[k] / volumes[k]
        if not (shapes >= singular).all():
            return 2, o, shapes, volumes, 0.0
        if not equal_volume and not (volumes >= singular).all():
            return 2, o, shapes, volumes, 0.0
        objective = (e / shapes).sum()
        change = abs(objective - previous) / (1.0 + abs(objective))
        previous = objective
        if not change > tol:
            return 0, o, shapes, volumes, objective
    return 3, o, shapes, volumes, 0.0


@functools.cache
def _compiled_mclust_mm():
    return _numba()(cache=True, nogil=True)(_mclust_mm_impl)


def mclust_mm(u, n_k, o, shapes, equal_volume, tol, max_iter, singular):
    """Compiled inner loop of mclust's EVE and VVE M-step for one run (see
    :class:`~gmm_estimators._covariance._MclustPath`): from the orientation
    ``o`` (mclust's, transposed) and the shapes ``(K, d)``, the
    majorisation-minimisation steps on the scatters ``u`` ``(K, d, d)`` with
    the weights ``n_k``.  Returns ``(status, o, shapes, volumes,
    objective)``: status 0 when the objective's relative change fell to
    ``tol``, 1 when a scatter has an eigenvalue below ``singular``, 2 when
    a shape or a volume fell below it, 3 after ``max_iter`` steps.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import enabled, mclust_mm
    >>> u = np.array([[[4.0, 1.0], [1.0, 2.0]], [[3.0, -1.0], [-1.0, 2.0]]])
    >>> if enabled():
    ...     status, o, shapes, _, _ = mclust_mm(
    ...         u, np.array([10.0, 10.0]), np.eye(2), np.ones((2, 2)), True,
    ...         1e-8, 1000, 1e-8)
    ...     print(status, np.allclose(o @ o.T, np.eye(2)),
    ...           np.allclose(shapes.prod(axis=1), 1.0))
    ... else:
    ...     print(0, True, True)
    0 True True
    """
    return _compiled_mclust_mm()(
        np.ascontiguousarray(u, dtype=np.float64),
        np.ascontiguousarray(n_k, dtype=np.float64),
        np.array(o, dtype=np.float64, order="C"),
        np.array(shapes, dtype=np.float64, order="C"),
        bool(equal_volume),
        float(tol),
        int(max_iter),
        float(singular),
    )
