"""Tests of GaussianMixtureSelector: selection, results, robustness, API."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import xlogy
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning, NotFittedError
from sklearn.model_selection import KFold

from gmm_estimators import _init
from gmm_estimators._covariance import COVARIANCE_TYPES, MCLUST_MODELS
from gmm_estimators._gaussian_mixture import GaussianMixture
from gmm_estimators._online import OnlineGaussianMixture
from gmm_estimators._ppca import MixtureOfPPCA
from gmm_estimators._selection import GaussianMixtureSelector, default_estimator


def overlapping_pair(n_per_cluster=400, separation=2.5, seed=0):
    """Two unit Gaussians whose means are `separation` apart: they overlap."""
    rng = np.random.RandomState(seed)
    X = np.vstack(
        [
            rng.standard_normal((n_per_cluster, 2)),
            rng.standard_normal((n_per_cluster, 2)) + [separation, 0.0],
        ]
    )
    return X


@pytest.fixture(scope="module")
def fitted(X_small):
    """A selector over 1..4 components and scikit-learn's four covariance types."""
    return GaussianMixtureSelector(
        n_components=range(1, 5), covariance_type=COVARIANCE_TYPES, random_state=0
    ).fit(X_small)


class _NoFastPath(GaussianMixture):
    """GaussianMixture without the attributes of the criteria fast path."""

    def fit(self, X, y=None, sample_weight=None):
        super().fit(X, y, sample_weight=sample_weight)
        del self.log_likelihood_, self.responsibility_entropy_, self.n_parameters_
        return self


class _FailsFromThree(GaussianMixture):
    """GaussianMixture whose fit raises for three components or more."""

    def fit(self, X, y=None, sample_weight=None):
        if self.n_components >= 3:
            raise RuntimeError("too many components")
        return super().fit(X, y, sample_weight=sample_weight)


class _SphericalMixture(BaseEstimator):
    """A mixture with the public API only: no covariance_type, has transform."""

    def __init__(self, n_components=1, tol=1e-3, random_state=None):
        self.n_components = n_components
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None):
        self.gm_ = GaussianMixture(
            self.n_components,
            covariance_type="spherical",
            tol=self.tol,
            random_state=self.random_state,
        ).fit(X)
        return self

    def bic(self, X):
        return self.gm_.bic(X)

    def aic(self, X):
        return self.gm_.aic(X)

    def score(self, X, y=None):
        return self.gm_.score(X)

    def predict(self, X):
        return self.gm_.predict(X)

    def predict_proba(self, X):
        return self.gm_.predict_proba(X)

    def transform(self, X):
        return self.gm_.predict_proba(X)


# --- selection -------------------------------------------------------------


@pytest.mark.parametrize("n_clusters", range(1, 7))
def test_bic_recovers_the_number_of_separated_clusters(
    n_clusters, seed, separated_blobs
):
    X, y = separated_blobs(n_clusters, seed=seed)
    # one to two components more than there are clusters, all covariance types
    selector = GaussianMixtureSelector(n_components=n_clusters + 2, random_state=seed)
    selector.fit(X)
    assert selector.n_components_ == n_clusters
    # and the clusters themselves (up to a relabelling)
    for label in range(n_clusters):
        assert len(np.unique(selector.labels_[y == label])) == 1


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_icl_picks_fewer_components_than_bic_on_overlapping_clusters(
    covariance_type, seed
):
    X = overlapping_pair(seed=seed)
    icl = GaussianMixtureSelector(
        n_components=4,
        covariance_type=covariance_type,
        criterion="icl",
        random_state=seed,
    ).fit(X)
    assert icl.n_components_ == 1
    # The candidates' fits do not depend on the criterion (the same table as
    # with criterion="bic", and test_best_candidate_minimises_the_criterion
    # checks that the selector picks the column's minimum): BIC picks 2.
    results = icl.cv_results_
    assert results["param_n_components"][np.argmin(results["bic"])] == 2


@pytest.mark.parametrize("criterion", ["bic", "aic", "icl"])
def test_best_candidate_minimises_the_criterion(X_small, criterion):
    selector = GaussianMixtureSelector(
        n_components=range(1, 5), criterion=criterion, random_state=0
    ).fit(X_small)
    column = selector.cv_results_[criterion]
    assert selector.best_index_ == np.argmin(column)
    assert selector.best_score_ == column.min()
    assert selector.best_params_ == selector.cv_results_["params"][selector.best_index_]
    assert selector.n_components_ == selector.best_params_["n_components"]
    assert selector.covariance_type_ == selector.best_params_["covariance_type"]
    assert selector.cv_results_["rank_test_score"][selector.best_index_] == 1
    assert getattr(selector, criterion)(X_small) == pytest.approx(selector.best_score_)


