"""Tests of CriterionDisplay and ClusterDisplay (matplotlib, Agg backend)."""

import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba_array
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from gmm_estimators import MCLUST_MODELS, GaussianMixture, MixtureOfPPCA
from gmm_estimators._selection import GaussianMixtureSelector
from gmm_estimators.plotting import ClusterDisplay, CriterionDisplay


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


def test_fourteen_models_are_drawn_legibly():
    # one line per model, grouped by family: the marker names the orientation,
    # the line style the volume; the legend sits beside the axes
    labels = [name for name in MCLUST_MODELS for _ in range(3)]
    k = [1, 2, 3] * len(MCLUST_MODELS)
    values = np.arange(len(labels), dtype=float)
    display = CriterionDisplay(k, values, labels=labels, best_index=4).plot()
    lines = {line.get_label(): line for line in display.lines_}
    assert list(lines) == list(MCLUST_MODELS)
    assert {lines[m].get_marker() for m in ("EII", "VII")} == {"o"}
    assert {lines[m].get_marker() for m in ("EEI", "VEI", "EVI", "VVI")} == {"s"}
    assert {lines[m].get_marker() for m in ("EEE", "VEE", "EVE", "VVE")} == {"^"}
    assert {lines[m].get_marker() for m in ("EEV", "VEV", "EVV", "VVV")} == {"D"}
    assert lines["EVE"].get_linestyle() == "--" and lines["VVE"].get_linestyle() == "-"
    colors = {tuple(line.get_color()) for line in display.lines_}
    assert len(colors) == len(MCLUST_MODELS)
    legend = display.ax_.get_legend()
    assert legend._ncols == 2
    display.figure_.canvas.draw()
    box = legend.get_window_extent()
    assert box.x0 >= display.ax_.get_window_extent().x1  # beside, not over
    plt.close(display.figure_)


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


def test_plot_from_arrays_draws_non_finite_values_as_gaps():
    # a missing value (mclust's NA: a degenerate fit) breaks its line, as
    # mclust's plot: no segment bridges it (it was bridged from 2 to 4)
    display = CriterionDisplay(
        [1, 2, 3, 4, 1, 2, 3, 4],
        [10.0, 8.0, np.nan, 9.0, 12.0, np.inf, 11.0, 10.0],
        labels=["a"] * 4 + ["b"] * 4,
        best_index=1,
        criterion="icl",
    ).plot()
    assert_array_equal(display.lines_[0].get_xdata(), [1, 2, 3, 4])
    assert_array_equal(display.lines_[0].get_ydata(), [10.0, 8.0, np.nan, 9.0])
    assert_array_equal(display.lines_[1].get_ydata(), [12.0, np.nan, 11.0, 10.0])
    # matplotlib draws a line in pieces between its non-finite points
    path = display.lines_[0].get_path()
    assert np.isnan(path.vertices[2]).any()
    assert display.ax_.get_ylabel() == "ICL (lower is better)"


def test_every_candidate_degenerate_is_drawn_and_the_choice_marked():
    # where every candidate is degenerate the selector chooses among them:
    # the plot draws them and marks the choice (it drew nothing, the mark
    # at NaN)
    import warnings

    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_wine().data)[:40]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selector = GaussianMixtureSelector(
            n_components=[3, 4], covariance_type=["full"], random_state=0
        ).fit(X)
    assert (selector.cv_results_["degenerate"] != "").all()
    display = CriterionDisplay.from_estimator(selector)
    assert_array_equal(display.lines_[0].get_ydata(), selector.cv_results_["bic"])
    assert display.best_marker_.get_ydata()[0] == selector.best_score_


def test_plot_without_best_index_marks_nothing():
    display = CriterionDisplay([1, 2], [3.0, 4.0], labels=["x", "x"]).plot()
    assert display.best_marker_ is None


def test_plot_checks_lengths():
    with pytest.raises(ValueError, match="same length"):
        CriterionDisplay([1, 2, 3], [1.0, 2.0], labels=["a", "a"]).plot()


