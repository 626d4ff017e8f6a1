"""What every public estimator does: scikit-learn's estimator checks, and what a
user relies on whatever the estimator (clone, pickling, pipelines and searches,
the same model for the same random_state, inputs left as they were).

Expected failures of the checks are data, each with its reason; instances with
two or more components have none.
"""

import pickle
from typing import NamedTuple

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from gmm_estimators import (
    GaussianMixture,
    GaussianMixtureSelector,
    MixtureOfPPCA,
    OnlineGaussianMixture,
)
from gmm_estimators._covariance import COVARIANCE_TYPES

# -- scikit-learn's estimator checks ----------------------------------------------

#: scikit-learn's four types. The ten other models of mclust's family are
#: tested in test_covariance_models.py: on these checks' few rows some of them
#: collapse, and which ones depends on the platform's rounding.
CHECKED_TYPES = list(COVARIANCE_TYPES)

CHECKED = [
    *(
        GaussianMixture(n_components=2, covariance_type=ct, random_state=0)
        for ct in CHECKED_TYPES
    ),
    GaussianMixture(random_state=0),
    GaussianMixture(n_components=2, acceleration="squarem", random_state=0),
    MixtureOfPPCA(n_components=2, n_latent=1, random_state=0),
    *(
        OnlineGaussianMixture(n_components=2, covariance_type=ct, random_state=0)
        for ct in CHECKED_TYPES
    ),
    GaussianMixtureSelector(
        n_components=range(1, 4), covariance_type=("full", "diag"), random_state=0
    ),
    # mclust's search: each candidate once from mclust's start (with EEE
    # the weight-equivalence check fails on the same fit, its components
    # numbered otherwise: mclust's tree numbers them by the rows' order)
    GaussianMixtureSelector(
        n_components=range(1, 4),
        covariance_type=("VVV", "VVI", "VVE"),
        search="mclust",
        random_state=0,
    ),
    # a transformer: the selector's tags and fit_transform follow it
    GaussianMixtureSelector(
        MixtureOfPPCA(n_latent=1),
        n_components=[1, 2],
        covariance_type=None,
        random_state=0,
    ),
]

EXPECTED_FAILED_CHECKS = {
    # One component cannot separate check_clustering's three blobs.
    "GaussianMixture(random_state=0)": {
        "check_clustering": "a single component cannot find three clusters",
    },
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(repr(estimator), {})


def _as_list(mark):
    """The parametrize mark with its values in a list: scikit-learn 1.6 passes a
    generator, which pytest >= 9 deprecates (an error under our filters)."""
    argnames, argvalues = mark.args
    return pytest.mark.parametrize(argnames, list(argvalues), **mark.kwargs)


# tiny random data sets: some of the selector's candidates stop at max_iter
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@_as_list(
    parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failed_checks)
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator", [e for e in CHECKED if _expected_failed_checks(e)], ids=repr
)
def test_expected_failures_are_real(estimator):
    """Every listed expected failure does fail (the list cannot rot)."""
    expected = _expected_failed_checks(estimator)
    results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert set(expected) <= failed


# -- what a user relies on, for each public estimator -------------------------------

ESTIMATORS = {
    "GaussianMixture": GaussianMixture(3, init_params="random", random_state=7),
    "MixtureOfPPCA": MixtureOfPPCA(3, n_latent=1, init_params="random", random_state=7),
    "OnlineGaussianMixture": OnlineGaussianMixture(
        3, batch_size=30, tol=1e-2, init_params="random", random_state=7
    ),
    "GaussianMixtureSelector": GaussianMixtureSelector(
        n_components=range(2, 4), random_state=3
    ),
}
NAMES = sorted(ESTIMATORS)
METHODS = ("predict", "predict_proba", "score_samples", "transform")


def _outputs(est, X):
    """What the fitted estimator says about X, by method."""
    return {m: getattr(est, m)(X) for m in METHODS if hasattr(est, m)}


@pytest.fixture(scope="module", params=NAMES)
def fitted(request, X_small):
    """Each public estimator fitted on X_small (shared: do not refit)."""
    return clone(ESTIMATORS[request.param]).fit(X_small)


def test_clone_of_fitted_is_unfitted(fitted):
    cloned = clone(fitted)
    assert cloned.get_params(deep=False) == fitted.get_params(deep=False)
    assert [name for name in vars(cloned) if name.endswith("_")] == []


