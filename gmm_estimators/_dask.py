"""Fitting and inference on Dask arrays: the chunks are the blocks of EM.

``GaussianMixture.fit``, ``fit_predict``, ``MixtureOfPPCA.fit`` and the
candidates of ``GaussianMixtureSelector`` hand a :class:`dask.array.Array`
here.  Every pass over the data maps each row chunk to a small result on the
worker that holds it and brings back only that result; the rows themselves
never travel to the client:

1. one *data pass*: per chunk the row count, the weight total, the column
   range and the weighted moments, combined on the client (Chan, Golub &
   LeVeque's pairwise update) into the weighted mean (the blocks' reference
   point), the variances and, for the tied model, the scatter matrix;
2. one *sampling pass* (only when a start must be computed): a sample of
   the rows drawn with replacement in proportion to their weights -- the
   chunks' shares drawn on the client from their weight totals, the rows
   within each chunk on its worker;
3. per EM iteration, one pass: the parameters go out (one task that every
   chunk's task depends on), each chunk's
   :class:`~gmm_estimators._stats.BlockStats` under them come back as a flat
   vector, tree-summed on the workers, and the M-step runs on the client
   (:func:`gmm_estimators._stats.m_step`, through the engine's own loop);
4. one final pass for the training log-likelihood and entropy; ``labels_``,
   ``predict``, ``predict_proba``, ``score_samples`` and
   ``MixtureOfPPCA.transform`` are lazy (``map_blocks``).

Where a distributed start differs from the in-memory one
--------------------------------------------------------
Every start method runs on the sample, whose size is the in-memory engine's
subsample for the same work: :data:`~gmm_estimators._em.SCREEN_ROWS` draws
when several starts are screened to a looser tolerance than ``tol`` (the
in-memory engine then draws their starts on a subsample of that size too),
otherwise :data:`~gmm_estimators._init.KMEANS_SUBSAMPLE` (k-means's own
subsample).  The initial parameters are the M-step on the sample's
responsibilities rather than on all rows, and the sample is drawn chunk by
chunk, so it depends on the chunking, not only on ``random_state``.  With
several starts (``n_init > 1`` or a list of ``init_params``), each runs EM on
the sample to ``max(tol, 1e-4)`` (at most
:data:`~gmm_estimators._em.SCREEN_MAX_ITER` iterations) and only the best one
continues on all rows.  When the data have no more rows of non-zero weight
than the sample would draw, the sample is all of them, with their weights,
already on the client: the fit is then the in-memory fit on them (its starts
do not depend on the row order, but for ``'hc'`` on data with ties), to
rounding, and only ``labels_`` is a Dask array.  With ``weights_init``,
``means_init`` and ``precisions_init`` all given, or with ``warm_start``,
there is no sample and the fit is the in-memory fit up to rounding.

In a search
-----------
``GaussianMixtureSelector`` calls :func:`prepare_search` once (once per
fold with ``criterion='cv'``): the data pass, with the scatter matrix, and
the sample go into the cache it hands every candidate's fit, so a search of
any size makes one data pass and one sampling pass.  Its candidates share
the seed, so they draw the same seeds after the sample as a lone fit would,
and the starts cached by seed (the hc tree, each number of components'
k-means centres) are computed once.  The partitions of the search's second
round are labels of the sample's rows (``_search_context["starts"]``): the
fit screens them on the sample and continues the best on all rows.

Dask is optional: nothing here imports it before a Dask array arrives.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import copy
import pickle
import uuid
from time import perf_counter

import numpy as np
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import _check_sample_weight

from ._em import (
    FLOAT32_SAFE,
    FLOAT32_SMALL,
    SCREEN_MAX_ITER,
    SCREEN_ROWS,
    SCREEN_TOL,
    _best_runs,
    _Blocks,
    _is_dask_array,
    _one_blas_thread,
    _Run,
    data_steps,
    fit_error,
    posterior_pass,
)
from ._init import KMEANS_SUBSAMPLE
from ._stats import BlockStats, _rows_stats
from ._utils import max_abs, weighted_moments

MISSING_DASK = (
    "Fitting on a Dask array needs dask[array]; install it with "
    "`pip install 'gmm-estimators[dask]'` (dask and distributed) or "
    "`pip install 'dask[array]'`."
)

#: Fan-in of the tree that sums the chunks' statistics.
SPLIT_EVERY = 8


def _import_dask():
    """``(dask, dask.array)``, or an ImportError that says what to install."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise ImportError(MISSING_DASK) from exc
    return dask, da