def test_missing_matplotlib_message(selector, X, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install gmm-estimators\[plot\]"):
        CriterionDisplay.from_estimator(selector)
    with pytest.raises(ImportError, match=r"pip install gmm-estimators\[plot\]"):
        CriterionDisplay([1], [1.0], labels=["a"]).plot()
    with pytest.raises(ImportError, match=r"pip install gmm-estimators\[plot\]"):
        ClusterDisplay.from_estimator(selector, X)


# -- ClusterDisplay --------------------------------------------------------------
def assert_ellipse_at(ellipse, mean, covariance, n_std):
    """Every point of the outline is at Mahalanobis distance n_std of mean."""
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    unit_circle = np.column_stack([np.cos(t), np.sin(t)])
    diff = ellipse.get_patch_transform().transform(unit_circle) - mean
    distance = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(covariance), diff)
    assert_allclose(distance, n_std**2, rtol=1e-9)


def colors_of(labels):
    """The RGB colour of each label's cluster."""
    return to_rgba_array([f"C{k % 10}" for k in labels])[:, :3]


def point_colors(scatter):
    return scatter.get_facecolors()[:, :3]


def test_ellipse_axes_of_a_known_covariance():
    # eigenvalues 4 along (1, 1) and 1 along (1, -1): half-axes 2 and 1 at 1 sd
    covariance = [[2.5, 1.5], [1.5, 2.5]]
    display = ClusterDisplay(
        [[0.0, 0.0], [1.0, 1.0]],
        [0, 0],
        means=[[1.0, 2.0]],
        covariances=[covariance],
        n_std=[1, 3],
    ).plot()
    inner, outer = display.ellipses_[0]
    assert (inner.width, inner.height) == pytest.approx((4.0, 2.0))
    assert (outer.width, outer.height) == pytest.approx((12.0, 6.0))
    assert inner.angle % 180 == pytest.approx(45.0)
    assert_array_equal(inner.center, [1.0, 2.0])
    assert_ellipse_at(outer, [1.0, 2.0], covariance, 3)
    assert_array_equal(display.centers_.get_xydata(), [[1.0, 2.0]])
    assert display.ax_.get_xlabel() == "" and display.figure_ is display.ax_.figure


def dense(gm):
    """The covariance matrices of a fitted GaussianMixture, written out by hand."""
    K, d = gm.means_.shape
    cov = gm.covariances_
    if gm.covariance_type == "full":
        return cov
    if gm.covariance_type == "tied":
        return np.array([cov] * K)
    if gm.covariance_type == "diag":
        return np.array([np.diag(c) for c in cov])
    return np.array([c * np.eye(d) for c in cov])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_two_features_are_drawn_in_their_own_plane(X, covariance_type):
    gm = GaussianMixture(
        n_components=3, covariance_type=covariance_type, random_state=0
    ).fit(X)
    display = ClusterDisplay.from_estimator(gm, X)
    (scatter,) = display.scatters_
    assert_allclose(scatter.get_offsets(), X)
    assert_allclose(point_colors(scatter), colors_of(gm.predict(X)))
    assert len(display.ellipses_) == 3
    for k, ((ellipse,), mean, cov) in enumerate(
        zip(display.ellipses_, gm.means_, dense(gm), strict=True)
    ):
        assert_ellipse_at(ellipse, mean, cov, 2)
        assert_allclose(ellipse.get_edgecolor()[:3], colors_of([k])[0])
        if covariance_type in ("diag", "spherical"):  # aligned with the axes
            assert np.sin(np.radians(2 * ellipse.angle)) == pytest.approx(0, abs=1e-9)
    assert_allclose(display.centers_.get_xydata(), gm.means_)
    assert display.ax_.get_xlabel() == ""  # an array has no column names


def test_more_features_are_projected_on_the_principal_components(blobs):
    X5, _ = blobs
    gm = GaussianMixture(n_components=4, random_state=0).fit(X5)
    display = ClusterDisplay.from_estimator(gm, X5, n_std=1)
    pca = PCA(n_components=2).fit(X5)  # deterministic: the same axes and signs
    assert_allclose(display.scatters_[0].get_offsets(), pca.transform(X5))
    V = pca.components_
    for (ellipse,), mean, cov in zip(
        display.ellipses_, gm.means_, gm.covariances_, strict=True
    ):
        assert_ellipse_at(ellipse, pca.transform(mean[None])[0], V @ cov @ V.T, 1)
    ratio = pca.explained_variance_ratio_
    assert display.ax_.get_xlabel() == (
        f"first principal component ({ratio[0]:.0%} of variance)"
    )
    assert display.ax_.get_ylabel().startswith("second principal component")


