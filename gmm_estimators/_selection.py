"""Choosing the number of components (and the covariance model) of a mixture.

:class:`GaussianMixtureSelector` fits one candidate mixture per combination of
number of components, covariance type and any other parameters in a grid, and
keeps the one with the best information criterion (BIC, AIC, ICL) or
cross-validated held-out log-likelihood.

Each candidate is fitted by EM from several starts and keeps its best
regular solution: the default estimator starts from mclust's model-based
hierarchical clustering (one tree, cut at every number of components), from
k-means, k-means++ seeds and random rows (:class:`GaussianMixture` with
``init_params=("hc", "kmeans", "k-means++", "random_from_data")``).  Then
every candidate is restarted from the partitions that the other covariance
types found with the same number of components and from its own type's
solution with one component fewer, its largest cluster split in two, and keeps
that solution when it is better.  The work is shared across the grid: the
tree is built once per data set and the k-means centres once per number of
components.

Degenerate fits (a component with fewer effective points than its covariance
needs, a covariance held up only by ``reg_covar``, or one collapsed onto the
values of features recorded on a grid) are flagged in
``cv_results_["degenerate"]`` and never selected.

Information criteria are computed from each candidate's fit on all the data
(no refit): ``best_estimator_`` is the winning candidate itself.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import copy
import time
import warnings
from collections import Counter
from numbers import Integral, Real

import numpy as np
from scipy.special import xlogy
from scipy.stats import rankdata
from sklearn.base import (
    BaseEstimator,
    ClusterMixin,
    DensityMixin,
    _fit_context,
    clone,
)
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import KFold, ParameterGrid, check_cv
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._metadata_requests import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from ._covariance import (
    COVARIANCE_MODELS,
    COVARIANCE_TYPES,
    SKLEARN_COLLAPSE_MESSAGE,
    CollapseError,
    mclust_models,
    nested_in,
)
from ._em import (
    SCREEN_ROWS,
    _BaseMixture,
    _beats,
    _dask_module,
    _is_dask_array,
    split_labels,
)
from ._gaussian_mixture import GaussianMixture
from ._utils import (
    DOC_LINK_MODULE,
    DOC_LINK_TEMPLATE,
    canonical_labels,
    constant_features,
)

__all__ = ["GaussianMixtureSelector"]

#: The selector's searches (its ``search`` parameter), the default first.
SEARCHES = ("thorough", "mclust")

#: The starts of the default estimator (see ``GaussianMixtureSelector``).
DEFAULT_STARTS = ("hc", "kmeans", "k-means++", "random_from_data")


def default_estimator():
    """The mixture the selector fits when it is given none.

    A :class:`GaussianMixture` that starts EM from mclust's hierarchical
    clustering, and four times each from k-means, from k-means++ seeds and
    from random data points (13 starts), and converges tightly (``tol=1e-5``
    on the mean log-likelihood, and by mclust's relative rule where that is
    tighter, ``tol_relative=True``; ``max_iter=1000``), so that criteria of
    candidates are compared at their optima, not where a loose tolerance
    stopped them.
    ``reg_covar=1e-10``, and at most 1e-10 of the smallest feature variance
    (``reg_covar_relative=True``): scikit-learn's ``1e-6`` is absolute and
    biases features of small scale (on mclust's ``wdbc`` data it moves the
    one-component diagonal BIC by 8), and so did an absolute ``1e-10`` on
    data in small units (iris divided by 1e5: EII,2 chosen instead of VEV,2);
    relative, the choice does not depend on the units. Degenerate fits, which
    ``reg_covar`` would otherwise hide, are flagged instead.

    Examples
    --------
    >>> from gmm_estimators._selection import default_estimator
    >>> default_estimator().init_params
    ('hc', 'kmeans', 'k-means++', 'random_from_data')
    """
    return GaussianMixture(
        init_params=DEFAULT_STARTS,
        n_init=4,
        tol=1e-5,
        max_iter=1000,
        reg_covar=1e-10,
        tol_relative=True,
        reg_covar_relative=True,
    )


def _check_n_components(n_components, n_samples):
    """Return the sorted, distinct numbers of components to try.

    Parameters
    ----------
    n_components : int or array-like of int
        An int ``n`` stands for ``1, 2, ..., n``.
    n_samples : int
        Number of training samples; no candidate may have more components.

    Returns
    -------
    values : list of int
    """
    if isinstance(n_components, Integral):  # >= 1: _parameter_constraints
        values = list(range(1, int(n_components) + 1))
    else:
        values = list(np.ravel(np.asarray(n_components, dtype=object)))
    if not values:
        raise ValueError(
            "n_components is empty: give at least one number of components to try."
        )
    non_integer = [
        v
        for v in values
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral)
    ]
    if non_integer:
        raise ValueError(
            f"n_components must hold integers; got non-integer values {non_integer}."
        )
    too_small = [int(v) for v in values if v < 1]  # only a list can hold them
    if too_small:
        raise ValueError(f"n_components must be >= 1; got {too_small}.")
    too_large = [int(v) for v in values if v > n_samples]
    if too_large:
        raise ValueError(
            f"n_components must be <= n_samples={n_samples} (a mixture cannot have "
            f"more components than training samples); got {too_large}."
        )
    return sorted({int(v) for v in values})


def _format_params(params):
    """``"n_components=3, covariance_type='full'"`` for messages and progress."""
    return ", ".join(f"{name}={value!r}" for name, value in params.items())


def _format_error(exc):
    """An exception on one line."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _fit_candidate(
    estimator,
    params,
    X,
    train,
    test,
    context,
    fit_params,
    score_params,
    error_score,
    keep_estimator,
):
    """Fit one candidate on ``X[train]`` and measure it.

    With ``test=None`` the candidate is fitted on the training rows and its
    information criteria are computed; otherwise only its mean log-likelihood on
    ``X[test]`` is returned.  ``context`` (for the package's own mixtures) is
    the seed, the cache of shared starts and the partitions to start from that
    the search hands the fit, without changing the candidate's parameters; on
    a Dask array also ``partition_rows``, the search's sample, whose labels
    the result then holds instead of the training rows'.

    Returns
    -------
    result : dict
        ``error`` (None or the formatted exception) and ``fit_time``, plus
        ``test_score`` (a fold) or ``log_likelihood``, ``n_parameters``,
        ``bic``, ``aic``, ``icl``, ``degenerate``, ``converged``, ``n_iter``,
        ``labels`` and ``estimator`` (a full fit).
    """
    X_train = X if train is None else X[train]
    fit_params = _subset(fit_params, train)
    start = time.perf_counter()
    est = clone(estimator).set_params(**params)
    try:
        if context is not None and isinstance(est, _BaseMixture):
            est._search_context = context
        # Non-convergence is summarised once by the selector (cv_results_
        # ["converged"]); other warnings pass through. (catch_warnings is
        # process-wide: under a threading backend the record may mix threads.)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X_train, **fit_params)
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        fit_time = time.perf_counter() - start
        if test is not None:
            return {
                "error": None,
                "fit_time": fit_time,
                "test_score": float(est.score(X[test], **_subset(score_params, test))),
            }
        result = _criteria(est, X_train, fit_params.get("sample_weight"))
    except Exception as exc:
        if isinstance(exc, CollapseError) and test is None:
            # every start of the candidate collapsed: a degenerate candidate
            # (mclust's NA), reported in cv_results_["degenerate"], not a
            # failure to debug
            return {
                "error": _format_error(exc),
                "collapsed": "every start collapsed: " + _collapse_detail(str(exc)),
                "fit_time": time.perf_counter() - start,
            }
        if error_score == "raise":
            raise
        return {"error": _format_error(exc), "fit_time": time.perf_counter() - start}
    finally:
        est.__dict__.pop("_search_context", None)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    a_priori = (context or {}).get("a_priori", "")
    if context is not None and context.get("partition_rows") is not None:
        # on a Dask array, partitions are of the search's sample rows
        labels = est.predict(context["partition_rows"])
    else:
        labels = getattr(est, "labels_", None)
    result.update(
        error=None,
        fit_time=fit_time,
        a_priori=a_priori,
        degenerate=str(getattr(est, "degenerate_", "")) or a_priori,
        converged=bool(getattr(est, "converged_", not warned)),
        n_iter=getattr(est, "n_iter_", None),
        labels=labels,
        estimator=est if keep_estimator else None,
    )
    return result


