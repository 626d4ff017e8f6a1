"""GaussianMixture: the mixture clusterer, a drop-in for scikit-learn's."""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._covariance import (
    COVARIANCE_MODELS,
    DiagCovariance,
    decompose_covariances,
    dense_covariances,
)
from ._em import _BaseMixture, fit_blocks, model_from_responsibilities


def _as_float_array(value, name, shape):
    """A user-given initial parameter as float64, checked against ``shape``."""
    arr = check_array(
        value,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
        allow_nd=True,
        input_name=name,
    )
    if arr.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {arr.shape}"
        )
    return arr.astype(np.float64)


class GaussianMixture(_BaseMixture):
    """Gaussian mixture model fitted by expectation-maximisation.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the
    same parameters, fitted attributes, methods and results (from the same
    initial parameters the fitted parameters agree to about 1e-8), computed
    by a faster engine that works on blocks of rows.  In addition it accepts
    ``sample_weight``, keeps float32 data in float32, bounds the memory of
    ``fit`` and ``predict`` to ``O(block + K d^2)``, exposes the training
    labels ``labels_``, offers the ICL criterion :meth:`icl` and, with
    ``acceleration="squarem"``, an accelerated EM; ``tol_relative`` adds
    mclust's relative stopping rule and ``reg_covar_relative`` makes
    ``reg_covar`` relative to the data (all three off by default).

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : str, default='full'
        The covariance model: scikit-learn's 'full' (each component has its
        own general covariance matrix), 'tied' (all components share one),
        'diag' (each has its own diagonal matrix) or 'spherical' (its own
        single variance), or one of mclust's fourteen parsimonious models
        ``Sigma_k = lambda_k D_k A_k D_k^T`` named by whether the volume
        ``lambda``, shape ``A`` and orientation ``D`` are Equal across
        components, Variable or the Identity: 'EII', 'VII' (= 'spherical'),
        'EEI', 'VEI', 'EVI', 'VVI' (= 'diag'), 'EEE' (= 'tied'), 'VEE',
        'EVE', 'VVE', 'EEV', 'VEV', 'EVV' and 'VVV' (= 'full'); for one
        feature also mclust's 'E' (= 'EII') and 'V' (= 'VII').  See
        :ref:`covariance_models`.
    tol : float, default=1e-3
        EM stops when the lower bound (mean log-likelihood) changes by less.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of the covariances, so that
        they stay positive definite (for mclust's constrained models, after
        the constraint, which then holds up to ``reg_covar``).
    max_iter : int, default=100
        The maximum number of EM iterations per initialisation.
    n_init : int, default=1
        The number of initialisations; the best run is kept: the largest
        lower bound among regular solutions (a degenerate one, see
        ``degenerate_``, only when every run is degenerate). A run whose
        components collapse is skipped while another run remains. With
        several runs and ``tol`` below 1e-4, every run first converges to
        1e-4 (or for at most 150 iterations) and the best three continue to
        ``tol`` (on more than 4096 rows, the starts are drawn and screened on
        a weighted subsample of 4096 rows and the best one continues on all
        rows; with the default ``tol``
        every run goes to ``tol``, as in scikit-learn). With several runs, a
        run that ends degenerate is restarted from split components (each
        degenerate component takes half of the largest regular one).
    init_params : {'kmeans', 'hc', 'k-means++', 'random', 'random_from_data'} \
or list of those, default='kmeans'
        How initial responsibilities are chosen: k-means labels (k-means++
        seeded, on a weighted subsample of at most 20 000 rows; not
        scikit-learn's k-means start, which differs for the same
        ``random_state``), mclust's model-based hierarchical clustering
        ('hc': deterministic, mclust's tree on at most 2000 rows, about
        ``O(m^2 d^3)``; for one feature mclust's quantile classes),
        k-means++ seeds, random responsibilities, or random data points. A
        list runs EM from each method (``n_init`` times for the random ones,
        once for 'hc', and with ``n_init >= 2`` once more from the tree of
        the rows sorted by value where its cut differs, i.e. where ties
        between merges were broken otherwise) and keeps the best run. Every
        method treats an integer sample weight as repetition (but for ties:
        on integer data a row can lie exactly as far from two k-means
        centres, and 'kmeans' may break the tie otherwise on repeated rows
        than on weighted ones), and every
        method but 'hc' is invariant to the order of the rows ('hc', like
        mclust's tree, breaks ties between merges by the row order). For
        EVE and VVE with more than one component, 'hc' also runs EM with
        mclust's own M-step (its majorisation steps, which lead EM along
        another path), on up to 4096 rows, and the better run is kept; for
        one feature on more rows, where the starts are screened on a
        subsample, 'hc' also runs EM on all rows from the quantile classes
        of all rows, as mclust does. A start of one row per component
        ('k-means++', 'random_from_data') gives scikit-learn's four types
        scikit-learn's start (covariances ``reg_covar`` times the
        identity) and mclust's ten other models covariances of the
        features' variances on the diagonal.
    weights_init : array-like of shape (n_components,), default=None
        Initial weights (by default from ``init_params``).
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means (by default from ``init_params``).
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), of shape
        ``(n_components,)`` for 'spherical', ``(n_features, n_features)`` for
        'tied', ``(n_components, n_features)`` for 'diag' and
        ``(n_components, n_features, n_features)`` for 'full'.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and :meth:`sample`.
    warm_start : bool, default=False
        If True, each ``fit`` continues from the previous solution (and
        ``n_init`` is ignored after the first fit).
    verbose : int, default=0
        1 prints the initialisations and iterations, 2 also the timings and
        lower bound changes.
    verbose_interval : int, default=10
        Iterations between two printed lines.

    acceleration : {None, "squarem"}, default=None
        ``None``: plain EM, step for step scikit-learn's. ``"squarem"``: EM
        accelerated by SQUAREM (Varadhan & Roland, 2008): cycles of two EM
        steps and an extrapolation from them, kept only where it does not
        lower the log-likelihood, so the lower bound still never decreases.
        It pays where EM crawls (overlapping or surplus components): fitted to
        ``tol=1e-9`` on 20 000 rows in 8 dimensions, 1.5 to 4.4 times fewer
        iterations. ``tol`` then applies to a cycle: the fit stops when the
        lower bound moves by less than ``tol`` from the start of one cycle
        (three E-steps) to the next, which ends closer to the optimum than
        plain EM at the same ``tol``. ``n_iter_`` counts E-steps. With several
        starts, their screening to a looser tolerance stays plain EM; the runs
        that go on to ``tol`` are accelerated one by one (not stacked). See
        :ref:`acceleration`.

    tol_relative : bool, default=False
        ``False``: scikit-learn's rule, EM stops when the mean lower bound
        changes by less than ``tol``. ``True``: also by less than ``tol``
        times ``|lower bound| + 1 / n`` where that is smaller, which is R
        mclust's relative rule (the total log-likelihood ``L`` changes by
        less than ``tol * (1 + |L|)``): so a run stops no sooner than under
        either rule. It matters where the mean log-likelihood is small in
        magnitude (densities near 1: data of small scale, such as ring
        widths near 1), where EM crawls on for hundreds of steps after the
        mean changes by less than ``tol``: on R's ``treering`` (7980 values)
        with 4 components, from mclust's start, ``tol=1e-5`` stopped after
        59 steps at BIC 2928.9, mclust after 803 at 2883.3, and
        ``tol_relative=True`` after 1617 at 2880.1.
        :class:`GaussianMixtureSelector`'s default estimator sets it.

    reg_covar_relative : bool, default=False
        ``False``: ``reg_covar`` is absolute, as in scikit-learn. ``True``:
        it is also at most ``reg_covar`` of the data's variance: the
        covariances get ``reg_covar * min(1, v)``, with ``v`` the smallest
        positive variance of the features (weighted by ``sample_weight``).
        So on data of small scale the fit of ``c * X`` is the fit of ``X``
        scaled by ``c`` (to rounding), where an absolute ``reg_covar``
        swamps the features: iris in a unit 1e5 times larger (variances near
        1e-10) made the selector's default estimator, with an absolute
        ``reg_covar=1e-10``, choose EII with two components instead of VEV.
        On data of larger scale it stays ``reg_covar``: a regularisation
        relative to a large variance would swamp a feature's small values
        (R's ``pressure`` spans 2e-4 to 806). :class:`GaussianMixtureSelector`'s
        default estimator sets it.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        The component means.
    covariances_ : ndarray
        The covariances, in the layout given for ``precisions_init``: one
        rule for every model, by how it is stored -- ``(n_components,)``
        for one variance per component ('spherical', 'EII', 'VII'),
        ``(n_components, n_features)`` for diagonal matrices ('diag', 'EEI',
        'VEI', 'EVI', 'VVI'), ``(n_features, n_features)`` for 'tied'
        ('EEE') and ``(n_components, n_features, n_features)`` for the
        others.
    precisions_ : ndarray
        The precision matrices (inverse covariances), same layout.
    precisions_cholesky_ : ndarray
        Upper-triangular Cholesky factors ``U`` of the precisions
        (``precision = U @ U.T``), same layout.
    converged_ : bool
        Whether the best run converged.
    n_iter_ : int
        EM iterations of the best run.
    lower_bound_ : float
        Mean log-likelihood of the training data at the last E-step of the
        best run (scikit-learn's quantity).
    lower_bounds_ : list of float
        ``lower_bound_`` at each iteration of the best run.
    labels_ : ndarray of shape (n_samples,)
        Component of each training sample, equal to ``predict(X)``.
    log_likelihood_ : float
        Mean (weighted) log-likelihood of the training data under the final
        parameters, from the final E-step.
    responsibility_entropy_ : float
        Mean (weighted) entropy of the training responsibilities; ``icl`` on the
        training data is ``bic + 2 n responsibility_entropy_``.
    n_parameters_ : int
        Number of free parameters of the model.
    volumes_ : ndarray of shape (n_components,)
        Volume ``lambda_k = |Sigma_k|^(1/d)`` of each component (mclust's
        ``scale``); computed on request, for every covariance type.
    shapes_ : ndarray of shape (n_components, n_features)
        Shape ``A_k``: the eigenvalues of ``Sigma_k`` over ``lambda_k``
        (decreasing; in the features' order for diagonal models).
    orientations_ : ndarray of shape (n_components, n_features, n_features)
        Orientation ``D_k``: the eigenvectors, as columns (the identity for
        diagonal models).
    degenerate_ : str
        Why the fitted mixture is degenerate, or ``""``: a component with
        fewer effective points than its covariance needs (``d + 1`` for
        'full', 2 for 'diag' and 'spherical', 1 for 'tied'; for mclust's
        models ``d + 1`` where a component's orientation is its own or its
        shape is its own under an orientation, see :ref:`the user guide
        <selector-degenerate>`), or whose
        covariance less ``reg_covar`` has, in units of the features'
        variances, an eigenvalue below 1e-10 (its likelihood is unbounded
        but for ``reg_covar``), or, across the features recorded on a grid
        (integers, one decimal), in units of their steps squared, below
        1e-6 (the component has collapsed onto the recorded values). Such
        an optimum is spurious; :class:`GaussianMixtureSelector` never
        selects it.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`; only when they are all strings.

    See Also
    --------
    GaussianMixtureSelector : Choose the number of components and the
        covariance type by BIC, AIC, ICL or cross-validation.
    MixtureOfPPCA : Mixture whose components have low-dimensional structure.
    sklearn.mixture.GaussianMixture : The reference implementation.

    Notes
    -----
    EM follows Dempster, Laird & Rubin (1977); see Bishop, *Pattern
    Recognition and Machine Learning* (2006), section 9.2.  Each iteration is a
    single pass over blocks of rows that computes the responsibilities and the
    sufficient statistics together, with large matrix products (for 'full',
    one batched product per block for the E-step and one weighted product
    ``(d x b)(b x d)`` per component for the M-step).

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.round(gm.means_[np.argsort(gm.means_[:, 0])], 3)
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> bool(gm.predict([[0, 0]])[0] != gm.predict([[12, 3]])[0])
    True
    """

    #: a search may start the fit from mclust's start alone
    #: (``GaussianMixtureSelector(search="mclust")``)
    _mclust_search = True

    _parameter_constraints: dict = {
        **_BaseMixture._parameter_constraints,
        "covariance_type": [StrOptions(set(COVARIANCE_MODELS))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "acceleration": [StrOptions({"squarem"}), None],
        "tol_relative": ["boolean"],
        "reg_covar_relative": ["boolean"],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        acceleration=None,
        tol_relative=False,
        reg_covar_relative=False,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.acceleration = acceleration
        self.tol_relative = tol_relative
        self.reg_covar_relative = reg_covar_relative

    # -- engine hooks ------------------------------------------------------------
    def _model_class(self):
        return COVARIANCE_MODELS[self.covariance_type]

    def _validate_init(self, X):
        K, d = self.n_components, X.shape[1]
        cls = self._model_class()
        if self.covariance_type in ("E", "V") and d != 1:
            raise ValueError(
                f"covariance_type={self.covariance_type!r} is mclust's name for one "
                f"feature, but X has {d} features: use "
                f"{'EII' if self.covariance_type == 'E' else 'VII'!r} (or another of "
                "the fourteen models)."
            )
        if self.warm_start and hasattr(self, "converged_"):
            fitted = (
                getattr(self, "_fitted_covariance_type", self.covariance_type),
                self.means_.shape,
            )
            if fitted != (self.covariance_type, (K, d)):
                raise ValueError(
                    "warm_start=True continues the previous fit, which has "
                    f"covariance_type={fitted[0]!r} and means_ of shape {fitted[1]}, "
                    f"but covariance_type={self.covariance_type!r}, "
                    f"n_components={K} and {d} features now ask for {(K, d)}. "
                    "Set warm_start=False to refit from scratch."
                )
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = _as_float_array(self.weights_init, "weights_init", (K,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError(
                    "The parameter 'weights_init' should be in the range [0, 1], but got "
                    f"max value {weights.max():.5f}, min value {weights.min():.5f}"
                )
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(
                    "The parameter 'weights_init' should be normalized, but got "
                    f"sum(weights) = {weights.sum():.5f}"
                )
        if self.means_init is not None:
            means = _as_float_array(self.means_init, "means_init", (K, d))
        if self.precisions_init is not None:
            precisions = _as_float_array(
                self.precisions_init, "precisions_init", cls.param_shape(K, d)
            )
            cls.check_precisions(precisions)
        self._init_checked = (weights, means, precisions)

    def _acceleration(self):
        return self.acceleration

    def _tol_relative(self):
        return self.tol_relative

    def _reg_covar_relative(self):
        return self.reg_covar_relative

    def _stacked_init(self):
        return all(value is None for value in self._init_checked)

    def _start_is_given(self):
        return all(
            p is not None
            for p in (self.weights_init, self.means_init, self.precisions_init)
        )

    def _initial_model(self, blocks, sample_weight, rng, scatter, method, cache=None):
        weights, means, precisions = self._init_checked
        cls = self._model_class()
        center = blocks.center.astype(np.float64)
        if weights is None or means is None or precisions is None:
            model, w = super()._initial_model(
                blocks, sample_weight, rng, scatter, method, cache
            )
            weights = w if weights is None else weights
            if means is not None and precisions is None:
                model = cls(
                    means,
                    center,
                    covariances=model.covariances,
                    reg_covar=self._reg_covar(),
                )
            means = model.means if means is None else means
            if precisions is None:
                return model, weights
        return cls.from_precisions(means, precisions, center), weights

    def _set_model(self, model, weights, dtype):
        self._fitted_covariance_type = self.covariance_type
        self.weights_ = np.asarray(weights, dtype=dtype)
        self.means_ = model.means.astype(dtype)
        self.covariances_ = model.covariances.astype(dtype)
        self.precisions_cholesky_ = model.prec_chol.astype(dtype)
        self.precisions_ = model.precisions.astype(dtype)

    def _get_model(self, center):
        return self._model_class()(
            np.asarray(self.means_, dtype=np.float64),
            center,
            precisions_cholesky=np.asarray(self.precisions_cholesky_, dtype=np.float64),
        )

    def _n_parameters(self):
        K, d = self.means_.shape
        return int(self._model_class().n_cov_parameters(K, d) + K * d + K - 1)

    # -- mclust's decomposition, computed on request ------------------------------
    def _decomposition(self):
        check_is_fitted(self)
        K, d = self.means_.shape
        dense = dense_covariances(self.covariance_type, self.covariances_, K, d)
        diagonal = issubclass(self._model_class(), DiagCovariance)
        return decompose_covariances(dense, diagonal=diagonal)

    @property
    def volumes_(self):
        """Volume of each component: ``|Sigma_k|^(1/d)`` (mclust's ``scale``)."""
        return self._decomposition()[0]

    @property
    def shapes_(self):
        """Shape of each component: eigenvalues over the volume (product one)."""
        return self._decomposition()[1]

    @property
    def orientations_(self):
        """Orientation of each component: eigenvectors of ``Sigma_k`` as columns."""
        return self._decomposition()[2]

    def _sampling_model(self):
        # from covariances_, as scikit-learn samples (bit for bit the same draws)
        return self._model_class()(
            np.asarray(self.means_, dtype=np.float64),
            np.zeros(self.means_.shape[1]),
            covariances=np.asarray(self.covariances_, dtype=np.float64),
        )


def initial_parameters(
    X, labels, covariance_type, *, n_components=None, reg_covar=1e-6, sample_weight=None
):
    """Initial ``(weights, means, precisions)`` of a Gaussian mixture from hard labels.

    The parameters that one M-step on the one-hot responsibilities of
    ``labels`` gives, in the layouts of ``weights_init``, ``means_init`` and
    ``precisions_init``: several covariance types can so start from one
    shared clustering (as :class:`GaussianMixtureSelector` does).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    labels : array-like of shape (n_samples,)
        Component of each row, in ``0 .. n_components - 1``.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        The covariance model.
    n_components : int, default=None
        Number of components; by default ``max(labels) + 1``.  Every component
        needs at least one row.
    reg_covar : float, default=1e-6
        Added to the diagonal of the covariances.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    precisions : ndarray
        In the layout of ``precisions_init`` for ``covariance_type``.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators import GaussianMixture
    >>> from gmm_estimators._gaussian_mixture import initial_parameters
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [9., 9.], [9., 8.], [8., 9.]])
    >>> w, m, p = initial_parameters(X, [0, 0, 0, 1, 1, 1], "diag")
    >>> w
    array([0.5, 0.5])
    >>> gm = GaussianMixture(2, covariance_type="diag", weights_init=w,
    ...                      means_init=m, precisions_init=p).fit(X)
    >>> gm.predict([[0., 0.5], [9., 8.5]])
    array([0, 1])
    """
    X = check_array(X, dtype=[np.float64, np.float32])
    labels = np.asarray(labels, dtype=np.intp)
    if n_components is None:
        n_components = int(labels.max()) + 1
    empty = np.setdiff1d(np.arange(n_components), labels)
    if empty.size:
        raise ValueError(
            f"initial_parameters: component {empty[0]} has no rows; every one of the "
            f"{n_components} components needs at least one labelled row."
        )
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cls = COVARIANCE_MODELS[covariance_type]
    blocks, scatter = fit_blocks(X, sw, cls, cls.row_width(n_components, X.shape[1]))
    comps = np.arange(n_components)

    def source(start, stop):
        return (labels[start:stop] == comps[:, None]).astype(X.dtype)

    with blocks.limits():
        model, weights = model_from_responsibilities(
            blocks, cls, source, sw, reg_covar, scatter
        )
    return weights / weights.sum(), model.means, model.precisions