# -- input ------------------------------------------------------------------------
def _as_2d_float(X, what):
    """A Dask array of rows, one column chunk, in float64 or float32."""
    _, da = _import_dask()
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array, got a {X.ndim}D Dask array instead; reshape "
            f"your data (X.reshape(-1, 1) for a single feature) before {what}."
        )
    if any(np.isnan(c) for c in X.chunks[0]) or np.isnan(X.shape[1]):
        raise ValueError(
            "The Dask array has unknown chunk sizes (of its rows or its "
            "columns); call X.compute_chunk_sizes() (or build it with known "
            "chunks) first."
        )
    if X.dtype not in (np.float32, np.float64):
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric, got a Dask array of {X.dtype}.")
        X = X.astype(np.float64)
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return da, X


def _aligned_weights(sample_weight, X):
    """``sample_weight`` as a float64 Dask vector with X's row chunks, or None."""
    if sample_weight is None:
        return None
    _, da = _import_dask()
    n = X.shape[0]
    if _is_dask_array(sample_weight):
        sw = sample_weight
        if sw.ndim != 1 or sw.shape[0] != n:
            raise ValueError(f"sample_weight.shape == {sw.shape}, expected {(n,)}!")
        if sw.dtype != np.float64:
            sw = sw.astype(np.float64)
        if sw.chunks[0] != X.chunks[0]:
            sw = sw.rechunk((X.chunks[0],))
        return sw
    sw = _check_sample_weight(sample_weight, np.empty((n, 0)), dtype=np.float64)
    return da.from_array(sw, chunks=(X.chunks[0],))


def _parts(X, sample_weight):
    """The row chunks of X and of the weights as Delayed objects."""
    xs = list(X.to_delayed().ravel())
    ws = [None] * len(xs)
    if sample_weight is not None:
        ws = list(sample_weight.to_delayed().ravel())
    return xs, ws


def _tree_sum(dask, vectors):
    """The sum of Delayed vectors, as a tree of fan-in :data:`SPLIT_EVERY`."""
    while len(vectors) > 1:
        vectors = [
            dask.delayed(_sum_vectors)(*vectors[i : i + SPLIT_EVERY])
            for i in range(0, len(vectors), SPLIT_EVERY)
        ]
    return vectors[0]


def _sum_vectors(*vectors):
    out = np.array(vectors[0], dtype=np.float64)
    for v in vectors[1:]:
        out += v
    return out


# -- the data pass ----------------------------------------------------------------
def _chunk_summary(x, w, scatter):
    """Row count, weights, column range and weighted moments of one chunk."""
    n, d = x.shape
    out = {
        "n": n,
        "wmin": np.inf,
        "wmax": -np.inf,
        "wsum": 0.0,
        "nnz": 0,
        "minpos": np.inf,
        "colmin": np.full(d, np.inf),
        "colmax": np.full(d, -np.inf),
        "mean": np.zeros(d),
        "m2": np.zeros((d, d) if scatter else d),
    }
    if n == 0:
        return out
    out["colmin"] = np.min(x, axis=0).astype(np.float64)
    out["colmax"] = np.max(x, axis=0).astype(np.float64)
    if w is None:
        w = np.ones(n)
    else:
        out["wmin"], out["wmax"] = float(np.min(w)), float(np.max(w))
    positive = w > 0
    out["nnz"] = int(np.count_nonzero(positive))
    if out["nnz"]:
        out["minpos"] = float(w[positive].min())
    total = float(np.sum(w))
    ok = (
        np.all(np.isfinite(out["colmin"]))
        and np.all(np.isfinite(out["colmax"]))
        and np.isfinite(total)
        and total > 0
        and not out["wmin"] < 0
    )
    if ok:
        moments = weighted_moments(x, w, scatter=scatter)
        out["wsum"] = total
        out["mean"] = moments[0]
        out["m2"] = moments[2] if scatter else moments[1] * total
    return out


