"""Tests of MixtureOfPPCA: closed forms, dense references, EM invariants, API."""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gmm_estimators._em import _Blocks, model_from_responsibilities
from gmm_estimators._ppca import (
    MixtureOfPPCA,
    PPCAModel,
    ppca_from_responsibilities,
)


def _pca_data(rng, n=400, d=10):
    """Data with a decaying spectrum, rotated and shifted away from the origin."""
    scales = np.array([9.0, 6.0, 4.0, 2.5, 1.6, 1.3, 1.1, 1.0, 0.9, 0.8])[:d]
    rotation = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return rng.standard_normal((n, d)) * scales @ rotation + 3.0


# Many fits here stop at max_iter on purpose (tol=0, a fixed number of steps).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _dense_log_prob(est, X):
    """Per-component weighted log-densities from the dense covariances."""
    cov = est.covariances_
    return np.stack(
        [
            np.log(est.weights_[k])
            + multivariate_normal(est.means_[k], cov[k]).logpdf(X)
            for k in range(len(est.weights_))
        ],
        axis=1,
    )


def _match_signs(a, b):
    """Rows of ``a`` flipped to agree in sign with the rows of ``b``."""
    signs = np.sign(np.sum(a * b, axis=-1, keepdims=True))
    return a * signs


# -- closed form with one component ---------------------------------------------
@pytest.mark.parametrize("n_latent", [1, 3, 9])
def test_one_component_is_probabilistic_pca(rng, n_latent):
    # With K = 1 the maximum-likelihood PPCA is PCA in closed form (Tipping &
    # Bishop 1999, eq. 7-8): the top eigenvectors of the sample covariance S
    # (divided by n), sigma^2 the mean of the discarded eigenvalues. PCA reports
    # the same quantities with S divided by n - 1. EM (with parameter
    # expansion) converges geometrically and reaches round-off in 10 to 20
    # iterations here, so we run 60 with tol=0 (hence the ConvergenceWarning).
    # Measured errors: axes 5e-15, variances 3e-15, noise 1e-13 (n_latent=9:
    # a single discarded eigenvalue, tr S minus the rest), log-likelihood
    # 3e-15; the tolerances sit 100x above, and 5 iterations fewer, a slip of
    # n vs n - 1 or plain EM without the expansion fail them by far.
    # n_latent=9 is d - 1.
    X = _pca_data(rng)
    n, d = X.shape
    est = MixtureOfPPCA(n_latent=n_latent, tol=0.0, max_iter=60, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X)
    pca = PCA(n_components=n_latent, svd_solver="full").fit(X)
    ratio = (n - 1) / n

    comps = est.components_[0]
    np.testing.assert_allclose(
        _match_signs(comps, pca.components_), pca.components_, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        est.explained_variance_[0], pca.explained_variance_ * ratio, rtol=1e-12
    )
    np.testing.assert_allclose(
        est.noise_variance_[0], pca.noise_variance_ * ratio, rtol=1e-11
    )
    np.testing.assert_allclose(est.means_[0], pca.mean_, rtol=1e-13)
    # log N(x | m, C) with C = (n - 1)/n C_pca: the difference of the mean
    # log-likelihoods is 0.5 d (log(n/(n-1)) - 1/n) exactly at the optimum.
    shift = 0.5 * d * (np.log(n / (n - 1)) - 1.0 / n)
    assert est.score(X) == pytest.approx(pca.score(X) + shift, rel=1e-13, abs=0)
    assert est.log_likelihood_ == pytest.approx(est.score(X), rel=1e-14)


def test_one_component_transform_is_pca(rng):
    X = _pca_data(rng)
    q = 3
    est = MixtureOfPPCA(n_latent=q, tol=0.0, max_iter=60, random_state=0)
    est.fit(X)  # converged to round-off, see the test above
    pca = PCA(n_components=q, svd_solver="full").fit(X)
    Z = est.transform(X)
    assert Z.shape == (X.shape[0], q + 1)
    np.testing.assert_array_equal(Z[:, q], 1.0)
    # each axis agrees up to its sign
    signs = np.sign(np.sum(est.components_[0] * pca.components_, axis=1))
    np.testing.assert_allclose(Z[:, :q] * signs, pca.transform(X), atol=1e-12)
    np.testing.assert_allclose(
        est.inverse_transform(Z), pca.inverse_transform(pca.transform(X)), atol=1e-12
    )


