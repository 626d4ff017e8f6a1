"""Fitting and inference on Dask arrays (gmm_estimators._dask).

Everything runs on one machine: a module-wide ``distributed.LocalCluster`` of
threads, and one test on a cluster of processes (the tasks and the models
they carry must pickle).  The data have a few thousand rows in 2-4 uneven
chunks.  A Dask fit from the same initial parameters is the numpy fit to
rounding (rtol 1e-12).
"""

import copy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from gmm_estimators import (  # noqa: E402
    GaussianMixture,
    GaussianMixtureSelector,
    MixtureOfPPCA,
)
from gmm_estimators import _dask as dask_engine  # noqa: E402
from gmm_estimators import _init as init_module  # noqa: E402
from gmm_estimators._covariance import COVARIANCE_TYPES  # noqa: E402
from gmm_estimators._em import FLOAT32_SMALL, SCREEN_ROWS, _Blocks  # noqa: E402

RTOL = 1e-12
CHUNKS = (1500, 2600, 1900)  # uneven row chunks
MCLUST_SOME = ("EII", "VEI", "EEV", "VVE")


@pytest.fixture(scope="module", autouse=True)
def client():
    """A LocalCluster of threads, the default scheduler of every test here."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=":0",
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _data(n=None, d=3, seed=0):
    n = sum(CHUNKS) if n is None else n
    rng = np.random.RandomState(seed)
    centers = 4.0 * rng.standard_normal((3, d))
    X = np.vstack(
        [
            rng.standard_normal((n // 3, d)) * s + c
            for c, s in zip(centers, (0.6, 1.0, 1.4), strict=True)
        ]
    )
    X = np.vstack([X, rng.standard_normal((n - len(X), d))])
    rng.shuffle(X)
    return X, rng.uniform(0.2, 3.0, n)


@pytest.fixture(scope="module")
def data():
    return _data()


def _dask(X, sw=None, chunks=CHUNKS):
    """``fit``'s arguments as Dask arrays: ``fit(**_dask(X, sw))``."""
    Xd = da.from_array(X, chunks=(chunks, X.shape[1])).persist()
    swd = None if sw is None else da.from_array(sw, chunks=(chunks,)).persist()
    return {"X": Xd, "sample_weight": swd}


def _start(X, sw, covariance_type):
    """Initial parameters near, not at, an optimum."""
    gm = GaussianMixture(3, covariance_type=covariance_type, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X, sample_weight=sw)
    return {
        "weights_init": gm.weights_,
        "means_init": gm.means_,
        "precisions_init": gm.precisions_,
    }


FITTED = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_cholesky_",
    "lower_bound_",
    "log_likelihood_",
    "responsibility_entropy_",
)
PPCA_FITTED = (
    "weights_",
    "means_",
    "components_",
    "explained_variance_",
    "noise_variance_",
    "lower_bound_",
    "log_likelihood_",
)


def assert_same_fit(a, b, attrs=FITTED, rtol=RTOL):
    """``b`` (fitted on a Dask array) is ``a`` (fitted on numpy) to ``rtol``."""
    assert b.n_iter_ == a.n_iter_
    assert b.converged_ == a.converged_
    assert b.degenerate_ == a.degenerate_
    assert b.n_features_in_ == a.n_features_in_
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=rtol)
    for attr in attrs:
        got, want = getattr(b, attr), getattr(a, attr)
        assert type(got) is type(want), attr  # numpy, not dask
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype, attr
        # covariances of a few components may hold exact zeros
        atol = rtol * np.max(np.abs(want))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=attr)
    assert isinstance(b.labels_, da.Array)
    np.testing.assert_array_equal(b.labels_.compute(), a.labels_)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES + MCLUST_SOME)
def test_fit_equals_numpy_fit(data, covariance_type, weighted):
    X, sw = data
    sw = sw if weighted else None
    params = dict(
        covariance_type=covariance_type, tol=1e-6, **_start(X, sw, covariance_type)
    )
    a = GaussianMixture(3, **params).fit(X, sample_weight=sw)
    b = GaussianMixture(3, **params).fit(**_dask(X, sw))
    assert_same_fit(a, b)


