"""Block statistics: the sums EM needs, as a small engine API.

An EM iteration is a sum over rows.  Under the current model (the parameters
of the previous iteration), every block of rows gives

* ``nk``, the weighted responsibilities summed over the block (``(K,)``),
* ``s1``, the weighted first moments ``sum_i w_i r_ik (x_i - c)`` about the
  model's reference point ``c = model.center`` (``(K, d)``),
* ``stats``, the component model's own second-order statistics (a dict of
  float64 arrays, from :meth:`~gmm_estimators._model.ComponentModel.new_stats`
  and :meth:`~gmm_estimators._model.ComponentModel.accumulate`),
* ``ll``, the weighted sum of the rows' log-likelihoods ``log p(x_i)``, and
  ``total_weight``, the sum of the row weights,

and the M-step needs only the sum of the blocks' statistics.  Three names make
that an API that any back end can drive:

:class:`BlockStats`
    The statistics of a block; they add (``a + b``, ``sum(...)``), scale, and
    flatten to a plain float64 vector (:meth:`BlockStats.to_vector`,
    :meth:`BlockStats.from_vector`), so that any reducer -- a Dask tree
    reduction, MPI's ``Allreduce``, Spark's ``treeAggregate`` -- can add them.
:func:`block_stats`
    The E-step statistics of raw rows under a model.
:func:`m_step`
    The new parameters from summed statistics.

The in-memory engine (:func:`gmm_estimators._em.em_step`) runs the same
per-block code over the blocks of an array on a few threads, and the Dask
engine (:mod:`gmm_estimators._dask`) over the chunks of a Dask array on the
workers: one code path, so every back end agrees with the in-memory fit to
rounding.

Statistics relative to the model
--------------------------------
Some statistics are expressed in coordinates of the model that produced them:
the full-covariance model accumulates the *whitened* residual scatter
``G_k = sum_i r_ik y_ik y_ik^T`` with ``y_ik = U_k^T (x_i - mu_k)`` (``U_k`` the
Cholesky factor of its precision), and PPCA projects on its current axes.  Such
statistics still add across blocks: within one EM iteration every block (every
thread, every Dask chunk, every MPI rank) is evaluated under the *same*
previous model, so the sum of the blocks' statistics is the statistic of all
the rows under that model, which is what that model's ``m_step`` expects.
What they cannot do is be added or averaged across *different* models (as
stepwise, online EM must): that needs them in a model-independent form first
(:meth:`~gmm_estimators._model.ComponentModel.absolute_stats`).  A reducer
must therefore never mix statistics of two iterations.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np

#: Added to the counts before the M-step (scikit-learn's ``10 eps``): a
#: component with no rows keeps finite means.
COUNT_EPS = 10 * np.finfo(np.float64).eps


class BlockStats:
    """Additive sufficient statistics of a block of rows under a model.

    The statistics of disjoint blocks of rows, taken under the *same* model,
    add up to the statistics of their union; :func:`m_step` turns a sum into
    the next parameters.  All arrays are float64.

    Parameters
    ----------
    nk : ndarray of shape (n_components,)
        Weighted responsibilities summed over the rows, ``sum_i w_i r_ik``.
    s1 : ndarray of shape (n_components, n_features)
        Weighted first moments about the model's ``center``,
        ``sum_i w_i r_ik (x_i - center)``.
    stats : dict of str to ndarray
        The component model's own statistics (the keys and shapes of its
        ``new_stats()``).
    ll : float, default=0.0
        Weighted sum of the rows' log-likelihoods under the model.
    total_weight : float, default=0.0
        Sum of the row weights (the number of rows when unweighted).

    Attributes
    ----------
    nk, s1, stats, ll, total_weight
        As given.
    lower_bound : float
        ``ll / total_weight``, the weighted mean log-likelihood of the rows
        under the model (scikit-learn's ``lower_bound_``).

    See Also
    --------
    block_stats : The statistics of rows under a model.
    m_step : The new model from summed statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators import GaussianMixture
    >>> from gmm_estimators._stats import BlockStats, block_stats
    >>> X = np.random.RandomState(0).standard_normal((1000, 2))
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> model, weights = gm._get_model(X.mean(axis=0)), gm.weights_
    >>> parts = [block_stats(model, weights, part) for part in np.split(X, 4)]
    >>> total = sum(parts)
    >>> bool(np.allclose(total.nk, block_stats(model, weights, X).nk))
    True
    >>> vec = total.to_vector()
    >>> # 2 counts, 2 x 2 moments, 2 x 2 x 2 scatters, 2 x 6 feature sums
    >>> # (FullCovariance), ll, weight
    >>> vec.shape
    (28,)
    >>> BlockStats.from_vector(vec, like=total).total_weight
    1000.0
    """

    __slots__ = ("nk", "s1", "stats", "ll", "total_weight")

    def __init__(self, nk, s1, stats, ll=0.0, total_weight=0.0):
        self.nk = np.asarray(nk, dtype=np.float64)
        self.s1 = np.asarray(s1, dtype=np.float64)
        self.stats = {key: np.asarray(v, dtype=np.float64) for key, v in stats.items()}
        self.ll = float(ll)
        self.total_weight = float(total_weight)

    @classmethod
    def zeros(cls, model):
        """Zeroed statistics for ``model`` (the identity of ``+``).

        Parameters
        ----------
        model : ComponentModel
            The model the statistics will be taken under.

        Returns
        -------
        stats : BlockStats
            Zero counts, moments and statistics of the model's shapes.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators._covariance import COVARIANCE_MODELS
        >>> from gmm_estimators._stats import BlockStats
        >>> model = COVARIANCE_MODELS["diag"].reference(np.zeros((3, 2)), np.zeros(2))
        >>> BlockStats.zeros(model).s1.shape
        (3, 2)
        """
        K, d = model.n_components, model.n_features
        return cls(np.zeros(K), np.zeros((K, d)), model.new_stats())

    @property
    def lower_bound(self):
        """Weighted mean log-likelihood, ``ll / total_weight``."""
        return self.ll / self.total_weight

    def copy(self):
        """A deep copy.

        Returns
        -------
        stats : BlockStats
            Statistics with arrays of their own.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators._stats import BlockStats
        >>> a = BlockStats(np.ones(1), np.ones((1, 2)), {}, ll=-1.0, total_weight=1.0)
        >>> b = a.copy()
        >>> b.nk[0] = 5.0
        >>> float(a.nk[0])
        1.0
        """
        return BlockStats(
            self.nk.copy(),
            self.s1.copy(),
            {key: v.copy() for key, v in self.stats.items()},
            self.ll,
            self.total_weight,
        )

    def _check_like(self, other):
        if (
            self.nk.shape != other.nk.shape
            or self.s1.shape != other.s1.shape
            or list(self.stats) != list(other.stats)
            or any(v.shape != other.stats[k].shape for k, v in self.stats.items())
        ):
            raise ValueError(
                "BlockStats of different models cannot be added (their shapes "
                "or statistics differ)."
            )

    def __iadd__(self, other):
        if not isinstance(other, BlockStats):
            return NotImplemented
        self._check_like(other)
        self.nk += other.nk
        self.s1 += other.s1
        for key, value in other.stats.items():
            self.stats[key] += value
        self.ll += other.ll
        self.total_weight += other.total_weight
        return self

    def __add__(self, other):
        if isinstance(other, Real) and not isinstance(other, bool) and other == 0:
            return self.copy()  # sum() starts from 0
        if not isinstance(other, BlockStats):
            return NotImplemented
        out = self.copy()
        out += other
        return out

    __radd__ = __add__

    def scale(self, alpha):
        """Every statistic multiplied by ``alpha``.

        A weighted combination of statistics under the same model (e.g. the
        blend of stepwise EM) is ``a.scale(1 - g) + b.scale(g)``.

        Parameters
        ----------
        alpha : float
            The factor.

        Returns
        -------
        stats : BlockStats
            New statistics; ``self`` is unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators._stats import BlockStats
        >>> a = BlockStats(np.ones(2), np.ones((2, 1)), {}, ll=-3.0, total_weight=2.0)
        >>> a.scale(0.5).total_weight
        1.0
        """
        alpha = float(alpha)
        return BlockStats(
            self.nk * alpha,
            self.s1 * alpha,
            {key: v * alpha for key, v in self.stats.items()},
            self.ll * alpha,
            self.total_weight * alpha,
        )

    def to_vector(self):
        """The statistics as one flat float64 vector.

        The layout is ``nk``, ``s1``, each of ``stats`` in its key order,
        ``ll``, ``total_weight``; vectors of statistics under one model add
        element by element.

        Returns
        -------
        vec : ndarray of shape (n_values,)
            A new array.

        See Also
        --------
        from_vector : The inverse.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators._stats import BlockStats
        >>> a = BlockStats([1.0, 2.0], [[0.5], [1.5]], {}, ll=-4.0, total_weight=3.0)
        >>> a.to_vector()
        array([ 1. ,  2. ,  0.5,  1.5, -4. ,  3. ])
        """
        parts = [self.nk.ravel(), self.s1.ravel()]
        parts += [v.ravel() for v in self.stats.values()]
        parts.append(np.array([self.ll, self.total_weight]))
        return np.concatenate(parts)

    @classmethod
    def from_vector(cls, vec, like):
        """Statistics from a vector made by :meth:`to_vector`.

        Parameters
        ----------
        vec : array-like of shape (n_values,)
            A vector of :meth:`to_vector`'s layout (for example a sum of them).
        like : BlockStats
            Statistics of the same model, for the shapes and keys (their
            values are not used).

        Returns
        -------
        stats : BlockStats
            The statistics, in arrays of their own.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators._stats import BlockStats
        >>> a = BlockStats([1.0, 2.0], [[0.5], [1.5]], {}, ll=-4.0, total_weight=3.0)
        >>> b = BlockStats.from_vector(2 * a.to_vector(), like=a)
        >>> b.nk, b.ll
        (array([2., 4.]), -8.0)
        """
        vec = np.asarray(vec, dtype=np.float64).ravel()
        arrays = [like.nk, like.s1, *like.stats.values()]
        expected = sum(a.size for a in arrays) + 2
        if vec.size != expected:
            raise ValueError(
                f"The vector has {vec.size} values; statistics like these have "
                f"{expected}."
            )
        out, pos = [], 0
        for a in arrays:
            out.append(vec[pos : pos + a.size].reshape(a.shape).copy())
            pos += a.size
        stats = dict(zip(like.stats, out[2:], strict=True))
        return cls(out[0], out[1], stats, vec[pos], vec[pos + 1])

    def __repr__(self):
        K, d = self.s1.shape
        keys = ", ".join(self.stats)
        return (
            f"BlockStats(n_components={K}, n_features={d}, stats=[{keys}], "
            f"total_weight={self.total_weight:g}, ll={self.ll:g})"
        )


def absolute_stats(model, stats):
    """Block statistics taken under ``model`` in model-independent form.

    The counts, first moments (about ``model.center``) and log-likelihood are
    kept; the model's own statistics become second moments about
    ``model.center``
    (:meth:`~gmm_estimators._model.ComponentModel.absolute_stats`), which add
    and average across models that share that centre.

    Parameters
    ----------
    model : ComponentModel
        The model the statistics were taken under.
    stats : BlockStats
        Its block statistics (:func:`gmm_estimators._stats.block_stats`).

    Returns
    -------
    BlockStats
        The same statistics with ``stats`` in absolute form.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._covariance import FullCovariance
    >>> from gmm_estimators._stats import absolute_stats, block_stats, relative_stats
    >>> X = np.random.RandomState(0).normal(size=(50, 2))
    >>> model = FullCovariance(np.zeros((1, 2)), X.mean(axis=0),
    ...                        covariances=np.eye(2)[None])
    >>> s = block_stats(model, np.ones(1), X)
    >>> a = absolute_stats(model, s)
    >>> xc = X - X.mean(axis=0)
    >>> bool(np.allclose(a.stats["moments"][0], xc.T @ xc))
    True
    >>> from gmm_estimators._stats import m_step
    >>> back, _ = m_step(model, relative_stats(model, a), 1e-6)
    >>> fitted, _ = m_step(model, s, 1e-6)
    >>> bool(np.allclose(back.covariances, fitted.covariances))
    True
    """
    return _with_model_stats(
        stats, model.absolute_stats(stats.nk, stats.s1, stats.stats)
    )


def relative_stats(model, stats):
    """The inverse of :func:`absolute_stats`: statistics for ``model``'s M-step.

    Parameters
    ----------
    model : ComponentModel
        The model whose M-step will take the statistics (its centre must be
        the one the absolute statistics are taken about).
    stats : BlockStats
        Statistics in absolute form.

    Returns
    -------
    BlockStats
        The same statistics with ``stats`` in ``model``'s own form.

    Examples
    --------
    See :func:`absolute_stats`.
    """
    return _with_model_stats(
        stats, model.relative_stats(stats.nk, stats.s1, stats.stats)
    )


def _with_model_stats(stats, model_stats):
    """``stats`` with other model statistics."""
    return BlockStats(
        stats.nk.copy(), stats.s1.copy(), model_stats, stats.ll, stats.total_weight
    )


def _normalize(lp, log_weights):
    """Turn log-densities of shape (K, b) into responsibilities, in place.

    Returns ``(resp, log_norm)`` with ``log_norm = logsumexp(lp + log_weights)``
    over the components.  The component-major layout keeps every reduction a
    vectorised operation across rows.
    """
    lp += log_weights[:, None]
    top = lp.max(axis=0)
    top[~np.isfinite(top)] = 0.0
    lp -= top
    np.exp(lp, out=lp)
    total = lp.sum(axis=0)
    lp /= total
    return lp, top + np.log(total)


def _add_block_stats(acc, model, xa, resp, cache, w):
    """Add a block's weighted counts, first moments and model statistics to
    ``acc`` (a :class:`BlockStats`), given its responsibilities."""
    if w is not None:
        resp *= w.astype(resp.dtype, copy=False)
    # a model may return the first moments (and the counts, from the ones
    # column), ``resp @ xa``, from a product of its own
    moments = model.accumulate(acc.stats, xa, resp, cache)
    if moments is None:
        moments = resp @ xa
    acc.nk += moments[:, -1]
    acc.s1 += moments[:, :-1]


def _add_block(acc, model, log_w, xa, w, ws):
    """The E-step of one block and its statistics, added to ``acc``.

    ``xa`` is the block centred at ``model.center`` with a trailing column of
    ones (the engine's layout), ``log_w`` the log mixing weights in the block's
    dtype, ``w`` the block's row weights or None, ``ws`` a workspace dict
    reused across blocks.
    """
    lp, cache = model.log_prob(xa, ws)
    resp, log_norm = _normalize(lp, log_w)
    if w is None:
        acc.ll += float(np.sum(log_norm, dtype=np.float64))
        acc.total_weight += xa.shape[0]
    else:
        acc.ll += float(w @ log_norm)
        acc.total_weight += float(np.sum(w, dtype=np.float64))
    _add_block_stats(acc, model, xa, resp, cache, w)


def _add_rows(acc, model, log_w, rows, center, w, ws, spread=None):
    """The E-step of a block of raw ``rows`` and its statistics, added to
    ``acc``: every back end runs this function on every block.

    A model with a compiled kernel for it (:meth:`ComponentModel.fused_block`)
    does the whole of it in one call, centring included; otherwise the
    block is centred at ``center`` into the engine's layout (a buffer kept
    in ``ws``) for :func:`_add_block`.  ``spread``: None or a function
    (of no arguments) that gives an upper bound
    of ``|rows - center|`` per feature, for the kernel's rounding check.
    """
    if model.fused_block(acc, log_w, rows, center, w, spread):
        return
    b, d = rows.shape
    buf = ws.get("rows:xa")
    if buf is None or buf.shape[0] < b or buf.dtype != rows.dtype:
        buf = ws["rows:xa"] = np.empty((b, d + 1), dtype=rows.dtype)
        buf[:, -1] = 1.0
    xa = buf[:b]
    np.subtract(rows, center, out=xa[:, :-1])
    _add_block(acc, model, log_w, xa, w, ws)


def _rows_stats(acc, model, log_w, X, sample_weight, rows, offset=0):
    """Add the statistics of the rows of ``X`` to ``acc``, ``rows`` at a time.

    Blocks end at multiples of ``rows`` counted from ``-offset`` (``offset``:
    the position of ``X``'s first row in a larger array), so that the chunks
    of an array cut where the in-memory engine cuts its blocks see the same
    blocks.
    """
    n = X.shape[0]
    if n == 0:
        return acc
    center = np.asarray(model.center, dtype=X.dtype)
    ws = {}
    start = 0
    while start < n:
        stop = min(n, start + rows - (offset + start) % rows)
        w = None if sample_weight is None else sample_weight[start:stop]
        _add_rows(acc, model, log_w, X[start:stop], center, w, ws)
        start = stop
    return acc


def _default_rows(model, X):
    """Rows per block whose temporaries, at the full-covariance model's row
    width (the widest Gaussian model's), stay near the engine's target."""
    from ._em import _MAX_ROWS, _MIN_ROWS, _TARGET_BLOCK_BYTES

    d, K = X.shape[1], model.n_components
    per_row = X.dtype.itemsize * (d + 1 + K * (d + 1))
    return int(np.clip(_TARGET_BLOCK_BYTES // per_row, _MIN_ROWS, _MAX_ROWS))


def block_stats(model, weights, X, sample_weight=None, *, block_rows=None):
    """The E-step statistics of rows under a mixture.

    Parameters
    ----------
    model : ComponentModel
        The components (e.g. ``estimator._get_model(center)`` of a fitted
        estimator, or the model of the previous EM iteration).
    weights : array-like of shape (n_components,)
        The mixing weights.
    X : array-like of shape (n_samples, n_features)
        Raw rows (not centred): they are centred at ``model.center`` and
        given the engine's column of ones here, a block of rows at a time.
        float32 rows are computed in float32, anything else in float64.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights (none: every row weighs one).
    block_rows : int, default=None
        Rows per block (temporaries are ``O(block_rows K d)``); by default
        as many as keep a full-covariance model's temporaries near the
        engine's 4 MiB target.

    Returns
    -------
    stats : BlockStats
        The rows' statistics; statistics of other rows under the same model
        add to them.

    See Also
    --------
    BlockStats : What the statistics are.
    m_step : The next model from summed statistics.

    Examples
    --------
    One EM iteration over two parts of the data (on two machines, say):

    >>> import numpy as np
    >>> from gmm_estimators import GaussianMixture
    >>> from gmm_estimators._stats import block_stats, m_step
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal(5, 1, (300, 2))])
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> model = gm._get_model(X.mean(axis=0))
    >>> stats = block_stats(model, gm.weights_, X[:250]) + block_stats(
    ...     model, gm.weights_, X[250:])
    >>> new_model, new_weights = m_step(model, stats, reg_covar=1e-6)
    >>> new_weights.round(2)
    array([0.5, 0.5])
    >>> bool(abs(stats.lower_bound - gm.score(X)) < 1e-9)
    True
    """
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.ndim != 2 or X.shape[1] != model.n_features:
        raise ValueError(
            f"X must have shape (n_samples, {model.n_features}); got {X.shape}."
        )
    sw = None
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight must have shape ({X.shape[0]},); got {sw.shape}."
            )
    log_w = np.log(np.asarray(weights, dtype=np.float64)).astype(X.dtype)
    rows = _default_rows(model, X) if block_rows is None else max(1, int(block_rows))
    return _rows_stats(BlockStats.zeros(model), model, log_w, X, sw, rows)


def _m_step(model, stats, reg_covar, scatter):
    """New model and the weighted counts ``N_k`` from summed statistics (with
    scikit-learn's ``10 eps`` added to the counts)."""
    nk = stats.nk + COUNT_EPS
    new_model = model.m_step(nk, stats.s1, stats.stats, reg_covar, scatter)
    return new_model, nk


def m_step(model, stats, reg_covar, scatter=None):
    """The next mixture from statistics summed over all rows.

    Parameters
    ----------
    model : ComponentModel
        The model the statistics were taken under (statistics relative to it,
        such as the whitened scatter of full covariances, are read in its
        coordinates).
    stats : BlockStats
        The sum of the statistics of every row under ``model``.
    reg_covar : float
        Added to the diagonal of the covariances.
    scatter : ndarray of shape (n_features, n_features), default=None
        The weighted data scatter about ``model.center``, for models whose
        class has ``needs_scatter`` (the tied covariance).

    Returns
    -------
    new_model : ComponentModel
        The M-step's parameters, centred at ``model.center``.
    weights : ndarray of shape (n_components,)
        The new mixing weights, ``N_k / sum(N)`` with ``N_k = nk + 10 eps``.
        The lower bound of the iteration is ``stats.lower_bound``.

    See Also
    --------
    block_stats : The statistics of rows.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._covariance import COVARIANCE_MODELS
    >>> from gmm_estimators._stats import block_stats, m_step
    >>> X = np.random.RandomState(0).normal(3.0, 2.0, size=(5000, 1))
    >>> model = COVARIANCE_MODELS["spherical"](
    ...     np.array([[0.0]]), np.zeros(1), covariances=np.array([1.0]))
    >>> new_model, weights = m_step(model, block_stats(model, [1.0], X), 1e-6)
    >>> bool(np.allclose(new_model.means, X.mean()))
    True
    >>> bool(np.allclose(new_model.covariances, X.var()))
    True
    """
    new_model, nk = _m_step(model, stats, reg_covar, scatter)
    return new_model, nk / nk.sum()