def _collapse_detail(message):
    """What a :class:`~gmm_estimators._covariance.CollapseError` says after
    scikit-learn's sentence, on one line."""
    if message.startswith(SKLEARN_COLLAPSE_MESSAGE):
        message = message[len(SKLEARN_COLLAPSE_MESSAGE) :]
    return " ".join(message.split())


def _subset(params, rows):
    """Per-row metadata (arrays as long as the data) restricted to ``rows``."""
    if rows is None:
        return dict(params)
    out = {}
    for name, value in params.items():
        if _is_dask_array(value):  # lazy, as the Dask array of the data
            value = value[rows]
        elif value is not None and hasattr(value, "__len__") and len(value) > 0:
            value = (
                value.iloc[rows] if hasattr(value, "iloc") else np.asarray(value)[rows]
            )
        out[name] = value
    return out


def _grid_point(params):
    """A candidate's parameters but its number of components, hashable."""
    return tuple(sorted((n, repr(v)) for n, v in params.items() if n != "n_components"))


#: The second round restarts each candidate from the partitions of at most
#: this many of the best candidates with the same number of components (by
#: the criterion): all the others' with scikit-learn's four covariance types,
#: the best eight of mclust's fourteen.  Measured on the fourteen-model panel
#: (benchmarks/family_mclust_panel_results.md): with the best four, 9 cells
#: of the data sets screened on all rows (wreath EEE,3 by 23.9, ChickWeight
#: EVV,3 by 37.7, faithful EVV,8 by 4.4, ...) were worse than mclust's by
#: more than 0.5; with eight, 3, for 1-10% more time.  Where the starts are screened on a
#: subsample (more than SCREEN_ROWS rows of non-zero weight, or a Dask
#: array), only the best on the subsample goes on, and more partitions to
#: rank there did harm: the best four (RESTART_SOURCES_SUBSAMPLED) then.
RESTART_SOURCES = 8
RESTART_SOURCES_SUBSAMPLED = 4


def _restart_partitions(
    X, candidates, by_k, fits, sample_weight, criterion, sources=RESTART_SOURCES
):
    """The partitions of the second round, for each number of components k:
    ``(k, starts, splits)`` with ``starts`` the final partitions of the
    ``sources`` (:data:`RESTART_SOURCES`) best candidates with k components by
    ``criterion`` (their index to canonical labels) and ``splits`` each
    candidate's own type's partition with k - 1 components, its largest
    cluster split in two along its principal axis.  Only the k where a
    candidate has a partition other than its own are listed.  ``X`` and
    ``sample_weight`` are the rows the fits' labels are of: the training
    data, or on a Dask array the search's sample."""
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    index = {(_grid_point(p), p["n_components"]): i for i, p in enumerate(candidates)}

    def labels_of(i, k):
        fit = fits[i][0]
        labels = fit.get("labels") if fit["error"] is None else None
        if labels is None or len(np.unique(labels)) != k:
            return None
        return canonical_labels(labels)

    second = []
    for k in by_k:
        if k == 1:
            continue
        usable = [i for i in by_k[k] if labels_of(i, k) is not None]
        ranked = sorted(usable, key=lambda i: _rank_key(fits[i][0], criterion))
        best = set(ranked[:sources])
        # in the candidates' order, so that ties resolve as with all of them
        starts = {i: labels_of(i, k) for i in usable if i in best}
        splits = {}
        for i in by_k[k]:
            j = index.get((_grid_point(candidates[i]), k - 1))
            fewer = None if j is None else labels_of(j, k - 1)
            if fewer is None:
                continue
            split = split_labels(X, fewer, np.array([k - 1]), 2, k, sample_weight)
            if split is not None:
                splits[i] = [canonical_labels(split)]
        if len({lab.tobytes() for lab in starts.values()}) > 1 or splits:
            second.append((k, starts, splits))
    return second


def _nesting(candidates, by_k):
    """For each number of components k with nested covariance types: the
    candidates with k components in an order where every candidate comes
    after those whose covariance type it holds
    (:func:`~gmm_estimators._covariance.nested_in`), each with the indices of
    those (the other parameters the same)."""

    def point(i):  # the candidate's parameters but k and its type
        return _grid_point(
            {n: v for n, v in candidates[i].items() if n != "covariance_type"}
        )

    out = []
    for k, indices in by_k.items():
        inner = {
            i: [
                j
                for j in indices
                if point(j) == point(i)
                and nested_in(
                    candidates[j].get("covariance_type"),
                    candidates[i].get("covariance_type"),
                )
            ]
            for i in indices
        }
        if any(inner.values()):
            # a type holds more types than any type it holds
            order = sorted(indices, key=lambda i: len(inner[i]))
            out.append((k, [(i, inner[i]) for i in order]))
    return out


def _nested_restarts(order, fits, fit_from, X):
    """The third round for one number of components: ``order`` from
    :func:`_nesting`, ``fits`` the candidates' fits on all rows by index, and
    ``fit_from(i, resp)`` fits candidate ``i`` from the responsibilities
    ``resp``.  A candidate whose fit a regular fit of a type it holds beats
    (on the likelihood, or by being regular) is fitted again from the best
    such fit's posterior, and keeps the better of the two.  Returns the
    changed fits by index."""
    changed = {}
    for i, inner in order:
        fit = fits[i]
        if fit.get("a_priori"):
            continue  # degenerate whatever its start
        better = [
            j
            for j in inner
            if fits[j]["error"] is None
            and not fits[j].get("degenerate")
            and fits[j].get("estimator") is not None
            and _better(fits[j], fit)
        ]
        if not better:
            continue
        best = better[0]
        for j in better[1:]:
            if _better(fits[j], fits[best]):
                best = j
        resp = fits[best]["estimator"].predict_proba(X)
        result = fit_from(i, resp)
        result["fit_time"] += fit["fit_time"]
        if _better(result, fit):
            fits[i] = changed[i] = result
        else:
            fit["fit_time"] = result["fit_time"]
    return changed


def _rank_key(fit, criterion):
    """Sort key of a first-round fit: regular fits first, then the criterion
    (the BIC when the criterion is cross-validation)."""
    if fit["error"] is not None:
        return (2, np.inf)
    value = fit.get(criterion if criterion in ("bic", "aic", "icl") else "bic")
    value = np.inf if value is None or not np.isfinite(value) else value
    return (1 if fit.get("degenerate") else 0, value)


def _better(new, old):
    """Whether fit result ``new`` beats ``old``: regular first, then the
    likelihood (a tie, within rounding, keeps ``old``; see the engine's
    ``_beats``)."""
    if old["error"] is not None:
        return new["error"] is None
    if new["error"] is not None:
        return False
    return _beats(
        (not new["degenerate"], new["log_likelihood"]),
        (not old["degenerate"], old["log_likelihood"]),
    )


