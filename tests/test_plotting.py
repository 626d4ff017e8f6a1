"""Tests of CriterionDisplay (matplotlib, Agg backend)."""

import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError

from gmm_estimators._selection import GaussianMixtureSelector
from gmm_estimators.plotting import CriterionDisplay


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def X():
    return make_blobs(n_samples=120, centers=3, cluster_std=0.7, random_state=0)[0]


@pytest.fixture(scope="module")
def selector(X):
    return GaussianMixtureSelector(
        n_components=range(1, 6), covariance_type=("full", "diag"), random_state=0
    ).fit(X)


def test_from_estimator_draws_one_line_per_covariance_type(selector):
    display = CriterionDisplay.from_estimator(selector)
    results = selector.cv_results_
    assert [line.get_label() for line in display.lines_] == ["full", "diag"]
    for line, covariance_type in zip(display.lines_, ["full", "diag"], strict=True):
        rows = np.asarray(results["param_covariance_type"]) == covariance_type
        assert_array_equal(line.get_xdata(), range(1, 6))
        assert_allclose(line.get_ydata(), results["bic"][rows])
    assert_array_equal(display.best_marker_.get_xdata(), [selector.n_components_])
    assert_allclose(display.best_marker_.get_ydata(), [selector.best_score_])
    assert display.ax_.get_xlabel() == "Number of components"
    assert display.ax_.get_ylabel() == "BIC (lower is better)"
    assert display.figure_ is display.ax_.figure
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[-1] == f"selected: {selector.covariance_type_}, K=3"


def test_from_estimator_draws_on_the_given_axes(selector):
    fig, (ax1, ax2) = plt.subplots(1, 2)
    display = CriterionDisplay.from_estimator(selector, criterion="aic", ax=ax2)
    assert display.ax_ is ax2 and display.figure_ is fig
    assert len(ax1.get_lines()) == 0
    assert display.ax_.get_ylabel() == "AIC (lower is better)"
    assert_allclose(
        np.concatenate([line.get_ydata() for line in display.lines_]),
        selector.cv_results_["aic"],
    )
    # the mark stays on the model the selector chose (by BIC)
    assert_allclose(
        display.best_marker_.get_ydata(),
        [selector.cv_results_["aic"][selector.best_index_]],
    )


def test_cv_criterion_plots_negative_held_out_likelihood(X):
    selector = GaussianMixtureSelector(
        n_components=range(1, 4),
        covariance_type="spherical",
        criterion="cv",
        cv=3,
        random_state=0,
    ).fit(X)
    display = CriterionDisplay.from_estimator(selector)
    assert_allclose(
        display.lines_[0].get_ydata(), -selector.cv_results_["mean_test_score"]
    )
    assert display.ax_.get_ylabel().startswith("Negative mean held-out")


def test_cv_criterion_needs_a_cv_selector(selector):
    with pytest.raises(ValueError, match="criterion='cv' needs a selector fitted"):
        CriterionDisplay.from_estimator(selector, criterion="cv")


def test_unknown_criterion_is_an_error(selector):
    with pytest.raises(ValueError, match="criterion must be one of"):
        CriterionDisplay.from_estimator(selector, criterion="bik")


def test_unfitted_selector_is_an_error():
    with pytest.raises(NotFittedError):
        CriterionDisplay.from_estimator(GaussianMixtureSelector())


def test_lines_per_param_grid_combination(X):
    selector = GaussianMixtureSelector(
        n_components=range(1, 4),
        covariance_type="diag",
        param_grid={"reg_covar": [1e-6, 1e-2]},
        random_state=0,
    ).fit(X)
    display = CriterionDisplay.from_estimator(selector)
    assert [line.get_label() for line in display.lines_] == [
        "diag, reg_covar=1e-06",
        "diag, reg_covar=0.01",
    ]


def test_single_line_is_named_after_the_estimator(X):
    selector = GaussianMixtureSelector(
        n_components=range(1, 4), covariance_type=None, random_state=0
    ).fit(X)
    display = CriterionDisplay.from_estimator(selector)
    assert [line.get_label() for line in display.lines_] == ["GaussianMixture"]


def test_plot_from_arrays_skips_non_finite_values():
    display = CriterionDisplay(
        [1, 2, 3, 1, 2, 3],
        [10.0, 8.0, np.nan, 12.0, 9.0, 11.0],
        labels=["a", "a", "a", "b", "b", "b"],
        best_index=1,
        criterion="icl",
    ).plot()
    assert_array_equal(display.lines_[0].get_xdata(), [1, 2])
    assert_array_equal(display.lines_[1].get_ydata(), [12.0, 9.0, 11.0])
    assert display.ax_.get_ylabel() == "ICL (lower is better)"


def test_plot_without_best_index_marks_nothing():
    display = CriterionDisplay([1, 2], [3.0, 4.0], labels=["x", "x"]).plot()
    assert display.best_marker_ is None


def test_plot_checks_lengths():
    with pytest.raises(ValueError, match="same length"):
        CriterionDisplay([1, 2, 3], [1.0, 2.0], labels=["a", "a"]).plot()


def test_missing_matplotlib_message(selector, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install gmm-estimators\[plot\]"):
        CriterionDisplay.from_estimator(selector)
    with pytest.raises(ImportError, match=r"pip install gmm-estimators\[plot\]"):
        CriterionDisplay([1], [1.0], labels=["a"]).plot()