class _Summary:
    """The data pass's results; also what ``_validate_init`` reads of X
    (``shape``, ``dtype``, column ``min``/``max``)."""

    def __init__(self, parts, shape, dtype, scatter):
        self.shape, self.dtype = shape, dtype
        self.chunk_n = np.array([p["n"] for p in parts])
        self.chunk_wsum = np.array([p["wsum"] for p in parts])
        self.chunk_nnz = np.array([p["nnz"] for p in parts])
        self.colmin = np.min([p["colmin"] for p in parts], axis=0)
        self.colmax = np.max([p["colmax"] for p in parts], axis=0)
        # (numpy's min and max: a NaN of any chunk stays; Python's dropped it
        # unless it came first)
        self.wmin = float(np.min([p["wmin"] for p in parts]))
        self.wmax = float(np.max([p["wmax"] for p in parts]))
        self.minpos = float(np.min([p["minpos"] for p in parts]))
        self.n_support = int(self.chunk_nnz.sum())
        # pairwise combination of the chunks' weighted moments
        total = float(self.chunk_wsum.sum())
        self.total = total
        d = shape[1]
        mean = np.zeros(d)
        m2 = np.zeros((d, d) if scatter else d)
        if total > 0:
            mean = sum(p["wsum"] * p["mean"] for p in parts) / total
            for p in parts:
                if p["wsum"] > 0:
                    delta = p["mean"] - mean
                    m2 = m2 + p["m2"]
                    m2 += p["wsum"] * (np.outer(delta, delta) if scatter else delta**2)
        self.mean = mean
        self.scatter = m2 if scatter else None
        var = np.diagonal(m2) if scatter else m2
        self.var = np.maximum(var / total if total > 0 else var, 0.0)

    def min(self, axis=None):
        """Column minima (``axis=0``)."""
        return self.colmin if axis == 0 else self.colmin.min()

    def max(self, axis=None):
        """Column maxima (``axis=0``)."""
        return self.colmax if axis == 0 else self.colmax.max()

    def max_abs(self):
        return float(max(np.abs(self.colmin).max(), np.abs(self.colmax).max()))


def _data_pass(dask, X, sample_weight, scatter):
    xs, ws = _parts(X, sample_weight)
    parts = dask.compute(
        *[
            dask.delayed(_chunk_summary)(x, w, scatter)
            for x, w in zip(xs, ws, strict=True)
        ]
    )
    return _Summary(parts, X.shape, X.dtype, scatter)


def _check_summary(summary, weighted):
    """The checks of the in-memory fit, in its order, on the data pass."""
    assert_all_finite(np.array([summary.colmin, summary.colmax]), input_name="X")
    if not weighted:
        return
    # scikit-learn's messages for non-finite or negative weights
    _check_sample_weight(
        np.array([summary.wmin, summary.wmax]),
        np.empty((2, 0)),
        dtype=np.float64,
        ensure_non_negative=True,
    )
    if summary.n_support == 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")


# -- the sampling pass ------------------------------------------------------------
def _chunk_positive(x, w):
    """The rows of non-zero weight of a chunk and their weights."""
    if w is None:
        return x, np.ones(x.shape[0])
    keep = w > 0
    return x[keep], w[keep]


def _chunk_draw(x, w, count, seed):
    """``count`` rows of a chunk drawn with replacement in proportion to their
    weights; each distinct row once, with its number of draws as weight."""
    if count == 0 or x.shape[0] == 0:
        return x[:0], np.zeros(0)
    rng = np.random.RandomState(seed)
    if w is None:
        drawn = rng.randint(x.shape[0], size=count)
    else:
        cum = np.cumsum(w)
        drawn = np.searchsorted(cum, rng.uniform(size=count) * cum[-1], side="right")
        drawn = np.minimum(drawn, x.shape[0] - 1)
    rows, counts = np.unique(drawn, return_counts=True)
    return x[rows], counts.astype(np.float64)


def _sample_size(est):
    """Draws in the sample of ``est``'s starts: :data:`SCREEN_ROWS` when its
    starts are screened to a looser tolerance than ``tol`` (the in-memory
    engine screens them on a subsample of that size, where it draws their
    starts too), else :data:`KMEANS_SUBSAMPLE` (k-means's subsample)."""
    screened = len(est._runs()) > 1 and max(est.tol, SCREEN_TOL) > est.tol
    return SCREEN_ROWS if screened else KMEANS_SUBSAMPLE