# -- dense references -------------------------------------------------------------
@pytest.mark.parametrize("d, q", [(6, 2), (60, 3)])
def test_score_samples_matches_dense_mixture(rng, ppca_mixture, d, q):
    X, _ = ppca_mixture(rng, d=d, q=q)
    est = MixtureOfPPCA(n_components=3, n_latent=q, random_state=0).fit(X)
    X_test = np.vstack([X[::7], rng.standard_normal((20, d)) * 10])
    dense = _dense_log_prob(est, X_test)
    np.testing.assert_allclose(
        est.score_samples(X_test), logsumexp(dense, axis=1), rtol=1e-10
    )
    np.testing.assert_allclose(
        est.predict_proba(X_test),
        np.exp(dense - logsumexp(dense, axis=1, keepdims=True)),
        rtol=1e-9,
        atol=1e-12,
    )


def test_model_log_prob_matches_dense(rng):
    K, q, d = 3, 2, 7
    comps = np.linalg.qr(rng.standard_normal((K, d, q)))[0].transpose(0, 2, 1)
    means = rng.standard_normal((K, d)) * 3
    center = rng.standard_normal(d)
    model = PPCAModel(means, center, comps, rng.uniform(1, 5, (K, q)), [0.5, 1.0, 2.0])
    X = rng.standard_normal((30, d)) * 4
    xa = np.hstack([X - center, np.ones((30, 1))])
    lp, _ = model.log_prob(xa, {})
    cov = model.covariances()
    ref = np.stack(
        [multivariate_normal(means[k], cov[k]).logpdf(X) for k in range(K)], axis=0
    )  # component-major, (K, b), as the engine expects
    np.testing.assert_allclose(lp, ref, rtol=1e-12)
    np.testing.assert_allclose(
        model.log_det_covariance(), np.linalg.slogdet(cov)[1], rtol=1e-12
    )


def test_fitted_parameters_are_canonical(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, d=8, q=3)
    est = MixtureOfPPCA(n_components=3, n_latent=3, random_state=0).fit(X)
    for k in range(3):
        comps = est.components_[k]
        np.testing.assert_allclose(comps @ comps.T, np.eye(3), atol=1e-12)
        ev = est.explained_variance_[k]
        assert np.all(np.diff(ev) <= 0)
        assert np.all(ev >= est.noise_variance_[k])
        # explained_variance_ are the top eigenvalues of the covariance
        eig = np.linalg.eigvalsh(est.covariances_[k])[::-1]
        np.testing.assert_allclose(eig[:3], ev, rtol=1e-10)
        np.testing.assert_allclose(eig[3:], est.noise_variance_[k], rtol=1e-10)
    assert "covariances_" not in vars(est)
    assert est.covariances_.shape == (3, 8, 8)