def test_ppca_warm_start_equals_numpy(data):
    X, sw = data
    start = MixtureOfPPCA(3, n_latent=1, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X, sample_weight=sw)
    a = copy.deepcopy(start).set_params(warm_start=True, max_iter=100, tol=1e-6)
    b = copy.deepcopy(start).set_params(warm_start=True, max_iter=100, tol=1e-6)
    a.fit(X, sample_weight=sw)
    b.fit(**_dask(X, sw))
    assert_same_fit(a, b, PPCA_FITTED)


def test_gaussian_warm_start_equals_numpy(data):
    X, sw = data
    start = GaussianMixture(3, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)
    a = copy.deepcopy(start).set_params(warm_start=True, max_iter=100, tol=1e-7)
    b = copy.deepcopy(start).set_params(warm_start=True, max_iter=100, tol=1e-7)
    assert_same_fit(a.fit(X), b.fit(_dask(X)["X"]))


@pytest.mark.parametrize("estimator", ["gmm", "ppca"])
def test_kmeans_start_on_small_data_is_the_in_memory_start(data, estimator):
    # at most KMEANS_SUBSAMPLE rows of non-zero weight: the sample is all of
    # them, so the start (and the fit) is the in-memory one up to rounding
    X, sw = data
    if estimator == "gmm":
        make = lambda: GaussianMixture(3, covariance_type="diag", random_state=1)  # noqa: E731
        attrs = FITTED
    else:
        make = lambda: MixtureOfPPCA(3, n_latent=1, random_state=1)  # noqa: E731
        attrs = PPCA_FITTED
    a = make().fit(X, sample_weight=sw)
    b = make().fit(**_dask(X, sw))
    assert_same_fit(a, b, attrs, rtol=1e-9)


def test_uneven_and_many_chunks(data):
    X, _ = data
    params = dict(tol=1e-6, **_start(X, None, "full"))
    a = GaussianMixture(3, **params).fit(X)
    for chunks in [(100, 5000, 900), (3000, 3000)]:
        b = GaussianMixture(3, **params).fit(_dask(X, chunks=chunks)["X"])
        assert_same_fit(a, b)


def test_weights_given_as_numpy_or_other_chunks(data):
    X, sw = data
    params = dict(tol=1e-6, **_start(X, sw, "diag"), covariance_type="diag")
    a = GaussianMixture(3, **params).fit(X, sample_weight=sw)
    Xd = _dask(X)["X"]
    assert_same_fit(a, GaussianMixture(3, **params).fit(Xd, sample_weight=sw))
    sw_other = da.from_array(sw, chunks=2000)
    assert_same_fit(a, GaussianMixture(3, **params).fit(Xd, sample_weight=sw_other))


def test_float32_small_is_computed_in_float64_as_numpy(data):
    X, sw = data
    X32 = X.astype(np.float32)
    params = dict(covariance_type="full", tol=1e-6, **_start(X32, sw, "full"))
    a = GaussianMixture(3, **params).fit(X32, sample_weight=sw)
    b = GaussianMixture(3, **params).fit(**_dask(X32, sw))
    assert b.means_.dtype == np.float32
    assert_same_fit(a, b)


