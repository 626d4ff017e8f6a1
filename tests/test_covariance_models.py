"""The fourteen parsimonious covariance models of mclust (issue 10).

Every test is parametrised over ``MCLUST_MODELS``.  What is checked:

* structure -- fitted covariances satisfy the model's constraint on volume,
  shape and orientation, verified by a decomposition written here (not the
  library's), and the library's ``volumes_``/``shapes_``/``orientations_``
  agree with it;
* EM -- ``lower_bounds_`` never decreases, on three data sets;
* the behaviour that scikit-learn's four types have: ``predict_proba``,
  ``score_samples`` against scipy, ``sample``, ``sample_weight``, float32,
  ``warm_start``, bad input, and the univariate names ``"E"``/``"V"``;
* free-parameter counts as mclust's ``nMclustParams``;
* exactness against R's mclust 6.0.0 (``tests/data/mclust_models_reference.json``,
  written by ``benchmarks/mclust_models_reference.R``): one M-step from a
  fixed partition (``mstep()``) and EM from it (``me()``), on iris, faithful,
  wine (d = 13) and banknote (d = 6).  The tests need no R.

Known differences from mclust, each tested for what it is:

* VEE: mclust stops its inner fixed point when its objective changes by less
  than 1e-12 relative, which leaves the covariances up to 1e-6 from the fixed
  point (the objective is flat there); ours are at the fixed point (checked
  against an independent iteration below), so the covariances agree to ~1e-6
  and the M-step objective to 1e-12.
* EVE: mclust's M-step finds the orientation by majorisation-minimisation
  (MM), whose steps shrink slowly, and stops on a 1e-12 relative change of
  the objective, some way short of the optimum; ours by sweeps of plane
  rotations.  They are compared by the objective (ours run to convergence,
  with ``ORIENTATION_SWEEPS`` lifted: by default an M-step takes at most
  ``ORIENTATION_SWEEPS`` sweeps, a generalised EM step).
* VVE: mclust's M-step is not the maximiser -- its MM steps for the common
  orientation weight the scatters by ``A_k^-1`` instead of ``(lambda_k
  A_k)^-1`` (``msvve`` in mclust 6.0.0's mclustaddson.f), i.e. they minimise
  the EVE objective -- so ours must reach at least its objective.  EM then
  reaches higher log-likelihoods than ``me()`` (up to 24 higher: iris, K=3).
  A fit from 'hc' also runs EM with mclust's own EVE and VVE M-step
  (``mclust_path``), which reproduces ``mstep()`` and ``me()``, VVE included.
* EVE and VVE restarted from a fitted model (``warm_start`` or
  ``precisions_init``) start the orientation's rotations from the best of the
  model's own orientation and the pooled scatter's, so the likelihood does
  not drop (it did when they started from the pooled scatter's only).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn import clone
from sklearn.datasets import load_iris, load_wine, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import gmm_estimators._covariance as covariance_module
from gmm_estimators import GaussianMixture, GaussianMixtureSelector, _kernels
from gmm_estimators._covariance import (
    COVARIANCE_MODELS,
    MCLUST_MODELS,
    CollapseError,
    VEICovariance,
    VEVCovariance,
    dense_covariances,
    nested_in,
)
from gmm_estimators._em import (
    _m_steps,
    _Run,
    fit_blocks,
    model_from_responsibilities,
    models_from_responsibilities,
)
from gmm_estimators._gaussian_mixture import initial_parameters
from gmm_estimators._init import _labels_source
from gmm_estimators._selection import default_estimator

# Many fits here stop at max_iter on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

REFERENCE = Path(__file__).parent / "data" / "mclust_models_reference.json"
PARAMETERS = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
)


# -- helpers written independently of the library ---------------------------------


def _layout(name, K, d):
    """Shape of ``covariances_`` by the documented rule."""
    if name[1:] == "II":
        return (K,)
    if name[2] == "I":
        return (K, d)
    if name == "EEE":
        return (d, d)
    return (K, d, d)


def _dense(name, cov, K, d):
    """The covariances as (K, d, d), from the layout rule above."""
    cov = np.asarray(cov, dtype=np.float64)
    if name[1:] == "II":
        return cov[:, None, None] * np.eye(d)
    if name[2] == "I":
        return np.stack([np.diag(c) for c in cov])
    if name == "EEE":
        return np.broadcast_to(cov, (K, d, d)).copy()
    return cov


def _covariances_from_precisions(name, precisions, K, d):
    """Dense covariances from ``precisions_init``-layout precisions."""
    p = np.asarray(precisions, dtype=np.float64)
    matrices = name == "EEE" or len(_layout(name, K, d)) == 3
    return _dense(name, np.linalg.inv(p) if matrices else 1.0 / p, K, d)


def _decompose(sigma, diagonal):
    """mclust's ``lambda_k``, ``A_k`` (and eigenvectors) of each ``Sigma_k``.

    ``lambda_k = |Sigma_k|^(1/d)``; ``A_k`` are the eigenvalues over
    ``lambda_k`` in decreasing order, or the diagonal over ``lambda_k`` in the
    features' order when ``diagonal``."""
    if diagonal:
        values = np.diagonal(sigma, axis1=1, axis2=2)
        vectors = np.broadcast_to(np.eye(sigma.shape[1]), sigma.shape)
    else:
        values, vectors = np.linalg.eigh(sigma)
        values, vectors = values[:, ::-1], vectors[:, :, ::-1]
    volumes = np.exp(np.log(values).mean(axis=1))
    return volumes, values / volumes[:, None], vectors


def _whitened_error(sigma, reference):
    """max_k ||L_k^-1 Sigma_k L_k^-T - I||_2 with ``L_k`` the Cholesky factor of
    ``reference_k``: the relative error of ``Sigma_k`` in every direction
    (a relative Frobenius norm would see only the largest variances)."""
    out = 0.0
    for s, r in zip(sigma, reference, strict=True):
        inv = np.linalg.inv(np.linalg.cholesky(r))
        out = max(out, np.linalg.norm(inv @ s @ inv.T - np.eye(len(s)), 2))
    return out


