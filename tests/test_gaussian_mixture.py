"""GaussianMixture: exactness against references, EM invariants, extras, bad input."""

import io
import tracemalloc
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn import clone, config_context
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gmm_estimators import (
    GaussianMixture,
    MixtureOfPPCA,
    OnlineGaussianMixture,
    _covariance,
    _em,
)
from gmm_estimators._covariance import (
    COVARIANCE_TYPES,
    MCLUST_MODELS,
    dense_covariances,
)

# Many fits here stop at max_iter on purpose (tol=0, a fixed number of steps).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

K = 4
PARAMETERS = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
)


def _shared_init(X, covariance_type, seed=0):
    """Initial parameters taken from a short scikit-learn fit."""
    sk = SkGaussianMixture(
        K, covariance_type=covariance_type, max_iter=2, random_state=seed
    ).fit(X)
    return dict(
        weights_init=sk.weights_, means_init=sk.means_, precisions_init=sk.precisions_
    )


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


# -- exactness ------------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_result_as_sklearn_from_same_init(blobs, covariance_type):
    """From the same initial parameters, with tol=0, every fitted parameter and
    the lower bound agree with scikit-learn's to 1e-8 relative.  Both run the
    same EM iterations in float64; only the rounding differs (ours works in
    whitened, centred coordinates), so 1e-8 leaves four orders of magnitude for
    the contraction of EM after 25 steps."""
    X, _ = blobs
    init = _shared_init(X, covariance_type)
    kw = dict(covariance_type=covariance_type, tol=0, max_iter=25, **init)
    ref = SkGaussianMixture(K, **kw).fit(X)
    ours = GaussianMixture(K, **kw).fit(X)
    for attr in PARAMETERS:
        assert getattr(ours, attr).shape == getattr(ref, attr).shape
        assert _rel(getattr(ours, attr), getattr(ref, attr)) < 1e-8, attr
    assert abs(ours.lower_bound_ - ref.lower_bound_) < 1e-8 * abs(ref.lower_bound_)
    if hasattr(ref, "lower_bounds_"):  # scikit-learn >= 1.7
        assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-8)
    assert len(ours.lower_bounds_) == 25
    assert ours.n_iter_ == ref.n_iter_ == 25
    assert ours.converged_ == ref.converged_
    assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-8)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-8)
    assert_allclose(ours.bic(X), ref.bic(X), rtol=1e-8)
    assert_allclose(ours.aic(X), ref.aic(X), rtol=1e-8)
    assert_array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_converged_fit_matches_sklearn(blobs, covariance_type):
    """With the default tol both stop at the same iteration with the same bound."""
    X, _ = blobs
    init = _shared_init(X, covariance_type)
    ref = SkGaussianMixture(K, covariance_type=covariance_type, **init).fit(X)
    ours = GaussianMixture(K, covariance_type=covariance_type, **init).fit(X)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ and ref.converged_
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_equals_scipy_density(blobs, covariance_type):
    """log p(x) equals the mixture density built from scipy.stats to 1e-10."""
    X, _ = blobs
    gm = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
    covs = dense_covariances(covariance_type, gm.covariances_, K, X.shape[1])
    log_dens = np.stack(
        [
            multivariate_normal(gm.means_[k], covs[k]).logpdf(X)
            + np.log(gm.weights_[k])
            for k in range(K)
        ],
        axis=1,
    )
    expected = logsumexp(log_dens, axis=1)
    assert_allclose(gm.score_samples(X), expected, rtol=1e-10)
    resp = np.exp(log_dens - expected[:, None])
    assert_allclose(gm.predict_proba(X), resp, atol=1e-10)
    assert_allclose(gm.score(X), expected.mean(), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_matches_sklearn(blobs, covariance_type):
    """Same parameters and random_state: the same samples as scikit-learn (the
    random stream is consumed the same way)."""
    X, _ = blobs
    ours = GaussianMixture(K, covariance_type=covariance_type, random_state=3).fit(X)
    ref = SkGaussianMixture(K, covariance_type=covariance_type, random_state=3)
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        setattr(ref, attr, getattr(ours, attr))
    Xs, ys = ours.sample(50)
    Xr, yr = ref.sample(50)
    assert_array_equal(ys, yr)
    assert_allclose(Xs, Xr, rtol=1e-12)
    assert np.all(np.isin(ys, np.arange(K)))


def test_sample_errors_and_dtype(blobs):
    X, _ = blobs
    gm = GaussianMixture(2, random_state=0).fit(X.astype(np.float32))
    Xs, _ = gm.sample(7)
    assert Xs.dtype == np.float32 and Xs.shape == (7, X.shape[1])
    with pytest.raises(ValueError, match="at least one sample"):
        gm.sample(0)


def test_icl_is_bic_plus_twice_the_entropy(blobs):
    X, _ = blobs
    gm = GaussianMixture(K, random_state=0).fit(X)
    resp = gm.predict_proba(X)
    entropy = -np.sum(resp * np.log(np.clip(resp, 1e-300, None)))
    assert_allclose(gm.icl(X), gm.bic(X) + 2 * entropy, rtol=1e-10)
    assert gm.icl(X) >= gm.bic(X)
    # attributes from the final E-step: the criteria need no extra pass
    assert_allclose(gm.log_likelihood_, gm.score(X), rtol=1e-12)
    assert_allclose(gm.responsibility_entropy_ * len(X), entropy, rtol=1e-8)
    assert gm.n_parameters_ == K - 1 + K * 5 + K * 15


# -- EM invariants --------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    "init_params", ["hc", "kmeans", "k-means++", "random", "random_from_data"]
)
def test_lower_bound_never_decreases(blobs, covariance_type, init_params):
    X, _ = blobs
    gm = GaussianMixture(
        K,
        covariance_type=covariance_type,
        init_params=init_params,
        tol=0,
        max_iter=30,
        random_state=1,
    ).fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert len(bounds) == 30
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