def _sample_plan(summary, n_chunks, size, rng):
    """How many rows to draw from each chunk and the chunks' seeds, drawn
    from ``rng``; None when the sample is all the rows of non-zero weight
    (at most ``size`` of them)."""
    if summary.n_support <= size:
        return None
    share = summary.chunk_wsum / summary.total
    counts = rng.multinomial(size, share / share.sum())
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_chunks)
    return counts, seeds


def _draw_sample(dask, X, sample_weight, scale, plan):
    """The rows the starts are computed on, with their weights, and whether
    they are all the rows of non-zero weight (``plan`` None)."""
    xs, ws = _parts(X, sample_weight)
    if plan is None:
        tasks = [
            dask.delayed(_chunk_positive)(x, w) for x, w in zip(xs, ws, strict=True)
        ]
    else:
        tasks = [
            dask.delayed(_chunk_draw)(x, w, int(c), int(s))
            for x, w, c, s in zip(xs, ws, *plan, strict=True)
        ]
    parts = dask.compute(*tasks)
    rows = np.concatenate([p[0] for p in parts])
    weights = np.concatenate([p[1] for p in parts])
    is_all = plan is None
    if is_all:
        weights = weights / scale
    return np.ascontiguousarray(rows), weights, is_all


def _sample_blocks(rows, weights, center, row_width, needs_scatter):
    """In-memory blocks of the sample, centred at the data's reference point
    (so that its models are the fit's), its variances and scatter about it."""
    blocks = _Blocks(rows, center, row_width)
    mean, var, scatter = weighted_moments(rows, weights, scatter=True)
    blocks.data_var = var
    blocks.data_steps = data_steps(rows, weights)
    if not needs_scatter:
        return blocks, None
    delta = mean - center
    return blocks, scatter + weights.sum() * np.outer(delta, delta)


# -- the EM passes ----------------------------------------------------------------
def _chunk_stats(x, w, params, rows, offset):
    """One chunk's :class:`BlockStats` under ``params`` as a flat vector."""
    model, log_w = params
    acc = BlockStats.zeros(model)
    with _one_blas_thread():
        _rows_stats(acc, model, log_w, x, w, rows, offset)
    return acc.to_vector()


class _DaskBlocks:
    """The row chunks of a Dask array, as the engine's blocks.

    The engine's loop (``_BaseMixture._iterate`` -> ``em_step``) asks it for
    the statistics of all rows under a model (:meth:`block_stats`); each chunk
    computes its own on the worker that holds it, with the in-memory engine's
    per-block code and block boundaries.
    """

    #: The features' recording steps, read from the search's sample (None
    #: without one: no check of the grid).
    data_steps = None

    def __init__(self, X, sample_weight, center, data_var, rows):
        self.X = X
        self.n, self.d = X.shape
        self.center = np.asarray(center, dtype=X.dtype)
        self.data_var = data_var
        self.rows = rows
        self.n_blocks = X.numblocks[0]
        self._x, self._w = _parts(X, sample_weight)
        self._offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
        #: what travels per pass: parameters out, statistics back (bytes)
        self.traffic = {"passes": 0, "params_bytes": 0, "stats_bytes": 0}

    def block_stats(self, model, weights):
        """The :class:`BlockStats` of every row under ``model`` and ``weights``."""
        dask, _ = _import_dask()
        log_w = np.log(np.asarray(weights, dtype=np.float64)).astype(self.X.dtype)
        params = dask.delayed(
            (model, log_w), name=f"gmm-params-{uuid.uuid4().hex}", traverse=False
        )
        vectors = [
            dask.delayed(_chunk_stats)(x, w, params, self.rows, int(offset))
            for x, w, offset in zip(self._x, self._w, self._offsets, strict=True)
        ]
        (vec,) = dask.compute(_tree_sum(dask, vectors))
        like = BlockStats.zeros(model)
        self.traffic["passes"] += 1
        self.traffic["params_bytes"] = len(pickle.dumps((model, log_w), protocol=5))
        self.traffic["stats_bytes"] = vec.nbytes
        return BlockStats.from_vector(vec, like)


# -- inference ----------------------------------------------------------------------
def _published_model(est):
    """The fitted model centred as the in-memory inference centres it."""
    weights = np.asarray(est.weights_, dtype=np.float64)
    center = weights @ np.asarray(est.means_, dtype=np.float64) / weights.sum()
    return est._get_model(center), weights


