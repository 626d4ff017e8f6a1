"""Mixtures of probabilistic principal component analysers (Tipping & Bishop, 1999).

Component ``k`` of a :class:`MixtureOfPPCA` generates ``x = W_k z + mu_k + e``
with ``z ~ N(0, I_q)`` and ``e ~ N(0, sigma_k^2 I_d)``, so its covariance is
``Sigma_k = W_k W_k^T + sigma_k^2 I``: ``q (d + 1)`` parameters instead of the
``d (d + 1) / 2`` of a full covariance.  The mixture runs on the block EM engine
of :mod:`gmm_estimators._em` through the component model :class:`PPCAModel`.

The model keeps every ``W_k`` in canonical form ``W_k = U_k^T diag(s_k)``, with
``U_k`` (``components_[k]``, ``q x d``) orthonormal rows, so that
``M_k = sigma_k^2 I + W_k^T W_k = diag(s_k^2 + sigma_k^2)`` is diagonal and
holds the top ``q`` eigenvalues of ``Sigma_k`` (``explained_variance_[k]``).
Everything is ``O(K d q)``:

* **E-step** (Woodbury identity and matrix determinant lemma)::

      (x - mu)^T Sigma^-1 (x - mu) = (|r|^2 - |A^T r|^2) / sigma^2,
      A = W M^{-1/2} = U^T diag(s / sqrt(s^2 + sigma^2)),  r = x - mu,
      log det Sigma = sum_j log(s_j^2 + sigma^2) + (d - q) log sigma^2,

  so a block needs one product, ``[x - c, 1] @ [A_k; -m_k^T A_k]`` (``K q``
  columns) next to ``[-2 m_k; |m_k|^2]`` (``K`` columns, the cross terms of
  ``|r|^2``), for all components at once.
* **Statistics**: ``G_k = sum_i r_ik (x_i - m_k)(x_i - m_k)^T A_k`` (``d x q``,
  one product ``[x - c, 1]^T (resp * Y)`` per block, with ``Y`` the E-step
  projections) and ``sum_i r_ik |x_i - m_k|^2``, both around the previous
  means ``m_k`` and corrected for the shift to the new means.
* **M-step** (Tipping & Bishop, appendix C): with ``S`` the weighted covariance
  of the component around its new mean (so ``S A`` from ``G`` less the mean
  shift, and ``S W = S A M^{1/2}``)::

      W~ = S W (sigma^2 I + M^-1 W^T S W)^-1,
      sigma^2_new = (tr S - tr(S W M^-1 W~^T)) / d   (floored at reg_covar),

  then the parameter-expansion step of PX-EM (Liu, Rubin & Wu, 1998): with the
  latent second moment ``E[z z^T] = sigma^2 M^-1 + M^-1 W^T S W M^-1`` (q x q),
  ``W_new = W~ chol(E[z z^T])``.  Plain EM converges at a rate of about
  ``1 - 2 sigma^2 / lambda`` in the variance ``lambda`` along each axis (0.98
  when the axis is 50 times the noise); the expansion removes that slow mode.
  A thin SVD of ``W_new`` (``d x q``) gives the new canonical form.

Each step is a generalised EM step: the new means maximise the expected
log-likelihood for any covariance, and the ``(W, sigma^2)`` update is a PX-EM
step of the weighted PPCA problem at those means, so the log-likelihood never
decreases.

The initialisation (:func:`ppca_from_responsibilities`) turns the engine's
initial responsibilities into weighted means and the top-``q`` eigenpairs of
each component's weighted scatter by randomised subspace iteration with the
same block statistics, ``O(n K d q)`` per pass and never a ``d x d`` matrix.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._covariance import LOG_2PI, collapse_error
from ._em import (
    _BaseMixture,
    _compute_array,
    _dask_module,
    _is_dask_array,
    _normalize,
)
from ._model import ComponentModel

__all__ = ["MixtureOfPPCA", "PPCAModel", "ppca_from_responsibilities"]

#: Extra random directions of the subspace iteration of the initialisation.
_OVERSAMPLE = 5
#: Passes of subspace iteration over the data at initialisation.
_INIT_PASSES = 3


# -- block helpers shared by the E-step, the statistics and the initialisation --
def _projection_matrix(axes, means_c):
    """``(d + 1, K p)`` matrix ``P`` with ``[x - c, 1] @ P = [(x - c - m_k) @ axes_k]_k``.

    ``axes`` has shape ``(K, d, p)`` and ``means_c`` (``K, d``) holds the means
    ``m_k`` centred at the block reference point ``c``.
    """
    K, d, p = axes.shape
    P = np.empty((d + 1, K * p))
    P[:d] = axes.transpose(1, 0, 2).reshape(d, K * p)
    P[d] = -np.einsum("kd,kdp->kp", means_c, axes).ravel()
    return P


def _distance_matrix(means_c):
    """``(d + 1, K)`` matrix ``D``: ``[x - c, 1] @ D + |x - c|^2 = |x - c - m_k|^2``."""
    return np.vstack([-2.0 * means_c.T, np.einsum("kd,kd->k", means_c, means_c)])


def _sq_distances(xa, dist_matrix):
    """Squared distances ``|x_i - mu_k|^2`` of a block, shape ``(b, K)``."""
    dist = xa @ dist_matrix
    x = xa[:, :-1]
    dist += np.einsum("bd,bd->b", x, x)[:, None]
    return dist


def _new_projection_stats(n_components, n_features, n_axes):
    return {
        "g": np.zeros((n_features + 1, n_components * n_axes)),
        "dist": np.zeros(n_components),
    }


def _accumulate_projections(stats, xa, resp, y, dist):
    """Add a block's ``sum_i r_ik [x_i - c, 1] y_ik^T`` and ``sum_i r_ik dist_ik``.

    ``y`` (``b x K p``, rows of unit stride) is overwritten by ``resp * y``.  Row ``d``
    of ``stats['g']`` receives ``sum_i r_ik y_ik`` (the ones column of ``xa``).
    """
    b, K = resp.shape
    y3 = y.reshape(b, K, -1)  # a view: splitting the unit-stride axis never copies
    y3 *= resp[:, :, None]
    stats["g"] += xa.T @ y
    if dist is not None:
        stats["dist"] += np.einsum("bk,bk->k", resp, dist)


def _scatter_times(stats_g, nk, means_c_old, means_c_new, axes):
    """``S_k axes_k`` for every component from the summed block statistics.

    ``S_k`` is the weighted covariance of component ``k`` around its *new* mean;
    the statistics were taken around the previous means with projections on
    ``axes`` (``K, d, p``):
    ``sum r (x - m)(x - m)^T = sum r (x - mu)(x - mu)^T + N (mu - m)(mu - m)^T``.
    """
    K, d, p = axes.shape
    g = stats_g.reshape(d + 1, K, p)
    raw = g[:d].transpose(1, 0, 2) - means_c_old[:, :, None] * g[d][:, None, :]
    raw /= nk[:, None, None]
    delta = means_c_new - means_c_old
    raw -= delta[:, :, None] * np.einsum("kd,kdp->kp", delta, axes)[:, None, :]
    return raw


def _flip_signs(components):
    """Make the entry of largest magnitude of each axis positive (as PCA does)."""
    idx = np.argmax(np.abs(components), axis=-1)
    signs = np.sign(np.take_along_axis(components, idx[..., None], axis=-1))
    signs[signs == 0] = 1.0
    return components * signs


def _canonical_axes(loadings):
    """Orthonormal axes (``K, q, d``) and variances ``s^2`` (``K, q``) of ``W`` (``K, d, q``).

    ``W W^T = U^T diag(s^2) U`` with the rows of ``U`` by decreasing ``s``.
    """
    u, s, _ = np.linalg.svd(loadings, full_matrices=False)
    return _flip_signs(np.swapaxes(u, 1, 2)), s**2


def _floor_noise(noise, mean_variance, reg_covar):
    """Noise variances floored at ``reg_covar``.

    A noise variance is a difference of two traces; below the round-off of
    that difference (``100 eps`` times the mean variance of the component) it
    is zero: the component has collapsed onto its ``q`` axes.  It then takes
    ``reg_covar``, and with ``reg_covar=0`` the model reports the collapse.
    """
    roundoff = 100 * np.finfo(np.float64).eps * np.maximum(mean_variance, 0.0)
    noise = np.where(noise <= roundoff, 0.0, noise)
    return np.where(noise < reg_covar, reg_covar, noise)


#: Beyond these, squared distances overflow (float64 max 1.8e308) or the
#: smallest features vanish below the largest (float64 keeps 16 digits).
PPCA_MAX_ABS = 1e100
PPCA_MAX_RATIO = 1e100


# -- the component model --------------------------------------------------------
class PPCAModel(ComponentModel):
    """Parameters of K probabilistic PCA components and their block operations.

    The :class:`~gmm_estimators._model.ComponentModel` of
    :class:`MixtureOfPPCA`: component ``k`` has covariance
    ``Sigma_k = U_k^T diag(l_k) U_k + sigma_k^2 I`` with ``U_k`` orthonormal
    rows (``q x d``), ``l_k`` the latent variances ``s_k^2`` and ``sigma_k^2``
    the noise variance.  Blocks arrive centred at ``center`` with a trailing
    column of ones.

    Its classmethods take the latent dimension as the keyword ``n_latent``.

    Parameters
    ----------
    means : ndarray of shape (n_components, n_features)
        Component means, in data coordinates.
    center : ndarray of shape (n_features,)
        Reference point the engine subtracts from every block of rows.
    components : ndarray of shape (n_components, n_latent, n_features)
        Orthonormal principal axes of each component.
    latent_variance : ndarray of shape (n_components, n_latent)
        ``s^2``: variance along each axis in excess of the noise (>= 0).
    noise_variance : ndarray of shape (n_components,)
        ``sigma^2``, positive.
    reg_covar : float, default=0.0
        Only used to word the error of a non-positive noise variance.

    See Also
    --------
    MixtureOfPPCA : The estimator built on this model.
    gmm_estimators._covariance.FullCovariance : A Gaussian component model of
        the same protocol.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._ppca import PPCAModel
    >>> model = PPCAModel(
    ...     means=np.zeros((1, 3)), center=np.zeros(3),
    ...     components=np.array([[[1.0, 0.0, 0.0]]]),
    ...     latent_variance=np.array([[3.0]]), noise_variance=np.array([1.0]),
    ... )
    >>> model.covariances()[0]
    array([[4., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    #: Statistics are taken around the means: find them first at initialisation.
    init_needs_means = True

    def __init__(
        self,
        means,
        center,
        components,
        latent_variance,
        noise_variance,
        *,
        reg_covar=0.0,
    ):
        # C order everywhere: results then do not depend on how the arrays
        # were made (a fitted or an unpickled estimator give identical bits).
        self.means = np.ascontiguousarray(means, dtype=np.float64)
        self.center = np.ascontiguousarray(center, dtype=np.float64)
        self.components = np.ascontiguousarray(components, dtype=np.float64)
        self.latent_variance = np.ascontiguousarray(latent_variance, dtype=np.float64)
        self.noise_variance = np.ascontiguousarray(noise_variance, dtype=np.float64)
        self.n_components, self.n_features = self.means.shape
        self.q = self.components.shape[1]
        bad = np.flatnonzero(
            ~(np.isfinite(self.noise_variance) & (self.noise_variance > 0))
        )
        if bad.size:
            k = bad[0]
            raise collapse_error(
                f"The noise variance of component {k} is "
                f"{self.noise_variance[k]:g} with reg_covar={reg_covar:g}; it must "
                "be positive: the component has collapsed onto n_latent dimensions "
                "(too few or identical samples). Decreasing n_latent may help too."
            )
        self.explained_variance = self.latent_variance + self.noise_variance[:, None]
        self._cast = {}

    @classmethod
    def row_width(cls, n_components, n_features, *, n_latent):
        """Elements of block temporaries per row (for choosing block sizes).

        Covers the initialisation, which projects on ``q + 5`` directions for
        ``K + 1`` components.

        Parameters
        ----------
        n_components : int
            Number of components ``K``.
        n_features : int
            Number of features ``d``.
        n_latent : int
            Latent dimension ``q``.

        Returns
        -------
        width : int

        Examples
        --------
        >>> from gmm_estimators._ppca import PPCAModel
        >>> PPCAModel.row_width(3, 10, n_latent=2)
        40
        """
        p = min(n_latent + _OVERSAMPLE, n_features)
        return (n_components + 1) * (p + 3)

    @classmethod
    def reference(cls, means, center, *, n_latent):
        """A model at ``means`` whose single M-step is one subspace-iteration step.

        Its axes are fixed pseudo-random orthonormal directions (seed 0) and
        every variance is one, so one M-step from its statistics projects each
        component's scatter on those directions.  This is the engine's generic
        initialisation (:func:`gmm_estimators._em.model_from_responsibilities`);
        :class:`MixtureOfPPCA` uses the more accurate
        :func:`ppca_from_responsibilities`.

        Parameters
        ----------
        means : ndarray of shape (n_components, n_features)
            Component means.
        center : ndarray of shape (n_features,)
            Reference point of the blocks.
        n_latent : int
            Latent dimension ``q``.

        Returns
        -------
        model : PPCAModel
            The reference model.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators._ppca import PPCAModel
        >>> ref = PPCAModel.reference(np.zeros((3, 5)), np.zeros(5), n_latent=2)
        >>> ref.components.shape, float(ref.noise_variance[0])
        ((3, 2, 5), 1.0)
        """
        means = np.asarray(means, dtype=np.float64)
        K, d = means.shape
        q = n_latent
        rng = np.random.RandomState(0)
        axes = np.linalg.qr(rng.standard_normal((K, d, q)))[0]
        return cls(
            means,
            center,
            np.swapaxes(axes, 1, 2),
            np.ones((K, q)),
            np.ones(K),
        )

    # -- derived quantities ---------------------------------------------------------
    @property
    def loadings(self):
        """``W_k = U_k^T diag(s_k)``, shape ``(K, d, q)``."""
        return (
            np.swapaxes(self.components, 1, 2)
            * np.sqrt(self.latent_variance)[:, None, :]
        )

    @property
    def _whitened_axes(self):
        """``A_k = W_k M_k^{-1/2}``, shape ``(K, d, q)``."""
        scale = np.sqrt(self.latent_variance / self.explained_variance)
        return np.swapaxes(self.components, 1, 2) * scale[:, None, :]

    def log_det_covariance(self):
        """``log det Sigma_k`` per component (matrix determinant lemma)."""
        return np.log(self.explained_variance).sum(axis=1) + (
            self.n_features - self.q
        ) * np.log(self.noise_variance)

    def covariances(self):
        """Dense covariances ``(K, d, d)``: for inspection and tests only."""
        cov = np.einsum(
            "kqd,kq,kqe->kde", self.components, self.latent_variance, self.components
        )
        idx = np.arange(self.n_features)
        cov[:, idx, idx] += self.noise_variance[:, None]
        return cov

    @classmethod
    def n_cov_parameters(cls, n_components, n_features, *, n_latent):
        """Free parameters of the covariances: ``d q - q (q - 1) / 2 + 1`` each."""
        q = n_latent
        return n_components * (n_features * q - q * (q - 1) // 2 + 1)

    # -- the protocol -----------------------------------------------------------------
    def _constants(self, dtype):
        key = np.dtype(dtype)
        if key not in self._cast:
            mc = self.means_centered
            const = -0.5 * (self.n_features * LOG_2PI + self.log_det_covariance())
            # one product gives the projections (K q columns) and the
            # distance cross terms (K columns): one read of the block
            both = np.hstack(
                [_projection_matrix(self._whitened_axes, mc), _distance_matrix(mc)]
            )
            self._cast[key] = (
                both.astype(key),
                (-0.5 / self.noise_variance).astype(key),
                const.astype(key),
            )
        return self._cast[key]

    def log_prob(self, xa, ws):
        """Per-component log-densities of a block ``xa = [x - center, 1]``.

        Returns the ``(K, b)`` log-densities and the cache the statistics need:
        the whitened projections ``Y`` (``b x K q``) and ``|x - mu_k|^2``.
        """
        both, half_inv_noise, const = self._constants(xa.dtype)
        b, Kq = xa.shape[0], self.n_components * self.q
        out = xa @ both
        y, dist = out[:, :Kq], out[:, Kq:]
        x = xa[:, :-1]
        dist += np.einsum("bd,bd->b", x, x)[:, None]
        y3 = y.reshape(b, self.n_components, self.q)
        projected = np.einsum("bkq,bkq->bk", y3, y3)
        if np.isfinite(dist).all():
            lp = dist - projected
        else:
            # a finite row whose squared distance overflows: its density is
            # 0 (log -inf), not inf - inf = NaN
            with np.errstate(invalid="ignore"):
                lp = dist - projected
            lp[np.isposinf(dist)] = np.inf
        lp *= half_inv_noise
        lp += const
        return np.ascontiguousarray(lp.T), (y, dist)

    def new_stats(self):
        """Zeroed float64 accumulators: ``g`` (``d + 1, K q``) and ``dist`` (``K``)."""
        return _new_projection_stats(self.n_components, self.n_features, self.q)

    def accumulate(self, stats, xa, resp, cache):
        """Add one block's statistics (responsibilities already weighted)."""
        y, dist = cache
        _accumulate_projections(stats, xa, resp.T, y, dist)

    def m_step(self, nk, s1c, stats, reg_covar, scatter=None):
        """New model from the summed statistics (Tipping & Bishop's, with PX-EM)."""
        d, q = self.n_features, self.q
        means_c = s1c / nk[:, None]
        mc_old = self.means_centered
        ev = self.explained_variance
        # S_k A_k around the new means, then S_k W_k = S_k A_k M_k^{1/2}.
        sw = _scatter_times(stats["g"], nk, mc_old, means_c, self._whitened_axes)
        sw *= np.sqrt(ev)[:, None, :]
        wsw = np.swapaxes(self.loadings, 1, 2) @ sw
        inner = wsw / ev[:, :, None]
        idx = np.arange(q)
        inner[:, idx, idx] += self.noise_variance[:, None]
        w_new = np.swapaxes(
            np.linalg.solve(np.swapaxes(inner, 1, 2), np.swapaxes(sw, 1, 2)), 1, 2
        )
        delta = means_c - mc_old
        trace_s = stats["dist"] / nk - np.einsum("kd,kd->k", delta, delta)
        noise = (trace_s - np.einsum("kdq,kdq->k", sw, w_new / ev[:, None, :])) / d
        noise = _floor_noise(noise, trace_s / d, reg_covar)
        # Parameter expansion (PX-EM): the second moment of the latent variables,
        # E[z z^T] = sigma^2 M^-1 + M^-1 W^T S W M^-1, rescales W_new.
        ezz = wsw / (ev[:, :, None] * ev[:, None, :])
        ezz[:, idx, idx] += self.noise_variance[:, None] / ev
        w_new = w_new @ np.linalg.cholesky(0.5 * (ezz + np.swapaxes(ezz, 1, 2)))
        components, latent = _canonical_axes(w_new)
        return type(self)(
            means_c + self.center,
            self.center,
            components,
            latent,
            noise,
            reg_covar=reg_covar,
        )

    def sample_component(self, rng, k, n):
        """``n`` draws of component ``k`` (``x = mu + W z + sigma e``)."""
        n = int(n)
        z = rng.standard_normal(size=(n, self.q)) * np.sqrt(self.latent_variance[k])
        noise = rng.standard_normal(size=(n, self.n_features))
        return (
            self.means[k]
            + z @ self.components[k]
            + np.sqrt(self.noise_variance[k]) * noise
        )


# -- initialisation ---------------------------------------------------------------
def ppca_transform(model, weights, blocks):
    """The rows of :meth:`MixtureOfPPCA.transform` for the rows of ``blocks``.

    Parameters
    ----------
    model : PPCAModel
        The fitted model, centred at ``blocks.center``.
    weights : ndarray of shape (n_components,)
        Mixing weights.
    blocks : gmm_estimators._em._Blocks
        The rows, in the dtype of the output.

    Returns
    -------
    X_new : ndarray of shape (n_samples, n_components * (n_latent + 1))
        For each component its ``n_latent`` responsibility-weighted principal
        coordinates, then the ``n_components`` responsibilities.
    """
    K, q = model.n_components, model.q
    dtype = blocks.X.dtype
    out = np.empty((blocks.n, K * (q + 1)), dtype=dtype)
    axes = _projection_matrix(
        np.swapaxes(model.components, 1, 2), model.means_centered
    ).astype(dtype)
    log_w = np.log(weights).astype(dtype)

    def fn(acc, start, stop, xa, ws):
        lp, _ = model.log_prob(xa, ws)
        resp, _ = _normalize(lp, log_w)
        coords = xa @ axes
        coords3 = coords.reshape(stop - start, K, q)
        coords3 *= resp.T[:, :, None]
        out[start:stop, : K * q] = coords
        out[start:stop, K * q :] = resp.T

    blocks.run(fn, dict)
    return out


def ppca_from_responsibilities(
    blocks,
    n_latent,
    source,
    sample_weight,
    reg_covar,
    rng,
    *,
    n_passes=_INIT_PASSES,
    oversample=_OVERSAMPLE,
):
    """Initial PPCA components fitted to given responsibilities.

    For each component, the weighted mean and the top ``q`` eigenpairs of the
    weighted covariance ``S_k``, found by randomised subspace iteration
    (Halko, Martinsson & Tropp, 2011) with ``p = q + oversample`` directions:
    each pass accumulates ``S_k V_k`` with the block statistics of the EM
    (``O(n K d p)``, no ``d x d`` matrix), the next ``V_k`` is its orthonormal
    basis, and the last pass gives the Rayleigh-Ritz eigenpairs.  Then the
    closed-form PPCA of those eigenpairs: ``sigma^2`` the mean of the
    discarded eigenvalues (``(tr S - sum of the top q) / (d - q)``) and latent
    variances ``lambda_j - sigma^2``.

    A component whose scatter fits in ``q`` dimensions (for instance the single
    data point that ``'random_from_data'`` gives it) would start with no
    noise; it takes the axes and variances of the whole data instead (a
    pseudo-component accumulated in the same passes).  Latent variances are
    kept above ``1e-6 sigma^2``: EM cannot revive an axis of zero variance.

    Parameters
    ----------
    blocks : _Blocks
        The data, in blocks centred at ``blocks.center``.
    n_latent : int
        Latent dimension ``q``.
    source : callable
        ``source(start, stop)`` gives the responsibilities of those rows.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights.
    reg_covar : float
        Floor of the noise variance.
    rng : numpy.random.RandomState
        Draws the starting directions.
    n_passes : int, default=3
        Passes of subspace iteration (after the pass for the means).
    oversample : int, default=5
        Directions beyond ``q`` (capped at ``n_features``).

    Returns
    -------
    model : PPCAModel
        The initial components.
    weights : ndarray of shape (n_components,)
        ``N_k / sum(sample_weight)``.

    See Also
    --------
    gmm_estimators._em.model_from_responsibilities : The engine's generic
        initialisation (one M-step from :meth:`PPCAModel.reference`).

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators._em import _Blocks
    >>> from gmm_estimators._ppca import ppca_from_responsibilities
    >>> X = np.random.RandomState(0).standard_normal((200, 4)) * [3.0, 2.0, 1.0, 1.0]
    >>> blocks = _Blocks(X, X.mean(axis=0), 8)
    >>> model, weights = ppca_from_responsibilities(
    ...     blocks, 1, lambda a, b: np.ones((1, b - a)),
    ...     None, 1e-6, np.random.RandomState(0))
    >>> np.abs(model.components[0, 0]).round(1)
    array([1., 0., 0., 0.])
    >>> weights
    array([1.])
    """
    n, d = blocks.n, blocks.d
    q = n_latent
    dtype = blocks.X.dtype
    sw = sample_weight
    K = source(0, 1).shape[0]
    K1 = K + 1  # the last pseudo-component holds every row

    def resp_of(start, stop):
        r = np.empty((stop - start, K1), dtype=dtype)
        r[:, :K] = source(start, stop).T
        r[:, K] = 1.0
        if sw is not None:
            r *= sw[start:stop, None].astype(dtype, copy=False)
        return r

    def first(acc, start, stop, xa, ws):
        r = resp_of(start, stop)
        acc["nk"] += r.sum(axis=0, dtype=np.float64)
        acc["s1"] += r.T @ xa[:, :-1]

    acc = blocks.run(first, lambda: {"nk": np.zeros(K1), "s1": np.zeros((K1, d))})
    nk = acc["nk"] + 10 * np.finfo(np.float64).eps
    means_c = acc["s1"] / nk[:, None]

    p = min(q + oversample, d)
    basis = np.linalg.qr(rng.standard_normal((K1, d, p)))[0]
    dist_matrix = _distance_matrix(means_c).astype(dtype)
    for it in range(n_passes):
        proj = _projection_matrix(basis, means_c).astype(dtype)
        want_dist = it == 0

        def fn(acc, start, stop, xa, ws, proj=proj, want_dist=want_dist):
            dist = _sq_distances(xa, dist_matrix) if want_dist else None
            _accumulate_projections(acc, xa, resp_of(start, stop), xa @ proj, dist)

        acc = blocks.run(fn, lambda: _new_projection_stats(K1, d, p))
        product = _scatter_times(acc["g"], nk, means_c, means_c, basis)  # S V
        if want_dist:
            trace_s = acc["dist"] / nk
        if it < n_passes - 1:
            basis = np.linalg.qr(product)[0]
    # Rayleigh-Ritz on the last basis.
    small = np.swapaxes(basis, 1, 2) @ product
    small = 0.5 * (small + np.swapaxes(small, 1, 2))
    values, vectors = np.linalg.eigh(small)
    values = np.maximum(values[:, ::-1][:, :q], 0.0)
    axes = basis @ vectors[:, :, ::-1][:, :, :q]
    components = _flip_signs(np.swapaxes(axes, 1, 2))
    noise = (trace_s - values.sum(axis=1)) / (d - q)

    degenerate = noise[:K] <= 1e-8 * trace_s[K] / d
    components[:K][degenerate] = components[K]
    values[:K][degenerate] = values[K]
    noise[:K][degenerate] = noise[K]
    noise = _floor_noise(noise, trace_s / d, reg_covar)
    latent = np.maximum(values - noise[:, None], 1e-6 * noise[:, None])

    center = blocks.center.astype(np.float64)
    model = PPCAModel(
        means_c[:K] + center,
        center,
        components[:K],
        latent[:K],
        noise[:K],
        reg_covar=reg_covar,
    )
    total = n if sw is None else float(sw.sum())
    return model, nk[:K] / total


# -- the estimator ---------------------------------------------------------------
class MixtureOfPPCA(TransformerMixin, _BaseMixture):
    """Mixture of probabilistic principal component analysers.

    Each component is a probabilistic PCA (Tipping & Bishop, 1999): a
    Gaussian whose covariance ``Sigma_k = W_k W_k^T + sigma_k^2 I`` has ``q``
    principal axes and isotropic noise.  The mixture clusters data that lie
    near several low-dimensional affine subspaces, models its density with
    ``O(K d q)`` parameters instead of ``O(K d^2)``, and reduces dimension per
    component.  Fitting is EM on blocks of rows: time ``O(n K d q)`` per
    iteration, memory ``O(block + K d q)``; no ``d x d`` matrix is ever formed.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components ``K``.
    n_latent : int, default=2
        Latent dimension ``q`` of every component, ``1 <= q < n_features``.
    tol : float, default=1e-3
        EM stops when the lower bound (mean log-likelihood) changes by less.
    reg_covar : float, default=1e-6
        Floor of the noise variances; keeps the covariances positive definite.
    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the best run is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='kmeans'
        How the initial responsibilities are chosen (as in
        :class:`~gmm_estimators.GaussianMixture`); each component then starts
        from the weighted mean and principal axes of its points.
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

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    components_ : ndarray of shape (n_components, n_latent, n_features)
        Orthonormal principal axes of each component, by decreasing variance
        (as :attr:`sklearn.decomposition.PCA.components_`).
    explained_variance_ : ndarray of shape (n_components, n_latent)
        Variance along each axis: the top ``n_latent`` eigenvalues of each
        component's covariance.
    noise_variance_ : ndarray of shape (n_components,)
        Isotropic noise variance ``sigma_k^2`` of each component.
    covariances_ : ndarray of shape (n_components, n_features, n_features)
        Dense covariances ``Sigma_k``; a property computed on request, never
        stored (``O(K d^2)`` memory).
    converged_ : bool
        Whether the best run converged.
    n_iter_ : int
        EM iterations of the best run.
    lower_bound_ : float
        Mean log-likelihood of the training data at the last E-step of the
        best run.
    lower_bounds_ : list of float
        ``lower_bound_`` at each iteration of the best run.
    labels_ : ndarray of shape (n_samples,)
        Component of each training sample, equal to ``predict(X)``.
    log_likelihood_ : float
        Mean (weighted) log-likelihood of the training data under the final
        parameters.
    responsibility_entropy_ : float
        Mean (weighted) entropy of the training responsibilities.
    n_parameters_ : int
        Number of free parameters: ``K - 1`` weights, ``K d`` means and per
        component ``d q - q (q - 1) / 2`` for ``W_k`` and one for
        ``sigma_k^2``.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`; only when they are all strings.

    See Also
    --------
    GaussianMixture : Gaussian mixture with full, tied, diagonal or spherical
        covariances.
    GaussianMixtureSelector : Choose ``n_components`` (and ``n_latent``
        through ``param_grid``) by BIC, AIC, ICL or cross-validation.
    sklearn.decomposition.PCA : Equals ``MixtureOfPPCA(n_components=1)`` up to
        the ``n - 1`` variance convention, with at least as many rows as
        features (with fewer, PCA averages the noise over ``min(n, d) - q``
        discarded directions, the maximum-likelihood fit over ``d - q``).

    Notes
    -----
    EM follows Tipping & Bishop (1999), appendix C, as a generalised EM step:
    new means first, then one EM update of ``(W_k, sigma_k^2)`` at those means,
    accelerated by parameter expansion (PX-EM, Liu, Rubin & Wu, 1998), which
    removes the slow convergence of plain EM in the variances along the axes.
    The log-density uses the Woodbury identity and the matrix determinant
    lemma through ``M_k = sigma_k^2 I + W_k^T W_k``, which is diagonal because
    ``W_k`` is kept as ``components_[k].T * sqrt(explained_variance_[k] -
    noise_variance_[k])``.  Components start from the initial
    responsibilities by randomised subspace iteration (three passes).  With one
    component the maximum-likelihood solution is probabilistic PCA in closed
    form: the principal axes of the data, ``sigma^2`` the mean of the
    discarded eigenvalues.

    :meth:`transform` gives, for each component ``k``, ``r_k(x) s_k(x)`` with
    ``s_k(x) = components_[k] @ (x - means_[k])`` and ``r_k(x)`` the
    responsibility, then the ``K`` responsibilities: ``K (q + 1)`` columns.
    :meth:`inverse_transform` is its exact linear inverse map,
    ``sum_k (r_k s_k @ components_[k] + r_k means_[k])``.  :meth:`sample`
    draws ``x = mu_k + W_k z + sigma_k e`` with standard normal ``z`` and
    ``e``; :meth:`score_samples` costs ``O(K d q)`` per sample.

    References
    ----------
    M. E. Tipping and C. M. Bishop, "Mixtures of probabilistic principal
    component analyzers", Neural Computation 11(2), 443-482, 1999.

    M. E. Tipping and C. M. Bishop, "Probabilistic principal component
    analysis", Journal of the Royal Statistical Society B 61(3), 611-622, 1999.

    C. Liu, D. B. Rubin and Y. N. Wu, "Parameter expansion to accelerate EM:
    the PX-EM algorithm", Biometrika 85(4), 755-770, 1998.

    N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure with
    randomness", SIAM Review 53(2), 217-288, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from gmm_estimators import MixtureOfPPCA
    >>> rng = np.random.RandomState(0)
    >>> line = rng.standard_normal((100, 1)) * [[3.0, 0.0, 0.0]]
    >>> X = np.vstack([line, line + [0.0, 20.0, 0.0]])
    >>> X += 0.1 * rng.standard_normal(X.shape)
    >>> mppca = MixtureOfPPCA(n_components=2, n_latent=1, random_state=0).fit(X)
    >>> np.abs(mppca.components_).round(1)  # both along the first feature
    array([[[1., 0., 0.]],
    <BLANKLINE>
           [[1., 0., 0.]]])
    >>> mppca.transform(X).shape
    (200, 4)

    BIC finds the latent dimension of data near a line:

    >>> X = rng.standard_normal((200, 1)) @ [[2.0, 1.0, 0.0, 0.0]]
    >>> X += 0.1 * rng.standard_normal(X.shape)
    >>> bics = [MixtureOfPPCA(n_latent=q, random_state=0).fit(X).bic(X)
    ...         for q in (1, 2, 3)]
    >>> int(np.argmin(bics)) + 1
    1
    """

    _parameter_constraints: dict = {
        **_BaseMixture._parameter_constraints,
        "n_latent": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        n_latent=2,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.n_latent = n_latent
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # -- engine hooks ------------------------------------------------------------
    def _model_class(self):
        return PPCAModel

    def _model_options(self):
        return {"n_latent": self.n_latent}

    def _row_width(self):
        K, q, d = self.components_.shape  # the fitted latent dimension
        return PPCAModel.row_width(K, d, n_latent=q)

    def _validate_init(self, X):
        d = X.shape[1]
        # column ranges in float64 (a float32 range may overflow), no copy of X
        low = X.min(axis=0).astype(np.float64)
        high = X.max(axis=0).astype(np.float64)
        big = float(max(np.abs(low).max(), np.abs(high).max()))
        spread = high - low
        positive = spread[spread > 0]
        ratio = positive.max() / positive.min() if positive.size else 1.0
        if big > PPCA_MAX_ABS or ratio > PPCA_MAX_RATIO:
            raise ValueError(
                "MixtureOfPPCA cannot fit these data: their values reach "
                f"{big:.3g} in magnitude and the ranges of the features differ "
                f"by a factor up to {ratio:.3g}; the squared distances it needs "
                "overflow or lose all precision. Rescale the features first "
                "(e.g. sklearn.preprocessing.StandardScaler)."
            )
        if self.n_latent >= d:
            raise ValueError(
                f"n_latent={self.n_latent} must be smaller than the number of "
                f"features, but got n_features={d}: a mixture of PPCA needs "
                "1 <= n_latent < n_features."
            )
        if self.warm_start and hasattr(self, "converged_"):
            expected = (self.n_components, self.n_latent, d)
            if self.components_.shape != expected:
                raise ValueError(
                    "warm_start=True continues the previous fit, whose components_ "
                    f"have shape {self.components_.shape}, but n_components, "
                    f"n_latent and n_features now ask for {expected}. Set "
                    "warm_start=False to refit from scratch."
                )

    def _initial_model(self, blocks, sample_weight, rng, scatter, method, cache=None):
        source = self._initial_source(blocks, sample_weight, rng, method, cache)
        return ppca_from_responsibilities(
            blocks, self.n_latent, source, sample_weight, self.reg_covar, rng
        )

    def _set_model(self, model, weights, dtype):
        self.weights_ = np.ascontiguousarray(weights, dtype=dtype)
        self.means_ = np.ascontiguousarray(model.means, dtype=dtype)
        self.components_ = np.ascontiguousarray(model.components, dtype=dtype)
        self.explained_variance_ = np.ascontiguousarray(
            model.explained_variance, dtype=dtype
        )
        self.noise_variance_ = np.ascontiguousarray(model.noise_variance, dtype=dtype)

    def _get_model(self, center):
        K, q, _ = self.components_.shape
        noise = np.asarray(self.noise_variance_, dtype=np.float64)
        latent = np.asarray(self.explained_variance_, dtype=np.float64)
        latent = np.maximum(latent - noise[:, None], 0.0)
        return PPCAModel(
            np.asarray(self.means_, dtype=np.float64),
            center,
            np.asarray(self.components_, dtype=np.float64),
            latent,
            noise,
        )

    def _n_parameters(self):
        K, q, d = self.components_.shape
        return int(PPCAModel.n_cov_parameters(K, d, n_latent=q) + K * d + K - 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- public API beyond the engine's (fit, predict, score, bic, sample, ...) ----
    @property
    def covariances_(self):
        """Dense covariances ``W_k W_k^T + sigma_k^2 I``, computed on request.

        An ``(n_components, n_features, n_features)`` array in the dtype of the
        fitted model; nothing in fitting or inference uses it.

        See Also
        --------
        components_, explained_variance_, noise_variance_ : The factors.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import MixtureOfPPCA
        >>> X = np.random.RandomState(0).standard_normal((50, 3))
        >>> MixtureOfPPCA(n_latent=1, random_state=0).fit(X).covariances_.shape
        (1, 3, 3)
        """
        check_is_fitted(self)
        return (
            self._get_model(np.zeros(self.means_.shape[1]))
            .covariances()
            .astype(self.means_.dtype)
        )

    def transform(self, X):
        """Per-component principal coordinates, weighted by the responsibilities.

        For each component ``k`` in order, the ``n_latent`` columns
        ``r_k(x) * components_[k] @ (x - means_[k])``, then the
        ``n_components`` responsibilities ``r_k(x)``: ``K (q + 1)`` columns.
        With one component this is :meth:`sklearn.decomposition.PCA.transform`
        (up to the sign of each axis) followed by a column of ones.

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        X_new : ndarray or dask.array.Array of shape \
                (n_samples, n_components * (n_latent + 1))
            The coordinates, in the dtype of X (float32 or float64). On a Dask
            array, a lazy Dask array with X's row chunks: each chunk is
            transformed on the worker that holds it, and nothing is computed
            until asked (:ref:`dask`).

        See Also
        --------
        inverse_transform : The linear map back to data space.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import MixtureOfPPCA
        >>> X = np.random.RandomState(0).standard_normal((60, 4))
        >>> mppca = MixtureOfPPCA(n_components=3, n_latent=2, random_state=0).fit(X)
        >>> Z = mppca.transform(X)
        >>> Z.shape
        (60, 9)
        >>> bool(np.allclose(Z[:, 6:], mppca.predict_proba(X)))
        True
        """
        check_is_fitted(self)
        if _is_dask_array(X):  # lazy, one output chunk per row chunk
            return _dask_module().lazy_transform(self, X)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        # computed as the other methods compute: float32 data beyond float32's
        # safe range in float64 (they gave rows of NaN), returned in X's dtype
        model, weights, blocks = self._fitted_model(_compute_array(X))
        with blocks.limits():
            return ppca_transform(model, weights, blocks).astype(X.dtype, copy=False)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit the model to X and return ``transform(X)``.

        Equivalent to ``fit(X, sample_weight=sample_weight).transform(X)``.

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row (a Dask array with a Dask X).

        Returns
        -------
        X_new : ndarray or dask.array.Array of shape \
                (n_samples, n_components * (n_latent + 1))
            The transformed training data; lazy on a Dask array.

        See Also
        --------
        transform : The layout of the output.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import MixtureOfPPCA
        >>> X = np.random.RandomState(0).standard_normal((60, 4))
        >>> MixtureOfPPCA(2, n_latent=1, random_state=0).fit_transform(X).shape
        (60, 4)
        """
        return self.fit(X, y, sample_weight=sample_weight).transform(X)

    def inverse_transform(self, X):
        """Map transformed data back to data space.

        ``sum_k (Z_k @ components_[k] + r_k means_[k])`` with ``Z_k`` the
        ``n_latent`` columns of component ``k`` and ``r_k`` its responsibility
        column: the exact linear inverse of the layout of :meth:`transform`.
        ``inverse_transform(transform(X))`` is the responsibility-weighted
        reconstruction of X from each component's principal subspace.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components * (n_latent + 1))
            Data in the layout of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstruction.

        See Also
        --------
        transform : The forward map.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import MixtureOfPPCA
        >>> rng = np.random.RandomState(0)
        >>> X = rng.standard_normal((100, 2)) @ rng.standard_normal((2, 5))
        >>> mppca = MixtureOfPPCA(n_latent=2, random_state=0).fit(X)
        >>> bool(np.allclose(mppca.inverse_transform(mppca.transform(X)), X))
        True
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        K, q, d = self.components_.shape
        if Z.shape[1] != K * (q + 1):
            raise ValueError(
                f"X has {Z.shape[1]} columns, but inverse_transform expects "
                f"n_components * (n_latent + 1) = {K * (q + 1)}, the layout of "
                "transform."
            )
        comps = self.components_.reshape(K * q, d)
        return Z[:, : K * q] @ comps + Z[:, K * q :] @ self.means_

    def get_feature_names_out(self, input_features=None):
        """Get the names of the columns of :meth:`transform`.

        ``mixtureofppca{k}_axis{j}`` for the coordinates of component ``k``,
        then ``mixtureofppca{k}_proba`` for the responsibilities.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The output names.

        See Also
        --------
        transform : The columns named.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import MixtureOfPPCA
        >>> X = np.random.RandomState(0).standard_normal((30, 3))
        >>> MixtureOfPPCA(n_latent=1, random_state=0).fit(X).get_feature_names_out()
        array(['mixtureofppca0_axis0', 'mixtureofppca0_proba'], dtype=object)
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        K, q, _ = self.components_.shape
        prefix = type(self).__name__.lower()
        names = [f"{prefix}{k}_axis{j}" for k in range(K) for j in range(q)]
        names += [f"{prefix}{k}_proba" for k in range(K)]
        return np.asarray(names, dtype=object)