def test_n_parameters_bic_aic(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, d=6, q=2)
    K, q, d = 3, 2, 6
    est = MixtureOfPPCA(n_components=K, n_latent=q, random_state=0).fit(X)
    expected = (K - 1) + K * d + K * (d * q - q * (q - 1) // 2 + 1)
    assert est.n_parameters_ == expected == 56
    n = X.shape[0]
    log_l = est.score(X) * n
    assert est.bic(X) == pytest.approx(-2 * log_l + expected * np.log(n), rel=1e-12)
    assert est.aic(X) == pytest.approx(-2 * log_l + 2 * expected, rel=1e-12)


# -- EM invariants --------------------------------------------------------------------
@pytest.mark.parametrize("init_params", ["kmeans", "random", "random_from_data"])
def test_lower_bound_never_decreases(rng, ppca_mixture, init_params):
    X, _ = ppca_mixture(rng, d=10, q=3, noise=1.0, spread=3.0)
    est = MixtureOfPPCA(
        n_components=3,
        n_latent=2,
        tol=0.0,
        max_iter=40,
        init_params=init_params,
        random_state=0,
    )
    est.fit(X)
    bounds = np.asarray(est.lower_bounds_)
    assert len(bounds) == 40
    # a generalised EM step never lowers the likelihood; allow round-off only
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    assert est.log_likelihood_ >= bounds[-1] - 1e-12 * abs(bounds[-1])


def test_single_point_components_start_from_the_data_axes(rng):
    # 'k-means++' and 'random_from_data' give each component a single point,
    # which spans no subspace: such a component starts at its point with the
    # axes, variances and noise of the whole data (closed-form PPCA), not with
    # zero noise and no axes.
    X = _pca_data(rng)
    n = X.shape[0]
    seeds = np.array([3, 50, 120])
    labels = np.full(n, -1)
    labels[seeds] = [0, 1, 2]
    model, weights = ppca_from_responsibilities(
        _Blocks(X, X.mean(axis=0), 32),
        2,
        lambda a, b: (labels[a:b] == np.arange(3)[:, None]).astype(float),
        None,
        1e-6,
        np.random.RandomState(0),
        n_passes=12,
    )
    pca = PCA(2, svd_solver="full").fit(X)
    ratio = (n - 1) / n
    np.testing.assert_allclose(model.means, X[seeds], rtol=1e-12)
    np.testing.assert_allclose(weights, 1 / n)
    for k in range(3):
        np.testing.assert_allclose(
            _match_signs(model.components[k], pca.components_),
            pca.components_,
            atol=1e-10,
        )
        np.testing.assert_allclose(
            model.explained_variance[k], pca.explained_variance_ * ratio, rtol=1e-10
        )
    np.testing.assert_allclose(model.noise_variance, pca.noise_variance_ * ratio)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_single_point_inits_fit(rng, ppca_mixture, init_params):
    X, _ = ppca_mixture(rng, d=8, q=2)
    est = MixtureOfPPCA(3, n_latent=2, init_params=init_params, random_state=0)
    est.fit(X)
    one = MixtureOfPPCA(1, n_latent=2).fit(X)
    assert est.score(X) > one.score(X) + 1.0
    assert np.all(est.explained_variance_ > 2 * est.noise_variance_[:, None])


def test_max_iter_zero_returns_initialisation(rng, ppca_mixture):
    X, _ = ppca_mixture(rng)
    est = MixtureOfPPCA(3, n_latent=2, max_iter=0, random_state=0).fit(X)
    assert est.n_iter_ == 0
    assert est.lower_bounds_ == []
    # the initialisation already separates the clusters
    assert len(np.unique(est.labels_)) == 3


def test_warm_start_continues(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, noise=1.0, spread=3.0)
    est = MixtureOfPPCA(3, n_latent=2, max_iter=2, warm_start=True, random_state=0)
    est.fit(X)
    first = est.lower_bounds_[-1]
    est.fit(X)
    assert est.lower_bounds_[0] >= first
    est.set_params(n_latent=3)
    with pytest.raises(ValueError, match="warm_start=True continues"):
        est.fit(X)


def test_n_init_keeps_the_best(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, noise=1.0, spread=2.0, K=4)
    one = MixtureOfPPCA(4, n_latent=2, n_init=1, init_params="random", random_state=3)
    three = clone(one).set_params(n_init=3)
    one.fit(X)
    three.fit(X)
    assert three.lower_bound_ >= one.lower_bound_ - 1e-12


def test_sample_weight_is_repetition(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, n_per=60)
    w = rng.randint(0, 3, X.shape[0])
    a = MixtureOfPPCA(3, n_latent=2, random_state=0).fit(X, sample_weight=w)
    b = MixtureOfPPCA(3, n_latent=2, random_state=0).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-7)
    np.testing.assert_allclose(a.noise_variance_, b.noise_variance_, rtol=1e-7)
    np.testing.assert_allclose(a.transform(X), b.transform(X), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n_passes, atol", [(3, 1e-2), (12, 1e-12)])
def test_initialisation_finds_principal_axes(rng, n_passes, atol):
    # Randomised subspace iteration on given responsibilities: with one
    # component (7 directions) the error of the second axis shrinks by
    # lambda_8 / lambda_2 = 1 / 36 per pass from a random start; 3 passes,
    # the default, give a good start (measured 5e-4 to 3e-3 over seeds), 12
    # give PCA to round-off.
    X = _pca_data(rng)
    blocks = _Blocks(X, X.mean(axis=0), 32)
    model, weights = ppca_from_responsibilities(
        blocks,
        2,
        lambda a, b: np.ones((1, b - a)),
        None,
        1e-6,
        np.random.RandomState(0),
        n_passes=n_passes,
    )
    pca = PCA(2, svd_solver="full").fit(X)
    np.testing.assert_allclose(
        _match_signs(model.components[0], pca.components_), pca.components_, atol=atol
    )
    np.testing.assert_allclose(weights, [1.0])


def test_reference_model_supports_generic_initialisation(rng, ppca_mixture):
    # The engine's generic initialisation (one M-step from the reference model)
    # also gives a valid PPCA: the class means, orthonormal axes.
    X, y = ppca_mixture(rng, d=5, q=2)
    center = X.mean(axis=0)
    blocks = _Blocks(X, center, 32)
    comps = np.arange(3)
    model, weights = model_from_responsibilities(
        blocks,
        PPCAModel,
        lambda a, b: (y[a:b] == comps[:, None]).astype(float),
        None,
        1e-6,
        None,
        n_latent=2,
    )
    for k in range(3):
        np.testing.assert_allclose(model.means[k], X[y == k].mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(
            model.components[k] @ model.components[k].T, np.eye(2), atol=1e-12
        )
    np.testing.assert_allclose(weights, [1 / 3] * 3)
    assert np.all(model.noise_variance > 0)


# -- dtypes ------------------------------------------------------------------------
def test_large_float32_transforms_as_float64_and_far_rows_score_minus_inf():
    # float32 data beyond float32's safe range: transform is computed in
    # float64 as the other methods are (half the rows were NaN at 1e19),
    # and returned in float32
    rng = np.random.RandomState(0)
    X32 = (rng.standard_normal((200, 4)) * 1e19).astype(np.float32)
    est = MixtureOfPPCA(2, n_latent=2, random_state=0).fit(X32)
    Z = est.transform(X32)
    assert Z.dtype == np.float32 and np.isfinite(Z).all()
    as64 = est.transform(X32.astype(np.float64))
    np.testing.assert_allclose(Z, as64.astype(np.float32), rtol=1e-5, atol=1e-6)
    # a finite row so far that its squared distance overflows: density 0
    small = MixtureOfPPCA(2, n_latent=2, random_state=0).fit(
        rng.standard_normal((100, 4))
    )
    far = np.array([[1e160, 0.0, 0.0, 0.0]])
    assert small.score_samples(far)[0] == -np.inf
    assert small.score(far) == -np.inf


def test_float32_stays_float32(rng, ppca_mixture):
    X, _ = ppca_mixture(rng)
    X32 = X.astype(np.float32)
    est = MixtureOfPPCA(3, n_latent=2, random_state=0).fit(X32)
    for name in [
        "weights_",
        "means_",
        "components_",
        "explained_variance_",
        "noise_variance_",
        "covariances_",
    ]:
        assert getattr(est, name).dtype == np.float32, name
    Z = est.transform(X32)
    assert Z.dtype == np.float32
    assert est.inverse_transform(Z).dtype == np.float32
    assert est.score_samples(X32).dtype == np.float32
    assert est.predict_proba(X32).dtype == np.float32
    assert est.sample(5)[0].dtype == np.float32
    # The same model evaluated in float64: the Woodbury form subtracts two
    # terms of size tr(Sigma_k) / sigma_k^2 (~200 here) and the blocks are
    # centred at the data mean, ~20 from the components whose noise is 0.3,
    # so float32 keeps about 4 digits of the log-density (measured 1.1e-4).
    np.testing.assert_allclose(est.score_samples(X32), est.score_samples(X), rtol=5e-4)
    # and the fit lands where the float64 fit does (EM stops at tol=1e-3)
    ref = MixtureOfPPCA(3, n_latent=2, random_state=0).fit(X)
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    np.testing.assert_allclose(est.score_samples(X32), ref.score_samples(X), rtol=1e-3)
    np.testing.assert_allclose(est.noise_variance_, ref.noise_variance_, rtol=1e-3)


# -- transform layout ------------------------------------------------------------------
def test_transform_layout_and_inverse(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, d=6, q=2, noise=1.0, spread=2.0)
    K, q = 3, 2
    est = MixtureOfPPCA(K, n_latent=q, random_state=0).fit(X)
    Z = est.transform(X)
    assert Z.shape == (X.shape[0], K * (q + 1))
    resp = est.predict_proba(X)
    np.testing.assert_allclose(Z[:, K * q :], resp, rtol=1e-10, atol=1e-15)
    for k in range(K):
        expected = resp[:, [k]] * ((X - est.means_[k]) @ est.components_[k].T)
        np.testing.assert_allclose(Z[:, k * q : (k + 1) * q], expected, atol=1e-10)
    # inverse_transform is the linear map sum_k (Z_k C_k + r_k mu_k), on any input
    Z_any = rng.standard_normal(Z.shape)
    expected = sum(
        Z_any[:, k * q : (k + 1) * q] @ est.components_[k]
        + Z_any[:, [K * q + k]] * est.means_[k]
        for k in range(K)
    )
    np.testing.assert_allclose(
        est.inverse_transform(Z_any), expected, rtol=1e-12, atol=1e-12
    )
    # the round trip is the responsibility-weighted local PCA reconstruction
    recon = sum(
        resp[:, [k]]
        * (
            est.means_[k]
            + (X - est.means_[k]) @ est.components_[k].T @ est.components_[k]
        )
        for k in range(K)
    )
    np.testing.assert_allclose(est.inverse_transform(Z), recon, atol=1e-10)
    np.testing.assert_array_equal(est.fit_transform(X), Z)


def test_feature_names_and_pandas_output(rng, ppca_mixture):
    pd = pytest.importorskip("pandas")
    X, _ = ppca_mixture(rng, d=4, q=1, K=2)
    df = pd.DataFrame(X, columns=list("abcd"))
    est = MixtureOfPPCA(2, n_latent=1, random_state=0).set_output(transform="pandas")
    out = est.fit(df).transform(df)
    names = ["mixtureofppca0_axis0", "mixtureofppca1_axis0"]
    names += ["mixtureofppca0_proba", "mixtureofppca1_proba"]
    assert list(out.columns) == names
    assert list(est.get_feature_names_out()) == names
    np.testing.assert_array_equal(est.feature_names_in_, list("abcd"))
    with pytest.raises(ValueError, match="input_features"):
        est.get_feature_names_out(["w", "x", "y", "z"])


# -- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("n_latent", [3, 4])
def test_n_latent_must_be_below_n_features(rng, n_latent):
    X = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match=f"n_latent={n_latent} must be smaller"):
        MixtureOfPPCA(n_latent=n_latent).fit(X)


@pytest.mark.parametrize("n_latent", [0, -1, 1.5])
def test_n_latent_must_be_a_positive_integer(rng, n_latent):
    X = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match="'n_latent' parameter"):
        MixtureOfPPCA(n_latent=n_latent).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(rng, bad):
    X = rng.standard_normal((20, 3))
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        MixtureOfPPCA(n_latent=1).fit(X)
    est = MixtureOfPPCA(n_latent=1, random_state=0).fit(rng.standard_normal((20, 3)))
    with pytest.raises(ValueError, match="NaN|infinity"):
        est.transform(X)