def _chunk_blocks(x, model, row_width, force64):
    """The blocks of one chunk to predict on: a chunk with a NaN or an
    infinite value raises scikit-learn's error when computed (as the
    in-memory methods do before), and float32 rows are computed in float64
    where the in-memory methods would (the whole array small: ``force64``,
    or the chunk beyond float32's safe range)."""
    assert_all_finite(x, input_name="X")
    if x.dtype == np.float32 and (force64 or (x.size and max_abs(x) > FLOAT32_SAFE)):
        x = x.astype(np.float64)
    blocks = _Blocks(x, model.center, row_width)
    blocks.n_threads = 1  # the workers' threads share the cores
    return blocks


def _chunk_posterior(x, w, model, weights, row_width, force64, kwargs):
    """:func:`~gmm_estimators._em.posterior_pass` on one chunk
    (:func:`_chunk_blocks`), arrays in the chunk's dtype whatever the dtype
    they were computed in."""
    dtype = x.dtype
    blocks = _chunk_blocks(x, model, row_width, force64)
    with _one_blas_thread():
        out = posterior_pass(blocks, model, weights, sample_weight=w, **kwargs)
    for key in ("log_norm", "resp"):
        if key in out:
            out[key] = out[key].astype(dtype, copy=False)
    return out


# The per-row outputs of one chunk.  Their names are the keys' prefix in the
# Dask graph (what ``repr`` of the lazy array shows), whatever Dask's version.
def score_samples(x, model, weights, row_width, force64):
    return _chunk_posterior(x, None, model, weights, row_width, force64, {})["log_norm"]


def predict_proba(x, model, weights, row_width, force64):
    kwargs = {"resp": True, "log_norm": False}
    return _chunk_posterior(x, None, model, weights, row_width, force64, kwargs)["resp"]


def predict(x, model, weights, row_width, force64):
    kwargs = {"labels": True, "log_norm": False}
    return _chunk_posterior(x, None, model, weights, row_width, force64, kwargs)[
        "labels"
    ]


def transform(x, model, weights, row_width, force64=False):
    """:meth:`MixtureOfPPCA.transform` of one chunk, in the chunk's dtype."""
    from ._ppca import ppca_transform

    blocks = _chunk_blocks(x, model, row_width, force64)
    with _one_blas_thread():
        return ppca_transform(model, weights, blocks).astype(x.dtype, copy=False)


def _chunk_sums(x, w, model, weights, row_width, force64):
    if w is not None:
        # (a Dask vector of weights, checked when computed, as numpy ones are)
        w = _check_sample_weight(w, x, dtype=np.float64, ensure_non_negative=True)
    out = _chunk_posterior(
        x,
        w,
        model,
        weights,
        row_width,
        force64,
        {"log_norm": False, "entropy": True},
    )
    total = x.shape[0] if w is None else float(np.sum(w))
    return np.array([out["ll_sum"], out["entropy_sum"], total])


def _lazy_outputs(est, X, force64, *, resp=False, log_norm=True, labels=False):
    """The per-row outputs of the fitted model on X, as lazy Dask arrays."""
    model, weights = _published_model(est)
    row_width = est._row_width()
    args = (model, weights, row_width, force64)
    out = {}
    if log_norm:
        out["log_norm"] = X.map_blocks(
            score_samples,
            *args,
            drop_axis=1,
            dtype=X.dtype,
            meta=np.empty(0, dtype=X.dtype),
        )
    if resp:
        out["resp"] = X.map_blocks(
            predict_proba,
            *args,
            chunks=(X.chunks[0], (model.n_components,)),
            dtype=X.dtype,
            meta=np.empty((0, 0), dtype=X.dtype),
        )
    if labels:
        out["labels"] = X.map_blocks(
            predict,
            *args,
            drop_axis=1,
            dtype=np.intp,
            meta=np.empty(0, dtype=np.intp),
        )
    return out


