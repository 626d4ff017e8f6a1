"""Compiled kernels, where numba is installed (``pip install
'gmm-estimators[fast]'``).

A kernel here does what a numpy function elsewhere in the package does, to
rounding, and replaces it only where profiles showed the numpy version's
cost to be its number of calls, its passes over memory or wasted flops:

- :func:`feature_block`, the E-step of a block of rows and its statistics
  fused (the diagonal, spherical and full models and the family members
  stored like them), in place of the block's centred copy and about ten
  numpy passes over ``(K, b)`` arrays: EM iterations on large data two to
  four times as fast;
- :func:`rotation_sweep` and :func:`mclust_mm`, loops over small matrices
  in the EVE and VVE M-steps that numpy can only express as many small
  calls or as products with mostly-zero matrices;
- for the EM iterations of small data, where an iteration's cost is the
  number of numpy calls on arrays of a few hundred elements: the
  normalisation of stacked runs' E-step (:func:`normalise_stacked`), the
  full model's covariances from a pass's statistics
  (:func:`scatter_covariances`), Cholesky factors (:func:`cholesky_factors`)
  and E-step constants (:func:`estep_constants`), the fixed points of VEI
  and VEV (:func:`common_shape`) and of VEE (:func:`common_matrix`), and
  the EVE and VVE alternation (:func:`common_orientation`), each one call
  for a stack of runs instead of ten to a hundred.  Together they made the
  default fourteen-model search on R's ``faithful`` data 1.5 times as fast
  (9.9 to 6.4 s on 2 cores);
- :func:`em_runs`, the whole EM loop of runs on small data (one block of
  rows, up to 16 features, float64): each run, to its end, in one call,
  its E-step along the rows (so that it vectorises, with the exponential
  above) and its M-step for every one of the fourteen models and mclust's
  own EVE and VVE M-step, calling the inner kernels above.  An iteration
  then costs its arithmetic, a microsecond or so per component on a few
  hundred rows, where numpy's loop spent 100-300 microseconds on its calls.

Without numba (or with the environment variable ``GMM_ESTIMATORS_NUMBA=0``)
the numpy versions run, and the tests compare the two.

The kernels are compiled on first use and cached on disk (numba's
``cache=True``): the first process after installing pays the compilation
(here about 5 s for :func:`feature_block` and 2 s more for its float32
version, 1.5 s for :func:`rotation_sweep` and 7 s for :func:`mclust_mm`;
:func:`em_runs` 7 s for scikit-learn's four models and 35 s for mclust's,
with the inner kernels it shares), later ones load them.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import functools
import math
import os
import types

import numpy as np

#: The smallest normal and the largest float64 (constants of the compiled loops).
_TINY = float(np.finfo(np.float64).tiny)
_HUGE = float(np.finfo(np.float64).max)

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


#: The options of the kernels whose arithmetic may meet a zero divisor or
#: a logarithm of zero on a collapsed run: numpy's error model (inf and
#: NaN, which the model's checks report) instead of Python's exceptions.
_NUMPY_ERRORS = {"cache": True, "nogil": True, "error_model": "numpy"}


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


#: The compiled :func:`_rotation_sweep_impl`, which
#: :func:`_common_orientation_impl` calls (set when that is compiled).
_rotation_sweep_jit = None


def _common_orientation_impl(
    w, nk, D, equal_volume, sweeps, tol, flat, pair_i, pair_j, starts, lam, e, g
):
    """The loops of :func:`common_orientation` (compiled by numba)."""
    S, K, d = w.shape[0], w.shape[1], w.shape[2]
    wd = np.empty((K, d, d))
    m = np.empty((1, K, d, d))
    b = np.empty((1, K, d))
    frozen = np.zeros(1, np.bool_)
    for s in range(S):
        done = False
        for sweep in range(sweeps + 1):
            # W_k D, E_k = diag(D^T W_k D), their geometric means, the volumes
            # (each sum in the order of its index, as one element at a time,
            # the inner loops along a row, so that they vectorise)
            for k in range(K):
                for i in range(d):
                    for j in range(d):
                        wd[k, i, j] = 0.0
                    for c in range(d):
                        v = w[s, k, i, c]
                        for j in range(d):
                            wd[k, i, j] += v * D[s, c, j]
                for j in range(d):
                    e[s, k, j] = 0.0
                for i in range(d):
                    for j in range(d):
                        e[s, k, j] += D[s, i, j] * wd[k, i, j]
                log_g = 0.0
                for j in range(d):
                    log_g += np.log(e[s, k, j])
                g[s, k] = np.exp(log_g / d)
            if equal_volume:
                total_g = 0.0
                total_n = 0.0
                for k in range(K):
                    total_g += g[s, k]
                    total_n += nk[s, k]
                for k in range(K):
                    lam[s, k] = total_g / total_n
            else:
                for k in range(K):
                    lam[s, k] = g[s, k] / nk[s, k]
            value = 0.0
            for k in range(K):
                value += nk[s, k] * d * np.log(lam[s, k])
            spread = 0.0
            for k in range(K):
                spread += g[s, k] / lam[s, k]
            value += d * spread
            if done or not np.isfinite(value) or sweep == sweeps:
                break
            # B_k = (lambda_k A_k)^-1 and D^T W_k D, then one sweep; a run
            # whose sweep no longer turns takes the quantities above once
            # more at its final orientation, and stops
            for k in range(K):
                for j in range(d):
                    # g / (lambda e), as (g / lambda) / e where lambda e is
                    # not a normal number (data of scale 1e80 or 1e-80: it
                    # overflowed or lost its digits); the same bits elsewhere
                    p = lam[s, k] * e[s, k, j]
                    if p >= _TINY and p <= _HUGE:
                        b[0, k, j] = g[s, k] / p
                    else:
                        b[0, k, j] = (g[s, k] / lam[s, k]) / e[s, k, j]
                for i in range(d):
                    for j in range(d):
                        m[0, k, i, j] = 0.0
                    for c in range(d):
                        v = D[s, c, i]
                        for j in range(d):
                            m[0, k, i, j] += v * wd[k, c, j]
            turn = _rotation_sweep_jit(
                D[s : s + 1], m, b, frozen, pair_i, pair_j, starts, flat
            )
            done = turn[0] <= tol


@functools.cache
def _compiled_common_orientation():
    global _rotation_sweep_jit
    _rotation_sweep_jit = _compiled_rotation_sweep()
    return _numba()(**_NUMPY_ERRORS)(_common_orientation_impl)


def common_orientation(w, nk, orientation, equal_volume, sweeps, tol, flat):
    """The EVE and VVE M-step's alternation (see
    :class:`~gmm_estimators._covariance._CommonOrientation`) run by run in
    one call: from the orientations ``D`` ``(S, d, d)``, the shapes and
    volumes given ``D`` (one volume with ``equal_volume``, else one a
    component), then a sweep of plane rotations (:func:`rotation_sweep`),
    at most ``sweeps`` times, until a sweep turns no axis by more than
    ``tol`` or the objective is not finite; scatters ``w`` ``(S, K, d,
    d)``, ``nk`` ``(S, K)``.  Returns the orientations, the volumes ``(S,
    K)``, ``E_k = diag(D^T W_k D)`` ``(S, K, d)`` and their geometric means
    ``(S, K)`` at the final orientations.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import common_orientation, enabled
    >>> rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    >>> w = np.array([[rot @ np.diag([4.0, 1.0]) @ rot.T, rot @ np.diag([2.0, 2.0]) @ rot.T]])
    >>> if enabled():
    ...     d, lam, e, g = common_orientation(
    ...         w, np.array([[1.0, 1.0]]), np.eye(2)[None], False, 3, 1e-10, 1e-12)
    ... else:
    ...     d, e = rot[None], np.array([[[4.0, 1.0], [2.0, 2.0]]])
    >>> m = d[0].T @ w[0, 0] @ d[0]  # diagonal: D holds W_1's axes
    >>> bool(abs(m[0, 1]) < 1e-9), np.round(np.sort(e, axis=-1), 6)
    (True, array([[[1., 4.],
            [2., 2.]]]))
    """
    S, K, d = w.shape[:3]
    D = np.array(orientation, dtype=np.float64, order="C")
    lam = np.empty((S, K))
    e = np.empty((S, K, d))
    g = np.empty((S, K))
    pair_i, pair_j, starts = _flat_rounds(d)
    _compiled_common_orientation()(
        np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(nk, dtype=np.float64),
        D,
        bool(equal_volume),
        int(sweeps),
        float(tol),
        float(flat),
        pair_i,
        pair_j,
        starts,
        lam,
        e,
        g,
    )
    return D, lam, e, g


#: The most features for which :func:`_mclust_mm_impl` takes its polar
#: factors by Jacobi rotations (:func:`_polar_impl`) instead of LAPACK's SVD.
#: Its MM steps per iteration (K = 7 on the 6 banknote features): 7.6
#: microseconds against 15.3 with LAPACK's SVD (21.4 when the loop still
#: called numpy's products on small temporaries); per polar factor of a random matrix, warm-started
#: after a perturbation of 1e-3 (cold): 1.9 (3.4) against 6.0 with d = 6, 4.3
#: (7.6) against 8.2 with 8, 17 (28) against 21 with 13, where the first
#: rotations of each M-step, from the identity, cost more than the SVD (wine,
#: 13 features: its fourteen-model search 5% slower).
POLAR_JACOBI_MAX = 8


def _polar_impl(f, v, a, sigma, q):
    """The orthogonal polar factor ``q`` of ``f`` (``U V^T`` of its SVD) by
    one-sided Jacobi rotations of ``f v``, ``v`` a warm start (updated to
    ``f``'s right singular vectors, in some order).  False where the rotations did not
    settle or ``f`` is near rank-deficient (its factor is then not unique)."""
    d = f.shape[0]
    for i in range(d):
        for j in range(d):
            s = 0.0
            for m in range(d):
                s += f[i, m] * v[m, j]
            a[i, j] = s
    eps = 2.220446049250313e-16
    settled = False
    for _ in range(40):
        rotated = False
        for p in range(d - 1):
            for r in range(p + 1, d):
                alpha = 0.0
                beta = 0.0
                gamma = 0.0
                for i in range(d):
                    alpha += a[i, p] * a[i, p]
                    beta += a[i, r] * a[i, r]
                    gamma += a[i, p] * a[i, r]
                if not abs(gamma) > eps * math.sqrt(alpha * beta):
                    continue
                rotated = True
                zeta = (beta - alpha) / (2.0 * gamma)
                t = math.copysign(1.0, zeta) / (
                    abs(zeta) + math.sqrt(1.0 + zeta * zeta)
                )
                c = 1.0 / math.sqrt(1.0 + t * t)
                s = c * t
                for i in range(d):
                    x = a[i, p]
                    y = a[i, r]
                    a[i, p] = c * x - s * y
                    a[i, r] = s * x + c * y
                    x = v[i, p]
                    y = v[i, r]
                    v[i, p] = c * x - s * y
                    v[i, r] = s * x + c * y
        if not rotated:
            settled = True
            break
    if not settled:
        return False
    top = 0.0
    for j in range(d):
        s = 0.0
        for i in range(d):
            s += a[i, j] * a[i, j]
        sigma[j] = math.sqrt(s)
        top = max(top, sigma[j])
    for j in range(d):
        if not sigma[j] > 1e-8 * top:
            return False
    for i in range(d):
        for j in range(d):
            s = 0.0
            for m in range(d):
                s += a[i, m] / sigma[m] * v[j, m]
            q[i, j] = s
    return True


def _lapack_polar_impl(f, v, out, transpose):
    """``out`` = the polar factor of ``f`` (or its transpose) by LAPACK's
    SVD, where :func:`_polar_impl` declines; ``v`` = its right singular
    vectors, the next warm start."""
    d = f.shape[0]
    left, _, right = np.linalg.svd(f)
    for i in range(d):
        for j in range(d):
            s = 0.0
            for m in range(d):
                s += left[i, m] * right[m, j]
            if transpose:
                out[j, i] = s
            else:
                out[i, j] = s
            v[i, j] = right[j, i]


def _mclust_mm_impl(u, n_k, o, shapes, equal_volume, tol, max_iter, singular):
    """The loop of :func:`mclust_mm` (compiled by numba); ``o`` and
    ``shapes`` are updated in place (its callers pass copies)."""
    K, d = u.shape[0], u.shape[1]
    volumes = np.ones(K)
    omega = np.empty(K)
    for k in range(K):
        values = np.linalg.eigvalsh(u[k])
        if not values[0] >= singular:
            return 1, o, shapes, volumes, 0.0
        omega[k] = values[d - 1]
    # (explicit loops on preallocated arrays: at these sizes the products'
    # calls and temporaries cost more than their arithmetic)
    f = np.empty((d, d))
    row = np.empty(d)
    e = np.empty((K, d))  # diag(D^T W_k D)
    # the polar factors of the two MM steps (mclust: U V^T of an SVD): for
    # up to POLAR_JACOBI_MAX features by Jacobi rotations, each warm-started
    # from its previous right singular vectors
    jacobi = d <= POLAR_JACOBI_MAX
    v1 = np.eye(d)
    v2 = np.eye(d)
    work = np.empty((d, d))
    sigma = np.empty(d)
    q = np.empty((d, d))
    previous = np.finfo(np.float64).max / 2
    for _ in range(max_iter):
        # MM 1: F = sum_k A_k^-1 D^T W_k - omega_k A_k^-1 D^T
        f[:] = 0.0
        for k in range(K):
            for i in range(d):
                a = shapes[k, i]
                for j in range(d):
                    row[j] = 0.0
                for m in range(d):
                    oim = o[i, m]
                    for j in range(d):
                        row[j] += oim * u[k, m, j]
                for j in range(d):
                    f[i, j] += (row[j] - omega[k] * o[i, j]) / a
        if not (jacobi and _polar_jit(f, v1, work, sigma, o)):
            _lapack_polar(f, v1, o, False)
        # MM 2: F = sum_k W_k D A_k^-1 - max_j(1 / a_kj) W_k D, D = o^T
        f[:] = 0.0
        for k in range(K):
            top = 0.0
            for j in range(d):
                top = max(top, 1.0 / shapes[k, j])
            for i in range(d):
                for j in range(d):
                    s = 0.0
                    for m in range(d):
                        s += u[k, i, m] * o[j, m]
                    f[i, j] += s / shapes[k, j] - top * s
        if jacobi and _polar_jit(f, v2, work, sigma, q):  # o = its transpose
            for i in range(d):
                for j in range(d):
                    o[i, j] = q[j, i]
        else:
            _lapack_polar(f, v2, o, True)
        for k in range(K):
            for j in range(d):
                for m in range(d):
                    s = 0.0
                    for l in range(d):
                        s += u[k, m, l] * o[j, l]
                    row[m] = s
                s = 0.0
                for m in range(d):
                    s += o[j, m] * row[m]
                e[k, j] = s
        if equal_volume:
            for k in range(K):
                g = 0.0
                for j in range(d):
                    g += math.log(e[k, j])
                g = math.exp(g / d)
                for j in range(d):
                    shapes[k, j] = e[k, j] / g
        else:
            for k in range(K):
                g = 0.0
                for j in range(d):
                    shapes[k, j] = e[k, j] / n_k[k]
                    g += math.log(shapes[k, j])
                volumes[k] = math.exp(g / d)
                for j in range(d):
                    shapes[k, j] = shapes[k, j] / volumes[k]
        if not (shapes >= singular).all():
            return 2, o, shapes, volumes, 0.0
        if not equal_volume and not (volumes >= singular).all():
            return 2, o, shapes, volumes, 0.0
        objective = 0.0
        for k in range(K):
            for j in range(d):
                objective += e[k, j] / shapes[k, j]
        change = abs(objective - previous) / (1.0 + abs(objective))
        previous = objective
        if not change > tol:
            return 0, o, shapes, volumes, objective
    return 3, o, shapes, volumes, 0.0


_polar_jit = None
_lapack_polar = None


@functools.cache
def _compiled_mclust_mm():
    global _polar_jit, _lapack_polar
    jit = _numba()(cache=True, nogil=True)
    _polar_jit = jit(_polar_impl)
    _lapack_polar = jit(_lapack_polar_impl)
    return jit(_mclust_mm_impl)


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


def _covariances_impl(nk, s1c, scatter, feats, mu, U, L, means_c, cov):
    """The loops of :func:`scatter_covariances` (compiled by numba)."""
    N, d = mu.shape
    use_feats = False
    for i in range(feats.shape[0]):
        for j in range(feats.shape[1]):
            if feats[i, j] != 0.0:
                use_feats = True
    g = np.empty((d, d))
    w = np.empty((d, d))
    t = np.empty((d, d))
    delta = np.empty(d)
    for i in range(N):
        for a in range(d):
            for b in range(d):
                g[a, b] = scatter[i, a, b]
        if use_feats:
            # W = M - S1 m^T - m S1^T + N m m^T around the previous means m,
            # then G += U^T W U
            n_f = feats[i, d]
            o = d + 1
            for a in range(d):
                for b in range(a, d):
                    w[a, b] = feats[i, o]
                    w[b, a] = feats[i, o]
                    o += 1
            for a in range(d):
                for b in range(d):
                    v = w[a, b] - feats[i, a] * mu[i, b]
                    v -= mu[i, a] * feats[i, b]
                    w[a, b] = v + n_f * (mu[i, a] * mu[i, b])
            for a in range(d):  # t = U^T W
                for b in range(d):
                    v = 0.0
                    for c in range(d):
                        v += U[i, c, a] * w[c, b]
                    t[a, b] = v
            for a in range(d):  # G += t U
                for b in range(d):
                    v = 0.0
                    for c in range(d):
                        v += t[a, c] * U[i, c, b]
                    g[a, b] += v
        # the upper triangle, mirrored
        for a in range(d):
            for b in range(a):
                g[a, b] = g[b, a]
        n = nk[i]
        for a in range(d):
            means_c[i, a] = s1c[i, a] / n
            delta[a] = means_c[i, a] - mu[i, a]
        for a in range(d):  # t = L g
            for b in range(d):
                v = 0.0
                for c in range(d):
                    v += L[i, a, c] * g[c, b]
                t[a, b] = v
        for a in range(d):  # w = t L^T / N - delta delta^T
            for b in range(d):
                v = 0.0
                for c in range(d):
                    v += t[a, c] * L[i, b, c]
                w[a, b] = v / n - delta[a] * delta[b]
        for a in range(d):
            for b in range(d):
                cov[i, a, b] = 0.5 * (w[a, b] + w[b, a])


@functools.cache
def _compiled_covariances():
    return _numba()(**_NUMPY_ERRORS)(_covariances_impl)


def scatter_covariances(nk, s1c, scatter, features, means_c, prec_chol, cov_chol):
    """The full model's new centred means and weighted covariances ``W_k /
    N_k`` (no ``reg_covar``), as
    :func:`~gmm_estimators._covariance._weighted_covariances` of
    :func:`~gmm_estimators._covariance._whitened_scatter` gives them: from
    the counts ``nk`` ``(N,)`` and first moments ``s1c`` ``(N, d)`` of the
    M-step, the whitened scatters ``scatter`` ``(N, d, d)`` (upper
    triangles) and the feature sums ``features`` ``(N, F)`` (or an empty
    array) of a pass, and the previous centred means ``(N, d)``, precision
    factors and covariance factors ``(N, d, d)``; float64.  One call for
    the stack instead of about twenty numpy calls: on small data the M-step's
    cost is their number.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import enabled, scatter_covariances
    >>> eye = np.eye(2)[None]
    >>> scatter = np.array([[[4.0, 1.0], [0.0, 2.0]]])
    >>> if enabled():
    ...     means_c, cov = scatter_covariances(
    ...         np.array([2.0]), np.zeros((1, 2)), scatter, np.zeros((0, 0)),
    ...         np.zeros((1, 2)), eye, eye)
    ... else:
    ...     cov = np.array([[[2.0, 0.5], [0.5, 1.0]]])
    >>> cov[0]
    array([[2. , 0.5],
           [0.5, 1. ]])
    """
    N, d = means_c.shape
    out_means = np.empty((N, d))
    out_cov = np.empty((N, d, d))
    _compiled_covariances()(
        np.ascontiguousarray(nk, dtype=np.float64),
        np.ascontiguousarray(s1c, dtype=np.float64),
        np.ascontiguousarray(scatter, dtype=np.float64),
        np.ascontiguousarray(features, dtype=np.float64),
        np.ascontiguousarray(means_c, dtype=np.float64),
        np.ascontiguousarray(prec_chol, dtype=np.float64),
        np.ascontiguousarray(cov_chol, dtype=np.float64),
        out_means,
        out_cov,
    )
    return out_means, out_cov


def _constants_impl(means_c, U, log_2pi, w, const, theta):
    """The loops of :func:`estep_constants` (compiled by numba)."""
    K, d = means_c.shape
    features = theta.shape[0] > 0
    for k in range(K):
        log_det = 0.0
        for j in range(d):
            log_det += np.log(U[k, j, j])
        const[k] = log_det - 0.5 * d * log_2pi
        for e in range(d):
            v = 0.0
            for c in range(d):
                v += means_c[k, c] * U[k, c, e]
            w[k, e] = -v
        if not features:
            continue
        norm = 0.0
        for i in range(d):
            v = 0.0
            for j in range(d):
                v += U[k, i, j] * w[k, j]
            theta[k, i] = -v
            norm += w[k, i] * w[k, i]
        theta[k, d] = const[k] - 0.5 * norm
        o = d + 1
        for i in range(d):
            for j in range(i, d):
                v = 0.0
                for c in range(d):
                    v += U[k, i, c] * U[k, j, c]
                theta[k, o] = -0.5 * v if i == j else -v
                o += 1


@functools.cache
def _compiled_constants():
    return _numba()(**_NUMPY_ERRORS)(_constants_impl)


def estep_constants(means_c, prec_chol, features, log_2pi):
    """The full model's E-step constants (float64) from its centred means
    ``(K, d)`` and precision factors ``U_k`` ``(K, d, d)``: ``w_k = -m_k
    U_k``, ``const_k = log det U_k - d log(2 pi) / 2`` and, with
    ``features``, the coefficients ``theta`` ``(K, F)`` of the second-moment
    features (see
    :meth:`~gmm_estimators._covariance.FullCovariance._feature_theta`;
    else an empty array).  One call instead of about ten numpy calls.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import enabled, estep_constants
    >>> if enabled():
    ...     w, const, theta = estep_constants(
    ...         np.array([[1.0, 0.0]]), np.eye(2)[None], True, np.log(2 * np.pi))
    ... else:
    ...     w, theta = np.array([[-1.0, 0.0]]), np.array([[1, 0, -2.34, -0.5, 0, -0.5]])
    >>> w + 0.0  # (no negative zeros)
    array([[-1.,  0.]])
    >>> np.round(theta, 2) + 0.0
    array([[ 1.  ,  0.  , -2.34, -0.5 ,  0.  , -0.5 ]])
    """
    K, d = means_c.shape
    w = np.empty((K, d))
    const = np.empty(K)
    theta = np.empty((K, d * (d + 3) // 2 + 1) if features else (0, 0))
    _compiled_constants()(
        np.ascontiguousarray(means_c, dtype=np.float64),
        np.ascontiguousarray(prec_chol, dtype=np.float64),
        float(log_2pi),
        w,
        const,
        theta,
    )
    return w, const, theta


def _common_shape_impl(values, nk, lam0, steps, tol, max_iter, lam_out, shape_out):
    """The loops of :func:`common_shape` (compiled by numba)."""
    S, K, d = values.shape
    new = np.empty(K)
    shape = np.empty(d)
    for s in range(S):
        lam = lam_out[s]
        for k in range(K):
            lam[k] = lam0[s, k]
        for step in range(1, max_iter + 1):
            for j in range(d):
                v = 0.0
                for k in range(K):
                    v += values[s, k, j] / lam[k]
                shape[j] = v
            g = 0.0
            for j in range(d):
                g += np.log(shape[j])
            g = np.exp(g / d)
            for j in range(d):
                shape[j] /= g
            stop = steps[s] <= step
            close = True
            for k in range(K):
                v = 0.0
                for j in range(d):
                    v += values[s, k, j] / shape[j]
                v = v / (nk[s, k] * d)
                if not abs(v - lam[k]) <= tol * abs(lam[k]):
                    close = False
                if not np.isfinite(v):
                    stop = True
                new[k] = v
            for k in range(K):
                lam[k] = new[k]
            for j in range(d):
                shape_out[s, j] = shape[j]
            if stop or close:
                break


@functools.cache
def _compiled_common_shape():
    return _numba()(**_NUMPY_ERRORS)(_common_shape_impl)


def common_shape(values, nk, lam, steps, tol, max_iter):
    """:func:`~gmm_estimators._covariance._common_shape` (Celeux & Govaert's
    fixed point for variable volumes and one shape) run by run in one call:
    ``values`` ``(S, K, d)``, ``nk`` and the starting volumes ``lam`` ``(S,
    K)``, ``steps`` ``(S,)`` the most steps of each run; each run stops when
    its volumes change by at most ``tol`` relative, or one is not finite,
    or after its steps (at most ``max_iter``).  Returns the volumes ``(S,
    K)`` and shapes ``(S, d)`` (float64).

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import common_shape, enabled
    >>> values = np.array([[[4.0, 1.0], [8.0, 2.0]]])  # two components, d = 2
    >>> if enabled():
    ...     lam, shape = common_shape(values, np.array([[1.0, 1.0]]),
    ...                               np.ones((1, 2)), np.array([1000]), 1e-12, 1000)
    ... else:
    ...     lam, shape = np.array([[2.0, 4.0]]), np.array([[2.0, 0.5]])
    >>> lam, shape
    (array([[2., 4.]]), array([[2. , 0.5]]))
    """
    S, K, d = values.shape
    lam_out = np.empty((S, K))
    shape_out = np.empty((S, d))
    _compiled_common_shape()(
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(nk, dtype=np.float64),
        np.ascontiguousarray(lam, dtype=np.float64),
        np.ascontiguousarray(steps, dtype=np.int64),
        float(tol),
        int(max_iter),
        lam_out,
        shape_out,
    )
    return lam_out, shape_out


def _common_matrix_impl(w, nk, lam0, steps, tol, max_iter, lam_out, c_out):
    """The loops of :func:`common_matrix` (compiled by numba)."""
    S, K, d = w.shape[0], w.shape[1], w.shape[2]
    c = np.empty((d, d))
    lu = np.empty((d, d))
    inv = np.empty((d, d))
    perm = np.empty(d, np.int64)
    x = np.empty(d)
    new = np.empty(K)
    for s in range(S):
        lam = lam_out[s]
        for k in range(K):
            lam[k] = lam0[s, k]
        for step in range(1, max_iter + 1):
            for i in range(d):
                for j in range(d):
                    v = 0.0
                    for k in range(K):
                        v += w[s, k, i, j] / lam[k]
                    c[i, j] = v
            # LU with partial pivoting (numpy's slogdet and inv factorise so)
            for i in range(d):
                perm[i] = i
                for j in range(d):
                    lu[i, j] = c[i, j]
            sign = 1.0
            log_det = 0.0
            singular = False
            for j in range(d):
                p = j
                big = abs(lu[j, j])
                for i in range(j + 1, d):
                    if abs(lu[i, j]) > big:
                        big = abs(lu[i, j])
                        p = i
                if p != j:
                    for q in range(d):
                        lu[j, q], lu[p, q] = lu[p, q], lu[j, q]
                    perm[j], perm[p] = perm[p], perm[j]
                    sign = -sign
                pivot = lu[j, j]
                if pivot == 0.0:
                    singular = True
                    break
                if pivot < 0.0:
                    sign = -sign
                log_det += np.log(abs(pivot))
                for i in range(j + 1, d):
                    f = lu[i, j] / pivot
                    lu[i, j] = f
                    for q in range(j + 1, d):
                        lu[i, q] -= f * lu[j, q]
            scale = np.exp(log_det / d) if (sign > 0.0 and not singular) else np.nan
            for i in range(d):
                for j in range(d):
                    c[i, j] /= scale
            if singular or not np.isfinite(scale):
                for i in range(d):
                    for j in range(d):
                        inv[i, j] = np.nan
            else:
                # inverse of c = A / scale: scale * A^-1, column by column
                for col in range(d):
                    for i in range(d):
                        v = 1.0 if perm[i] == col else 0.0
                        for q in range(i):
                            v -= lu[i, q] * x[q]
                        x[i] = v
                    for i in range(d - 1, -1, -1):
                        v = x[i]
                        for q in range(i + 1, d):
                            v -= lu[i, q] * x[q]
                        x[i] = v / lu[i, i]
                    for i in range(d):
                        inv[i, col] = x[i] * scale
            stop = steps[s] <= step
            close = True
            for k in range(K):
                v = 0.0
                for i in range(d):
                    for j in range(d):
                        v += w[s, k, j, i] * inv[i, j]
                v = v / (nk[s, k] * d)
                if not abs(v - lam[k]) <= tol * abs(lam[k]):
                    close = False
                if not np.isfinite(v):
                    stop = True
                new[k] = v
            for k in range(K):
                lam[k] = new[k]
            for i in range(d):
                for j in range(d):
                    c_out[s, i, j] = c[i, j]
            if stop or close:
                break


@functools.cache
def _compiled_common_matrix():
    return _numba()(**_NUMPY_ERRORS)(_common_matrix_impl)


def common_matrix(w, nk, lam, steps, tol, max_iter):
    """VEE's fixed point (see
    :class:`~gmm_estimators._covariance.VEECovariance`) run by run in one
    call: ``C`` proportional to ``sum_k W_k / lambda_k`` with ``det C = 1``,
    then ``lambda_k = tr(W_k C^-1) / (N_k d)``, from the volumes ``lam``;
    scatters ``w`` ``(S, K, d, d)``, ``nk`` and ``lam`` ``(S, K)``,
    ``steps`` ``(S,)``; each run stops as in :func:`common_shape`.  Returns
    the volumes ``(S, K)`` and the matrices ``C`` ``(S, d, d)`` (NaN where
    the sum is singular, as numpy's path).

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import common_matrix, enabled
    >>> w = np.array([[np.diag([4.0, 1.0]), np.diag([8.0, 2.0])]])
    >>> if enabled():
    ...     lam, c = common_matrix(w, np.array([[1.0, 1.0]]), np.ones((1, 2)),
    ...                            np.array([1000]), 1e-12, 1000)
    ... else:
    ...     lam, c = np.array([[2.0, 4.0]]), np.diag([2.0, 0.5])[None]
    >>> lam, c
    (array([[2., 4.]]), array([[[2. , 0. ],
            [0. , 0.5]]]))
    """
    S, K, d = w.shape[:3]
    lam_out = np.empty((S, K))
    c_out = np.empty((S, d, d))
    _compiled_common_matrix()(
        np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(nk, dtype=np.float64),
        np.ascontiguousarray(lam, dtype=np.float64),
        np.ascontiguousarray(steps, dtype=np.int64),
        float(tol),
        int(max_iter),
        lam_out,
        c_out,
    )
    return lam_out, c_out


def _cholesky_impl(cov, chol, prec_chol):
    """The loops of :func:`cholesky_factors` (compiled by numba)."""
    N, d = cov.shape[0], cov.shape[1]
    inv = np.empty((d, d))
    for i in range(N):
        for j in range(d):
            for r in range(d):
                chol[i, j, r] = 0.0
                inv[j, r] = 0.0
        for j in range(d):
            v = cov[i, j, j]
            for c in range(j):
                v -= chol[i, j, c] * chol[i, j, c]
            if not v > 0.0:
                return i
            root = math.sqrt(v)
            chol[i, j, j] = root
            for r in range(j + 1, d):
                v = cov[i, r, j]
                for c in range(j):
                    v -= chol[i, r, c] * chol[i, j, c]
                chol[i, r, j] = v / root
        # L^-1 by forward substitution, column by column
        for c in range(d):
            inv[c, c] = 1.0 / chol[i, c, c]
            for r in range(c + 1, d):
                v = 0.0
                for q in range(c, r):
                    v += chol[i, r, q] * inv[q, c]
                inv[r, c] = -v / chol[i, r, r]
        for j in range(d):
            for r in range(d):
                x = inv[r, j]
                if not math.isfinite(x) or not math.isfinite(chol[i, j, r]):
                    return i
                prec_chol[i, j, r] = x
    return -1


@functools.cache
def _compiled_cholesky():
    return _numba()(**_NUMPY_ERRORS)(_cholesky_impl)


def cholesky_factors(covariances):
    """Lower Cholesky factors ``L`` of a stack of covariance matrices ``(N,
    d, d)`` (float64, their lower triangles read) and the upper factors ``U =
    L^-T`` of the precisions, exactly triangular, or None where a matrix is
    not positive definite or a factor not finite (the caller then lets
    numpy's factorisation say which and why).  One call for the stack; for
    the few features where numpy's batched calls cost more than their flops.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import cholesky_factors, enabled
    >>> if enabled():
    ...     chol, prec_chol = cholesky_factors(np.array([[[4.0, 2.0], [2.0, 5.0]]]))
    ...     singular = cholesky_factors(np.array([[[1.0, 2.0], [2.0, 1.0]]]))
    ... else:
    ...     chol = np.array([[[2.0, 0.0], [1.0, 2.0]]])
    ...     prec_chol, singular = np.linalg.inv(chol).transpose(0, 2, 1), None
    >>> chol[0]
    array([[2., 0.],
           [1., 2.]])
    >>> bool(np.allclose(prec_chol[0].T @ chol[0], np.eye(2)))
    True
    >>> print(singular)
    None
    """
    cov = np.ascontiguousarray(covariances, dtype=np.float64)
    chol = np.empty_like(cov)
    prec_chol = np.empty_like(cov)
    if _compiled_cholesky()(cov, chol, prec_chol) >= 0:
        return None
    return chol, prec_chol


#: Bytes of a chunk's features (``F x rows``, float64) in :func:`feature_block`
#: at most: the chunk's features, log-densities and responsibilities then
#: stay in a core's L2 cache.
FEATURE_CHUNK_BYTES = 2**20
#: ... and a chunk's two products (``K x F`` by ``F x rows``, ``F x rows``
#: by ``rows x K``) at most this many multiply-adds, ``K F rows``, where
#: that leaves a chunk at least its fewest rows: OpenBLAS multiplies
#: matrices up to about a million of them with its small-matrix kernels (on
#: the x86-64 processors with AVX-512) and larger ones through its packed
#: path, which cost up to 40% more for the whole kernel; where a chunk of
#: the fewest rows is over it anyway (many components of many features),
#: more rows pay.  Measured on one thread (ms per 4096 rows, float64 /
#: float32; the earlier rule, 256 KiB of features and 32 to 256 rows, in
#: brackets): d = 16, K = 64 (F = 153) 3.37 / 1.95 with 88 rows (4.34 /
#: 2.39 with 208); d = 32, K = 16 (F = 561) 3.34 / 1.68 with 96 (3.98 / 2.23
#: with 56), 4.73 / 2.56 with 112, just over a million; d = 32, K = 8 1.81
#: / 1.08 with 96 (1.97 / 1.64); d = 64, K = 8 (F = 2145) 7.33 / 5.29 with
#: 48 (7.63 / 6.03 with 32); d = 64, K = 16 16.7 / 12.3 with 24 (21.8 /
#: 12.0 with 32); d = 64, K = 64 68.8 / 35.4 with 56 (83.6 / 47.1 with 32);
#: d = 16, K = 8 within the noise from 128 to 256 rows.
SMALL_PRODUCT = 900_000
#: The fewest and most rows of a chunk.
_CHUNK_ROWS = (24, 256)
#: ... but in float32 with at most this many components, twice the most.
#: Measured on one thread (ns a row, float32, 256 rows against 512): K = 8,
#: d = 2 12.6 / 12.1, d = 4 16.3 / 15.8, d = 8 29.1 / 28.0, d = 12 51.6 /
#: 50.1, d = 16 77.4 / 75.3; the full model on 1 000 000 x 8 from memory,
#: 34.2 / 30.9 ms a pass on one thread, 17.9 / 16.5-16.8 on two.  With more
#: components it did not pay (K = 4, d = 16 49.4 / 49.3; K = 16, d = 8
#: 47.5 / 47.7) or cost much more (K = 32, d = 8 102 / 162: the chunk's
#: log-densities and responsibilities leave the core's L1 cache); in
#: float64 512 rows cost 2-13% more.
_WIDE_CHUNK_COMPONENTS = 8
#: Above this many features, :func:`feature_block` lays each chunk's
#: responsibilities out rows x components for its second product.
_WIDE_FEATURES = 64
#: Rows whose normalisers (each in [1, K]) are multiplied before one logarithm:
#: their product stays below K^32, finite for any K below 2^31.
_LOG_GROUP = 32


@functools.cache
def _exp_constants(dtype):
    """The constants of :func:`feature_block`'s exponential in ``dtype``:
    ``[log2(e), ln(2) in two parts, the floor, 1, the rounding constant]``,
    the Taylor coefficients for Horner's rule (highest first, thirteen;
    float32's degree 7 padded with zeros), the index of the first one the
    degree uses, and the exponent's bias and shift in the floating-point
    format.

    ``exp(u) = 2^q exp(u - q ln 2)`` with ``q`` the nearest integer to ``u
    log2(e)`` (rounded by adding and subtracting ``1.5 * 2^p``, ``p`` the
    mantissa's bits), ``2^q`` built from its bits: the polynomial's
    argument is within ``ln(2) / 2``, where the Taylor polynomials'
    relative error is 3e-16 (degree 12, float64) and 5e-9 (degree 7,
    float32); ``u`` below the floor (where numpy's result is subnormal:
    below 3e-308 in float64, 1.6e-38 in float32) gives 0.  ``ln 2`` is
    split as fdlibm's (float64) and Cephes' (float32) do, so that ``q``
    times its first part is exact.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        ln2 = (6.93147180369123816490e-01, 1.90821492927058770002e-10)
        floor, degree, bits, bias = -708.0, 12, 52, 1023
    else:
        ln2 = (0.693359375, -2.12194440e-4)
        floor, degree, bits, bias = -87.0, 7, 23, 127
    constants = np.array(
        [1.4426950408889634, *ln2, floor, 1.0, 1.5 * 2.0**bits], dtype=dtype
    )
    taylor = np.zeros(13, dtype=dtype)
    taylor[12 - degree :] = [1.0 / math.factorial(i) for i in range(degree, -1, -1)]
    return constants, taylor, 12 - degree, bias, bits


#: Bytes of a cache line: where :func:`feature_block`'s buffers start.
_CACHE_LINE = 64


def _aligned_impl(size, like):
    """An empty vector of ``size`` elements of ``like``'s dtype whose data
    start on a cache line (compiled by numba, inlined into
    :func:`feature_block`).

    Measured (one thread, full covariances, 100 000 x 16, K=8, the blocks
    of a fit): with the chunk's features, log-densities and
    responsibilities on a cache line, 14.3 ms in float64 and 8.35 ms in
    float32; 16 bytes past one (as the allocator may give them), 15.8-16.5
    and 9.6-10.0 ms.  The allocator's choice differed from process to
    process: that was the +-10% by which a process's time moved.
    """
    extra = _CACHE_LINE // like.itemsize
    buf = np.empty(size + extra, like.dtype)
    skip = (-buf.ctypes.data % _CACHE_LINE) // like.itemsize
    return buf[skip : skip + size]


#: The compiled :func:`_aligned_impl` (set by :func:`_compiled_feature_block`).
_aligned_jit = None


def _feature_block_impl(
    x,
    center,
    w,
    theta,
    log_w,
    quad,
    bounds,
    limit,
    T,
    R,
    ec,
    taylor,
    ebits,
    ibuf,
    pw,
):
    """The loops of :func:`feature_block` (compiled by numba)."""
    b, d = x.shape
    d1 = d + 1
    K, F = theta.shape
    # over[k]: component k's rounding bound is above limit[0], so the
    # block is left to numpy's path wherever k matters to a row (below)
    over = np.zeros(K, np.bool_)
    any_over = False
    for k in range(bounds.shape[0]):
        if not bounds[k] <= limit[1]:
            return False, 0.0, 0.0
        if bounds[k] > limit[0]:
            over[k] = True
            any_over = True
    negligible = limit[2]
    sums = np.zeros((K, F))
    # each chunk's features, log-densities and responsibilities are the
    # first elements of these, shaped (F, m), (K, m) and (K, m) or (m, K)
    # for its m rows: the products of a short last chunk cover its rows only
    # the buffers the products read and write start on a cache line (see
    # _aligned_impl)
    phi_buf = _aligned_jit(F * R, x)
    resp_buf = _aligned_jit(K * R, x)
    part_t = _aligned_jit(F * K, x).reshape((F, K))
    wide = F > _WIDE_FEATURES
    # the normalisation in the data's dtype, as numpy's path
    e_buf = _aligned_jit(K * R, x)
    top = np.empty(R, x.dtype)
    tot = np.empty(R, x.dtype)
    one = ec[4]
    weighted = w.shape[0] > 0
    ll = 0.0
    total_weight = 0.0
    for s in range(0, b, R):
        m = min(R, b - s)
        phi = phi_buf[: F * m].reshape((F, m))
        if wide:
            resp = resp_buf[: K * m].reshape((m, K))
        else:
            resp = resp_buf[: K * m].reshape((K, m))
        e = e_buf[: K * m].reshape((K, m))
        # the features [z, 1, quadratic terms], one column per row
        for j in range(d):
            c = center[j]
            for r in range(m):
                phi[j, r] = x[s + r, j] - c
        for r in range(m):
            phi[d, r] = 1.0
        if quad == 0:  # squares
            for j in range(d):
                for r in range(m):
                    phi[d1 + j, r] = phi[j, r] * phi[j, r]
        elif quad == 1:  # the squared norm
            for r in range(m):
                phi[d1, r] = 0.0
            for j in range(d):
                for r in range(m):
                    phi[d1, r] += phi[j, r] * phi[j, r]
        else:  # products z_i z_j, i <= j, row by row of the upper triangle
            o = d1
            for i in range(d):
                for j in range(i, d):
                    for r in range(m):
                        phi[o, r] = phi[i, r] * phi[j, r]
                    o += 1
        # log-densities (one product), then the normalisation as _normalize
        np.dot(theta, phi, e)
        if any_over:
            # a component over the bound may only be negligible to every
            # row: its log-density (without the weights, as numpy's check)
            # more than `negligible` below the row's best
            for r in range(m):
                top[r] = e[0, r]
            for k in range(1, K):
                for r in range(m):
                    top[r] = max(top[r], e[k, r])
            for k in range(K):
                if over[k]:
                    for r in range(m):
                        if e[k, r] >= top[r] - negligible:
                            return False, 0.0, 0.0
        _exp_shifted_jit(e, log_w, top, tot, ibuf, pw, R, ec, taylor, ebits)
        if weighted:
            for r in range(m):
                wr = w[s + r]
                ll += wr * (top[r] + np.log(tot[r]))
                total_weight += wr
                tot[r] = wr / tot[r]
        else:
            ll += _log_norms_jit(top, tot, m)
            total_weight += m
            for r in range(m):
                tot[r] = one / tot[r]
        # the statistics [S1_k, N_k, quadratic sums] (one product).  With
        # many features the responsibilities go rows x components, so that
        # the product is (F, m) @ (m, K), both row-major, which OpenBLAS
        # runs faster (d = 16, K = 8: 12.4 against 22.0 us a 256-row chunk
        # in float64, 8.6 against 14.1 in float32); with few, the product
        # costs the same either way and the strided writes would not pay
        # (d = 8, K = 8: 10% slower in float32)
        if wide:
            for k in range(K):
                for r in range(m):
                    resp[r, k] = e[k, r] * tot[r]
            np.dot(phi, resp, part_t)
        else:
            for k in range(K):
                for r in range(m):
                    resp[k, r] = e[k, r] * tot[r]
            np.dot(phi, resp.T, part_t)
        for k in range(K):
            for j in range(F):
                sums[k, j] += part_t[j, k]
    for k in range(K):
        for j in range(F):
            T[k, j] += sums[k, j]
    return True, ll, total_weight


def _spread_impl(x, center, big):
    """The loop of :func:`spread_of` (compiled by numba)."""
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            big[j] = max(big[j], abs(x[i, j] - center[j]))


@functools.cache
def _compiled_spread():
    return _numba()(cache=True, nogil=True)(_spread_impl)


def spread_of(x, center):
    """``max_i |x_ij - center_j|`` per column ``j`` (float64): one compiled
    pass over ``x`` (numpy's column reductions of an array of few columns
    were ten times slower).

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import spread_of
    >>> spread_of(np.array([[0.0, 5.0], [3.0, 1.0]]), np.array([1.0, 2.0]))
    array([2., 3.])
    """
    big = np.zeros(x.shape[1])
    center = np.asarray(center, dtype=np.float64)
    if not enabled():
        if x.shape[0]:
            high = x.max(axis=0).astype(np.float64) - center
            big = np.maximum(high, center - x.min(axis=0).astype(np.float64))
        return big
    _compiled_spread()(x, center, big)
    return big


#: The compiled :func:`_exp_shifted_impl`, inlined into the kernels that
#: call it (set when they are compiled).
_exp_shifted_jit = None


def _exp_shifted_impl(e, log_w, top, tot, ibuf, pw, stride, ec, taylor, ebits):
    """The exponentials of a normalisation (compiled by numba, inlined into
    :func:`feature_block` and :func:`normalise_stacked`): the log-densities
    ``e`` ``(K, m)`` plus the log-weights ``log_w`` ``(K,)`` become ``exp(e
    + log_w - top)`` in place, ``top`` the rows' largest (0 where it is not
    finite), and ``tot`` their sums over the components.  ``2^q`` is built
    from its bits in ``ibuf`` (``K x stride`` integers of the dtype's width)
    and read through ``pw``, the same memory seen as the dtype (see
    :func:`_exp_constants`)."""
    K, m = e.shape
    log2e, ln2_hi, ln2_lo, floor, magic = ec[0], ec[1], ec[2], ec[3], ec[5]
    bias, shift, first = ebits[0], ebits[1], ebits[2]
    # each component's row of e (and of ibuf, pw) as a vector of its own,
    # the polynomial's coefficients as scalars, and the powers of two
    # applied right after the polynomial, component by component: measured
    # (8 components x 256 rows, one thread) 1.9 against 3.0 us in float32,
    # 3.0 against 4.6 in float64 with the rows indexed in 2-D, the
    # coefficients read in a loop and a pass of their own for the powers
    # (normalise_stacked, 13 runs x 9 components x 272 rows: 62 against 78
    # us in float64, 36 against 52 in float32; inlined into feature_block,
    # where the compiler did as well with the earlier form, the same)
    for r in range(m):
        top[r] = -np.inf
    for k in range(K):
        lwk = log_w[k]
        ek = e[k]
        for r in range(m):
            v = ek[r] + lwk
            ek[r] = v
            top[r] = max(top[r], v)
    for r in range(m):
        if not np.isfinite(top[r]):
            top[r] = 0.0
        tot[r] = 0.0
    c0, c1, c2, c3, c4, c5, c6 = (
        taylor[0],
        taylor[1],
        taylor[2],
        taylor[3],
        taylor[4],
        taylor[5],
        taylor[6],
    )
    c7, c8, c9, c10, c11, c12 = (
        taylor[7],
        taylor[8],
        taylor[9],
        taylor[10],
        taylor[11],
        taylor[12],
    )
    for k in range(K):
        ek = e[k]
        ik = ibuf[k * stride : k * stride + m]
        # the polynomial's degree fixed in each branch, so that the loop
        # over rows vectorises (with a variable start both dtypes were
        # 1.5-1.8x slower, and numba's `literally` on `first` redispatched
        # every call)
        if first == 0:
            for r in range(m):
                u = ek[r] - top[r]
                u0 = max(u, floor)
                q = (u0 * log2e + magic) - magic
                y = (u0 - q * ln2_hi) - q * ln2_lo
                p = c0 * y + c1
                p = ((p * y + c2) * y + c3) * y + c4
                p = ((p * y + c5) * y + c6) * y + c7
                p = ((p * y + c8) * y + c9) * y + c10
                p = (p * y + c11) * y + c12
                ek[r] = 0.0 if u < floor else p  # NaN stays NaN
                # q is in [floor log2(e), 0] but for a NaN u (a model with
                # NaN parameters, whose p is NaN): a valid exponent
                ik[r] = (min(max(np.int64(q), -1022), 0) + bias) << shift
        else:  # float32's degree 7: first == 5 (_exp_constants)
            for r in range(m):
                u = ek[r] - top[r]
                u0 = max(u, floor)
                q = (u0 * log2e + magic) - magic
                y = (u0 - q * ln2_hi) - q * ln2_lo
                p = ((c5 * y + c6) * y + c7) * y + c8
                p = (((p * y + c9) * y + c10) * y + c11) * y + c12
                ek[r] = 0.0 if u < floor else p  # NaN stays NaN
                # in 32 bits, as the floats (in 64 bits: 5-15% slower)
                ik[r] = (
                    min(max(np.int32(q), np.int32(-126)), np.int32(0)) + np.int32(bias)
                ) << np.int32(shift)
        pk = pw[k * stride : k * stride + m]
        for r in range(m):
            v = ek[r] * pk[r]
            ek[r] = v
            tot[r] += v


#: The compiled :func:`_log_norms_impl` (set with :data:`_exp_shifted_jit`).
_log_norms_jit = None


def _log_norms_impl(top, tot, m):
    """``sum_r top[r] + log(tot[r])`` over the first ``m`` rows of a
    normalisation (compiled by numba, inlined as :func:`_exp_shifted_impl`):
    one logarithm for :data:`_LOG_GROUP` rows, of the product of their
    normalisers ``tot`` (each in [1, K]), in float64 (a float32 product could
    overflow)."""
    total = 0.0
    for r in range(m):
        total += top[r]
    for g in range(0, m, _LOG_GROUP):
        prod = 1.0
        for r in range(g, min(m, g + _LOG_GROUP)):
            prod *= tot[r]
        total += np.log(prod)
    return total


@functools.cache
def _compiled_exp_shifted():
    """Compiles :func:`_exp_shifted_impl` and :func:`_log_norms_impl` for
    inlining and makes them the ones their callers find."""
    global _exp_shifted_jit, _log_norms_jit
    options = {"inline": "always", "fastmath": {"contract"}, **_NUMPY_ERRORS}
    _log_norms_jit = _numba()(**options)(_log_norms_impl)
    _exp_shifted_jit = _numba()(**options)(_exp_shifted_impl)
    return _exp_shifted_jit


def _normalise_impl(lp, log_w, sw, w, ec, taylor, ebits, ibuf, pw, ll):
    """The loops of :func:`normalise_stacked` (compiled by numba)."""
    S, K, b = lp.shape
    top = np.empty(b, lp.dtype)
    tot = np.empty(b, lp.dtype)
    one = ec[4]
    weighted = w.shape[0] > 0
    for s in range(S):
        e = lp[s]
        _exp_shifted_jit(e, log_w[s], top, tot, ibuf, pw, b, ec, taylor, ebits)
        total = 0.0
        if sw.shape[0] > 0:
            for r in range(b):
                total += sw[r] * (top[r] + np.log(tot[r]))
        else:
            total = _log_norms_jit(top, tot, b)
        ll[s] = total
        for r in range(b):
            tot[r] = one / tot[r]
            if weighted:
                tot[r] *= w[r]
        for k in range(K):
            for r in range(b):
                e[k, r] *= tot[r]


@functools.cache
def _compiled_normalise():
    _compiled_exp_shifted()
    return _numba()(fastmath={"contract"}, **_NUMPY_ERRORS)(_normalise_impl)


def normalise_stacked(lp, log_w, sw=None, w=None):
    """The E-step's normalisation of stacked runs, in place: ``lp`` ``(S, K,
    b)`` holds the log-densities of each run's ``K`` components at ``b``
    rows (C order, float64 or float32) and becomes the responsibilities,
    times ``w`` (the row weights in ``lp``'s dtype, or None); ``log_w``
    ``(S, K)`` are the runs' log-weights.  Returns each run's
    log-likelihood ``(S,)`` (float64), its rows weighted by ``sw`` (float64
    or None).  As :func:`~gmm_estimators._em._stacked_estep`'s numpy lines
    (the exponential of :func:`feature_block`), in one call: on small data
    their cost is their number of passes.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import logsumexp
    >>> from gmm_estimators._kernels import enabled, normalise_stacked
    >>> lp = np.log([[[0.2, 0.5], [0.1, 0.5]]])  # one run, 2 components, 2 rows
    >>> log_w = np.log([[0.5, 0.5]])
    >>> expected = logsumexp(lp + log_w[..., None], axis=1).sum(axis=1)
    >>> if enabled():
    ...     ll = normalise_stacked(lp, log_w)
    ... else:
    ...     ll, lp = expected, np.array([[[2 / 3, 0.5], [1 / 3, 0.5]]])
    >>> bool(np.allclose(ll, expected)), np.round(lp[0], 3)
    (True, array([[0.667, 0.5  ],
           [0.333, 0.5  ]]))
    """
    dtype = np.dtype(lp.dtype)
    ec, taylor, first, bias, shift = _exp_constants(dtype)
    S, K, b = lp.shape
    ibuf = np.empty(K * b, dtype=np.int64 if shift == 52 else np.int32)
    empty = np.empty(0, dtype=np.float64)
    ll = np.empty(S)
    _compiled_normalise()(
        lp,
        np.ascontiguousarray(log_w, dtype=dtype),
        empty if sw is None else np.ascontiguousarray(sw, dtype=np.float64),
        np.empty(0, dtype) if w is None else np.ascontiguousarray(w, dtype=dtype),
        ec,
        taylor,
        np.array([bias, shift, first], dtype=np.int64),
        ibuf,
        ibuf.view(dtype),
        ll,
    )
    return ll


@functools.cache
def _compiled_feature_block():
    global _aligned_jit
    _compiled_exp_shifted()
    _aligned_jit = _numba()(inline="always", **_NUMPY_ERRORS)(_aligned_impl)
    return _numba()(cache=True, nogil=True, fastmath={"contract"})(_feature_block_impl)


#: The quadratic features of :func:`feature_block`, by name.
QUADRATIC = {"squares": 0, "norm": 1, "products": 2}


def feature_block(x, center, w, theta, log_w, quadratic, out, bounds=None, limit=None):
    """The E-step of one block and its statistics, fused, through
    second-moment features.

    Each row of ``x``, centred at ``center`` (``z = x - center``), has the
    features ``phi = [z, 1, q(z)]`` with ``q`` the
    squares ``z_j^2`` (``quadratic="squares"``, diagonal covariances), the
    squared norm ``|z|^2`` (``"norm"``, spherical) or the products ``z_i
    z_j``, ``i <= j``, row by row of the upper triangle (``"products"``,
    full).  The log-density of component ``k`` is ``theta[k] . phi +
    log_w[k]``; the responsibilities ``r_k`` are normalised as
    :func:`~gmm_estimators._stats._normalize` does and weighted by ``w``
    (None for unit weights).  Adds ``sum_i w_i r_ik phi_i`` to ``out``
    (float64, shape ``(K, F)``) and returns ``(True, log-likelihood,
    weight)``: the block's ``sum_i w_i log sum_k exp(...)`` and ``sum_i
    w_i``.  With ``bounds`` (shape ``(K,)``) and ``limit = (bound,
    bound_any, negligible)``, a block is left alone, ``(False, 0.0, 0.0)``
    with ``out`` unchanged, where the rounding bound ``bounds[k]`` of a
    component (``sum_j |theta_kj| max_i |phi_ij|``, see
    :meth:`~gmm_estimators._covariance.FullCovariance._feature_log_prob`)
    exceeds ``bound_any``, or exceeds ``bound`` for a component whose
    log-density (``theta[k] . phi``) is within ``negligible`` of a row's
    best: the rule of numpy's path.

    The rows go in chunks that stay in cache (:data:`FEATURE_CHUNK_BYTES`), with
    the two products in BLAS; the exponentials are a vectorised polynomial
    (numba's own call the C library row by row, five times slower than
    numpy's).  This replaces the centred copy of the block and about ten
    numpy passes over its ``(K, b)`` arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import logsumexp
    >>> from gmm_estimators._kernels import enabled, feature_block
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(5, 2))
    >>> theta = np.array([[0.0, 0.0, -1.8, -0.5, -0.5],
    ...                   [1.0, 0.0, -2.3, -0.5, -0.5]])
    >>> out = np.zeros((2, 5))
    >>> if enabled():
    ...     done, ll, weight = feature_block(
    ...         x, np.zeros(2), None, theta, np.log([0.5, 0.5]), "squares", out)
    ... else:
    ...     phi = np.hstack([x, np.ones((5, 1)), x**2])
    ...     ll = logsumexp(phi @ theta.T, axis=1)
    ...     done, ll, weight = True, ll.sum() + 5 * np.log(0.5), 5.0
    >>> phi = np.hstack([x, np.ones((5, 1)), x**2])
    >>> lp = phi @ theta.T + np.log(0.5)
    >>> print(done, bool(np.isclose(ll, logsumexp(lp, axis=1).sum())), weight)
    True True 5.0
    """
    empty = np.empty(0, dtype=np.float64)
    w = empty if w is None else np.ascontiguousarray(w, dtype=np.float64)
    if bounds is None:
        bounds, limit = empty, np.full(3, np.inf)
    ec, taylor, first, bias, shift = _exp_constants(np.dtype(x.dtype))
    low, high = _CHUNK_ROWS
    K, F = theta.shape
    rows = FEATURE_CHUNK_BYTES // (8 * F)
    small = SMALL_PRODUCT // (K * F)
    if small >= low:  # small products with enough rows
        rows = min(rows, small)
    if x.dtype == np.float32 and K <= _WIDE_CHUNK_COMPONENTS:
        high = 2 * high
    rows = int(min(high, max(low, rows - rows % 8)))
    ibuf = np.empty(rows * K, dtype=np.int64 if shift == 52 else np.int32)
    return _compiled_feature_block()(
        x,
        np.ascontiguousarray(center, dtype=x.dtype),
        w,
        np.ascontiguousarray(theta, dtype=x.dtype),
        np.ascontiguousarray(log_w, dtype=x.dtype),
        QUADRATIC[quadratic],
        np.ascontiguousarray(bounds, dtype=np.float64),
        np.asarray(limit, dtype=np.float64),
        out,
        rows,
        ec,
        taylor,
        np.array([bias, shift, first], dtype=np.int64),
        ibuf,
        ibuf.view(x.dtype),
    )


#: The component models of :func:`em_runs`: one covariance each (``full``),
#: one shared (``tied``), diagonal ones (``diag``) and single variances
#: (``spherical``).
EM_KINDS = {
    "full": 0,
    "tied": 1,
    "diag": 2,
    "spherical": 3,
    "EII": 4,
    "EEI": 5,
    "EVI": 6,
    "EEV": 7,
    "EVV": 8,
    "VEI": 9,
    "VEV": 10,
    "VEE": 11,
    "EVE": 12,
    "VVE": 13,
    "EVE-mclust": 14,
    "VVE-mclust": 15,
}


#: The compiled :func:`_em_factor_impl` (set by :func:`_compiled_em_runs`).
_em_factor_jit = None


def _em_factor_impl(kind, cov, chol, half_logdet):
    """Cholesky factors ``L_k`` of the covariances ``cov`` ``(K, d, d)`` (for
    the diagonal kinds only their diagonals, square-rooted) and ``log det
    L_k``; False where a covariance is not positive definite or a factor not
    finite (the checks of ``_cholesky_factors`` and ``_diagonal_prec_chol``)."""
    K, d = cov.shape[0], cov.shape[1]
    for k in range(K):
        if kind == 1 and k > 0:  # tied: the first component's factor
            for j in range(d):
                for c in range(d):
                    chol[k, j, c] = chol[0, j, c]
            half_logdet[k] = half_logdet[0]
            continue
        total = 0.0
        for j in range(d):
            if 2 <= kind <= 6 or kind == 9:
                v = cov[k, j, j]
                if not (v > 0.0 and math.isfinite(v)):
                    return False
                root = math.sqrt(v)
                chol[k, j, j] = root
                total += math.log(root)
                continue
            v = cov[k, j, j]
            for c in range(j):
                v -= chol[k, j, c] * chol[k, j, c]
            if not v > 0.0:
                return False
            root = math.sqrt(v)
            if not math.isfinite(root):
                return False
            chol[k, j, j] = root
            total += math.log(root)
            for r in range(j + 1, d):
                v = cov[k, r, j]
                for c in range(j):
                    v -= chol[k, r, c] * chol[k, j, c]
                v /= root
                if not math.isfinite(v):
                    return False
                chol[k, r, j] = v
        half_logdet[k] = total
    return True


#: The compiled :func:`_em_stats_impl` (set by :func:`_compiled_em_runs`).
_em_stats_jit = None


def _em_stats_impl(kind, xt, e, inv, means, nk, s1, sc, r, y, rr):
    """The statistics of :func:`em_runs`' E-step (compiled by numba, with
    reassociation, so that its sums over the rows vectorise: this function
    holds no exponential, whose rounding trick reassociation would undo):
    counts ``nk``, first moments ``s1`` and, but for ``tied``, the scatter
    ``sc`` around the previous ``means``, from the exponentials ``e`` ``(K,
    n)`` and the rows' ``inv`` (their weights over their normalisers)."""
    d, n = xt.shape
    K = e.shape[0]
    for k in range(K):
        ek = e[k]
        total_k = 0.0
        for i in range(n):
            v = ek[i] * inv[i]
            r[i] = v
            total_k += v
        nk[k] = total_k
        for j in range(d):
            xj = xt[j]
            yj = y[j]
            rj = rr[j]
            mu = means[k, j]
            first = 0.0
            for i in range(n):
                first += r[i] * xj[i]
                v = xj[i] - mu
                yj[i] = v
                rj[i] = r[i] * v
            s1[k, j] = first
        if kind == 1:
            continue
        full = kind == 0 or (kind >= 7 and kind != 9)
        for j in range(d):
            rj = rr[j]
            for c in range(j, d if full else j + 1):
                yc = y[c]
                v = 0.0
                for i in range(n):
                    v += rj[i] * yc[i]
                sc[k, j, c] = v


#: The compiled :func:`_em_constrain_impl` and the kernels it calls (set by
#: :func:`_compiled_em_runs`).
_em_constrain_jit = None
_common_shape_jit = _common_matrix_jit = _common_orientation_jit = None
_mclust_mm_jit = None
_em_start_volumes_jit = _em_descending_eigh_jit = _em_orientation_score_jit = None
_em_compose_jit = None


def _em_start_volumes_impl(
    prev_half_logdet, trace, nk, d, volume_steps, max_iter, lam0
):
    """``_start_volumes`` of one run (compiled by numba, for
    :func:`_em_constrain_impl`): the previous covariances' volumes ``|Sigma_k|
    ^(1/d)`` and ``volume_steps`` steps where all are usable, else ``tr W_k
    / (N_k d)`` and ``max_iter`` steps; returns the steps."""
    K = nk.shape[0]
    usable = True
    for k in range(K):
        v = np.exp(2.0 * prev_half_logdet[k] / d)
        lam0[0, k] = v
        if not (np.isfinite(v) and v > 0.0):
            usable = False
    if usable:
        return volume_steps
    for k in range(K):
        lam0[0, k] = trace[k] / (nk[k] * d)
    return max_iter


def _em_descending_eigh_impl(w):
    """Eigenvalues (descending) and eigenvectors of a symmetric matrix, as
    ``_descending_eigh``."""
    values, vectors = np.linalg.eigh(w)
    return values[::-1].copy(), np.ascontiguousarray(vectors[:, ::-1])


def _em_compose_impl(axes, scale, out):
    """``out[a, b] = sum_j axes[j, a] * scale[j] * axes[j, b]`` (the axes as
    rows): each sum in the order of ``j``, as one element at a time, the
    elements of a row side by side (independent sums, which vectorise)."""
    d = axes.shape[0]
    for a in range(d):
        for b in range(d):
            out[a, b] = 0.0
        for j in range(d):
            t = axes[j, a] * scale[j]
            for b in range(d):
                out[a, b] += t * axes[j, b]


def _em_orientation_score_impl(D, w, nk, equal_volume):
    """``_given_orientation``'s objective at the orientation ``D`` (inf
    where it is not finite)."""
    K, d = w.shape[0], w.shape[1]
    g = np.empty(K)
    v = np.empty(d)
    for k in range(K):
        # every axis's sum in the order of (a, b), the axes side by side
        # (independent sums along a row of D, which vectorise)
        for j in range(d):
            v[j] = 0.0
        for a in range(d):
            for b in range(d):
                wab = w[k, a, b]
                for j in range(d):
                    v[j] += D[a, j] * wab * D[b, j]
        log_g = 0.0
        for j in range(d):
            log_g += np.log(v[j])
        g[k] = np.exp(log_g / d)
    total_g = 0.0
    total_n = 0.0
    for k in range(K):
        total_g += g[k]
        total_n += nk[k]
    value = 0.0
    spread = 0.0
    for k in range(K):
        lam = total_g / total_n if equal_volume else g[k] / nk[k]
        value += nk[k] * d * np.log(lam)
        spread += g[k] / lam
    value += d * spread
    return value if np.isfinite(value) else np.inf


def _em_constrain_impl(
    kind,
    cov,
    nk,
    nk_sum,
    prev_cov,
    prev_half_logdet,
    orient,
    has_orientation,
    mm_shapes,
    fopts,
    iopts,
    pair_i,
    pair_j,
    starts,
):
    """The M-step constraints of mclust's closed-form models (compiled by
    numba, for :func:`em_runs`), in place on each component's weighted
    covariance ``cov`` ``(K, d, d)`` (``W_k / N_k`` around its new mean, the
    diagonal kinds' off-diagonal zero), before ``reg_covar``: the
    ``_constrain`` and ``m_step_stacked`` of
    :class:`~gmm_estimators._covariance.EIICovariance` (4),
    ``EEICovariance`` (5), ``EVICovariance`` (6), ``EEVCovariance`` (7) and
    ``EVVCovariance`` (8), with their clipping of the diagonal scatters at
    0 and NaN where a component has collapsed."""
    K, d = cov.shape[0], cov.shape[1]
    if kind == 4:
        shared = 0.0
        for k in range(K):
            trace = 0.0
            for j in range(d):
                trace += cov[k, j, j]
            shared += max(nk[k] * trace, 0.0)
        shared /= nk_sum * d
        for k in range(K):
            for j in range(d):
                cov[k, j, j] = shared
    elif kind == 5:
        for j in range(d):
            shared = 0.0
            for k in range(K):
                shared += max(nk[k] * cov[k, j, j], 0.0)
            shared /= nk_sum
            for k in range(K):
                cov[k, j, j] = shared
    elif kind == 6:
        g = np.empty(K)
        volume = 0.0
        for k in range(K):
            total = 0.0
            for j in range(d):
                w = max(nk[k] * cov[k, j, j], 0.0)
                cov[k, j, j] = w
                total += np.log(w)
            g[k] = np.exp(total / d)
            volume += g[k]
        volume /= nk_sum
        for k in range(K):
            for j in range(d):
                cov[k, j, j] = volume * (cov[k, j, j] / g[k])
    elif kind == 7:
        values = np.zeros(d)
        vectors = np.empty((K, d, d))
        for k in range(K):
            w = cov[k] * nk[k]
            vals, vecs = np.linalg.eigh(w)
            vectors[k] = vecs
            for j in range(d):
                values[j] += vals[j]
        for j in range(d):
            values[j] /= nk_sum
        for k in range(K):
            _em_compose_jit(np.ascontiguousarray(vectors[k].T), values, cov[k])
    elif kind == 8:
        g = np.empty(K)
        volume = 0.0
        for k in range(K):
            sign, logdet = np.linalg.slogdet(cov[k] * nk[k])
            g[k] = np.exp(logdet / d) if sign > 0 else np.nan
            volume += g[k]
        volume /= nk_sum
        for k in range(K):
            scale = volume * nk[k] / g[k]
            for a in range(d):
                for b in range(d):
                    cov[k, a, b] = scale * cov[k, a, b]
    elif kind <= 11:
        tol, max_iter, volume_steps = fopts[0], iopts[0], iopts[1]
        nk1 = nk.reshape((1, K))
        lam0 = np.empty((1, K))
        lam = np.empty((1, K))
        trace = np.zeros(K)
        steps = np.empty(1, np.int64)
        if kind == 11:  # VEE
            w = np.empty((1, K, d, d))
            for k in range(K):
                for a in range(d):
                    for b in range(d):
                        w[0, k, a, b] = cov[k, a, b] * nk[k]
                    trace[k] += w[0, k, a, a]
            steps[0] = _em_start_volumes_jit(
                prev_half_logdet, trace, nk, d, volume_steps, max_iter, lam0
            )
            c = np.empty((1, d, d))
            _common_matrix_jit(w, nk1, lam0, steps, tol, max_iter, lam, c)
            for k in range(K):
                for a in range(d):
                    for b in range(d):
                        cov[k, a, b] = lam[0, k] * c[0, a, b]
            return 0
        values = np.empty((1, K, d))
        vectors = np.empty((K, d, d))
        for k in range(K):
            if kind == 9:  # VEI: the diagonal scatters
                for j in range(d):
                    values[0, k, j] = max(nk[k] * cov[k, j, j], 0.0)
            else:  # VEV: the scatters' eigenvalues
                vals, vecs = _em_descending_eigh_jit(cov[k] * nk[k])
                vectors[k] = vecs
                for j in range(d):
                    values[0, k, j] = max(vals[j], 0.0)
            for j in range(d):
                trace[k] += values[0, k, j]
        steps[0] = _em_start_volumes_jit(
            prev_half_logdet, trace, nk, d, volume_steps, max_iter, lam0
        )
        shape = np.empty((1, d))
        _common_shape_jit(values, nk1, lam0, steps, tol, max_iter, lam, shape)
        scale = np.empty(d)
        for k in range(K):
            if kind == 9:
                for j in range(d):
                    cov[k, j, j] = lam[0, k] * shape[0, j]
                continue
            for j in range(d):
                scale[j] = lam[0, k] * shape[0, j]
            _em_compose_jit(np.ascontiguousarray(vectors[k].T), scale, cov[k])
    elif kind >= 14:  # EVE, VVE with mclust's M-step
        equal_volume = kind == 14
        u = np.empty((K, d, d))
        for k in range(K):
            for a in range(d):
                for b in range(d):
                    u[k, a, b] = cov[k, a, b] * nk[k]
        if has_orientation:
            o = np.ascontiguousarray(orient[0].T)
            shapes = mm_shapes.copy()
            mm_max_iter = iopts[3]
        else:  # the first M-step, from the identity
            o = np.eye(d)
            shapes = np.ones((K, d))
            mm_max_iter = iopts[4]
        status, o, shapes, volumes, objective = _mclust_mm_jit(
            u, nk, o, shapes, equal_volume, fopts[4], mm_max_iter, fopts[5]
        )
        if status != 0:
            return status
        if equal_volume:
            for k in range(K):
                volumes[k] = objective / (nk_sum * d)
        for a in range(d):
            for b in range(d):
                orient[0, a, b] = o[b, a]
        scale = np.empty(d)
        for k in range(K):
            for j in range(d):
                mm_shapes[k, j] = shapes[k, j]
                scale[j] = volumes[k] * shapes[k, j]
            _em_compose_jit(o, scale, cov[k])
    else:  # EVE, VVE
        equal_volume = kind == 12
        w = np.empty((1, K, d, d))
        pooled = np.zeros((d, d))
        own = np.zeros((d, d))
        own_usable = True
        for k in range(K):
            for a in range(d):
                for b in range(d):
                    v = cov[k, a, b] * nk[k]
                    w[0, k, a, b] = v
                    pooled[a, b] += v
                    p = prev_cov[k, a, b]
                    own[a, b] += p
                    if not np.isfinite(p):
                        own_usable = False
        if not own_usable:
            own = np.eye(d)
        candidates = np.empty((3, d, d))
        candidates[0] = _em_descending_eigh_jit(pooled)[1]
        candidates[1] = _em_descending_eigh_jit(own)[1]
        candidates[2] = orient[0] if has_orientation else np.eye(d)
        scores = np.empty(3)
        for c in range(3):
            scores[c] = _em_orientation_score_jit(candidates[c], w[0], nk, equal_volume)
        if not own_usable:
            scores[1] = np.inf
        if not has_orientation:
            scores[2] = np.inf
        top = min(scores[0], min(scores[1], scores[2]))
        best = 0
        for c in range(2, -1, -1):  # the previous first, then the model's own
            if scores[c] <= top + fopts[3] * abs(top):
                best = c
                break
        orient[0] = candidates[best]
        lam = np.empty((1, K))
        e = np.empty((1, K, d))
        g = np.empty((1, K))
        _common_orientation_jit(
            w,
            nk.reshape((1, K)),
            orient,
            equal_volume,
            iopts[2],
            fopts[1],
            fopts[2],
            pair_i,
            pair_j,
            starts,
            lam,
            e,
            g,
        )
        axes = np.ascontiguousarray(orient[0].T)
        scale = np.empty(d)
        for k in range(K):
            for j in range(d):
                scale[j] = lam[0, k] * (e[0, k, j] / g[0, k])
            _em_compose_jit(axes, scale, cov[k])
    return 0


def _em_runs_impl(
    xt,
    w,
    kind,
    means,
    cov,
    weights,
    lower,
    n_iter,
    max_iter,
    tol,
    relative,
    total,
    reg,
    scatter,
    eps,
    log_2pi,
    ec,
    taylor,
    ebits,
    ibuf,
    pw,
    orientation,
    has_orientation,
    mm_shapes,
    fopts,
    iopts,
    pair_i,
    pair_j,
    starts,
    hist,
    steps,
    status,
):
    """The loops of :func:`em_runs` (compiled by numba).  The rows are
    ``xt`` ``(d, n)``, a feature to a row of the array, so that every inner
    loop runs along the rows and vectorises."""
    d, n = xt.shape
    S, K = weights.shape
    weighted = w.shape[0] == n
    chol = np.zeros((K, d, d))
    new_chol = np.zeros((K, d, d))
    half_logdet = np.empty(K)
    new_half_logdet = np.empty(K)
    log_w = np.empty(K)
    lp = np.empty((K, n))
    y = np.empty((d, n))
    rr = np.empty((d, n))
    r = np.empty(n)
    top = np.empty(n)
    tot = np.empty(n)
    nk = np.empty(K)
    s1 = np.empty((K, d))
    sc = np.zeros((K, d, d))
    new_means = np.empty((K, d))
    new_cov = np.empty((K, d, d))
    orient = np.empty((1, d, d))
    half_d_log_2pi = 0.5 * d * log_2pi
    # the others' covariances are diagonal
    full = kind <= 1 or (kind >= 7 and kind != 9)
    full_scatter = full and kind != 1
    for s in range(S):
        status[s] = 0
        steps[s] = 0
        if n_iter[s] >= max_iter:
            continue
        if not _em_factor_jit(kind, cov[s], chol, half_logdet):
            status[s] = 2
            continue
        while True:
            # the E-step: log-densities, component by component
            for k in range(K):
                log_w[k] = math.log(weights[s, k])
                lk = lp[k]
                const = -half_logdet[k] - half_d_log_2pi
                for i in range(n):
                    lk[i] = 0.0
                for j in range(d):
                    yj = y[j]
                    xj = xt[j]
                    mu = means[s, k, j]
                    for i in range(n):
                        yj[i] = xj[i] - mu
                    if full:
                        # the whitened residual: L_k y = x - mu_k
                        for c in range(j):
                            a = chol[k, j, c]
                            yc = y[c]
                            for i in range(n):
                                yj[i] -= a * yc[i]
                    inv = 1.0 / chol[k, j, j]
                    for i in range(n):
                        v = yj[i] * inv
                        yj[i] = v
                        lk[i] += v * v
                for i in range(n):
                    lk[i] = const - 0.5 * lk[i]
            _exp_shifted_jit(lp, log_w, top, tot, ibuf, pw, n, ec, taylor, ebits)
            ll = 0.0
            if weighted:
                for i in range(n):
                    ll += w[i] * (top[i] + math.log(tot[i]))
            else:
                ll = _log_norms_jit(top, tot, n)
            if not math.isfinite(ll):
                status[s] = 1
                break
            for i in range(n):
                tot[i] = 1.0 / tot[i]
                if weighted:
                    tot[i] *= w[i]
            _em_stats_jit(kind, xt, lp, tot, means[s], nk, s1, sc, r, y, rr)
            # the M-step
            nk_sum = 0.0
            for k in range(K):
                nk[k] += eps
                nk_sum += nk[k]
                for j in range(d):
                    new_means[k, j] = s1[k, j] / nk[k]
            for k in range(K):
                if kind == 1 and k > 0:
                    for j in range(d):
                        for c in range(d):
                            new_cov[k, j, c] = new_cov[0, j, c]
                    continue
                for j in range(d):
                    for c in range(j, d):
                        if kind == 1:
                            v = scatter[j, c]
                            for q in range(K):
                                v -= nk[q] * new_means[q, j] * new_means[q, c]
                            v /= nk_sum
                        elif full_scatter:
                            dj = new_means[k, j] - means[s, k, j]
                            dc = new_means[k, c] - means[s, k, c]
                            v = sc[k, j, c] / nk[k] - dj * dc
                        elif c == j:
                            dj = new_means[k, j] - means[s, k, j]
                            v = sc[k, j, j] / nk[k] - dj * dj
                        else:
                            v = 0.0
                        new_cov[k, j, c] = v
                        new_cov[k, c, j] = v
                if kind == 3:
                    v = 0.0
                    for j in range(d):
                        v += new_cov[k, j, j]
                    v /= d
                    for j in range(d):
                        new_cov[k, j, j] = v
            if kind >= 4:
                orient[0] = orientation[s]
                shapes_s = mm_shapes[s].copy()
                failure = _em_constrain_jit(
                    kind,
                    new_cov,
                    nk,
                    nk_sum,
                    cov[s],
                    half_logdet,
                    orient,
                    has_orientation[s],
                    shapes_s,
                    fopts,
                    iopts,
                    pair_i,
                    pair_j,
                    starts,
                )
                if failure != 0:  # mclust's M-step failed: its reason
                    status[s] = EM_MM_FAILED + failure
                    break
            for k in range(K):
                for j in range(d):
                    new_cov[k, j, j] += reg
            if not _em_factor_jit(kind, new_cov, new_chol, new_half_logdet):
                status[s] = 1
                break
            if kind >= 12:
                orientation[s] = orient[0]
                has_orientation[s] = True
                if kind >= 14:
                    mm_shapes[s] = shapes_s
            for k in range(K):
                weights[s, k] = nk[k] / nk_sum
                half_logdet[k] = new_half_logdet[k]
                for j in range(d):
                    means[s, k, j] = new_means[k, j]
                    for c in range(d):
                        cov[s, k, j, c] = new_cov[k, j, c]
                        chol[k, j, c] = new_chol[k, j, c]
            new_lower = ll / total
            limit = tol
            if relative:
                limit = tol * min(1.0, abs(new_lower) + 1.0 / total)
            converged = abs(new_lower - lower[s]) < limit
            lower[s] = new_lower
            n_iter[s] += 1
            hist[s, steps[s]] = new_lower
            steps[s] += 1
            if converged:
                status[s] = 3
                break
            if n_iter[s] >= max_iter:
                break


def _compile_shared_kernels():
    """Compiles the inner kernels that :func:`em_runs` shares with numpy's
    path (:func:`common_shape`, :func:`common_matrix`,
    :func:`common_orientation`, :func:`mclust_mm`) on their own, for the
    argument types the loop passes them, before the loop is compiled.
    Compiled first as the loop's callees, they took the loop's context
    (its contracted multiply-adds), and numpy's path then rounded
    otherwise in the processes where the loop had compiled first: mclust's
    MM steps on the Swiss banknotes, run to a tolerance of 1e-12, ended
    8e-7 apart."""
    w = np.array([[np.diag([4.0, 1.0]), np.diag([2.0, 3.0])]])
    nk = np.ones((1, 2))
    steps = np.array([3], dtype=np.int64)
    common_shape(np.diagonal(w, axis1=2, axis2=3).copy(), nk, nk, steps, 1e-12, 3)
    common_matrix(w, nk, nk, steps, 1e-12, 3)
    common_orientation(w, nk, np.eye(2)[None], True, 1, 1e-10, 1e-12)
    mclust_mm(w[0], nk[0], np.eye(2), np.ones((2, 2)), True, 1e-8, 3, 1e-12)


def _em_no_constraint_impl(*args):
    """The M-step constraint of scikit-learn's four models: none (the
    ``_em_constrain_jit`` of their loop, :func:`_compiled_em_runs_basic`)."""
    return 0


@functools.cache
def _compile_em_steps():
    """Compiles what both loops of :func:`em_runs` call but mclust's
    constraints: the exponential, the factors and the statistics."""
    global _em_factor_jit, _em_stats_jit
    _compiled_exp_shifted()
    _em_factor_jit = _numba()(**_NUMPY_ERRORS)(_em_factor_impl)
    _em_stats_jit = _numba()(fastmath={"contract", "reassoc"}, **_NUMPY_ERRORS)(
        _em_stats_impl
    )


@functools.cache
def _compiled_em_runs():
    """The loop of :func:`em_runs` for mclust's models: with their M-step
    constraints (:func:`_em_constrain_impl`), compiled after the kernels it
    shares with numpy's path (:func:`_compile_shared_kernels`)."""
    global _em_constrain_jit
    global _common_shape_jit, _common_matrix_jit, _common_orientation_jit
    global _mclust_mm_jit
    global _em_start_volumes_jit, _em_descending_eigh_jit, _em_orientation_score_jit
    global _em_compose_jit
    _compile_em_steps()
    _compile_shared_kernels()
    jit = _numba()(**_NUMPY_ERRORS)
    _common_shape_jit = _compiled_common_shape()
    _common_matrix_jit = _compiled_common_matrix()
    _common_orientation_jit = _compiled_common_orientation()
    _mclust_mm_jit = _compiled_mclust_mm()
    _em_start_volumes_jit = jit(_em_start_volumes_impl)
    _em_descending_eigh_jit = jit(_em_descending_eigh_impl)
    _em_orientation_score_jit = jit(_em_orientation_score_impl)
    _em_compose_jit = jit(_em_compose_impl)
    _em_constrain_jit = jit(_em_constrain_impl)
    return _numba()(fastmath={"contract"}, **_NUMPY_ERRORS)(_em_runs_impl)


@functools.cache
def _compiled_em_runs_basic():
    """The loop of :func:`em_runs` for scikit-learn's four models: the same
    code (:func:`_em_runs_impl`) with a constraint that does nothing, as a
    function of its own (its own name, so numba caches it apart), so that
    they compile none of mclust's M-steps: 7 s at the first use after an
    install, where the loop with them takes 35 s (the demo's first run)."""
    _compile_em_steps()
    names = dict(globals())
    names["_em_constrain_jit"] = _numba()(**_NUMPY_ERRORS)(_em_no_constraint_impl)
    impl = types.FunctionType(_em_runs_impl.__code__, names, "_em_runs_basic_impl")
    impl.__qualname__ = "_em_runs_basic_impl"
    impl.__doc__ = _em_runs_impl.__doc__
    return _numba()(fastmath={"contract"}, **_NUMPY_ERRORS)(impl)


#: What :func:`em_runs` says of each run: it ended (at ``max_iter``, or
#: had no step left), its M-step failed or a row had no density (the run is
#: as before that step), its start could not be factorised (untouched), or
#: it converged.
EM_ENDED, EM_FAILED, EM_UNSTARTED, EM_CONVERGED = 0, 1, 2, 3
#: ... or mclust's M-step of EVE and VVE failed (the run is as before that
#: step): this plus the inner loop's status (:func:`mclust_mm`: 1 a
#: singular scatter, 2 a shape or volume too small, 3 no convergence).
EM_MM_FAILED = 4


def em_runs(
    x,
    w,
    kind,
    means,
    cov,
    weights,
    lower,
    n_iter,
    max_iter,
    tol,
    relative,
    total,
    reg_covar,
    scatter,
    eps,
    log_2pi,
    orientation=None,
    has_orientation=None,
    mm_shapes=None,
):
    """EM iterations of ``S`` runs on small data, each to its end, in one
    call: what the stacked runs' loop
    (:func:`~gmm_estimators._em._iterate_group`) does for every model of
    :data:`EM_KINDS` (scikit-learn's four, mclust's ten others and mclust's
    own EVE and VVE M-step), with the E-step's log-densities from each
    component's whitened residuals and the statistics around the previous
    means (numpy's path to rounding).  On small data an iteration of that
    loop costs its number of numpy calls; here it costs its flops.

    ``x`` ``(n, d)`` the rows less the centre (float64), ``w`` their weights
    or an empty array; ``kind`` one of :data:`EM_KINDS`; the runs' centred
    ``means`` ``(S, K, d)``, dense covariances ``cov`` ``(S, K, d, d)``,
    ``weights`` ``(S, K)``, lower bounds ``lower`` and iteration counts
    ``n_iter`` ``(S,)`` are updated in place.  Each run stops when its mean
    lower bound changes by less than ``tol`` (with ``relative``, also
    ``tol * (|lower| + 1 / total)``: :func:`~gmm_estimators._em.tol_limit`)
    or at ``max_iter`` iterations in all; ``total`` is the rows' weight,
    ``reg_covar`` is added to the covariances' diagonals, ``scatter``
    ``(d, d)`` is the rows' weighted scatter (``tied``'s M-step), ``eps``
    is added to each count.  Returns each run's status (:data:`EM_ENDED`,
    ..., or :data:`EM_MM_FAILED` plus the reason where mclust's M-step of
    EVE and VVE failed), the number of steps it took and the lower bounds of
    those steps ``(S, steps)``.

    EVE and VVE start their orientation from the previous one, ``orientation``
    ``(S, d, d)`` where ``has_orientation`` ``(S,)`` (updated in place), and
    mclust's own M-step for them from its kept shapes ``mm_shapes`` ``(S,
    K, d)``; the inner iterations' tolerances and limits are
    :mod:`~gmm_estimators._covariance`'s (``M_STEP_TOL``, ``VOLUME_STEPS``,
    ``ORIENTATION_SWEEPS``, ``MM_TOL``, ...), read at each call.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._kernels import EM_CONVERGED, em_runs, enabled
    >>> rng = np.random.RandomState(0)
    >>> x = np.vstack([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 5])
    >>> x -= x.mean(axis=0)
    >>> means = np.array([[[-1.0, -1.0], [1.0, 1.0]]])
    >>> cov = np.tile(np.eye(2), (1, 2, 1, 1))
    >>> if enabled():
    ...     status, steps, hist = em_runs(
    ...         x, np.empty(0), 0, means, cov, np.full((1, 2), 0.5),
    ...         np.full(1, -np.inf), np.zeros(1, dtype=np.int64), 100, 1e-6,
    ...         False, 100.0, 1e-6, np.zeros((2, 2)), 1e-15, np.log(2 * np.pi))
    ...     converged = bool(status[0] == EM_CONVERGED)
    ... else:
    ...     converged, means = True, np.array([[[-2.5, -2.5], [2.5, 2.5]]])
    >>> converged, np.round(np.abs(means[0]), 1)
    (True, array([[2.5, 2.5],
           [2.5, 2.5]]))
    """
    S, K = weights.shape
    d = means.shape[-1]
    if orientation is None:
        orientation = np.zeros((S, d, d))
        has_orientation = np.zeros(S, dtype=np.bool_)
    if mm_shapes is None:
        mm_shapes = np.ones((S, K, d))
    pair_i, pair_j, starts = _flat_rounds(d)
    from . import _covariance as c  # (which imports this module)

    fopts = np.array(
        [c.M_STEP_TOL, c.ORIENTATION_TOL, c._FLAT_TURN, c._START_TIE]
        + [c.MM_TOL, c.MM_SINGULAR]
    )
    iopts = np.array(
        [
            c.M_STEP_MAX_ITER,
            c.VOLUME_STEPS,
            c.ORIENTATION_SWEEPS,
            c.MM_MAX_ITER,
            c.MM_FIRST_MAX_ITER,
        ],
        dtype=np.int64,
    )
    start = int(np.min(n_iter)) if S else max_iter
    hist = np.empty((S, max(max_iter - start, 0)))
    steps = np.zeros(S, dtype=np.int64)
    status = np.zeros(S, dtype=np.int64)
    ec, taylor, first, bias, shift = _exp_constants(np.dtype(np.float64))
    n = x.shape[0]
    ibuf = np.empty(K * n, dtype=np.int64)
    loop = _compiled_em_runs() if kind >= 4 else _compiled_em_runs_basic()
    loop(
        np.ascontiguousarray(x.T),
        w,
        int(kind),
        means,
        cov,
        weights,
        lower,
        n_iter,
        int(max_iter),
        float(tol),
        bool(relative),
        float(total),
        float(reg_covar),
        np.ascontiguousarray(scatter, dtype=np.float64),
        float(eps),
        float(log_2pi),
        ec,
        taylor,
        np.array([bias, shift, first], dtype=np.int64),
        ibuf,
        ibuf.view(np.float64),
        orientation,
        has_orientation,
        mm_shapes,
        fopts,
        iopts,
        pair_i,
        pair_j,
        starts,
        hist,
        steps,
        status,
    )
    return status, steps, hist


def _hc_stored_into(out, w, size, d):
    """``_hc._stored`` of one scatter ``w`` of a cluster of ``size`` points,
    into ``out`` (the same operations, in the same order)."""
    pivot = w[0, 0]
    rows = min(size - 1.0, float(d))
    r0 = np.zeros(d)  # the first row of the factor, as stored
    if pivot > 0:
        root = math.sqrt(pivot)
        for i in range(d):
            r0[i] = w[0, i] / root
    for i in range(d):
        for k in range(d):
            t = min(float(min(i, k) + 1), rows)
            out[i, k] = r0[i] * r0[k] * max(t, 0.0)


def _hc_det(mat):
    """``_hc._det`` of one matrix: det by ``slogdet``, 0 unless positive."""
    sign, logdet = np.linalg.slogdet(mat)
    return math.exp(logdet) if sign > 0 else 0.0


def _hc_loop_impl(
    D, mu, size, W, trace, det, term, leaf, nn, nnd, alive, slot, at,
    spherical, alpha, lemma_min, merges,
):  # fmt: skip
    """The merges of :func:`~gmm_estimators._hc.hc_merges` after its first
    costs (compiled by numba): the same steps, in the same order, with the
    same tie rule. Returns the number of steps at which several pairs cost
    least."""
    m, d = mu.shape
    recent = -1
    n_tied = 0
    others = np.empty(m, dtype=np.int64)
    cost = np.empty(m)
    delta = np.empty(d)
    wa = np.empty((d, d))
    wb = np.empty((d, d))
    wu = np.empty((d, d))
    y = np.empty(d)
    z = np.empty(d)
    factor = np.zeros((1, d, d))
    half_logdet = np.empty(1)
    for step in range(m - 1):
        lg = m - step
        least = np.inf
        for i in range(m):
            if nnd[i] < least:
                least = nnd[i]
        count = 0
        a = -1
        b = -1
        for i in range(m):
            if nnd[i] == least:
                count += 1
                if count == 1:
                    a = i
                elif count == 2:
                    b = i
        if count != 2:
            # mclust's rule: the largest larger slot, then the largest smaller
            best = -1
            for i in range(m):
                if nnd[i] == least:
                    for j in range(m):
                        if D[i, j] == least:
                            hi = max(slot[i], slot[j])
                            lo = min(slot[i], slot[j])
                            v = hi * m + lo
                            if v > best:
                                best = v
                                a = i
                                b = j
            n_tied += 1
        if slot[b] < slot[a]:
            a, b = b, a
        merges[step, 0] = a
        merges[step, 1] = b
        freed, last = slot[b], lg - 1
        if freed != last:
            moved = at[last]
            at[freed] = moved
            slot[moved] = freed
        c = size[a] + size[b]
        for k in range(d):
            delta[k] = mu[a, k] - mu[b, k]
        g = size[a] * size[b] / c
        involves_recent = recent == a or recent == b
        stored_term = 0.0
        if not spherical:
            stored_term = D[a, b] + term[a] + term[b]
            if a == recent:
                wa[:, :] = W[a]
            else:
                _hc_stored_jit(wa, W[a], size[a], d)
            if b == recent:
                wb[:, :] = W[b]
            else:
                _hc_stored_jit(wb, W[b], size[b], d)
            for i in range(d):
                for k in range(d):
                    W[a, i, k] = wa[i, k] + wb[i, k] + g * (delta[i] * delta[k])
        for k in range(d):
            mu[a, k] = (size[a] * mu[a, k] + size[b] * mu[b, k]) / c
        size[a] = c
        recent = a
        if not spherical:
            dd = 0.0
            for k in range(d):
                dd += delta[k] * delta[k]
            trace[a] = trace[a] + trace[b] + g * dd
            leaf[a] = False
            for i in range(d):
                for k in range(d):
                    wu[i, k] = W[a, i, k] / c
            det[a] = _hc_det_jit(wu)
            if involves_recent:
                term[a] = c * math.log(max(det[a], 0.0) + (trace[a] + alpha) / c)
            else:
                term[a] = stored_term
        alive[b] = False
        for i in range(m):
            D[b, i] = np.inf
            D[i, b] = np.inf
        nnd[b] = np.inf
        n_others = 0
        for i in range(m):
            if alive[i] and i != a:
                others[n_others] = i
                n_others += 1
        if n_others == 0:
            break
        # costs of merging the union with every other cluster
        use_lemma = False
        if not spherical and c > d and det[a] > 0:
            n_lemma = 0
            for t in range(n_others):
                j = others[t]
                if c + size[j] > d and leaf[j]:
                    n_lemma += 1
            # _hc._regular_factor: the lower Cholesky factor of W_a, where
            # it exists and its diagonal is within a factor 1e6 (the loop's
            # factors, kind 0: a full matrix)
            if n_lemma >= lemma_min and _em_factor_jit(
                0, W[a : a + 1], factor, half_logdet
            ):
                lo_r = np.inf
                hi_r = 0.0
                for i in range(d):
                    r = abs(factor[0, i, i])
                    lo_r = min(lo_r, r)
                    hi_r = max(hi_r, r)
                use_lemma = lo_r > 1e-6 * hi_r
        for t in range(n_others):
            j = others[t]
            cj = size[j]
            cu = c + cj
            gj = c * cj / cu
            s = 0.0
            for k in range(d):
                v = mu[j, k] - mu[a, k]
                y[k] = v
                s += v * v
            if spherical:
                cost[t] = gj * s
                continue
            tu = trace[a] + trace[j] + gj * s
            du = 0.0
            if cu > d:
                if use_lemma and leaf[j]:
                    # forward substitution L z = dl
                    q = 0.0
                    for i in range(d):
                        v = y[i]
                        for k in range(i):
                            v -= factor[0, i, k] * z[k]
                        z[i] = v / factor[0, i, i]
                    for i in range(d):
                        q += z[i] * z[i]
                    du = det[a] * math.pow(c / cu, float(d)) * (1.0 + gj * q)
                else:
                    _hc_stored_jit(wb, W[j], cu - c, d)
                    for i in range(d):
                        for k in range(d):
                            wu[i, k] = W[a, i, k] + wb[i, k]
                    for i in range(d):
                        for k in range(d):
                            wu[i, k] += gj * y[i] * y[k]
                    for i in range(d):
                        for k in range(d):
                            wu[i, k] = wu[i, k] / cu
                    du = _hc_det_jit(wu)
            cost[t] = (
                cu * math.log(max(du, 0.0) + (tu + alpha) / cu) - term[a] - term[j]
            )
        for t in range(n_others):
            j = others[t]
            D[a, j] = cost[t]
            D[j, a] = cost[t]
        # nearest neighbours: the union's own, and rows that pointed at a or b
        for t in range(-1, n_others):
            j = a if t < 0 else others[t]
            if t >= 0 and nn[j] != a and nn[j] != b:
                continue
            nearest = 0
            for i in range(m):
                if D[j, i] < D[j, nearest]:
                    nearest = i
            nn[j] = nearest
            nnd[j] = D[j, nearest]
        for t in range(n_others):
            j = others[t]
            if cost[t] < nnd[j]:
                nn[j] = a
                nnd[j] = D[j, a]
    return n_tied


#: The compiled helpers of :func:`_hc_loop_impl` (set when it is compiled).
_hc_stored_jit = _hc_det_jit = None


@functools.cache
def _compiled_hc_loop():
    global _hc_stored_jit, _hc_det_jit
    _compile_em_steps()  # the Cholesky factor (_em_factor_jit)
    jit = _numba()(cache=True, nogil=True)
    _hc_stored_jit = jit(_hc_stored_into)
    _hc_det_jit = jit(_hc_det)
    return jit(_hc_loop_impl)


def hc_loop(D, mu, size, W, trace, det, term, leaf, nn, nnd, alive, slot, at,
            spherical, alpha, lemma_min, merges):  # fmt: skip
    """The merges of :func:`~gmm_estimators._hc.hc_merges` from its first
    costs, compiled: the arrays are updated in place and ``merges`` filled;
    returns the number of tied steps.

    Examples
    --------
    It runs inside :func:`~gmm_estimators._hc.hc_merges` (for trees of at
    least ``_hc.HC_COMPILED_POINTS`` points, numpy's loop below):

    >>> import numpy as np
    >>> from gmm_estimators._hc import hc_merges
    >>> rng = np.random.RandomState(0)
    >>> Z = np.vstack([rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 8])
    >>> merges = hc_merges(Z, np.ones(300))
    >>> root = np.arange(300)
    >>> for a, b in merges[:-1]:  # every merge but the last: two clusters
    ...     root[root == b] = a
    >>> sorted(np.bincount(np.unique(root, return_inverse=True)[1]).tolist())
    [150, 150]
    """
    return _compiled_hc_loop()(
        D, mu, size, W, trace, det, term, leaf, nn, nnd, alive, slot, at,
        bool(spherical), float(alpha), int(lemma_min), merges,
    )  # fmt: skip