def test_criteria_from_fit_attributes_match_the_public_api(X_small):
    """The fast path (fit attributes) and the public methods give the same numbers."""
    params = dict(n_components=range(1, 4), random_state=0)
    fast = GaussianMixtureSelector(GaussianMixture(), **params).fit(X_small)
    public = GaussianMixtureSelector(_NoFastPath(), **params).fit(X_small)
    for key in ("bic", "aic", "icl", "log_likelihood"):
        assert_allclose(fast.cv_results_[key], public.cv_results_[key], rtol=1e-10)
    assert_array_equal(
        fast.cv_results_["n_parameters"], public.cv_results_["n_parameters"]
    )


def test_icl_is_bic_plus_twice_the_classification_entropy(fitted, X_small):
    best = fitted.best_estimator_
    resp = best.predict_proba(X_small)
    expected = best.bic(X_small) - 2 * xlogy(resp, resp).sum()
    assert fitted.cv_results_["icl"][fitted.best_index_] == pytest.approx(expected)
    assert fitted.icl(X_small) == pytest.approx(expected)


def test_cv_criterion_scores_held_out_log_likelihood(X_small):
    folds = KFold(3, shuffle=True, random_state=0)
    selector = GaussianMixtureSelector(
        n_components=range(1, 4),
        covariance_type=("full", "diag"),
        criterion="cv",
        cv=folds,
        random_state=0,
    ).fit(X_small)
    results = selector.cv_results_
    splits = np.column_stack([results[f"split{i}_test_score"] for i in range(3)])
    assert_allclose(results["mean_test_score"], splits.mean(axis=1))
    assert_allclose(results["std_test_score"], splits.std(axis=1))
    assert selector.best_score_ == -results["mean_test_score"].max()
    assert selector.best_index_ == np.argmax(results["mean_test_score"])
    # one component has a closed form: check its folds by hand
    for i, (train, test) in enumerate(folds.split(X_small)):
        gm = GaussianMixture(1, covariance_type="full").fit(X_small[train])
        assert results[f"split{i}_test_score"][0] == pytest.approx(
            gm.score(X_small[test])
        )


def test_cv_as_int_shuffles_rows_reproducibly(separated_blobs):
    # rows sorted by cluster: unshuffled folds would hold out whole clusters
    X, y = separated_blobs(3, n_per_cluster=20)
    X = X[np.argsort(y, kind="stable")]
    params = dict(n_components=4, covariance_type="spherical", criterion="cv", cv=3)
    a = GaussianMixtureSelector(random_state=1, **params).fit(X)
    b = GaussianMixtureSelector(random_state=1, **params).fit(X)
    assert_array_equal(
        a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
    )
    assert a.n_components_ == 3


# --- speed mechanisms ------------------------------------------------------


def test_starts_are_shared_across_the_grid(X_small, monkeypatch):
    """One hc tree per data set, one k-means per start and number of components,
    whatever the number of covariance types."""
    calls = []
    original = _init._compute_start

    def counting(method, X, sample_weight, n_components, rng):
        calls.append((method, n_components if method == "kmeans" else None, len(X)))
        return original(method, X, sample_weight, n_components, rng)

    monkeypatch.setattr(_init, "_compute_start", counting)
    GaussianMixtureSelector(n_components=range(1, 5), random_state=0).fit(X_small)
    # n_init=4: four k-means starts per number of components (with one
    # component, the 'hc' start alone: every start is the same partition)
    assert sorted(c for c in calls if c[0] == "kmeans") == [
        ("kmeans", k, 90) for k in range(2, 5) for _ in range(4)
    ]
    assert [c for c in calls if c[0] == "hc"] == [("hc", None, 90)]

    calls.clear()
    GaussianMixtureSelector(
        n_components=range(1, 3), criterion="cv", cv=3, random_state=0
    ).fit(X_small)
    hc = sorted(c[2] for c in calls if c[0] == "hc")
    assert hc == [60, 60, 60, 90]  # the full data, then each training fold


def test_candidate_is_the_gaussian_mixture_with_the_selector_seed(X_small):
    """best_params_ with the default starts and the selector's random_state
    reproduce the candidate (one covariance type: no cross-type restarts)."""
    selector = GaussianMixtureSelector(
        n_components=[2, 3], covariance_type="diag", random_state=0
    ).fit(X_small)
    gm = clone(default_estimator()).set_params(**selector.best_params_, random_state=0)
    assert gm.fit(X_small).bic(X_small) == pytest.approx(selector.best_score_)
    assert selector.best_estimator_.get_params() == {
        **default_estimator().get_params(),
        **selector.best_params_,
    }