def _relative(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _scatters(X, labels, K):
    """Counts ``N_k``, means and scatter matrices ``W_k`` of a hard partition."""
    counts, means, scatters = [], [], []
    for k in range(K):
        Z = X[labels == k]
        mu = Z.mean(axis=0)
        counts.append(len(Z))
        means.append(mu)
        scatters.append((Z - mu).T @ (Z - mu))
    return np.array(counts, float), np.array(means), np.array(scatters)


def _mstep_objective(counts, scatters, sigma):
    """The expected complete log-likelihood that an M-step maximises over the
    covariances (less constants): ``-1/2 sum_k (N_k log|S_k| + tr(S_k^-1 W_k))``."""
    total = 0.0
    for n, w, s in zip(counts, scatters, sigma, strict=True):
        total -= 0.5 * (n * np.linalg.slogdet(s)[1] + np.trace(np.linalg.solve(s, w)))
    return total


def _n_mclust_params(name, K, d):
    """mclust's ``nMclustParams(name, d, K)``, written out per model."""
    cov = {
        "EII": 1,
        "VII": K,
        "EEI": d,
        "VEI": K + (d - 1),
        "EVI": 1 + K * (d - 1),
        "VVI": K * d,
        "EEE": d * (d + 1) // 2,
        "VEE": K + d * (d + 1) // 2 - 1,
        "EVE": 1 + K * (d - 1) + d * (d - 1) // 2,
        "VVE": K * d + d * (d - 1) // 2,
        "EEV": 1 + (d - 1) + K * d * (d - 1) // 2,
        "VEV": K + (d - 1) + K * d * (d - 1) // 2,
        "EVV": 1 + K * (d * (d + 1) // 2 - 1),
        "VVV": K * d * (d + 1) // 2,
    }[name]
    return cov + K * d + K - 1


# -- data ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iris():
    return load_iris().data


@pytest.fixture(scope="module")
def wine_scaled():
    X = load_wine().data
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.fixture(scope="module")
def small_blobs():
    X, y = make_blobs(
        n_samples=240,
        n_features=3,
        centers=3,
        cluster_std=[0.6, 1.0, 1.4],
        random_state=0,
    )
    # shear the blobs so that orientations and shapes are not trivial
    return X @ np.array([[1.0, 0.4, 0.0], [0.0, 1.0, 0.3], [0.2, 0.0, 0.7]]), y


@pytest.fixture(scope="module")
def iris_fits(iris):
    """Every model fitted to iris with K=3 from mclust's hierarchical start."""
    fits = {}
    for name in MCLUST_MODELS:
        fits[name] = GaussianMixture(
            3,
            covariance_type=name,
            reg_covar=0.0,
            init_params="hc",
            tol=1e-8,
            max_iter=300,
        ).fit(iris)
    return fits


@pytest.fixture(scope="module")
def blob_fits(small_blobs):
    """Every model fitted to the small blobs from the true labels."""
    X, y = small_blobs
    fits = {}
    for name in MCLUST_MODELS:
        w, m, p = initial_parameters(X, y, name)
        fits[name] = GaussianMixture(
            3,
            covariance_type=name,
            weights_init=w,
            means_init=m,
            precisions_init=p,
            tol=1e-6,
            random_state=0,
        ).fit(X)
    return fits


@pytest.fixture(scope="module")
def reference():
    with open(REFERENCE) as f:
        return json.load(f)


# -- registry and layout -----------------------------------------------------------------


def test_registry():
    assert len(MCLUST_MODELS) == len(set(MCLUST_MODELS)) == 14
    assert all(name in COVARIANCE_MODELS for name in MCLUST_MODELS)
    for alias, name in (("VVV", "full"), ("EEE", "tied"), ("VVI", "diag")):
        assert COVARIANCE_MODELS[alias] is COVARIANCE_MODELS[name]
    assert COVARIANCE_MODELS["VII"] is COVARIANCE_MODELS["spherical"]
    assert COVARIANCE_MODELS["E"] is COVARIANCE_MODELS["EII"]
    assert COVARIANCE_MODELS["V"] is COVARIANCE_MODELS["VII"]


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_layout_and_dense_covariances(iris_fits, name):
    """``covariances_`` and the precisions have the documented layout, and
    ``dense_covariances`` expands it as the rule says."""
    gm = iris_fits[name]
    K, d = gm.means_.shape
    for attr in ("covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(gm, attr).shape == _layout(name, K, d), attr
    dense = dense_covariances(name, gm.covariances_, K, d)
    assert dense.shape == (K, d, d)
    assert_allclose(dense, _dense(name, gm.covariances_, K, d), rtol=1e-14)
    precision = _covariances_from_precisions(name, gm.precisions_, K, d)
    assert _whitened_error(precision, dense) < 1e-10


# -- structure -------------------------------------------------------------------------


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_fitted_covariances_satisfy_the_constraint(iris_fits, name):
    """lambda (volume), A (shape), D (orientation): E equal across components,
    V variable, I the identity -- checked on Sigma_k by an eigen (or diagonal)
    decomposition, to 1e-8 relative.  reg_covar=0: the library adds reg_covar
    after the constrained M-step, which would perturb the constraint."""
    gm = iris_fits[name]
    assert gm.converged_ and not gm.degenerate_
    K, d = gm.means_.shape
    sigma = _dense(name, gm.covariances_, K, d)
    volume, shape, orientation = name
    diagonal = orientation == "I"
    lam, A, _ = _decompose(sigma, diagonal)
    assert_allclose(np.prod(A, axis=1), 1.0, rtol=1e-12)
    scale = np.abs(sigma).max(axis=(1, 2))

    if diagonal:
        off = sigma - np.stack([np.diag(np.diag(s)) for s in sigma])
        assert np.all(off == 0), "an xxI covariance is not diagonal"
    if volume == "E":
        assert_allclose(lam, lam[0], rtol=1e-8)
    else:  # not more constrained than its name
        assert np.ptp(np.log(lam)) > 1e-3
    if shape == "I":
        assert_allclose(A, 1.0, rtol=1e-8)
    elif shape == "E":
        assert_allclose(A, np.broadcast_to(A[0], A.shape), rtol=1e-8)
    else:
        assert np.ptp(A, axis=0).max() > 1e-3
    if orientation == "E":
        # one set of eigenvectors: the matrices commute, and the eigenvectors
        # of Sigma_1 diagonalise every Sigma_k
        for i in range(K):
            for j in range(K):
                commutator = sigma[i] @ sigma[j] - sigma[j] @ sigma[i]
                assert np.abs(commutator).max() <= 1e-8 * scale[i] * scale[j]
        vectors = np.linalg.eigh(sigma[0])[1]
        for k in range(K):
            rotated = vectors.T @ sigma[k] @ vectors
            off = rotated - np.diag(np.diag(rotated))
            assert np.abs(off).max() <= 1e-8 * scale[k]
    elif orientation == "V":
        commutator = sigma[0] @ sigma[1] - sigma[1] @ sigma[0]
        assert np.abs(commutator).max() > 1e-3 * scale[0] * scale[1]
    if shape + orientation in ("EE", "EI"):  # Sigma_k / lambda_k is one matrix
        assert_allclose(
            sigma / lam[:, None, None],
            np.broadcast_to(sigma[0] / lam[0], sigma.shape),
            rtol=1e-8,
            atol=1e-8 * scale.max() / lam[0],
        )
    if name == "EEE":
        assert_allclose(sigma, np.broadcast_to(sigma[0], sigma.shape), rtol=1e-12)


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_decomposition_attributes(iris_fits, name):
    """volumes_, shapes_ and orientations_ are mclust's decomposition: they
    agree with the one written here and recompose Sigma_k."""
    gm = iris_fits[name]
    K, d = gm.means_.shape
    sigma = _dense(name, gm.covariances_, K, d)
    lam, A, _ = _decompose(sigma, diagonal=name[2] == "I")
    assert gm.volumes_.shape == (K,)
    assert gm.shapes_.shape == (K, d)
    assert gm.orientations_.shape == (K, d, d)
    assert_allclose(gm.volumes_, lam, rtol=1e-10)
    assert_allclose(gm.shapes_, A, rtol=1e-8)
    D = gm.orientations_
    assert_allclose(
        D @ np.swapaxes(D, 1, 2), np.broadcast_to(np.eye(d), D.shape), atol=1e-12
    )
    recomposed = np.einsum("kij,kj,klj->kil", D, gm.volumes_[:, None] * gm.shapes_, D)
    assert _whitened_error(recomposed, sigma) < 1e-10


# -- EM --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MCLUST_MODELS)
@pytest.mark.parametrize("data", ["iris", "wine_scaled", "small_blobs"])
def test_lower_bound_never_decreases(request, name, data):
    X = request.getfixturevalue(data)
    X = X[0] if isinstance(X, tuple) else X
    gm = GaussianMixture(
        3,
        covariance_type=name,
        reg_covar=0.0,
        init_params="kmeans",
        random_state=0,
        tol=1e-9,
        max_iter=150,
    ).fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert len(bounds) >= 2
    steps = np.diff(bounds)
    assert steps.min() >= -1e-10 * np.abs(bounds[1:]).max(), steps.min()


# -- behaviour the four scikit-learn types have ---------------------------------------


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_predict_proba_and_score_samples_against_scipy(small_blobs, blob_fits, name):
    X, _ = small_blobs
    gm = blob_fits[name]
    K, d = gm.means_.shape
    sigma = dense_covariances(name, gm.covariances_, K, d)
    joint = np.column_stack(
        [
            np.log(gm.weights_[k])
            + multivariate_normal(gm.means_[k], sigma[k]).logpdf(X)
            for k in range(K)
        ]
    )
    expected = logsumexp(joint, axis=1)
    assert_allclose(gm.score_samples(X), expected, rtol=1e-10, atol=1e-10)
    assert_allclose(gm.score(X), expected.mean(), rtol=1e-10)
    proba = gm.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_allclose(proba, np.exp(joint - expected[:, None]), atol=1e-10)
    assert_array_equal(gm.predict(X), proba.argmax(axis=1))
    assert_allclose(
        gm.bic(X), -2 * expected.sum() + gm.n_parameters_ * np.log(len(X)), rtol=1e-10
    )


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_sample(blob_fits, name):
    gm = blob_fits[name]
    K, d = gm.means_.shape
    X, y = gm.sample(30)
    assert X.shape == (30, d) and y.shape == (30,)
    assert set(np.unique(y)) <= set(range(K))
    X2, y2 = gm.sample(30)
    assert_array_equal(X, X2)  # random_state=0: the same draws each call
    assert_array_equal(y, y2)
    # the draws follow the model: per-component moments of a large sample
    X, y = gm.sample(30000)
    sigma = dense_covariances(name, gm.covariances_, K, d)
    for k in range(K):
        Z = X[y == k]
        assert abs(len(Z) / len(X) - gm.weights_[k]) < 0.02
        assert _whitened_error(np.cov(Z.T)[None], sigma[[k]]) < 0.15
        assert np.abs(Z.mean(axis=0) - gm.means_[k]).max() < 0.1 * np.sqrt(
            sigma[k].diagonal().max()
        )


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_integer_weights_equal_repeated_rows(small_blobs, name):
    """From the same initial parameters, integer sample weights fit what
    repeating the rows fits."""
    X, y = small_blobs
    X, y = X[::3], y[::3]
    sw = np.random.RandomState(0).randint(1, 4, size=len(X))
    rows = np.repeat(np.arange(len(X)), sw)
    w, m, p = initial_parameters(X[rows], y[rows], name)
    w_sw, m_sw, p_sw = initial_parameters(X, y, name, sample_weight=sw)
    assert_allclose(w_sw, w, rtol=1e-12)
    assert_allclose(m_sw, m, rtol=1e-12)
    assert_allclose(p_sw, p, rtol=1e-10)
    kw = dict(
        covariance_type=name,
        weights_init=w,
        means_init=m,
        precisions_init=p,
        tol=1e-10,
        max_iter=400,
    )
    weighted = GaussianMixture(3, **kw).fit(X, sample_weight=sw)
    repeated = GaussianMixture(3, **kw).fit(X[rows])
    for attr in PARAMETERS:
        assert _relative(getattr(weighted, attr), getattr(repeated, attr)) < 1e-8, attr
    assert_allclose(weighted.lower_bound_, repeated.lower_bound_, rtol=1e-10)
    assert weighted.n_parameters_ == repeated.n_parameters_


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_float32_in_float32_out(small_blobs, name):
    X, y = small_blobs
    X32 = (X + 100.0).astype(np.float32)  # an offset tests the centring
    w, m, p = initial_parameters(X32.astype(np.float64), y, name)
    kw = dict(
        covariance_type=name,
        weights_init=w,
        means_init=m,
        precisions_init=p,
        tol=0,
        max_iter=20,
    )
    gm32 = GaussianMixture(3, **kw).fit(X32)
    gm64 = GaussianMixture(3, **kw).fit(X32.astype(np.float64))
    for attr in PARAMETERS:
        assert getattr(gm32, attr).dtype == np.float32, attr
    for method in ("score_samples", "predict_proba"):
        assert getattr(gm32, method)(X32).dtype == np.float32
    assert_allclose(gm32.lower_bound_, gm64.lower_bound_, rtol=1e-4)
    assert_allclose(gm32.means_, gm64.means_, rtol=1e-4)
    K, d = gm64.means_.shape
    assert (
        _whitened_error(
            dense_covariances(name, gm32.covariances_, K, d).astype(np.float64),
            dense_covariances(name, gm64.covariances_, K, d),
        )
        < 1e-3
    )


RESTART_CASES = MCLUST_MODELS


@pytest.mark.parametrize("name", RESTART_CASES)
def test_warm_start_continues(small_blobs, name):
    """Two warm-started fits of 4 iterations end where one fit of 8 does."""
    X, y = small_blobs
    w, m, p = initial_parameters(X, (y + np.arange(len(y))) % 3, name)  # a poor start
    kw = dict(
        covariance_type=name, weights_init=w, means_init=m, precisions_init=p, tol=0
    )
    straight = GaussianMixture(3, max_iter=8, **kw).fit(X)
    warm = GaussianMixture(3, max_iter=4, warm_start=True, **kw).fit(X)
    first = warm.lower_bound_
    warm.fit(X)
    assert warm.n_iter_ == 4
    assert warm.lower_bounds_[0] >= first - 1e-12 * abs(first)
    assert_allclose(warm.lower_bound_, straight.lower_bound_, rtol=1e-10)
    assert_allclose(warm.means_, straight.means_, rtol=1e-7)
    K, d = warm.means_.shape
    assert (
        _whitened_error(
            dense_covariances(name, warm.covariances_, K, d),
            dense_covariances(name, straight.covariances_, K, d),
        )
        < 1e-7
    )


@pytest.mark.parametrize("name", RESTART_CASES)
def test_restart_from_a_fitted_model_does_not_lose_likelihood(iris, iris_fits, name):
    """EM continued from a converged fit (its parameters as ``*_init``, and by
    ``warm_start``) stays where it is: the lower bound does not drop."""
    fit = iris_fits[name]
    kw = dict(covariance_type=name, reg_covar=0.0, tol=0, max_iter=3)
    again = GaussianMixture(
        3,
        weights_init=fit.weights_,
        means_init=fit.means_,
        precisions_init=fit.precisions_,
        **kw,
    ).fit(iris)
    warm = clone(fit).set_params(warm_start=True)
    warm.fit(iris)  # the same fit as the fixture's (deterministic 'hc' start)
    warm.set_params(**kw).fit(iris)
    for gm in (again, warm):
        bounds = np.asarray(gm.lower_bounds_)
        assert bounds.min() >= fit.lower_bound_ - 1e-10 * abs(fit.lower_bound_), (
            bounds - fit.lower_bound_
        )


def test_nested_in_is_mclusts_lattice():
    """A type holds another when each of its letters is at least the other's
    (identity < equal < variable): a partial order, with scikit-learn's
    names as their mclust models and the univariate V holding E."""
    names = list(MCLUST_MODELS)
    for a in names:
        assert not nested_in(a, a)
        for b in names:
            if nested_in(a, b):
                assert not nested_in(b, a)
                assert all(nested_in(a, c) for c in names if nested_in(b, c))
    holds = {name: {a for a in names if nested_in(a, name)} for name in names}
    assert holds["EII"] == set()
    assert holds["VVV"] == set(names) - {"VVV"}
    assert holds["VVE"] == {
        "EII",
        "VII",
        "EEI",
        "VEI",
        "EVI",
        "VVI",
        "EEE",
        "VEE",
        "EVE",
    }
    assert holds["EEV"] == {"EII", "EEI", "EEE"}
    assert not nested_in("EVE", "EEV") and not nested_in("EEV", "EVE")
    assert nested_in("tied", "full") and nested_in("spherical", "diag")
    assert not nested_in("diag", "tied") and not nested_in("full", "VVV")
    assert nested_in("E", "V") and not nested_in("V", "E")
    # names outside the family (another estimator's, none) hold nothing
    assert not nested_in(None, "full") and not nested_in("VVV", "isotropic")


@pytest.mark.parametrize("outer", MCLUST_MODELS[1:])
def test_larger_model_from_a_smaller_ones_posterior_keeps_its_likelihood(
    iris, iris_fits, outer
):
    """EM for a model from the posterior of a model it holds (the
    selector's third round, a ``("responsibilities", resp)`` start): the
    first M-step maximises the larger model's expected log-likelihood, whose
    value at the smaller fit's parameters is the smaller fit's, so the
    larger model's first lower bound is at least the smaller fit's
    log-likelihood; and EM only raises it."""
    for inner in MCLUST_MODELS:
        if not nested_in(inner, outer):
            continue
        fit = iris_fits[inner]
        gm = GaussianMixture(3, covariance_type=outer, reg_covar=0.0, max_iter=3, tol=0)
        gm._search_context = {"starts": [fit.predict_proba(iris)], "random_state": 0}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(iris)
        bounds = np.asarray(gm.lower_bounds_)
        ll = fit.score(iris)
        assert bounds[0] >= ll - 1e-10 * abs(ll), (inner, bounds[0] - ll)
        assert np.all(np.diff(bounds) >= -1e-12 * abs(ll)), (inner, bounds)


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_max_iter_zero_returns_the_initialisation(small_blobs, name):
    """max_iter=0 publishes the initial parameters: ``covariances_`` is the
    inverse of ``precisions_init``."""
    X, y = small_blobs
    w, m, p = initial_parameters(X, y, name)
    gm = GaussianMixture(
        3,
        covariance_type=name,
        weights_init=w,
        means_init=m,
        precisions_init=p,
        max_iter=0,
    ).fit(X)
    assert_allclose(gm.weights_, w, rtol=1e-12)
    assert_allclose(gm.means_, m, rtol=1e-12)
    assert_allclose(gm.precisions_, p, rtol=1e-10, atol=1e-12 * np.abs(p).max())
    K, d = m.shape
    assert (
        _whitened_error(
            dense_covariances(name, gm.covariances_, K, d),
            _covariances_from_precisions(name, p, K, d),
        )
        < 1e-10
    )


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_bad_input(small_blobs, blob_fits, name):
    X, _ = small_blobs
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError):
        GaussianMixture(3, covariance_type=name).fit(bad)
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(3, covariance_type=name).fit(X[:2])
    gm = blob_fits[name]
    for method in ("predict", "predict_proba", "score_samples", "score"):
        with pytest.raises(ValueError, match="features"):
            getattr(gm, method)(X[:, :2])


def test_univariate_names():
    """mclust's 'E' and 'V' on one feature: the same fits as EII and VII, with
    their counts (2K and 3K - 1 parameters)."""
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(0, 1, 120), rng.normal(5, 2, 80)])[:, None]
    for name, same in (("E", "EII"), ("V", "VII")):
        kw = dict(init_params="hc", reg_covar=0.0, tol=1e-10, max_iter=500)
        gm = GaussianMixture(2, covariance_type=name, **kw).fit(X)
        ref = GaussianMixture(2, covariance_type=same, **kw).fit(X)
        assert gm.covariances_.shape == (2,)
        for attr in PARAMETERS:
            assert_allclose(getattr(gm, attr), getattr(ref, attr), rtol=1e-12)
        assert gm.n_parameters_ == {"E": 4, "V": 5}[name]
        assert_allclose(gm.volumes_, gm.covariances_, rtol=1e-12)
        if name == "E":
            assert gm.covariances_[0] == gm.covariances_[1]
        assert_allclose(
            gm.score_samples(X),
            logsumexp(
                np.log(gm.weights_)
                + np.column_stack(
                    [
                        multivariate_normal(gm.means_[k], gm.covariances_[k]).logpdf(X)
                        for k in range(2)
                    ]
                ),
                axis=1,
            ),
            rtol=1e-10,
        )


