"""The interface between the EM engine and a component model, written once.

The engine in :mod:`gmm_estimators._em` fits a mixture of ``K`` components
without knowing what a component is: everything it needs is a
:class:`ComponentModel`.  The Gaussian covariance models
(:mod:`gmm_estimators._covariance`) and probabilistic PCA
(:mod:`gmm_estimators._ppca`) are its implementations; a new model (for
instance another covariance structure) is one more subclass.

The engine hands every block of rows to a model *centred* at a reference point
``center`` (the weighted data mean during ``fit``) and *augmented* with a
column of ones: ``xa = [x - center, 1]``.  Centring keeps float32 accurate; the
ones column folds the subtraction of the means into a matrix product.  Each EM
iteration is then one pass over the blocks:

1. ``log_prob(xa, ws)`` gives the ``(K, b)`` log-densities of a block and a
   cache of intermediate results;
2. the engine turns them into responsibilities ``resp`` (``(K, b)``, already
   multiplied by the row weights), adds the counts ``N_k`` and first moments
   ``S1_k`` itself (unless ``accumulate`` returns them) and calls
   ``accumulate(stats, xa, resp, cache)`` for the model's own statistics, in
   the dict made by ``new_stats()``;
3. after the pass, ``m_step(nk, s1c, stats, reg_covar, scatter)`` returns the
   new model.

Static properties of a model (block width, a reference model for
initialisation, the number of free parameters) are classmethods; those that
depend on an option of the estimator (PPCA's latent dimension) take it as a
keyword argument, which the estimator supplies through its
``_model_options()`` hook.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import abc


class ComponentModel(abc.ABC):
    """The parameters of ``K`` mixture components and their block operations.

    Every instance has ``means`` (``(K, d)``, data coordinates), ``center``
    (``(d,)``, the reference point of the blocks), ``n_components`` and
    ``n_features``.  Instances are immutable: ``m_step`` returns a new one.

    Examples
    --------
    >>> from gmm_estimators._model import ComponentModel
    >>> from gmm_estimators._covariance import COVARIANCE_MODELS
    >>> from gmm_estimators._ppca import PPCAModel
    >>> all(issubclass(cls, ComponentModel)
    ...     for cls in [*COVARIANCE_MODELS.values(), PPCAModel])
    True
    """

    #: The M-step needs the data scatter matrix (computed once per fit).
    needs_scatter = False
    #: The model has degeneracy checks (``relative_variances`` and
    #: ``grid_variances``; see :func:`gmm_estimators._em.degeneracy`).
    checks_degeneracy = False
    #: Statistics are taken around the means, so the generic initialisation
    #: (:func:`gmm_estimators._em.model_from_responsibilities`) finds the
    #: means in a first pass.
    init_needs_means = False
    #: The model implements :meth:`with_center`, so the engine may screen
    #: starts on a subsample centred elsewhere.
    recenters = False
    #: A start whose every component holds one row (the seeds of 'k-means++'
    #: and 'random_from_data') begins with diagonal covariances of the
    #: features' variances instead of the M-step's (see
    #: :func:`gmm_estimators._em.model_from_responsibilities`).
    one_row_start_at_scale = False

    # -- static properties ---------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def row_width(cls, n_components, n_features, **options):
        """Elements of block temporaries per row (for choosing block sizes)."""

    @classmethod
    @abc.abstractmethod
    def reference(cls, means, center, **options):
        """A model at ``means`` whose statistics, after one ``m_step``, give
        the model fitted to the responsibilities (generic initialisation)."""

    @classmethod
    @abc.abstractmethod
    def n_cov_parameters(cls, n_components, n_features, **options):
        """Free parameters of the components beyond their means."""

    # -- one EM iteration ----------------------------------------------------
    @abc.abstractmethod
    def log_prob(self, xa, ws):
        """``(K, b)`` log-densities of the block ``xa`` and a cache for
        :meth:`accumulate`; ``ws`` is a per-thread dict for reusable buffers."""

    @abc.abstractmethod
    def new_stats(self):
        """Zeroed float64 accumulators of the model's own statistics (a dict)."""

    @abc.abstractmethod
    def accumulate(self, stats, xa, resp, cache):
        """Add one block's statistics to ``stats`` in place (``resp`` is
        ``(K, b)``, weighted; ``cache`` comes from :meth:`log_prob`).

        Returns None, or ``resp @ xa`` (the first moments and, in the last
        column, the counts) when the model's own product gave them: the
        engine then skips its own."""

    def prepare_estep(self, dtype):
        """Make the constants of the E-step on rows of ``dtype`` (before
        the block threads run it, each of which would otherwise make them
        at its first block).  The default does nothing."""
        return None

    def fused_block(self, acc, log_w, rows, center, w, spread=None):
        """The E-step of a block of raw ``rows`` (centred at ``center`` by
        the kernel itself) and its statistics added to ``acc`` (a
        :class:`~gmm_estimators._stats.BlockStats`) by one compiled kernel,
        as :meth:`log_prob`, the normalisation and :meth:`accumulate` would,
        to rounding; ``log_w`` the log mixing weights, ``w`` the block's row
        weights or None, ``spread`` None or a function (of no arguments)
        giving an upper bound of ``|rows - center|`` per feature, called
        only by a kernel with a rounding check.  Returns whether it
        did: False (the default) leaves the block to those steps."""
        return False

    @abc.abstractmethod
    def m_step(self, nk, s1c, stats, reg_covar, scatter=None):
        """The new model from the summed counts ``nk``, first moments ``s1c``
        (centred at ``center``) and statistics."""

    @abc.abstractmethod
    def sample_component(self, rng, k, n):
        """``n`` random draws of component ``k``, shape ``(n, n_features)``."""

    # -- optional: defaults for models that do without ------------------------
    #: The class whose :meth:`log_prob` and :meth:`accumulate`, on the
    #: components of several models of this class side by side
    #: (:meth:`stack`), give each model's own, component by component; the
    #: engine then advances several EM runs on small data with one E-step
    #: (:func:`gmm_estimators._em.iterate_stacked`).  None: runs are advanced
    #: one by one.  When the model's class *is* its ``stack_class``, its
    #: M-step is separable too: the stacked model's ``m_step`` is the stacked
    #: M-steps; otherwise :meth:`m_step_stacked` may do them side by side.
    stack_class = None

    @classmethod
    def stack(cls, models):
        """One model of :attr:`stack_class` holding the components of
        ``models`` (instances of this class with one ``center``) in turn."""
        raise NotImplementedError(f"{cls.__name__} cannot be stacked")

    @classmethod
    def m_step_stacked(cls, models, nk, s1c, stats, reg_covar, scatter=None):
        """The M-steps of several EM runs side by side (non-separable models).

        Each run's result is what its own :meth:`m_step` returns, computed on
        arrays with a leading run axis, so that an iteration of all runs costs
        the numpy calls of one (:func:`gmm_estimators._em.iterate_stacked`).

        Parameters
        ----------
        models : list of ComponentModel
            The ``S`` runs' models: instances of this class with one
            ``center`` and ``K`` components each.
        nk : ndarray of shape (S * K,)
            Counts, the runs' components in turn.
        s1c : ndarray of shape (S * K, n_features)
            First moments, centred at ``center``.
        stats : dict of ndarray
            The statistics of the runs' components in turn (``S * K``
            leading rows), as :attr:`stack_class` accumulates them for the
            stacked model (:meth:`stack`).
        reg_covar : float
            Added to the covariances.
        scatter : ndarray of shape (n_features, n_features), default=None
            The data scatter (models with :attr:`needs_scatter`).

        Returns
        -------
        models : list of ComponentModel or None
            The ``S`` new models, ``models[s].m_step`` of run ``s``'s rows;
            None when the class has no batched M-step (the engine then calls
            each run's :meth:`m_step`).

        Raises
        ------
        ValueError
            When a component of any run collapses (the engine then finds
            which run by its own :meth:`m_step`).
        """
        return None

    def take(self, components):
        """The model of the ``components`` (a slice) of a separable model."""
        raise NotImplementedError(f"{type(self).__name__} cannot be split")

    def with_center(self, center):
        """The same model for blocks centred at ``center`` (see
        :attr:`recenters`)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be re-centred")

    #: Whether a component's covariance is a general matrix built from the
    #: rows' scatter, and so singular (but for ``reg_covar``) wherever the
    #: rows do not reach: on data of no more rows than features
    #: (:func:`gmm_estimators._em.degeneracy_a_priori`).
    full_matrix = False

    #: The class that fits this model with mclust's own M-step, where it
    #: differs from this class's (an iterative M-step that mclust stops
    #: elsewhere): a fit that starts from mclust's 'hc' also runs EM from it
    #: with that class (:meth:`gmm_estimators._em._BaseMixture._fit`).
    #: None: this class's M-step is mclust's.
    mclust_path = None

    @classmethod
    def points_needed_by(cls, n_features):
        """Effective points a component needs for regular parameters."""
        return 1

    def points_needed(self):
        """Effective points a component of this model needs."""
        return self.points_needed_by(self.n_features)

    def relative_variances(self, data_var, reg_covar):
        """Smallest variance of each component without ``reg_covar``, in units
        of the data's variance, for the degeneracy check of
        :func:`gmm_estimators._em.degeneracy`; None: no check."""
        return None

    def grid_variances(self, steps, reg_covar):
        """Smallest variance of each component without ``reg_covar`` across
        the features recorded on a grid (``steps > 0``, see
        :func:`gmm_estimators._utils.recording_steps`), in units of their
        steps squared, for the degeneracy check of
        :func:`gmm_estimators._em.degeneracy`; None: no check (or no such
        feature)."""
        return None

    @property
    def means_centered(self):
        """Means relative to the block reference point."""
        return self.means - self.center

    # -- statistics that outlive the model (stepwise EM) ------------------------
    @classmethod
    def has_absolute_stats(cls):
        """Whether the class gives :meth:`absolute_stats` (and
        :meth:`relative_stats`)."""
        return cls.absolute_stats is not ComponentModel.absolute_stats

    def absolute_stats(self, nk, s1c, stats):
        """The model's own statistics (from :meth:`accumulate` under this
        model) in a form that does not depend on the model: second moments
        about ``center``.  Statistics taken under different models can be
        averaged only in this form (:mod:`gmm_estimators._online`);
        :meth:`relative_stats` turns them back.  ``nk`` and ``s1c`` are the
        counts and first moments that go with them."""
        raise NotImplementedError(
            f"{type(self).__name__} has no model-independent statistics"
        )

    def relative_stats(self, nk, s1c, stats):
        """The inverse of :meth:`absolute_stats` for this model: statistics
        for its :meth:`m_step`."""
        raise NotImplementedError(
            f"{type(self).__name__} has no model-independent statistics"
        )