def test_fit_predict_equals_fit_then_predict(blobs):
    X, _ = blobs
    for max_iter in (1, 100):
        gm = GaussianMixture(K, max_iter=max_iter, random_state=0).fit(X)
        labels = clone(gm).fit_predict(X)
        assert_array_equal(labels, gm.predict(X))
        assert_array_equal(gm.labels_, gm.predict(X))


def test_max_iter_zero_returns_the_initialisation(blobs):
    X, _ = blobs
    init = _shared_init(X, "full")
    gm = GaussianMixture(K, max_iter=0, **init).fit(X)
    assert_allclose(gm.means_, init["means_init"])
    assert_allclose(gm.weights_, init["weights_init"])
    assert_allclose(gm.precisions_, init["precisions_init"], rtol=1e-10)
    assert gm.n_iter_ == 0 and gm.lower_bounds_ == [] and not gm.converged_


def test_warm_start_continues(blobs):
    X, _ = blobs
    init = _shared_init(X, "full")
    straight = GaussianMixture(K, tol=0, max_iter=10, **init).fit(X)
    warm = GaussianMixture(K, tol=0, max_iter=5, warm_start=True, **init)
    warm.fit(X)
    first_bound = warm.lower_bound_
    warm.fit(X)
    assert warm.lower_bound_ >= first_bound - 1e-12 * abs(first_bound)  # EM ascent
    assert_allclose(warm.means_, straight.means_, rtol=1e-10)
    assert_allclose(warm.covariances_, straight.covariances_, rtol=1e-10)
    assert_allclose(warm.lower_bound_, straight.lower_bound_, rtol=1e-12)


def test_n_init_keeps_the_best_run(blobs):
    X, _ = blobs
    kw = dict(init_params="random_from_data", max_iter=5, random_state=0)
    one = GaussianMixture(K, **kw).fit(X)
    five = GaussianMixture(K, n_init=5, **kw).fit(X)
    assert five.lower_bound_ >= one.lower_bound_


def test_convergence_warning(blobs):
    X, _ = blobs
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GaussianMixture(K, max_iter=1, random_state=0).fit(X)


def test_recovers_blobs(blobs):
    from sklearn.metrics import adjusted_rand_score

    X, y = blobs
    gm = GaussianMixture(K, random_state=0).fit(X)
    assert adjusted_rand_score(y, gm.labels_) > 0.95


def test_verbose_output(blobs):
    X, _ = blobs
    buf = io.StringIO()
    with redirect_stdout(buf):
        GaussianMixture(K, verbose=2, verbose_interval=1, random_state=0).fit(X)
    out = buf.getvalue()
    assert "Initialization 0" in out and "Iteration 1" in out and "converged" in out


def test_verbose_output_of_screened_starts():
    # several starts with a tol below the screening's: each start says it was
    # screened (not "converged"), and each run that goes on to tol has its own
    # header and end line (its steps printed without one, their numbers
    # jumping back); the fit is the one without verbose
    X = load_iris().data
    params = dict(n_init=3, tol=1e-6, init_params="random", random_state=0)
    buf = io.StringIO()
    with redirect_stdout(buf):
        loud = GaussianMixture(3, verbose=1, **params).fit(X)
    lines = buf.getvalue().splitlines()
    quiet = GaussianMixture(3, **params).fit(X)
    # (verbose runs the numpy loop one run at a time: the same fit to rounding)
    assert loud.lower_bound_ == pytest.approx(quiet.lower_bound_, rel=1e-12)
    assert loud.n_iter_ == quiet.n_iter_
    headers = [i for i, line in enumerate(lines) if line.startswith("Initialization ")]
    assert sum("screened" in lines[i] for i in headers) == 3
    going = [i for i, line in enumerate(lines) if line.startswith("Continuing")]
    assert going and all("to tol=1e-06" in lines[i] for i in going)
    # every block of steps sits between a header and its end line
    steps = [i for i, line in enumerate(lines) if line.startswith("  Iteration")]
    opens = sorted(
        [
            i
            for i in headers
            if "screened" not in lines[i] and "converge" not in lines[i]
        ]
        + going
    )
    for i in steps:
        assert any(o < i for o in opens)


# -- sample_weight ----------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    "init_params", ["hc", "kmeans", "k-means++", "random", "random_from_data"]
)
def test_integer_weights_equal_repeated_rows(blobs, covariance_type, init_params):
    """Integer weights give the model of repeated rows, with every init method
    and after shuffling: the initialisation is a function of the weighted set.
    'hc' is mclust's tree, which breaks ties between merges (here between
    the copies of a row) by the row order: for it, the rows repeated in
    place."""
    X, _ = blobs
    rng = np.random.RandomState(0)
    sw = rng.randint(0, 4, size=len(X))
    kw = dict(covariance_type=covariance_type, init_params=init_params, random_state=0)
    weighted = GaussianMixture(K, **kw).fit(X, sample_weight=sw)
    order = np.repeat(np.arange(len(X)), sw)
    if init_params != "hc":
        order = rng.permutation(order)
    repeated = GaussianMixture(K, **kw).fit(X[order])
    assert_allclose(weighted.means_, repeated.means_, rtol=1e-7, atol=1e-9)
    assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-7, atol=1e-9)
    assert_allclose(weighted.lower_bound_, repeated.lower_bound_, rtol=1e-9)