def test_mclust_search_is_one_fit_from_mclusts_start_per_candidate(X_small):
    """search='mclust': each candidate is GaussianMixture(init_params='hc',
    n_init=1) with the estimator's other parameters, fitted alone (no
    restarts), while its parameters stay the estimator's."""
    params = dict(n_components=[1, 2, 3], covariance_type=["VVV", "EEV", "VVE"])
    selector = GaussianMixtureSelector(search="mclust", random_state=0, **params)
    selector.fit(X_small)
    for candidate, bic in zip(
        selector.cv_results_["params"], selector.cv_results_["bic"], strict=True
    ):
        alone = clone(default_estimator()).set_params(
            **candidate, init_params="hc", n_init=1, random_state=0
        )
        # (the selector's BIC is from the fit's own log-likelihood: rounding)
        assert alone.fit(X_small).bic(X_small) == pytest.approx(bic, rel=1e-13)
    assert selector.best_estimator_.get_params() == {
        **default_estimator().get_params(),
        **selector.best_params_,
    }
    # mclust's start is deterministic on small data: the seed changes nothing
    other = GaussianMixtureSelector(search="mclust", random_state=7, **params)
    assert_array_equal(
        other.fit(X_small).cv_results_["bic"], selector.cv_results_["bic"]
    )


def test_thorough_search_ends_at_least_where_mclusts_does(X_small):
    """The default search restarts each candidate from more than mclust's
    start: its choice's criterion is never worse than search='mclust''s."""
    params = dict(n_components=range(1, 6), random_state=0)
    thorough = GaussianMixtureSelector(**params).fit(X_small)
    mclust = GaussianMixtureSelector(search="mclust", **params).fit(X_small)
    assert thorough.best_score_ <= mclust.best_score_ + 1e-6


def test_mclust_search_with_cv_and_on_a_user_estimator(X_small):
    """The folds' fits start from mclust's start too, and a user's
    GaussianMixture keeps its own other parameters (here tol)."""
    estimator = GaussianMixture(tol=1e-4, init_params="random", n_init=3)
    selector = GaussianMixtureSelector(
        estimator,
        n_components=[2, 3],
        covariance_type="full",
        criterion="cv",
        search="mclust",
        cv=3,
        random_state=0,
    ).fit(X_small)
    assert np.isfinite(selector.cv_results_["mean_test_score"]).all()
    alone = (
        clone(estimator)
        .set_params(**selector.best_params_, init_params="hc", n_init=1)
        .fit(X_small)
    )
    assert_allclose(selector.best_estimator_.means_, alone.means_, rtol=0, atol=0)
    assert selector.best_estimator_.get_params()["init_params"] == "random"


@pytest.mark.parametrize(
    "estimator", [MixtureOfPPCA(n_latent=1), OnlineGaussianMixture()]
)
def test_mclust_search_needs_a_gaussian_mixture(X_small, estimator):
    with pytest.raises(ValueError, match="search='mclust'.*only GaussianMixture"):
        GaussianMixtureSelector(estimator, n_components=2, search="mclust").fit(X_small)


def test_parallel_fit_matches_sequential(X_small):
    params = dict(n_components=range(1, 4), random_state=0)
    sequential = GaussianMixtureSelector(**params).fit(X_small)
    parallel = GaussianMixtureSelector(n_jobs=2, **params).fit(X_small)
    for key in ("bic", "aic", "icl", "n_iter"):
        assert_array_equal(sequential.cv_results_[key], parallel.cv_results_[key])
    assert_array_equal(sequential.predict(X_small), parallel.predict(X_small))


# --- results ---------------------------------------------------------------


def test_cv_results_layout(fitted):
    results = fitted.cv_results_
    n = 4 * 4
    frame = pd.DataFrame(results)
    assert len(frame) == n
    expected = {
        "params",
        "param_n_components",
        "param_covariance_type",
        "bic",
        "aic",
        "icl",
        "log_likelihood",
        "n_parameters",
        "converged",
        "n_iter",
        "fit_time",
        "mean_fit_time",
        "std_fit_time",
        "degenerate",
        "rank_test_score",
    }
    assert set(results) == expected
    assert isinstance(results["param_n_components"], np.ma.MaskedArray)
    # order: covariance type, then number of components
    assert list(results["param_n_components"]) == [1, 2, 3, 4] * 4
    assert list(results["param_covariance_type"]) == [
        c for c in COVARIANCE_TYPES for _ in range(4)
    ]
    assert results["params"][5] == {"n_components": 2, "covariance_type": "tied"}
    rank, bic = results["rank_test_score"], results["bic"]
    assert rank.min() == 1 and rank[np.argmin(bic)] == 1
    assert (
        np.sign(np.subtract.outer(rank, rank)) == np.sign(np.subtract.outer(bic, bic))
    ).all()
    assert results["converged"].dtype == bool and results["converged"].all()
    assert (results["fit_time"] > 0).all()
    # full: K (d + d(d+1)/2) + K - 1 parameters, d=2
    assert list(results["n_parameters"][:4]) == [5, 11, 17, 23]
    # spherical: K (d + 1) + K - 1
    assert list(results["n_parameters"][12:]) == [3, 7, 11, 15]
    assert_allclose(
        results["bic"],
        -2 * 90 * results["log_likelihood"] + results["n_parameters"] * np.log(90),
    )