# -- counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_n_parameters_is_nMclustParams(iris_fits, reference, name):
    assert iris_fits[name].n_parameters_ == _n_mclust_params(name, 3, 4)
    # and R's own nMclustParams for d = 2, 4, 6, 13 and K = 2, 3
    for data in reference["datasets"].values():
        for K, fit in data["me"][name].items():
            assert _n_mclust_params(name, int(K), data["d"]) == fit["npar"]
    # through the class, for a grid of sizes
    cls = COVARIANCE_MODELS[name]
    for K in (1, 2, 5):
        for d in (1, 2, 3, 7):
            if d == 1 and name[2] != "I":
                continue
            n = cls.n_cov_parameters(K, d) + K * d + K - 1
            assert n == _n_mclust_params(name, K, d), (K, d)


# -- the M-steps of several runs side by side (m_step_stacked) --------------------------

#: The models whose M-step constrains the components together: the engine
#: does their runs' M-steps side by side (``m_step_stacked``); the others'
#: stacked model's own M-step is theirs (``stack_class`` is the class).
CONSTRAINED = [
    name
    for name in MCLUST_MODELS
    if COVARIANCE_MODELS[name].stack_class is not COVARIANCE_MODELS[name]
]
#: Those with an inner iteration (fixed point or rotations).
ITERATIVE = ("VEI", "VEE", "VEV", "EVE", "VVE")


def _stacked_statistics(models, xa, resp):
    """Counts, first moments and statistics of the runs' ``models`` side by
    side, as the engine's stacked E-step gives them (``resp``: the runs'
    responsibilities in turn)."""
    stacked = type(models[0]).stack(models)
    _, cache = stacked.log_prob(xa, {})
    stats = stacked.new_stats()
    stacked.accumulate(stats, xa, resp, cache)
    return resp.sum(axis=1), resp @ xa[:, :-1], stats


def _three_runs(name, seed=0, n=90, K=3):
    """Data and three runs' models of ``name``: runs 0 and 1 after several
    M-steps on their own (soft) responsibilities, so that their next inner
    iteration starts at its answer and stops within a few steps; run 2 at
    unit precisions, with components stretched along different axes (its
    fixed point takes 17 to 31 steps, its rotations 7 sweeps)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3)) * [40.0, 10.0, 2.5]
    X[: n // 3] += 30.0
    center = X.mean(axis=0)
    xa = np.hstack([X - center, np.ones((n, 1))])
    scatter = (X - center).T @ (X - center)
    cls = COVARIANCE_MODELS[name]
    resp = [rng.dirichlet(np.full(K, 0.5), size=n).T for _ in range(2)]
    axis = np.abs((X - center) / X.std(axis=0)).argmax(axis=1)
    resp.append(np.eye(K)[axis].T * 0.98 + 0.01)
    models = []
    for s in range(3):
        model = cls.reference(X[rng.choice(n, K, replace=False)], center)
        for _ in range(8 if s < 2 else 0):
            stats = _stacked_statistics([model], xa, resp[s])
            model = model.m_step(*stats, 1e-6, scatter)
        models.append(model)
    return models, xa, np.vstack(resp), scatter


def _each_alone(models, nk, s1c, stats, reg_covar, scatter):
    """Each run's own M-step (or its ValueError) on its rows of the stacked
    statistics: the engine's per-run fallback."""
    return _m_steps(models, nk, s1c, stats, reg_covar, scatter, batched=False)


