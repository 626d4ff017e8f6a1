"""The block-statistics API (gmm_estimators._stats): statistics add, flatten
and scale, and one M-step from their sum is the engine's EM iteration."""

import numpy as np
import pytest

from gmm_estimators import GaussianMixture, MixtureOfPPCA
from gmm_estimators._covariance import COVARIANCE_TYPES
from gmm_estimators._em import em_step, fit_blocks
from gmm_estimators._stats import BlockStats, block_stats, m_step


def _fitted(kind, X, sw=None):
    if kind == "ppca":
        est = MixtureOfPPCA(3, n_latent=1, max_iter=3, random_state=0)
    else:
        est = GaussianMixture(3, covariance_type=kind, max_iter=3, random_state=0)
    return est.fit(X, sample_weight=sw)


@pytest.fixture
def data(rng):
    X = np.vstack([rng.standard_normal((400, 3)) + 4 * c for c in np.eye(3)])
    return X, rng.uniform(0.1, 2.0, len(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", [*COVARIANCE_TYPES, "ppca"])
def test_statistics_add_and_m_step_is_em_step(data, kind):
    X, sw = data
    est = _fitted(kind, X, sw)
    sw = sw / sw.min()  # the engine's scale
    blocks, scatter = fit_blocks(X, sw, est._model_class(), est._fit_row_width(3))
    model = est._get_model(blocks.center.astype(np.float64))
    weights = np.asarray(est.weights_, dtype=np.float64)
    whole = block_stats(model, weights, X, sw)
    parts = [
        block_stats(model, weights, X[a:b], sw[a:b], block_rows=50)
        for a, b in [(0, 100), (100, 700), (700, 1200)]
    ]
    total = sum(parts)
    vec = BlockStats.from_vector(sum(p.to_vector() for p in parts), like=whole)
    ref = whole.to_vector()
    for stats in (total, vec):  # to rounding, relative to the largest sum
        atol = 1e-12 * np.abs(ref).max()
        np.testing.assert_allclose(stats.to_vector(), ref, rtol=1e-12, atol=atol)
    new_model, new_weights = m_step(model, total, est.reg_covar, scatter)
    with blocks.limits():
        ref_model, ref_weights, ref_lb = em_step(
            blocks, model, weights, sw, est.reg_covar, scatter
        )
    np.testing.assert_allclose(new_weights, ref_weights, rtol=1e-12)
    np.testing.assert_allclose(new_model.means, ref_model.means, rtol=1e-12)
    assert total.lower_bound == pytest.approx(ref_lb, rel=1e-12)
    assert total.total_weight == pytest.approx(sw.sum(), rel=1e-12)


def test_scale_copy_and_checks():
    a = BlockStats([1.0, 2.0], [[1.0], [2.0]], {"q": np.ones(2)}, -3.0, 3.0)
    b = a.scale(2.0)
    np.testing.assert_array_equal(b.to_vector(), 2 * a.to_vector())
    c = a.copy()
    c += a
    np.testing.assert_array_equal(c.to_vector(), b.to_vector())
    np.testing.assert_array_equal(a.nk, [1.0, 2.0])  # a unchanged
    assert (0 + a).ll == a.ll and sum([a, a]).total_weight == 6.0
    with pytest.raises(ValueError, match="different models"):
        a + BlockStats([1.0], [[1.0]], {"q": np.ones(1)})
    with pytest.raises(ValueError, match="values"):
        BlockStats.from_vector(np.zeros(3), like=a)
    with pytest.raises(TypeError):
        a + "x"
    assert "n_components=2" in repr(a)


def test_block_stats_checks_shapes(data):
    X, _ = data
    est = GaussianMixture(2, random_state=0).fit(X)
    model = est._get_model(X.mean(axis=0))
    with pytest.raises(ValueError, match="shape"):
        block_stats(model, est.weights_, X[:, :2])
    with pytest.raises(ValueError, match="sample_weight"):
        block_stats(model, est.weights_, X, np.ones(3))
    empty = block_stats(model, est.weights_, X[:0])
    assert empty.total_weight == 0.0 and not empty.nk.any()