def test_float32_large_stays_float32():
    # more than FLOAT32_SMALL values: the blocks are computed in float32 on
    # the workers, as in memory.  Chunks cut where the in-memory engine cuts
    # the runs of blocks its threads share out (each with its accumulator,
    # summed in order, as Dask's tree sums up to ``SPLIT_EVERY`` chunks) give
    # its sums, and the in-memory fit; other chunks split them differently,
    # which changes float32 rounding only.
    n, d = 50000, 14
    X = _data(n, d, seed=3)[0].astype(np.float32)
    assert X.size > FLOAT32_SMALL
    params = dict(covariance_type="full", tol=1e-5, **_start(X, None, "full"))
    a = GaussianMixture(3, **params).fit(X)
    est = GaussianMixture(3, **params)
    blocks = _Blocks(X, X.mean(axis=0), est._fit_row_width(d))
    assert blocks.n_blocks > 1  # several blocks in memory
    # a chunk per run (a run of several blocks is cut as a chunk is: whole
    # blocks from its start, the plan of one thread)
    assert all(len(run) == 1 or blocks.n_threads == 1 for run in blocks.runs)
    runs = tuple(run[-1][1] - run[0][0] for run in blocks.runs)
    assert len(runs) <= dask_engine.SPLIT_EVERY
    b = est.fit(_dask(X, chunks=runs)["X"])
    Xd, seen = _counted(X, chunks=(15000, 17000, 18000))
    c = GaussianMixture(3, **params).fit(Xd)
    assert {dtype for _, dtype in seen} == {np.dtype(np.float32)}  # never converted
    assert b.means_.dtype == c.means_.dtype == np.float32
    assert_same_fit(a, b)
    atol = 1e-5 * np.abs(a.means_).max()
    np.testing.assert_allclose(c.means_, a.means_, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(c.lower_bound_, a.lower_bound_, rtol=1e-6)


def test_convergence_warning_and_max_iter_zero(data):
    X, _ = data
    params = _start(X, None, "full")
    with pytest.warns(ConvergenceWarning):
        b = GaussianMixture(3, max_iter=2, tol=1e-12, **params).fit(_dask(X)["X"])
    assert not b.converged_ and b.n_iter_ == 2
    b = GaussianMixture(3, max_iter=0, **params).fit(_dask(X)["X"])
    a = GaussianMixture(3, max_iter=0, **params).fit(X)
    assert b.lower_bound_ == a.lower_bound_ == -np.inf
    np.testing.assert_allclose(b.means_, a.means_, rtol=RTOL)


def test_several_starts(data):
    X, sw = data
    a = GaussianMixture(3, n_init=3, random_state=0).fit(X, sample_weight=sw)
    b = GaussianMixture(3, n_init=3, random_state=0).fit(**_dask(X, sw))
    # the data are the sample: the best start ran to tol and is not continued
    np.testing.assert_allclose(b.lower_bound_, a.lower_bound_, rtol=1e-9)
    b = GaussianMixture(3, init_params=["kmeans", "random"], tol=1e-5, random_state=0)
    b.fit(_dask(X)["X"])
    assert b.converged_ and not b.degenerate_


#: Chunks computed by _record, by tag (module level: the tasks are pickled,
#: and a function of this module is pickled by reference).
_SEEN = {}


def _record(x, tag):
    _SEEN[tag].append((x.shape, x.dtype))
    return x


def _counted(X, chunks=CHUNKS):
    """X as a Dask array that records the shape and dtype of every chunk it
    computes (in this process: the cluster's workers are threads)."""
    tag = f"counted-{len(_SEEN)}"
    _SEEN[tag] = []
    Xd = da.from_array(X, chunks=(chunks, X.shape[1])).map_blocks(
        _record, tag, dtype=X.dtype, meta=np.empty((0, 0), X.dtype)
    )
    return Xd, _SEEN[tag]


def test_data_never_materialised_and_predictions_lazy(data):
    X, _ = data
    Xd, calls = _counted(X)
    params = dict(tol=1e-6, **_start(X, None, "full"))
    gm = GaussianMixture(3, **params).fit(Xd)
    # every pass computes each chunk once, and only chunks: the data pass,
    # one pass per EM iteration and the final E-step
    assert {shape for shape, _ in calls} == {(c, 3) for c in CHUNKS}
    assert len(calls) == len(CHUNKS) * (1 + gm.n_iter_ + 1)
    calls.clear()
    outputs = [gm.predict(Xd), gm.predict_proba(Xd), gm.score_samples(Xd), gm.labels_]
    assert all(isinstance(o, da.Array) for o in outputs)
    assert calls == []  # nothing computed yet
    a = GaussianMixture(3, **params).fit(X)
    np.testing.assert_array_equal(outputs[0].compute(), a.predict(X))
    # probabilities down to 1e-65 are exp(log-densities of -150): compared
    # as the log-densities they come from (their rounding is absolute there)
    np.testing.assert_allclose(
        np.log(outputs[1].compute()),
        np.log(a.predict_proba(X)),
        rtol=RTOL,
        atol=RTOL,
    )
    np.testing.assert_allclose(outputs[2].compute(), a.score_samples(X), rtol=RTOL)
    assert outputs[1].chunks == ((CHUNKS), (3,))
    assert len(calls) == 3 * len(CHUNKS)


def test_kmeans_start_draws_one_sample_pass():
    # more rows than the k-means subsample: one sampling pass, then EM on all
    X = _data(24000, 2, seed=1)[0]
    Xd, calls = _counted(X, chunks=(9000, 7000, 8000))
    gm = GaussianMixture(3, covariance_type="spherical", random_state=0).fit(Xd)
    assert len(calls) == 3 * (1 + 1 + gm.n_iter_ + 1)
    assert gm.converged_
    ref = GaussianMixture(3, covariance_type="spherical", random_state=0).fit(X)
    np.testing.assert_allclose(gm.lower_bound_, ref.lower_bound_, rtol=1e-5)


def test_inference_on_dask(data):
    X, sw = data
    gm = GaussianMixture(3, covariance_type="tied", random_state=0).fit(X)
    Xd, swd = _dask(X, sw).values()
    assert gm.score(Xd) == pytest.approx(gm.score(X), rel=RTOL)
    assert gm.score(Xd, sample_weight=swd) == pytest.approx(
        gm.score(X, sample_weight=sw), rel=RTOL
    )
    for criterion in ("bic", "aic", "icl"):
        got, want = getattr(gm, criterion)(Xd), getattr(gm, criterion)(X)
        assert got == pytest.approx(want, rel=RTOL)
    X32 = X.astype(np.float32)
    assert gm.score_samples(da.from_array(X32, chunks=2000)).dtype == np.float32


def test_checks_as_numpy(data):
    X, sw = data
    Xn = X.copy()
    Xn[5, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(2).fit(_dask(Xn)["X"])
    bad = sw.copy()
    bad[3] = -1.0
    with pytest.raises(ValueError, match="Negative values"):
        GaussianMixture(2).fit(**_dask(X, bad))
    with pytest.raises(ValueError, match="at least one non-zero"):
        GaussianMixture(2).fit(**_dask(X, np.zeros_like(sw)))
    gm = GaussianMixture(2, random_state=0).fit(_dask(X)["X"])
    with pytest.raises(ValueError, match="3 features"):
        gm.predict(da.zeros((10, 2), chunks=5))
    # a failed fit leaves the estimator as it was
    means = gm.means_.copy()
    with pytest.raises(ValueError):
        gm.fit(_dask(Xn)["X"])
    np.testing.assert_array_equal(gm.means_, means)
    # a NaN weight in any chunk, not only the first (the chunks' minima were
    # combined by Python's min, which drops a NaN after the first)
    for row in (3, len(X) - 3):
        nan_weight = sw.copy()
        nan_weight[row] = np.nan
        with pytest.raises(ValueError, match="sample_weight contains NaN"):
            GaussianMixture(2).fit(**_dask(X, nan_weight))
        with pytest.raises(ValueError, match="sample_weight contains NaN"):
            gm.score(**_dask(X, nan_weight))
    # the lazy outputs of rows with a NaN raise when computed, as numpy's
    # methods do (predict gave such a row a label, the others NaN)
    late = X.copy()
    late[-3, 0] = np.nan
    for method in ("predict", "predict_proba", "score_samples"):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            getattr(gm, method)(_dask(late)["X"]).compute()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        gm.score(_dask(late)["X"])
    # a column count unknown to Dask: Dask's own words, not a TypeError
    unknown = _dask(X)["X"][:, da.from_array(np.array([True, True, False]))]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        GaussianMixture(2).fit(unknown)


@pytest.mark.filterwarnings("ignore:Running on a single-machine scheduler:UserWarning")
def test_other_schedulers(data):
    X, _ = data
    params = dict(tol=1e-6, **_start(X, None, "diag"), covariance_type="diag")
    a = GaussianMixture(3, **params).fit(X)
    with dask.config.set(scheduler="threads"):
        b = GaussianMixture(3, **params).fit(da.from_array(X, chunks=2500))
    assert_same_fit(a, b)


def test_no_new_parameters():
    # Dask arrays need no parameter of their own: GaussianMixture has
    # scikit-learn's parameters and, besides, only ``acceleration``,
    # ``tol_relative`` and ``reg_covar_relative`` (whose defaults, plain EM
    # stopped by scikit-learn's rule with an absolute regularisation, are
    # scikit-learn's algorithm).
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    ours = GaussianMixture().get_params()
    theirs = SkGaussianMixture().get_params()
    extra = {"acceleration", "tol_relative", "reg_covar_relative"}
    assert set(ours) - set(theirs) == extra
    assert set(theirs) <= set(ours)
    assert ours["acceleration"] is None
    assert ours["tol_relative"] is False
    assert ours["reg_covar_relative"] is False


def test_missing_dask_is_a_clear_error(data, monkeypatch):
    Xd = _dask(data[0])["X"]
    gm = GaussianMixture(2)
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"pip install 'gmm-estimators\[dask\]'"):
        gm.fit(Xd)
    assert not hasattr(gm, "means_")


def test_fit_on_a_cluster_of_processes(data):
    # the tasks, the models they carry and the statistics must pickle
    X, sw = data
    params = dict(tol=1e-6, **_start(X, sw, "full"))
    a = GaussianMixture(3, **params).fit(X, sample_weight=sw)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as c,
        c.as_current(),
    ):
        b = GaussianMixture(3, **params).fit(**_dask(X, sw))
        assert_same_fit(a, b)