def test_mixture_of_ppca_and_selector(X):
    mppca = MixtureOfPPCA(n_components=3, n_latent=1, random_state=0).fit(X)
    display = ClusterDisplay.from_estimator(mppca, X)
    for (ellipse,), mean, cov in zip(
        display.ellipses_, mppca.means_, mppca.covariances_, strict=True
    ):
        assert_ellipse_at(ellipse, mean, cov, 2)

    selector = GaussianMixtureSelector(
        n_components=range(2, 4), covariance_type="diag", random_state=0
    ).fit(X)
    display = ClusterDisplay.from_estimator(selector, X)
    best = selector.best_estimator_
    assert len(display.ellipses_) == selector.n_components_
    assert_allclose(display.centers_.get_xydata(), best.means_)
    assert_allclose(
        point_colors(display.scatters_[0]),
        colors_of(selector.labels_),
    )


def test_known_classes_are_markers_and_frames_name_the_axes(X):
    frame = pd.DataFrame(X, columns=["width", "height"])
    y = np.arange(len(X)) % 2
    gm = GaussianMixture(n_components=3, random_state=0).fit(frame)
    fig, (_, ax) = plt.subplots(1, 2)
    display = ClusterDisplay.from_estimator(
        gm,
        frame,
        y=y,
        ax=ax,
        scatter_kwargs={"s": 5},
        ellipse_kwargs={"linestyle": "--"},
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert [s.get_label() for s in display.scatters_] == ["class 0", "class 1"]
    assert_allclose(display.scatters_[1].get_offsets(), X[y == 1])
    # the marker is the class, the colour still the cluster
    assert_allclose(
        point_colors(display.scatters_[1]), colors_of(gm.predict(frame)[y == 1])
    )
    assert_allclose(display.scatters_[0].get_sizes(), [5])
    assert display.ax_.get_legend().get_title().get_text() == "marker: known class"
    assert display.ellipses_[0][0].get_linestyle() == "--"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("width", "height")


def test_labels_can_be_given(X):
    gm = GaussianMixture(n_components=3, random_state=0).fit(X)
    labels = np.zeros(len(X), dtype=int)
    display = ClusterDisplay.from_estimator(gm, X, labels=labels)
    assert_allclose(point_colors(display.scatters_[0]), colors_of(labels))


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda X: (GaussianMixture(), X), NotFittedError, "not fitted"),
        (
            lambda X: (KMeans(2, n_init=1).fit(X), X),
            TypeError,
            "means_ and covariances_",
        ),
        (
            lambda X: (GaussianMixture(random_state=0).fit(X[:, :1]), X[:, :1]),
            ValueError,
            "at least 2 features",
        ),
        (
            lambda X: (GaussianMixture(random_state=0).fit(X), np.c_[X, X]),
            ValueError,
            "4 features",
        ),
    ],
    ids=["unfitted", "no covariances", "one feature", "feature count"],
)
def test_from_estimator_errors(X, make, error, match):
    estimator, data = make(X)
    with pytest.raises(error, match=match):
        ClusterDisplay.from_estimator(estimator, data, labels=np.zeros(len(data), int))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"points": [[0.0, 1.0, 2.0]]}, "2 columns"),
        ({"labels": [0, 1]}, "one non-negative integer per point"),
        ({"labels": [-1]}, "one non-negative integer per point"),
        ({"labels": [0.5]}, "one non-negative integer per point"),
        ({"y": [0, 1]}, "one value per point"),
        ({"covariances": None}, "given together"),
        ({"covariances": [[1.0, 0.0], [0.0, 1.0]]}, "shape"),
        ({"n_std": 0}, "n_std must be a positive number"),
        ({"n_std": []}, "n_std must be a positive number"),
    ],
)
def test_plot_checks_its_arrays(kwargs, match):
    arrays = {
        "points": [[0.0, 0.0]],
        "labels": [0],
        "means": [[0.0, 0.0]],
        "covariances": [np.eye(2)],
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        ClusterDisplay(arrays.pop("points"), arrays.pop("labels"), **arrays).plot()