def lazy_transform(est, X):
    """``MixtureOfPPCA.transform`` of a Dask array: a lazy Dask array with
    X's row chunks, each transformed on the worker that holds it."""
    _import_dask()
    X, force64 = _predict_input(est, X)
    model, weights = _published_model(est)
    K, q, _ = est.components_.shape
    return X.map_blocks(
        transform,
        model,
        weights,
        est._row_width(),
        force64,
        chunks=(X.chunks[0], (K * (q + 1),)),
        dtype=X.dtype,
        meta=np.empty((0, 0), dtype=X.dtype),
    )


def _sums(dask, est, X, sample_weight, force64):
    """Weighted sums over the rows of the log-likelihood and the entropy of
    the responsibilities under the fitted model, and the weight total."""
    model, weights = _published_model(est)
    row_width = est._row_width()
    xs, ws = _parts(X, sample_weight)
    vectors = [
        dask.delayed(_chunk_sums)(x, w, model, weights, row_width, force64)
        for x, w in zip(xs, ws, strict=True)
    ]
    (vec,) = dask.compute(_tree_sum(dask, vectors))
    return float(vec[0]), float(vec[1]), float(vec[2])


def _predict_input(est, X):
    _, X = _as_2d_float(X, "predicting")
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
    # as the in-memory engine decides for the whole array (the magnitude
    # check is made per chunk)
    force64 = X.dtype == np.float32 and X.size <= FLOAT32_SMALL
    return X, force64


def posterior(est, X, *, resp=False, log_norm=True, labels=False, entropy=False):
    """What ``_BaseMixture._posterior`` returns, for a Dask array: per-row
    outputs as lazy Dask arrays, sums (``entropy=True``) computed now."""
    dask, _ = _import_dask()
    X, force64 = _predict_input(est, X)
    out = _lazy_outputs(est, X, force64, resp=resp, log_norm=log_norm, labels=labels)
    if entropy:
        out["ll_sum"], out["entropy_sum"], _ = _sums(dask, est, X, None, force64)
    return out


def score(est, X, sample_weight=None):
    """Mean (weighted) log-likelihood of a Dask array's rows, computed now."""
    dask, _ = _import_dask()
    X, force64 = _predict_input(est, X)
    if sample_weight is not None and not _is_dask_array(sample_weight):
        # (checked as fit checks them: finite, non-negative, one positive)
        sample_weight = est._check_weights(np.empty((X.shape[0], 0)), sample_weight)
    sw = _aligned_weights(sample_weight, X)
    ll_sum, _, total = _sums(dask, est, X, sw, force64)
    if not total > 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return ll_sum / total


# -- fitting ------------------------------------------------------------------------
def _fit_input(name, X, sample_weight):
    da, X = _as_2d_float(X, "fitting")
    n, d = X.shape
    if n < 2:
        raise ValueError(
            f"Found array with {n} sample(s) (shape={X.shape}) while a minimum of "
            f"2 is required by {name}."
        )
    if d < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            f"is required by {name}."
        )
    return X, _aligned_weights(sample_weight, X)


#: Where a search (``GaussianMixtureSelector``) keeps, in the cache it hands
#: every candidate's fit, the data pass's summary and the sample of the starts.
SUMMARY_KEY = ("dask", "summary")
SAMPLE_KEY = ("dask", "sample")


def _summary(dask, X, sw_raw, needs_scatter, cache):
    """The data pass's :class:`_Summary`; in a search (``cache`` given) made
    once, with the scatter matrix, for every candidate."""
    summary = None if cache is None else cache.get(SUMMARY_KEY)
    if summary is None or (needs_scatter and summary.scatter is None):
        summary = _data_pass(dask, X, sw_raw, needs_scatter or cache is not None)
        if cache is not None:
            cache[SUMMARY_KEY] = summary
    return summary


def _working_array(X, summary):
    """X in the dtype its chunks are computed in: float32 data that are small
    or too large for float32 sums in float64, as the in-memory engine does."""
    if X.dtype == np.float32 and (
        X.size <= FLOAT32_SMALL or summary.max_abs() > FLOAT32_SAFE
    ):
        return X.astype(np.float64)
    return X


def _sample(dask, X, sw_raw, summary, scale, size, rng, cache):
    """``(rows, weights, is_all)``: the sample of the starts, ``size`` draws.
    The chunks' shares and seeds are drawn from ``rng`` in any case (so the
    draws that follow are a lone fit's); in a search the sample is the one
    in ``cache``, drawn once for every candidate."""
    plan = _sample_plan(summary, X.numblocks[0], size, rng)
    sample = None if cache is None else cache.get(SAMPLE_KEY)
    if sample is None:
        sample = _draw_sample(dask, X, sw_raw, scale, plan)
        if cache is not None:
            cache[SAMPLE_KEY] = sample
    return sample