def test_param_grid_adds_candidates_and_columns(X_small):
    selector = GaussianMixtureSelector(
        n_components=range(1, 3),
        covariance_type="diag",
        param_grid=[{"reg_covar": [1e-6, 1.0]}, {"tol": [1e-2]}],
        random_state=0,
    ).fit(X_small)
    results = selector.cv_results_
    assert len(results["params"]) == 6
    assert results["param_reg_covar"].mask.tolist() == [False] * 4 + [True] * 2
    assert results["param_tol"].mask.tolist() == [True] * 4 + [False] * 2
    assert list(results["param_covariance_type"]) == ["diag"] * 6
    # a large regularisation flattens the clusters: a worse BIC
    assert results["bic"][3] > results["bic"][1]


def test_mclust_searches_the_fourteen_models(X_small):
    # "mclust" is mclust's family in mclust's order; names may be mixed
    selector = GaussianMixtureSelector(
        GaussianMixture(init_params="kmeans"),
        n_components=[2],
        covariance_type="mclust",
        random_state=0,
    ).fit(X_small)
    assert list(selector.cv_results_["param_covariance_type"]) == list(MCLUST_MODELS)
    best = np.argmin(selector.cv_results_["bic"])
    assert selector.best_index_ == best
    assert selector.covariance_type_ == MCLUST_MODELS[best]
    mixed = GaussianMixtureSelector(
        n_components=[1], covariance_type=["VEV", "diag", "EII"], random_state=0
    ).fit(X_small)
    assert list(mixed.cv_results_["param_covariance_type"]) == ["VEV", "diag", "EII"]
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixtureSelector(covariance_type=["VEV", "XYZ"]).fit(X_small)


def test_mclust_on_one_feature_searches_e_and_v(X_small):
    """For one feature the fourteen models are E or V (a one-dimensional
    covariance is a volume): "mclust" searches those two, as mclustBIC does,
    and each is the same model as its seven counterparts (EII..EVV, VII..VVV)
    from the same start."""
    X = X_small[:, :1]
    selector = GaussianMixtureSelector(
        n_components=range(1, 4), covariance_type="mclust", random_state=0
    ).fit(X)
    types = list(selector.cv_results_["param_covariance_type"])
    assert types == ["E"] * 3 + ["V"] * 3
    for name, same in [("E", "EVV"), ("V", "VVE")]:
        for k in (2, 3):
            ours = GaussianMixture(k, covariance_type=name, init_params="hc").fit(X)
            theirs = GaussianMixture(k, covariance_type=same, init_params="hc").fit(X)
            assert ours.n_parameters_ == theirs.n_parameters_
            assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-9)


def test_covariance_type_none_keeps_the_estimators_own(X_small):
    selector = GaussianMixtureSelector(
        GaussianMixture(covariance_type="diag"),
        n_components=range(1, 4),
        covariance_type=None,
        random_state=0,
    ).fit(X_small)
    assert "param_covariance_type" not in selector.cv_results_
    assert selector.covariance_type_ == "diag"
    assert selector.best_estimator_.covariance_type == "diag"


def test_any_estimator_with_the_mixture_api(X_small):
    selector = GaussianMixtureSelector(
        _SphericalMixture(),
        n_components=range(1, 5),
        covariance_type=None,
        param_grid={"tol": [1e-3, 1e-4]},
        random_state=0,
    ).fit(X_small)
    assert selector.n_components_ == 3
    assert selector.covariance_type_ is None
    assert isinstance(selector.best_estimator_, _SphericalMixture)
    # as in GridSearchCV, the candidates' parameters are the searched ones only
    assert selector.best_estimator_.random_state is None
    assert_allclose(selector.transform(X_small), selector.predict_proba(X_small))
    assert_array_equal(selector.labels_, selector.predict(X_small))
    assert not hasattr(selector, "sample")


def test_selects_order_and_latent_dimension_of_mixture_of_ppca():
    """Three clusters stretched along lines in 6-D: K=3, one latent dimension."""
    rng = np.random.RandomState(0)
    clusters = []
    for _ in range(3):
        direction = rng.standard_normal(6)
        direction /= np.linalg.norm(direction)
        t = 3 * rng.standard_normal((80, 1))
        noise = 0.1 * rng.standard_normal((80, 6))
        clusters.append(10 * rng.standard_normal(6) + t * direction + noise)
    X = np.vstack(clusters)
    selector = GaussianMixtureSelector(
        MixtureOfPPCA(),
        n_components=5,
        covariance_type=None,
        param_grid={"n_latent": [1, 2, 3]},
        random_state=0,
    ).fit(X)
    assert selector.best_params_ == {"n_components": 3, "n_latent": 1}
    assert selector.covariance_type_ is None
    assert_allclose(selector.transform(X), selector.best_estimator_.transform(X))