def test_zero_weight_rows_have_no_influence(blobs):
    X, _ = blobs
    rng = np.random.RandomState(1)
    sw = (rng.rand(len(X)) > 0.3).astype(float)
    outliers = X.copy()
    outliers[sw == 0] = 1e3 * rng.randn(int((sw == 0).sum()), X.shape[1])
    a = GaussianMixture(K, random_state=0).fit(outliers, sample_weight=sw)
    b = GaussianMixture(K, random_state=0).fit(X[sw > 0])
    assert_allclose(a.means_, b.means_, rtol=1e-8)
    assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-10)


def test_sample_weight_matches_weighted_references(blobs):
    """Real-valued weights: one M-step equals the weighted formulas."""
    X, _ = blobs
    w = np.random.RandomState(2).rand(len(X))
    gm = GaussianMixture(3, covariance_type="full", max_iter=1, random_state=0)
    gm.fit(X, sample_weight=w)
    # the M-step from the init cannot be recomputed; check a second one
    gm2 = GaussianMixture(
        3,
        covariance_type="full",
        max_iter=1,
        weights_init=gm.weights_,
        means_init=gm.means_,
        precisions_init=gm.precisions_,
    )
    gm2.fit(X, sample_weight=w)
    resp_prev = gm.predict_proba(X) * w[:, None]
    nk = resp_prev.sum(0)
    means = resp_prev.T @ X / nk[:, None]
    assert_allclose(gm2.means_, means, rtol=1e-10)
    assert_allclose(gm2.weights_, nk / nk.sum(), rtol=1e-10)
    for k in range(3):
        diff = X - means[k]
        cov = (resp_prev[:, k] * diff.T) @ diff / nk[k] + 1e-6 * np.eye(X.shape[1])
        assert_allclose(gm2.covariances_[k], cov, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "sample_weight, message",
    [
        (-np.ones(600), "Negative values"),
        (np.ones(5), "shape"),
        (np.zeros(600), "non-zero"),
        (np.full(600, np.nan), "NaN"),
    ],
)
def test_bad_sample_weight(blobs, sample_weight, message):
    X, _ = blobs
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2).fit(X, sample_weight=sample_weight)
    # score checks the weights as fit does (negative weights summing to zero
    # returned inf, others a weighted mean that means nothing)
    fitted = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=message):
        fitted.score(X, sample_weight=sample_weight)


def test_score_refuses_negative_weights_that_sum_to_something(blobs):
    X, _ = blobs
    fitted = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="Negative values"):
        fitted.score(X, sample_weight=np.r_[-1.0, np.ones(len(X) - 1)])
    weights = np.r_[np.ones(300), 3 * np.ones(300)]
    assert fitted.score(X, sample_weight=weights) == pytest.approx(
        np.average(fitted.score_samples(X), weights=weights), rel=1e-12
    )


# -- the full model's two E-step paths ------------------------------------------


def _count_paths(monkeypatch):
    """Counts of the full model's blocks by E-step path."""
    counts = {"features": 0, "whitened": 0}
    cls = _covariance.FullCovariance
    log_prob = cls.log_prob

    def counted(self, xa, ws):
        lp, cache = log_prob(self, xa, ws)
        path = "features" if isinstance(cache, _covariance._Features) else "whitened"
        counts[path] += 1
        key = f"{path} {xa.dtype}"
        counts[key] = counts.get(key, 0) + 1
        return lp, cache

    monkeypatch.setattr(cls, "log_prob", counted)
    return counts


def _fit_both_paths(monkeypatch, X, **params):
    """The same fit through second-moment features and through whitened
    residuals only, and the block counts of the first."""
    counts = _count_paths(monkeypatch)
    with_features = GaussianMixture(**params).fit(X)
    seen = dict(counts)
    with monkeypatch.context() as m:
        m.setattr(_covariance, "_FEATURES_RATIO", 0)
        whitened = GaussianMixture(**params).fit(X)
    return with_features, whitened, seen


def test_feature_path_fits_as_the_whitened_path(blobs, monkeypatch):
    """On data of a few dimensions the full model's E-step is one product with
    second-moment features; it fits what the whitened residuals fit.  Both
    run the same 25 EM steps; the features' rounding is ``eps`` times the
    block's bound (here about 2e3), hence 1e-10."""
    X = blobs[0]
    init = _shared_init(X, "full")
    ours, ref, seen = _fit_both_paths(
        monkeypatch, X, n_components=K, tol=0, max_iter=25, **init
    )
    assert seen["features float64"] > 0 and seen["whitened"] == 0
    for attr in PARAMETERS:
        assert _rel(getattr(ours, attr), getattr(ref, attr)) < 1e-10, attr
    assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-10)
    assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-10)