def _criteria(est, X, sample_weight=None):
    """Information criteria of a fitted mixture on its training data.

    Taken from the attributes the final E-step of our estimators records
    (``log_likelihood_``, ``n_parameters_``, ``responsibility_entropy_``) when
    present; otherwise from the public ``score``, ``bic``, ``aic`` and
    ``predict_proba``.  With ``sample_weight`` (our estimators), the number
    of rows is that of the rows of positive weight, as the degeneracy rule
    counts them: a zero weight removes the row, and the weights stay
    scale-free (their sum in units of the smallest would let one tiny
    weight multiply the penalty's rows).
    """
    n_samples = X.shape[0]
    own = hasattr(est, "log_likelihood_") and hasattr(est, "n_parameters_")
    if own and sample_weight is not None:
        n_samples = int(np.count_nonzero(np.asarray(sample_weight)))
    if own:
        log_likelihood = float(est.log_likelihood_)
        n_parameters = int(est.n_parameters_)
        bic = -2 * n_samples * log_likelihood + n_parameters * np.log(n_samples)
        aic = -2 * n_samples * log_likelihood + 2 * n_parameters
    elif hasattr(est, "bic") and hasattr(est, "aic"):
        log_likelihood = float(est.score(X))
        bic = float(est.bic(X))
        aic = float(est.aic(X))
        # aic = -2 n log L + 2 p
        n_parameters = int(round((aic + 2 * n_samples * log_likelihood) / 2))
    else:  # e.g. BayesianGaussianMixture: only criterion='cv' applies
        log_likelihood = float(est.score(X))
        bic = aic = np.nan
        n_parameters = -1
    if hasattr(est, "responsibility_entropy_"):
        entropy = float(est.responsibility_entropy_)
    elif hasattr(est, "predict_proba"):
        resp = est.predict_proba(X)
        entropy = float(-xlogy(resp, resp).sum() / n_samples)
    else:
        entropy = np.nan
    return {
        "log_likelihood": log_likelihood,
        "n_parameters": n_parameters,
        "bic": float(bic),
        "aic": float(aic),
        # Biernacki, Celeux & Govaert (2000): BIC plus twice the entropy of the
        # classification, in BIC's sign (lower is better).
        "icl": float(bic + 2 * n_samples * entropy),
    }


def _results_table(candidates, fits, n_splits, error_score):
    """``cv_results_`` without the ranks: one row per candidate, from the fit
    on all the data (``fits[i][0]``) and the cross-validation folds."""
    n_candidates = len(candidates)
    failed = np.array([f[0]["error"] is not None for f in fits])
    results = {"params": candidates}
    names = list(dict.fromkeys(name for params in candidates for name in params))
    for name in names:
        column = np.ma.MaskedArray(np.empty(n_candidates, dtype=object), mask=True)
        for i, params in enumerate(candidates):
            if name in params:
                column[i] = params[name]
        values = [params[name] for params in candidates if name in params]
        if (
            all(isinstance(v, Real) and not isinstance(v, bool) for v in values)
            and not np.ma.getmaskarray(column).any()
        ):
            column = np.ma.MaskedArray(np.array(values), mask=False)
        results[f"param_{name}"] = column

    def full_fit_column(key, fill, dtype=float):
        return np.array(
            [fill if f[0]["error"] is not None else f[0][key] for f in fits],
            dtype=dtype,
        )

    # with error_score="raise", only collapsed candidates have no scores
    missing = np.nan if error_score == "raise" else error_score
    for key in ("bic", "aic", "icl"):
        results[key] = full_fit_column(key, missing)
    results["log_likelihood"] = full_fit_column("log_likelihood", np.nan)
    results["n_parameters"] = np.ma.MaskedArray(
        full_fit_column("n_parameters", 0, dtype=np.int64), mask=failed
    )
    results["converged"] = full_fit_column("converged", False, dtype=bool)
    n_iter = [None if f[0]["error"] else f[0]["n_iter"] for f in fits]
    results["n_iter"] = np.ma.MaskedArray(
        [-1 if v is None else int(v) for v in n_iter],
        mask=[v is None for v in n_iter],
        dtype=np.int64,
    )
    results["degenerate"] = np.array(
        [
            f[0].get("degenerate", "")
            if f[0]["error"] is None
            else f[0].get("collapsed", "")
            for f in fits
        ],
        dtype=object,
    )
    results["fit_time"] = np.array([f[0]["fit_time"] for f in fits])
    all_times = [[s["fit_time"] for s in f] for f in fits]
    results["mean_fit_time"] = np.array([np.mean(t) for t in all_times])
    results["std_fit_time"] = np.array([np.std(t) for t in all_times])
    if n_splits:
        splits = np.array(
            [
                [
                    error_score if s["error"] is not None else s["test_score"]
                    for s in f[1:]
                ]
                for f in fits
            ],
            dtype=float,
        ).reshape(n_candidates, n_splits)
        for i in range(n_splits):
            results[f"split{i}_test_score"] = splits[:, i]
        results["mean_test_score"] = splits.mean(axis=1)
        results["std_test_score"] = splits.std(axis=1)
        # the criterion, lower is better as the other three
        results["cv"] = -results["mean_test_score"]
    return results


def _estimator_has(attr):
    """Whether a method can be delegated to the (best) estimator.

    Before fit, looks at the unfitted estimator so that ``hasattr`` works on an
    unfitted selector, as in scikit-learn's search estimators.
    """

    def check(self):
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
            return True
        if not self.refit:
            raise AttributeError(
                f"This {type(self).__name__} instance was initialized with "
                f"refit=False. {attr} is available only after refitting on the "
                "best parameters: refit an estimator with best_params_."
            )
        getattr(self._estimator(), attr)
        return True

    return check


def _searched_types(estimator):
    """What ``covariance_type="auto"`` searches for ``estimator``: mclust's
    models for this package's :class:`GaussianMixture`, scikit-learn's four
    for another estimator with a ``covariance_type`` parameter, None (the
    estimator's own) for one without.

    Examples
    --------
    >>> from sklearn.mixture import GaussianMixture as SklearnMixture
    >>> from gmm_estimators import GaussianMixture, MixtureOfPPCA
    >>> from gmm_estimators._selection import _searched_types
    >>> _searched_types(GaussianMixture()), _searched_types(SklearnMixture())
    ('mclust', ('full', 'tied', 'diag', 'spherical'))
    >>> _searched_types(MixtureOfPPCA()) is None
    True
    """
    if isinstance(estimator, GaussianMixture):
        return "mclust"
    if "covariance_type" in estimator.get_params(deep=False):
        return COVARIANCE_TYPES
    return None