def test_choice_does_not_depend_on_the_unit_of_the_data():
    """iris in units 1e7 times smaller or larger: the same choice (VEV,2) and
    every BIC shifted by 2 n d log(c). With the default estimator's former
    absolute reg_covar=1e-10, data 1e5 times smaller chose EII,2."""
    from sklearn.datasets import load_iris

    X = load_iris().data
    n, d = X.shape
    params = dict(
        n_components=range(1, 4),
        covariance_type=["EII", "VVI", "VEV", "VVV"],
        random_state=0,
    )
    base = GaussianMixtureSelector(**params).fit(X)
    assert base.best_params_ == {"n_components": 2, "covariance_type": "VEV"}
    for c in (1e-7, 1e7):
        scaled = GaussianMixtureSelector(**params).fit(X * c)
        assert scaled.best_params_ == base.best_params_
        assert_allclose(
            scaled.cv_results_["bic"] - 2 * n * d * np.log(c),
            base.cv_results_["bic"],
            rtol=0,
            atol=1e-5,
        )


def test_constant_feature_is_named_in_a_warning(X_small):
    """A feature constant over the rows of positive weight: every candidate's
    variance along it is reg_covar, which decides the criteria; the search
    runs and says so, naming the feature (by name from a DataFrame)."""
    params = dict(n_components=[1, 2], covariance_type="full", random_state=0)
    X = np.c_[X_small, np.full(len(X_small), 7.0)]
    with pytest.warns(
        UserWarning, match=r"feature\(s\) 2 \(counted from 0\) are constant"
    ):
        GaussianMixtureSelector(**params).fit(X)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.warns(UserWarning, match="feature\\(s\\) 'c' are constant"):
        GaussianMixtureSelector(**params).fit(frame)
    # constant only where the weight is positive
    varied = X.copy()
    varied[0, 2] = 8.0
    weights = np.ones(len(X))
    weights[0] = 0.0
    with pytest.warns(UserWarning, match="constant"):
        GaussianMixtureSelector(**params).fit(varied, sample_weight=weights)
    # no warning where every feature varies (a duplicated one included)
    diag = {**params, "covariance_type": "diag"}
    noise = np.random.RandomState(0).standard_normal(len(X_small))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixtureSelector(**diag).fit(np.c_[X_small, noise])
        GaussianMixtureSelector(**diag).fit(np.c_[X_small, X_small[:, :1]])


def test_estimator_without_covariance_type_refuses_types(X_small):
    for types in ("mclust", COVARIANCE_TYPES, "diag"):
        selector = GaussianMixtureSelector(
            _SphericalMixture(), n_components=2, covariance_type=types
        )
        with pytest.raises(ValueError, match="has no covariance_type parameter"):
            selector.fit(X_small)


def test_auto_searches_every_covariance_type_the_estimator_has(X_small):
    """The default: mclust's fourteen for the package's mixture, scikit-learn's
    four for scikit-learn's, the estimator's own for one without the
    parameter; each is the search that names them."""
    from sklearn.mixture import GaussianMixture as SklearnMixture

    for estimator, types in [
        (GaussianMixture(init_params="kmeans"), list(MCLUST_MODELS)),
        (SklearnMixture(random_state=0), list(COVARIANCE_TYPES)),
        (_SphericalMixture(random_state=0), None),
    ]:
        auto = GaussianMixtureSelector(estimator, n_components=[2], random_state=0)
        assert auto.covariance_type == "auto"
        auto.fit(X_small)
        named = GaussianMixtureSelector(
            estimator,
            n_components=[2],
            covariance_type=types,
            random_state=0,
        ).fit(X_small)
        if types is None:
            assert "param_covariance_type" not in auto.cv_results_
        else:
            assert list(auto.cv_results_["param_covariance_type"]) == types
        assert_allclose(auto.cv_results_["bic"], named.cv_results_["bic"])
    # one feature: mclust's univariate E and V
    one = GaussianMixtureSelector(n_components=[1, 2], random_state=0)
    one.fit(X_small[:, :1])
    assert list(one.cv_results_["param_covariance_type"]) == ["E", "E", "V", "V"]


def test_delegates_to_the_best_estimator(fitted, X_small):
    best = fitted.best_estimator_
    assert_array_equal(fitted.labels_, best.predict(X_small))
    assert_array_equal(fitted.predict(X_small), best.predict(X_small))
    assert_allclose(fitted.predict_proba(X_small), best.predict_proba(X_small))
    assert_allclose(fitted.score_samples(X_small), best.score_samples(X_small))
    assert fitted.score(X_small) == best.score(X_small)
    assert fitted.bic(X_small) == best.bic(X_small)
    assert fitted.aic(X_small) == best.aic(X_small)
    X_new, y_new = fitted.sample(7)
    assert X_new.shape == (7, 2) and y_new.shape == (7,)
    assert_array_equal(fitted.fit_predict(X_small), fitted.labels_)
    assert not hasattr(fitted, "transform")