def prepare_search(est, X, sample_weight, random_state, cache):
    """The data pass and the sample of a search on a Dask array, once.

    ``GaussianMixtureSelector`` calls this before its candidates' fits and
    hands them ``cache``: each fit then reads the summary and the sample
    there instead of passing over the data for them, and, its ``random_state``
    being the search's, draws the same seeds for its starts as a fit alone
    (so the hc tree and the k-means centres, cached by seed, are shared too).

    Parameters
    ----------
    est : _BaseMixture
        The searched estimator (its starts set the sample's size).
    X : dask.array.Array of shape (n_samples, n_features)
        The training data.
    sample_weight : dask.array.Array, array-like or None
        Weights of the rows.
    random_state : int or numpy.random.RandomState
        The candidates' seed (a RandomState is copied, not advanced).
    cache : dict
        The cache of starts the search shares between its candidates.

    Returns
    -------
    rows : ndarray of shape (n_sample, n_features)
        The sample's distinct rows, in the dtype the fits compute in.
    weights : ndarray of shape (n_sample,)
        Their weights (how often each was drawn, or the rows' own weights
        when the sample is all the rows of non-zero weight).
    """
    dask, _ = _import_dask()
    X, sw_raw = _fit_input("GaussianMixtureSelector", X, sample_weight)
    summary = _summary(dask, X, sw_raw, True, cache)
    _check_summary(summary, sw_raw is not None)
    scale = 1.0 if sw_raw is None else summary.minpos
    if isinstance(random_state, np.random.RandomState):
        rng = copy.deepcopy(random_state)
    else:
        rng = check_random_state(random_state)
    X = _working_array(X, summary)
    size = _sample_size(est)
    rows, weights, _ = _sample(dask, X, sw_raw, summary, scale, size, rng, cache)
    return rows, weights


def _fit_sample(est, search, X, rows, weights):
    """The in-memory fit on ``rows``, all the rows of X of non-zero weight
    with their ``weights``, with the search's context; ``labels_`` lazy on X.
    Row order does not matter to the in-memory starts (but for 'hc' on data
    with ties), so this is the in-memory fit on X, to rounding."""
    if search:
        est._search_context = search
    est._fit(rows, weights)
    est.labels_ = _lazy_outputs(est, X, False, log_norm=False, labels=True)["labels"]
    return est.labels_


