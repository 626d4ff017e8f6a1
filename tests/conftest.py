"""Shared fixtures for the test suite."""

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