def test_feature_path_in_float32(monkeypatch):
    """float32 data large enough to be fitted in float32 (small float32 data
    is fitted in float64), with overlapping clusters (a rounding bound below
    float32's limit): the blocks take the features in float32, and the fit
    is as close to the float64 fit as the whitened path's float32 fit is
    (both about 1e-5 here, from float32 rounding over 25 steps)."""
    X, _ = make_blobs(
        n_samples=60_000,
        n_features=5,
        centers=K,
        cluster_std=2.0,
        center_box=(-4, 4),
        random_state=0,
    )
    init = _shared_init(X[:2000], "full")
    params = dict(n_components=K, tol=0, max_iter=25, **init)
    ours, ref, seen = _fit_both_paths(monkeypatch, X.astype(np.float32), **params)
    assert seen["features float32"] > 0 and seen["whitened"] == 0
    exact = GaussianMixture(**params).fit(X)
    for attr in PARAMETERS:
        ours_gap = _rel(getattr(ours, attr), getattr(exact, attr))
        whitened_gap = _rel(getattr(ref, attr), getattr(exact, attr))
        assert ours_gap < max(2 * whitened_gap, 1e-6), attr
        assert ours_gap < 5e-5, attr
    assert_allclose(ours.lower_bounds_, exact.lower_bounds_, rtol=1e-7)


def test_feature_path_log_densities_against_scipy(blobs):
    X = blobs[0]
    gm = GaussianMixture(K, random_state=0).fit(X)
    model = gm._get_model(X.mean(axis=0))
    xa = np.hstack([X - model.center, np.ones((len(X), 1))])
    lp, cache = model.log_prob(xa, {})
    assert isinstance(cache, _covariance._Features)
    expected = [
        multivariate_normal(mean, cov).logpdf(X)
        for mean, cov in zip(gm.means_, gm.covariances_, strict=True)
    ]
    assert_allclose(lp, expected, rtol=1e-12, atol=1e-12)


def test_far_apart_clusters_take_the_whitened_path(monkeypatch):
    """Clusters 1e5 standard deviations apart: in features centred at the
    data mean the log-densities would lose ten digits (the bound is 1e10),
    so the blocks take the whitened path, and the densities stay exact."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(200, 3), rng.randn(200, 3) + [1e5, 0, 0]])
    counts = _count_paths(monkeypatch)
    gm = GaussianMixture(2, random_state=0).fit(X)
    assert counts["whitened"] > 0 and counts["features"] == 0
    expected = np.logaddexp(
        *[
            np.log(w) + multivariate_normal(m, c).logpdf(X)
            for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_, strict=True)
        ]
    )
    # (features centred at the data mean would be 1e-6 off)
    assert_allclose(gm.score_samples(X), expected, rtol=1e-9)


def test_blocks_of_both_paths_in_one_pass(monkeypatch):
    """Rows far out in a few blocks: those blocks take the whitened path, the
    others the features, and their statistics add up to the fit of the
    whitened path alone."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(3000, 4), rng.randn(3000, 4) + 6.0])
    X[-40:] += 3e4  # the last block's rows are far from every component
    monkeypatch.setattr(_em, "_TARGET_BLOCK_BYTES", 2**16)
    init = _shared_init(X, "full")
    init["weights_init"] = np.full(K, 1.0 / K)
    ours, ref, seen = _fit_both_paths(
        monkeypatch, X, n_components=K, tol=0, max_iter=10, **init
    )
    assert seen["features"] > 0 and seen["whitened"] > 0
    for attr in PARAMETERS:
        assert _rel(getattr(ours, attr), getattr(ref, attr)) < 1e-9, attr


# -- float32, memory ------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_in_float32_out(blobs, covariance_type):
    X, _ = blobs
    X32 = (X + 1e3).astype(np.float32)  # an offset tests the centring
    init = _shared_init(X32.astype(np.float64), covariance_type)
    kw = dict(covariance_type=covariance_type, tol=0, max_iter=30, **init)
    gm32 = GaussianMixture(K, **kw).fit(X32)
    gm64 = GaussianMixture(K, **kw).fit(X32.astype(np.float64))
    for attr in PARAMETERS:
        assert getattr(gm32, attr).dtype == np.float32, attr
    for method in ("score_samples", "predict_proba"):
        assert getattr(gm32, method)(X32).dtype == np.float32
    assert_allclose(gm32.lower_bound_, gm64.lower_bound_, rtol=1e-4)
    assert_allclose(gm32.means_, gm64.means_, rtol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianMixture(2, covariance_type="diag", random_state=0),
        lambda: GaussianMixture(2, covariance_type="VEV", random_state=0),
        lambda: MixtureOfPPCA(2, n_latent=2, random_state=0),
        lambda: OnlineGaussianMixture(2, random_state=0),
    ],
)
def test_float32_attributes_beyond_float32_are_an_error(make):
    # float32 data of magnitude 1e20 are fitted in float64, but their
    # variances (~1e40) do not fit in float32 attributes: a ValueError saying
    # so, not covariances_ of inf (GaussianMixture) or a "collapsed" error
    # (MixtureOfPPCA); the estimator stays unfitted.  At 1e18 they fit.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((400, 4))
    est = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="exceed float32's range"):
            est.fit((X * 1e20).astype(np.float32))
    assert not hasattr(est, "weights_")
    fitted = make().fit((X * 1e18).astype(np.float32))
    assert fitted.weights_.dtype == np.float32
    assert np.isfinite(fitted.means_).all()


