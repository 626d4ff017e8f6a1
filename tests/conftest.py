"""Shared fixtures for the test suite: the seed, and the data sets that more
than one test module uses (data generators are fixtures that return the
function, so that a test can ask for a variant)."""

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import make_blobs

matplotlib.use("Agg")


@pytest.fixture
def seed():
    """The seed every randomised test starts from."""
    return 0


@pytest.fixture
def rng(seed):
    """A fresh generator per test, so no test touches the global RNG."""
    return np.random.RandomState(seed)


@pytest.fixture
def blobs(seed):
    """Four well separated blobs in five dimensions with unequal spreads."""
    X, y = make_blobs(
        n_samples=600,
        n_features=5,
        centers=4,
        cluster_std=[0.5, 1.0, 1.5, 0.8],
        random_state=seed,
    )
    return X, y


def _separated_blobs(n_clusters, n_per_cluster=60, seed=0):
    """``make_blobs`` of unit spread, centres on a grid 12 apart (well separated)."""
    side = int(np.ceil(np.sqrt(n_clusters)))
    centers = 12.0 * np.array([(i // side, i % side) for i in range(n_clusters)])
    return make_blobs(
        n_samples=[n_per_cluster] * n_clusters, centers=centers, random_state=seed
    )


@pytest.fixture(scope="session")
def separated_blobs():
    """``separated_blobs(n_clusters, n_per_cluster=60, seed=0)`` -> ``(X, y)``:
    unit-spread blobs in 2-D with centres on a grid 12 apart."""
    return _separated_blobs


@pytest.fixture(scope="session")
def X_small():
    """90 rows of 3 separated clusters in 2-D, in random order."""
    X = _separated_blobs(3, n_per_cluster=30)[0]
    X.flags.writeable = False  # shared by every test of the session
    return X


def _ppca_mixture(rng, n_per=300, d=6, q=2, K=3, noise=0.3, spread=8.0):
    """Samples of a mixture of probabilistic PCA and the true labels."""
    X, y = [], []
    for k in range(K):
        W = rng.standard_normal((d, q)) * 2.0
        mu = rng.standard_normal(d) * spread
        X.append(rng.standard_normal((n_per, q)) @ W.T + mu)
        X[-1] += noise * rng.standard_normal((n_per, d))
        y.append(np.full(n_per, k))
    return np.vstack(X), np.concatenate(y)


@pytest.fixture(scope="session")
def ppca_mixture():
    """``ppca_mixture(rng, n_per=300, d=6, q=2, K=3, noise=0.3, spread=8.0)``
    -> ``(X, y)``: K clusters, each of ``n_per`` points near its own q-dimensional
    subspace of R^d (isotropic noise of standard deviation ``noise``)."""
    return _ppca_mixture