# -- GaussianMixtureSelector and MixtureOfPPCA.transform on Dask arrays ----------
FAITHFUL = Path(__file__).parent / "data" / "faithful.csv"


def _separated(seed=0):
    """Three well separated clusters of unequal sizes and spreads in 2-D, in
    random order, as many rows as CHUNKS."""
    n = sum(CHUNKS)
    rng = np.random.RandomState(seed)
    sizes = (n // 3, n // 4, n - n // 3 - n // 4)
    centers = np.array([[0.0, 0.0], [9.0, 0.0], [0.0, 10.0]])
    X = np.vstack(
        [
            rng.standard_normal((m, 2)) * s + c
            for m, c, s in zip(sizes, centers, (1.0, 0.6, 1.4), strict=True)
        ]
    )
    return X[rng.permutation(n)]


def _never_gathered(monkeypatch):
    """Make any conversion of a whole Dask array to numpy an error."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("a Dask array was gathered into memory")

    monkeypatch.setattr(da.Array, "__array__", refuse)
    monkeypatch.setattr(da.Array, "compute", refuse)


def _count_calls(monkeypatch, module, name):
    """Record the calls of ``module.name``: a list that grows by the name, or
    by the first argument when it is a string, at each call."""
    calls, original = [], getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args[0] if args and isinstance(args[0], str) else name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


# The selector on a Dask array draws the candidates' starts on one weighted
# sample of the rows (and the second round's partitions are of that
# sample's rows), where the in-memory selector draws them on all rows or on
# its own subsample: on data whose optima are well separated both reach the
# same fits and choose the same model, but in general a start drawn on
# another sample may end at another local optimum, so a candidate's
# criterion, and then the choice, may differ.
def test_selector_on_dask_chooses_as_numpy(monkeypatch):
    X = _separated()
    assert X.shape[0] > SCREEN_ROWS  # a sample of the rows, not all of them
    params = dict(
        n_components=range(2, 5), covariance_type=("full", "spherical"), random_state=0
    )
    with monkeypatch.context() as m:
        numpy_starts = _count_calls(m, init_module, "_compute_start")
        want = GaussianMixtureSelector(**params).fit(X)
    Xd, calls = _counted(X)
    passes = _count_calls(monkeypatch, dask_engine, "_data_pass")
    samples = _count_calls(monkeypatch, dask_engine, "_draw_sample")
    starts = _count_calls(monkeypatch, init_module, "_compute_start")
    with monkeypatch.context() as m:
        _never_gathered(m)
        got = GaussianMixtureSelector(**params).fit(Xd)
        outputs = [
            got.labels_,
            got.predict(Xd),
            got.predict_proba(Xd),
            got.score_samples(Xd),
        ]
    # one data pass and one sample for the whole search, and the starts
    # shared as in memory: one hc tree, k-means once per number of
    # components and seed
    assert passes == ["_data_pass"] and samples == ["_draw_sample"]
    assert sorted(starts) == sorted(numpy_starts)
    assert starts.count("hc") == 1
    assert starts.count("kmeans") == len(params["n_components"]) * 4  # n_init
    # only whole chunks are computed, each as often as the others (passes)
    assert {shape for shape, _ in calls} == {(c, 2) for c in CHUNKS}
    counts = [sum(shape[0] == c for shape, _ in calls) for c in CHUNKS]
    assert len(set(counts)) == 1
    assert (
        got.best_params_
        == want.best_params_
        == {
            "n_components": 3,
            "covariance_type": "spherical",
        }
    )
    # the fits with the clusters' number of components or fewer are the
    # same optima; the four-component fits split a cluster, at one of several
    # nearby optima
    true = got.cv_results_["param_n_components"] <= 3
    np.testing.assert_allclose(
        got.cv_results_["bic"][true], want.cv_results_["bic"][true], rtol=1e-8
    )
    np.testing.assert_allclose(
        got.cv_results_["bic"], want.cv_results_["bic"], rtol=1e-3
    )
    assert got.best_score_ == pytest.approx(want.best_score_, rel=1e-9)
    # fitted attributes numpy, outputs lazy: nothing computed by them yet
    best = got.best_estimator_
    assert type(best.means_) is np.ndarray
    assert all(isinstance(o, da.Array) for o in outputs)
    n_calls = len(calls)
    labels = outputs[0].compute()
    assert len(calls) == n_calls + len(CHUNKS)
    np.testing.assert_array_equal(outputs[1].compute(), labels)
    # the best estimator works on numpy input as on Dask
    np.testing.assert_array_equal(got.predict(X), labels)
    np.testing.assert_allclose(
        outputs[2].compute(), best.predict_proba(X), rtol=1e-12, atol=1e-300
    )
    np.testing.assert_allclose(outputs[3].compute(), got.score_samples(X), rtol=1e-12)
    assert got.bic(Xd) == pytest.approx(got.best_score_, rel=1e-12)
    assert got.score(Xd) == pytest.approx(got.score(X), rel=1e-12)


def test_selector_on_dask_sample_weight():
    X = _separated()
    sw = np.random.RandomState(1).uniform(0.2, 3.0, len(X))
    params = dict(n_components=range(2, 5), covariance_type="spherical", random_state=0)
    want = GaussianMixtureSelector(**params).fit(X, sample_weight=sw)
    got = GaussianMixtureSelector(**params).fit(**_dask(X, sw))
    assert got.best_params_ == want.best_params_
    assert got.best_params_["n_components"] == 3
    np.testing.assert_allclose(
        got.cv_results_["bic"][:2], want.cv_results_["bic"][:2], rtol=1e-8
    )
    assert got.best_estimator_.score(X, sample_weight=sw) == pytest.approx(
        want.best_estimator_.score(X, sample_weight=sw), rel=1e-7
    )


@pytest.fixture(scope="module")
def faithful():
    X = np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)
    Xd = da.from_array(X, chunks=((100, 72, 100), 2)).persist()
    return X, Xd


def test_selector_on_dask_faithful(faithful):
    # mclust: EEE (tied), 3 components, BIC 2314.3.  Faithful has fewer rows
    # than the sample, so the sample is every row and each candidate is the
    # in-memory fit on them: the same search as in memory, to rounding (over
    # the four types; over the fourteen, where the in-memory search continues
    # its best three runs and the hc run to tol and the Dask search its best
    # one, 7 of 56 cells end apart, by up to 0.26, at the same choice).
    X, Xd = faithful
    params = dict(n_components=4, covariance_type=COVARIANCE_TYPES, random_state=0)
    want = GaussianMixtureSelector(**params).fit(X)
    got = GaussianMixtureSelector(**params).fit(Xd)
    assert (got.covariance_type_, got.n_components_) == ("tied", 3)
    assert got.best_score_ == pytest.approx(2314.3, abs=0.1)
    np.testing.assert_allclose(
        got.cv_results_["bic"], want.cv_results_["bic"], rtol=1e-9
    )
    assert isinstance(got.labels_, da.Array)
    np.testing.assert_array_equal(got.labels_.compute(), want.labels_)


def test_selector_on_dask_mclust_search(faithful):
    # search="mclust" on a Dask array: each candidate once from mclust's
    # tree of the sample (here every row), as in memory, to rounding, and
    # over the fourteen models too (one run each: nothing to screen)
    X, Xd = faithful
    params = dict(search="mclust", random_state=0)
    want = GaussianMixtureSelector(n_components=4, **params).fit(X)
    got = GaussianMixtureSelector(n_components=4, **params).fit(Xd)
    assert (got.covariance_type_, got.n_components_) == ("EEE", 3)
    np.testing.assert_allclose(
        got.cv_results_["bic"], want.cv_results_["bic"], rtol=1e-9
    )
    # on more rows than the sample: the tree of the sample, one run each
    X = _separated()
    selector = GaussianMixtureSelector(
        n_components=range(2, 5), covariance_type=["full", "VII"], **params
    ).fit(_dask(X)["X"])
    assert selector.n_components_ == 3
    assert (np.asarray(selector.cv_results_["n_iter"]) > 0).all()


def test_selector_on_dask_cv(faithful):
    # folds of rows taken lazily (X[train]), each a search of its own
    X, Xd = faithful
    params = dict(
        n_components=[2, 3],
        covariance_type=("full", "tied"),
        criterion="cv",
        cv=3,
        random_state=0,
    )
    want = GaussianMixtureSelector(**params).fit(X)
    got = GaussianMixtureSelector(**params).fit(Xd)
    assert got.best_params_ == want.best_params_
    np.testing.assert_allclose(got.cv_results_["cv"], want.cv_results_["cv"], rtol=1e-9)


def test_selector_on_dask_needs_a_mixture_of_the_package(faithful):
    from sklearn.mixture import BayesianGaussianMixture

    selector = GaussianMixtureSelector(
        BayesianGaussianMixture(), covariance_type=None, criterion="cv"
    )
    with pytest.raises(ValueError, match="cannot be fitted on a Dask array"):
        selector.fit(faithful[1])
    assert not hasattr(selector, "n_features_in_")


def test_ppca_transform_is_lazy(data):
    X, sw = data
    mppca = MixtureOfPPCA(3, n_latent=1, random_state=0).fit(X, sample_weight=sw)
    Xd, calls = _counted(X)
    Z = mppca.transform(Xd)
    assert isinstance(Z, da.Array) and calls == []
    assert Z.chunks == (CHUNKS, (6,))
    np.testing.assert_allclose(Z.compute(), mppca.transform(X), rtol=1e-12, atol=1e-300)
    assert len(calls) == len(CHUNKS)
    X32 = X.astype(np.float32)
    Z32 = mppca.transform(da.from_array(X32, chunks=2000))
    assert Z32.dtype == np.float32
    np.testing.assert_array_equal(Z32.compute(), mppca.transform(X32))
    # through the selector, fitted on Dask too
    selector = GaussianMixtureSelector(
        MixtureOfPPCA(n_latent=1), n_components=[2, 3], covariance_type=None
    )
    Z = selector.set_params(random_state=0).fit_transform(_dask(X)["X"])
    assert isinstance(Z, da.Array)
    np.testing.assert_allclose(
        Z.compute(), selector.best_estimator_.transform(X), rtol=1e-12, atol=1e-300
    )


def test_recording_steps_come_from_the_sample(monkeypatch):
    """On rows beyond the search's sample the degeneracy check reads the
    features' recording steps from the sample (a Dask array is not sorted):
    here an integer column and a continuous one."""
    import gmm_estimators._em as em

    X, _ = _data()
    X[:, 0] = np.round(X[:, 0])
    seen = []
    checks = em._component_checks  # what every verdict reads

    def spy(*args):
        seen.append(args[5])
        return checks(*args)

    monkeypatch.setattr(em, "_component_checks", spy)
    gm = GaussianMixture(3, init_params=["kmeans", "random"], tol=1e-5, random_state=0)
    gm.fit(_dask(X)["X"])
    assert len(X) > SCREEN_ROWS and seen
    for steps in seen:
        assert steps[0] == 1.0 and steps[1] == 0.0