def test_refit_false_keeps_results_only(X_small):
    selector = GaussianMixtureSelector(
        n_components=range(1, 4), refit=False, random_state=0
    ).fit(X_small)
    assert "bic" in selector.cv_results_
    assert selector.n_components_ == 3
    assert not hasattr(selector, "best_estimator_")
    assert not hasattr(selector, "labels_")
    assert not hasattr(selector, "predict")
    with pytest.raises(AttributeError) as excinfo:
        selector.predict(X_small)
    assert "refit=False" in str(excinfo.value.__cause__)


def test_refit_false_after_a_refit_keeps_no_earlier_model(X_small):
    # refitted with refit=False, the selector must not keep the model (and
    # labels) of its earlier fit on other data: predict would use it
    selector = GaussianMixtureSelector(
        n_components=range(1, 4), covariance_type=["full"], random_state=0
    ).fit(X_small[:30])
    assert hasattr(selector, "best_estimator_")
    selector.set_params(refit=False).fit(X_small)
    for name in ("best_estimator_", "labels_", "refit_time_"):
        assert not hasattr(selector, name)
    with pytest.raises(AttributeError):
        selector.predict(X_small)


def test_no_feature_names_warning_while_fitting_on_a_dataframe(X_small):
    # the labels of an estimator without labels_ (scikit-learn's mixture) are
    # predicted on the checked array before the best estimator learns the
    # feature names: fitting on a DataFrame warns about nothing
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    frame = pd.DataFrame(X_small, columns=["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        selector = GaussianMixtureSelector(
            SkGaussianMixture(random_state=0), n_components=range(1, 3), random_state=0
        ).fit(frame)
        assert_array_equal(selector.predict(frame), selector.labels_)
    assert list(selector.best_estimator_.feature_names_in_) == ["a", "b"]


def test_covariance_type_as_a_numpy_array(X_small):
    # "array-like" as the parameter's constraint says: a numpy array of names
    # searches what the list does
    params = dict(n_components=range(1, 3), random_state=0)
    listed = GaussianMixtureSelector(covariance_type=["full", "diag"], **params)
    arrayed = GaussianMixtureSelector(
        covariance_type=np.array(["full", "diag"]), **params
    )
    listed.fit(X_small)
    arrayed.fit(X_small)
    assert arrayed.cv_results_["params"] == listed.cv_results_["params"]
    assert_array_equal(arrayed.cv_results_["bic"], listed.cv_results_["bic"])


def test_verbose_search_leaves_the_best_estimator_quiet(X_small, capsys):
    # verbose=2 passes verbose=1 to the candidates during the search only:
    # the best estimator's parameters are the estimator's plus best_params_
    selector = GaussianMixtureSelector(
        n_components=range(1, 3), covariance_type=["full"], verbose=2, random_state=0
    ).fit(X_small)
    capsys.readouterr()
    expected = {**default_estimator().get_params(), **selector.best_params_}
    assert selector.best_estimator_.get_params() == {
        **expected,
        "random_state": selector.best_estimator_.random_state,
    }
    assert selector.best_estimator_.verbose == 0
    clone(selector.best_estimator_).fit(X_small)
    assert capsys.readouterr().out == ""


def test_search_warnings_point_at_the_callers_line(X_small):
    # the summaries the search warns after its fits (not converged, failed)
    # are reported at the line that called fit, as the constant-feature one
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GaussianMixtureSelector(
            GaussianMixture(max_iter=1, tol=0.0), n_components=2, covariance_type="full"
        ).fit(X_small)
        GaussianMixtureSelector(
            n_components=2, covariance_type=["full", "E"], random_state=0
        ).fit(X_small)
    kinds = {w.category for w in caught}
    assert {ConvergenceWarning, FitFailedWarning} <= kinds
    for w in caught:
        if w.category in (ConvergenceWarning, FitFailedWarning):
            assert w.filename == __file__, (w.category, w.filename)


def test_unfitted_selector_raises_not_fitted(X_small):
    with pytest.raises(NotFittedError):
        GaussianMixtureSelector().predict(X_small)


def test_estimator_and_params_are_not_mutated(X_small):
    estimator = GaussianMixture(tol=1e-4)
    before = estimator.get_params()
    n_components = [1, 2, 3]
    selector = GaussianMixtureSelector(
        estimator, n_components=n_components, covariance_type=["diag", "full"]
    ).fit(X_small)
    assert estimator.get_params() == before
    assert not hasattr(estimator, "means_")
    assert selector.estimator is estimator
    assert n_components == [1, 2, 3]
    assert selector.best_estimator_ is not estimator


# --- robustness ------------------------------------------------------------


def test_failing_candidates_are_recorded_with_one_warning(X_small):
    with pytest.warns(FitFailedWarning, match="4 of 8 fits failed") as record:
        selector = GaussianMixtureSelector(
            _FailsFromThree(),
            n_components=range(1, 5),
            covariance_type=("full", "spherical"),
            error_score=-1.0,
        ).fit(X_small)
    assert len([w for w in record if w.category is FitFailedWarning]) == 1
    # each error once, after the candidates it ended
    message = str(record[0].message)
    assert message.count("too many components") == 1
    assert (
        "n_components=3, covariance_type='full'; n_components=4, covariance_type="
        "'full'; n_components=3, covariance_type='spherical'; n_components=4, "
        "covariance_type='spherical': RuntimeError: too many components"
    ) in message
    results = selector.cv_results_
    failed = np.asarray(results["param_n_components"]) >= 3
    assert (results["bic"][failed] == -1.0).all()
    assert results["n_parameters"].mask.tolist() == failed.tolist()
    assert not results["converged"][failed].any()
    # a failed candidate is never selected, even with a tempting error_score
    assert selector.n_components_ == 2
    assert (
        results["rank_test_score"][failed] > results["rank_test_score"][~failed].max()
    ).all()


@pytest.mark.parametrize("error_score", [np.nan, "raise"])
def test_candidate_collapsing_from_every_start_is_degenerate_not_failed(error_score):
    # three distinct points, ten times each, and no regularisation: with two
    # or three components one holds a single point whatever the start, and
    # its covariance is exactly zero (mclust's NA).  That is a degenerate
    # candidate, said in cv_results_, not a fit to debug: no
    # FitFailedWarning, and no error even with error_score="raise".
    X = np.repeat([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], 10, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selector = GaussianMixtureSelector(
            GaussianMixture(reg_covar=0.0),
            n_components=range(1, 4),
            covariance_type=["full", "diag"],
            error_score=error_score,
            random_state=0,
        ).fit(X)
    results = selector.cv_results_
    collapsed = np.asarray(results["param_n_components"]) >= 2
    reasons = results["degenerate"]
    assert all(r.startswith("every start collapsed: ") for r in reasons[collapsed])
    assert all("not positive definite" in r for r in reasons[collapsed])
    assert (reasons[~collapsed] == "").all()
    assert np.isnan(results["bic"][collapsed]).all()
    assert results["n_parameters"].mask.tolist() == collapsed.tolist()
    assert selector.n_components_ == 1
    # the one-component fits are the closed-form ones
    for params, bic in zip(results["params"], results["bic"], strict=True):
        if params["n_components"] == 1:
            est = GaussianMixture(reg_covar=0.0, **params).fit(X)
            assert bic == pytest.approx(est.bic(X), rel=1e-12)


def test_skipped_start_is_not_the_error_of_a_collapsed_candidate():
    # iris rounded to whole numbers, every third row: EVI with two components
    # collapses from every start (a component's petal width is one value),
    # and the second tree's cut is the first's, so that start is skipped.
    # The fit says that it collapsed (a CollapseError), not that a start was
    # skipped, and the selector reports the candidate as degenerate, not as a
    # failed fit (no FitFailedWarning, no error with error_score="raise").
    from sklearn.datasets import load_iris

    from gmm_estimators._covariance import CollapseError

    X = np.round(load_iris().data[::3], 0)
    est = default_estimator().set_params(
        covariance_type="EVI", n_components=2, random_state=0
    )
    with pytest.raises(CollapseError, match="not positive definite"):
        est.fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitFailedWarning)
        selector = GaussianMixtureSelector(
            n_components=[1, 2],
            covariance_type=["EVI", "VVV"],
            error_score="raise",
            random_state=0,
        ).fit(X)
    i = selector.cv_results_["params"].index(
        {"n_components": 2, "covariance_type": "EVI"}
    )
    assert selector.cv_results_["degenerate"][i].startswith("every start collapsed: ")
    assert np.isnan(selector.cv_results_["bic"][i])


def test_error_score_raise_reraises(X_small):
    selector = GaussianMixtureSelector(
        _FailsFromThree(), n_components=range(1, 4), error_score="raise"
    )
    with pytest.raises(RuntimeError, match="too many components"):
        selector.fit(X_small)


def test_all_candidates_failing_is_an_error(X_small):
    # the default grid: mclust's fourteen models, two numbers of components
    selector = GaussianMixtureSelector(_FailsFromThree(), n_components=[3, 4])
    with pytest.raises(ValueError, match="All 28 candidates failed"):
        selector.fit(X_small)


def test_non_converged_candidates_warn_once(X_small):
    with pytest.warns(ConvergenceWarning) as record:
        selector = GaussianMixtureSelector(
            GaussianMixture(max_iter=1),
            n_components=range(2, 4),
            covariance_type="full",
        ).fit(X_small)
    assert len(record) == 1
    assert "2 of 2 candidates did not converge" in str(record[0].message)
    assert not selector.cv_results_["converged"].any()
    assert list(selector.cv_results_["n_iter"]) == [1, 1]


@pytest.mark.parametrize(
    "n_components, message",
    [
        (0, "n_components"),
        ([0, 1], "must be >= 1"),
        ([1, 2.5], "non-integer"),
        (["2"], "non-integer"),
        ([], "is empty"),
        ([1, 91], r"n_samples=90"),
        (100, r"n_samples=90"),
    ],
)
def test_invalid_n_components(X_small, n_components, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixtureSelector(n_components=n_components).fit(X_small)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"covariance_type": "fulll"}, "covariance_type"),
        ({"covariance_type": ["full", "bad"]}, r"got \['bad'\]"),
        ({"covariance_type": []}, "empty"),
        ({"criterion": "bic2"}, "criterion"),
        ({"param_grid": {"n_components": [2, 3]}}, "must not contain"),
        ({"param_grid": {"n_latent": [2, 3]}}, "not parameters of GaussianMixture"),
        ({"error_score": "ignore"}, "error_score"),
        ({"search": "quick"}, "search"),
    ],
)
def test_invalid_parameters(X_small, params, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixtureSelector(n_components=2, **params).fit(X_small)


# --- progress --------------------------------------------------------------


def test_verbose_prints_one_line_per_candidate(X_small, capsys):
    GaussianMixtureSelector(
        n_components=range(1, 4), covariance_type=("full", "diag"), verbose=1
    ).fit(X_small)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6
    assert "n_components=2, covariance_type='full': bic=" in lines[1]
    assert lines[-1].startswith("[GaussianMixtureSelector] 6/6")


def test_verbose_above_one_is_passed_to_candidates(X_small, capsys):
    # the candidates print their EM progress (verbose - 1 = 1) during the
    # search; the best estimator keeps the estimator's own verbose after it
    selector = GaussianMixtureSelector(
        n_components=[2], covariance_type="diag", verbose=2
    ).fit(X_small)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Initialization screened" in out
    assert selector.best_estimator_.verbose == 0
    GaussianMixtureSelector(n_components=[2], covariance_type="diag").fit(X_small)
    assert "Initialization" not in capsys.readouterr().out


class _Posterior:
    """A fitted candidate's stand-in: its posterior is filled with a tag."""

    def __init__(self, tag):
        self.tag = tag

    def predict_proba(self, X):
        return np.full((len(X), 2), self.tag)


def test_nested_restarts_start_larger_types_from_the_best_smaller_fit():
    # The third round: a candidate that a regular fit of a type it holds
    # beats is refitted from the best such fit's posterior, in the lattice's
    # order (a gain passes on), and keeps the better of its two fits.
    from gmm_estimators._selection import _nested_restarts, _nesting

    types = ["EEE", "EVE", "VVE", "EEV", "VVV"]
    candidates = [{"n_components": 2, "covariance_type": t} for t in types]
    ((k, order),) = _nesting(candidates, {2: list(range(5))})
    assert k == 2
    assert [types[i] for i, _ in order] == ["EEE", "EVE", "EEV", "VVE", "VVV"]
    assert {types[i]: sorted(types[j] for j in inner) for i, inner in order} == {
        "EEE": [],
        "EVE": ["EEE"],
        "EEV": ["EEE"],
        "VVE": ["EEE", "EVE"],
        "VVV": ["EEE", "EEV", "EVE", "VVE"],
    }

    def fit(ll, tag, degenerate=""):
        return {
            "error": None,
            "log_likelihood": ll,
            "degenerate": degenerate,
            "fit_time": 1.0,
            "estimator": _Posterior(tag),
        }

    fits = {
        0: fit(-1.0, 0),  # EEE
        1: fit(-1.5, 1),  # EVE: below EEE
        2: fit(-2.0, 2),  # VVE: below both
        3: fit(-0.9, 3, degenerate="a component ..."),  # EEV: degenerate
        4: fit(-0.05, 4),  # VVV: above all
    }
    calls = []
    refits = {1: -0.2, 3: -3.0, 2: -0.1}

    def fit_from(i, resp):
        calls.append((types[i], resp[0, 0]))
        return fit(refits[i], 10 + i)

    changed = _nested_restarts(order, fits, fit_from, np.zeros((3, 1)))
    # EVE from EEE's posterior; the regular EEV from EEE's (a regular fit
    # beats a degenerate one whatever its likelihood); VVE from EVE's new fit
    assert calls == [("EVE", 0), ("EEV", 0), ("VVE", 11)]
    assert sorted(changed) == [1, 2, 3]
    assert changed[2]["log_likelihood"] == -0.1
    assert changed[2]["fit_time"] == 2.0  # both fits' time

    # a refit that ends lower is not kept (its time is)
    fits = {0: fit(-1.0, 0), 1: fit(-1.5, 1)}
    order = [(0, []), (1, [0])]
    changed = _nested_restarts(order, fits, lambda i, r: fit(-1.6, 9), np.zeros((3, 1)))
    assert changed == {}
    assert fits[1]["log_likelihood"] == -1.5 and fits[1]["fit_time"] == 2.0
