"""Choosing the number of components (and the covariance model) of a mixture.

:class:`GaussianMixtureSelector` fits one candidate mixture per combination of
number of components, covariance type and any other parameters in a grid, and
keeps the one with the best information criterion (BIC, AIC, ICL) or
cross-validated held-out log-likelihood.

Two things make it faster than ``GridSearchCV`` over a mixture:

- the information criteria are computed from each candidate's fit on all the
  data (no cross-validation folds, no refit, no extra pass over the data when
  the estimator reports ``log_likelihood_``, ``n_parameters_`` and
  ``responsibility_entropy_``);
- for each number of components, one k-means initialisation is computed and
  shared by all covariance types (and all other grid points), instead of one
  k-means run per candidate.
"""

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
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from ._gaussian_mixture import GaussianMixture, initial_parameters
from ._init import kmeans_labels

__all__ = ["GaussianMixtureSelector"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

# A candidate takes the shared k-means initialisation, through
# ``weights_init``/``means_init``/``precisions_init``, when its estimator has all
# these parameters, asks for a k-means initialisation, runs it once
# (``n_init=1``) and was given no initial parameters of its own.
_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")
_SHARED_INIT_PARAMS = ("covariance_type", "reg_covar", "init_params", *_INIT_ARRAYS)


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
    if isinstance(n_components, Integral):
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
    too_small = [int(v) for v in values if v < 1]
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
    return f"{type(exc).__name__}: {exc}"


def _kmeans_labels(X, n_components, seed):
    """Hard k-means labels: the one initialisation shared by the candidates.

    The k-means that ``init_params='kmeans'`` runs inside each candidate
    (:func:`gmm_estimators._init.kmeans_labels`), done once per number of
    components (and per cv fold).
    """
    if n_components == 1:
        return np.zeros(X.shape[0], dtype=np.intp)
    return kmeans_labels(X, n_components, np.random.RandomState(seed))


def _fit_candidate(
    estimator,
    params,
    X,
    train,
    test,
    init_labels,
    error_score,
    keep_estimator,
):
    """Fit one candidate on ``X[train]`` and measure it.

    With ``test=None`` the candidate is fitted on the training rows and its
    information criteria are computed; otherwise only its mean log-likelihood on
    ``X[test]`` is returned.

    Returns
    -------
    result : dict
        ``error`` (None or the formatted exception) and ``fit_time``, plus
        ``test_score`` (a fold) or ``log_likelihood``, ``n_parameters``,
        ``bic``, ``aic``, ``icl``, ``converged``, ``n_iter`` and ``estimator``
        (a full fit).
    """
    X_train = X if train is None else X[train]
    start = time.perf_counter()
    est = clone(estimator).set_params(**params)
    try:
        if init_labels is not None:
            est_params = est.get_params()
            weights, means, precisions = initial_parameters(
                X_train,
                init_labels,
                est_params["covariance_type"],
                n_components=est_params["n_components"],
                reg_covar=est_params["reg_covar"],
            )
            est.set_params(
                weights_init=weights, means_init=means, precisions_init=precisions
            )
        # Non-convergence is summarised once by the selector (cv_results_
        # ["converged"]); other warnings pass through. (catch_warnings is
        # process-wide: under a threading backend the record may mix threads.)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X_train)
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        fit_time = time.perf_counter() - start
        if test is not None:
            return {
                "error": None,
                "fit_time": fit_time,
                "test_score": float(est.score(X[test])),
            }
        result = _criteria(est, X_train)
    except Exception as exc:
        if error_score == "raise":
            raise
        return {"error": _format_error(exc), "fit_time": time.perf_counter() - start}
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    result.update(
        error=None,
        fit_time=fit_time,
        converged=bool(getattr(est, "converged_", not warned)),
        n_iter=getattr(est, "n_iter_", None),
        estimator=est if keep_estimator else None,
    )
    return result


def _criteria(est, X):
    """Information criteria of a fitted mixture on its training data.

    Taken from the attributes the final E-step of our estimators records
    (``log_likelihood_``, ``n_parameters_``, ``responsibility_entropy_``) when
    present; otherwise from the public ``score``, ``bic``, ``aic`` and
    ``predict_proba``.
    """
    n_samples = X.shape[0]
    if hasattr(est, "log_likelihood_") and hasattr(est, "n_parameters_"):
        log_likelihood = float(est.log_likelihood_)
        n_parameters = int(est.n_parameters_)
        bic = -2 * n_samples * log_likelihood + n_parameters * np.log(n_samples)
        aic = -2 * n_samples * log_likelihood + 2 * n_parameters
    else:
        log_likelihood = float(est.score(X))
        bic = float(est.bic(X))
        aic = float(est.aic(X))
        # aic = -2 n log L + 2 p
        n_parameters = int(round((aic + 2 * n_samples * log_likelihood) / 2))
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
    For each number of components one k-means initialisation is shared by all
    candidates with that number of components (when the estimator uses the
    default ``init_params='kmeans'`` with ``n_init=1`` and no user-given
    initial parameters), and candidates are fitted in parallel with joblib.

    Parameters
    ----------
    estimator : estimator object, default=None
        The mixture to select. It needs ``fit``, ``bic``, ``aic`` and ``score``
        (and ``predict_proba`` for ``criterion='icl'``). ``None`` means
        :class:`~gmm_estimators.GaussianMixture` with its default parameters.
        It is cloned, never modified.

    n_components : int or array-like of int, default=10
        Numbers of components to try. An int ``n`` stands for ``1, 2, ..., n``
        (so the default tries 1 to 10); ``range(2, 8)`` or ``[2, 4, 8]`` try
        those. Every value must be an integer between 1 and the number of
        training samples.

    covariance_type : {'full', 'tied', 'diag', 'spherical'}, sequence of those \
            or None, default=('full', 'tied', 'diag', 'spherical')
        Covariance types to try. ``None`` keeps the estimator's own, and must be
        used for estimators without a ``covariance_type`` parameter (such as
        :class:`~gmm_estimators.MixtureOfPPCA`).

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

    cv : int, cross-validation generator or iterable, default=5
        Folds for ``criterion='cv'`` (ignored otherwise). An int gives that
        many shuffled :class:`~sklearn.model_selection.KFold` folds, seeded
        from ``random_state`` (shuffled because rows are often ordered by
        cluster); anything else is used as by
        :func:`~sklearn.model_selection.check_cv`.

    n_jobs : int, default=None
        Number of candidates fitted in parallel. ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context; ``-1`` means all processors.

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
        ``ValueError`` is raised.

    random_state : int, RandomState instance or None, default=None
        Seeds the shared k-means initialisations, the candidates whose own
        ``random_state`` is ``None`` and the folds of ``cv=int``. Pass an int
        for reproducible results.

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
        Criterion value of the selected candidate, lower is better: the BIC,
        AIC or ICL, or for ``criterion='cv'`` the negative mean held-out
        log-likelihood per sample.

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
        - ``fit_time``: seconds to fit on all the data;
        - ``rank_test_score``: rank by the criterion (1 is the best; failed
          candidates last);
        - with ``criterion='cv'``: ``split<i>_test_score``, ``mean_test_score``
          and ``std_test_score``, the held-out mean log-likelihood per sample
          (higher is better, as in scikit-learn's searches).

    labels_ : ndarray of shape (n_samples,)
        Component of each training sample under the selected model. Only with
        ``refit=True``.

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
    >>> from sklearn.datasets import make_blobs
    >>> from gmm_estimators import GaussianMixtureSelector
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> selector = GaussianMixtureSelector(n_components=6, random_state=0).fit(X)
    >>> selector.n_components_, selector.covariance_type_
    (3, 'tied')
    >>> selector.predict(X[:5])
    array([1, 0, 1, 2, 2])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "bic", "aic", "score"]), None],
        "n_components": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES)), "array-like", None],
        "param_grid": [dict, list, None],
        "criterion": [StrOptions({"bic", "aic", "icl", "cv"})],
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
        covariance_type=COVARIANCE_TYPES,
        param_grid=None,
        criterion="bic",
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
        self.cv = cv
        self.n_jobs = n_jobs
        self.refit = refit
        self.error_score = error_score
        self.random_state = random_state
        self.verbose = verbose

    def _estimator(self):
        """The estimator to clone for each candidate."""
        return GaussianMixture() if self.estimator is None else self.estimator

    def _candidates(self, estimator, n_components):
        """Parameter dicts of all candidates, in ``cv_results_`` order."""
        estimator_params = estimator.get_params()
        if self.covariance_type is None:
            covariance_types = [None]
        else:
            if "covariance_type" not in estimator_params:
                raise ValueError(
                    f"{type(estimator).__name__} has no covariance_type parameter: "
                    "set covariance_type=None to select its number of components."
                )
            if isinstance(self.covariance_type, str):
                covariance_types = [self.covariance_type]
            else:
                covariance_types = list(self.covariance_type)
                if not covariance_types:
                    raise ValueError("covariance_type is an empty sequence.")
                unknown = [c for c in covariance_types if c not in COVARIANCE_TYPES]
                if unknown:
                    raise ValueError(
                        f"covariance_type must hold values among {COVARIANCE_TYPES}; "
                        f"got {unknown}."
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

    def _candidate_params(self, estimator, params, seed):
        """Full parameters of a candidate and whether it takes the shared init."""
        est_params = {**estimator.get_params(deep=False), **params}
        if "random_state" in est_params and est_params["random_state"] is None:
            params = {**params, "random_state": int(seed)}
        if self.verbose > 1 and "verbose" in est_params:
            params = {**params, "verbose": self.verbose - 1}
        shared_init = (
            all(name in est_params for name in _SHARED_INIT_PARAMS)
            and all(est_params[name] is None for name in _INIT_ARRAYS)
            and est_params["init_params"] == "kmeans"
            and est_params.get("n_init", 1) == 1
        )
        return params, shared_init

    def _check_cv(self, rng):
        """The folds of ``criterion='cv'``: an int gives shuffled, seeded KFold."""
        if isinstance(self.cv, Integral):
            seed = rng.randint(np.iinfo(np.int32).max)
            return KFold(n_splits=self.cv, shuffle=True, random_state=seed)
        return check_cv(self.cv)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit every candidate mixture and select the best one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : GaussianMixtureSelector
            The fitted selector.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        n_samples = X.shape[0]
        estimator = self._estimator()
        n_components = _check_n_components(self.n_components, n_samples)
        candidates = self._candidates(estimator, n_components)
        if self.criterion == "icl" and not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"criterion='icl' needs the responsibilities: "
                f"{type(estimator).__name__} has no predict_proba."
            )

        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(n_components))
        seeds = {k: int(seed) for k, seed in zip(n_components, seeds, strict=True)}
        # What each candidate is fitted on: all the data, then the cv folds.
        splits = [(None, None)]
        if self.criterion == "cv":
            splits += list(self._check_cv(rng).split(X))
        n_splits = len(splits) - 1

        # (candidate, split, parameters, shared init?) of every fit.
        tasks = []
        for index, params in enumerate(candidates):
            k = params["n_components"]
            params, shared_init = self._candidate_params(estimator, params, seeds[k])
            tasks += [
                (index, split, params, shared_init) for split in range(len(splits))
            ]

        def rows(split):
            train = splits[split][0]
            return X if train is None else X[train]

        # One k-means initialisation per (number of components, split).
        init_keys = sorted(
            {(p["n_components"], split) for _, split, p, shared in tasks if shared}
        )
        labels = Parallel(n_jobs=self.n_jobs)(
            delayed(_kmeans_labels)(rows(split), k, seeds[k]) for k, split in init_keys
        )
        labels = dict(zip(init_keys, labels, strict=True))

        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_fit_candidate)(
                estimator,
                params,
                X,
                *splits[split],
                labels.get((params["n_components"], split)) if shared_init else None,
                self.error_score,
                self.refit and split == 0,
            )
            for _, split, params, shared_init in tasks
        )
        fits = [[None] * len(splits) for _ in candidates]
        for (index, split, _, _), result in zip(tasks, results, strict=True):
            fits[index][split] = result
            if self.verbose > 0 and split == n_splits:
                self._print_progress(index, candidates, fits[index])

        self._store_results(candidates, fits, n_splits)
        if self.refit:
            self.best_estimator_ = fits[self.best_index_][0]["estimator"]
            if hasattr(self.best_estimator_, "labels_"):
                self.labels_ = self.best_estimator_.labels_
            else:
                self.labels_ = self.best_estimator_.predict(X)
        return self

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
        print(
            f"[{type(self).__name__}] {index + 1}/{len(candidates)} "
            f"{_format_params(candidates[index])}: {outcome}, {fit_time:.3f}s",
            flush=True,
        )

    def _store_results(self, candidates, fits, n_splits):
        """Fill ``cv_results_`` and the ``best_*`` attributes; warn on failures."""
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

        for key in ("bic", "aic", "icl"):
            results[key] = full_fit_column(key, self.error_score)
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
        results["fit_time"] = np.array([f[0]["fit_time"] for f in fits])

        if self.criterion == "cv":
            splits = np.array(
                [
                    [
                        self.error_score if s["error"] is not None else s["test_score"]
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
            scores = -results["mean_test_score"]
        else:
            scores = results[self.criterion]

        all_fits = [s for f in fits for s in f]
        errors = [s["error"] for s in all_fits if s["error"] is not None]
        selectable = ~failed & ~np.isnan(scores)
        if not selectable.any():
            summary = "\n".join(
                f"{n} fits failed with: {error}" for error, n in Counter(errors).items()
            )
            raise ValueError(
                f"All {n_candidates} candidates failed to fit or have an undefined "
                f"{self.criterion}; try error_score='raise' to debug.\n{summary}"
            )
        if errors:
            details = "\n".join(
                f"- {_format_params(candidates[i])}: "
                + "; ".join(sorted({s["error"] for s in f if s["error"] is not None}))
                for i, f in enumerate(fits)
                if any(s["error"] is not None for s in f)
            )
            warnings.warn(
                f"{len(errors)} of {len(all_fits)} fits failed; their scores are set "
                f"to error_score={self.error_score!r} and failed candidates are "
                f"never selected. Set error_score='raise' to debug.\n{details}",
                FitFailedWarning,
                stacklevel=4,
            )
        not_converged = ~failed & ~results["converged"]
        if not_converged.any():
            warnings.warn(
                f"{int(not_converged.sum())} of {n_candidates} candidates did not "
                "converge (see cv_results_['converged']); consider increasing the "
                "estimator's max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )

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

    def _check_fitted(self):
        check_is_fitted(self, "cv_results_")
        if not hasattr(self, "best_estimator_"):
            raise AttributeError(
                f"This {type(self).__name__} instance was fitted with refit=False: "
                "it has no best_estimator_ to delegate to."
            )

    def _validate_X(self, X):
        self._check_fitted()
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False)

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict the component of each sample with the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.

        See Also
        --------
        predict_proba : The responsibilities behind the labels.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> selector.predict([[0.05], [5.05]])
        array([1, 0])
        """
        X = self._validate_X(X)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Compute the responsibility of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components\\_)
            Posterior probability of each component given each sample.

        See Also
        --------
        predict : The most probable component.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> selector.predict_proba([[0.05], [5.05]]).round(3)
        array([[0., 1.],
               [1., 0.]])
        """
        X = self._validate_X(X)
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("score_samples"))
    def score_samples(self, X):
        """Log-likelihood of each sample under the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            Log density of each sample.

        See Also
        --------
        score : Their mean.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> selector.score_samples([[0.1], [2.5]]).round(2)
        array([   0.89, -431.04])
        """
        X = self._validate_X(X)
        return self.best_estimator_.score_samples(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y=None):
        """Mean per-sample log-likelihood under the best estimator.

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

        See Also
        --------
        score_samples : Per-sample log density.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> round(selector.score(X), 3)
        0.393
        """
        X = self._validate_X(X)
        return self.best_estimator_.score(X)

    @available_if(_estimator_has("sample"))
    def sample(self, n_samples=1):
        """Draw samples from the best estimator.

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

        See Also
        --------
        score_samples : Log density of samples.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> X_new, y_new = selector.sample(4)
        >>> X_new.shape, y_new.shape
        ((4, 1), (4,))
        """
        self._check_fitted()
        return self.best_estimator_.sample(n_samples)

    @available_if(_estimator_has("bic"))
    def bic(self, X):
        """Bayesian information criterion of the best estimator on `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        bic : float
            ``-2 n log L + p log n``; lower is better.

        See Also
        --------
        aic : Akaike information criterion.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> bool(np.isclose(selector.bic(X), selector.best_score_))
        True
        """
        X = self._validate_X(X)
        return self.best_estimator_.bic(X)

    @available_if(_estimator_has("aic"))
    def aic(self, X):
        """Akaike information criterion of the best estimator on `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        aic : float
            ``-2 n log L + 2 p``; lower is better.

        See Also
        --------
        bic : Bayesian information criterion.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> round(selector.aic(X), 2)
        5.28
        """
        X = self._validate_X(X)
        return self.best_estimator_.aic(X)

    @available_if(_estimator_has("icl"))
    def icl(self, X):
        """Integrated completed likelihood of the best estimator on `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        icl : float
            BIC plus twice the entropy of the responsibilities; lower is better.

        See Also
        --------
        bic : Bayesian information criterion.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> selector = GaussianMixtureSelector(
        ...     n_components=2, covariance_type="spherical", random_state=0
        ... ).fit(X)
        >>> bool(selector.icl(X) >= selector.bic(X))
        True
        """
        X = self._validate_X(X)
        return self.best_estimator_.icl(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Transform `X` with the best estimator.

        Available only when the best estimator has ``transform`` (e.g.
        :class:`~gmm_estimators.MixtureOfPPCA`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        X_new : ndarray
            The best estimator's transform of `X`.

        See Also
        --------
        MixtureOfPPCA.transform : Latent coordinates of a mixture of PPCA.

        Examples
        --------
        >>> import numpy as np
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixtureSelector, MixtureOfPPCA
        >>> X = np.random.RandomState(0).standard_normal((60, 4))
        >>> selector = GaussianMixtureSelector(
        ...     MixtureOfPPCA(n_latent=1), n_components=2, covariance_type=None,
        ...     random_state=0,
        ... ).fit(X)
        >>> selector.transform(X).shape[0]
        60
        """
        X = self._validate_X(X)
        return self.best_estimator_.transform(X)