def _assert_same_model(a, b):
    assert type(a) is type(b)
    assert set(vars(a)) == set(vars(b))
    for attr in ("means", "covariances", "prec_chol", "_orientation"):
        x, y = getattr(a, attr, None), getattr(b, attr, None)
        if y is None:
            assert x is None, attr
        else:
            assert_allclose(x, y, rtol=1e-12, atol=1e-12 * np.abs(y).max())


@pytest.mark.parametrize("name", CONSTRAINED)
def test_m_step_stacked_is_each_runs_m_step(monkeypatch, name):
    # Several runs' M-steps side by side (one batched constraint and
    # factorisation) give each run's own M-step; a run whose inner iteration
    # goes on longer than the others' ends where it would alone.
    models, xa, resp, scatter = _three_runs(name)
    cls = COVARIANCE_MODELS[name]
    nk, s1c, stats = _stacked_statistics(models, xa, resp)
    stacked = cls.m_step_stacked(models, nk, s1c, stats, 1e-6, scatter)
    alone = _each_alone(models, nk, s1c, stats, 1e-6, scatter)
    assert len(stacked) == 3
    for a, b in zip(stacked, alone, strict=True):
        _assert_same_model(a, b)
    if name in ITERATIVE:
        # runs 0 and 1 stop within 6 inner steps (EVE, VVE: one sweep of
        # rotations), run 2 does not (7 sweeps uncapped, 3 by default)
        monkeypatch.setattr(covariance_module, "M_STEP_MAX_ITER", 6)
        monkeypatch.setattr(covariance_module, "ORIENTATION_SWEEPS", 2)
        capped = _each_alone(models, nk, s1c, stats, 1e-6, scatter)
        same = [
            np.array_equal(a.covariances, b.covariances)
            for a, b in zip(capped, alone, strict=True)
        ]
        assert same == [True, True, False]


@pytest.mark.parametrize(
    "name", [n for n in MCLUST_MODELS if n not in ("VII", "VVI", "EEE", "VVV")]
)
def test_batched_m_step_keeps_the_runs_that_do_not_collapse(monkeypatch, name):
    # Where one run collapses (here run 1's first component holds no row
    # and its statistics are 0 / 0: NaN, as an overflow leaves them), the
    # batched M-step of mclust's ten other models keeps the other runs'
    # models, which are each one's own M-step, and only the collapsed run is
    # computed alone, for its own error (scikit-learn's four give such a run
    # NaN parameters in the batch, which the run's checks report, or, tied,
    # fail the batch).
    models, xa, resp, scatter = _three_runs(name)
    K = models[0].n_components
    resp = resp.copy()
    resp[K] = 0.0
    nk, s1c, stats = _stacked_statistics(models, xa, resp)
    calls = []
    cls = type(models[0])
    m_step = cls.m_step

    def counting(self, *args, **kwargs):
        calls.append(self)
        return m_step(self, *args, **kwargs)

    with np.errstate(invalid="ignore", divide="ignore"):
        alone = _each_alone(models, nk, s1c, stats, 0.0, scatter)
        assert [isinstance(m, CollapseError) for m in alone] == [False, True, False]
        monkeypatch.setattr(cls, "m_step", counting)
        out = _m_steps(models, nk, s1c, stats, 0.0, scatter)
    assert calls == [models[1]]
    assert isinstance(out[1], CollapseError)
    assert str(out[1]) == str(alone[1])
    for s in (0, 2):
        _assert_same_model(out[s], alone[s])


def test_descending_eigh_of_a_stack_with_a_collapsed_run():
    # A run whose scatter is not finite gets NaN axes (its factorisation then
    # reports the collapse) where LAPACK fails the whole stack; the other
    # runs' axes are those of their matrices alone.
    from gmm_estimators._covariance import _descending_eigh

    rng = np.random.RandomState(0)
    a = rng.normal(size=(3, 4, 4))
    w = a @ np.swapaxes(a, -1, -2)
    w[1, 0, 0] = np.nan
    values, vectors = _descending_eigh(w)
    assert np.isnan(values[1]).all() and np.isnan(vectors[1]).all()
    for s in (0, 2):
        alone = _descending_eigh(w[s])
        assert_array_equal(values[s], alone[0])
        assert_array_equal(vectors[s], alone[1])


@pytest.mark.parametrize("name", CONSTRAINED)
def test_next_step_reads_the_m_steps_stacks(name):
    # The models of a batched M-step keep the stacks they are slices of
    # (_RunModels); the next E-step's stacked model and the next M-step read
    # them instead of gathering the runs' parameters again, and give the
    # same numbers, bit for bit, as from the runs' models in a plain list.
    models, xa, resp, scatter = _three_runs(name)
    cls = COVARIANCE_MODELS[name]
    nk, s1c, stats = _stacked_statistics(models, xa, resp)
    made = _m_steps(models, nk, s1c, stats, 1e-6, scatter)
    assert made.stacks  # kept through _m_steps
    plain = list(made)
    for key, value in made.stacks.items():
        assert_array_equal(value, np.stack([getattr(m, key) for m in plain]))
    a, b = cls.stack(made), cls.stack(plain)
    assert type(a) is type(b) and set(vars(a)) == set(vars(b))
    for attr, value in vars(b).items():
        if isinstance(value, np.ndarray):
            assert_array_equal(getattr(a, attr), value, err_msg=attr)
    nk, s1c, stats = _stacked_statistics(plain, xa, resp)
    for x, y in zip(
        _m_steps(made, nk, s1c, stats, 1e-6, scatter),
        _m_steps(plain, nk, s1c, stats, 1e-6, scatter),
        strict=True,
    ):
        for attr, value in vars(y).items():
            if isinstance(value, np.ndarray):
                assert_array_equal(getattr(x, attr), value, err_msg=attr)


@pytest.mark.parametrize("name", CONSTRAINED)
def test_m_step_stacked_with_a_collapsed_run(name):
    # Run 1's first component on one row, no regularisation: where its own
    # M-step raises, the batched one raises too (the engine then finds the
    # run); where it does not, the runs' models are each run's own.
    models, xa, resp, scatter = _three_runs(name, seed=1)
    resp[3] = 0.0
    resp[3, 0] = 1.0
    resp[4:6, 0] = 0.5
    nk, s1c, stats = _stacked_statistics(models, xa, resp)
    alone = _each_alone(models, nk, s1c, stats, 0.0, scatter)
    cls = COVARIANCE_MODELS[name]
    if any(isinstance(a, ValueError) for a in alone):
        with pytest.raises(ValueError):
            cls.m_step_stacked(models, nk, s1c, stats, 0.0, scatter)
    else:
        stacked = cls.m_step_stacked(models, nk, s1c, stats, 0.0, scatter)
        for a, b in zip(stacked, alone, strict=True):
            _assert_same_model(a, b)


#: The models whose M-step cannot build covariances from zero scatters.
NORMALISING = ("VEE", "EVE", "VVE", "VEV", "EVV")


def test_one_row_start_begins_at_the_features_scale():
    # The seeds of 'k-means++' and 'random_from_data' give each component one
    # row: a zero scatter, which the M-steps of VEE, EVE, VVE, VEV and EVV
    # cannot normalise (they failed with "non-finite covariance" on any
    # data).  Such a start's model has its means at the seed rows and the
    # features' variances (plus reg_covar) on a diagonal covariance; 'full'
    # keeps scikit-learn's reg_covar times the identity.
    X, _ = make_blobs(n_samples=60, centers=3, random_state=0)
    X[:, 1] *= 100.0
    seeds = np.array([3, 17, 42])
    labels = np.full(60, -1)
    labels[seeds] = np.arange(3)
    values = np.zeros(60)
    values[seeds] = 1.0
    source = _labels_source(labels, 3, X.dtype, values)
    reg = 1e-8
    for name in MCLUST_MODELS:
        cls = COVARIANCE_MODELS[name]
        blocks, scatter = fit_blocks(X, None, cls, cls.row_width(3, 2))
        model, weights = model_from_responsibilities(
            blocks, cls, source, None, reg, scatter
        )
        assert_allclose(model.means, X[seeds], rtol=1e-12)
        assert_allclose(weights, 1 / 60)
        dense = np.broadcast_to(
            dense_covariances(name, model.covariances, 3, 2), (3, 2, 2)
        )
        if name in NORMALISING:
            expected = np.diag(X.var(axis=0) + reg)
            assert_allclose(dense, np.broadcast_to(expected, (3, 2, 2)), rtol=1e-10)
        elif name == "VVV":
            assert_allclose(
                dense,
                np.broadcast_to(reg * np.eye(2), (3, 2, 2)),
                rtol=1e-6,
                atol=1e-20,
            )