@pytest.mark.parametrize("n_rows", [150, 6000])
def test_n_init_from_a_given_start_is_one_run(n_rows):
    # weights, means and precisions all given: every run starts there, and
    # n_init runs are scikit-learn's one run, on small data and on more rows
    # than the screening's subsample (the runs were screened on a random
    # subsample and ended at another, worse fit that depended on
    # random_state)
    rng = np.random.RandomState(0)
    centers = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 1.0], [0.0, 3.0, -1.0]])
    X = centers[rng.randint(3, size=n_rows)] + rng.standard_normal((n_rows, 3))
    start = dict(
        weights_init=np.full(3, 1 / 3),
        means_init=centers + 0.5,
        precisions_init=np.tile(np.eye(3), (3, 1, 1)),
    )
    one = GaussianMixture(3, tol=1e-6, **start).fit(X)
    sk = SkGaussianMixture(3, tol=1e-6, **start).fit(X)
    for seed in (0, 1):
        many = GaussianMixture(3, tol=1e-6, n_init=3, random_state=seed, **start)
        many.fit(X)
        assert many.n_iter_ == one.n_iter_ == sk.n_iter_
        assert many.lower_bound_ == one.lower_bound_
        assert_array_equal(many.means_, one.means_)
    assert_allclose(one.means_, sk.means_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "VEV"])
def test_screened_runs_stop_at_the_first_step_below_tol(covariance_type):
    # several starts are screened to a looser tolerance, and the best go on
    # to tol; a run whose last screened step already changed less than tol
    # has converged, as a run straight to tol would have: no extra step
    # (6 of 32 such fits took one)
    X = load_iris().data
    for seed in range(4):
        gm = GaussianMixture(
            3,
            covariance_type=covariance_type,
            n_init=3,
            tol=1e-6,
            init_params="random_from_data",
            random_state=seed,
        ).fit(X)
        change = np.abs(np.diff(gm.lower_bounds_))
        assert gm.converged_
        assert change[-1] < 1e-6 and (change[:-1] >= 1e-6).all(), seed


def _fit_peak_bytes(X, covariance_type):
    gm = GaussianMixture(
        4, covariance_type=covariance_type, max_iter=2, tol=0, random_state=0
    )
    tracemalloc.start()
    gm.fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_memory_grows_per_row_only_by_the_outputs(covariance_type):
    """Bounded memory and no float64 copy of float32 data: doubling n adds only
    O(1) per row (labels_, and the initialisation's ranking of the rows, about
    50 bytes), never n x d (an upcast would add 8 d = 256 bytes per row) nor
    n x K x d.  From 80 000 rows on, both threads have full blocks and the
    initialisation's chunks have reached their caps; the blocks then grow
    with the data (a quarter of it each, from 4 MiB at 16 MiB of data up to
    8 MiB at 32 MiB: 28 bytes per row from 80 000 to 160 000 rows here, 64
    at most) and stop.  40 000 -> 80 000 rows does not measure this (the
    second thread's block still grows from nothing)."""
    X = np.random.RandomState(0).randn(160_000, 32).astype(np.float32)
    small = _fit_peak_bytes(X[:80_000], covariance_type)
    large = _fit_peak_bytes(X, covariance_type)
    per_row = (large - small) / 80_000
    assert per_row < 0.5 * 8 * X.shape[1], per_row


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_results_do_not_depend_on_block_size(blobs, covariance_type):
    X, _ = blobs
    init = _shared_init(X, covariance_type)
    kw = dict(covariance_type=covariance_type, tol=0, max_iter=10, **init)
    a = GaussianMixture(K, **kw).fit(X)
    with config_context(working_memory=0.05):  # ~50 kB: blocks of 128 rows
        b = GaussianMixture(K, **kw).fit(X)
        assert_allclose(b.score_samples(X), a.score_samples(X), rtol=1e-12)
    assert_allclose(a.means_, b.means_, rtol=1e-12)
    assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-13)


# -- degenerate but valid data ------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda X: np.c_[X, np.full(len(X), 3.0)], id="constant-feature"),
        pytest.param(lambda X: np.c_[X, X[:, :1]], id="duplicated-feature"),
        pytest.param(lambda X: np.round(X * 10).astype(np.int64), id="integers"),
        pytest.param(lambda X: X * 1e100, id="scale-1e100"),
        pytest.param(lambda X: X * 1e-100, id="scale-1e-100"),
        pytest.param(lambda X: X.tolist(), id="list"),
    ],
)
def test_valid_data_gives_finite_results(blobs, covariance_type, transform):
    X, _ = blobs
    Xt = transform(X)
    gm = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(Xt)
    for value in (
        gm.means_,
        gm.covariances_,
        gm.score_samples(Xt),
        gm.predict_proba(Xt),
    ):
        assert np.all(np.isfinite(value))
    assert np.isfinite(gm.bic(Xt))


def test_scaled_data_gives_the_same_clusters(blobs):
    X, _ = blobs
    base = GaussianMixture(K, random_state=0).fit(X).labels_
    for scale in (1e100, 1e-100):
        labels = (
            GaussianMixture(K, reg_covar=1e-6 * scale**2, random_state=0)
            .fit(X * scale)
            .labels_
        )
        assert_array_equal(labels, base)


def test_pandas_dataframe_keeps_feature_names(blobs):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    gm = GaussianMixture(2, random_state=0).fit(df)
    assert list(gm.feature_names_in_) == list(df.columns)
    with pytest.warns(UserWarning, match="feature names"):
        assert_array_equal(gm.predict(df), gm.predict(X))


