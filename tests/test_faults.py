"""Fault injection: failed or interrupted fits leave the previous state intact;
refits on a changed problem; concurrent inference; scale-free weights."""

import contextlib
import copy
import functools
import threading
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_info

from gmm_estimators import GaussianMixture, GaussianMixtureSelector, MixtureOfPPCA, _em
from gmm_estimators._covariance import SKLEARN_COLLAPSE_MESSAGE


@contextlib.contextmanager
def warnings_as_errors():
    """Overflow and other runtime warnings fail the test (ConvergenceWarning
    aside)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _blobs(n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    centers = np.array([0.0, 6.0, -6.0])[:, None] * np.ones(n_features)
    return np.vstack([c + rng.standard_normal((25, n_features)) for c in centers])


ESTIMATORS = {
    "gm": lambda: GaussianMixture(3, random_state=0),
    "ppca": lambda: MixtureOfPPCA(2, n_latent=1, random_state=0),
    "selector": lambda: GaussianMixtureSelector(
        n_components=3, covariance_type=("full", "diag"), random_state=0
    ),
}


@functools.cache
def _fitted_on_blobs(name):
    """ESTIMATORS[name] fitted on _blobs(3), once: tests take a deep copy."""
    return ESTIMATORS[name]().fit(_blobs(3))


# where to inject the fault: (name, the (module, function name) pairs that
# fail); an EM iteration is numpy's step (em_step) or, on small data with
# numba installed, the compiled loop (em_runs)
PHASES = [
    ("fit_blocks", [(_em, "fit_blocks")]),
    ("initial_responsibilities", [(_em, "initial_responsibilities")]),
    ("em_step", [(_em, "em_step"), (_em._kernels, "em_runs")]),
    ("posterior_pass", [(_em, "posterior_pass")]),
]


def _snapshot(est):
    return {
        k: (v.copy() if isinstance(v, np.ndarray) else v)
        for k, v in est.__dict__.items()
    }


def _assert_same_state(est, before):
    assert set(est.__dict__) == set(before)
    for key, value in before.items():
        now = est.__dict__[key]
        if isinstance(value, np.ndarray):
            assert_array_equal(now, value, err_msg=key)
        elif key not in ("best_estimator_",):
            assert now is value or now == value, key


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("phase", PHASES, ids=lambda p: p[0])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
@pytest.mark.parametrize("new_features", [3, 4])
def test_interrupted_refit_leaves_the_previous_model(
    name, phase, exc, new_features, monkeypatch
):
    X = _blobs(3)
    est = copy.deepcopy(_fitted_on_blobs(name))
    before = _snapshot(est)
    labels = est.predict(X)
    _, functions = phase

    def fail(*args, **kwargs):
        raise exc("injected")

    # the selector's own errors on candidates are caught: make them raise
    if name == "selector":
        est.set_params(error_score="raise")
        before = _snapshot(est)
    for module, function in functions:
        monkeypatch.setattr(module, function, fail)
    with pytest.raises(exc, match="injected"):
        est.fit(_blobs(new_features, seed=1))
    monkeypatch.undo()
    _assert_same_state(est, before)
    assert_array_equal(est.predict(X), labels)


@pytest.mark.parametrize(
    "change",
    [{"n_components": 5}, {"covariance_type": "diag"}, {"n_features": 4}],
)
def test_warm_start_on_a_changed_problem_is_a_clear_error(change):
    X = _blobs(3)
    gm = GaussianMixture(3, warm_start=True, random_state=0).fit(X)
    n_features = change.pop("n_features", 3)
    gm.set_params(**change)
    before = _snapshot(gm)
    with pytest.raises(ValueError, match="warm_start"):
        gm.fit(_blobs(n_features, seed=1))
    _assert_same_state(gm, before)


def test_warm_start_continues_on_the_same_problem():
    X = _blobs(3)
    gm = GaussianMixture(3, warm_start=True, max_iter=2, random_state=0)
    gm.fit(X)
    first = gm.lower_bound_
    gm.fit(X)
    assert gm.lower_bound_ >= first - 1e-12


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_concurrent_inference_leaves_blas_threads_as_found():
    X = _blobs(3)
    models = [
        GaussianMixture(3, random_state=0).fit(X),
        MixtureOfPPCA(2, n_latent=1, random_state=0).fit(X),
    ]
    before = _blas_threads()
    big = np.tile(X, (200, 1))  # several blocks: the threaded path
    expected = [m.predict(big) for m in models]
    errors = []

    def work(model, labels):
        try:
            for _ in range(5):
                assert_array_equal(model.predict(big), labels)
                model.predict_proba(big[:100])
                model.score_samples(big[:100])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(m, e))
        for _ in range(4)
        for m, e in zip(models, expected, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _blas_threads() == before


@pytest.mark.parametrize("scale", [1e-20, 1e-15, 1e-3, 1e3, 1e20])
def test_weights_are_scale_free(scale):
    X = _blobs(3)
    ones = np.ones(len(X))
    ref = GaussianMixture(3, random_state=0).fit(X, sample_weight=ones)
    gm = GaussianMixture(3, random_state=0).fit(X, sample_weight=scale * ones)
    assert_allclose(gm.means_, ref.means_, rtol=1e-9, atol=1e-9)
    assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-9)
    ref = MixtureOfPPCA(2, n_latent=1, random_state=0).fit(X, sample_weight=ones)
    pp = MixtureOfPPCA(2, n_latent=1, random_state=0).fit(X, sample_weight=scale * ones)
    assert_allclose(pp.means_, ref.means_, rtol=1e-9, atol=1e-9)


def test_collapse_error_starts_with_scikit_learns_sentence():
    X = np.vstack([np.zeros((10, 2)), np.ones((10, 2))])
    with pytest.raises(ValueError) as info:
        GaussianMixture(
            2, reg_covar=0, means_init=[[0, 0], [1, 1]], random_state=0
        ).fit(X)
    assert str(info.value).startswith(SKLEARN_COLLAPSE_MESSAGE)


# --- issue cases: tiny float32 data, extreme scales -----------------------------


def test_ppca_tiny_float32_fit_predict_equals_predict():
    X = np.array([[0, 0], [0, 0], [149, 0], [1.5, 0], [27, 0]], dtype=np.float32)
    m = MixtureOfPPCA(2, n_latent=1, random_state=0)
    assert_array_equal(m.fit_predict(X), m.predict(X))


def _two_blobs():
    rng = np.random.RandomState(0)
    return np.vstack([rng.standard_normal((50, 3)), 5 + rng.standard_normal((50, 3))])


@pytest.mark.parametrize(
    "estimator",
    [
        GaussianMixture(1),
        GaussianMixture(2, random_state=0),
        MixtureOfPPCA(2, n_latent=1, random_state=0),
        GaussianMixtureSelector(n_components=3, random_state=0),
    ],
    ids=["gm1", "gm2", "ppca", "selector"],
)
def test_float32_data_of_large_magnitude_fit(estimator):
    """Values of 1e18 are well inside float32's range; their squares are not:
    such data are computed in float64, the fitted attributes stay float32."""
    X = (_two_blobs() * 1e18).astype(np.float32)
    reference = (_two_blobs()).astype(np.float32)
    with warnings_as_errors():
        est = clone(estimator).fit(X)
        labels = est.predict(X)
    small = clone(estimator).fit(reference)
    assert adjusted_rand_score(labels, small.predict(reference)) == 1.0
    fitted = getattr(est, "best_estimator_", est)
    assert fitted.means_.dtype == np.float32
    small = getattr(small, "best_estimator_", small)
    assert_allclose(
        np.sort(fitted.means_[:, 0]) / 1e18,
        np.sort(small.means_[:, 0]),
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize(
    "scale",
    [1e150, 1e100, np.array([1e150, 1.0, 1e-150])],
    ids=["1e150", "1e100", "cols"],
)
def test_ppca_on_extreme_scales_is_a_clear_error(scale):
    with pytest.raises(ValueError, match="Rescale the features"):
        with warnings_as_errors():
            MixtureOfPPCA(3, n_latent=1, random_state=0).fit(_two_blobs() * scale)


@pytest.mark.parametrize(
    "scale",
    [1e150, 1e100, np.array([1e150, 1.0, 1e-150])],
    ids=["1e150", "1e100", "cols"],
)
def test_gaussian_mixture_on_extreme_scales_fits(scale):
    X = _two_blobs() * scale
    with warnings_as_errors():
        gm = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    assert adjusted_rand_score(gm.predict(X), np.repeat([0, 1], 50)) == 1.0


def test_ppca_float32_on_few_rows_matches_float64():
    """30 float32 rows of a noisy line in 3-D: the same fit as in float64 (few
    rows are computed in float64), not a lower bound above the float64 one."""
    rng = np.random.RandomState(0)
    t = rng.standard_normal((30, 1))
    X = np.hstack([t, 2 * t, -t]) + 1e-2 * rng.standard_normal((30, 3))
    a = MixtureOfPPCA(1, n_latent=1).fit(X)
    b = MixtureOfPPCA(1, n_latent=1).fit(X.astype(np.float32))
    assert b.noise_variance_.dtype == np.float32
    assert_allclose(b.noise_variance_, a.noise_variance_, rtol=1e-5)
    assert b.lower_bound_ <= a.lower_bound_ + 1e-6
    # float32 parameters of a model whose noise variance is 1e-4 of the
    # signal's: log-densities to about eps32 * 1e4 = 1e-3 nats (0.29 before)
    assert_allclose(
        b.score_samples(X.astype(np.float32)), a.score_samples(X), atol=1e-2
    )


def test_selector_on_float32_data_of_large_magnitude_loses_no_candidate():
    X = (_two_blobs() * 1e18).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selector = GaussianMixtureSelector(
            n_components=3, covariance_type=("full", "diag"), random_state=0
        ).fit(X)
    assert np.isfinite(selector.cv_results_["bic"]).all()
