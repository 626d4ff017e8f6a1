"""The fused E-step kernel (:func:`gmm_estimators._kernels.feature_block`)
against numpy and scipy, and fits with it against fits without it.

The kernel's log-likelihood and statistics are compared with
``scipy.special.logsumexp`` over the features computed by numpy, in float64
(tolerance 1e-12 relative: the kernel's sums run row by row over up to 1000
rows, about 1e-14 measured) and float32 (its products run in float32, as the
numpy path's: 1e-5).  Fits from the same start, with and without the kernel,
agree to 1e-10 after 20 iterations (the lower bounds to 1e-15, the means to 4e-15, measured).
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn import config_context
from sklearn.datasets import make_blobs

from gmm_estimators import GaussianMixture, _kernels
from gmm_estimators._covariance import _feature_scale

pytestmark = pytest.mark.skipif(
    not _kernels.enabled(), reason="numba is not installed (or GMM_ESTIMATORS_NUMBA=0)"
)


def _features(z, quadratic):
    if quadratic == "squares":
        q = z**2
    elif quadratic == "norm":
        q = (z**2).sum(axis=1, keepdims=True)
    else:
        d = z.shape[1]
        q = np.hstack([z[:, i : i + 1] * z[:, i:] for i in range(d)])
    return np.hstack([z, np.ones((len(z), 1)), q])


def _problem(quadratic, n, d=3, K=4, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, d)) * 2.0
    center = rng.normal(size=d)
    x = (z + center).astype(dtype)
    F = _features(z[:1], quadratic).shape[1]
    theta = rng.normal(size=(K, F)) * 0.3
    theta[:, d + 1 :] = -np.abs(theta[:, d + 1 :])  # densities that decay
    log_w = np.log(rng.dirichlet(np.ones(K)))
    log_w[-1] = -np.inf  # a component of weight zero takes no row
    return x, center, theta, log_w


@pytest.mark.parametrize("quadratic", ["squares", "norm", "products"])
@pytest.mark.parametrize("n", [1, 255, 256, 257, 511, 512, 513, 1000])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [3, 11])
def test_feature_block_matches_logsumexp(quadratic, n, weighted, dtype, d):
    # chunk boundaries (256 rows, 512 in float32 with these 4 components)
    # on both sides, one row, weights or none;
    # with d = 11 the full model's 78 features take the wide layout of the
    # responsibilities (_WIDE_FEATURES)
    x, center, theta, log_w = _problem(quadratic, n, d=d, dtype=dtype)
    w = np.random.default_rng(1).uniform(0.0, 3.0, n) if weighted else None
    out = np.zeros(theta.shape)
    done, ll, weight = _kernels.feature_block(
        x, center, w, theta, log_w, quadratic, out
    )

    z = x.astype(np.float64) - center.astype(dtype).astype(np.float64)
    phi = _features(z, quadratic)
    theta_used = theta.astype(dtype).astype(np.float64)
    lp = phi @ theta_used.T + log_w
    norm = logsumexp(lp, axis=1)
    resp = np.exp(lp - norm[:, None])
    ww = np.ones(n) if w is None else w
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert done
    assert weight == pytest.approx(ww.sum(), rel=1e-14)
    assert ll == pytest.approx(ww @ norm, rel=rtol)
    expected = (resp * ww[:, None]).T @ phi
    np.testing.assert_allclose(
        out, expected, rtol=rtol, atol=rtol * np.abs(expected).max()
    )
    assert np.all(out[-1] == 0.0)  # exactly none for the weightless component


def test_feature_block_adds_to_out():
    x, center, theta, log_w = _problem("products", 300)
    once = np.zeros(theta.shape)
    _kernels.feature_block(x, center, None, theta, log_w, "products", once)
    twice = once.copy()
    _kernels.feature_block(x, center, None, theta, log_w, "products", twice)
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-15)


def _bounds(theta, x, center):
    # the full model's rounding bounds, as FullCovariance.fused_block takes
    # them: sum_j |theta_kj| max_i |phi_ij| from the rows' spread
    return np.abs(theta) @ _feature_scale(_kernels.spread_of(x, center))


def test_feature_block_leaves_a_block_over_its_rounding_bound():
    # the bound is sum_j |theta_kj| max_i |phi_ij|: for one component with
    # theta = (0, 0, 0, -1/2, 0, 0) on phi = (z1, z2, 1, z1^2, z1 z2, z2^2) it
    # is max z1^2 / 2
    x = np.array([[4.0, 1.5], [-3.0, 1.0]])  # centred at (1, 1): z1 = 3, -4
    theta = np.array([[0.0, 0.0, 0.0, -0.5, 0.0, 0.0]])
    out = np.zeros((1, 6))
    center = np.ones(2)
    bounds = _bounds(theta, x, center)
    assert bounds[0] == 8.0
    assert not _kernels.feature_block(
        x, center, None, theta, [0.0], "products", out, bounds, (7.99, 1e9, 100)
    )[0]
    assert np.all(out == 0.0)
    assert _kernels.feature_block(
        x, center, None, theta, [0.0], "products", out, bounds, (8.0, 1e9, 100)
    )[0]
    assert out[0, 2] == 2.0  # both rows counted


def test_feature_block_ignores_a_negligible_component_over_the_bound():
    # component 1's bound (|theta| = 40 on z1^2: 40 * 16 = 640) is over 100
    # but its log-density is 355.5 or more below component 0's on every row:
    # the block is done; within 100 of it on some row, or over bound_any,
    # the block is left to numpy (numpy's rule)
    x = np.array([[3.0, 0.0], [-4.0, 0.5]])
    theta = np.array([[0.0, 0.0, 0.0, -0.5, 0.0, 0.0], [0, 0, 0, -40.0, 0, 0]])
    bounds = _bounds(theta, x, np.zeros(2))
    np.testing.assert_array_equal(bounds, [8.0, 640.0])
    args = (x, np.zeros(2), None, theta, np.log([0.5, 0.5]), "products")
    out = np.zeros((2, 6))
    assert _kernels.feature_block(*args, out, bounds, (100, 1e9, 100))[0]
    assert out[1, 2] < 1e-100 and out[0, 2] == pytest.approx(2.0)
    out = np.zeros((2, 6))
    assert not _kernels.feature_block(*args, out, bounds, (100, 1e9, 400))[0]
    assert not _kernels.feature_block(*args, out, bounds, (100, 600, 100))[0]
    assert np.all(out == 0.0)


def test_feature_block_exponential_is_accurate():
    # the polynomial exponential against numpy's, over the whole range the
    # normalisation feeds it (differences from 0 down to below -708)
    x = np.concatenate([-np.geomspace(1e-300, 800.0, 5000), [0.0, -np.inf]])
    theta = np.zeros((len(x), 1))
    rows = np.ones((1, 0))  # no features: phi = (1,), so lp_k = log_w_k
    out = np.zeros((len(x), 1))
    _, ll, _ = _kernels.feature_block(rows, np.zeros(0), None, theta, x, "squares", out)
    expected = np.exp(x) / np.exp(x).sum()
    keep = x > -708.0
    # the polynomial's 3e-16, the normalising division's and numpy's own
    # rounding (6e-16 measured)
    np.testing.assert_allclose(out[keep, 0], expected[keep], rtol=1e-15, atol=0)
    assert np.all(out[~keep, 0] == 0.0)  # numpy's subnormals, below 3e-308
    assert ll == pytest.approx(logsumexp(x), rel=1e-15)


def test_feature_block_exponential_is_accurate_in_float32():
    # float32's degree-7 polynomial and 32-bit exponent, over its range
    # (differences from 0 down to below its floor, -87)
    x = np.concatenate([-np.geomspace(1e-30, 100.0, 5000), [0.0, -np.inf]])
    x = x.astype(np.float32)
    theta = np.zeros((len(x), 1), dtype=np.float32)
    rows = np.ones((1, 0), dtype=np.float32)
    out = np.zeros((len(x), 1))
    _, ll, _ = _kernels.feature_block(rows, np.zeros(0), None, theta, x, "squares", out)
    exact = np.exp(x.astype(np.float64))
    expected = exact / exact.sum()
    normal = expected >= np.finfo(np.float32).tiny
    # float32 rounding: the polynomial's 5e-9 is below it; the normaliser
    # is a float32 sum of 5002 terms, every result shares its rounding
    # (measured 19 ulps); below float32's smallest normal, subnormals
    eps = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(out[normal, 0], expected[normal], rtol=32 * eps, atol=0)
    assert np.all(out[x < -88.0, 0] == 0.0)
    assert ll == pytest.approx(logsumexp(x.astype(np.float64)), rel=4 * eps)


def test_feature_block_buffers_start_on_a_cache_line():
    # what the BLAS products read and write (see _aligned_impl): 15-20%
    # slower 16 bytes past a cache line
    numba = pytest.importorskip("numba")
    _kernels._compiled_feature_block()
    aligned = numba.njit(lambda size, like: _kernels._aligned_jit(size, like))
    for dtype in (np.float32, np.float64):
        like = np.zeros(3, dtype=dtype)
        for size in (1, 7, 153 * 256):
            buf = aligned(size, like)
            assert buf.shape == (size,) and buf.dtype == dtype
            assert buf.ctypes.data % _kernels._CACHE_LINE == 0
            python = _kernels._aligned_impl(size, like)
            assert python.shape == (size,) and python.ctypes.data % 64 == 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "covariance_type", ["full", "diag", "spherical", "EEI", "VVI", "EII", "VEV"]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_is_the_same_with_or_without_the_kernel(
    monkeypatch, covariance_type, dtype
):
    # several blocks on two threads (a small working memory), sample
    # weights, from the same start for a fixed number of iterations
    X, _ = make_blobs(3000, 4, centers=3, cluster_std=1.5, random_state=0)
    X = X.astype(dtype)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    params = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=20,
        random_state=0,
    )
    fits = []
    for enabled in (True, False):
        monkeypatch.setattr(_kernels, "enabled", lambda e=enabled: e)
        with config_context(working_memory=0.1):
            fits.append(GaussianMixture(**params).fit(X, sample_weight=w))
    fused, plain = fits
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert fused.lower_bound_ == pytest.approx(plain.lower_bound_, rel=rtol)
    np.testing.assert_allclose(fused.means_, plain.means_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(fused.covariances_, plain.covariances_, rtol=rtol * 10)
    assert fused.means_.dtype == plain.means_.dtype


def _spd(rng, n, d):
    a = rng.normal(size=(n, d, d))
    return a @ np.swapaxes(a, -1, -2) + d * np.eye(d)


@pytest.mark.parametrize("d", [1, 2, 5, 16])
@pytest.mark.parametrize("with_features", [False, True])
def test_scatter_covariances_is_numpys(d, with_features):
    from gmm_estimators._covariance import (
        _n_moment_features,
        _weighted_covariances,
        _whitened_scatter,
    )

    rng = np.random.default_rng(d)
    N = 7
    cov_old = _spd(rng, N, d)
    cov_chol = np.linalg.cholesky(cov_old)
    prec_chol = np.swapaxes(np.linalg.inv(cov_chol), -1, -2)
    mu = rng.normal(size=(N, d))
    nk = rng.uniform(5.0, 50.0, N)
    s1c = rng.normal(size=(N, d)) * nk[:, None]
    stats = {"scatter": np.triu(_spd(rng, N, d))}
    if with_features:
        F = _n_moment_features(d)
        t = rng.normal(size=(N, F))
        t[:, d] = nk
        stats["features"] = t
    expected = _weighted_covariances(
        nk, s1c, _whitened_scatter(stats, mu, prec_chol), mu, cov_chol
    )
    got = _kernels.scatter_covariances(
        nk,
        s1c,
        stats["scatter"],
        stats.get("features", np.zeros((0, 0))),
        mu,
        prec_chol,
        cov_chol,
    )
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12 * np.abs(e).max())
    np.testing.assert_array_equal(got[1], np.swapaxes(got[1], -1, -2))


@pytest.mark.parametrize("d", [1, 3, 16])
def test_cholesky_factors_are_numpys(d):
    rng = np.random.default_rng(d)
    cov = _spd(rng, 9, d)
    chol, prec_chol = _kernels.cholesky_factors(cov)
    expected = np.linalg.cholesky(cov)
    np.testing.assert_allclose(chol, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(
        prec_chol, np.swapaxes(np.linalg.inv(expected), -1, -2), rtol=1e-12, atol=1e-14
    )
    # exactly triangular, as numpy's path zeroes the other triangle
    assert np.all(np.triu(chol, 1) == 0.0) and np.all(np.tril(prec_chol, -1) == 0.0)


@pytest.mark.parametrize("bad", ["indefinite", "nan", "inf"])
def test_cholesky_factors_refuse_and_the_error_is_numpys(monkeypatch, bad):
    from gmm_estimators._covariance import _cholesky_factors

    cov = _spd(np.random.default_rng(0), 4, 3)
    cov[2] = {
        "indefinite": np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        "nan": np.where(np.eye(3) > 0, 1.0, np.nan),
        "inf": np.where(np.eye(3) > 0, 1.0, np.inf),
    }[bad]
    assert _kernels.cholesky_factors(cov) is None
    messages = []
    for enabled in (True, False):
        monkeypatch.setattr(_kernels, "enabled", lambda e=enabled: e)
        with pytest.raises(ValueError, match="component 2 is not positive") as info:
            _cholesky_factors(cov, 1e-6)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("d", [1, 3, 16])
def test_estep_constants_are_numpys(d):
    from gmm_estimators._covariance import LOG_2PI, FullCovariance

    rng = np.random.default_rng(d)
    K = 5
    cov = _spd(rng, K, d)
    model = FullCovariance(rng.normal(size=(K, d)), np.zeros(d), covariances=cov)
    w, const = model._offsets()
    theta = model._feature_theta(w, const)
    got = _kernels.estep_constants(model.means_centered, model.prec_chol, True, LOG_2PI)
    for g, e in zip(got, (w, const, theta), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13 * np.abs(e).max())
    w2, const2, none = _kernels.estep_constants(
        model.means_centered, model.prec_chol, False, LOG_2PI
    )
    assert none.size == 0
    np.testing.assert_array_equal(w2, got[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_normalise_stacked_is_numpys(dtype, weighted):
    # the numpy lines of _em._stacked_estep, with a component of zero
    # weight (log-weight -inf) and log-densities far apart
    rng = np.random.default_rng(0)
    S, K, b = 3, 4, 300
    lp = (rng.normal(size=(S, K, b)) * 30).astype(dtype)
    log_w = np.log(rng.dirichlet(np.ones(K), size=S)).astype(dtype)
    log_w[1, 2] = -np.inf
    sw = rng.uniform(0.5, 2.0, b) if weighted else None
    w = None if sw is None else sw.astype(dtype)
    expected = lp + log_w[:, :, None]
    top = expected.max(axis=1)
    expected = np.exp(expected - top[:, None, :])
    norm = expected.sum(axis=1)
    expected /= norm[:, None, :]
    log_norm = top + np.log(norm)
    ll_expected = (
        log_norm.sum(axis=1, dtype=np.float64) if sw is None else log_norm @ sw
    )
    if w is not None:
        expected *= w
    got = lp.copy()
    ll = _kernels.normalise_stacked(got, log_w, sw, w)
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    assert got.dtype == dtype and ll.dtype == np.float64
    np.testing.assert_allclose(ll, ll_expected, rtol=rtol)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 1e-3)
    assert np.all(got[1, 2] == 0.0)


def test_normalise_stacked_row_of_zero_density_is_nan_as_numpys():
    # every component -inf at a row: numpy's path gives NaN responsibilities
    # and a -inf log-likelihood (the M-step then reports the collapse); the
    # kernel must not raise ZeroDivisionError
    lp = np.zeros((1, 2, 3))
    lp[0, :, 1] = -np.inf
    ll = _kernels.normalise_stacked(lp, np.log([[0.5, 0.5]]))
    assert ll[0] == -np.inf
    assert np.isnan(lp[0, :, 1]).all() and np.isfinite(lp[0, :, [0, 2]]).all()


def test_common_shape_is_numpys(monkeypatch):
    from gmm_estimators import _covariance

    rng = np.random.default_rng(0)
    S, K, d = 6, 4, 5
    values = rng.uniform(0.1, 10.0, size=(S, K, d))
    values[4, 1, 2] = 0.0  # a collapsed component: NaN or inf, as numpy's
    nk = rng.uniform(5.0, 50.0, size=(S, K))
    lam = rng.uniform(0.5, 2.0, size=(S, K))
    steps = np.array([1, 2, 5, 1000, 1000, 3])  # each run stops on its own
    with np.errstate(all="ignore"):
        got = _covariance._common_shape(values, nk, lam, steps)
        monkeypatch.setattr(_kernels, "enabled", lambda: False)
        expected = _covariance._common_shape(values, nk, lam, steps)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, equal_nan=True)


def test_vee_fixed_point_is_numpys(monkeypatch):
    from gmm_estimators import _covariance

    rng = np.random.default_rng(1)
    S, K, d = 5, 3, 4
    w = _spd(rng, S * K, d).reshape(S, K, d, d)
    w[3, :] = 0.0  # a singular sum: NaN, as numpy's path
    nk = rng.uniform(5.0, 50.0, size=(S, K))
    lam = rng.uniform(0.5, 2.0, size=(S, K))
    steps = np.array([1, 3, 1000, 1000, 5])
    got = _kernels.common_matrix(w, nk, lam, steps, 1e-12, 1000)
    # numpy's loop of VEECovariance._constrain, from the same volumes
    monkeypatch.setattr(_kernels, "enabled", lambda: False)
    monkeypatch.setattr(
        _covariance, "_start_volumes", lambda log_det, trace, nk, d: (lam, steps)
    )
    models = [None] * S
    monkeypatch.setattr(
        _covariance.VEECovariance, "_previous_log_det", classmethod(lambda c, m: None)
    )
    with np.errstate(all="ignore"):
        cov, _ = _covariance.VEECovariance._constrain(models, w, nk)
    expected = got[0][..., None, None] * got[1][:, None]
    np.testing.assert_allclose(expected, cov, rtol=1e-11, equal_nan=True)
    assert np.isnan(got[1][3]).all() and np.isfinite(got[1][[0, 1, 2, 4]]).all()


@pytest.mark.parametrize("name", ["EVE", "VVE"])
@pytest.mark.parametrize("d", [2, 5])
def test_common_orientation_is_numpys(monkeypatch, name, d):
    from gmm_estimators import _covariance

    cls = {"EVE": _covariance.EVECovariance, "VVE": _covariance.VVECovariance}[name]
    rng = np.random.default_rng(d)
    S, K = 4, 3
    w = _spd(rng, S * K, d).reshape(S, K, d, d)
    w[2, 1] = 0.0  # a collapsed component: not finite, as numpy's
    nk = rng.uniform(5.0, 50.0, size=(S, K))
    start = np.linalg.qr(rng.normal(size=(S, d, d)))[0]
    monkeypatch.setattr(
        cls, "_start_orientation", classmethod(lambda c, m, w, n: start)
    )
    with np.errstate(all="ignore"):
        got = cls._constrain(None, w, nk)
        monkeypatch.setattr(_kernels, "enabled", lambda: False)
        expected = cls._constrain(None, w, nk)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12, equal_nan=True)


def _stacked_runs(covariance_type, weighted, far=False):
    """Runs of EM from several starts on iris (one start with a component
    far from every row, whose M-step must fail with ``reg_covar=0``), and
    what :func:`iterate_stacked` needs to advance them."""
    from sklearn.datasets import load_iris

    from gmm_estimators._covariance import COVARIANCE_MODELS
    from gmm_estimators._em import _Run, fit_blocks

    X = load_iris().data
    rng = np.random.RandomState(0)
    sw = rng.uniform(0.5, 2.0, len(X)) if weighted else None
    name, _, path = covariance_type.partition("-")
    cls = COVARIANCE_MODELS[name]
    if path:  # EVE and VVE with mclust's M-step
        cls = cls.mclust_path
    blocks, scatter = fit_blocks(X, sw, cls, cls.row_width(3, X.shape[1]))
    runs = []
    for seed in range(4):
        means = X[np.random.RandomState(seed).choice(len(X), 3, replace=False)]
        if far and seed == 2:
            means = means.copy()
            means[0] = 1e3
        dense = np.tile(np.cov(X.T) / 4, (3, 1, 1))
        if covariance_type in ("diag", "EEI", "EVI", "VEI"):
            dense = dense * np.eye(4)
        if covariance_type in ("spherical", "EII"):
            dense = np.tile(np.eye(4) * np.trace(dense[0]) / 4, (3, 1, 1))
        model = cls(means, blocks.center, covariances=cls.covariances_from_dense(dense))
        runs.append(_Run(model, np.full(3, 1 / 3), -np.inf))
    return runs, blocks, sw, scatter


def _count_calls(patch, module, name, calls):
    """Replace ``module.name`` (through the monkeypatch context ``patch``)
    by the same function that appends to ``calls`` at each call."""
    function = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)

    patch.setattr(module, name, counted)


@pytest.mark.parametrize(
    "covariance_type",
    ["full", "tied", "diag", "spherical", "EII", "EEI", "EVI", "EEV", "EVV"]
    + ["VEI", "VEV", "VEE", "EVE", "VVE", "EVE-mclust", "VVE-mclust"],
)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("far", [False, True])
def test_compiled_em_runs_equal_numpys_loop(
    covariance_type, weighted, far, monkeypatch
):
    # The compiled loop (em_runs) advances each stacked run as numpy's loop
    # (_iterate_group) does: the same steps, lower bounds to rounding (1e-12
    # relative; 4e-16 measured), parameters to 1e-9, and where a component
    # collapses (a start with a component far from every row, no
    # regularisation), the same run fails with the same error.
    from gmm_estimators import _em

    monkeypatch.setattr(_em, "COMPILED_EM_SKLEARN", True)
    results = []
    for compiled in (True, False):
        calls = []
        with monkeypatch.context() as m:
            if compiled:
                _count_calls(m, _em, "_compiled_group", calls)
            else:
                m.setattr(_em, "_compiled_kind", lambda model, dtype: None)
            runs, blocks, sw, scatter = _stacked_runs(covariance_type, weighted, far)
            reg = 0.0 if far else 1e-6
            with np.errstate(all="ignore"):
                errors = _em.iterate_stacked(
                    runs, blocks, sw, scatter, reg, 1e-8, 500, relative=True
                )
        assert bool(calls) == compiled
        results.append((runs, errors))
    (a, errors_a), (b, errors_b) = results
    assert [type(e) for e in errors_a] == [type(e) for e in errors_b]
    assert [str(e) for e in errors_a] == [str(e) for e in errors_b]
    if far and covariance_type not in ("tied", "EII", "EEI", "EEV"):  # (shared)
        assert isinstance(errors_a[2], ValueError)
    # The inner iterations of VEI, VEV, VEE, EVE and VVE stop short of their
    # limit inside EM (a generalised EM step), so the rounding of where they
    # start carries into the next step; where a component shrinks fast it
    # grows to 8e-11 (VEV and VVE, measured), elsewhere 1e-15.
    iterative = covariance_type[:3] in ("VEI", "VEV", "VEE", "EVE", "VVE")
    rtol = 1e-9 if iterative else 1e-12
    for run_a, run_b, error in zip(a, b, errors_a, strict=True):
        if error is not None:
            continue
        assert run_a.n_iter == run_b.n_iter > 5
        assert run_a.converged == run_b.converged
        np.testing.assert_allclose(run_a.history, run_b.history, rtol=rtol)
        assert run_a.lower_bound == pytest.approx(run_b.lower_bound, rel=rtol)
        np.testing.assert_allclose(run_a.weights, run_b.weights, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            run_a.model.means, run_b.model.means, rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(
            run_a.model.covariances, run_b.model.covariances, rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("covariance_type", ["EVE-mclust", "VVE-mclust"])
@pytest.mark.parametrize("limit", [1, 3])
def test_compiled_em_runs_fail_as_mclusts_m_step(covariance_type, limit, monkeypatch):
    # Where mclust's own M-step of EVE and VVE fails (here: its inner steps
    # capped at `limit`, so that they cannot converge), the compiled loop
    # says why itself: the same error as numpy's loop, the runs left where
    # numpy's leaves them, and numpy's loop not run again to repeat the
    # failing M-step.
    from gmm_estimators import _covariance, _em

    monkeypatch.setattr(_covariance, "MM_MAX_ITER", limit)
    monkeypatch.setattr(_covariance, "MM_FIRST_MAX_ITER", limit)  # (the first)
    results = []
    for compiled in (True, False):
        calls = []
        with monkeypatch.context() as m:
            if compiled:
                _count_calls(m, _em, "_iterate_group", calls)
            else:
                m.setattr(_em, "_compiled_kind", lambda model, dtype: None)
            runs, blocks, sw, scatter = _stacked_runs(covariance_type, False, False)
            errors = _em.iterate_stacked(
                runs, blocks, sw, scatter, 1e-6, 1e-8, 500, relative=True
            )
        if compiled:
            assert not calls
        results.append((runs, errors))
    (a, errors_a), (b, errors_b) = results
    assert all(isinstance(e, ValueError) for e in errors_a)
    assert [str(e) for e in errors_a] == [str(e) for e in errors_b]
    assert f"did not converge in {limit} steps" in str(errors_a[0])
    for run_a, run_b in zip(a, b, strict=True):
        assert run_a.n_iter == run_b.n_iter
        assert not run_a.converged and not run_b.converged
        np.testing.assert_allclose(run_a.history, run_b.history, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "VEV", "VVE-mclust"])
@pytest.mark.parametrize("far", [False, True])
def test_compiled_em_runs_on_threads_are_the_runs_on_one(
    covariance_type, far, monkeypatch
):
    # The runs of a group shared out one by one among threads end exactly
    # (to the bit) where the group's runs end in one call on one thread:
    # a run's arithmetic does not depend on the others' or on the thread.
    from gmm_estimators import _em

    monkeypatch.setattr(_em, "COMPILED_EM_SKLEARN", True)
    results = []
    for threads in (1, 3):
        with monkeypatch.context() as m:
            m.setattr(_em, "_run_threads", lambda n_runs, t, work, _n=threads: _n)
            runs, blocks, sw, scatter = _stacked_runs(covariance_type, False, far)
            with np.errstate(all="ignore"):
                errors = _em.iterate_stacked(
                    runs, blocks, sw, scatter, 0.0 if far else 1e-6, 1e-8, 500
                )
        results.append((runs, errors))
    (a, errors_a), (b, errors_b) = results
    assert [str(e) for e in errors_a] == [str(e) for e in errors_b]
    for run_a, run_b in zip(a, b, strict=True):
        assert run_a.n_iter == run_b.n_iter
        assert run_a.converged == run_b.converged
        assert run_a.history == run_b.history
        np.testing.assert_array_equal(run_a.weights, run_b.weights)
        np.testing.assert_array_equal(run_a.model.means, run_b.model.means)
        np.testing.assert_array_equal(run_a.model.covariances, run_b.model.covariances)


def test_run_threads_rule():
    from gmm_estimators._em import RUN_THREADS_WORK, _run_threads

    assert _run_threads(1, 4, 10 * RUN_THREADS_WORK) == 1  # one run
    assert _run_threads(13, 4, RUN_THREADS_WORK - 1) == 1  # too little work
    assert _run_threads(13, 2, RUN_THREADS_WORK) == 2
    assert _run_threads(3, 8, RUN_THREADS_WORK) == 3
    assert _run_threads(13, 1, RUN_THREADS_WORK) == 1  # BLAS kept to one


@pytest.mark.parametrize("d", [2, 4, 6, 8])
def test_polar_factor_by_jacobi_rotations_is_lapacks(d):
    # the orthogonal polar factor U V^T of f's SVD, from the identity (cold)
    # and from the right singular vectors of a nearby matrix (warm); and a
    # refusal, for LAPACK to take over, where f is rank-deficient (its
    # factor is not unique there)
    _kernels._compiled_mclust_mm()
    polar = _kernels._polar_jit
    rng = np.random.default_rng(d)
    f = rng.normal(size=(d, d))
    left, _, right = np.linalg.svd(f)
    work, sigma, q = np.empty((d, d)), np.empty(d), np.empty((d, d))
    v = np.eye(d)
    assert polar(f, v, work, sigma, q)
    np.testing.assert_allclose(q, left @ right, rtol=0, atol=1e-13)
    # v: f's right singular vectors (in some order): orthonormal, and f v has
    # orthogonal columns of f's singular values
    np.testing.assert_allclose(v.T @ v, np.eye(d), rtol=0, atol=1e-13)
    gram = (f @ v).T @ (f @ v)
    np.testing.assert_allclose(gram, np.diag(np.diag(gram)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        np.sort(np.sqrt(np.diag(gram))), np.sort(np.linalg.svd(f)[1]), rtol=1e-12
    )
    nearby = f + 1e-4 * rng.normal(size=(d, d))
    left, _, right = np.linalg.svd(nearby)
    assert polar(nearby, v, work, sigma, q)
    np.testing.assert_allclose(q, left @ right, rtol=0, atol=1e-13)
    singular = f.copy()
    singular[:, -1] = singular[:, 0]
    q[:] = 7.0
    assert not polar(singular, np.eye(d), work, sigma, q)
    assert (q == 7.0).all()  # untouched where it declines


@pytest.mark.parametrize("d, equal_volume", [(4, True), (6, False), (13, True)])
def test_mclust_mm_steps_compiled_are_numpys(d, equal_volume):
    # mclust's EVE/VVE inner loop, compiled (Jacobi polar factors up to
    # POLAR_JACOBI_MAX features, LAPACK's SVD above), against numpy's loop
    # (_MclustPath._mm_steps, LAPACK's SVD): the same fixed point
    from gmm_estimators._covariance import MM_SINGULAR, MM_TOL, _MclustPath

    rng = np.random.default_rng(d)
    K = 3
    u = np.array([(a := rng.normal(size=(d, 40))) @ a.T for _ in range(K)])
    n_k = np.full(K, 40.0)
    o0, shapes0 = np.eye(d), np.ones((K, d))
    status, o, shapes, volumes, objective = _kernels.mclust_mm(
        u, n_k, o0, shapes0, equal_volume, MM_TOL, 10_000, MM_SINGULAR
    )
    assert status == 0
    o_np, shapes_np, volumes_np, objective_np = _MclustPath._mm_steps(
        u, n_k, o0.copy(), shapes0.copy(), equal_volume, 10_000
    )
    assert objective == pytest.approx(objective_np, rel=1e-9)
    np.testing.assert_allclose(shapes, shapes_np, rtol=1e-5)
    np.testing.assert_allclose(np.abs(o @ o_np.T).max(axis=1), 1.0, atol=1e-5)
    assert (o0 == np.eye(d)).all()  # the caller's start is not changed