@pytest.mark.parametrize("name", NORMALISING + ("EEI", "full"))
def test_stacked_starts_take_the_one_row_start_apart(name):
    # the starts of a search are made stacked (one pass, one M-step for
    # all): a one-row start among them gets the model it gets alone, and
    # the others theirs
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    labels = np.full(60, -1)
    labels[[3, 17, 42]] = np.arange(3)
    one_row = _labels_source(labels, 3, X.dtype, (labels >= 0).astype(float))
    partition = _labels_source(y, 3, X.dtype)
    cls = COVARIANCE_MODELS[name]
    blocks, scatter = fit_blocks(X, None, cls, cls.row_width(3, 2))
    stacked = models_from_responsibilities(
        blocks, cls, [partition, one_row, partition], None, 1e-8, scatter
    )
    for source, (model, weights) in zip(
        [partition, one_row, partition], stacked, strict=True
    ):
        alone, w_alone = model_from_responsibilities(
            blocks, cls, source, None, 1e-8, scatter
        )
        assert_allclose(weights, w_alone, rtol=1e-12)
        assert_allclose(model.means, alone.means, rtol=1e-10, atol=1e-12)
        assert_allclose(model.covariances, alone.covariances, rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
@pytest.mark.parametrize("n_components", [1, 4])
def test_one_row_starts_fit_every_model(init_params, n_components):
    # every model fits from the one-row starts, without a warning; with one
    # component the fit is unique, and the models with an orientation all
    # reach full's (the sample covariance)
    X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    params = dict(
        n_components=n_components,
        init_params=init_params,
        random_state=0,
        reg_covar=1e-10,
        tol=1e-10,
        max_iter=5000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        full = GaussianMixture(covariance_type="full", **params).fit(X)
        for name in MCLUST_MODELS:
            gm = GaussianMixture(covariance_type=name, **params).fit(X)
            assert gm.converged_ and np.isfinite(gm.lower_bound_)
            if n_components == 1 and name[2] != "I":
                assert gm.lower_bound_ == pytest.approx(full.lower_bound_, rel=1e-10)


#: R's ``morley`` (Michelson's speed of light, 1879): the run number (1..20,
#: five experiments) and the speed (km/s minus 299000).
MORLEY_SPEED = [
    850, 740, 900, 1070, 930, 850, 950, 980, 980, 880, 1000, 980, 930, 650, 760,
    810, 1000, 1000, 960, 960, 960, 940, 960, 940, 880, 800, 850, 880, 900, 840,
    830, 790, 810, 880, 880, 830, 800, 790, 760, 800, 880, 880, 880, 860, 720,
    720, 620, 860, 970, 950, 880, 910, 850, 870, 840, 840, 850, 840, 840, 840,
    890, 810, 810, 820, 800, 770, 760, 740, 750, 760, 910, 920, 890, 860, 880,
    720, 840, 850, 850, 780, 890, 840, 780, 810, 760, 810, 790, 810, 820, 850,
    870, 870, 810, 740, 810, 940, 950, 800, 810, 870,
]  # fmt: skip


def test_a_run_at_the_edge_of_collapse_in_the_compiled_loop_is_a_failed_run():
    # EVV with six components on R's morley: one start's last covariance in
    # the compiled loop passed the loop's factorisation but not numpy's, and
    # the error escaped the fit (and the selector's cell ended 0.96 BIC
    # worse than mclust's); that run now fails alone, and the fit reaches
    # mclust's EVV,6 (mclust 6.0.0 mclustBIC: -1873.6566)
    X = np.column_stack([np.tile(np.arange(1.0, 21.0), 5), MORLEY_SPEED])
    gm = default_estimator().set_params(
        n_components=6, covariance_type="EVV", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        gm.fit(X)
    assert not gm.degenerate_
    assert gm.bic(X) <= 1873.6566 + 0.5


def test_a_collapsing_start_raises_a_clear_error_and_no_warning():
    # VEV's M-step from a start with a component of one row among regular
    # ones (the scatter of that one is zero: volume times shape overflowed,
    # and a RuntimeWarning leaked out of the default search) reports the
    # collapse as an error
    X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    labels = np.zeros(300, dtype=int)
    labels[150:] = 1
    labels[0] = 2
    resp = np.eye(3)[labels]
    model = VEVCovariance.reference(np.zeros((3, 2)), np.zeros(2))
    xa = np.hstack([X, np.ones((300, 1))])
    nk, s1c, stats = _stacked_statistics([model], xa, resp.T)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="non-finite covariance"):
            VEVCovariance.m_step_stacked([model], nk, s1c, stats, 1e-10, None)


def test_vei_collapsing_start_raises_a_clear_error_and_no_warning():
    # VEI's M-step from a start with a one-row component (scatter of
    # rounding noise, 1e-17) and a feature whose variance is zero or
    # subnormal in every component: the fixed point's volumes divided by a
    # subnormal shape overflowed, and the RuntimeWarning leaked out of the
    # default search on scikit-learn's diabetes data (its 0/1 sex column);
    # the models' check then reported the collapse, as it still does
    values = np.array([[1.299e-310, 0.0, 1.281], [0.6183, 1.140e-17, 0.6434]])
    model = VEICovariance.reference(np.zeros((2, 3)), np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="component 0 is not positive definite"):
            VEICovariance.m_step_stacked(
                [model], np.array([30.0, 1.0]), np.zeros((2, 3)), {"sq": values}, 1e-10
            )


@pytest.mark.parametrize("name", ("VEI", "VEE", "VEV"))
def test_volume_fixed_point_is_exact_from_a_partition(monkeypatch, name):
    # An M-step from responsibilities (the start of a run) runs the volumes'
    # fixed point to convergence, whatever the cap on the steps it takes
    # from a previous model's volumes inside EM.
    X = load_iris().data
    labels = np.repeat(np.arange(3), 50)
    exact = initial_parameters(X, labels, name, reg_covar=0.0)
    monkeypatch.setattr(covariance_module, "VOLUME_STEPS", 1)
    capped = initial_parameters(X, labels, name, reg_covar=0.0)
    for a, b in zip(capped, exact, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ("VEI", "VEE", "VEV"))
def test_capped_volume_steps_reach_the_same_optimum(monkeypatch, name):
    # Inside EM the fixed point takes at most VOLUME_STEPS steps from the
    # previous volumes (a generalised EM step): the likelihood still rises at
    # every iteration, and EM ends where M-steps run to convergence take it
    # (on iris, to 1e-12 relative, in as many EM iterations or up to a third
    # more), with 3 to 9 times fewer inner steps.
    X = load_iris().data
    labels = np.repeat(np.arange(3), 50)
    w, m, p = initial_parameters(X, labels, name, reg_covar=0.0)
    steps = []
    fixed_point = covariance_module._stopped

    def counted(new, lam):
        steps.append(1)
        return fixed_point(new, lam)

    monkeypatch.setattr(covariance_module, "_stopped", counted)
    compiled = _kernels.enabled()

    def fit(cap, kernels=False):
        # the steps are counted on numpy's path (the compiled fixed points,
        # used where numba is installed, do not call _stopped)
        monkeypatch.setattr(_kernels, "enabled", lambda: kernels)
        monkeypatch.setattr(covariance_module, "VOLUME_STEPS", cap)
        steps.clear()
        gm = GaussianMixture(
            3,
            covariance_type=name,
            weights_init=w,
            means_init=m,
            precisions_init=p,
            tol=1e-12,
            max_iter=3000,
        ).fit(X)
        return gm, len(steps)

    exact, exact_steps = fit(covariance_module.M_STEP_MAX_ITER)
    capped, capped_steps = fit(2)
    assert capped.converged_ and exact.converged_
    bounds = np.asarray(capped.lower_bounds_)
    assert np.diff(bounds).min() >= -1e-12 * np.abs(bounds).max()
    assert_allclose(capped.lower_bound_, exact.lower_bound_, rtol=1e-10)
    assert_allclose(capped.means_, exact.means_, rtol=1e-5, atol=1e-6)
    assert capped.n_iter_ <= 1.5 * exact.n_iter_
    assert 2 * capped_steps < exact_steps, (capped_steps, exact_steps)
    if compiled:  # the compiled fixed points, capped, end there too
        fast, _ = fit(2, kernels=True)
        assert fast.converged_
        assert_allclose(fast.lower_bound_, exact.lower_bound_, rtol=1e-10)
        assert_allclose(fast.means_, exact.means_, rtol=1e-5, atol=1e-6)


def test_separable_models_have_no_batched_m_step():
    # full, diag and spherical: the stacked model's M-step is the runs'
    for name in ("VVV", "VVI", "VII"):
        cls = COVARIANCE_MODELS[name]
        assert cls.stack_class is cls
        assert cls.m_step_stacked([], None, None, {}, 0.0) is None


# -- exactness against mclust ------------------------------------------------------------------

DATASETS = ("iris", "faithful", "wine", "banknote")

#: EM cases where ours ends higher than ``me()`` by more than 1e-6 relative:
#: VVE (mclust's M-step is not the maximiser).  (EVE on wine with K=2 was one
#: while this M-step's orientation came from 20 majorisation steps, short of
#: the optimum: EM went on past ``me()``'s -3212.678 to -3199.896.  With the
#: rotations, whose M-step is the maximiser, EM stops where ``me()`` does, to
#: 2e-10 relative.)
EM_BETTER = {(data, "VVE", K) for data in DATASETS for K in ("2", "3")}


def _cases():
    for data in DATASETS:
        for name in MCLUST_MODELS:
            for K in ("2", "3"):
                yield data, name, K


CASES = [pytest.param(*c, id="-".join(c)) for c in _cases()]


@pytest.fixture(scope="module")
def ref_data(reference):
    out = {}
    for data in DATASETS:
        entry = reference["datasets"][data]
        out[data] = (np.array(entry["X"], dtype=np.float64), entry)
    return out


def _vee_fixed_point(counts, scatters, n_iter=300):
    """VEE's M-step by Celeux & Govaert's fixed point, run far past convergence:
    ``C`` proportional to ``sum_k W_k / lambda_k`` (det 1), then
    ``lambda_k = tr(W_k C^-1) / (N_k d)``."""
    d = scatters.shape[1]
    lam = np.trace(scatters, axis1=1, axis2=2) / (counts * d)
    for _ in range(n_iter):
        c = (scatters / lam[:, None, None]).sum(axis=0)
        c /= np.exp(np.linalg.slogdet(c)[1] / d)
        lam = np.einsum("kij,ji->k", scatters, np.linalg.inv(c)) / (counts * d)
    return lam[:, None, None] * c


@pytest.mark.parametrize("data, name, K", CASES)
def test_mstep_matches_mclust(ref_data, monkeypatch, data, name, K):
    """One M-step from mclust's partition (``mstep(modelName, data, unmap(z))``).

    Weights and means agree to 1e-12; the covariances to 1e-8 in every
    direction and the log-likelihood at the M-step's parameters to 1e-10,
    except for VEE (mclust's covariances are ~1e-6 from the fixed point: the
    M-step objective agrees to 1e-12, ours is the fixed point to 1e-10), EVE
    (rotations to convergence: the objective agrees to 3e-8) and VVE (mclust's is not
    the maximiser: ours must be at least as high)."""
    X, entry = ref_data[data]
    ref = entry["mstep"][name][K]
    assert not ref.get("failed"), ref.get("reason")
    k, d = int(K), X.shape[1]
    labels = np.asarray(entry["partitions"][K])
    if name in ("EVE", "VVE"):  # the rotations to convergence
        monkeypatch.setattr(covariance_module, "ORIENTATION_SWEEPS", 10**6)
    w, m, p = initial_parameters(X, labels, name, reg_covar=0.0)
    sigma = _covariances_from_precisions(name, p, k, d)
    ref_sigma = np.asarray(ref["sigma"])
    assert_allclose(w, ref["pro"], rtol=1e-12)
    assert _relative(m, ref["mean"]) < 1e-12
    counts, _, scatters = _scatters(X, labels, k)
    ours_q = _mstep_objective(counts, scatters, sigma)
    mclust_q = _mstep_objective(counts, scatters, ref_sigma)

    if name == "VEE":
        assert _whitened_error(sigma, ref_sigma) < 2e-6
        assert abs(ours_q - mclust_q) <= 1e-12 * abs(mclust_q)
        assert _whitened_error(sigma, _vee_fixed_point(counts, scatters)) < 1e-10
    elif name == "EVE":
        assert abs(ours_q - mclust_q) <= 3e-8 * abs(mclust_q), (ours_q, mclust_q)
        assert _whitened_error(sigma, ref_sigma) < 2e-3
    elif name == "VVE":
        assert ours_q >= mclust_q - 1e-12 * abs(mclust_q), (ours_q, mclust_q)
    else:
        assert _whitened_error(sigma, ref_sigma) < 1e-8
        # the log-likelihood at the M-step's parameters, by our E-step
        gm = GaussianMixture(
            k,
            covariance_type=name,
            weights_init=w,
            means_init=m,
            precisions_init=p,
            max_iter=0,
        ).fit(X)
        assert_allclose(gm.score(X) * len(X), ref["loglik"], rtol=1e-10)


def _common_orientation_optimum(name, counts, scatters, n_grid=2001):
    """EVE's or VVE's M-step in two dimensions, by brute force: the rotation
    ``D(theta)`` is one angle, and given it the volumes and shapes have closed
    forms (``E_k = diag(D^T W_k D)``; EVE: ``lambda = sum_k |E_k|^(1/2) / n``,
    VVE: ``lambda_k = |E_k|^(1/2) / N_k``).  The best angle on a fine grid over
    a half turn, refined by a bounded scalar search; returns the covariances."""
    from scipy.optimize import minimize_scalar

    def covariances(theta):
        c, s = np.cos(theta), np.sin(theta)
        rot = np.array([[c, -s], [s, c]])
        e = np.einsum("ji,kjl,li->ki", rot, scatters, rot)
        g = np.sqrt(e.prod(axis=1))
        lam = np.full(len(e), g.sum() / counts.sum()) if name == "EVE" else g / counts
        return np.array(
            [
                rot @ np.diag(lk * ek / gk) @ rot.T
                for lk, ek, gk in zip(lam, e, g, strict=True)
            ]
        )

    def loss(theta):
        return -_mstep_objective(counts, scatters, covariances(theta))

    grid = np.linspace(0.0, np.pi, n_grid)
    best = grid[np.argmin([loss(t) for t in grid])]
    step = grid[1] - grid[0]
    found = minimize_scalar(
        loss,
        bounds=(best - step, best + step),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return covariances(found.x)


@pytest.mark.parametrize("name", ["EVE", "VVE"])
@pytest.mark.parametrize("seed", range(4))
def test_common_orientation_m_step_is_the_maximiser(name, seed):
    """In two dimensions the common orientation is one angle: the M-step's
    rotations (by default, a few sweeps from the pooled scatter's axes) reach
    the brute-force maximum of the M-step objective to 1e-12 relative, on
    faithful with random partitions."""
    X = np.loadtxt(REFERENCE.parent / "faithful.csv", delimiter=",", skiprows=1)
    K = 3
    labels = np.random.RandomState(seed).randint(K, size=len(X))
    counts, _, scatters = _scatters(X, labels, K)
    _, _, p = initial_parameters(X, labels, name, reg_covar=0.0)
    ours = _mstep_objective(
        counts, scatters, _covariances_from_precisions(name, p, K, 2)
    )
    best = _mstep_objective(
        counts, scatters, _common_orientation_optimum(name, counts, scatters)
    )
    assert ours >= best - 1e-12 * abs(best), (ours, best)


def test_rotation_sweep_does_not_turn_on_rounding_noise(monkeypatch):
    """A plane where the objective does not depend on the angle (equal
    scatters along both axes) but for rounding noise is not turned: the
    angle would be the noise's, and stacked and lone runs would part ways
    (``_FLAT_TURN``)."""
    S, K, d = 1, 2, 3
    orientation = np.eye(d)[None]
    noise = 1e-18 * np.random.RandomState(0).normal(size=(S, K, d, d))
    m = np.eye(d) + (noise + np.swapaxes(noise, -1, -2))
    b = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (S, K, d))
    frozen = np.zeros(S, dtype=bool)
    new, turn = covariance_module._rotation_sweep(orientation, m, b, frozen)
    assert_array_equal(new, orientation)
    assert_array_equal(turn, 0.0)
    # the guard is what keeps it still: without it the noise turns the axes
    # by a large angle, which one depends on the platform's rounding (pi/4
    # with numpy 2.4, pi/2 with numpy 1.23)
    monkeypatch.setattr(covariance_module, "_FLAT_TURN", 0.0)
    _, turn = covariance_module._rotation_sweep(orientation, m, b, frozen)
    assert turn[0] > 0.5


def _sweep_inputs(S, K, d, seed=0):
    rng = np.random.RandomState(seed)
    orientation = np.linalg.qr(rng.standard_normal((S, d, d)))[0]
    a = rng.standard_normal((S, K, d, d))
    m = a @ np.swapaxes(a, -1, -2)
    b = rng.uniform(0.1, 2.0, (S, K, d))
    frozen = np.arange(S) % 3 == 1
    return orientation, m, b, frozen


@pytest.mark.parametrize(
    "S, K, d", [(2, 2, 1), (1, 2, 2), (3, 4, 5), (4, 3, 13), (2, 5, 30)]
)
def test_compiled_rotation_sweep_is_numpys(monkeypatch, S, K, d):
    """The compiled sweep (numba) turns the axes as numpy's products with
    each round's rotation matrix do, to rounding (entries of orthogonal
    matrices: 1e-12 absolute, measured up to 1.2e-14 at d = 13); a frozen
    run does not move at all, and a run alone ends exactly where it ends
    stacked with others."""
    from gmm_estimators import _kernels

    if not _kernels.enabled():
        pytest.skip("numba is not installed (or GMM_ESTIMATORS_NUMBA=0)")
    args = _sweep_inputs(S, K, d)
    before = [a.copy() for a in args]
    compiled, turn = covariance_module._rotation_sweep(*args)
    for a, b in zip(args, before, strict=True):
        assert_array_equal(a, b)  # inputs untouched
    alone = [
        covariance_module._rotation_sweep(*(a[s : s + 1] for a in args))
        for s in range(S)
    ]
    assert_array_equal(np.concatenate([o for o, _ in alone]), compiled)
    assert_array_equal(np.concatenate([t for _, t in alone]), turn)
    frozen = args[3]
    assert_array_equal(compiled[frozen], args[0][frozen])
    assert_array_equal(turn[frozen], 0.0)
    monkeypatch.setattr(_kernels, "enabled", lambda: False)
    reference, reference_turn = covariance_module._rotation_sweep(*args)
    assert_allclose(compiled, reference, rtol=0, atol=1e-12)
    assert_allclose(turn, reference_turn, rtol=0, atol=1e-12)
    assert (turn[~frozen] > 0).all() or d == 1  # one feature: nothing to turn


@pytest.mark.parametrize("name", ["EVE", "VVE"])
def test_common_orientation_fit_is_the_same_with_or_without_numba(monkeypatch, name):
    """EM with the compiled kernels ends where EM with numpy's does (wine,
    13 features, from the same start): the same iterations, and the lower
    bound within the fit's ``tol`` and the means within 1e-4 (both runs stop
    when a step gains less than ``tol``, on paths that differ by rounding:
    measured identical with numpy 2.4; 8e-8 and 1e-5 with numpy 1.23 and
    scipy 1.9, whose LAPACK differs from numba's)."""
    from gmm_estimators import _kernels

    if not _kernels.enabled():
        pytest.skip("numba is not installed (or GMM_ESTIMATORS_NUMBA=0)")
    X = StandardScaler().fit_transform(load_wine().data)
    params = dict(n_components=3, covariance_type=name, random_state=0, tol=1e-6)
    compiled = GaussianMixture(**params).fit(X)
    monkeypatch.setattr(_kernels, "enabled", lambda: False)
    reference = GaussianMixture(**params).fit(X)
    assert compiled.n_iter_ == reference.n_iter_
    assert compiled.lower_bound_ == pytest.approx(reference.lower_bound_, abs=1e-6)
    assert_allclose(compiled.means_, reference.means_, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", ["EVE", "VVE"])
def test_compiled_mclust_m_step_is_numpys(monkeypatch, name):
    """mclust's EVE and VVE M-step (the inner majorisation-minimisation
    steps) compiled by numba gives numpy's covariances, orientation and
    shapes, to rounding amplified by the steps (1e-9 relative; measured
    1e-12), from the identity and from a previous M-step's orientation, and
    the same error where mclust's M-step fails.  The orientation's axes are
    compared up to their signs, which the singular value decompositions of
    numba's LAPACK and numpy's may choose apart (they did with numpy 1.23
    and scipy 1.9): the covariances and the next M-step do not depend on
    them."""
    from gmm_estimators import _kernels

    if not _kernels.enabled():
        pytest.skip("numba is not installed (or GMM_ESTIMATORS_NUMBA=0)")
    cls = COVARIANCE_MODELS[name].mclust_path
    X = StandardScaler().fit_transform(load_wine().data)
    K, d = 3, X.shape[1]
    labels = np.random.RandomState(0).randint(K, size=len(X))
    nk, _, scatters = _scatters(X, labels, K)
    w, nk = scatters[None], np.asarray(nk, dtype=float)[None]
    model = cls.reference(np.zeros((K, d)), np.zeros(d))

    def both(models, w):
        compiled = cls._constrain(models, w, nk)
        with monkeypatch.context() as patch:
            patch.setattr(_kernels, "enabled", lambda: False)
            reference = cls._constrain(models, w, nk)
        cov, ref_cov = compiled[0], reference[0]
        assert_allclose(cov, ref_cov, rtol=1e-9, atol=1e-12 * np.abs(ref_cov).max())
        # axes (columns) up to their signs
        o, ref_o = compiled[1], reference[1]
        signs = np.sign(np.einsum("sij,sij->sj", o, ref_o))
        assert_allclose(o * signs[:, None, :], ref_o, rtol=0, atol=1e-9)
        assert_allclose(compiled[2][1], reference[2][1], rtol=1e-9)
        return compiled

    cov, orientation, (_, shapes) = both([model], w)
    model._orientation, model._mm_shapes = orientation[0], shapes[0]
    both([model], w * 1.1)  # a next M-step, from this one's orientation
    # a component's scatter singular (below mclust's threshold): its error
    singular = w.copy()
    singular[0, 0] = 0.0
    for enabled in (True, False):
        monkeypatch.setattr(_kernels, "enabled", lambda e=enabled: e)
        with pytest.raises(ValueError, match="scatter has an eigenvalue below"):
            cls._constrain([cls.reference(np.zeros((K, d)), np.zeros(d))], singular, nk)


@pytest.mark.parametrize("name", ["EVE", "VVE"])
def test_rotations_start_from_the_previous_orientation_on_a_tie(name):
    """Isotropic scatters: every orientation is optimal, and the M-step's
    rotations start from (and keep) the previous M-step's orientation, not
    whichever start rounding favours (``_START_TIE``)."""
    X = load_iris().data
    gm = GaussianMixture(2, covariance_type=name, random_state=0).fit(X)
    model = gm._get_model(X.mean(axis=0))
    d = X.shape[1]
    q, _ = np.linalg.qr(np.random.RandomState(1).normal(size=(d, d)))
    model._orientation = q
    w = np.broadcast_to(3.0 * np.eye(d), (1, 2, d, d)).copy()
    nk = np.array([[3.0, 3.0]])
    start = type(model)._start_orientation([model], w, nk)
    assert_array_equal(start[0], q)


@pytest.mark.parametrize("data, name, K", CASES)
def test_em_matches_mclust(ref_data, data, name, K):
    """EM from mclust's partition (``me()`` with tol 1e-10) reaches mclust's
    log-likelihood to 1e-6 relative, or a higher one where mclust stops early
    or its M-step is not the maximiser (``EM_BETTER``); the parameter count,
    and so BIC, are mclust's."""
    X, entry = ref_data[data]
    ref = entry["me"][name][K]
    assert not ref.get("failed"), ref.get("reason")
    k, n = int(K), len(X)
    labels = np.asarray(entry["partitions"][K])
    w, m, p = initial_parameters(X, labels, name, reg_covar=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gm = GaussianMixture(
            k,
            covariance_type=name,
            weights_init=w,
            means_init=m,
            precisions_init=p,
            reg_covar=0.0,
            tol=1e-11,
            max_iter=5000,
        ).fit(X)
    loglik, theirs = gm.score(X) * n, ref["loglik"]
    assert gm.n_parameters_ == ref["npar"]
    assert loglik >= theirs - 1e-6 * abs(theirs), (loglik, theirs)
    if (data, name, K) in EM_BETTER:
        assert loglik > theirs + 1e-6 * abs(theirs), (loglik, theirs)
    else:
        assert loglik <= theirs + 1e-6 * abs(theirs), (loglik, theirs)
    # mclust's BIC is 2 loglik - npar log(n), higher is better; ours the negative
    assert_allclose(-gm.bic(X), 2 * loglik - ref["npar"] * np.log(n), rtol=1e-12)
    assert -gm.bic(X) >= ref["bic"] - 2e-6 * abs(theirs)


# -- mclust's own M-step for EVE and VVE: the 'hc' run that follows mclust's path --

PATH_CASES = [
    pytest.param(*c, id="-".join(c)) for c in _cases() if c[1] in ("EVE", "VVE")
]
#: ... but EM on wine with VVE,3, which takes 2672 steps of ``me()`` (10 s).
PATH_EM_CASES = [p for p in PATH_CASES if p.values != ("wine", "VVE", "3")]


def _mclust_path_em(X, labels, name, K, tol):
    """The first M-step from a partition and the EM run after it, both with
    mclust's M-step (the class ``mclust_path`` of the model, which a fit
    from 'hc' runs besides its own), as a fit runs them (no EM run when
    ``tol`` is None)."""
    cls = COVARIANCE_MODELS[name].mclust_path
    gm = GaussianMixture(
        K, covariance_type=name, reg_covar=0.0, max_iter=20000, tol_relative=True
    )
    blocks, scatter = fit_blocks(X, None, cls, gm._fit_row_width(X.shape[1]))
    first, weights = model_from_responsibilities(
        blocks, cls, _labels_source(labels, K, X.dtype), None, 0.0, scatter
    )
    run = _Run(first, weights, -np.inf)
    if tol is not None:
        gm._iterate(run, blocks, None, scatter, tol)
    return first, run


def test_mclust_path_is_only_eve_and_vve():
    for name in MCLUST_MODELS:
        cls = COVARIANCE_MODELS[name]
        if name in ("EVE", "VVE"):
            assert issubclass(cls.mclust_path, cls)
            assert cls.mclust_path.name == name
        else:
            assert cls.mclust_path is None


@pytest.mark.parametrize("data, name, K", PATH_CASES)
def test_mclust_path_mstep_matches_mclust(ref_data, monkeypatch, data, name, K):
    """mclust's M-step for EVE and VVE (Browne & McNicholas's MM steps from
    the identity, as ``meeve``/``mevve``) from mclust's partition gives
    ``mstep()``'s covariances: the same steps from the same start to the
    same stopping rule (the reference's inner tolerance, 1e-12).  Agreement
    to 1e-10 in every direction, but 1e-6 on wine (d = 13, where the slow MM
    steps carry rounding further: 2.3e-7 measured for VVE, and for EVE 1.9e-7
    with the compiled steps on numpy 1.23 and scipy 1.9, whose LAPACK is not
    numba's)."""
    monkeypatch.setattr(covariance_module, "MM_TOL", 1e-12)
    monkeypatch.setattr(covariance_module, "MM_MAX_ITER", 10**6)
    X, entry = ref_data[data]
    labels = np.asarray(entry["partitions"][K])
    first, _ = _mclust_path_em(X, labels, name, int(K), tol=None)
    error = _whitened_error(
        first.covariances, np.asarray(entry["mstep"][name][K]["sigma"])
    )
    assert error < (1e-6 if data == "wine" else 1e-10), error


@pytest.mark.parametrize("data, name, K", PATH_EM_CASES)
def test_mclust_path_em_matches_mclust(ref_data, monkeypatch, data, name, K):
    """EM with mclust's M-step from mclust's partition reaches ``me()``'s
    log-likelihood to 1e-8 relative, VVE included, where EM with the exact
    M-step ends higher (``EM_BETTER``): the package reproduces mclust's EM
    for both models, not only its optimum.  (``me()`` stopped at a relative
    change of 1e-10 of the total log-likelihood; the run here at 1e-10 of
    its mean, tighter.)  VVE on wine to 1e-6: its steps are slow there
    (d = 13), and with mclust's M-step, which is not the maximiser, EM is no
    longer an ascent, so where two runs stop is not ordered."""
    monkeypatch.setattr(covariance_module, "MM_TOL", 1e-12)
    monkeypatch.setattr(covariance_module, "MM_MAX_ITER", 10**6)
    X, entry = ref_data[data]
    labels = np.asarray(entry["partitions"][K])
    _, run = _mclust_path_em(X, labels, name, int(K), tol=1e-10)
    ref = entry["me"][name][K]["loglik"]
    assert run.converged
    rtol = 1e-6 if (data, name) == ("wine", "VVE") else 1e-8
    assert_allclose(run.lower_bound * len(X), ref, rtol=rtol)


#: R's ``LakeHuron``: the level of Lake Huron in feet, 1875-1972.
LAKE_HURON = [
    580.38, 581.86, 580.97, 580.8, 579.79, 580.39, 580.42, 580.82, 581.4,
    581.32, 581.44, 581.68, 581.17, 580.53, 580.01, 579.91, 579.14, 579.16,
    579.55, 579.67, 578.44, 578.24, 579.1, 579.09, 579.35, 578.82, 579.32,
    579.01, 579.0, 579.8, 579.83, 579.72, 579.89, 580.01, 579.37, 578.69,
    578.19, 578.67, 579.55, 578.92, 578.09, 579.37, 580.13, 580.14, 579.51,
    579.24, 578.66, 578.86, 578.05, 577.79, 576.75, 576.75, 577.82, 578.64,
    580.58, 579.48, 577.38, 576.9, 576.94, 576.24, 576.84, 576.85, 576.9,
    577.79, 578.18, 577.51, 577.23, 578.42, 579.61, 579.05, 579.26, 579.22,
    579.38, 579.1, 577.95, 578.12, 579.75, 580.85, 580.41, 579.96, 579.61,
    578.76, 578.18, 577.21, 577.13, 579.1, 578.25, 577.91, 576.89, 575.96,
    576.8, 577.68, 578.38, 578.52, 579.74, 579.31, 579.89, 579.96,
]  # fmt: skip


def _lake_huron_with_change():
    x = np.array(LAKE_HURON)
    return np.column_stack([x[1:], np.diff(x)])


@pytest.mark.parametrize(
    "data, name, K, mclust_bic",
    [
        # mclust 6.0.0, mclustBIC(X, G = 1:9) (benchmarks/mclust_family_panel.R
        # on benchmarks/mclust_reference_more.R's sixth panel: iris_petal =
        # iris[, 3:4], LakeHuron2 = LakeHuron with its yearly change)
        ("iris_petal", "VVE", 7, -400.882528555777),
        ("LakeHuron2", "VVE", 9, -669.03125468504),
    ],
)
def test_fit_from_hc_reaches_mclusts_vve_cell(data, name, K, mclust_bic):
    """From mclust's start ('hc', the cuts of mclust's tree) EM with the
    exact M-step ends lower than mclust's fit on these cells (iris petal
    VVE,7 at 402.571, LakeHuron VVE,9 at 679.27, degenerate with 2.94
    effective points); the run with mclust's M-step that the fit adds ends
    where mclust's ends (BIC to 0.01: mclust stops at a relative change of
    1e-5), and the fit keeps it.  The fit is the selector's, from 'hc' only."""
    X = load_iris().data[:, 2:] if data == "iris_petal" else _lake_huron_with_change()
    gm = default_estimator().set_params(
        n_components=K, covariance_type=name, init_params="hc", n_init=1
    )
    gm.fit(X)
    assert gm.degenerate_ == ""
    assert_allclose(gm.bic(X), -mclust_bic, atol=0.01)


@pytest.mark.parametrize("name, instead", [("E", "EII"), ("V", "VII")])
def test_univariate_names_need_one_feature(small_blobs, name, instead):
    # mclust's univariate names on several features: a clear error naming
    # the multivariate model
    X, _ = small_blobs
    with pytest.raises(ValueError, match=f"one feature.*'{instead}'"):
        GaussianMixture(2, covariance_type=name).fit(X)


@pytest.mark.parametrize(
    "data, n_components, model, k, mclust_bic",
    [
        # mclust 6.0.0's Mclust(iris[, 1:4]) and Mclust(faithful): VEV,2 and
        # EEE,3 (tests/data/mclust_models_reference.json, "choice"); iris's
        # grid is cut to the numbers of components around the choice
        ("iris", [1, 2, 3], "VEV", 2, 561.7285),
        # all of K = 1..9 on faithful: a collapsed VEV,6 must not win (it did
        # when reg_covar regularised the scatters before the constraint)
        ("faithful", 9, "EEE", 3, 2314.3163),
    ],
)
def test_selector_over_the_family_chooses_mclusts_model(
    reference, data, n_components, model, k, mclust_bic
):
    # the default grid ("auto") is mclust's fourteen models
    X = np.asarray(reference["datasets"][data]["X"], dtype=float)
    selector = GaussianMixtureSelector(n_components=n_components, random_state=0).fit(X)
    assert set(selector.cv_results_["param_covariance_type"]) == set(MCLUST_MODELS)
    assert (selector.covariance_type_, selector.n_components_) == (model, k)
    assert selector.best_score_ <= mclust_bic + 0.5
    assert selector.best_score_ == pytest.approx(mclust_bic, abs=0.5)
    if n_components == 9:
        # and no cell worse than mclustBIC's by more than 0.5: EVV,7 and EVV,8
        # were (by 0.74 and 4.42) while the second round restarted each
        # candidate from the partitions of the best four candidates of its
        # number of components; from the best eight they are found
        table = reference["datasets"][data]["bic_table"]
        worse = [
            (p["covariance_type"], p["n_components"], round(bic, 2))
            for p, bic in zip(
                selector.cv_results_["params"],
                selector.cv_results_["bic"],
                strict=True,
            )
            if (theirs := table[p["covariance_type"]][p["n_components"] - 1])
            is not None
            and bic + theirs > 0.5
        ]
        assert worse == []
        # and no regular fit below a regular fit of a type it holds with the
        # same number of components (six such cells, from EEI,9 < EEE,9 to
        # VVI,9 < VVE,9, before the third round restarted them)
        results = selector.cv_results_
        regular = {
            (p["covariance_type"], p["n_components"]): ll
            for p, ll, why in zip(
                results["params"],
                results["log_likelihood"],
                results["degenerate"],
                strict=True,
            )
            if not why
        }
        below = [
            (inner, outer, k)
            for (outer, k), ll in regular.items()
            for (inner, k2), ll_inner in regular.items()
            if k2 == k
            and nested_in(inner, outer)
            and ll < ll_inner - 1e-10 * abs(ll_inner)
        ]
        assert below == []


def test_mclusts_first_m_step_may_take_more_inner_steps():
    # R's USJudgeRatings (43 x 12), EVE with two components from mclust's
    # tree: the first M-step, from the identity, takes 1000-3000 inner MM
    # steps. Capped at 1000 it failed, the run from mclust's path was given
    # up and the fit ended at BIC 222.78; mclust 6.0.0's mclustBIC: -212.3893.
    X = np.loadtxt(REFERENCE.parent / "USJudgeRatings.csv", delimiter=",", skiprows=1)
    gm = default_estimator().set_params(
        n_components=2, covariance_type="EVE", init_params="hc", n_init=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    assert gm.degenerate_ == ""
    assert gm.bic(X) == pytest.approx(212.3893, abs=1e-3)


#: Cells of search="mclust" worse than mclustBIC's by more than 0.5 on the
#: reference data (mclust 6.0.0): wine's EEV with 7, 8 and 9 components. From
#: the same partition (our tree's cuts are mclust's: adjusted Rand index 1),
#: a component of 3 rows holds a 13-dimensional orientation: its scatter's
#: null space leaves the M-step's orientation there to rounding, and our EM
#: and mclust's part ways (ours ends degenerate, at 8590.0 against mclust's
#: 8514.5 for K=7). The thorough search finds regular fits better than both
#: (8242.0).
MCLUST_SEARCH_EXCEPTIONS = {"wine": {("EEV", 7), ("EEV", 8), ("EEV", 9)}}


@pytest.mark.parametrize("data", ["iris", "faithful", "wine", "banknote"])
def test_mclust_search_matches_mclusts_table(reference, data):
    # search="mclust" fits each cell once from mclust's start, as mclustBIC
    # does: every cell of the fourteen models' table (K = 1..9) is at least
    # mclust's to 0.5 (but the cells above), and the choice is mclust's or
    # better (wine: VVE,3 at 6839.79 against mclust's 6849.39, whose VVE
    # M-step is not the maximiser)
    entry = reference["datasets"][data]
    X = np.asarray(entry["X"], dtype=float)
    selector = GaussianMixtureSelector(
        n_components=9, search="mclust", random_state=0
    ).fit(X)
    table = entry["bic_table"]
    worse = {
        (p["covariance_type"], p["n_components"])
        for p, bic in zip(
            selector.cv_results_["params"], selector.cv_results_["bic"], strict=True
        )
        if (theirs := table[p["covariance_type"]][p["n_components"] - 1]) is not None
        and not bic + theirs <= 0.5
    }
    assert worse == MCLUST_SEARCH_EXCEPTIONS.get(data, set())
    choice = entry["choice"]
    assert (selector.covariance_type_, selector.n_components_) == (
        choice["model"],
        choice["K"],
    )
    assert selector.best_score_ <= -choice["bic"] + 0.5


@pytest.mark.parametrize("name", ["EVE", "VVE"])
def test_common_orientation_component_needs_d_plus_one_points(name):
    # One shared orientation, own shapes: a component with d points has a
    # singular scatter, the shared orientation can turn one axis into its
    # null space and the component's shape shrinks there without bound (on
    # wine, EVE with four components chose a 13-point component in 13
    # dimensions at BIC 6692 against 6815 for the best regular fit).  Such a
    # fit is degenerate: the component has fewer than d + 1 effective points.
    rng = np.random.RandomState(0)
    d = 3
    X = np.vstack(
        [
            rng.normal(size=(100, d)) @ rng.normal(size=(d, d)),
            rng.normal(size=(100, d)) @ rng.normal(size=(d, d)) + 12.0,
            rng.normal(size=(d, d)) * 0.5 - 12.0,  # d points far away
        ]
    )
    means = np.array([X[:100].mean(0), X[100:200].mean(0), X[200:].mean(0)])
    # seeded: the weights and covariances of the start come from k-means (as
    # in scikit-learn); unseeded, the test drew from the global state, and
    # for 5 of 300 seeds EM ends at a regular fit with a 6-point component
    gm = GaussianMixture(
        3, covariance_type=name, means_init=means, max_iter=200, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    assert np.bincount(gm.predict(X), minlength=3).min() == d
    assert f"fewer than the {d + 1} its covariance needs" in gm.degenerate_


@pytest.mark.parametrize("covariance_type", ["EVE", "VVE"])
@pytest.mark.parametrize("scale", [1e-90, 1e90])
def test_common_orientation_models_are_scale_invariant(covariance_type, scale):
    # the sweep's weights (lambda_k A_k)^-1 were g / (lambda e): lambda e
    # overflowed (scale 1e80: covariances 14% off, silently) or underflowed
    # (1e-85: a collapse error); as (g / lambda) / e the fit of c X is the fit
    # of X scaled by c, as for the other models
    from sklearn.datasets import load_iris

    X = load_iris().data
    start = GaussianMixture(
        3, covariance_type=covariance_type, reg_covar=0.0, random_state=0
    ).fit(X)
    params = dict(covariance_type=covariance_type, reg_covar=0.0, tol=0.0, max_iter=25)
    plain = GaussianMixture(
        3,
        weights_init=start.weights_,
        means_init=start.means_ * 1.01,
        precisions_init=start.precisions_,
        **params,
    )
    scaled = GaussianMixture(
        3,
        weights_init=start.weights_,
        means_init=start.means_ * 1.01 * scale,
        precisions_init=start.precisions_ / scale**2,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X)
        scaled.fit(X * scale)
    d = X.shape[1]
    assert scaled.lower_bound_ + d * np.log(scale) == pytest.approx(
        plain.lower_bound_, rel=1e-10
    )
    assert_allclose(scaled.covariances_ / scale**2, plain.covariances_, rtol=1e-9)
