"""OnlineGaussianMixture: stepwise EM on mini-batches, for streams and data
that do not fit in memory.

Stepwise EM (Sato & Ishii 2000; Cappé & Moulines 2009; Liang & Klein 2009)
keeps a running average ``s`` of the sufficient statistics per unit weight.
After each mini-batch ``B_t`` with statistics ``S(B_t; theta_{t-1})`` under the
current parameters (the engine's block statistics,
:func:`gmm_estimators._stats.block_stats`),

    s_t = (1 - g_t) s_{t-1} + g_t S(B_t; theta_{t-1}) / w(B_t),
    theta_t = M(s_t),

with ``w(B_t)`` the batch's total weight, ``g_t = (t + t0)^(-kappa)`` and
``M`` the engine's M-step (:func:`gmm_estimators._stats.m_step`).  ``s_0`` are
the statistics implied by the initial parameters (:func:`implied_stats`: their
M-step gives the initial parameters back), so ``t0`` says how many batches the
start is worth; ``t0 = 0`` gives ``g_1 = 1``, and the first step on all rows is
then exact EM's iteration.  With ``kappa`` in (0.5, 1] the steps
satisfy Robbins & Monro's conditions (``sum g_t = inf``, ``sum g_t^2 < inf``)
and ``theta_t`` converges to a stationary point of the likelihood of the data
distribution (Cappé & Moulines 2009, theorem 1).

The counts and first moments of a batch are model-independent, but the full
covariance family's own statistics are whitened scatters around the *previous*
means: the statistics of two batches, taken under two models, are in two
coordinate systems.  They are averaged in absolute form -- second moments about
a fixed reference point, the first batch's weighted mean -- by
:func:`absolute_stats` and turned back for the M-step by :func:`relative_stats`
(the models' :meth:`~gmm_estimators._model.ComponentModel.absolute_stats` and
:meth:`~gmm_estimators._model.ComponentModel.relative_stats`).  Every model's
parameters and blocks are centred at that reference point, so the diagonal and
spherical statistics (squares about it) are absolute already.  The tied
model's M-step takes the data scatter; it is averaged the same way.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import warnings
from numbers import Integral, Real
from time import perf_counter

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ._covariance import COVARIANCE_MODELS
from ._em import (
    _compute_array,
    _is_dask_array,
    _one_blas_thread,
    _publish_model,
    fit_blocks,
)
from ._gaussian_mixture import GaussianMixture
from ._init import INIT_METHODS
from ._stats import BlockStats, absolute_stats, block_stats, m_step, relative_stats
from ._utils import weighted_moments


def implied_stats(model, weights, reg_covar):
    """The statistics per unit weight that a mixture implies, in absolute form.

    The counts, first and second moments of the mixture itself: their M-step
    gives ``model`` and ``weights`` back (for mclust's constrained models,
    when the covariances less ``reg_covar`` meet the constraint, as those of
    an M-step do).  They are the statistics of ``2 d``
    weighted points per component, ``mu_k +- sqrt(d) R_k e_j`` with ``R_k
    R_k^T = Sigma_k - reg_covar I`` (the unscented transform: their mean is
    ``mu_k`` and their covariance ``R_k R_k^T``), accumulated by the model
    itself, so every covariance model gets its own form of them.

    Parameters
    ----------
    model : ComponentModel
        A covariance model (with ``covariances`` and ``dense_covariances``).
    weights : array-like of shape (n_components,)
        The mixing weights.
    reg_covar : float
        The regularisation the M-step adds, taken out of the covariances.

    Returns
    -------
    stats : BlockStats
        Statistics of total weight one, in absolute form.
    scatter : ndarray of shape (n_features, n_features)
        The data scatter about ``model.center`` the mixture implies (the tied
        model's M-step takes it).

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._covariance import COVARIANCE_MODELS
    >>> from gmm_estimators._online import implied_stats
    >>> from gmm_estimators._stats import m_step, relative_stats
    >>> cls = COVARIANCE_MODELS["full"]
    >>> model = cls(np.array([[0.0, 1.0], [4.0, 4.0]]), np.zeros(2),
    ...             covariances=np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]]]))
    >>> stats, _ = implied_stats(model, [0.3, 0.7], reg_covar=0.0)
    >>> new, weights = m_step(model, relative_stats(model, stats), reg_covar=0.0)
    >>> bool(np.allclose(new.covariances, model.covariances)), weights.round(3)
    (True, array([0.3, 0.7]))
    """
    K, d = model.n_components, model.n_features
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    dense = np.array(model.dense_covariances(model.covariances, K, d), dtype=float)
    dense[:, np.arange(d), np.arange(d)] -= reg_covar
    values, vectors = np.linalg.eigh(dense)
    roots = vectors * np.sqrt(np.maximum(values, 0.0) * d)[:, None, :]
    # rows (k, +-, j): mu_k +- sqrt(d) R_k e_j, centred at model.center
    offsets = np.swapaxes(roots, 1, 2)  # (K, d, d): row j is sqrt(d) R_k e_j
    points = model.means_centered[:, None, None, :] + np.stack([offsets, -offsets], 1)
    xa = np.ones((K * 2 * d, d + 1))
    xa[:, :d] = points.reshape(-1, d)
    resp = np.zeros((K, K * 2 * d))
    for k in range(K):
        resp[k, k * 2 * d : (k + 1) * 2 * d] = weights[k] / (2 * d)
    _, cache = model.log_prob(xa, {})
    own = model.new_stats()
    model.accumulate(own, xa, resp, cache)
    moments = resp @ xa
    stats = BlockStats(moments[:, -1], moments[:, :-1], own, 0.0, 1.0)
    row_weights = resp.sum(axis=0)
    scatter = (xa[:, :d].T * row_weights) @ xa[:, :d]
    return absolute_stats(model, stats), scatter


def _scatter_about(X, sample_weight, center):
    """``sum_i w_i (x_i - c)(x_i - c)^T`` of a batch, in float64 (the tied
    model's data scatter, about the fixed reference point)."""
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    mean, _, scatter = weighted_moments(X, weights, scatter=True)
    shift = mean - center
    return scatter + float(weights.sum()) * np.outer(shift, shift)


class _State:
    """The running state of stepwise EM (private, float64).

    ``model``, ``weights``: the current parameters (centred at the reference
    point); ``stats``: the running average of the statistics per unit weight,
    in absolute form; ``scatter``: the same for the data scatter (None unless
    the model needs it); ``n_steps``: steps taken.
    """

    def __init__(self, model, weights, stats, scatter, n_steps):
        self.model, self.weights = model, np.asarray(weights, dtype=np.float64)
        self.stats, self.scatter, self.n_steps = stats, scatter, n_steps


class OnlineGaussianMixture(GaussianMixture):
    """Gaussian mixture fitted by stepwise (online) EM on mini-batches.

    For data streams and data sets that do not fit in memory: each call of
    :meth:`partial_fit` takes one mini-batch, blends its sufficient
    statistics into a running average with a decreasing step size and
    updates the parameters; :meth:`fit` makes passes over an array in
    mini-batches.  The parameters, fitted attributes, predictions and
    criteria are those of :class:`GaussianMixture` (every covariance type,
    ``reg_covar``, ``sample_weight``, float32), computed by the same code.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : str, default='full'
        The covariance model: 'full', 'tied', 'diag', 'spherical', or one of
        mclust's fourteen models ('EII' ... 'VVV'), as in
        :class:`GaussianMixture`.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of the covariances.
    batch_size : int, default=1024
        Rows per mini-batch in :meth:`fit` (the rows are split into mini-batches of
        nearly equal sizes); :meth:`partial_fit` takes the rows it is given as
        one mini-batch.  :meth:`fit` initialises the mixture from its first
        mini-batch, which needs at least ``n_components`` rows.
    learning_decay : float, default=0.6
        The exponent ``kappa`` of the step size ``g_t = (t +
        learning_offset)^(-kappa)`` of step ``t`` (scikit-learn's name for
        the same quantity in
        :class:`~sklearn.decomposition.LatentDirichletAllocation`), in
        (0.5, 1]: smaller values forget old statistics faster (more progress
        per pass, more noise); 1 averages the statistics of all steps.
    learning_offset : float, default=1.0
        The offset ``t0 >= 0`` of the step size: about how many mini-batches
        the initial parameters are worth (exactly so when
        ``learning_decay=1``). 0 gives ``g_1 = 1``: the first mini-batch
        replaces the start.
    max_iter : int, default=100
        The maximum number of passes over the data in :meth:`fit`.
    tol : float, default=1e-3
        :meth:`fit` stops when the mean log-likelihood of a pass (each
        mini-batch under the parameters before its step) changes by less.
    init_params : {'kmeans', 'hc', 'k-means++', 'random', \
'random_from_data'}, default='kmeans'
        How the initial parameters are found on the first mini-batch (as in
        :class:`GaussianMixture`, on that batch only).
    weights_init : array-like of shape (n_components,), default=None
        Initial weights (by default from ``init_params``).
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means (by default from ``init_params``).
    precisions_init : array-like, default=None
        Initial precisions, in the layout of :class:`GaussianMixture`.
    shuffle : bool, default=True
        Whether :meth:`fit` visits the rows in a new random order at each
        pass (when there is more than one mini-batch).  Stepwise EM assumes
        that the mini-batches are draws from one distribution: keep it unless
        the rows are in random order already.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the order of the rows in :meth:`fit` and
        :meth:`sample`.
    warm_start : bool, default=False
        If True, :meth:`fit` continues from the previous state (parameters,
        running statistics and step count) instead of starting again.
        :meth:`partial_fit` always continues.
    verbose : int, default=0
        1 prints the passes of :meth:`fit`, 2 also their timings and
        log-likelihood changes.
    verbose_interval : int, default=10
        Passes between two printed lines.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        The component means.
    covariances_ : ndarray
        The covariances, in the layout of :class:`GaussianMixture`.
    precisions_ : ndarray
        The precision matrices, same layout.
    precisions_cholesky_ : ndarray
        Upper-triangular Cholesky factors of the precisions, same layout.
    n_steps_ : int
        Mini-batches processed (steps taken) since the initialisation.
    n_iter_ : int
        Passes over the data of the last :meth:`fit`.
    converged_ : bool
        Whether the last :meth:`fit` met ``tol``.
    lower_bound_ : float
        Mean log-likelihood (per unit weight) of the last mini-batch under
        the parameters before its step (:meth:`partial_fit`), or of the last
        pass, each mini-batch under the parameters before its step
        (:meth:`fit`).
    lower_bounds_ : list of float
        ``lower_bound_`` after each pass of the last :meth:`fit`.
    labels_ : ndarray of shape (n_samples,)
        Component of each training sample after :meth:`fit` (a final pass
        with the fitted parameters), equal to ``predict(X)``; removed by
        :meth:`partial_fit`, as are ``log_likelihood_`` and
        ``responsibility_entropy_``.
    log_likelihood_ : float
        Mean (weighted) log-likelihood of the training data under the fitted
        parameters, after :meth:`fit`.
    responsibility_entropy_ : float
        Mean (weighted) entropy of the training responsibilities, after
        :meth:`fit`.
    n_parameters_ : int
        Number of free parameters of the model.
    volumes_, shapes_, orientations_ : ndarray
        mclust's decomposition of the covariances, as in
        :class:`GaussianMixture`.
    n_features_in_ : int
        Number of features seen during the first :term:`fit` or
        :meth:`partial_fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen then; only when they are all strings.

    See Also
    --------
    GaussianMixture : Exact EM, one pass over all rows per iteration; the
        same model.

    Notes
    -----
    **The update.**  After mini-batch ``t`` (rows ``B_t``, total weight
    ``w_t``) the running statistics ``s`` -- counts, first and second
    moments per unit weight, the same sums exact EM takes over all rows --
    become ``s <- (1 - g_t) s + g_t S(B_t) / w_t``, with ``S(B_t)`` the
    batch's statistics under the current parameters, and the parameters
    become the M-step of ``s``, with ``g_t = (t +
    learning_offset)^(-learning_decay)``.  The running statistics start as
    those the initial parameters imply (their M-step gives the initial
    parameters back), so ``learning_offset`` is about how many mini-batches
    the start is worth; with ``learning_offset=0`` the first step takes ``g_1
    = 1`` and replaces them, and a step with ``g = 1`` on all the data is one
    exact EM iteration.  Second moments are averaged about a
    fixed reference point (the first mini-batch's weighted mean), since the
    full covariance family's own statistics are relative to the previous
    model.

    **Convergence.**  For ``learning_decay`` in (0.5, 1] the step sizes
    satisfy ``sum g_t = inf`` and ``sum g_t^2 < inf``, and stepwise EM
    converges to a stationary point of the likelihood of the distribution
    the mini-batches come from (the training rows, for passes over an
    array), as EM does (Cappé & Moulines 2009).  It is stochastic
    approximation: after ``t`` steps it has moved about ``sum g_t ~
    t^(1 - kappa)`` EM steps' worth, and the parameters fluctuate around the
    optimum with a spread that shrinks like ``sqrt(g_t)``.  Smaller
    ``learning_decay`` moves further and fluctuates more; ``learning_offset``
    only tempers the first steps.  Early progress is fast: on overlapping
    clusters one pass came 8 times closer to exact EM's optimum than one
    iteration of exact EM.  The last digits are slow: within 1e-3 nats/row
    took about as many passes as exact EM took iterations (150 to 200), 43
    with ``learning_decay=0.51``; on separated clusters, where exact EM
    converges in an iteration or two, 0.5 to 6 passes (see :ref:`online`).
    For the last digits, refine with exact EM (:class:`GaussianMixture`
    with ``weights_init``, ``means_init`` and ``precisions_init``) from the
    online solution.  :meth:`fit` stops when the mean log-likelihood of a
    pass changes by less than ``tol``, which small steps also cause.

    **Cost.**  A step costs the E-step of its ``b`` rows (about ``2 b K
    d^2`` flops for 'full') and one M-step, ``O(K d^3)`` whatever ``n``;
    memory is one mini-batch and ``O(K d^2)`` statistics.  Steps are
    sequential, on one thread each, with about a millisecond of fixed cost:
    a pass of 1024-row mini-batches cost 3 to 7 times a pass of exact EM on
    two cores (d = 8, K = 5), of 4096-row ones about 2 times.

    References: M. Sato and S. Ishii, "On-line EM algorithm for the
    normalized Gaussian network", Neural Computation 12 (2000); O. Cappé
    and E. Moulines, "On-line expectation-maximization algorithm for latent
    data models", JRSS B 71 (2009); P. Liang and D. Klein, "Online EM for
    unsupervised models", NAACL (2009).

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators import OnlineGaussianMixture
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(0, 1, (2000, 2)), rng.normal(8, 1, (2000, 2))])
    >>> X = X[rng.permutation(len(X))]
    >>> gm = OnlineGaussianMixture(2, random_state=0)
    >>> for batch in np.array_split(X, 20):       # a stream of mini-batches
    ...     gm = gm.partial_fit(batch)
    >>> bool(np.allclose(np.sort(gm.means_[:, 0]), [0.0, 8.0], atol=0.1))
    True
    >>> gm.n_steps_
    20
    """

    _mclust_search = False  # its fit streams batches: no search's starts

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_MODELS))],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "init_params": [StrOptions(set(INIT_METHODS))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        reg_covar=1e-6,
        batch_size=1024,
        learning_decay=0.6,
        learning_offset=1.0,
        max_iter=100,
        tol=1e-3,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.batch_size = batch_size
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.max_iter = max_iter
        self.tol = tol
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # -- the step ------------------------------------------------------------------
    def step_size(self, t):
        """The step size ``g_t`` of step ``t`` (1-based).

        Parameters
        ----------
        t : int
            The step, counted from 1 since the initialisation.

        Returns
        -------
        g : float
            ``(t + learning_offset) ** -learning_decay``: 1 for the first
            step when ``learning_offset=0``.

        Examples
        --------
        >>> from gmm_estimators import OnlineGaussianMixture
        >>> gm = OnlineGaussianMixture(learning_decay=1.0, learning_offset=0.0)
        >>> [gm.step_size(t) for t in (1, 2, 4)]
        [1.0, 0.5, 0.25]
        """
        return float((t + self.learning_offset) ** -self.learning_decay)

    def _initial_state(self, X, sample_weight, rng):
        """Initial parameters from a (validated) first mini-batch, centred at
        its weighted mean: the reference point of every later step."""
        self._validate_init(X)
        cls = self._model_class()
        given = all(p is not None for p in self._init_checked)
        n_support = (
            X.shape[0] if sample_weight is None else np.count_nonzero(sample_weight)
        )
        if not given and n_support < self.n_components:
            raise ValueError(
                "The first mini-batch initialises the mixture and needs at least "
                f"n_components = {self.n_components} rows of non-zero weight, got "
                f"{n_support}. Use larger first batches (batch_size in fit), or "
                "give weights_init, means_init and precisions_init."
            )
        blocks, scatter = fit_blocks(
            X, sample_weight, cls, self._fit_row_width(X.shape[1])
        )
        with blocks.limits():
            model, weights = self._initial_model(
                blocks, sample_weight, rng, scatter, self.init_params
            )
        stats, scatter = implied_stats(model, weights, self.reg_covar)
        return _State(model, weights, stats, scatter if cls.needs_scatter else None, 0)

    def _step(self, state, X, sample_weight):
        """One step of stepwise EM on a validated mini-batch: the new state
        (``state`` itself is left as it was)."""
        model = state.model
        batch = block_stats(model, state.weights, X, sample_weight)
        total = float(batch.total_weight)
        t = state.n_steps + 1
        g = self.step_size(t)
        fresh = absolute_stats(model, batch).scale(1.0 / total)
        running = state.stats.scale(1.0 - g) + fresh.scale(g)
        scatter = None
        if state.scatter is not None:
            fresh = _scatter_about(X, sample_weight, model.center) / total
            scatter = (1.0 - g) * state.scatter + g * fresh
        new_model, weights = m_step(
            model, relative_stats(model, running), self.reg_covar, scatter
        )
        return _State(new_model, weights, running, scatter, t), batch.ll / total, total

    def _check_continues(self):
        """Raise unless the fitted state has the current ``covariance_type``
        and ``n_components`` (the number of features is validate_data's)."""
        K, d = self.means_.shape
        fitted = (self._fitted_covariance_type, K)
        if fitted != (self.covariance_type, self.n_components):
            raise ValueError(
                "partial_fit continues the mixture fitted so far, which has "
                f"covariance_type={fitted[0]!r} and {K} components, but "
                f"covariance_type={self.covariance_type!r} and n_components="
                f"{self.n_components} now. Fit a new estimator (or call fit) "
                "to start again."
            )

    def _publish(self, state, dtype):
        """Map the state to the public fitted attributes."""
        self._online_state = state
        _publish_model(self, state.model, state.weights, dtype)
        self.n_steps_ = state.n_steps
        self.n_parameters_ = self._n_parameters()

    # -- public fitting --------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the mixture with one mini-batch (one step of stepwise EM).

        The first call initialises the mixture from its batch (with
        ``init_params``, or the given ``*_init`` parameters) and takes the
        first step on it; every call takes one step.  A call that fails
        leaves the estimator as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The mini-batch; float32 data is kept in float32.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.  An integer weight is equivalent
            to repeating the row; a zero weight to removing it.

        Returns
        -------
        self : object
            The updated mixture.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import OnlineGaussianMixture
        >>> rng = np.random.RandomState(0)
        >>> gm = OnlineGaussianMixture(random_state=0)
        >>> for _ in range(3):
        ...     gm = gm.partial_fit(rng.normal(5.0, 1.0, size=(500, 1)))
        >>> round(float(gm.means_[0, 0]), 1), gm.n_steps_
        (5.0, 3)
        """
        state = dict(self.__dict__)
        try:
            self._partial_fit(X, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise
        return self

    def _partial_fit(self, X, sample_weight):
        first = not hasattr(self, "_online_state")
        X = validate_data(self, X, reset=first, dtype=[np.float64, np.float32])
        sw = self._check_weights(X, sample_weight)
        dtype = X.dtype
        X = _compute_array(X)
        if not first:
            self._check_continues()
        # one BLAS thread: a mini-batch's products are too small for more
        # (two threads were measured 5x slower on a loaded 2-core machine)
        with _one_blas_thread():
            if first:
                rng = check_random_state(self.random_state)
                state = self._initial_state(X, sw, rng)
            else:
                state = self._online_state
            state, ll, _ = self._step(state, X, sw)
        for name in ("labels_", "log_likelihood_", "responsibility_entropy_"):
            self.__dict__.pop(name, None)
        self.lower_bound_ = ll
        self._publish(state, dtype)

    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture by passes of stepwise EM over X in mini-batches.

        The mixture is initialised from the first mini-batch (unless
        ``warm_start`` continues the previous state); each pass visits the
        rows in mini-batches of about ``batch_size`` rows, in a new random
        order when ``shuffle``, one step each.  Passes stop when the pass's
        mean log-likelihood changes by less than ``tol``, or after
        ``max_iter`` passes (then a
        :class:`~sklearn.exceptions.ConvergenceWarning` is issued).  A final
        pass with the fitted parameters sets ``labels_``.  A memory-mapped X
        (``np.load(..., mmap_mode='r')``) is read one mini-batch at a time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; float32 data is kept in float32.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.  Rows of zero weight still take
            their place in the mini-batches (the batches are ranges of
            rows): the first mini-batch needs ``n_components`` rows of
            non-zero weight, so with mostly zero weights pass only the rows
            of positive weight.

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the mixture to X (see :meth:`fit`) and return the label of each row.

        Equivalent to ``fit(X).predict(X)`` (a final pass guarantees it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        if _is_dask_array(X):
            # not exact EM on the workers (GaussianMixture's), and not
            # silently loaded into memory
            raise TypeError(
                "OnlineGaussianMixture.fit takes arrays in memory or memory-mapped. "
                "For a Dask array, feed its chunks to partial_fit: "
                "dask_ml.wrappers.Incremental(OnlineGaussianMixture(...)).fit(X), "
                "or a loop over X.blocks; GaussianMixture.fit(X) runs exact EM on "
                "the workers. predict, predict_proba and score_samples take Dask "
                "arrays (lazily)."
            )
        return super().fit_predict(X, y, sample_weight=sample_weight)

    def _mini_batches(self, n, rng):
        """Row ranges of the mini-batches of one pass, in order, and the
        pass's order of the rows (None: as stored)."""
        n_batches = max(1, min(n, -(-n // self.batch_size)))
        bounds = np.linspace(0, n, n_batches + 1).round().astype(np.intp)
        order = rng.permutation(n) if self.shuffle and n_batches > 1 else None
        return list(zip(bounds[:-1], bounds[1:], strict=True)), order

    def _passes(self, X, sample_weight, rng, state):
        """Passes of stepwise EM over X (the body of :meth:`fit`): the final
        state, the mean log-likelihood of each pass and whether its change
        met ``tol``.  With ``state`` None the first mini-batch initialises
        it."""
        sw = sample_weight
        history = []
        t_prev = perf_counter()
        for n_pass in range(max(self.max_iter, 1)):
            batches, order = self._mini_batches(X.shape[0], rng)
            ll_sum = weight_sum = 0.0
            for start, stop in batches:
                if order is None:
                    rows = slice(start, stop)
                else:
                    rows = np.sort(order[start:stop])  # memory order: faster reads
                swb = None if sw is None else sw[rows]
                if swb is not None and not np.any(swb > 0):
                    continue
                Xb = _compute_array(np.asarray(X[rows]))
                if state is None:
                    state = self._initial_state(Xb, swb, rng)
                    if self.max_iter == 0:
                        return state, history, False
                state, ll, weight = self._step(state, Xb, swb)
                ll_sum += ll * weight
                weight_sum += weight
            history.append(ll_sum / weight_sum)
            change = history[-1] - (history[-2] if n_pass else -np.inf)
            t_prev = self._verbose_iter(n_pass + 1, change, t_prev)
            if abs(change) < self.tol:
                return state, history, True
        return state, history, False

    def _fit(self, X, sample_weight):
        """The body of :meth:`fit_predict` (see :meth:`fit`)."""
        continuing = self.warm_start and hasattr(self, "_online_state")
        X = validate_data(
            self,
            X,
            reset=not continuing,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
        )
        sw = self._check_weights(X, sample_weight)
        n = X.shape[0]
        self._check_support(
            n if sw is None else int(np.count_nonzero(sw)), sw is not None
        )
        dtype = X.dtype
        rng = check_random_state(self.random_state)
        state = self._online_state if continuing else None
        if continuing:
            self._check_continues()
        # one BLAS thread: a mini-batch's products are too small for more
        with _one_blas_thread():
            state, history, converged = self._passes(X, sw, rng, state)
        if not converged and self.max_iter > 0:
            warnings.warn(
                f"Stepwise EM did not converge in {self.max_iter} passes (the mean "
                "log-likelihood of the last pass changed by more than tol). Increase "
                "max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.converged_ = converged
        self.n_iter_ = len(history)
        self.lower_bound_ = history[-1] if history else -np.inf
        self.lower_bounds_ = history
        self._publish(state, dtype)
        return self._final_pass(X, sw)