def test_collapsed_component_error_names_the_component():
    X = np.r_[np.zeros((10, 2)), np.random.RandomState(0).randn(20, 2) + 5]
    gm = GaussianMixture(
        2,
        reg_covar=0,
        means_init=[[0.0, 0.0], [5.0, 5.0]],
        weights_init=[0.5, 0.5],
        precisions_init=np.repeat(np.eye(2)[None], 2, axis=0),
    )
    with pytest.raises(ValueError, match=r"component 0 .*reg_covar"):
        gm.fit(X)


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [3, 4]]), ValueError, "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [3, 4]]), ValueError, "infinity"),
        (np.empty((0, 3)), ValueError, "0 sample"),
        (np.empty((5, 0)), ValueError, "0 feature"),
        (np.ones((1, 3)), ValueError, "minimum of 2"),
        (np.arange(10.0), ValueError, "2D array"),
        (np.ones((4, 3, 2)), ValueError, "dim 3"),
        (np.array([["a", "b"], ["c", "d"]]), ValueError, "could not convert|numeric"),
        (np.array([[1 + 1j, 2], [3, 4]]), ValueError, "[Cc]omplex"),
        (sparse.csr_matrix(np.eye(4)), TypeError, "[Ss]parse"),
    ],
)
def test_bad_X_gives_clear_error(X, error, message):
    with pytest.raises(error, match=message):
        GaussianMixture(1).fit(X)


def test_object_array_of_numbers_is_accepted(blobs):
    X, _ = blobs
    GaussianMixture(2, random_state=0).fit(X.astype(object))


def test_fewer_samples_than_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(np.random.RandomState(0).randn(4, 2))


def test_fewer_weighted_samples_than_components():
    X = np.random.RandomState(0).randn(10, 2)
    with pytest.raises(ValueError, match="non-zero weight"):
        GaussianMixture(3).fit(X, sample_weight=[1, 1] + [0] * 8)


@pytest.mark.parametrize(
    "method",
    ["predict", "predict_proba", "score_samples", "score", "bic", "aic", "icl"],
)
def test_wrong_number_of_features_after_fit(blobs, method):
    X, _ = blobs
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        getattr(gm, method)(X[:, :3])


def test_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GaussianMixture().predict(np.ones((3, 2)))


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 0},
        {"covariance_type": "bad"},
        {"tol": -1.0},
        {"reg_covar": -1.0},
        {"max_iter": -1},
        {"n_init": 0},
        {"init_params": "bad"},
        {"verbose_interval": 0},
        {"acceleration": "aitken"},
    ],
)
def test_invalid_parameters(blobs, params):
    X, _ = blobs
    with pytest.raises(ValueError, match="parameter"):
        GaussianMixture(**params).fit(X)


@pytest.mark.parametrize(
    "covariance_type, params, message",
    [
        ("full", {"weights_init": [0.5, 0.5, 0.0]}, "shape"),
        ("full", {"weights_init": [1.5, -0.5]}, "range"),
        ("full", {"weights_init": [0.2, 0.2]}, "normalized"),
        ("full", {"means_init": np.zeros((2, 3))}, "shape"),
        ("full", {"precisions_init": np.ones((2, 5, 5))}, "positive-definite"),
        ("full", {"precisions_init": np.eye(5)}, "shape"),
        (
            "tied",
            {"precisions_init": np.triu(np.ones((5, 5))) + 5 * np.eye(5)},
            "symmetric",
        ),
        ("diag", {"precisions_init": -np.ones((2, 5))}, "positive"),
        ("spherical", {"precisions_init": np.zeros(2)}, "positive"),
        ("spherical", {"precisions_init": np.ones(3)}, "shape"),
    ],
)
def test_bad_initial_parameters(blobs, covariance_type, params, message):
    X, _ = blobs
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, covariance_type=covariance_type, **params).fit(X)


def test_initial_parameters_are_not_modified(blobs):
    X, _ = blobs
    init = _shared_init(X, "full")
    frozen = {k: np.array(v, copy=True) for k, v in init.items()}
    gm = GaussianMixture(K, **init).fit(X)
    for key, value in frozen.items():
        assert_array_equal(getattr(gm, key), value)


# -- acceleration="squarem" ------------------------------------------------------

#: Four blobs fitted with six components: the surplus components share
#: clusters, where EM crawls (hundreds to thousands of iterations to 1e-10).
#: VVE is left out: from this start SQUAREM ends at another optimum of it
#: (lower by 6e-4 per row), where plain EM from there does not move.  VEI is
#: left out too: from this start (and with five or seven components) one
#: component collapses onto a single row, its variances held at reg_covar
#: (1e-10), where the expanded quadratic form of the log-densities rounds
#: at about 1e-7 per row, so the lower bound's steps near the end are
#: rounding noise of either sign and whether one of them falls below
#: tol=1e-10 is chance (plain EM stopped after 2994 iterations with numpy's
#: E-step and after 1343 with the compiled one, 1.2e-5 short).  The
#: SQUAREM tests on iris below cover VEI.
SLOW_MODELS = ["full", "tied", "diag", "spherical", "EEV", "EVE", "VEV"]


@pytest.fixture(scope="module")
def crawling():
    X, _ = make_blobs(
        n_samples=2000,
        n_features=4,
        centers=4,
        cluster_std=[1.0, 1.5, 0.5, 2.0],
        random_state=0,
    )
    return X