def fit_predict(est, X, sample_weight=None):
    """``est.fit_predict`` on a Dask array (see the module docstring).

    The counterpart of ``_BaseMixture._fit``: the same checks, the engine's
    own EM loop and degeneracy checks, the same fitted attributes (numpy)
    and a lazy ``labels_``.  A search may hand the fit (``_search_context``)
    its seed, the cache of :func:`prepare_search` and partitions of the
    cached sample's rows to start from instead of ``init_params``.
    """
    dask, _ = _import_dask()
    search = est.__dict__.pop("_search_context", None) or {}
    cache = search.get("cache")
    X, sw_raw = _fit_input(type(est).__name__, X, sample_weight)
    n, d = X.shape
    cls = est._model_class()
    summary = _summary(dask, X, sw_raw, cls.needs_scatter, cache)
    _check_summary(summary, sw_raw is not None)
    # the in-memory fit divides the weights by the smallest positive one
    scale = 1.0 if sw_raw is None else summary.minpos
    sw = None if sw_raw is None else sw_raw / scale
    n_support = summary.n_support
    est._check_support(n_support, sw is not None)
    est.n_features_in_ = d
    est.__dict__.pop("feature_names_in_", None)
    est._validate_init(summary)
    out_dtype = X.dtype
    X = _working_array(X, summary)
    row_width = est._fit_row_width(d)
    center = np.asarray(summary.mean, dtype=X.dtype).astype(np.float64)
    scatter = None
    if cls.needs_scatter:
        scatter = summary.scatter / scale
    rows = _Blocks(X, center, row_width).rows
    blocks = _DaskBlocks(X, sw, center, summary.var, rows)
    est._set_reg_covar(summary.var)

    do_init = not (est.warm_start and hasattr(est, "converged_"))
    runs = est._runs() if do_init else [None]
    if do_init and search.get("runs"):
        runs = list(search["runs"])  # the search's own (search='mclust')
    if do_init and search.get("starts"):
        # partitions of the search's sample (labels of its rows)
        if cache is None or SAMPLE_KEY not in cache:
            raise ValueError("Partitions to start from need the search's sample.")
        runs = [("labels", labels) for labels in search["starts"]]
    given = getattr(est, "_init_checked", None)
    all_given = given is not None and all(v is not None for v in given)
    if do_init and all_given:
        runs = runs[:1]  # every run would start from the given parameters
    rng = check_random_state(search.get("random_state", est.random_state))
    screen = len(runs) > 1
    screen_tol = max(est.tol, SCREEN_TOL) if screen else est.tol
    screen_iter = (
        min(est.max_iter, SCREEN_MAX_ITER) if screen_tol > est.tol else est.max_iter
    )
    # the starts' data: a sample, or (given parameters) none
    s_blocks, s_sw, s_scatter, s_support = blocks, None, scatter, n_support
    if do_init and not all_given:
        size = _sample_size(est)
        rows_s, s_sw, is_all = _sample(
            dask, X, sw_raw, summary, scale, size, rng, cache
        )
        if is_all:
            # the sample is every row of non-zero weight, here already: the
            # fit is the in-memory one on them (no draw was taken from rng)
            return _fit_sample(est, search, X, rows_s.astype(out_dtype), s_sw)
        s_blocks, s_scatter = _sample_blocks(
            rows_s, s_sw, center, row_width, cls.needs_scatter
        )
        s_support = rows_s.shape[0]
        # the recording steps of all rows are read from the sample's
        blocks.data_steps = s_blocks.data_steps
    done, errors = [], []
    if screen and do_init and est.verbose == 0:
        # the starts advance together on the sample, as in memory
        with s_blocks.limits():
            done = est._screen(
                est._initial_models(s_blocks, s_sw, rng, s_scatter, runs, cache),
                runs,
                s_blocks,
                s_sw,
                s_scatter,
                screen_tol,
                screen_iter,
                s_support,
                errors,
            )
        runs = []
    for init, method in enumerate(runs):
        est._verbose_init_begin(init)
        t_start = perf_counter()
        try:
            if do_init:
                model, weights = est._initial_model(
                    s_blocks, s_sw, rng, s_scatter, method, cache
                )
                run = _Run(model, weights, -np.inf, method=method)
            else:
                run = _Run(
                    est._get_model(center),
                    est.weights_.astype(np.float64),
                    est.lower_bound_,
                )
            if screen:
                with s_blocks.limits():
                    est._iterate(
                        run, s_blocks, s_sw, s_scatter, screen_tol, screen_iter
                    )
            else:
                est._iterate(run, blocks, None, scatter, est.tol)
        except ValueError as exc:
            if len(runs) == 1:
                raise
            errors.append(exc)
            continue
        if screen:
            run.judge(s_support, s_blocks, est._reg_covar())
        else:
            run.judge(n_support, blocks, est._reg_covar())
        if est.max_iter > 0:
            est._verbose_init_end(
                run.lower_bound, run.converged, perf_counter() - t_start
            )
        done.append(run)
        if screen and do_init and run.reason:
            with s_blocks.limits():
                done += est._repair(
                    run, s_blocks, s_sw, s_scatter, screen_tol, s_support, screen_iter
                )
    if not done:
        raise fit_error(errors)
    if screen:
        # the best start continues on all rows
        best = _best_runs(done, 1)[0]
        done = [best]
        best.lower_bound = -np.inf
        est._iterate(best, blocks, None, scatter, est.tol)
        best.judge(n_support, blocks, est._reg_covar())
    est._keep_best_run(done, out_dtype, stacklevel=4)
    # the final E-step under the published parameters, as the in-memory fit
    ll_sum, entropy_sum, total = _sums(dask, est, X, sw, False)
    est.labels_ = _lazy_outputs(est, X, False, log_norm=False, labels=True)["labels"]
    est.log_likelihood_ = ll_sum / total
    est.responsibility_entropy_ = entropy_sum / total
    est.n_parameters_ = est._n_parameters()
    return est.labels_