class GaussianMixtureSelector(ClusterMixin, DensityMixin, BaseEstimator):
    """Select the number of components and covariance type of a Gaussian mixture.

    Fits one mixture per candidate (every number of components in
    ``n_components`` times every covariance type in ``covariance_type`` times
    every point of ``param_grid``) and keeps the candidate with the lowest
    information criterion: BIC (the default), AIC, ICL, or the negative
    cross-validated held-out log-likelihood. This is the model-based clustering
    recipe of mclust (Fraley & Raftery, 2002) with scikit-learn's search API.

    Information criteria are computed from each candidate's fit on all the data,
    so there is no refit: ``best_estimator_`` is the winning candidate itself.
    With the default ``search='thorough'``, each candidate of the package's
    mixtures is fitted from several starts
    (by default mclust's hierarchical clustering, k-means, k-means++ and
    random rows: the ``estimator`` parameter), shared across the grid (one
    tree per data set, one k-means per number of components), then restarted
    from the partitions the other covariance types found with the same number
    of components and from a split of its own type's solution with one
    component fewer; last, a candidate that fits worse than a regular fit of
    a covariance type it holds (same number of components; e.g. ``VVE`` and
    ``EVE``) is fitted again from that fit's posterior, so that a larger
    model never ends below a regular smaller one but where that start ends
    degenerate (not on a Dask array). ``search='mclust'`` fits each
    candidate once, from mclust's start, as mclust does.
    Degenerate fits (``cv_results_["degenerate"]``) are never selected.
    Candidates are fitted in parallel with joblib, one job per number of
    components.

    ``X`` may be a :class:`dask.array.Array` (with the package's mixtures):
    every candidate is then fitted chunk by chunk on the Dask cluster and the
    data are never gathered. The search makes one pass for the data's moments
    and draws one weighted sample of the rows, on which every candidate's
    starts are computed and screened (the best continues on all rows); the
    second round's partitions are the candidates' labels of the sample's rows.
    The criteria come from each candidate's final pass over all rows.
    ``labels_``, ``predict``, ``predict_proba``, ``score_samples`` and
    ``transform`` give lazy Dask arrays on a Dask array; the fitted attributes
    are numpy, and ``best_estimator_`` takes numpy input too (see
    :ref:`dask`).

    Parameters
    ----------
    estimator : estimator object, default=None
        The mixture to select. It needs ``fit`` and ``score``, and ``bic`` and
        ``aic`` for the information criteria (``predict_proba`` for
        ``criterion='icl'``): any mixture with ``score``, e.g.
        :class:`~sklearn.mixture.BayesianGaussianMixture`, can be selected
        by ``criterion='cv'``. ``None`` means
        ``GaussianMixture(init_params=("hc", "kmeans", "k-means++",
        "random_from_data"), n_init=4, tol=1e-5, max_iter=1000,
        reg_covar=1e-10, tol_relative=True, reg_covar_relative=True)``. It is
        cloned, never modified, and the candidates get only the searched
        parameters.

    n_components : int or array-like of int, default=10
        Numbers of components to try. An int ``n`` stands for ``1, 2, ..., n``
        (so the default tries 1 to 10); ``range(2, 8)`` or ``[2, 4, 8]`` try
        those. Every value must be an integer between 1 and the number of
        training samples.

    covariance_type : "auto", str, sequence of str or None, default="auto"
        Covariance types to try: any of :class:`GaussianMixture`'s, so also
        mclust's fourteen parsimonious models (see :ref:`covariance_models`);
        ``"mclust"`` searches mclust's models, as mclust's ``mclustBIC``
        does: all fourteen (``MCLUST_MODELS``), or for one feature the
        univariate ``"E"`` and ``"V"``, which the fourteen reduce to there.
        ``"auto"`` searches every type the estimator has: ``"mclust"`` for
        this package's :class:`GaussianMixture` (the default estimator),
        scikit-learn's four (``'full'``, ``'tied'``, ``'diag'``,
        ``'spherical'``) for another estimator with a ``covariance_type``
        parameter (such as scikit-learn's
        :class:`~sklearn.mixture.GaussianMixture`), and the estimator's own
        for one without (such as :class:`~gmm_estimators.MixtureOfPPCA`).
        ``None`` keeps the estimator's own. The fourteen cost about five
        times the four (see :ref:`the cost of a search <selector-cost>`);
        pass ``["full", "tied", "diag", "spherical"]`` for scikit-learn's
        four.

    param_grid : dict or list of dicts, default=None
        Other estimator parameters to search, in the format of
        :class:`~sklearn.model_selection.ParameterGrid`, e.g.
        ``{"n_latent": [2, 5]}``. It must not name ``n_components`` or
        ``covariance_type``.

    criterion : {'bic', 'aic', 'icl', 'cv'}, default='bic'
        How candidates are compared; lower is better for all four:

        - ``'bic'``: Bayesian information criterion, ``-2 log L + p log n``;
        - ``'aic'``: Akaike information criterion, ``-2 log L + 2 p``;
        - ``'icl'``: integrated completed likelihood, BIC plus twice the
          entropy of the responsibilities; it prefers well separated
          clusters over extra components that only refine the density;
        - ``'cv'``: minus the mean per-sample log-likelihood of held-out data,
          averaged over the ``cv`` folds.

    search : {'thorough', 'mclust'}, default='thorough'
        How hard each candidate's best fit is searched for (see
        :ref:`the cost of a search <selector-cost>`):

        - ``'thorough'``: every start of the estimator, then the restarts
          described above. On 52 of 118 data sets of R, mclust and
          scikit-learn it chooses a model with a better BIC than a
          ``'mclust'`` search, which costs a third to a sixth of its time.
        - ``'mclust'``: what mclust's ``mclustBIC`` does: each candidate is
          fitted once, from mclust's hierarchical-clustering start
          (``init_params='hc'``, whatever the estimator's own), and not
          restarted. Deterministic where the tree is built on all the rows
          (up to 2000), about ``mclustBIC``'s time or less on small data,
          and as good as mclust's fits from the same start; the better
          optima of a thorough search are missed. As mclust's, its fits
          number their components by the rows' order, and where merges of
          the tree tie (identical rows) may depend on it. Only for :class:`GaussianMixture` (not
          :class:`OnlineGaussianMixture`); ``best_estimator_`` is then
          ``GaussianMixture(**best_params_, init_params='hc', n_init=1)``
          with the estimator's other parameters, fitted alone.

    cv : int, cross-validation generator or iterable, default=5
        Folds for ``criterion='cv'`` (ignored otherwise). An int gives that
        many shuffled :class:`~sklearn.model_selection.KFold` folds, seeded
        from ``random_state`` (shuffled because rows are often ordered by
        cluster); anything else is used as by
        :func:`~sklearn.model_selection.check_cv`.

    n_jobs : int, default=None
        Number of candidates fitted in parallel. ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context; ``-1`` means all processors.
        On a Dask array the jobs are threads that share the Dask cluster.

    refit : bool, default=True
        Whether to keep the best candidate as ``best_estimator_`` (fitted on
        all the data) and make ``predict`` and the other delegated methods
        available. ``False`` keeps only ``cv_results_`` and the ``best_*``
        summaries, and saves the memory of the fitted candidates.

    error_score : 'raise' or float, default=np.nan
        Value recorded in ``cv_results_`` for a candidate whose fit raises. A
        failed candidate is never selected, and one
        :class:`~sklearn.exceptions.FitFailedWarning` summarises the failures.
        ``'raise'`` re-raises the first error. If every candidate fails, a
        ``ValueError`` is raised. A candidate of the package's mixtures whose
        every start collapses (a covariance singular even with ``reg_covar``,
        where mclust reports NA) is not a failure: it is degenerate, with
        ``error_score`` (NaN under ``'raise'``) as its scores and the reason
        in ``cv_results_["degenerate"]``, and with the information criteria
        neither warns nor raises (with ``criterion='cv'`` a fold's fit that
        collapses from every start is a failed fit on that fold).

    random_state : int, RandomState instance or None, default=None
        Seeds the starts of the candidates whose own ``random_state`` is
        ``None`` (without setting their parameter: an int is used as it is,
        so ``clone(best_estimator_).set_params(random_state=<that int>)``
        fitted alone gives the same first-round fit; the later rounds start
        from the other candidates' partitions, which a fit alone does not
        have, so where they improved the chosen candidate, as they often do
        over mclust's fourteen models, ``best_estimator_`` itself is the fit
        to keep) and the folds of ``cv=int``. Estimators of other packages
        are fitted as given, as by ``GridSearchCV``. Pass an int for
        reproducible results.

    verbose : int, default=0
        ``1`` prints one line per candidate (parameters, criterion, fit time);
        higher values also pass ``verbose - 1`` to the candidates.

    Attributes
    ----------
    best_estimator_ : estimator object
        The selected candidate, fitted on all the data. Only with
        ``refit=True``.

    best_params_ : dict
        Parameters of the selected candidate.

    best_score_ : float
        ``cv_results_[criterion][best_index_]``, lower is better: the BIC,
        AIC or ICL, or for ``criterion='cv'`` minus the mean held-out
        log-likelihood per sample.

    n_splits_ : int
        Number of cv folds (0 for the information criteria).

    refit_time_ : float
        Seconds the selected candidate took to fit on all the data (there is
        no separate refit). Only with ``refit=True``.

    best_index_ : int
        Row of the selected candidate in ``cv_results_``.

    n_components_ : int
        Number of components of the selected candidate.

    covariance_type_ : str or None
        Covariance type of the selected candidate; ``None`` for estimators
        without one.

    cv_results_ : dict of numpy (masked) ndarrays
        One row per candidate, in the order: ``param_grid`` point, covariance
        type, number of components. Load it with ``pandas.DataFrame``. Keys:

        - ``params``: list of the candidates' parameter dicts;
        - ``param_<name>``: masked array of each searched parameter;
        - ``bic``, ``aic``, ``icl``: criteria on the training data
          (``error_score`` for failed fits);
        - ``log_likelihood``: mean per-sample training log-likelihood;
        - ``n_parameters``: number of free parameters (masked if failed);
        - ``converged``, ``n_iter``: convergence of the fit (``n_iter`` masked
          where unknown);
        - ``degenerate``: why the fit is degenerate, ``""`` if it is not
          (see :attr:`GaussianMixture.degenerate_`), or ``"every start
          collapsed: ..."`` where no start gave a fit; degenerate candidates
          are never selected;
        - ``fit_time``: seconds to fit on all the data (with the cross-type
          restarts); ``mean_fit_time``, ``std_fit_time``: over that fit and
          the cv folds;
        - ``rank_test_score``: rank by the criterion (1 is the best; failed
          candidates last);
        - with ``criterion='cv'``: ``split<i>_test_score``, ``mean_test_score``
          and ``std_test_score``, the held-out mean log-likelihood per sample
          (higher is better, as in scikit-learn's searches), and ``cv``, its
          negative: the criterion, lower is better as the other three.

    labels_ : ndarray of shape (n_samples,)
        Component of each training sample under the selected model (a lazy
        Dask array when fitted on one). Only with ``refit=True``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when `X` has feature
        names that are all strings.

    See Also
    --------
    GaussianMixture : The mixture fitted for each candidate by default.
    MixtureOfPPCA : A mixture whose order can be selected too.
    CriterionDisplay : Plot of the criterion against the number of components.
    sklearn.model_selection.GridSearchCV : The general, slower, search.

    Notes
    -----
    With ``n`` training samples, mean log-likelihood ``ll`` and ``p`` free
    parameters: ``BIC = -2 n ll + p log n`` (Schwarz, 1978),
    ``AIC = -2 n ll + 2 p`` (Akaike, 1974) and ``ICL = BIC + 2 n H``, where
    ``H`` is the mean entropy ``-sum_k r_ik log r_ik`` of the responsibilities
    (Biernacki, Celeux & Govaert, 2000). Cross-validated likelihood for
    mixtures follows Smyth (2000).

    References
    ----------
    .. [1] G. Schwarz, "Estimating the dimension of a model", Annals of
       Statistics 6(2), 1978.
    .. [2] H. Akaike, "A new look at the statistical model identification",
       IEEE Transactions on Automatic Control 19(6), 1974.
    .. [3] C. Biernacki, G. Celeux and G. Govaert, "Assessing a mixture model
       for clustering with the integrated completed likelihood", IEEE
       Transactions on Pattern Analysis and Machine Intelligence 22(7), 2000.
    .. [4] C. Fraley and A. E. Raftery, "Model-based clustering, discriminant
       analysis, and density estimation", Journal of the American
       Statistical Association 97(458), 2002.
    .. [5] P. Smyth, "Model selection for probabilistic clustering using
       cross-validated likelihood", Statistics and Computing 10(1), 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from gmm_estimators import GaussianMixtureSelector
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> selector = GaussianMixtureSelector(n_components=4, random_state=0).fit(X)
    >>> selector.n_components_, selector.covariance_type_  # of mclust's fourteen
    (3, 'EII')
    >>> len(set(selector.predict(X)))
    3
    >>> bool(np.isclose(selector.bic(X), selector.best_score_))
    True

    mclust's own search, each candidate once from mclust's start, is faster
    and here chooses the same model (to rounding):

    >>> fast = GaussianMixtureSelector(n_components=4, search="mclust").fit(X)
    >>> fast.n_components_, fast.covariance_type_
    (3, 'EII')
    >>> bool(abs(fast.best_score_ - selector.best_score_) < 0.01)
    True

    With an estimator that has ``transform``, the selector is a transformer:

    >>> from gmm_estimators import MixtureOfPPCA
    >>> selector = GaussianMixtureSelector(
    ...     MixtureOfPPCA(n_latent=1), n_components=3, random_state=0
    ... )
    >>> Z = selector.fit_transform(X)  # n_components_ * (n_latent + 1) columns
    >>> Z.shape == (300, selector.n_components_ * 2)
    True
    """

    # the "?" link of the HTML representation
    _doc_link_module = DOC_LINK_MODULE
    _doc_link_template = DOC_LINK_TEMPLATE

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score"]), None],
        "n_components": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "covariance_type": [
            StrOptions(set(COVARIANCE_MODELS) | {"mclust", "auto"}),
            "array-like",
            None,
        ],
        "param_grid": [dict, list, None],
        "criterion": [StrOptions({"bic", "aic", "icl", "cv"})],
        "search": [StrOptions(set(SEARCHES))],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
        "refit": ["boolean"],
        "error_score": [StrOptions({"raise"}), Real],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_components=10,
        covariance_type="auto",
        param_grid=None,
        criterion="bic",
        search="thorough",
        cv=5,
        n_jobs=None,
        refit=True,
        error_score=np.nan,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.param_grid = param_grid
        self.criterion = criterion
        self.search = search
        self.cv = cv
        self.n_jobs = n_jobs
        self.refit = refit
        self.error_score = error_score
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        # as scikit-learn's searches: the tags follow the searched estimator
        tags = super().__sklearn_tags__()
        sub = get_tags(self._estimator())
        tags.transformer_tags = copy.deepcopy(sub.transformer_tags)
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.input_tags.pairwise = sub.input_tags.pairwise
        tags.input_tags.allow_nan = sub.input_tags.allow_nan
        return tags

    def _estimator(self):
        """The estimator to clone for each candidate."""
        return default_estimator() if self.estimator is None else self.estimator

    def _candidates(self, estimator, n_components, n_features):
        """Parameter dicts of all candidates, in ``cv_results_`` order."""
        estimator_params = estimator.get_params()
        covariance_type = self.covariance_type
        if isinstance(covariance_type, str) and covariance_type == "auto":
            covariance_type = _searched_types(estimator)
        if covariance_type is None:
            covariance_types = [None]
        else:
            if "covariance_type" not in estimator_params:
                raise ValueError(
                    f"{type(estimator).__name__} has no covariance_type parameter: "
                    "set covariance_type=None (or leave the default, 'auto') to "
                    "select its number of components."
                )
            if isinstance(covariance_type, str) and covariance_type == "mclust":
                covariance_types = list(mclust_models(n_features))
            elif isinstance(covariance_type, str):
                covariance_types = [covariance_type]
            else:
                # (any array-like of names: a list, a tuple, a numpy array)
                covariance_types = [str(c) for c in np.asarray(covariance_type).ravel()]
                if not covariance_types:
                    raise ValueError("covariance_type is an empty sequence.")
                unknown = [c for c in covariance_types if c not in COVARIANCE_MODELS]
                if unknown:
                    raise ValueError(
                        "covariance_type must hold values among "
                        f"{list(COVARIANCE_MODELS)}; got {unknown}."
                    )
                # drop repeats, keep the order given
                covariance_types = list(dict.fromkeys(covariance_types))

        if self.param_grid is None:
            grid = [{}]
        else:
            grid = list(ParameterGrid(self.param_grid))
            for point in grid:
                reserved = {"n_components", "covariance_type"} & point.keys()
                if reserved:
                    raise ValueError(
                        f"param_grid must not contain {sorted(reserved)}: use the "
                        "selector's own n_components and covariance_type parameters."
                    )
                unknown = set(point) - set(estimator_params)
                if unknown:
                    raise ValueError(
                        f"param_grid names {sorted(unknown)}, which are not "
                        f"parameters of {type(estimator).__name__}."
                    )
            if not grid:
                raise ValueError("param_grid is empty.")

        candidates = []
        for point in grid:
            for covariance_type in covariance_types:
                for k in n_components:
                    params = {"n_components": k}
                    if covariance_type is not None:
                        params["covariance_type"] = covariance_type
                    params.update(point)
                    candidates.append(params)
        return candidates

    def _candidate_params(self, estimator, params):
        """A candidate's searched parameters (plus the verbosity passed down)."""
        if self.verbose > 1 and "verbose" in estimator.get_params(deep=False):
            params = {**params, "verbose": self.verbose - 1}
        return params

    def _check_cv(self, rng):
        """The folds of ``criterion='cv'``: an int gives shuffled, seeded KFold."""
        if isinstance(self.cv, Integral):
            seed = rng.randint(np.iinfo(np.int32).max)
            return KFold(n_splits=self.cv, shuffle=True, random_state=seed)
        return check_cv(self.cv)

    def get_metadata_routing(self):
        """Where ``fit``'s metadata goes: to the candidates and to the cv splitter.

        Returns
        -------
        routing : MetadataRouter
            ``sample_weight`` (and any other fit metadata) is routed to the
            estimator's ``fit`` (and ``score`` for ``criterion='cv'``);
            ``groups`` to the splitter's ``split``.
        """
        router = MetadataRouter(owner=self.__class__.__name__).add(
            estimator=self._estimator(),
            method_mapping=MethodMapping()
            .add(caller="fit", callee="fit")
            .add(caller="fit", callee="score"),
        )
        return router.add(
            splitter=check_cv(self.cv if not isinstance(self.cv, Integral) else 5),
            method_mapping=MethodMapping().add(caller="fit", callee="split"),
        )

    def _route(self, sample_weight, params):
        """(fit params, score params, split params) of the candidates and folds."""
        if sample_weight is not None:
            params = {**params, "sample_weight": sample_weight}
        if _routing_enabled():
            routed = process_routing(self, "fit", **params)
            return (
                dict(routed.estimator.fit),
                dict(routed.estimator.score),
                dict(routed.splitter.split),
            )
        # without metadata routing, as GridSearchCV: groups to the splitter,
        # everything else to the candidates' fit (and sample_weight to score)
        split = {"groups": params.pop("groups")} if "groups" in params else {}
        score = {}
        if "sample_weight" in params:
            score["sample_weight"] = params["sample_weight"]
        return params, score, split

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None, **params):
        """Fit every candidate mixture and select the best one.

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_samples, n_features)
            Training data. A Dask array is never gathered: the candidates are
            fitted on its chunks, their starts on one weighted sample of its
            rows drawn for the whole search (with ``criterion='cv'``, the
            folds are rows taken lazily, each with its own sample).

        y : None
            Ignored; present for API consistency.

        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, passed to every candidate's ``fit`` (and to
            ``score`` on the held-out rows for ``criterion='cv'``); with a Dask
            ``X``, a Dask array (aligned with X's row chunks) or a numpy one.
            The information criteria then take the weighted mean
            log-likelihood times the number of rows of positive weight, which
            is also the ``n`` of BIC's penalty: a row of zero weight is a row
            removed, and multiplying every weight by a constant changes
            nothing.

        **params : dict
            Other metadata: ``groups`` goes to the cv splitter (e.g.
            :class:`~sklearn.model_selection.GroupKFold`), the rest to the
            candidates' ``fit``; with metadata routing enabled
            (``sklearn.set_config(enable_metadata_routing=True)``) as the
            estimator and the splitter request them.

        Returns
        -------
        self : GaussianMixtureSelector
            The fitted selector.
        """
        # All or nothing: a failed or interrupted search leaves the selector
        # as it was before it started.
        state = dict(self.__dict__)
        try:
            return self._fit(X, sample_weight, params)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _warn_constant_features(self, X, sample_weight):
        """Warn about features constant over the rows of positive weight: every
        candidate holds their variance at its regularisation, which then
        decides the likelihoods and the criteria (on iris with a constant
        fifth column, half of the fourteen-model candidates failed and the
        search chose VVV,2 instead of VEV,2; mclust chose EEE,1)."""
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
            if sample_weight.shape != (X.shape[0],):
                return  # the candidates' fit refuses it, clearly
        constant = constant_features(X, sample_weight)
        if constant.size:
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                which = ", ".join(map(str, constant)) + " (counted from 0)"
            else:
                which = ", ".join(repr(str(names[j])) for j in constant)
            warnings.warn(
                f"{type(self).__name__}: feature(s) {which} "
                "are constant; every candidate's variance along them is its "
                "regularisation (reg_covar), which then decides the likelihoods "
                "and the criteria, and models that share a shape or a volume "
                "across components cannot fit them. Drop constant features "
                "before the search.",
                UserWarning,
                stacklevel=5,  # the caller of fit (through scikit-learn's wrapper)
            )

    def _fit(self, X, sample_weight, params):
        """The body of :meth:`fit`."""
        estimator = self._estimator()
        mclust_search = self.search == "mclust"
        if mclust_search and not getattr(estimator, "_mclust_search", False):
            raise ValueError(
                "search='mclust' fits every candidate from mclust's start "
                "(init_params='hc'), which only GaussianMixture takes here; got "
                f"{type(estimator).__name__}: use search='thorough'."
            )
        on_dask = _is_dask_array(X)
        if on_dask:
            X = self._dask_input(X, estimator)
        else:
            X = validate_data(self, X, dtype=[np.float64, np.float32])
            self._warn_constant_features(X, sample_weight)
        n_samples = X.shape[0]
        n_components = _check_n_components(self.n_components, n_samples)
        candidates = self._candidates(estimator, n_components, X.shape[1])
        if self.criterion == "icl" and not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"criterion='icl' needs the responsibilities: "
                f"{type(estimator).__name__} has no predict_proba."
            )
        if self.criterion in ("bic", "aic", "icl") and not (
            hasattr(estimator, "bic") or isinstance(estimator, _BaseMixture)
        ):
            raise ValueError(
                f"criterion={self.criterion!r} needs an information criterion: "
                f"{type(estimator).__name__} has no bic/aic; use criterion='cv'."
            )
        fit_params, score_params, split_params = self._route(sample_weight, params)

        # One seed for every candidate of the package's own mixtures whose
        # random_state is None (the selector's own int when it has one), so
        # that GaussianMixture(**best_params_, random_state=<that seed>) with
        # the same starts fits the same first-round candidate.
        if isinstance(self.random_state, Integral):
            seed = int(self.random_state)
        else:
            seed = int(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            )
        own = estimator.get_params(deep=False).get("random_state", None)
        fit_seed = seed if own is None else own
        # What each candidate is fitted on: all the data, then the cv folds.
        splits = [(None, None)]
        if self.criterion == "cv":
            cv = self._check_cv(np.random.RandomState(seed))
            splits += list(cv.split(X, None, **split_params))
        n_splits = len(splits) - 1
        caches = [{} for _ in splits]
        # On a Dask array: one data pass and one sample per fit on all the
        # data or a fold, shared by the candidates through the cache (their
        # starts are drawn on the sample, as those of a lone Dask fit); the
        # second round's partitions are of the sample's rows.
        samples = [None] * len(splits)
        if on_dask:
            for split, (train, _) in enumerate(splits):
                samples[split] = _dask_module().prepare_search(
                    estimator,
                    X if train is None else X[train],
                    _subset(fit_params, train).get("sample_weight"),
                    fit_seed,
                    caches[split],
                )
        sample = samples[0]  # (rows, weights) on a Dask array, else None

        # One job per (number of components, split): its candidates (every
        # covariance type and grid point) share the hc tree and the k-means
        # centres through the split's cache.
        by_k = {}
        for index, params_ in enumerate(candidates):
            by_k.setdefault(params_["n_components"], []).append(index)
        jobs = [(k, split) for k in by_k for split in range(len(splits))]

        def run_job(k, split, starts=None, splits_from=None):
            out = []
            for index in by_k[k]:
                context = {"random_state": fit_seed, "cache": caches[split]}
                if starts is not None and fits[index][0].get("a_priori"):
                    out.append(None)  # degenerate whatever its start
                    continue
                if split == 0 and starts is None:
                    context["a_priori"] = ""  # the fit says why, if it is
                if mclust_search:
                    context["runs"] = ["hc"]  # mclust's start alone
                if sample is not None and split == 0:
                    context["partition_rows"] = sample[0]
                if starts is not None:
                    # the other partitions, each once, and not this
                    # candidate's own (EM from it returns to its optimum)
                    own = starts[index].tobytes() if index in starts else None
                    extra = (splits_from or {}).get(index, [])
                    others = {
                        lab.tobytes(): lab
                        for j, lab in [*starts.items(), *((None, e) for e in extra)]
                        if j != index and lab.tobytes() != own
                    }
                    others = list(others.values())
                    if not others:
                        out.append(None)
                        continue
                    context["starts"] = others
                out.append(
                    _fit_candidate(
                        estimator,
                        self._candidate_params(estimator, candidates[index]),
                        X,
                        *splits[split],
                        context,
                        fit_params,
                        score_params,
                        self.error_score,
                        # (the third round starts from the full fits'
                        # posteriors)
                        split == 0,
                    )
                )
            return out

        # (the candidates of a Dask array share the client's cluster: threads)
        prefer = "threads" if on_dask else None
        results = Parallel(n_jobs=self.n_jobs, prefer=prefer)(
            delayed(run_job)(k, split) for k, split in jobs
        )
        fits = [[None] * len(splits) for _ in candidates]
        for (k, split), job in zip(jobs, results, strict=True):
            for index, result in zip(by_k[k], job, strict=True):
                fits[index][split] = result

        # Second round: restart each candidate from the partitions the other
        # candidates with the same number of components found and from a
        # split of its own type's partition with one component fewer; keep
        # the better solution (regular first, then the larger likelihood).
        if isinstance(estimator, _BaseMixture) and not mclust_search:
            rows, row_weights = X, fit_params.get("sample_weight")
            if sample is not None:
                rows, row_weights = sample
            n_support = (
                rows.shape[0]
                if row_weights is None
                else int(np.count_nonzero(np.asarray(row_weights)))
            )
            subsampled = sample is not None or n_support > SCREEN_ROWS
            second = _restart_partitions(
                rows,
                candidates,
                by_k,
                fits,
                row_weights,
                self.criterion,
                RESTART_SOURCES_SUBSAMPLED if subsampled else RESTART_SOURCES,
            )
            results = Parallel(n_jobs=self.n_jobs, prefer=prefer)(
                delayed(run_job)(k, 0, starts, splits_from)
                for k, starts, splits_from in second
            )
            for (k, *_), job in zip(second, results, strict=True):
                for index, result in zip(by_k[k], job, strict=True):
                    if result is not None:
                        first = fits[index][0]
                        result["fit_time"] += first["fit_time"]
                        if _better(result, first):
                            fits[index][0] = result
                        else:
                            first["fit_time"] = result["fit_time"]

            # Third round, where a covariance type fits worse than a type it
            # holds with the same number of components (EVE better than VVE,
            # EEE better than VVV): EM for the larger model from the smaller
            # one's posterior, whose first M-step can only raise the larger
            # model's likelihood above the smaller's; each k's types in
            # order, so that a gain passes on to the types that hold it.
            if sample is None:
                nesting = _nesting(candidates, by_k)
                results = Parallel(n_jobs=self.n_jobs, prefer=prefer)(
                    delayed(_nested_restarts)(
                        order,
                        {i: fits[i][0] for i, _ in order},
                        lambda i, resp: _fit_candidate(
                            estimator,
                            self._candidate_params(estimator, candidates[i]),
                            X,
                            None,
                            None,
                            {
                                "random_state": fit_seed,
                                "cache": caches[0],
                                "starts": [resp],
                            },
                            fit_params,
                            score_params,
                            self.error_score,
                            True,
                        ),
                        X,
                    )
                    for _, order in nesting
                )
                for job in results:
                    for index, result in job.items():
                        fits[index][0] = result

        if self.verbose > 0:
            for index in range(len(candidates)):
                self._print_progress(index, candidates, fits[index])
        self._store_results(candidates, fits, n_splits)
        self.n_splits_ = n_splits
        # (a selector refitted with refit=False keeps no earlier best model)
        for name in ("best_estimator_", "refit_time_", "labels_"):
            self.__dict__.pop(name, None)
        if self.refit:
            best = fits[self.best_index_][0]
            self.best_estimator_ = best["estimator"]
            if self.verbose > 1 and "verbose" in estimator.get_params(deep=False):
                # (the candidates' verbose - 1 was for the search only)
                self.best_estimator_.set_params(
                    verbose=estimator.get_params(deep=False)["verbose"]
                )
            self.refit_time_ = best["fit_time"]
            if hasattr(self.best_estimator_, "labels_"):
                self.labels_ = self.best_estimator_.labels_
            else:
                # (before it learns the feature names: X is the checked array)
                self.labels_ = self.best_estimator_.predict(X)
            if hasattr(self, "feature_names_in_"):
                self.best_estimator_.feature_names_in_ = self.feature_names_in_
        return self

    def _dask_input(self, X, estimator):
        """Check a Dask array of training data without computing it."""
        if not isinstance(estimator, _BaseMixture):
            raise ValueError(
                f"{type(estimator).__name__} cannot be fitted on a Dask array: only "
                "the package's mixtures (GaussianMixture, MixtureOfPPCA) fit chunk "
                "by chunk. Compute X (or a sample of its rows) first."
            )
        _, X = _dask_module()._as_2d_float(X, "fitting")
        self.n_features_in_ = X.shape[1]
        self.__dict__.pop("feature_names_in_", None)
        return X

    def _print_progress(self, index, candidates, fits):
        """One line per candidate for ``verbose=1``."""
        fit_time = sum(f["fit_time"] for f in fits)
        errors = [f["error"] for f in fits if f["error"] is not None]
        if fits[0]["error"] is not None:
            outcome = f"failed ({fits[0]['error']})"
        elif self.criterion == "cv":
            outcome = (
                f"cv={-np.mean([f.get('test_score', np.nan) for f in fits[1:]]):.6g}"
            )
            if errors:
                outcome += f" ({len(errors)} folds failed)"
        else:
            outcome = f"{self.criterion}={fits[0][self.criterion]:.6g}"
            if fits[0].get("degenerate"):
                outcome += f" (degenerate: {fits[0]['degenerate']})"
        print(
            f"[{type(self).__name__}] {index + 1}/{len(candidates)} "
            f"{_format_params(candidates[index])}: {outcome}, {fit_time:.3f}s",
            flush=True,
        )

    def _store_results(self, candidates, fits, n_splits):
        """Fill ``cv_results_`` and the ``best_*`` attributes; warn on failures."""
        results = _results_table(candidates, fits, n_splits, self.error_score)
        scores = results[self.criterion]
        failed = np.array([f[0]["error"] is not None for f in fits])
        selectable = self._selectable(results, fits, failed, scores)
        self._warn_failures(candidates, fits, failed, results["converged"])
        ranked = np.where(selectable, scores, np.inf)
        results["rank_test_score"] = rankdata(ranked, method="min").astype(np.int32)
        self.cv_results_ = results
        self.best_index_ = int(np.argmin(ranked))
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(scores[self.best_index_])
        self.n_components_ = self.best_params_["n_components"]
        self.covariance_type_ = self.best_params_.get(
            "covariance_type",
            self._estimator().get_params().get("covariance_type"),
        )

    def _selectable(self, results, fits, failed, scores):
        """Candidates that may be chosen: fitted, with a defined criterion,
        and regular unless every one of them is degenerate (then a warning)."""
        selectable = ~failed & ~np.isnan(scores)
        degenerate = results["degenerate"] != ""
        if (selectable & degenerate).any():
            if (selectable & ~degenerate).any():
                selectable &= ~degenerate
            else:
                warnings.warn(
                    "Every candidate's fit is degenerate (see cv_results_"
                    "['degenerate']): the best of them is selected. Consider fewer "
                    "components, a more constrained covariance type, or scaling "
                    "the data.",
                    UserWarning,
                    stacklevel=6,  # the caller of fit (through _store_results)
                )
        if not selectable.any():
            errors = [s["error"] for f in fits for s in f if s["error"] is not None]
            summary = "\n".join(
                f"{n} fits failed with: {error}" for error, n in Counter(errors).items()
            )
            raise ValueError(
                f"All {len(failed)} candidates failed to fit or have an undefined "
                f"{self.criterion}; try error_score='raise' to debug.\n{summary}"
            )
        return selectable

    def _warn_failures(self, candidates, fits, failed, converged):
        """One warning for the fits that failed, one for the candidates that
        did not converge."""
        all_fits = [s for f in fits for s in f]

        def errors(f):
            # a collapsed candidate is degenerate (cv_results_), not failed
            return [s["error"] for s in f if s["error"] and not s.get("collapsed")]

        n_errors = sum(len(errors(f)) for f in fits)
        if n_errors:
            # each error once, after the candidates it ended (over the
            # fourteen models, several candidates often fail alike)
            by_error = {}
            for i, f in enumerate(fits):
                for error in sorted(set(errors(f))):
                    by_error.setdefault(error, []).append(_format_params(candidates[i]))
            details = " ".join(
                f"{'; '.join(names)}: {error}" for error, names in by_error.items()
            )
            warnings.warn(
                f"{n_errors} of {len(all_fits)} fits failed; their scores are set "
                f"to error_score={self.error_score!r} and failed candidates are "
                f"never selected. Set error_score='raise' to debug. {details}",
                FitFailedWarning,
                stacklevel=6,
            )
        # (a candidate degenerate whatever its start ran a few steps only)
        a_priori = np.array([bool(f[0].get("a_priori")) for f in fits])
        not_converged = ~failed & ~converged & ~a_priori
        if not_converged.any():
            warnings.warn(
                f"{int(not_converged.sum())} of {len(candidates)} candidates did not "
                "converge (see cv_results_['converged']); consider increasing the "
                "estimator's max_iter or tol.",
                ConvergenceWarning,
                stacklevel=6,
            )

    def _check_fitted(self):
        check_is_fitted(self, "cv_results_")
        if not hasattr(self, "best_estimator_"):
            raise AttributeError(
                f"This {type(self).__name__} instance was fitted with refit=False: "
                "it has no best_estimator_ to delegate to."
            )

    def _validate_X(self, X):
        """Check X against the fit (features, names); return it as given, so
        that the best estimator sees the feature names too."""
        self._check_fitted()
        if _is_dask_array(X):  # the best estimator checks it, and stays lazy
            return X
        validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return X

    # The methods below call the best estimator's; its class documents them.
    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Call ``predict`` on the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        X = self._validate_X(X)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Call ``predict_proba`` on the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components\\_)
            Posterior probability of each component given each sample.
        """
        X = self._validate_X(X)
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("score_samples"))
    def score_samples(self, X):
        """Call ``score_samples`` on the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            Log density of each sample.
        """
        X = self._validate_X(X)
        return self.best_estimator_.score_samples(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y=None):
        """Call ``score`` on the best estimator: the mean log-likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean log density of the samples.
        """
        X = self._validate_X(X)
        return self.best_estimator_.score(X)

    @available_if(_estimator_has("sample"))
    def sample(self, n_samples=1):
        """Call ``sample`` on the best estimator.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        y : ndarray of shape (n_samples,)
            The component of each sample.
        """
        self._check_fitted()
        return self.best_estimator_.sample(n_samples)

    @available_if(_estimator_has("bic"))
    def bic(self, X):
        """Call ``bic`` on the best estimator (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        bic : float
            Bayesian information criterion on `X`.
        """
        X = self._validate_X(X)
        return self.best_estimator_.bic(X)

    @available_if(_estimator_has("aic"))
    def aic(self, X):
        """Call ``aic`` on the best estimator (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        aic : float
            Akaike information criterion on `X`.
        """
        X = self._validate_X(X)
        return self.best_estimator_.aic(X)

    @available_if(_estimator_has("icl"))
    def icl(self, X):
        """Call ``icl`` on the best estimator (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        icl : float
            Integrated completed likelihood criterion on `X`.
        """
        X = self._validate_X(X)
        return self.best_estimator_.icl(X)

    @available_if(_estimator_has("transform"))
    def fit_transform(self, X, y=None, sample_weight=None, **params):
        """Fit the selector, then call ``transform`` on the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in :meth:`fit`.
        **params : dict
            Other metadata, as in :meth:`fit`.

        Returns
        -------
        X_new : ndarray
            The best estimator's transform of `X`.
        """
        return self.fit(X, y, sample_weight=sample_weight, **params).transform(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Call ``transform`` on the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        X_new : ndarray
            The best estimator's transform of `X`.
        """
        X = self._validate_X(X)
        return self.best_estimator_.transform(X)