@pytest.mark.parametrize("covariance_type", SLOW_MODELS)
def test_squarem_reaches_the_em_optimum_in_fewer_iterations(
    crawling, covariance_type, monkeypatch
):
    # From the same start, both to tol=1e-10: the same optimum (plain EM
    # itself is up to ~2e-8 short of it at that tol), in at most 0.6 times
    # the E-steps (measured 0.21-0.49).  Both through numpy's E-step and
    # M-step, as SQUAREM's steps are: the spherical fit ends with a
    # component on one row, whose variance is reg_covar plus the rounding
    # of its scatter (6.8e-15 by numpy's sum of squares about the centre,
    # 0 by the compiled loop's about the previous mean), and that rounding,
    # over a variance of 1e-10, moves the lower bound by 6.5e-7.
    from gmm_estimators import _em

    monkeypatch.setattr(_em, "_compiled_kind", lambda model, dtype: None)
    fits = [
        GaussianMixture(
            6,
            covariance_type=covariance_type,
            tol=1e-10,
            max_iter=20000,
            reg_covar=1e-10,
            random_state=0,
            acceleration=acceleration,
        ).fit(crawling)
        for acceleration in (None, "squarem")
    ]
    plain, fast = fits
    assert plain.converged_ and fast.converged_
    assert fast.lower_bound_ == pytest.approx(plain.lower_bound_, abs=1e-7)
    assert fast.n_iter_ <= 0.6 * plain.n_iter_


@pytest.mark.parametrize("covariance_type", [*COVARIANCE_TYPES, *MCLUST_MODELS])
def test_squarem_lower_bound_never_decreases(covariance_type):
    # Every point SQUAREM keeps is at least as good as the EM step it
    # replaces; the recorded lower bounds never go down (up to rounding).
    X = load_iris().data
    gm = GaussianMixture(
        3,
        covariance_type=covariance_type,
        tol=1e-8,
        max_iter=5000,
        reg_covar=1e-8,
        random_state=0,
        acceleration="squarem",
    ).fit(X)
    history = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(history) >= -1e-12 * np.abs(history[1:]))
    assert gm.converged_
    assert gm.n_iter_ >= len(history)  # rejected extrapolations count too
    assert gm.lower_bound_ == history[-1]


def test_squarem_with_several_starts_weights_and_float32(crawling):
    # Runs of several starts go one by one; sample weights as repetitions
    # (integer weights equal repeated rows), float32 kept float32.
    X = crawling[:300]
    w = np.random.RandomState(0).randint(1, 3, len(X))
    params = dict(
        n_components=3,
        init_params=("kmeans", "random_from_data"),
        n_init=2,
        tol=1e-9,
        max_iter=5000,
        random_state=0,
        acceleration="squarem",
    )
    weighted = GaussianMixture(**params).fit(X, sample_weight=w)
    repeated = GaussianMixture(**params).fit(np.repeat(X, w, axis=0))
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, abs=1e-8)
    gm32 = GaussianMixture(**params).fit(X.astype(np.float32))
    assert gm32.means_.dtype == np.float32
    assert gm32.lower_bound_ == pytest.approx(
        GaussianMixture(**params).fit(X).lower_bound_, abs=1e-4
    )


def test_squarem_only_on_runs_to_tol(crawling, monkeypatch):
    # Several starts: their screening to a looser tolerance stays plain EM,
    # stacked on small data; only the runs that go on to ``tol`` are
    # accelerated.
    tols, stacked = [], []
    iterate, stack = _em._Squarem.iterate, _em.iterate_stacked

    def recorded(self):
        tols.append(self.tol)
        return iterate(self)

    def counted(runs, *args):
        stacked.append(len(runs))
        return stack(runs, *args)

    monkeypatch.setattr(_em._Squarem, "iterate", recorded)
    monkeypatch.setattr(_em, "iterate_stacked", counted)
    # (five components on four blobs: the runs still crawl when the
    # screening stops them; with four, every run had already met tol there,
    # and a run that has stops)
    gm = GaussianMixture(
        5,
        init_params=("hc", "kmeans"),
        n_init=3,
        tol=1e-6,
        max_iter=5000,
        random_state=0,
        acceleration="squarem",
    ).fit(crawling[:500])
    assert stacked and max(stacked) == 4  # hc, then three k-means starts
    assert tols and set(tols) == {1e-6}
    assert gm.converged_


# --- reg_covar_relative: the regularisation in the data's units ---------------


@pytest.mark.parametrize("covariance_type", ["full", "VEV", "spherical"])
def test_reg_covar_relative_is_in_units_of_the_smallest_feature_variance(
    covariance_type,
):
    """reg_covar * min(1, smallest (weighted) feature variance): on data of
    small scale the fit of c X is the fit of X scaled by c, where an absolute
    reg_covar swamps them; on data of larger scale, reg_covar itself."""
    X = load_iris().data
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(X))
    common = dict(
        n_components=3, covariance_type=covariance_type, reg_covar=1e-4, random_state=0
    )
    a = GaussianMixture(**common, reg_covar_relative=True).fit(X, sample_weight=w)
    mean = np.average(X, axis=0, weights=w)
    smallest = np.average((X - mean) ** 2, axis=0, weights=w).min()
    absolute = GaussianMixture(**{**common, "reg_covar": 1e-4 * smallest}).fit(
        X, sample_weight=w
    )
    assert_allclose(a.covariances_, absolute.covariances_, rtol=1e-10)
    c = 1e-7
    b = GaussianMixture(**common, reg_covar_relative=True).fit(X * c, sample_weight=w)
    assert_allclose(b.means_ / c, a.means_, rtol=1e-8)
    assert_allclose(b.covariances_ / c**2, a.covariances_, rtol=1e-6)
    swamped = GaussianMixture(**common).fit(X * c, sample_weight=w)
    assert not np.allclose(swamped.covariances_ / c**2, a.covariances_, rtol=0.1)
    # variances above 1 (the smallest 0.58 * 100**2): reg_covar, not more
    big = GaussianMixture(**common, reg_covar_relative=True).fit(
        X * 100, sample_weight=w
    )
    plain = GaussianMixture(**common).fit(X * 100, sample_weight=w)
    assert_allclose(big.covariances_, plain.covariances_, rtol=1e-12)
    assert GaussianMixture().reg_covar_relative is False  # scikit-learn's rule


