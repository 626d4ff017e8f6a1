"""OnlineGaussianMixture: stepwise EM against exact EM and against an
independent numpy recursion, the model-independent statistics it averages,
the scikit-learn conventions of partial_fit, and the ways data reach it (a
loop over a memory-mapped file, dask-ml's Incremental)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from gmm_estimators import MCLUST_MODELS, GaussianMixture, OnlineGaussianMixture
from gmm_estimators._covariance import COVARIANCE_MODELS, COVARIANCE_TYPES
from gmm_estimators._gaussian_mixture import initial_parameters
from gmm_estimators._online import implied_stats
from gmm_estimators._stats import absolute_stats, block_stats, m_step, relative_stats

#: scikit-learn's four names, then mclust's fourteen (the four again under
#: their mclust names: the same classes, reached by another key).
ALL_TYPES = list(COVARIANCE_TYPES) + [m for m in MCLUST_MODELS]
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def _mixture(rng, n=1500, d=3, K=3, spread=6.0):
    """Rows of K anisotropic Gaussian clusters, in random order, and labels."""
    centers = rng.standard_normal((K, d)) * spread
    labels = rng.randint(K, size=n)
    scales = 0.5 + rng.uniform(size=(K, d))
    X = centers[labels] + rng.standard_normal((n, d)) * scales[labels]
    return X, labels


@pytest.fixture(scope="module")
def data():
    return _mixture(np.random.RandomState(0))


def _start(X, labels, covariance_type, K=3):
    w, m, p = initial_parameters(X, labels, covariance_type, n_components=K)
    return {"weights_init": w, "means_init": m, "precisions_init": p}


def _assert_same_model(a, b, rtol):
    for name in FITTED:
        assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, err_msg=name)


# -- one step of online EM on all the data is one step of exact EM ---------------


@pytest.mark.parametrize("covariance_type", ALL_TYPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_first_step_on_all_data_is_one_exact_em_step(data, covariance_type, weighted):
    """With learning_offset=0 the first step takes g = 1: on all rows it is
    exact EM's iteration from the same parameters, for every covariance
    model."""
    X, labels = data
    noisy = np.where(np.arange(len(X)) % 7 == 0, (labels + 1) % 3, labels)
    start = _start(X, noisy, covariance_type)
    sw = np.random.RandomState(1).uniform(0.2, 3.0, len(X)) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact = GaussianMixture(
            3, covariance_type=covariance_type, max_iter=1, **start
        ).fit(X, sample_weight=sw)
    online = OnlineGaussianMixture(
        3, covariance_type=covariance_type, learning_offset=0.0, **start
    )
    assert online.step_size(1) == 1.0
    online.partial_fit(X, sample_weight=sw)
    _assert_same_model(online, exact, rtol=1e-10)
    # the batch's log-likelihood is taken under the parameters before the step
    assert online.lower_bound_ == pytest.approx(exact.lower_bound_, rel=1e-12)
    assert online.n_steps_ == 1


# -- later steps: the recursion, against an independent numpy version -------------


def _reference_steps(batches, weights, means, covs, step_sizes, reg, covariance_type):
    """Stepwise EM written out with scipy densities and raw moments about the
    origin (dense covariances), for 'full', 'tied', 'diag' and 'spherical',
    from the moments of the initial mixture itself."""
    K, d = means.shape
    plain = covs - reg * np.eye(d)
    s = [
        weights,
        weights[:, None] * means,
        weights[:, None, None] * (plain + means[:, :, None] * means[:, None, :]),
    ]
    for X, g in zip(batches, step_sizes, strict=True):
        logp = np.column_stack(
            [
                multivariate_normal(means[k], covs[k]).logpdf(X) + np.log(weights[k])
                for k in range(K)
            ]
        )
        r = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
        n = len(X)
        batch = (
            r.sum(axis=0) / n,
            r.T @ X / n,
            np.einsum("ik,id,ie->kde", r, X, X) / n,
        )
        s = [(1 - g) * a + g * b for a, b in zip(s, batch, strict=True)]
        nk, s1, s2 = s
        means = s1 / nk[:, None]
        covs = s2 / nk[:, None, None] - means[:, :, None] * means[:, None, :]
        if covariance_type == "tied":
            covs = np.broadcast_to(
                (covs * nk[:, None, None]).sum(0) / nk.sum(), covs.shape
            )
        elif covariance_type == "diag":
            covs = np.einsum(
                "kd,de->kde", np.diagonal(covs, axis1=1, axis2=2), np.eye(d)
            )
        elif covariance_type == "spherical":
            var = np.trace(covs, axis1=1, axis2=2) / d
            covs = var[:, None, None] * np.eye(d)
        covs = covs + reg * np.eye(d)
        weights = nk / nk.sum()
    return weights, means, covs


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_steps_follow_the_stepwise_em_recursion(data, covariance_type):
    X, labels = data
    start = _start(X, labels, covariance_type)
    online = OnlineGaussianMixture(
        3,
        covariance_type=covariance_type,
        learning_decay=0.7,
        learning_offset=2.0,
        **start,
    )
    batches = np.array_split(X, 5)
    for batch in batches:
        online.partial_fit(batch)
    cls = COVARIANCE_MODELS[covariance_type]
    d = X.shape[1]
    initial = cls.from_precisions(
        start["means_init"], start["precisions_init"], np.zeros(d)
    )
    covs = cls.dense_covariances(initial.covariances, 3, d)
    steps = [online.step_size(t) for t in range(1, 6)]
    assert steps == pytest.approx([(t + 2.0) ** -0.7 for t in range(1, 6)])
    weights, means, covs = _reference_steps(
        batches,
        start["weights_init"],
        start["means_init"],
        covs,
        steps,
        1e-6,
        covariance_type,
    )
    assert online.n_steps_ == 5
    assert_allclose(online.weights_, weights, rtol=1e-9)
    assert_allclose(online.means_, means, rtol=1e-9)
    dense = cls.dense_covariances(online.covariances_, 3, X.shape[1])
    assert_allclose(dense, covs, rtol=1e-9, atol=1e-12)


# -- the model-independent statistics ---------------------------------------------


@pytest.mark.parametrize("covariance_type", ALL_TYPES)
def test_absolute_statistics_do_not_depend_on_the_model(data, covariance_type):
    """With one component every row has responsibility one: the statistics of
    the rows under two different models, once absolute, are the same; and
    relative_stats inverts absolute_stats."""
    X = data[0][:400]
    center = X.mean(axis=0)
    models = [
        GaussianMixture(1, covariance_type=covariance_type, random_state=seed)
        .fit(X[seed * 50 : seed * 50 + 200] * (1 + seed))
        ._get_model(center)
        for seed in (0, 1)
    ]
    assert not np.allclose(models[0].means, models[1].means)
    stats = [block_stats(model, np.ones(1), X) for model in models]
    absolute = [absolute_stats(m, s) for m, s in zip(models, stats, strict=True)]
    for key in absolute[0].stats:
        assert_allclose(absolute[0].stats[key], absolute[1].stats[key], rtol=1e-10)
    for model, s, a in zip(models, stats, absolute, strict=True):
        back = relative_stats(model, a)
        assert back.stats.keys() == s.stats.keys()
        if hasattr(model, "_scatter"):
            # the full family's statistics have two forms (the whitened
            # scatter, or the feature path's raw sums): compare what they mean
            assert_allclose(
                model._scatter(back.stats), model._scatter(s.stats), rtol=1e-10
            )
            continue
        for key, value in s.stats.items():
            assert_allclose(back.stats[key], value, rtol=1e-10, atol=1e-10)
    # the absolute form is the second moment about the centre
    xc = X - center
    full = xc.T @ xc
    expected = {
        "moments": full[None],  # full family
        "sq": np.diag(full)[None],  # diagonal family
    }
    for key, value in absolute[0].stats.items():
        want = expected[key]
        if value.shape == (1, 1):  # spherical family: the trace
            want = np.trace(full).reshape(1, 1)
        assert_allclose(value, want, rtol=1e-10)


@pytest.mark.parametrize(
    "covariance_type, reg_covar",
    [(name, 1e-6) for name in ALL_TYPES] + [(name, 0.1) for name in COVARIANCE_TYPES],
)
def test_a_mixture_is_the_m_step_of_its_implied_statistics(
    data, covariance_type, reg_covar
):
    """The running statistics start as those of the initial mixture: its own
    M-step gives it back."""
    X = data[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(
            3,
            covariance_type=covariance_type,
            reg_covar=reg_covar,
            max_iter=3,
            random_state=0,
        ).fit(X)
    model = gm._get_model(X.mean(axis=0) + 1.0)
    stats, scatter = implied_stats(model, gm.weights_, reg_covar)
    assert stats.total_weight == 1.0
    new, weights = m_step(
        model, relative_stats(model, stats), reg_covar=reg_covar, scatter=scatter
    )
    assert_allclose(weights, gm.weights_, rtol=1e-12)
    assert_allclose(new.means, model.means, rtol=1e-12)
    assert_allclose(new.covariances, model.covariances, rtol=1e-8, atol=1e-12)


# -- convergence ---------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_converges_near_the_exact_optimum(covariance_type):
    """On well-separated clusters a few passes of mini-batches come within a
    few thousandths of a nat per row of exact EM's optimum (same start)."""
    rng = np.random.RandomState(3)
    X, labels = _mixture(rng, n=20_000, d=3, K=3, spread=8.0)
    start = _start(X[:1000], labels[:1000], covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact = GaussianMixture(
            3, covariance_type=covariance_type, tol=1e-10, max_iter=500, **start
        ).fit(X)
    online = OnlineGaussianMixture(
        3,
        covariance_type=covariance_type,
        batch_size=500,
        max_iter=4,
        tol=0.0,
        random_state=0,
        **start,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        online.fit(X)
    assert online.n_iter_ == 4
    assert online.n_steps_ == 4 * 40
    gap = exact.score(X) - online.score(X)
    assert -1e-9 < gap < 2e-3
    assert_allclose(online.means_, exact.means_, atol=0.05)
    assert_allclose(online.weights_, exact.weights_, atol=0.01)


def test_fit_stops_at_tol_and_matches_predict(data):
    X = data[0]
    gm = OnlineGaussianMixture(3, batch_size=300, tol=1e-3, random_state=0)
    labels = gm.fit_predict(X)
    assert gm.converged_
    assert 1 <= gm.n_iter_ < gm.max_iter
    assert gm.n_steps_ == 5 * gm.n_iter_
    assert len(gm.lower_bounds_) == gm.n_iter_
    assert gm.lower_bound_ == gm.lower_bounds_[-1]
    assert_array_equal(labels, gm.labels_)
    assert_array_equal(labels, gm.predict(X))
    assert gm.log_likelihood_ == pytest.approx(gm.score(X), rel=1e-12)
    assert gm.bic(X) == pytest.approx(
        -2 * gm.score(X) * len(X) + gm.n_parameters_ * np.log(len(X))
    )
    assert gm.sample(5)[0].shape == (5, X.shape[1])
    assert_allclose(gm.predict_proba(X).sum(axis=1), 1.0)


def test_max_iter_zero_is_the_initialisation(data):
    X, labels = data
    start = _start(X, labels, "full")
    gm = OnlineGaussianMixture(3, max_iter=0, **start).fit(X)
    assert gm.n_steps_ == 0 and gm.n_iter_ == 0
    assert_allclose(gm.means_, start["means_init"])
    assert_allclose(gm.precisions_, start["precisions_init"], rtol=1e-10)


def test_warm_start_and_partial_fit_continue(data):
    X = data[0]
    gm = OnlineGaussianMixture(3, batch_size=500, max_iter=2, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
        assert gm.n_steps_ == 6
        gm.partial_fit(X[:100])
        assert gm.n_steps_ == 7
        assert not hasattr(gm, "labels_")  # no longer the fitted model's
        gm.set_params(warm_start=True).fit(X)
        assert gm.n_steps_ == 13
        gm.set_params(warm_start=False).fit(X)
        assert gm.n_steps_ == 6


# -- weights, dtypes, determinism -------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_weight_is_repetition(data, covariance_type):
    X = data[0][:600]
    counts = np.random.RandomState(2).randint(0, 4, len(X))
    weighted = OnlineGaussianMixture(3, covariance_type=covariance_type, random_state=0)
    repeated = clone(weighted)
    for part in np.array_split(np.arange(len(X)), 3):
        weighted.partial_fit(X[part], sample_weight=counts[part])
        repeated.partial_fit(np.repeat(X[part], counts[part], axis=0))
    _assert_same_model(weighted, repeated, rtol=1e-8)


def test_float32_stays_float32(data):
    X = data[0]
    X32 = X.astype(np.float32)
    kwargs = {"batch_size": 300, "max_iter": 3, "tol": 0, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm32 = OnlineGaussianMixture(3, **kwargs).fit(X32)
        gm64 = OnlineGaussianMixture(3, **kwargs).fit(X)
    for name in FITTED:
        assert getattr(gm32, name).dtype == np.float32
    assert gm32.score_samples(X32).dtype == np.float32
    assert_allclose(gm32.means_, gm64.means_, rtol=1e-4, atol=1e-4)
    assert gm32.score(X32) == pytest.approx(gm64.score(X), abs=1e-4)
    # a large float32 batch is computed in float32
    big = np.tile(X32, (60, 1))
    gm = OnlineGaussianMixture(3, random_state=0).partial_fit(big)
    assert gm.means_.dtype == np.float32
    assert np.all(np.isfinite(gm.covariances_))


def test_same_random_state_same_model(data):
    X = data[0]
    kwargs = {"batch_size": 200, "init_params": "random", "random_state": 5}
    a = OnlineGaussianMixture(3, **kwargs).fit(X)
    b = OnlineGaussianMixture(3, **kwargs).fit(X)
    for name in FITTED:
        assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.n_steps_ == b.n_steps_


# -- bad input, and inputs left alone ----------------------------------------------


def test_bad_input(data):
    X = data[0]
    gm = OnlineGaussianMixture(2, random_state=0)
    bad = X[:50].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gm.partial_fit(bad)
    with pytest.raises(ValueError, match="0 sample"):
        gm.partial_fit(X[:0])
    with pytest.raises(ValueError, match="at least n_components = 2 rows"):
        gm.partial_fit(X[:1])
    assert not hasattr(gm, "means_")
    assert not hasattr(gm, "n_features_in_")  # a failed call changes nothing
    gm.partial_fit(X[:50])
    with pytest.raises(ValueError, match="3 features"):
        gm.partial_fit(X[:50, :2])
    with pytest.raises(ValueError, match="0 sample"):
        gm.partial_fit(X[:0])
    with pytest.raises(ValueError, match="non-zero"):
        gm.partial_fit(X[:5], sample_weight=np.zeros(5))
    gm.set_params(n_components=4)
    with pytest.raises(ValueError, match="continues the mixture"):
        gm.partial_fit(X[:50])
    for decay in (0.5, 1.5):
        with pytest.raises(InvalidParameterError, match="learning_decay"):
            OnlineGaussianMixture(learning_decay=decay).partial_fit(X)
    with pytest.raises(InvalidParameterError, match="learning_offset"):
        OnlineGaussianMixture(learning_offset=-1.0).fit(X)
    with pytest.raises(ValueError, match="mini-batch"):
        OnlineGaussianMixture(5, batch_size=3).fit(X)


def test_a_failed_step_changes_nothing(data):
    X = data[0]
    gm = OnlineGaussianMixture(2, random_state=0).partial_fit(X[:100])
    before = {k: np.copy(v) for k, v in vars(gm).items() if k.endswith("_")}
    with pytest.raises(ValueError):
        gm.partial_fit(np.full((5, 3), np.inf))
    for key, value in before.items():
        assert_array_equal(getattr(gm, key), value)
    assert gm.n_steps_ == 1


def test_inputs_are_not_modified(data):
    X = np.asfortranarray(data[0][:500])
    sw = np.linspace(0.0, 2.0, len(X))
    X_before, sw_before = X.copy(), sw.copy()
    gm = OnlineGaussianMixture(3, batch_size=100, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X, sample_weight=sw)
    gm.partial_fit(X, sample_weight=sw)
    gm.predict_proba(X)
    gm.score(X, sample_weight=sw)
    assert_array_equal(X, X_before)
    assert_array_equal(sw, sw_before)


# -- where the data come from ----------------------------------------------------


def test_loop_over_chunks_of_a_memory_mapped_file(data, tmp_path):
    X = data[0].astype(np.float32)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    from_disk = OnlineGaussianMixture(3, random_state=0)
    in_memory = clone(from_disk)
    for start in range(0, len(X), 256):
        from_disk.partial_fit(mapped[start : start + 256])
        in_memory.partial_fit(X[start : start + 256])
    for name in FITTED:
        assert_array_equal(getattr(from_disk, name), getattr(in_memory, name))
    # fit reads a memory map a mini-batch at a time, and leaves it read-only
    gm = OnlineGaussianMixture(3, batch_size=256, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(mapped)
    assert not mapped.flags.writeable
    assert gm.means_.dtype == np.float32


def test_dask_ml_incremental(data):
    """dask-ml's Incremental feeds the chunks of a Dask array to partial_fit,
    in order: the same model as the loop over those chunks."""
    pytest.importorskip("dask_ml")
    da = pytest.importorskip("dask.array")
    from dask_ml.wrappers import Incremental

    X = data[0]
    chunks = (400, 300, 500, 300)
    dX = da.from_array(X, chunks=(chunks, X.shape[1]))
    est = OnlineGaussianMixture(3, random_state=0)
    inc = Incremental(est, shuffle_blocks=False).fit(dX)
    loop = clone(est)
    start = 0
    for size in chunks:
        loop.partial_fit(X[start : start + size])
        start += size
    assert inc.estimator_.n_steps_ == len(chunks)
    _assert_same_model(inc.estimator_, loop, rtol=1e-12)
    labels = inc.predict(dX)
    assert_array_equal(labels.compute(), loop.predict(X))


def test_dask_arrays_predict_lazily_and_fit_says_how(data):
    da = pytest.importorskip("dask.array")
    X = data[0]
    dX = da.from_array(X, chunks=(500, X.shape[1]))
    gm = OnlineGaussianMixture(3, random_state=0)
    with pytest.raises(TypeError, match="Incremental"):
        gm.fit(dX)
    assert not hasattr(gm, "means_")
    for block in dX.blocks:
        gm.partial_fit(block.compute())
    labels = gm.predict(dX)
    assert hasattr(labels, "dask")
    assert_array_equal(labels.compute(), gm.predict(X))