def test_sparse_and_shape_errors(rng):
    X = rng.standard_normal((20, 3))
    with pytest.raises(TypeError, match="[Ss]parse"):
        MixtureOfPPCA(n_latent=1).fit(sp.csr_matrix(X))
    est = MixtureOfPPCA(2, n_latent=1, random_state=0).fit(X)
    for method in ["predict", "predict_proba", "score_samples", "transform"]:
        with pytest.raises(ValueError, match="features"):
            getattr(est, method)(X[:, :2])
    with pytest.raises(ValueError, match=r"n_components \* \(n_latent \+ 1\) = 4"):
        est.inverse_transform(np.zeros((2, 3)))


def test_collapse_without_reg_covar_is_an_error(rng):
    X = rng.standard_normal((50, 1)) @ [[1.0, 2.0, 3.0]]  # exactly on a line
    with pytest.raises(ValueError, match="noise variance of component 0"):
        MixtureOfPPCA(n_latent=1, reg_covar=0.0).fit(X)
    est = MixtureOfPPCA(n_latent=1, reg_covar=1e-6).fit(X)
    assert est.noise_variance_[0] == pytest.approx(1e-6)


def test_memory_is_linear_in_n_features(rng):
    # A d x d matrix here is 72 MB; fit, score and transform stay far below.
    d = 3000
    X = rng.standard_normal((150, 2)) @ rng.standard_normal((2, d))
    X += 0.1 * rng.standard_normal(X.shape)
    est = MixtureOfPPCA(2, n_latent=2, max_iter=5, random_state=0)
    tracemalloc.start()
    try:
        est.fit(X)
        est.score(X)
        est.transform(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, peak


# -- scikit-learn API (the checks common to every estimator: test_common.py) ----------
def test_sample(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, d=5, q=2)
    est = MixtureOfPPCA(3, n_latent=2, random_state=0).fit(X)
    n = 60000
    X_new, y_new = est.sample(n)
    assert X_new.shape == (n, 5)
    np.testing.assert_allclose(np.bincount(y_new) / n, est.weights_, atol=0.01)
    for k in range(3):
        # within 5 standard errors of the sample mean and covariance
        Xk = X_new[y_new == k]
        cov = est.covariances_[k]
        var = np.diag(cov)
        mean_error = np.abs(Xk.mean(axis=0) - est.means_[k])
        assert np.all(mean_error <= 5 * np.sqrt(var / len(Xk))), mean_error
        cov_error = np.abs(np.cov(Xk.T) - cov)
        se = np.sqrt((np.outer(var, var) + cov**2) / len(Xk))
        assert np.all(cov_error <= 5 * se), cov_error / se
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(0)


def test_transformer_before_a_classifier_in_a_pipeline(rng, ppca_mixture):
    X, _ = ppca_mixture(rng, d=8, q=2, K=2)
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    pipe = make_pipeline(
        StandardScaler(),
        MixtureOfPPCA(2, n_latent=2, random_state=0),
        RidgeClassifier(),
    ).fit(X, y)
    assert pipe.score(X, y) > 0.8


def test_selector_chooses_components_and_latent_dimension(rng, ppca_mixture):
    selection = pytest.importorskip("gmm_estimators._selection")
    X, _ = ppca_mixture(rng, n_per=200, d=8, q=2, K=2)
    # A noise floor of a tenth of the true noise (0.09): with reg_covar=1e-6 a
    # third component collapsing onto 2 or 3 points (q + 1 points span its
    # subspace exactly) can win on BIC, the usual mixture degeneracy.
    selector = selection.GaussianMixtureSelector(
        MixtureOfPPCA(reg_covar=1e-2, random_state=0),
        n_components=[1, 2, 3],
        covariance_type=None,
        param_grid={"n_latent": [1, 2, 3]},
        random_state=0,
    ).fit(X)
    best = selector.best_estimator_
    assert isinstance(best, MixtureOfPPCA)
    assert (best.n_components, best.n_latent) == (2, 2)
    assert selector.transform(X).shape == (X.shape[0], 2 * 3)


def test_digits_better_than_pca():
    # Standardised digits, K = 10 components of dimension 5 against one PCA of
    # dimension 5: better held-out likelihood and reconstruction.
    X, _ = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    mppca = MixtureOfPPCA(10, n_latent=5, random_state=0).fit(X_train)
    pca = PCA(5).fit(X_train)
    assert mppca.score(X_test) > pca.score(X_test) + 10  # -63 vs -89 nats
    err_mppca = np.mean(
        (mppca.inverse_transform(mppca.transform(X_test)) - X_test) ** 2
    )
    err_pca = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert err_mppca < 0.6 * err_pca  # 0.30 vs 0.72