# --- tol_relative: mclust's relative stopping rule where it is tighter ---------


def _small_scale_data():
    """1-D data of small scale (mean log-likelihood near 0, as R's
    treering), where EM crawls long after the mean changes by 1e-5."""
    rng = np.random.RandomState(0)
    x = np.concatenate(
        [
            rng.normal(0.8, 0.3, 1500),
            rng.normal(1.2, 0.25, 1500),
            rng.normal(0.3, 0.1, 200),
        ]
    )
    return x[:, None]


def test_tol_limit():
    from gmm_estimators._em import tol_limit

    assert tol_limit(1e-5, -0.18, 7980.0, False) == 1e-5
    assert tol_limit(1e-5, -0.18, 7980.0, True) == pytest.approx(
        1e-5 * (0.18 + 1 / 7980)
    )
    assert tol_limit(1e-5, -4.1, 272.0, True) == 1e-5  # scikit-learn's tighter
    limits = tol_limit(1e-4, np.array([0.5, -3.0]), 100.0, True)
    assert_allclose(limits, [1e-4 * 0.51, 1e-4])


@pytest.mark.parametrize(
    "params",
    [
        dict(init_params="hc"),
        dict(init_params=("hc", "kmeans"), n_init=2, random_state=0),  # stacked
        dict(init_params="hc", acceleration="squarem"),
    ],
)
def test_tol_relative_stops_by_mclusts_rule_where_tighter(params):
    """Where the mean log-likelihood is below 1 in magnitude, a run stops
    only when the total log-likelihood L changes by less than
    tol * (1 + |L|) too (mclust's rule), and ends at a better optimum; where
    it is larger, the two rules agree."""
    X = _small_scale_data()
    n = len(X)
    common = dict(n_components=4, tol=1e-5, max_iter=20000, reg_covar=1e-10)
    plain = GaussianMixture(**common, **params).fit(X)
    relative = GaussianMixture(**common, **params, tol_relative=True).fit(X)
    assert abs(relative.lower_bound_) < 0.5
    assert relative.converged_
    assert relative.n_iter_ > plain.n_iter_
    assert relative.lower_bound_ > plain.lower_bound_
    if "acceleration" not in params:
        lb = relative.lower_bounds_
        assert abs(lb[-1] - lb[-2]) < 1e-5 * (abs(lb[-1]) + 1 / n)
        assert abs(lb[-2] - lb[-3]) >= 1e-5 * min(1.0, abs(lb[-2]) + 1 / n)
    # larger scale: |mean log-likelihood| > 1, the same fit
    big = X * 100.0
    a = GaussianMixture(**common, **params).fit(big)
    b = GaussianMixture(**common, **params, tol_relative=True).fit(big)
    assert abs(a.lower_bound_) > 1
    assert a.n_iter_ == b.n_iter_
    assert a.lower_bound_ == b.lower_bound_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_pass_holds_an_accumulator_per_thread_not_per_run():
    """A pass adds each run's statistics to the sum of the runs before it as
    soon as it can, so it holds about one accumulator per thread, however
    many runs the guided plan cuts (the full model's K x d x d statistics at
    d = 784, K = 10 are 49 MB each; with one per run, 22 runs, a pass had
    peaked at 1.1 GB for 313 MB of data), and the sum is the runs' in
    order (:func:`_em._sum_accs`), to the last bit."""
    rng = np.random.RandomState(0)
    n, d, K = 4000, 100, 8
    X = rng.standard_normal((n, d))
    gm = GaussianMixture(K, max_iter=1, random_state=0).fit(X)
    weights = gm.weights_.astype(np.float64)

    def blocks_of(runs):
        blocks = _em._Blocks(X, X.mean(axis=0), gm._fit_row_width(d))
        blocks.rows, blocks.n_threads, blocks.runs = 256, 1, runs
        return blocks

    def pass_peak(blocks):
        tracemalloc.start()
        got = _em.pass_stats(blocks, model, weights, None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return got, peak

    plan = _em._guided_runs(n, 256, 4)  # many runs, taken by one thread
    model = gm._get_model(blocks_of(plan).center.astype(np.float64))
    acc_bytes = sum(v.nbytes for v in _em.BlockStats.zeros(model).stats.values())
    assert len(plan) >= 10 and acc_bytes >= 8 * K * d * d
    # the peak of one run of all the blocks: the sum and the blocks'
    # temporaries; many runs add one run's accumulator (with one accumulator
    # per run, 20 of them: 12.9 MB more, measured)
    _, one_run = pass_peak(blocks_of([[p for run in plan for p in run]]))
    got, many_runs = pass_peak(blocks_of(plan))
    assert many_runs - one_run < 2 * acc_bytes, (many_runs, one_run, acc_bytes)
    # every run's statistics alone, summed one at a time in run order
    expected = _em._sum_accs(
        [_em.pass_stats(blocks_of([run]), model, weights, None) for run in plan]
    )
    assert got.ll == expected.ll
    assert_array_equal(got.nk, expected.nk)
    assert_array_equal(got.s1, expected.s1)
    for key, value in expected.stats.items():
        assert_array_equal(got.stats[key], value)