def test_pickle_and_joblib_round_trip(fitted, X_small, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    expected = _outputs(fitted, X_small)
    assert {"predict", "predict_proba", "score_samples"} <= set(expected)
    for loaded in (joblib.load(path), pickle.loads(pickle.dumps(fitted))):
        outputs = _outputs(loaded, X_small)
        assert outputs.keys() == expected.keys()
        for method, values in expected.items():
            assert_array_equal(outputs[method], values, err_msg=method)
        assert getattr(loaded, "best_params_", None) == getattr(
            fitted, "best_params_", None
        )


def test_same_random_state_same_model_and_no_global_rng(fitted, X_small):
    """A refit with the same random_state gives the same model to the last bit
    (random initialisations here), and the global RNG is left alone."""
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    again = clone(fitted).fit(X_small)
    assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    best, best_again = (getattr(e, "best_estimator_", e) for e in (fitted, again))
    assert_array_equal(best_again.means_, best.means_)
    if hasattr(fitted, "cv_results_"):
        assert_array_equal(again.cv_results_["bic"], fitted.cv_results_["bic"])
    for method, values in _outputs(fitted, X_small).items():
        assert_array_equal(getattr(again, method)(X_small), values, err_msg=method)


@pytest.mark.parametrize("name", NAMES)
def test_html_repr_links_to_the_api_page(name):
    # the "?" link of the HTML representation (scikit-learn's _doc_link_*)
    estimator = ESTIMATORS[name]
    url = (
        "https://gmm-estimators.readthedocs.io/en/stable/generated/"
        f"gmm_estimators.{name}.html"
    )
    assert estimator._get_doc_link() == url
    assert f'href="{url}"' in estimator_html_repr(estimator)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_are_not_modified(name, X_small):
    X = np.asfortranarray(X_small)
    sample_weight = np.linspace(0, 2, len(X))
    X_before, weight_before = X.copy(), sample_weight.copy()
    est = clone(ESTIMATORS[name]).fit(X, sample_weight=sample_weight)
    _outputs(est, X)
    est.score(X)
    assert_array_equal(X, X_before)
    assert_array_equal(sample_weight, weight_before)


class Search(NamedTuple):
    """A grid search over a pipeline ending with the estimator, and its answer."""

    data: str  # the fixture holding X (or (X, y))
    first_step: object
    estimator: object
    grid: dict
    best_params: dict  # the part of best_params_ the data decide
    best_attributes: dict = {}  # fitted attributes of the refitted estimator


SEARCHES = {
    "GaussianMixture": Search(
        "blobs",
        StandardScaler(),
        GaussianMixture(random_state=0),
        {"n_components": [2, 4], "covariance_type": ["full", "diag"]},
        {"n_components": 4},
    ),
    # centred only: scaling each feature would make the noise anisotropic,
    # which the isotropic noise of PPCA pays for with more latent dimensions
    "MixtureOfPPCA": Search(
        "ppca_two_planes",
        StandardScaler(with_std=False),
        MixtureOfPPCA(2, random_state=0),
        {"n_latent": [1, 2, 4]},
        {"n_latent": 2},
    ),
    "OnlineGaussianMixture": Search(
        "blobs",
        StandardScaler(),
        OnlineGaussianMixture(batch_size=200, random_state=0),
        {"n_components": [2, 4], "covariance_type": ["full", "diag"]},
        {"n_components": 4},
    ),
    # held-out likelihood prefers the search that can reach 3 components
    "GaussianMixtureSelector": Search(
        "X_small",
        StandardScaler(),
        GaussianMixtureSelector(covariance_type="spherical", random_state=0),
        {"n_components": [range(1, 3), range(1, 5)]},
        {"n_components": range(1, 5)},
        {"n_components_": 3},
    ),
}


@pytest.fixture
def ppca_two_planes(ppca_mixture, rng):
    """Two clusters, each near its own plane in R^8."""
    return ppca_mixture(rng, d=8, q=2, K=2)


@pytest.mark.parametrize("name", NAMES)
def test_in_a_pipeline_in_a_grid_search(name, request):
    case = SEARCHES[name]
    X = request.getfixturevalue(case.data)
    X = X[0] if isinstance(X, tuple) else X
    pipe = make_pipeline(case.first_step, case.estimator)
    step = pipe.steps[-1][0]
    grid = {f"{step}__{key}": values for key, values in case.grid.items()}
    search = GridSearchCV(pipe, grid, cv=3).fit(X)
    best = search.best_estimator_[-1]
    chosen = best.get_params(deep=False)
    assert {key: chosen[key] for key in case.best_params} == case.best_params
    assert {key: getattr(best, key) for key in case.best_attributes} == (
        case.best_attributes
    )
    assert search.predict(X).shape == (len(X),)
    assert np.isfinite(search.score(X))
    cloned = clone(search.best_estimator_)
    assert cloned[-1].get_params(deep=False) == chosen
    assert [key for key in vars(cloned[-1]) if key.endswith("_")] == []
