"""Property-based tests (hypothesis) over the three estimators: weight scaling,
row order, translation and scaling equivariance, float32/float64,
``fit_predict == fit().predict`` and consistent predictions.

Examples are bounded and derandomised, so the suite is deterministic and fast.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import adjusted_rand_score

from gmm_estimators import GaussianMixture, GaussianMixtureSelector, MixtureOfPPCA

SETTINGS = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

ESTIMATORS = {
    "full": lambda: GaussianMixture(3, random_state=0),
    "diag": lambda: GaussianMixture(3, covariance_type="diag", random_state=0),
    "hc": lambda: GaussianMixture(3, init_params="hc", random_state=0),
    # mclust's models with inner iterations: a fixed point and plane rotations
    "VEV": lambda: GaussianMixture(3, covariance_type="VEV", random_state=0),
    "VVE": lambda: GaussianMixture(3, covariance_type="VVE", random_state=0),
    "ppca": lambda: MixtureOfPPCA(3, n_latent=1, random_state=0),
    "selector": lambda: GaussianMixtureSelector(
        n_components=[2, 3], covariance_type=("spherical", "diag"), random_state=0
    ),
}


@st.composite
def clustered(draw):
    """Three well separated clusters in 2 to 4 dimensions, 15 to 40 rows each."""
    seed = draw(st.integers(0, 2**31 - 1))
    d = draw(st.integers(2, 4))
    n = draw(st.integers(15, 40))
    rng = np.random.RandomState(seed)
    centers = rng.standard_normal((3, d)) * 2
    centers[:, 0] += np.array([0.0, 12.0, 24.0])
    X = np.vstack([c + rng.standard_normal((n, d)) for c in centers])
    return X[rng.permutation(len(X))]


def _fit(name, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ESTIMATORS[name]().fit(X, **kwargs)


def _same_partition(a, b):
    """The same clustering, whatever the numbering of the components."""
    assert adjusted_rand_score(a, b) == 1.0


def _sorted_means(est):
    means = np.asarray(
        est.best_estimator_.means_ if hasattr(est, "best_estimator_") else est.means_,
        dtype=np.float64,
    )
    return means[np.argsort(means[:, 0])]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(X=clustered(), exponent=st.integers(-15, 15))
def test_weight_scaling(name, X, exponent):
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(X))
    a = _fit(name, X, sample_weight=w)
    b = _fit(name, X, sample_weight=w * 10.0**exponent)
    _same_partition(a.predict(X), b.predict(X))
    assert_allclose(a.score(X), b.score(X), rtol=1e-8)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(X=clustered(), seed=st.integers(0, 1000))
def test_row_order(name, X, seed):
    perm = np.random.RandomState(seed).permutation(len(X))
    a, b = _fit(name, X), _fit(name, X[perm])
    assert_allclose(_sorted_means(a), _sorted_means(b), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(
    X=clustered(),
    shift=st.floats(-1e3, 1e3, allow_nan=False),
    scale=st.sampled_from([0.5, 4.0, 1e3]),
)
def test_translation_and_scaling_equivariance(name, X, shift, scale):
    a = _fit(name, X)
    b = _fit(name, X * scale + shift)
    _same_partition(a.predict(X), b.predict(X * scale + shift))
    # densities transform with the Jacobian of the map
    d = X.shape[1]
    assert_allclose(
        a.score(X), b.score(X * scale + shift) + d * np.log(scale), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(X=clustered())
def test_float32_agrees_with_float64(name, X):
    a = _fit(name, X)
    b = _fit(name, X.astype(np.float32))
    _same_partition(a.predict(X), b.predict(X.astype(np.float32)))
    assert_allclose(_sorted_means(a), _sorted_means(b), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@SETTINGS
@given(X=clustered())
def test_fit_predict_and_predictions_agree(name, X):
    est = ESTIMATORS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = est.fit_predict(X) if hasattr(est, "fit_predict") else None
    assert_array_equal(labels, est.predict(X))
    assert_array_equal(est.predict(X), np.argmax(est.predict_proba(X), axis=1))
    assert_allclose(est.predict_proba(X).sum(axis=1), 1.0, rtol=1e-10)


@settings(SETTINGS, max_examples=300)
@given(
    n=st.integers(0, 400_000),
    rows=st.integers(128, 65536),
    threads=st.integers(1, 8),
)
def test_guided_runs_cover_the_rows_in_blocks(n, rows, threads):
    # The runs a pass shares out (_Blocks.run): every row once, in order, in
    # blocks of at most ``rows`` rows that never cross a multiple of ``rows``
    # (so Dask chunks cut as the runs see the same blocks); one run of whole
    # blocks on one thread; with more, runs within their guided share.
    from gmm_estimators._em import _GUIDED_SHARE, _MIN_ROWS, _guided_runs

    plan = _guided_runs(n, rows, threads)
    pieces = [piece for run in plan for piece in run]
    assert all(run for run in plan)
    assert pieces[0][0] == 0 and pieces[-1][1] == n
    for (_, stop), (start, _) in zip(pieces[:-1], pieces[1:], strict=True):
        assert stop == start
    for start, stop in pieces:
        assert 0 < stop - start <= rows or n == 0
        assert (stop - 1) // rows == start // rows or n == 0
    if threads == 1:
        assert len(plan) == 1 and len(pieces) == -(-n // rows) or n == 0
    if threads > 1:
        # guided: a run holds about the rows left over _GUIDED_SHARE times
        # the threads, whole blocks or one piece of at least a quarter block
        # (and _MIN_ROWS), the rest of its block where at most half that
        # would be left
        smallest = min(rows, max(_MIN_ROWS, rows // 4))
        for run in plan:
            start, stop = run[0][0], run[-1][1]
            share = (n - start) // (_GUIDED_SHARE * threads)
            assert stop - start <= max(share, smallest) + smallest // 2
            assert stop - start >= min(smallest, n - start) or stop % rows == 0
            if stop % rows and stop < n:  # a piece ending inside its block
                assert (stop // rows + 1) * rows - stop > smallest // 2
        if n >= 4 * threads * rows:
            assert plan[0][-1][1] >= rows  # whole blocks first
