"""The EM engine shared by every mixture in the package.

EM is a sum over data blocks: one pass over the rows, a block at a time, gives
the E-step (log-likelihood and responsibilities) and everything the M-step
needs (the weighted counts ``N_k``, first moments ``S1_k`` and the component
model's own second-order statistics).  Blocks add up, so

* memory stays ``O(block + K d^2)``: no ``n x K x d`` (nor ``n x K``) array;
* ``sample_weight`` is a weight per row;
* blocks run on a few threads (BLAS kept to one thread each), which also
  spreads the element-wise work over the cores.

:class:`_BaseMixture` writes the EM loop once (initialisation, E/M steps,
lower bound, ``n_init``, warm start, convergence, verbose output, a final
E-step so that ``fit_predict(X) == fit(X).predict(X)``) on top of a
*component model*, a :class:`~gmm_estimators._model.ComponentModel`.
Subclasses choose the model class and map its parameters to public
attributes.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import itertools
import math
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor, wait
from numbers import Integral, Real
from time import perf_counter

import numpy as np
from scipy.special import entr
from sklearn import get_config
from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from . import _kernels
from ._covariance import (
    _COMPILED_MAX_FEATURES,
    LOG_2PI,
    TiedCovariance,
    _raise_mm_status,
    _smallest_relative_eigenvalues,
    compiled_em_kind,
)
from ._init import (
    HC_SORTED,
    INIT_METHODS,
    SkippedStart,
    _Canonical,
    _labels_source,
    initial_responsibilities,
    last_hc_responsibilities,
    shared_starts,
)
from ._stats import (  # noqa: F401  (_normalize: imported from here by _ppca)
    COUNT_EPS,
    BlockStats,
    _add_block_stats,
    _add_rows,
    _m_step,
    _normalize,
    absolute_stats,
    relative_stats,
)
from ._utils import (
    DOC_LINK_MODULE,
    DOC_LINK_TEMPLATE,
    max_abs,
    recording_steps,
    threadpool_controller,
    weighted_moments,
)

#: Bytes of block temporaries a thread aims to keep: about four times a
#: core's L2 cache here.  Measured (benchmarks/bench_em.py, 2 cores): larger
#: blocks than the cache pay, as fewer blocks mean fewer Python-level steps
#: holding the GIL between the block threads; 8 MiB against 4 MiB made the
#: full model's feature path 10-25% faster and the others up to 8%.  The
#: threads' blocks together stay within half the data's size, down to
#: _SMALL_BLOCK_BYTES each (so that a fit's memory stays below 1.5 times the
#: data's, and data of up to that size is one block, as before).
_TARGET_BLOCK_BYTES = 8 * 2**20
_SMALL_BLOCK_BYTES = 4 * 2**20
_MIN_ROWS, _MAX_ROWS = 128, 65536
#: The pieces of rows the threads of a pass take in turn (:meth:`_Blocks.run`)
#: shrink as the pass goes on ("guided" scheduling): each holds about the
#: rows left divided by this many times the threads, down to a quarter of a
#: block.  A pass ends when its last piece does, so the first thread to
#: finish waits for the other's last piece: with fixed runs of two or three
#: blocks (four runs a thread) it waited 1.0-1.4 ms of each 5.4 ms pass
#: (full covariances, 100 000 x 16, K=8, float32, 2 cores).  Sharing the
#: rows out as the threads come free (rather than a fixed half each) is
#: what keeps a thread that starts late or stalls (by milliseconds, on a
#: shared machine) from holding up the pass.
_GUIDED_SHARE = 2


_BLAS = {}


def _blas_controller():
    """threadpoolctl's view of the BLAS libraries, built once (it is costly)."""
    if "blas" not in _BLAS:
        _BLAS["blas"] = threadpool_controller().select(user_api="blas")
    return _BLAS["blas"]


_LIMIT_LOCK = threading.Lock()
_LIMIT_STATE = {"depth": 0, "limiter": None}


@contextlib.contextmanager
def _one_blas_thread():
    """Keep BLAS to one thread; thread-safe and re-entrant.

    threadpoolctl's limit saves the current limit on entry and restores it on
    exit, so two threads entering and leaving it interleaved would leave the
    process at one thread. Here the first entrant sets the limit and the last
    to leave restores the original one.
    """
    with _LIMIT_LOCK:
        if _LIMIT_STATE["depth"] == 0:
            _LIMIT_STATE["limiter"] = _blas_controller().limit(limits=1)
        _LIMIT_STATE["depth"] += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT_STATE["depth"] -= 1
            if _LIMIT_STATE["depth"] == 0:
                _LIMIT_STATE["limiter"].restore_original_limits()
                _LIMIT_STATE["limiter"] = None


_POOL_LOCK = threading.Lock()
_POOL = {"executor": None}


def _block_pool():
    """The process's pool of block threads, started once and reused: starting
    threads for every pass cost more than small passes themselves."""
    with _POOL_LOCK:
        if _POOL["executor"] is None:
            _POOL["executor"] = ThreadPoolExecutor(
                max(1, (os.cpu_count() or 1) - 1), thread_name_prefix="gmm-blocks"
            )
        return _POOL["executor"]


def _forget_pool():
    # a forked child has the pool object but not its threads
    _POOL["executor"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _blas_threads():
    """Threads the BLAS library may use now (the user's limits respected),
    or those it could use when the fit in progress in this thread began
    (:func:`fit_threads`)."""
    threads = getattr(_FIT_STATE, "threads", None)
    if threads is not None:
        return threads
    counts = [lib.num_threads for lib in _blas_controller().lib_controllers]
    return max(counts) if counts else 1


_FIT_STATE = threading.local()


@contextlib.contextmanager
def fit_threads():
    """A fit's threads: the block threads as many as BLAS could use on
    entry (the user's limits respected), BLAS itself kept to one thread
    until the fit ends; re-entrant.

    OpenBLAS's threads spin for about 0.1 s after a product they shared
    before they sleep.  Between the block passes a fit makes a few products
    large enough for BLAS to share (data moments, initialisation); its
    spinning threads then took the cores from the block threads of the next
    passes.  Measured (2 cores, full covariances, 100 000 x 16, K=8): the
    first three or four passes of every fit stalled for 4 ms at a time, 20
    ms a pass instead of 11-13; with BLAS kept to one thread throughout, none
    did.
    """
    if getattr(_FIT_STATE, "threads", None) is not None:
        yield
        return
    _FIT_STATE.threads = _blas_threads()
    try:
        with _one_blas_thread():
            yield
    finally:
        _FIT_STATE.threads = None


class _Blocks:
    """Runs a function over the row blocks of X, on a few threads.

    Each block is handed to the function centred at ``center`` and augmented
    with a column of ones (``xa = [X[s:e] - center, 1]``), in a buffer the
    thread reuses.  Each thread has its own accumulator and workspace; the
    accumulators come back in thread order, so results are deterministic.
    """

    #: The features' recording steps (:func:`recording_steps`) for the
    #: degeneracy check, None for none; the fit sets them.
    data_steps = None

    def __init__(self, X, center, row_width):
        self.X = X
        self.n, self.d = X.shape
        self.center = np.asarray(center, dtype=X.dtype)
        itemsize = X.dtype.itemsize
        per_row = itemsize * (self.d + 1 + row_width)
        threads = _blas_threads()
        share = X.nbytes // (2 * threads)
        rows = min(_TARGET_BLOCK_BYTES, max(_SMALL_BLOCK_BYTES, share)) // per_row
        memory_rows = get_config()["working_memory"] * 2**20 // per_row
        rows = int(np.clip(min(rows, memory_rows), _MIN_ROWS, _MAX_ROWS))
        self.rows = min(rows, max(self.n, 1))
        self.n_blocks = -(-self.n // self.rows)
        #: threads the BLAS library allowed when the blocks were made (the
        #: stacked runs split their one block's rows over as many)
        self.max_threads = threads
        self._spread = None
        self._spread_lock = threading.Lock()
        self.n_threads = 1
        if self.n_blocks > 1:
            self.n_threads = min(threads, self.n_blocks)
        #: the runs of blocks that the threads share out (see :meth:`run`),
        #: each with its own accumulator
        self.runs = _guided_runs(self.n, self.rows, self.n_threads)

    def limits(self):
        """Context that keeps BLAS to one thread while blocks run.

        Blocks run in parallel on ``n_threads`` Python threads; the products
        inside one block are too small for BLAS threads to pay (on a single
        block, two BLAS threads were measured several times slower).
        """
        return _one_blas_thread()

    def spread(self):
        """``max |X - center|`` per feature, computed once, on the first
        call (from any block thread): the compiled E-step's rounding check
        takes it for every block (a bound of each block's own, one pass for
        the fit instead of one a block a pass, and none for the models
        without the check)."""
        with self._spread_lock:
            if self._spread is None:
                self._spread = _kernels.spread_of(self.X, self.center)
        return self._spread

    def whole(self):
        """All rows as one block ``[X - center, 1]`` (for data of one block:
        the stacked runs keep it for all their iterations)."""
        xa = np.empty((self.n, self.d + 1), dtype=self.X.dtype)
        np.subtract(self.X, self.center, out=xa[:, :-1])
        xa[:, -1] = 1.0
        return xa

    def run(self, fn, make_acc, centred=True):
        """Call ``fn(acc, start, stop, xa, ws)`` on every block; return the
        sum of the accumulators (:func:`_sum_accs`).  With ``centred=False``,
        ``fn`` gets the block's rows of ``X`` as they are (a view) in place
        of ``xa``.

        The rows are cut into :attr:`runs` of consecutive blocks of at most
        :attr:`rows` rows that shrink towards the end of the pass
        (:func:`_guided_runs`), each with its own accumulator; the threads
        take the next run as they come free, so a thread that starts late
        or stalls (as the scheduler's threads do, by milliseconds, on a
        shared machine) leaves its runs to the others instead of holding up
        the pass, and the last runs are short.  The accumulators are summed
        in run order (:func:`_sum_accs`, one run at a time), so results do
        not depend on which thread did what; a run's accumulator is made
        when a thread takes the run and added as soon as the runs before it
        are, so that a pass holds about one accumulator per thread, not one
        per run (the full model's at d = 784, K = 10: 49 MB each, 22 runs:
        a pass had peaked at 1.1 GB for 313 MB of data).
        """
        T = self.n_threads
        plan = self.runs
        slots = len(plan)
        taken = itertools.count()  # next() on it is atomic under the GIL
        finished = {}  # accumulators of runs done before an earlier run
        state = {"sum": None, "next": 0}
        lock = threading.Lock()

        def add(slot, acc):
            """Add the accumulator of run ``slot``, and those it unblocks,
            to the sum of the runs before it."""
            with lock:
                finished[slot] = acc
                while state["next"] in finished:
                    acc = finished.pop(state["next"])
                    total = state["sum"]
                    state["sum"] = acc if total is None else _sum_accs([total, acc])
                    state["next"] += 1

        def worker(t):
            if centred:
                buf = np.empty((self.rows, self.d + 1), dtype=self.X.dtype)
                buf[:, -1] = 1.0
            ws = {}
            while (slot := next(taken)) < slots:
                acc = make_acc()
                for start, stop in plan[slot]:
                    if centred:
                        xa = buf[: stop - start]
                        np.subtract(self.X[start:stop], self.center, out=xa[:, :-1])
                    else:
                        xa = self.X[start:stop]
                    fn(acc, start, stop, xa, ws)
                add(slot, acc)

        if T == 1:
            worker(0)
            return state["sum"]
        # the calling thread works too, with the pool's others
        futures = [_block_pool().submit(worker, t) for t in range(1, T)]
        try:
            worker(0)
        finally:
            # wait for every share before the accumulators are used or an
            # error propagates
            wait(futures)
        for future in futures:
            future.result()
        return state["sum"]


def _guided_runs(n, rows, threads):
    """The runs of blocks a pass shares out among ``threads`` threads: a
    list of runs, each a list of ``(start, stop)`` blocks, covering
    ``range(n)`` in order.

    The blocks are those of ``rows`` rows (the last one shorter), but
    towards the end of the pass, where each run holds about the rows left
    divided by :data:`_GUIDED_SHARE` times the threads: whole blocks while
    that is at least one, then one piece of a block, of at least a quarter
    of ``rows`` (and :data:`_MIN_ROWS`), and the rest of its block where at
    most half that would be left.  No piece crosses a multiple of ``rows``,
    so chunks of a Dask array cut as the runs are see the same blocks
    (:func:`~gmm_estimators._stats._rows_stats`).  With one thread, one run
    of whole blocks.  The plan depends on ``n``, ``rows`` and ``threads``
    only, so a pass sums its accumulators in the same order whichever
    thread took which run.

    Examples
    --------
    >>> _guided_runs(10, 4, 1)
    [[(0, 4), (4, 8), (8, 10)]]
    >>> [[stop - start for start, stop in run] for run in _guided_runs(10_000, 1000, 2)]
    [[1000, 1000], [1000, 1000], [1000], [1000], [1000], [750], [250], [500], [500], [250], [250], [250], [250]]
    """
    if n <= 0:
        return [[(0, 0)]]
    if threads <= 1:
        return [[(s, min(s + rows, n)) for s in range(0, n, rows)]]
    smallest = min(rows, max(_MIN_ROWS, rows // 4))
    plan, start = [], 0
    while start < n:
        left = n - start
        size = left // (_GUIDED_SHARE * threads)
        if size >= rows and start % rows == 0:  # whole blocks
            count = size // rows
            plan.append(
                [
                    (s, min(s + rows, n))
                    for s in range(start, start + count * rows, rows)
                ]
            )
            start = plan[-1][-1][1]
            continue
        end_of_block = min(n, (start // rows + 1) * rows)
        stop = min(end_of_block, start + max(size, smallest))
        if end_of_block - stop <= smallest // 2:  # no sliver left behind
            stop = end_of_block
        plan.append([(start, stop)])
        start = stop
    return plan


def _total(blocks, sample_weight):
    """The weight of the rows of ``blocks``."""
    return blocks.n if sample_weight is None else float(sample_weight.sum())


def fit_blocks(X, sample_weight, model_cls, row_width):
    """The blocks of a fit, centred at the weighted data mean, and the data
    scatter matrix when the model needs it (else None), in one pass."""
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    if model_cls.needs_scatter:
        center, var, scatter = weighted_moments(X, weights, scatter=True)
    else:
        (center, var), scatter = weighted_moments(X, weights), None
    blocks = _Blocks(X, center, row_width)
    blocks.data_var = var
    return blocks, scatter


#: The starts that put every row in a component of its own choosing (a
#: partition, or responsibilities of every row): with one component, each
#: gives every row to it, and the fit's first M-step is the fit's (the
#: one-row starts, 'k-means++' and 'random_from_data', reach it one step
#: later).
WHOLE_STARTS = ("hc", "kmeans", "random")

#: With several runs, each first runs to this tolerance (or ``tol`` if looser)
#: and only the best :data:`SCREEN_KEEP` continue to ``tol``.
SCREEN_TOL = 1e-4
SCREEN_KEEP = 3
#: A screening run stops after this many iterations even when its lower
#: bound still moves by more than :data:`SCREEN_TOL` (the run is ranked where
#: it stands, and goes on to ``tol`` if it is kept).  Over the 2028 cells of
#: the mclust panels (benchmarks/selector_mclust_results.md) the median run
#: took 11 screening iterations and the 95th percentile 58; a few crawled to
#: ``max_iter``.  Ranked at 150 iterations, every cell kept a run that ends at
#: its best optimum (at 100, three cells did not).
SCREEN_MAX_ITER = 150
#: Above this many rows of non-zero weight, the screening runs on a weighted
#: subsample of this many rows and only the best run continues on all rows.
SCREEN_ROWS = 4096
#: Where every kept screened run is singular, the best goes on to ``tol``
#: for at most this many more steps (:func:`_regular_if_any`).
SINGULAR_MORE_ITER = 20
#: A degenerate run is restarted from split components at most this often.
REPAIRS = 3
#: On a subsample the ranking of the screened runs is not their ranking on
#: all rows: the best run races on all rows, to the screening tolerance,
#: against at most this many of the next :data:`SCREEN_KEEP` regular runs
#: that end at another optimum of the subsample (another partition of its
#: rows, :func:`_other_optima`), and only the leader goes on to ``tol``.
#: With the race, 2 of the 4 cells of the flow-cytometry sets (9083 and 6809
#: rows) that were worse than mclust's in the fourteen-model panel are not,
#: for 4-15% more time on those sets and on bench_selector.py's 20 000 rows;
#: continuing both runs to ``tol`` cost 45% more there.
SUBSAMPLED_OTHERS = 1
#: Two partitions are the same up to the names of their parts when all but
#: this fraction of the rows' weight falls on one matched pair of parts.
SAME_PARTITION = 0.99


class _Squarem:
    """EM on one run accelerated by SQUAREM (Varadhan & Roland, 2008).

    EM converges linearly, and slowly where components overlap: near the
    optimum each step gains a fixed fraction of the last (0.97-0.99 measured
    on over-fitted candidates).  SQUAREM takes two EM steps, from their
    differences ``r`` and ``v`` (first and second) an extrapolated point
    ``t0 - 2 a r + a^2 v`` with ``a = -|r| / |v|``, and keeps it only where
    its log-likelihood is at least that of the last EM step; otherwise a
    shorter step, then plain EM.  Every point it keeps is at least as good as
    the EM step it replaces, so the log-likelihood still never decreases.

    The extrapolation is on the E-step's statistics in their
    model-independent form (counts, first moments and second moments about
    the centre, :meth:`~gmm_estimators._model.ComponentModel.absolute_stats`),
    where EM is a fixed-point map for every covariance model alike; the
    model's own M-step turns the extrapolated statistics into parameters (and
    so keeps its constraints).  An E-step is an iteration (``n_iter``,
    ``max_iter``); ``history`` has the lower bound of every point kept.  The
    run stops when the lower bound moves by less than ``tol`` from the first
    point of one cycle to the first of the next (a single EM step's change,
    plain EM's rule, stops a crawling run as far from its optimum as plain
    EM: measured, no closer at all).
    """

    def __init__(self, est, run, blocks, sample_weight, scatter, tol, max_iter):
        self.est, self.run, self.blocks = est, run, blocks
        self.sw, self.scatter, self.tol, self.max_iter = (
            sample_weight,
            scatter,
            tol,
            max_iter,
        )
        self.t_iter = perf_counter()
        self.cycle_start = run.lower_bound
        self.total = _total(blocks, sample_weight)

    def _estep(self, model, weights):
        return pass_stats(self.blocks, model, weights, self.sw)

    def _mstep(self, model, stats):
        new, nk = _m_step(model, stats, self.est._reg_covar(), self.scatter)
        return new, nk / nk.sum()

    def _keep(self, model, weights, stats, first):
        """Record the point ``(model, weights)`` whose E-step is ``stats``
        and move the run to its M-step; True when the run stops here: at the
        ``first`` point of a cycle, when the lower bound gained less than
        ``tol`` since the first point of the previous one."""
        run = self.run
        prev = run.lower_bound
        run.model, run.weights = self._mstep(model, stats)
        run.lower_bound = stats.lower_bound
        run.history.append(run.lower_bound)
        self.t_iter = self.est._verbose_iter(
            run.n_iter, run.lower_bound - prev, self.t_iter
        )
        if first:
            limit = tol_limit(
                self.tol, run.lower_bound, self.total, self.est._tol_relative()
            )
            if abs(run.lower_bound - self.cycle_start) < limit:
                run.converged = True
                return True
            self.cycle_start = run.lower_bound
        return run.n_iter >= self.max_iter

    def _count(self):
        self.run.n_iter += 1

    def iterate(self):
        """Cycles of SQUAREM until the run stops."""
        run = self.run
        model, weights = run.model, run.weights
        stats = None  # the E-step of (model, weights), when already taken
        while run.n_iter < self.max_iter:
            # two EM steps from (model, weights): points t0, t1, t2
            points = []
            for i in range(3):
                if stats is None:
                    stats = self._estep(model, weights)
                    self._count()
                points.append((model, weights, stats))
                if self._keep(model, weights, stats, first=i == 0):
                    return
                model, weights, stats = run.model, run.weights, None
                if run.n_iter >= self.max_iter:
                    break
            if len(points) < 3:
                return
            last_ll = points[-1][2].lower_bound
            found = self._extrapolate(points, last_ll)
            if found is None:
                continue  # plain EM from the M-step of t2 (the run's state)
            model, weights, stats = found
            # the extrapolated point is kept as the start of the next cycle
        if stats is not None:  # max_iter reached on an extrapolated point
            self._keep(model, weights, stats, first=True)

    def _extrapolate(self, points, last_ll):
        """The extrapolated point ``(model, weights, stats)`` of the cycle's
        three points, whose log-likelihood is at least ``last_ll`` (the last
        EM step's), or None."""
        (m0, _, s0), (m1, _, s1), (m2, _, s2) = points
        like = absolute_stats(m2, s2)
        t0, t1, t2 = (
            absolute_stats(m0, s0).to_vector()[:-2],
            absolute_stats(m1, s1).to_vector()[:-2],
            like.to_vector()[:-2],
        )
        r = t1 - t0
        v = t2 - 2.0 * t1 + t0
        with np.errstate(all="ignore"):
            alpha = -np.linalg.norm(r) / np.linalg.norm(v)
        if not np.isfinite(alpha) or alpha > -1.0 - SQUAREM_MIN_STEP:
            return None
        for _ in range(SQUAREM_BACKTRACKS):
            vec = np.concatenate([t0 - 2.0 * alpha * r + alpha**2 * v, [0.0, 1.0]])
            candidate = self._point(m2, BlockStats.from_vector(vec, like=like))
            if candidate is not None:
                if self.run.n_iter >= self.max_iter:
                    return None
                model, weights = candidate
                stats = self._estep(model, weights)
                self._count()
                if np.isfinite(stats.ll) and stats.lower_bound >= last_ll:
                    return model, weights, stats
            alpha = 0.5 * (alpha - 1.0)
            if alpha > -1.0 - SQUAREM_MIN_STEP:
                return None
        return None

    def _point(self, reference, absolute):
        """The parameters of extrapolated statistics, or None where they are
        not those of a mixture (a count not positive, a covariance not
        positive definite)."""
        if not np.all(absolute.nk > 0):
            return None
        try:
            with np.errstate(all="ignore"):
                rel = relative_stats(reference, absolute)
                model, weights = self._mstep(reference, rel)
        except (ValueError, np.linalg.LinAlgError):
            return None
        if not all(np.all(np.isfinite(a)) for a in (model.means, weights)):
            return None
        return model, weights


#: SQUAREM tries an extrapolation, then halves it towards plain EM, at most
#: this many times in all before the cycle falls back to the EM step.
SQUAREM_BACKTRACKS = 2
#: An extrapolation whose step length ``-alpha`` is within this of 1 is the
#: EM step itself: not tried.
SQUAREM_MIN_STEP = 1e-3


class _Run:
    """The state of one EM run: parameters, lower bound and its history."""

    def __init__(self, model, weights, lower_bound, method=None):
        self.model, self.weights, self.lower_bound = model, weights, lower_bound
        #: the start it came from (an ``init_params`` name), where known
        self.method = method
        #: its place among the fit's starts, and the line ``verbose`` prints
        #: before its steps where it goes on from elsewhere
        self.index = None
        self.label = None
        self.history = []
        self.n_iter = 0
        self.converged = False
        self.reason = ""
        #: whether a component is singular but for ``reg_covar`` (one of the
        #: reasons of :func:`degeneracy`; see :func:`_regular_if_any`)
        self.singular = False
        self.key = (False, -np.inf)

    def judge(self, n_support, blocks, reg_covar):
        """Flag degeneracy (by the variances and recording steps of the data
        of ``blocks``); the run's rank: regular first, then lower bound."""
        checks = _component_checks(
            self.model,
            self.weights,
            n_support,
            blocks.data_var,
            reg_covar,
            blocks.data_steps,
        )
        self.reason = "" if checks is None else _degeneracy_reason(*checks)
        self.singular = checks is not None and _is_singular(checks[2])
        self.key = (not self.reason, self.lower_bound)


#: Stacked runs (:func:`iterate_stacked`) go in groups whose E-step
#: temporaries hold at most about this many elements (32 MiB in float64).
STACK_ELEMENTS = 2**22


def stackable(model, blocks):
    """Whether several EM runs of ``model``'s class on ``blocks`` can be
    advanced together (:func:`iterate_stacked`): data of one block, and a
    model that can be stacked."""
    return blocks.n_blocks == 1 and model.stack_class is not None


def fit_reg_covar(reg_covar, data_var, relative):
    """The regularisation a fit adds to its covariances' diagonals:
    ``reg_covar``, or with ``relative`` (``reg_covar_relative``) at most
    ``reg_covar`` times the smallest positive variance of the features
    ``data_var`` too: ``reg_covar * min(1, v)``.  So on data of small scale a
    fit of ``c X`` is the fit of ``X`` scaled by ``c``, where an absolute
    ``1e-10`` swamped the features (iris in units 1e-5 times its own made the
    selector choose EII,2 instead of VEV,2); on data of larger scale it stays
    ``reg_covar``, already negligible there, and not a larger one that would
    swamp a feature's small values (R's ``pressure`` spans 2e-4 to 806).

    Examples
    --------
    >>> fit_reg_covar(1e-10, [4.0, 0.25, 0.0], relative=True)
    2.5e-11
    >>> fit_reg_covar(1e-10, [4.0, 9.0], relative=True)
    1e-10
    >>> fit_reg_covar(1e-6, [4.0, 0.25], relative=False)
    1e-06
    """
    if not relative:
        return reg_covar
    var = np.asarray(data_var, dtype=np.float64)
    positive = var[var > 0]
    smallest = positive.min() if positive.size else 1.0
    return float(reg_covar * min(1.0, smallest))


def _met_tol(run, tol, total, relative):
    """Whether the last step of ``run`` (continued from a looser tolerance)
    changed its lower bound by less than ``tol`` (:func:`tol_limit`).  Not
    where the run goes on from another set of rows (a screening subsample:
    its lower bound is reset to -inf there, and its steps' changes are the
    subsample's)."""
    if (
        len(run.history) < 2
        or not np.isfinite(run.lower_bound)
        or run.lower_bound != run.history[-1]
    ):
        return False
    change = run.history[-1] - run.history[-2]
    return bool(abs(change) < tol_limit(tol, run.history[-1], total, relative))


def tol_limit(tol, lower_bound, total, relative):
    """The change of the mean lower bound below which a run stops.

    ``tol`` (scikit-learn's rule); with ``relative`` (``tol_relative``), at
    most ``tol * (|lower_bound| + 1 / total)`` too, with ``total`` the rows'
    weight: R mclust's rule, a change of the total log-likelihood ``L``
    below ``tol * (1 + |L|)``, which is the tighter one where the mean
    log-likelihood is smaller than 1 in magnitude (densities near 1: data
    of small scale, where EM that crawls stopped short of mclust's fits).
    """
    if not relative:
        return tol
    return tol * np.minimum(1.0, np.abs(lower_bound) + 1.0 / total)


def iterate_stacked(
    runs, blocks, sample_weight, scatter, reg_covar, tol, max_iter, relative=False
):
    """EM iterations of several runs on small data, advanced together.

    Each run stops as :meth:`_BaseMixture._iterate` would stop it alone (its
    lower bound changes by less than ``tol``, or ``max_iter`` steps in all) and
    ends with the same parameters, lower bounds and history, up to rounding:
    the runs' components are stacked into one model (``stack_class``), so an
    iteration of all runs is one E-step over the data and one M-step: the
    stacked model's own when its M-step is separable, the class's batched
    ``m_step_stacked`` otherwise (each run's own M-step when a class has
    none, or to find the run whose component collapsed).
    On small data the cost of an iteration is the number of numpy calls,
    which stacking shares among the runs.

    ``blocks`` must hold one block (:func:`stackable`).  Returns one entry
    per run: None, or the ``ValueError`` that ended it (a collapsed
    component), as the run alone would have raised it.
    """
    errors = [None] * len(runs)
    if not runs:
        return errors
    n = blocks.n
    xa = blocks.whole()
    sw = sample_weight
    total = _total(blocks, sw)
    K = runs[0].model.n_components
    per_run = max(1, runs[0].model.row_width(K, blocks.d) * n)
    group = max(1, STACK_ELEMENTS // per_run)
    rows = _StackedRows(xa, sw, blocks.max_threads)
    kind = _compiled_kind(runs[0].model, xa.dtype)
    for start in range(0, len(runs), group):
        part = runs[start : start + group]
        if kind is not None and _compiled_pays(len(part), K, n, blocks.d):
            errors[start : start + group] = _compiled_group(
                part, kind, rows, total, scatter, reg_covar, tol, max_iter, relative
            )
            continue
        errors[start : start + group] = _iterate_group(
            part, rows, total, scatter, reg_covar, tol, max_iter, relative
        )
    return errors


#: The compiled EM loop runs one run of ``K`` components on ``n`` rows of
#: ``d`` features where ``K n (d + 1)^2`` is at most this (and ``K n`` below
#: :data:`THREAD_ELEMENTS`): its flops grow with ``d^2`` along the rows where
#: numpy's loop runs BLAS products, whose fixed cost the loop saves on small
#: data.  One run of 60 iterations (2 cores, AMD EPYC), numpy's time over
#: the loop's: VEV with d = 12, n = 2000, K = 9 (3.0e6) 1.09, at n = 4000, K
#: = 5 (3.4e6) 0.84; EII with d = 12, n = 2000, K = 9 (3.0e6) 0.89; VEV with
#: d = 16, n = 2000, K = 9 (5.2e6) 0.75; EEV with d = 16, n = 1000, K = 9
#: (2.6e6) 1.16; EVE with d = 8, n = 2000, K = 5 (0.8e6) 2.3.  Stacked runs
#: (several starts, all ``S K n`` below :data:`THREAD_ELEMENTS`) take the
#: loop whatever their work: numpy's loop pays its calls and its batched
#: M-steps once a group there, and the loop was the faster on every data
#: set measured (the fourteen-model search on the wine data, d = 13, whose
#: groups of thirteen starts reach 4e6: 7.4 s with the loop for all of them,
#: 8.1 s with this limit applied to them too, 10.7 s with numpy's loop).
COMPILED_EM_WORK = 4_000_000


def _compiled_pays(n_runs, n_components, n_rows, n_features):
    """Whether the compiled EM loop runs these runs (:data:`COMPILED_EM_WORK`)."""
    size = n_runs * n_components * n_rows
    if size >= THREAD_ELEMENTS:
        return False
    return n_runs > 1 or size * (n_features + 1) ** 2 <= COMPILED_EM_WORK


#: Whether scikit-learn's four models (full, tied, diag, spherical) take the
#: compiled EM loop too (their own compilation of it, without mclust's
#: M-steps: :func:`_kernels._compiled_em_runs_basic`, 7 s at the first use
#: after an install, where the loop with mclust's models takes 35 s).  Off,
#: they keep numpy's loop (the search over the four types on faithful:
#: 0.60 s with the loop, 1.4 s without).
COMPILED_EM_SKLEARN = True


def _compiled_kind(model, dtype):
    """The kind of the compiled EM loop (:func:`_kernels.em_runs`) for runs
    of ``model``'s class on rows of ``dtype``, or None: numba installed,
    float64 rows, at most :data:`_COMPILED_MAX_FEATURES` features and a
    class the loop knows (:func:`compiled_em_kind`; scikit-learn's four only
    with :data:`COMPILED_EM_SKLEARN`)."""
    if (
        not _kernels.enabled()
        or dtype != np.float64
        or model.n_features > _COMPILED_MAX_FEATURES
        or model.__dict__.get("_reference")
    ):
        return None
    kind = compiled_em_kind(type(model))
    if kind is not None and kind < 4 and not COMPILED_EM_SKLEARN:
        return None
    return kind


def _compiled_group(
    runs, kind, rows, total, scatter, reg_covar, tol, max_iter, relative
):
    """:func:`_iterate_group` in one compiled call (:func:`_kernels.em_runs`):
    each run to its end, as the numpy loop ends it, up to rounding.  A run
    whose step fails there (a component collapses) goes on in the numpy
    loop from where it was, which meets the failure again and says why."""
    model = runs[0].model
    cls, center = type(model), model.center
    K, d = model.n_components, model.n_features
    S = len(runs)
    means = np.empty((S, K, d))
    cov = np.empty((S, K, d, d))
    for j, run in enumerate(runs):
        run.converged = False
        means[j] = run.model.means_centered
        cov[j] = cls.dense_covariances(run.model.covariances, K, d)
    weights = np.array([run.weights for run in runs], dtype=np.float64).reshape(S, K)
    lower = np.array([run.lower_bound for run in runs], dtype=np.float64)
    n_iter = np.array([run.n_iter for run in runs], dtype=np.int64)
    # the common orientation of EVE and VVE that the previous M-step found
    # (and the shapes of mclust's M-step for them, which it keeps too)
    orientation = np.zeros((S, d, d))
    has_orientation = np.zeros(S, dtype=bool)
    mm_shapes = np.ones((S, K, d))
    mclust_path = kind >= _kernels.EM_KINDS["EVE-mclust"]
    for j, run in enumerate(runs):
        previous = getattr(run.model, "_orientation", None)
        shapes = getattr(run.model, "_mm_shapes", None)
        if mclust_path and (previous is None or shapes is None):
            continue  # (mclust's M-step then starts from the identity)
        if previous is not None and np.shape(previous) == (d, d):
            orientation[j] = previous
            has_orientation[j] = True
            if mclust_path:
                mm_shapes[j] = shapes
    sw = rows.sw
    x = np.ascontiguousarray(rows.xa[:, :-1])
    w = np.empty(0) if sw is None else np.ascontiguousarray(sw, dtype=np.float64)
    scatter_ = np.zeros((d, d)) if scatter is None else scatter
    eps = 10 * np.finfo(np.float64).eps

    def em_runs(part):
        """The compiled loop on the runs ``part`` (a slice): the arrays'
        views, updated in place."""
        return _kernels.em_runs(
            x,
            w,
            kind,
            means[part],
            cov[part],
            weights[part],
            lower[part],
            n_iter[part],
            max_iter,
            tol,
            relative,
            total,
            reg_covar,
            scatter_,
            eps,
            LOG_2PI,
            orientation[part],
            has_orientation[part],
            mm_shapes[part],
        )

    threads = _run_threads(S, rows.threads, K * x.shape[0] * (d + 1) ** 2)
    if threads == 1:
        status, steps, hist = em_runs(slice(0, S))
        hist = [hist[j, : steps[j]] for j in range(S)]
    else:
        # each run alone, as the threads come free: a run's arithmetic
        # does not depend on the others', so the bits do not depend on
        # the threads
        done = [None] * S
        taken = itertools.count()  # next() on it is atomic under the GIL

        def worker():
            while (j := next(taken)) < S:
                status_j, steps_j, hist_j = em_runs(slice(j, j + 1))
                done[j] = (status_j[0], steps_j[0], hist_j[0, : steps_j[0]])

        futures = [_block_pool().submit(worker) for _ in range(threads - 1)]
        try:
            worker()
        finally:
            wait(futures)
        for future in futures:
            future.result()
        status = np.array([r[0] for r in done])
        steps = np.array([r[1] for r in done])
        hist = [r[2] for r in done]
    leftover = []
    errors = [None] * S
    for j, run in enumerate(runs):
        if steps[j]:
            run.history.extend(hist[j].tolist())
            try:
                model = cls(
                    means[j] + center,
                    center,
                    covariances=cls.covariances_from_dense(cov[j]),
                    reg_covar=reg_covar,
                )
            except ValueError as exc:
                # the loop's last covariance passed its own factorisation
                # but not numpy's (a component at the edge of collapse: EVV
                # with six components on R's morley): the run has collapsed
                errors[j] = exc
                continue
            run.model = model
            if has_orientation[j]:
                run.model._orientation = orientation[j]
                if mclust_path:
                    run.model._mm_shapes = mm_shapes[j]
            run.weights = weights[j]
            run.lower_bound = float(lower[j])
            run.n_iter = int(n_iter[j])
        if status[j] in (_kernels.EM_FAILED, _kernels.EM_UNSTARTED):
            leftover.append(j)
        elif status[j] < _kernels.EM_MM_FAILED:
            run.converged = bool(status[j] == _kernels.EM_CONVERGED)
    for j in np.flatnonzero(status > _kernels.EM_MM_FAILED):
        # mclust's M-step failed: numpy's loop, from where the run stands,
        # would only repeat that M-step (up to MM_MAX_ITER inner steps) to
        # raise its error
        try:
            _raise_mm_status(int(status[j] - _kernels.EM_MM_FAILED))
        except ValueError as exc:
            errors[j] = exc
    if leftover:
        failed = _iterate_group(
            [runs[j] for j in leftover],
            rows,
            total,
            scatter,
            reg_covar,
            tol,
            max_iter,
            relative,
        )
        for j, error in zip(leftover, failed, strict=True):
            errors[j] = error
    return errors


#: The runs of a group go to the compiled loop one by one on several
#: threads (the block threads and this one, as many as BLAS could use) when
#: there are at least two and a run's iteration (K n (d + 1)^2) is at least
#: this much work: below, a thread's hand-over and the loop's set-up for
#: each run cost more than the share they save.
RUN_THREADS_WORK = 2**14


def _run_threads(n_runs, threads, work):
    """The threads that share out ``n_runs`` runs of the compiled loop
    (see :data:`RUN_THREADS_WORK`); one from a block thread itself."""
    if n_runs < 2 or work < RUN_THREADS_WORK or _in_block_thread():
        return 1
    return max(1, min(int(threads), n_runs))


def _in_block_thread():
    """Whether this thread is one of the block pool's (which must not wait
    on the pool)."""
    return threading.current_thread().name.startswith("gmm-blocks")


#: The stacked runs' E-step goes over pieces of their block whose
#: log-density array (runs x components x rows) holds about this many
#: elements (512 KiB in float64), so that its passes (exponentials, sums)
#: stay in a core's cache: on 3721 rows, 13 runs of 10 components, pieces of
#: this size made the spherical and diagonal E-steps 1.7-2x faster on one
#: thread (and changed nothing for the tied and full models).
PIECE_ELEMENTS = 2**16
#: ... but a piece has at least this many rows (fewer cost more in calls).
PIECE_MIN_ROWS = 256
#: The pieces are shared out among the block threads when the E-step's
#: array holds at least this many elements (below, a thread's hand-over
#: costs more than its share: the data sets of a few hundred rows).
THREAD_ELEMENTS = 2**18


class _StackedRows:
    """The one block of stacked runs (``xa``, with row weights ``sw`` or
    None), cut into pieces for their E-step: the pieces, their weights and
    their workspaces are made once for each size and kept (a piece's
    second-moment features are kept in its workspace across iterations)."""

    def __init__(self, xa, sw, threads):
        self.xa, self.sw = xa, sw
        self.w = None if sw is None else sw.astype(xa.dtype, copy=False)
        self.threads = max(1, int(threads))
        self._pieces = {}

    def pieces(self, width):
        """The pieces for an E-step array of ``width`` elements per row."""
        n = self.xa.shape[0]
        rows = max(PIECE_MIN_ROWS, PIECE_ELEMENTS // max(width, 1))
        count = max(1, min(n // rows, n // PIECE_MIN_ROWS))
        if count not in self._pieces:
            edges = np.linspace(0, n, count + 1).astype(int)
            made = []
            for start, stop in zip(edges[:-1], edges[1:], strict=True):
                part = slice(start, stop)
                made.append(
                    (
                        self.xa[part],
                        None if self.sw is None else self.sw[part],
                        None if self.w is None else self.w[part],
                        {},
                    )
                )
            self._pieces[count] = made
        return self._pieces[count]

    def new_model(self):
        """Forget what the workspaces hold for the previous stacked model."""
        for made in self._pieces.values():
            for piece in made:
                ws = piece[3]
                for key in [k for k in ws if not k.startswith("block:")]:
                    del ws[key]

    def estep(self, stacked, K, log_w):
        """:func:`_stacked_estep` over the pieces, summed in their order:
        the first thread (this one) takes pieces 0, T, 2T..., the block
        threads the others."""
        n = self.xa.shape[0]
        width = stacked.n_components
        pieces = self.pieces(width)
        if len(pieces) == 1:  # small data: the whole block, on this thread
            return _stacked_estep(stacked, K, log_w, *pieces[0])
        T = 1
        if width * n >= THREAD_ELEMENTS:
            T = min(self.threads, len(pieces))

        def share(t):
            total = None
            for xa, sw, w, ws in pieces[t::T]:
                part = _stacked_estep(stacked, K, log_w, xa, sw, w, ws)
                total = part if total is None else _add_estep(total, part)
            return total

        if T == 1:
            return share(0)
        futures = [_block_pool().submit(share, t) for t in range(1, T)]
        try:
            total = share(0)
        finally:
            wait(futures)
        for future in futures:
            total = _add_estep(total, future.result())
        return total


def _add_estep(total, part):
    """Sum two :func:`_stacked_estep` results (the first in place)."""
    ll, moments, stats = total
    ll_p, moments_p, stats_p = part
    for key, value in stats_p.items():
        stats[key] += value
    return ll + ll_p, moments + moments_p, stats


def _stacked_estep(stacked, K, log_w, xa, sw, w, ws):
    """The E-step of the stacked runs on the rows ``xa`` (their weights
    ``sw`` or None, and ``w``, the same in ``xa``'s dtype): their
    log-likelihoods (shape (S,)), first moments and counts (``resp @ xa``,
    shape (S * K, d + 1)) and the model's statistics."""
    b = xa.shape[0]
    lp, cache = stacked.log_prob(xa, ws)
    S = lp.shape[0] // K
    lp = lp.reshape(S, K, b)
    if _kernels.enabled() and lp.flags.c_contiguous:
        # the lines below in one compiled pass (numpy's results to rounding)
        ll = _kernels.normalise_stacked(lp, log_w, sw, w)
        resp = lp.reshape(S * K, b)
    else:
        lp += log_w[:, :, None]
        top = lp.max(axis=1)
        top[~np.isfinite(top)] = 0.0
        lp -= top[:, None, :]
        np.exp(lp, out=lp)
        norm = lp.sum(axis=1)
        lp /= norm[:, None, :]
        log_norm = top + np.log(norm)
        if sw is None:
            ll = log_norm.sum(axis=1, dtype=np.float64)
        else:
            ll = log_norm @ sw
        resp = lp.reshape(S * K, b)
        if w is not None:
            resp *= w
    stats = stacked.new_stats()
    moments = stacked.accumulate(stats, xa, resp, cache)
    if moments is None:
        moments = resp @ xa
    return ll, moments, stats


def _iterate_group(
    runs, rows, total, scatter, reg_covar, tol, max_iter, relative=False
):
    """:func:`iterate_stacked` on one group of runs, on the block ``rows``
    (a :class:`_StackedRows`).  The runs' weights, lower bounds and iteration
    counts live in arrays while they run, and go back to the runs when each
    ends."""
    errors = [None] * len(runs)
    K = runs[0].model.n_components
    cls = type(runs[0].model)
    separable = cls is cls.stack_class
    eps = 10 * np.finfo(np.float64).eps
    for run in runs:
        run.converged = False
    active = np.array([i for i, run in enumerate(runs) if run.n_iter < max_iter])
    weights = np.array([runs[i].weights for i in active]).reshape(len(active), K)
    lower = np.array([runs[i].lower_bound for i in active], dtype=np.float64)
    n_iter = np.array([runs[i].n_iter for i in active])
    # separable: the stacked model is the state of the active runs, and a
    # run's own model is taken out of it when the run ends
    stacked = None
    # not separable: the models of the last M-step while every run goes on
    # (their stacks serve the next E-step and M-step: _RunModels)
    carried = None
    while active.size:
        S = active.size
        if stacked is None:
            if carried is None:
                carried = [runs[i].model for i in active]
            stacked = cls.stack(carried)
            rows.new_model()
        log_w = np.log(weights).astype(rows.xa.dtype)
        ll, moments, stats = rows.estep(stacked, K, log_w)
        nk = moments[:, -1].astype(np.float64) + eps
        s1c = moments[:, :-1].astype(np.float64)

        new_stacked = None
        if separable:
            try:
                new_stacked = stacked.m_step(nk, s1c, stats, reg_covar, scatter)
            except ValueError:
                pass  # which run collapsed: each alone below
        failed = np.zeros(S, dtype=bool)
        models = None
        if new_stacked is None:
            models = _m_steps(
                [stacked.take(slice(j * K, (j + 1) * K)) for j in range(S)]
                if separable
                else carried,
                nk,
                s1c,
                stats,
                reg_covar,
                scatter,
                batched=not separable,
            )
            for j, i in enumerate(active):
                if isinstance(models[j], ValueError):
                    errors[i] = models[j]
                    failed[j] = True
        nk = nk.reshape(S, K)
        weights = nk / nk.sum(axis=1, keepdims=True)
        new_lower = ll / total
        converged = np.abs(new_lower - lower) < tol_limit(
            tol, new_lower, total, relative
        )
        lower = new_lower
        n_iter += 1
        ended = (converged | (n_iter >= max_iter)) & ~failed
        for j, i in enumerate(active):
            if failed[j]:
                continue
            run = runs[i]
            run.history.append(float(lower[j]))
            if ended[j] or new_stacked is None:
                run.model = (
                    models[j]
                    if new_stacked is None
                    else new_stacked.take(slice(j * K, (j + 1) * K))
                )
            if ended[j]:
                run.weights = weights[j]
                run.lower_bound = float(lower[j])
                run.n_iter = int(n_iter[j])
                run.converged = bool(converged[j])
        keep = ~(ended | failed)
        carried = None
        if new_stacked is None:
            stacked = None
            if keep.all() and not separable:
                carried = models
        elif keep.all():
            stacked = new_stacked
        elif keep.any():
            kept = (np.flatnonzero(keep)[:, None] * K + np.arange(K)).ravel()
            stacked = new_stacked.take(kept)
            rows.new_model()
        active, weights, lower, n_iter = (
            active[keep],
            weights[keep],
            lower[keep],
            n_iter[keep],
        )
    return errors


#: A component whose covariance, less ``reg_covar`` and in units of the data's
#: per-feature variance, has an eigenvalue below this is degenerate.
DEGENERATE_VARIANCE = 1e-10
#: A component whose covariance, less ``reg_covar``, has across the features
#: recorded on a grid (integers, one decimal: :func:`recording_steps`) an
#: eigenvalue below this many steps squared (a standard deviation below a
#: thousandth of a step) is degenerate: it has collapsed onto the recorded
#: values, and its density there, some 400 per step, counts the rounding of
#: the records rather than their spread.  Such fits have a bounded
#: likelihood (a shared shape or volume holds them up), so the check in
#: units of the features' variances (DEGENERATE_VARIANCE) misses them: the
#: fourteen-model search chose EEV,9 on scikit-learn's diabetes data (BIC
#: 20060, against 23302 for the best regular fit then and 24107 for mclust's
#: choice), three components on one value each of the sex column (1 or 2) with
#: a standard deviation of 2e-4 across it.  A hundredth of a step refused
#: fits that mclust chooses (VEI,8 on standardised mtcars: a standard
#: deviation of 1/400 of a step across a 0/1 column) and left cells of
#: attenu 165 BIC points short of mclust's; a thousandth refuses none of
#: mclust's choices on the panels (benchmarks/family_mclust_panel_results.md).
GRID_VARIANCE = 1e-6


def data_steps(X, sample_weight):
    """The features' recording steps (:func:`recording_steps`) for the
    degeneracy check of :func:`degeneracy`; a step below
    ``sqrt(DEGENERATE_VARIANCE / GRID_VARIANCE)`` of its feature's standard
    deviation is 0 (there the check in grid steps is weaker than the one in
    units of the features' variances)."""
    finest = np.sqrt(DEGENERATE_VARIANCE / GRID_VARIANCE)
    return recording_steps(X, sample_weight, finest=finest)


def _component_checks(model, weights, n_support, data_var, reg_covar, steps=None):
    """Effective points, points needed, relative variances and variances in
    grid steps (or None) of the components (see :func:`degeneracy`), or
    None for a model without checks."""
    if not np.any(data_var > 0):
        return None
    rel = model.relative_variances(np.asarray(data_var, dtype=np.float64), reg_covar)
    if rel is None:
        return None
    counts = np.asarray(weights) * n_support
    grid = None if steps is None else model.grid_variances(steps, reg_covar)
    return counts, model.points_needed(), rel, grid


def degeneracy(model, weights, n_support, data_var, reg_covar, steps=None):
    """Why a fitted mixture is degenerate (a spurious optimum), or ``""``.

    A component is degenerate when it has fewer effective points than its
    covariance needs to be regular (``d + 1`` for a full covariance, 2 for a
    diagonal or spherical one: ``weights_k * n`` with ``n`` the rows of
    non-zero weight), or when its covariance is singular but for
    ``reg_covar``: without ``reg_covar`` and in units of the data's variance,
    its smallest eigenvalue is below :data:`DEGENERATE_VARIANCE`.  Such a fit
    reaches an unbounded likelihood on a few points (mclust reports it as
    missing); a search must not choose it.  With ``steps``, the features'
    recording steps (:func:`recording_steps`), a component is also degenerate
    when it has collapsed onto the recorded values: across the features
    recorded on a grid, its smallest eigenvalue, in units of their steps
    squared, is below :data:`GRID_VARIANCE`.  Models without these checks
    (``relative_variances``) are never flagged.
    """
    checks = _component_checks(model, weights, n_support, data_var, reg_covar, steps)
    if checks is None:
        return ""
    return _degeneracy_reason(*checks)


def _degeneracy_reason(counts, need, rel, grid):
    """:func:`degeneracy`'s verdict on its checks (:func:`_component_checks`)."""
    k = _worst_below(counts, need - 0.05)
    if k is not None:
        return (
            f"component {k} has {counts[k]:.3g} effective points, fewer than the "
            f"{need} its covariance needs"
        )
    k = _worst_below(rel, DEGENERATE_VARIANCE)
    if k is not None:
        return (
            f"component {k} is singular but for reg_covar (relative variance "
            f"{rel[k]:.2g})"
        )
    k = None if grid is None else _worst_below(grid, GRID_VARIANCE)
    if k is not None:
        return (
            f"component {k} has collapsed onto the values the data are "
            f"recorded at (variance {grid[k]:.2g} of a recording step squared "
            f"across the features recorded in steps)"
        )
    return ""


def judge_runs(runs, n_support, blocks, reg_covar):
    """:meth:`_Run.judge` of each of ``runs``, the checks of their models
    batched where their covariances stack by component (one class, not
    ``tied``): one eigenvalue call for all of them instead of two a run, the
    same values (numpy's stacked ``eigvalsh`` runs LAPACK matrix by matrix),
    the same verdicts.  On the fourteen-model search of small data the runs'
    judgements had cost a tenth of the time, mostly in calls."""
    models = [run.model for run in runs]
    cls = type(models[0]) if models else None
    data_var = np.asarray(blocks.data_var, dtype=np.float64)
    if (
        len(runs) < 2
        or any(type(m) is not cls for m in models)
        or isinstance(models[0], TiedCovariance)
        or not hasattr(models[0], "covariances")
        or not np.any(data_var > 0)
    ):
        for run in runs:
            run.judge(n_support, blocks, reg_covar)
        return
    K = models[0].n_components
    stacked = object.__new__(cls)
    stacked.__dict__.update(models[0].__dict__)
    stacked.covariances = np.concatenate([m.covariances for m in models])
    stacked.n_components = len(models) * K
    rel = stacked.relative_variances(data_var, reg_covar)
    if rel is None:
        for run in runs:
            run.judge(n_support, blocks, reg_covar)
        return
    steps = blocks.data_steps
    grid = None if steps is None else stacked.grid_variances(steps, reg_covar)
    need = models[0].points_needed()
    counts = np.array([np.asarray(run.weights) * n_support for run in runs])
    # the runs whose every check passes (a NaN fails), at once: most do
    regular = (counts >= need - 0.05).all(axis=1)
    regular &= (rel.reshape(len(runs), K) >= DEGENERATE_VARIANCE).all(axis=1)
    if grid is not None:
        regular &= (grid.reshape(len(runs), K) >= GRID_VARIANCE).all(axis=1)
    for j, run in enumerate(runs):
        part = slice(j * K, (j + 1) * K)
        run.reason = (
            ""
            if regular[j]
            else _degeneracy_reason(
                counts[j], need, rel[part], None if grid is None else grid[part]
            )
        )
        run.singular = bool(run.reason) and _is_singular(rel[part])
        run.key = (not run.reason, run.lower_bound)


def _is_singular(rel):
    """Whether a component's relative variance (:func:`degeneracy`) is
    below :data:`DEGENERATE_VARIANCE` (a NaN counts as below)."""
    return _worst_below(rel, DEGENERATE_VARIANCE) is not None


def _worst_below(values, bound):
    """Index of the smallest of ``values`` below ``bound`` (a NaN counts as
    below), or None when none is."""
    bad = np.flatnonzero(~(values >= bound))
    return int(bad[np.argmin(values[bad])]) if bad.size else None


def degeneracy_a_priori(model_cls, n_components, n_features, n_support, flatness=None):
    """Why every fit of ``n_components`` components of ``model_cls`` to
    ``n_support`` rows (of non-zero weight) in ``n_features`` dimensions is
    degenerate by the rule of :func:`degeneracy`, or ``""``.

    Three cases are known before any fit: the components need more effective
    points than there are rows (the counts add up to ``n_support``, so one
    of them has fewer than ``points_needed``); or the model's covariances are
    general matrices built from the rows' scatter (:attr:`full_matrix`) and
    there are no more rows than features: the centred rows span at most
    ``n_support - 1 < n_features`` dimensions, and outside them every such
    covariance is ``reg_covar``; or such a model meets rows that lie in a
    hyperplane: ``flatness`` (:func:`data_flatness`), the smallest eigenvalue
    of their covariance in units of the features' variances, is below
    :data:`DEGENERATE_VARIANCE`.  (The within-component scatters add up to
    at most the data's, so along that direction the weighted mean of the
    components' variances is at most ``flatness``, and so is the smallest;
    for the constrained models built from the same scatters it is the
    direction where every one of them vanishes.)
    """
    need = model_cls.points_needed_by(n_features)
    if n_support < n_components * (need - 0.05):
        return (
            f"{n_components} components need {need} effective points each; "
            f"there are {n_support} rows"
        )
    if model_cls.full_matrix and n_support <= n_features:
        return (
            f"{n_support} rows span fewer than the {n_features} dimensions of a "
            f"regular {model_cls.name} covariance"
        )
    if model_cls.full_matrix and flatness is not None:
        if flatness < DEGENERATE_VARIANCE:
            return (
                f"the rows lie in a hyperplane (relative variance {flatness:.2g} "
                f"across it): a {model_cls.name} covariance is singular there"
            )
    return ""


def data_flatness(X, sample_weight):
    """The smallest eigenvalue of the rows' weighted covariance in units of
    the features' variances (constant features left out, as in the
    components' check; ``inf`` when every feature is constant), for
    :func:`degeneracy_a_priori`."""
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    _, var, scatter = weighted_moments(X, weights, scatter=True)
    if not np.any(var > 0):
        return np.inf
    cov = scatter / float(weights.sum())
    return float(_smallest_relative_eigenvalues(cov, var, 0.0)[0])


def degenerate_components(model, weights, n_support, data_var, reg_covar, steps=None):
    """Indices of the degenerate components (see :func:`degeneracy`)."""
    checks = _component_checks(model, weights, n_support, data_var, reg_covar, steps)
    if checks is None:
        return np.empty(0, dtype=np.intp)
    counts, need, rel, grid = checks
    bad = (counts < need - 0.05) | ~(rel >= DEGENERATE_VARIANCE)
    if grid is not None:
        bad |= ~(grid >= GRID_VARIANCE)
    return np.flatnonzero(bad)


def split_labels(X, labels, bad, need, n_components, sample_weight=None):
    """Hard labels where each degenerate component takes over half of the
    largest regular one (split at its mean along its principal axis): a start
    that leaves a degenerate optimum. ``labels`` must not use the degenerate
    components (their rows already belong to the regular ones).

    Returns None when no regular component is large enough to split.
    """
    labels = labels.copy()
    for k in bad:
        counts = np.bincount(labels, minlength=n_components)
        counts[bad] = -1
        j = int(np.argmax(counts))
        if counts[j] < 2 * need:
            return None
        rows = np.flatnonzero(labels == j)
        xj = np.asarray(X[rows], dtype=np.float64)
        w = np.ones(len(rows)) if sample_weight is None else sample_weight[rows]
        xj = xj - (w @ xj) / w.sum()
        # weighted principal axis (a weight counts as repeated rows): the top
        # eigenvector of the d x d scatter, not an SVD of the rows
        _, vectors = np.linalg.eigh(xj.T @ (w[:, None] * xj))
        top = vectors[:, -1]
        axis = top * np.sign(top[np.argmax(np.abs(top))])  # a fixed sign
        labels[rows[xj @ axis > 0]] = k
    return labels


def _sum_accs(accs):
    """Sum accumulators in their order (into the first):
    :class:`~gmm_estimators._stats.BlockStats`, or dicts of arrays / floats /
    nested dicts."""
    out = accs[0]
    if isinstance(out, BlockStats):
        for acc in accs[1:]:
            out += acc
        return out
    for acc in accs[1:]:
        for key, value in acc.items():
            if isinstance(value, dict):
                for k2, v2 in value.items():
                    out[key][k2] += v2
            else:
                out[key] = out[key] + value
    return out


# _normalize, _add_block_stats and _m_step live in gmm_estimators._stats (the
# block-statistics API), with the per-block E-step every back end runs.


def _stats_acc(model):
    """Factory of zeroed per-thread statistics for ``model``."""
    return lambda: BlockStats.zeros(model)


def pass_stats(blocks, model, weights, sample_weight):
    """The :class:`~gmm_estimators._stats.BlockStats` of every row under
    ``model``: in memory, the blocks on a few threads; blocks that compute
    their own (a Dask array's chunks, :mod:`gmm_estimators._dask`) on their
    workers, with the same per-block code."""
    own = getattr(blocks, "block_stats", None)
    if own is not None:
        return own(model, weights)
    log_w = np.log(weights).astype(blocks.X.dtype)
    sw = sample_weight
    # the model's E-step constants made here, once, before the block
    # threads ask for them
    model.prepare_estep(blocks.X.dtype)

    def fn(acc, start, stop, rows, ws):
        w = None if sw is None else sw[start:stop]
        _add_rows(acc, model, log_w, rows, blocks.center, w, ws, blocks.spread)

    return blocks.run(fn, _stats_acc(model), centred=False)


def em_step(blocks, model, weights, sample_weight, reg_covar, scatter):
    """One E-step and M-step in a single pass.

    Returns
    -------
    model, weights : the updated parameters
    lower_bound : float
        Weighted mean log-likelihood of the data under the *previous*
        parameters (the quantity scikit-learn reports as ``lower_bound_``).

    The statistics come from :func:`pass_stats` (the block-statistics API of
    :mod:`gmm_estimators._stats`), the M-step from their sum.
    """
    stats = pass_stats(blocks, model, weights, sample_weight)
    new_model, nk = _m_step(model, stats, reg_covar, scatter)
    return new_model, nk / nk.sum(), stats.lower_bound


def model_from_responsibilities(
    blocks, model_cls, source, sample_weight, reg_covar, scatter, **options
):
    """Parameters of a model fitted to given responsibilities (one M-step).

    ``source(start, stop)`` gives the responsibilities of rows ``start:stop``,
    shape (K, stop - start).
    A first pass finds the means when the model's statistics are taken around
    them (``model_cls.init_needs_means``); the second accumulates the
    statistics with the *reference* model at those means
    (``model_cls.reference(means, center, **options)``).

    Returns ``(model, weights)`` with scikit-learn's initial weights
    ``N_k / sum(sample_weight)`` (not renormalised, as scikit-learn does).
    """
    K, d = source(0, 1).shape[0], blocks.d
    sw = sample_weight
    center = blocks.center.astype(np.float64)
    means = np.zeros((K, d)) + center
    if model_cls.init_needs_means:

        def first(acc, start, stop, xa, ws):
            resp = source(start, stop)
            if sw is not None:
                resp = resp * sw[start:stop].astype(resp.dtype)
            acc["nk"] += resp.sum(axis=1)
            acc["s1"] += resp @ xa[:, :-1]

        acc = blocks.run(first, lambda: {"nk": np.zeros(K), "s1": np.zeros((K, d))})
        nk = acc["nk"] + 10 * np.finfo(np.float64).eps
        means = center + acc["s1"] / nk[:, None]
    ref = model_cls.reference(means, center, **options)

    def second(acc, start, stop, xa, ws):
        resp = source(start, stop)
        _, cache = ref.log_prob(xa, ws)
        w = None if sw is None else sw[start:stop]
        _add_block_stats(acc, ref, xa, resp, cache, w)

    acc = blocks.run(second, _stats_acc(ref))
    total = _total(blocks, sw)
    nk = acc.nk + COUNT_EPS
    if _one_row(model_cls, nk):
        return _one_row_start(
            model_cls, center, nk, acc.s1, reg_covar, blocks
        ), nk / total
    model, nk = _m_step(ref, acc, reg_covar, scatter)
    return model, nk / total


def _one_row(model_cls, nk):
    """Whether a start of ``model_cls`` with counts ``nk`` holds one row in
    each component and begins at the features' scale (:func:`_one_row_start`)."""
    return model_cls.one_row_start_at_scale and bool(np.all(nk <= 1.0 + 1e-6))


def _one_row_start(model_cls, center, nk, s1c, reg_covar, blocks):
    """The model of a start whose every component holds one row (the seeds of
    'k-means++' and 'random_from_data'), for the models that begin it at the
    features' scale (``one_row_start_at_scale``: mclust's ten models beyond
    scikit-learn's four): the means at the seed rows, each covariance
    diagonal with the features' variances plus ``reg_covar``.

    A row has no spread: ``'full'``'s M-step (scikit-learn's) gives it
    ``reg_covar`` times the identity, and the first E-step then hands every
    row to the nearest seed in the data's units.  The models that normalise
    a scatter by its determinant or share a shape or volume across components
    (VEE, EVE, VVE, VEV, EVV) get no covariance at all from zero scatters:
    such a start failed on any data, and those starts were lost to these
    models in every search.  At the features' scale the first E-step's
    partition does not depend on the units (with the identity, on R's
    ``faithful`` the waiting times in minutes decided it, and the search
    found a VEV,6 whose components sit on single recorded waiting times)."""
    K, d = s1c.shape
    means = center + s1c / nk[:, None]
    variances = np.asarray(blocks.data_var, dtype=np.float64) + reg_covar
    dense = np.broadcast_to(np.diag(variances), (K, d, d))
    return model_cls(
        means,
        center,
        covariances=model_cls.covariances_from_dense(dense),
        reg_covar=reg_covar,
    )


def models_from_responsibilities(
    blocks, model_cls, sources, sample_weight, reg_covar, scatter
):
    """:func:`model_from_responsibilities` for several starts on data of one
    block (:func:`stackable`), their components stacked: one pass for the
    means, one for the statistics, and one M-step when the model's M-step is
    separable.  Returns one ``(model, weights)`` or ``ValueError`` per
    source, equal to what each start alone gives (up to rounding)."""
    S = len(sources)
    n, d = blocks.n, blocks.d
    xa = blocks.whole()
    sw = sample_weight
    resp = np.concatenate([source(0, n) for source in sources])
    K = resp.shape[0] // S
    if sw is not None:
        resp = resp * sw.astype(resp.dtype)
    center = blocks.center.astype(np.float64)
    eps = 10 * np.finfo(np.float64).eps
    means = np.zeros((S * K, d)) + center
    if model_cls.init_needs_means:
        moments = resp @ xa
        means = center + moments[:, :-1] / (moments[:, -1] + eps)[:, None]
    refs = [model_cls.reference(means[s * K : (s + 1) * K], center) for s in range(S)]
    stacked = model_cls.stack(refs)
    _, cache = stacked.log_prob(xa, {})
    moments = resp @ xa
    nk = moments[:, -1].astype(np.float64) + eps
    s1c = moments[:, :-1].astype(np.float64)
    stats = stacked.new_stats()
    stacked.accumulate(stats, xa, resp, cache)
    total = _total(blocks, sw)
    parts = [slice(s * K, (s + 1) * K) for s in range(S)]
    one_row = [_one_row(model_cls, nk[part]) for part in parts]
    if not any(one_row):
        return _models_from_stats(
            model_cls, refs, nk, s1c, stats, reg_covar, scatter, total, stacked
        )
    out = [None] * S
    for s in range(S):
        if one_row[s]:
            model = _one_row_start(
                model_cls, center, nk[parts[s]], s1c[parts[s]], reg_covar, blocks
            )
            out[s] = (model, nk[parts[s]] / total)
    rest = [s for s in range(S) if not one_row[s]]
    if rest:  # the other starts' M-steps, stacked as without these
        rows = np.concatenate([np.arange(S * K)[parts[s]] for s in rest])
        made = _models_from_stats(
            model_cls,
            [refs[s] for s in rest],
            nk[rows],
            s1c[rows],
            {key: value[rows] for key, value in stats.items()},
            reg_covar,
            scatter,
            total,
        )
        for s, result in zip(rest, made, strict=True):
            out[s] = result
    return out


def _models_from_stats(
    model_cls, refs, nk, s1c, stats, reg_covar, scatter, total, stacked=None
):
    """:func:`models_from_responsibilities`' M-steps of the starts ``refs``
    from their stacked statistics: ``(model, weights)`` or the ``ValueError``
    of each.  One M-step for all when the model's M-step is separable
    (``stack_class``; ``stacked``, the stack of ``refs`` where the caller has
    it), else :func:`_m_steps`."""
    S, K = len(refs), refs[0].n_components
    if model_cls is model_cls.stack_class:
        if stacked is None:
            stacked = model_cls.stack(refs)
        try:
            model = stacked.m_step(nk, s1c, stats, reg_covar, scatter)
        except ValueError:
            pass  # which start collapsed: each alone below
        else:
            return [
                (model.take(slice(s * K, (s + 1) * K)), nk[s * K : (s + 1) * K] / total)
                for s in range(S)
            ]
    models = _m_steps(refs, nk, s1c, stats, reg_covar, scatter)
    return [
        model
        if isinstance(model, ValueError)
        else (model, nk[s * K : (s + 1) * K] / total)
        for s, model in enumerate(models)
    ]


def _m_steps(models, nk, s1c, stats, reg_covar, scatter, batched=True):
    """The M-step of each of several runs from their stacked statistics
    (``nk``, ``s1c`` and ``stats`` with the runs' components in turn): the new
    model, or the ``ValueError`` of a run whose component collapsed.  One
    batched call (``m_step_stacked``) when the class has one; where runs
    collapse in it, the others' models from that call and the collapsed
    runs' own ``m_step`` (their errors); without a batched M-step each
    run's own ``m_step``."""
    K = models[0].n_components

    def alone(s):
        part = slice(s * K, (s + 1) * K)
        try:
            return models[s].m_step(
                nk[part],
                s1c[part],
                {key: value[part] for key, value in stats.items()},
                reg_covar,
                scatter,
            )
        except ValueError as exc:
            return exc

    if batched:
        try:
            new = type(models[0]).m_step_stacked(
                models, nk, s1c, stats, reg_covar, scatter
            )
        except ValueError as exc:
            # which runs collapsed: those alone below (their own errors);
            # the others' models, where the batch kept them (a collapsed
            # start among thirteen had cost thirteen calls)
            kept = dict(zip(*getattr(exc, "partial", ((), ())), strict=True))
            return [kept[s] if s in kept else alone(s) for s in range(len(models))]
        if new is not None:  # (None: the class has no batched M-step)
            return new if isinstance(new, list) else list(new)
    return [alone(s) for s in range(len(models))]


def posterior_pass(
    blocks,
    model,
    weights,
    *,
    resp=False,
    log_norm=True,
    labels=False,
    sample_weight=None,
    entropy=False,
):
    """E-step outputs for every row: what predict, predict_proba and score need.

    Returns a dict with the requested arrays (``log_norm`` (n,), ``resp``
    (n, K), ``labels`` (n,)) and, when asked, ``entropy_sum`` and ``ll_sum``
    (weighted sums over rows).
    """
    n, K = blocks.n, model.n_components
    dtype = blocks.X.dtype
    out = {}
    if log_norm or entropy:
        out["log_norm"] = np.empty(n, dtype=dtype)
    if resp:
        out["resp"] = np.empty((n, K), dtype=dtype)
    if labels:
        out["labels"] = np.empty(n, dtype=np.intp)
    log_w = np.log(weights).astype(dtype)
    sw = sample_weight

    def fn(acc, start, stop, xa, ws):
        lp, _ = model.log_prob(xa, ws)
        if labels:
            out["labels"][start:stop] = np.argmax(lp + log_w[:, None], axis=0)
        r, ln = _normalize(lp, log_w)
        if "log_norm" in out:
            out["log_norm"][start:stop] = ln
        if resp:
            out["resp"][start:stop] = r.T
        if entropy:
            h = entr(r).sum(axis=0)
            w = None if sw is None else sw[start:stop]
            acc["entropy_sum"] += float(h.sum() if w is None else w @ h)
            acc["ll_sum"] += float(
                np.sum(ln, dtype=np.float64) if w is None else w @ ln
            )

    acc = blocks.run(fn, lambda: {"entropy_sum": 0.0, "ll_sum": 0.0})
    out.update(acc)
    return out


#: The parameter names of each mixture class (:meth:`_BaseMixture._get_param_names`).
_PARAM_NAMES = {}


class _BaseMixture(ClusterMixin, DensityMixin, BaseEstimator):
    """EM for mixtures of a component model; subclasses supply the model.

    Subclass hooks (those without a default are required):

    * ``_model_class()`` -- the :class:`~gmm_estimators._model.ComponentModel`
      subclass;
    * ``_model_options()`` -- keyword options of its classmethods for the
      parameters of this estimator (default: none);
    * ``_validate_init(X)`` -- check user-provided initial parameters
      (default: nothing to check);
    * ``_initial_source(blocks, sw, rng, method, cache)`` -- initial
      responsibilities of one start method (default: ``init_params``);
    * ``_initial_model(blocks, sw, rng, scatter, method, cache)`` -- (model,
      weights) to start EM from (default: one M-step from the responsibilities);
    * ``_set_model(model, weights, dtype)`` / ``_get_model(center)`` -- map the
      model to / from the public fitted attributes;
    * ``_row_width()`` -- block width of the fitted model (default: from
      ``n_components`` and ``n_features_in_``);
    * ``_sampling_model()`` -- the fitted model that :meth:`sample` draws from
      (default: ``_get_model`` at the origin);
    * ``_n_parameters()`` -- free parameters, for ``bic`` and ``aic``.
    """

    # the "?" link of the HTML representation
    _doc_link_module = DOC_LINK_MODULE
    _doc_link_template = DOC_LINK_TEMPLATE

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_METHODS)), list, tuple],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    }

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's parameter names (from ``__init__``'s signature),
        read once a class: ``clone``, ``get_params`` and ``set_params`` ask
        for them at every call, and a search's candidates make about a
        thousand such calls (``inspect.signature``: 0.05 s of a 1.7 s
        fourteen-model search on faithful)."""
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = tuple(super()._get_param_names())
        return list(names)

    # -- hooks with defaults ----------------------------------------------------
    def _model_options(self):
        """Keyword options of the model class's classmethods (none by default)."""
        return {}

    def _fit_row_width(self, n_features):
        """Block width of a fit with the current parameters."""
        return self._model_class().row_width(
            self.n_components, n_features, **self._model_options()
        )

    def _validate_init(self, X):
        """Validate user-provided initial parameters (none by default)."""

    def _start_is_given(self):
        """Whether the user gave the whole start (every run of ``n_init``
        then starts from the same parameters): never by default."""
        return False

    def _initial_source(self, blocks, sample_weight, rng, method, cache=None):
        """The responsibility source of the start ``method`` on the data.

        ``method`` is an ``init_params`` name, ``("labels", labels)``: a
        hard partition handed over by a search (another candidate's labels),
        or ``("responsibilities", resp)``, shape ``(n_samples,
        n_components)``: another candidate's posterior.
        """
        if not isinstance(method, str):
            if method[0] == "responsibilities":
                resp = np.asarray(method[1], dtype=blocks.X.dtype)
                return lambda start, stop: resp[start:stop].T
            labels = np.asarray(method[1], dtype=np.intp)
            return _labels_source(labels, self.n_components, blocks.X.dtype)
        weights = np.ones(blocks.n) if sample_weight is None else sample_weight
        return initial_responsibilities(
            method, blocks.X, weights, self.n_components, rng, cache
        )

    def _initial_models(self, blocks, sample_weight, rng, scatter, methods, cache):
        """``_initial_model`` of each method, in order (the same draws from
        ``rng``): a ``(model, weights)`` or the ``ValueError`` of each.  On
        data of one block the starts' M-steps run stacked
        (:func:`models_from_responsibilities`) when the estimator allows it
        (``_stacked_init``)."""
        if len(methods) < 2 or not (
            self._stacked_init() and stackable(self._model_class(), blocks)
        ):
            out = []
            for method in methods:
                try:
                    out.append(
                        self._initial_model(
                            blocks, sample_weight, rng, scatter, method, cache
                        )
                    )
                except ValueError as exc:
                    out.append(exc)
            return out

        def draw():
            out = []
            for method in methods:
                try:
                    out.append(
                        self._initial_source(blocks, sample_weight, rng, method, cache)
                    )
                except ValueError as exc:
                    out.append(exc)
            return out

        drawn = shared_starts(
            draw, methods, blocks.n, self.n_components, blocks.X.dtype, rng, cache
        )
        sources, out = [], [None] * len(methods)
        for i, source in enumerate(drawn):
            if isinstance(source, ValueError):
                out[i] = source
            else:
                sources.append((i, source))
        if sources:
            made = models_from_responsibilities(
                blocks,
                self._model_class(),
                [source for _, source in sources],
                sample_weight,
                self._reg_covar(),
                scatter,
            )
            for (i, _), result in zip(sources, made, strict=True):
                out[i] = result
        return out

    def _stacked_init(self):
        """Whether the starts may be computed stacked: the estimator's
        ``_initial_model`` is the generic one, from responsibilities."""
        return False

    def _initial_model(self, blocks, sample_weight, rng, scatter, method, cache=None):
        source = self._initial_source(blocks, sample_weight, rng, method, cache)
        return model_from_responsibilities(
            blocks,
            self._model_class(),
            source,
            sample_weight,
            self._reg_covar(),
            scatter,
            **self._model_options(),
        )

    def _init_methods(self):
        """``init_params`` as a list of distinct start methods."""
        methods = self.init_params
        methods = [methods] if isinstance(methods, str) else list(methods)
        unknown = [m for m in methods if m not in INIT_METHODS]
        if not methods or unknown:
            raise ValueError(
                "init_params must be one of, or a non-empty list of, "
                f"{list(INIT_METHODS)}; got {self.init_params!r}."
            )
        return list(dict.fromkeys(methods))

    def _runs(self):
        """The start method of every EM run: ``n_init`` rounds of the methods;
        the deterministic 'hc' start only in the first round, and in the
        second its tree on the rows in sorted order (:data:`HC_SORTED`)."""
        return [
            HC_SORTED if r == 1 and m == "hc" else m
            for r in range(self.n_init)
            for m in self._init_methods()
            if r <= 1 or m != "hc"
        ]

    def _row_width(self):
        return self._fit_row_width(self.n_features_in_)

    def _sampling_model(self):
        return self._get_model(np.zeros(self.means_.shape[1]))

    # -- fitting ---------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with the EM algorithm.

        The model is fitted ``n_init`` times and the run with the largest
        lower bound is kept.  Each run alternates E- and M-steps until the
        change of the lower bound is below ``tol`` or ``max_iter`` steps were
        taken (then a :class:`~sklearn.exceptions.ConvergenceWarning` is
        issued).  With ``warm_start=True`` a refit continues from the previous
        solution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; float32 data is kept in float32.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.  An integer weight is equivalent
            to repeating the row; a zero weight to removing it.

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model to X and return the component label of each row.

        Equivalent to ``fit(X).predict(X)`` (a final E-step guarantees it).

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
        # All or nothing: a fit that fails or is interrupted (KeyboardInterrupt
        # included) leaves the estimator as it was before it started.
        state = dict(self.__dict__)
        try:
            if _is_dask_array(X):  # chunks on the workers (gmm_estimators._dask)
                return _dask_module().fit_predict(self, X, sample_weight)
            with fit_threads():
                return self._fit(X, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, sample_weight):
        """The body of :meth:`fit_predict` (see there)."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        sw = self._check_weights(X, sample_weight)
        n_support = X.shape[0] if sw is None else int(np.count_nonzero(sw))
        self._check_support(n_support, sw is not None)
        self._validate_init(X)
        out_dtype = X.dtype
        X = _compute_array(X)
        blocks, scatter = fit_blocks(
            X, sw, self._model_class(), self._fit_row_width(X.shape[1])
        )
        self._set_reg_covar(blocks.data_var)
        center = blocks.center.astype(np.float64)

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        # A search (GaussianMixtureSelector) may hand a fit its seed, a cache
        # of starts shared between candidates, or partitions to start from
        # instead of init_params; the context is used by one fit only.
        search = self.__dict__.pop("_search_context", None) or {}
        cache = search.get("cache")
        if self._model_class().checks_degeneracy:
            # the features' recording steps, for the degeneracy check: one
            # pass, shared by a search's candidates
            key = ("steps", X.shape[0])
            steps = None if cache is None else cache.get(key)
            if steps is None:
                steps = data_steps(X, sw)
                if cache is not None:
                    cache[key] = steps
            blocks.data_steps = steps
        runs = self._runs() if do_init else [None]
        if do_init and search.get("runs"):
            # the search's own starts for this fit (GaussianMixtureSelector's
            # search='mclust': mclust's start alone, as mclustBIC)
            runs = list(search["runs"])
        if do_init and len(runs) > 1 and self._start_is_given():
            # every run starts from the same given parameters: one run is
            # scikit-learn's n_init of them (the same fit, without screening)
            runs = runs[:1]
        if do_init and search.get("starts"):
            runs = [
                ("labels" if np.ndim(start) == 1 else "responsibilities", start)
                for start in search["starts"]
            ]
        if do_init and self.n_components == 1 and len(runs) > 1:
            # One component holds every row whatever the start: after its
            # first E-step every run is the same, so one run (a partition
            # start's where there is one: its first M-step is the fit's)
            whole = [m for m in runs if isinstance(m, str) and m in WHOLE_STARTS]
            runs = (whole or runs)[:1]
        mclust_start = do_init and "hc" in runs
        rng = check_random_state(search.get("random_state", self.random_state))
        # (a fit alone keeps its own, so that its starts share their trees)
        if cache is None:
            cache = {}
        # A search fits a candidate that no start can make regular from its
        # first start only, for at most SCREEN_MAX_ITER steps (the lower bound
        # of a covariance held up by reg_covar jitters from rounding, and such
        # a run may never meet tol); the reason goes back in the context
        a_priori = ""
        if do_init and "a_priori" in search:
            flatness = None
            if self._model_class().full_matrix:  # one pass, shared
                key = ("flatness", X.shape[0])
                if key not in cache:
                    cache[key] = data_flatness(X, sw)
                flatness = cache[key]
            a_priori = search["a_priori"] = degeneracy_a_priori(
                self._model_class(), self.n_components, X.shape[1], n_support, flatness
            )
            if a_priori:
                runs = runs[:1]
        # Several runs: each first to the screening tolerance, then the best
        # SCREEN_KEEP continued to ``tol`` (with the default tol, every run
        # goes to ``tol``, as scikit-learn's n_init).
        screen_tol = max(self.tol, SCREEN_TOL) if len(runs) > 1 else self.tol
        screen_iter = (
            min(self.max_iter, SCREEN_MAX_ITER)
            if screen_tol > self.tol or a_priori
            else self.max_iter
        )
        # On large data the screening runs on a weighted subsample of
        # SCREEN_ROWS rows; the runs kept continue on all rows.
        subsampled = (
            do_init
            and screen_tol > self.tol
            and n_support > SCREEN_ROWS
            and self._model_class().recenters
        )
        if subsampled:
            s_blocks, s_sw, s_scatter = self._screening_subsample(X, sw, rng)
            s_blocks.data_steps = blocks.data_steps  # the grid of all rows
            s_support = int(np.count_nonzero(s_sw))
        else:
            s_blocks, s_sw, s_scatter, s_support = blocks, sw, scatter, n_support

        def start(method):
            """The run of a start.  When the screening runs on a subsample,
            the starts of ``init_params`` are drawn there too (their cost
            then does not grow with the data); a partition handed over by a
            search covers all rows."""
            if not subsampled:
                model, weights = self._initial_model(
                    blocks, sw, rng, scatter, method, cache
                )
            elif isinstance(method, str):
                model, weights = self._initial_model(
                    s_blocks, s_sw, rng, s_scatter, method, cache
                )
            else:
                model, weights = self._initial_model(
                    blocks, sw, rng, scatter, method, cache
                )
                model = model.with_center(s_blocks.center)
            return _Run(model, weights, -np.inf, method=method)

        def starts(methods):
            """``(model, weights)`` or the ``ValueError`` of each start, as
            :func:`start` gives them one by one (stacked where possible)."""
            if not subsampled:
                return self._initial_models(blocks, sw, rng, scatter, methods, cache)
            on_sample = [m for m in methods if isinstance(m, str)]
            sampled = iter(
                self._initial_models(s_blocks, s_sw, rng, s_scatter, on_sample, cache)
            )
            out = []
            for method in methods:
                if isinstance(method, str):
                    out.append(next(sampled))
                    continue
                try:
                    model, weights = self._initial_model(
                        blocks, sw, rng, scatter, method, cache
                    )
                    out.append((model.with_center(s_blocks.center), weights))
                except ValueError as exc:
                    out.append(exc)
            return out

        done = []
        errors = []
        # Several starts on small data: all their runs advance together.
        # (accelerated runs to ``tol`` go one by one: SQUAREM is not stacked)
        stack = (
            do_init
            and len(runs) > 1
            and self.verbose == 0
            and not self._accelerated(tol=screen_tol)
            and stackable(self._model_class(), s_blocks)
        )
        with blocks.limits():
            if stack:
                done = self._screen(
                    starts(runs),
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
                self._verbose_init_begin(init)
                t_start = perf_counter()
                try:
                    if do_init:
                        run = start(method)
                    else:
                        run = _Run(
                            self._get_model(center),
                            self.weights_.astype(np.float64),
                            self.lower_bound_,
                        )
                    self._iterate(
                        run, s_blocks, s_sw, s_scatter, screen_tol, screen_iter
                    )
                except ValueError as exc:
                    # a start whose components collapse: another may not
                    if len(runs) == 1:
                        raise
                    errors.append(exc)
                    continue
                run.judge(s_support, s_blocks, self._reg_covar())
                run.index = init
                if self.max_iter > 0:
                    self._verbose_init_end(
                        run.lower_bound,
                        run.converged,
                        perf_counter() - t_start,
                        screen_tol if screen_tol > self.tol else None,
                    )
                done.append(run)
                if do_init and len(runs) > 1 and run.reason:
                    done += self._repair(
                        run,
                        s_blocks,
                        s_sw,
                        s_scatter,
                        screen_tol,
                        s_support,
                        screen_iter,
                    )
            if not done:
                raise fit_error(errors)
            if screen_tol > self.tol:

                def go_on(runs, tol, max_iter=None):
                    """The runs on all rows to ``tol`` (or ``max_iter``
                    steps in all), then judged.  A run
                    that fails (a component collapses) ranks last, and is
                    degenerate whatever the screening judged: where it is
                    the fit's only run, the fit reports it so (on
                    scikit-learn's diabetes data, VEE with nine components,
                    one start of 13 screened regular, then collapsed onto
                    the sex column (1 or 2), and the selector chose it as
                    regular at BIC 15749)."""
                    for run in runs:
                        run.label = (
                            f"Continuing initialization {run.index} to tol={tol:g}"
                        )
                    failed = self._iterate_runs(
                        runs, blocks, sw, scatter, tol, max_iter
                    )
                    judge_runs(runs, n_support, blocks, self._reg_covar())
                    for run, exc in zip(runs, failed, strict=True):
                        if exc is not None:
                            errors.append(exc)
                            run.reason = run.reason or (
                                f"its EM failed ({str(exc).splitlines()[0]})"
                            )
                            run.key = (False, -np.inf)

                kept = _best_runs(done, 1 if subsampled else SCREEN_KEEP)
                limit = None
                if subsampled:
                    # with the runs that end at other optima of the subsample;
                    # lower bounds on the subsample do not compare with those
                    # on all rows: only the continued runs compete
                    kept += _other_optima(
                        kept[0],
                        _best_runs(done, 1 + SCREEN_KEEP)[1:],
                        s_blocks,
                        s_sw,
                        SUBSAMPLED_OTHERS,
                    )
                    done = kept
                    for run in kept:
                        run.model = run.model.with_center(center)
                        run.lower_bound = -np.inf
                    if len(kept) > 1:
                        # a race on all rows to the screening tolerance; the
                        # leader goes on to ``tol``
                        go_on(kept, screen_tol)
                        leader = [r for r in _best_runs(kept, 1) if r.key[1] > -np.inf]
                        for run in kept:
                            if run not in leader:
                                run.converged = False  # stopped at screen_tol
                        kept = leader
                else:
                    # mclust's start (its tree, on all rows) always goes on
                    # to ``tol``: ranked at the screening tolerance it may
                    # trail runs it ends above, and EM from it is what the
                    # reference tool reports
                    kept += [r for r in done if r.method == "hc" and r not in kept][:1]
                    kept = _regular_if_any(kept)
                    for run in done:
                        if run not in kept:
                            run.converged = False  # stopped at screen_tol
                    if all(run.singular for run in kept):
                        # the best of runs that are all singular: a few
                        # steps to meet tol, not max_iter's (_regular_if_any)
                        limit = min(kept[0].n_iter + SINGULAR_MORE_ITER, self.max_iter)
                go_on(kept, self.tol, limit)
            if mclust_start and not a_priori:
                # EM from mclust's start as mclust runs it, where the runs
                # above may not: with mclust's own M-step (EVE, VVE), and on
                # all rows from the quantile classes of all rows for one
                # feature where the starts were screened on a subsample
                cls = None
                if not subsampled:
                    cls = self._model_class().mclust_path
                elif X.shape[1] == 1:
                    cls = self._model_class()
                if cls is not None and self.n_components > 1:
                    done += self._mclust_start_run(
                        cls, blocks, sw, scatter, rng, cache, n_support, errors
                    )
            self._keep_best_run(done, out_dtype, stacklevel=3)
        return self._final_pass(X, sw)

    def _mclust_start_run(
        self, cls, blocks, sample_weight, scatter, rng, cache, n_support, errors
    ):
        """EM from mclust's start ('hc') on all rows with the model class
        ``cls``, to ``tol``, judged, as a list (empty when the run fails, as
        where mclust's own M-step fails: the error is appended to ``errors``).

        Two cases (see :meth:`_fit`): ``cls`` is the model's ``mclust_path``
        (EVE, VVE), whose M-step is mclust's: from the same start the two
        EMs may end at different optima, and mclust's may be the better one;
        or, for one feature on data whose starts were screened on a
        subsample, the model itself, from mclust's quantile classes of all
        the rows (mclust's start, cheap and exact), which the screening
        would have drawn on the subsample.  The run starts from the fit's
        own 'hc' start where it was drawn on these rows (the same tree)."""
        try:
            source = last_hc_responsibilities(blocks.X, self.n_components, cache)
            if source is None:
                source = self._initial_source(blocks, sample_weight, rng, "hc", cache)
            model, weights = model_from_responsibilities(
                blocks,
                cls,
                source,
                sample_weight,
                self._reg_covar(),
                scatter,
                **self._model_options(),
            )
            run = _Run(model, weights, -np.inf, method="hc")
            self._iterate(run, blocks, sample_weight, scatter, self.tol)
        except ValueError as exc:
            errors.append(exc)
            return []
        run.judge(n_support, blocks, self._reg_covar())
        return [run]

    def _check_support(self, n_support, weighted):
        """scikit-learn's error when fewer rows (of non-zero weight) than
        components are given."""
        if n_support < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_support}"
                + (" (rows of non-zero weight)" if weighted else "")
            )

    def _final_pass(self, X, sample_weight):
        """The final E-step under the published parameters, by the same code
        as predict, so that ``fit_predict(X) == fit(X).predict(X)`` exactly:
        sets ``labels_``, ``log_likelihood_``, ``responsibility_entropy_`` and
        ``n_parameters_``, and returns the labels."""
        post = self._posterior_validated(
            X, labels=True, log_norm=False, entropy=True, sample_weight=sample_weight
        )
        total = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        self.labels_ = post["labels"]
        self.log_likelihood_ = post["ll_sum"] / total
        self.responsibility_entropy_ = post["entropy_sum"] / total
        self.n_parameters_ = self._n_parameters()
        return self.labels_

    def _keep_best_run(self, done, out_dtype, stacklevel):
        """Keep the best of the finished runs ``done`` and set the fitted
        attributes from it: a regular solution beats a degenerate one, then
        the larger lower bound wins (the first run on ties); a
        ``ConvergenceWarning`` when it did not converge (``stacklevel`` as
        for :func:`warnings.warn`, counted from the caller)."""
        if self.max_iter == 0:
            for run in done:
                run.lower_bound = -np.inf
        best_run = done[0]
        for run in done[1:]:
            if _beats(run.key, best_run.key):
                best_run = run
        if not best_run.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different "
                "init parameters, or increase max_iter, tol, or check for "
                "degenerate data.",
                ConvergenceWarning,
                stacklevel=stacklevel + 1,
            )
        self.degenerate_ = best_run.reason
        self.converged_ = best_run.converged
        self.n_iter_ = best_run.n_iter
        self.lower_bound_ = best_run.lower_bound
        self.lower_bounds_ = best_run.history
        _publish_model(self, best_run.model, best_run.weights, out_dtype)

    def _screening_subsample(self, X, sample_weight, rng):
        """Blocks, weights and scatter of a weighted draw of SCREEN_ROWS rows.

        Rows are drawn with probability proportional to their weight, along
        an order-free ranking of the rows (as the k-means subsample), and a
        row drawn ``c`` times gets weight ``c``.
        """
        weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        drawn = _Canonical(X, weights, rng).draw(rng, weights, size=SCREEN_ROWS)
        rows, counts = np.unique(drawn, return_counts=True)
        s_sw = counts.astype(np.float64)
        s_blocks, s_scatter = fit_blocks(
            X[rows], s_sw, self._model_class(), self._fit_row_width(X.shape[1])
        )
        return s_blocks, s_sw, s_scatter

    def _repair(
        self, run, blocks, sample_weight, scatter, tol, n_support, max_iter=None
    ):
        """Runs restarted from a degenerate run: each degenerate component
        takes over half of the largest regular one (:func:`split_labels`), at
        most :data:`REPAIRS` times in a row; the runs that did not fail."""
        return self._repair_runs(
            [run], blocks, sample_weight, scatter, tol, n_support, max_iter
        )[0]

    def _repair_runs(
        self, runs, blocks, sample_weight, scatter, tol, n_support, max_iter=None
    ):
        """:meth:`_repair` of each of ``runs``, their restarts advanced
        together round by round (stacked where the runs can be: on small
        data, where the screening leaves many degenerate runs, one by one
        they took up to half of a search's time).  Returns one list of
        repaired runs per run, in order."""
        repaired = [[] for _ in runs]
        chains = list(enumerate(runs))
        for _ in range(REPAIRS):
            starts = []
            for i, run in chains:
                bad = degenerate_components(
                    run.model,
                    run.weights,
                    n_support,
                    blocks.data_var,
                    self._reg_covar(),
                    blocks.data_steps,
                )
                if not bad.size:
                    continue
                # the rows of the degenerate components go to their next best one
                kept = run.weights.copy()
                kept[bad] = 0.0
                with np.errstate(divide="ignore", invalid="ignore"):
                    labels = posterior_pass(
                        blocks, run.model, kept, labels=True, log_norm=False
                    )["labels"]
                labels = split_labels(
                    blocks.X,
                    labels,
                    bad,
                    run.model.points_needed(),
                    self.n_components,
                    sample_weight,
                )
                if labels is not None:
                    starts.append((i, ("labels", labels)))
            made = self._initial_models(
                blocks, sample_weight, None, scatter, [m for _, m in starts], None
            )
            new = [
                (i, _Run(*start, -np.inf))
                for (i, _), start in zip(starts, made, strict=True)
                if not isinstance(start, ValueError)
            ]
            for i, run in new:
                run.index = runs[i].index
                run.label = (
                    f"Restart of initialization {run.index} from split components"
                )
            failed = self._iterate_runs(
                [run for _, run in new], blocks, sample_weight, scatter, tol, max_iter
            )
            chains = []
            for (i, run), exc in zip(new, failed, strict=True):
                if exc is not None:
                    continue
                run.judge(n_support, blocks, self._reg_covar())
                repaired[i].append(run)
                chains.append((i, run))
            if not chains:
                break
        return repaired

    def _screen(
        self,
        made,
        methods,
        blocks,
        sample_weight,
        scatter,
        tol,
        max_iter,
        n_support,
        errors,
    ):
        """The runs of several starts, advanced together: ``made`` holds each
        start's ``(model, weights)`` or ``ValueError`` (of the start
        ``methods``, in turn); the runs go to ``tol``
        (or ``max_iter``), are judged, and the degenerate ones are repaired
        together (:meth:`_repair_runs`).  Returns the finished runs, in order,
        each followed by its repairs; the errors are appended to
        ``errors``."""
        started = []
        for start, method in zip(made, methods, strict=True):
            if isinstance(start, ValueError):
                errors.append(start)
                continue
            started.append(_Run(*start, -np.inf, method=method))
        failed = self._iterate_runs(
            started, blocks, sample_weight, scatter, tol, max_iter
        )
        finished = []
        for run, exc in zip(started, failed, strict=True):
            if exc is not None:
                errors.append(exc)
                continue
            finished.append(run)
        judge_runs(finished, n_support, blocks, self._reg_covar())
        degenerate = [run for run in finished if run.reason]
        repaired = dict(
            zip(
                map(id, degenerate),
                self._repair_runs(
                    degenerate,
                    blocks,
                    sample_weight,
                    scatter,
                    tol,
                    n_support,
                    max_iter,
                ),
                strict=True,
            )
        )
        done = []
        for run in finished:
            done += [run, *repaired.get(id(run), [])]
        return done

    def _iterate_runs(self, runs, blocks, sample_weight, scatter, tol, max_iter=None):
        """:meth:`_iterate` on each run, together when they can be stacked
        (:func:`iterate_stacked`); the ``ValueError`` that ended each run, or
        None."""
        max_iter = self.max_iter if max_iter is None else max_iter
        # A run continued from the screening whose last step already changed
        # its lower bound by less than ``tol`` has converged: another step
        # would move it past where a run straight to ``tol`` stops
        total = _total(blocks, sample_weight)
        relative = self._tol_relative()
        done = [_met_tol(run, tol, total, relative) for run in runs]
        if any(done):
            for run, met in zip(runs, done, strict=True):
                run.converged = run.converged or met
            going = [run for run, met in zip(runs, done, strict=True) if not met]
            failed = iter(
                self._iterate_runs(going, blocks, sample_weight, scatter, tol, max_iter)
                if going
                else []
            )
            return [None if met else next(failed) for met in done]
        if (
            len(runs) > 1
            and self.verbose == 0
            and not self._accelerated(runs[0].model, tol)
            and stackable(runs[0].model, blocks)
        ):
            return iterate_stacked(
                runs,
                blocks,
                sample_weight,
                scatter,
                self._reg_covar(),
                tol,
                max_iter,
                self._tol_relative(),
            )
        errors = []
        for run in runs:
            label = run.label if self.verbose else None
            if label:
                print(label)
            t_start = perf_counter()
            try:
                self._iterate(run, blocks, sample_weight, scatter, tol, max_iter)
            except ValueError as exc:
                errors.append(exc)
            else:
                errors.append(None)
                if label:
                    self._verbose_init_end(
                        run.lower_bound, run.converged, perf_counter() - t_start
                    )
        return errors

    def _iterate(self, run, blocks, sample_weight, scatter, tol, max_iter=None):
        """EM steps on ``run`` until the lower bound changes by less than
        ``tol`` or the run has taken ``max_iter`` (default: the estimator's)
        steps in all."""
        run.converged = False
        t_iter = perf_counter()
        max_iter = self.max_iter if max_iter is None else max_iter
        relative = self._tol_relative()
        total = _total(blocks, sample_weight)
        if self._accelerated(run.model, tol):
            _Squarem(self, run, blocks, sample_weight, scatter, tol, max_iter).iterate()
            return
        if (
            self.verbose == 0
            and stackable(run.model, blocks)
            and _compiled_pays(1, run.model.n_components, blocks.n, blocks.d)
            and _compiled_kind(run.model, blocks.X.dtype) is not None
        ):
            # small data: the compiled loop, as the stacked runs'
            (error,) = iterate_stacked(
                [run],
                blocks,
                sample_weight,
                scatter,
                self._reg_covar(),
                tol,
                max_iter,
                relative,
            )
            if error is not None:
                raise error
            return
        while run.n_iter < max_iter:
            prev = run.lower_bound
            run.model, run.weights, run.lower_bound = em_step(
                blocks,
                run.model,
                run.weights,
                sample_weight,
                self._reg_covar(),
                scatter,
            )
            run.n_iter += 1
            run.history.append(run.lower_bound)
            change = run.lower_bound - prev
            t_iter = self._verbose_iter(run.n_iter, change, t_iter)
            if abs(change) < tol_limit(tol, run.lower_bound, total, relative):
                run.converged = True
                break

    def _tol_relative(self):
        """Whether runs also stop by mclust's relative rule (:func:`tol_limit`;
        the estimator's ``tol_relative`` parameter, where it has one)."""
        return False

    def _reg_covar_relative(self):
        """Whether ``reg_covar`` is relative to the data (the estimator's
        ``reg_covar_relative`` parameter, where it has one): absolute here."""
        return False

    def _set_reg_covar(self, data_var):
        """Fix the regularisation of the fit on data of feature variances
        ``data_var`` (:func:`fit_reg_covar`); :meth:`_reg_covar` reads it."""
        self._fit_reg_covar = fit_reg_covar(
            self.reg_covar, data_var, self._reg_covar_relative()
        )

    def _reg_covar(self):
        """The regularisation of the fit under way: ``reg_covar``, or relative
        to the data (:meth:`_set_reg_covar`)."""
        return self.__dict__.get("_fit_reg_covar", self.reg_covar)

    def _acceleration(self):
        """The estimator's EM acceleration (its ``acceleration`` parameter,
        where it has one): None, plain EM, here."""
        return None

    def _accelerated(self, model=None, tol=None):
        """Whether the EM steps of runs (of ``model``, when given) to ``tol``
        are accelerated (:class:`_Squarem`): plain EM unless the estimator's
        ``acceleration`` asks for it, the model has model-independent
        statistics, and the runs go to the estimator's own ``tol`` (the
        screening of several starts to a looser one, short, stays plain EM
        and stacked)."""
        if self._acceleration() != "squarem":
            return False
        if tol is not None and tol > self.tol:
            return False
        return model is None or model.has_absolute_stats()

    def _check_weights(self, X, sample_weight):
        if sample_weight is None:
            return None
        sw = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not np.all(np.isfinite(sw)):
            raise ValueError("sample_weight must be finite (no NaN or inf).")
        if not np.any(sw > 0):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        # Scale-free: multiplying every weight by a constant changes nothing.
        # Dividing by the smallest positive weight keeps integer weights
        # (repetitions) as they are and tiny weights away from underflow.
        return sw / sw[sw > 0].min()

    # -- inference -------------------------------------------------------------
    def _posterior(self, X, **kwargs):
        check_is_fitted(self)
        if _is_dask_array(X):  # lazy per-row outputs, sums computed now
            return _dask_module().posterior(self, X, **kwargs)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._posterior_validated(X, **kwargs)

    def _fitted_model(self, X):
        """The fitted (published) model centred for X, its weights and the
        blocks of X, centred at the weighted mean of the components."""
        weights = np.asarray(self.weights_, dtype=np.float64)
        center = weights @ np.asarray(self.means_, dtype=np.float64) / weights.sum()
        return self._get_model(center), weights, _Blocks(X, center, self._row_width())

    def _posterior_validated(self, X, **kwargs):
        """E-step outputs of validated X under the fitted (published) model,
        arrays in X's dtype (whatever dtype they were computed in)."""
        dtype = X.dtype
        X = _compute_array(X)
        model, weights, blocks = self._fitted_model(X)
        with blocks.limits():
            out = posterior_pass(blocks, model, weights, **kwargs)
        for key in ("log_norm", "resp"):
            if key in out:
                out[key] = out[key].astype(dtype, copy=False)
        return out

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x_i)`` for each row.
        """
        return self._posterior(X)["log_norm"]

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the samples (weighted when weights are given).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the mean.

        Returns
        -------
        log_likelihood : float
            Mean of ``log p(x_i)``.
        """
        if _is_dask_array(X):  # one pass on the workers, computed now
            check_is_fitted(self)
            return _dask_module().score(self, X, sample_weight)
        log_prob = self.score_samples(X)
        if sample_weight is None:
            return float(np.mean(log_prob, dtype=np.float64))
        # (checked as fit checks them: finite, non-negative, one positive)
        sw = self._check_weights(log_prob[:, None], sample_weight)
        return float(sw @ log_prob / sw.sum())

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        return self._posterior(X, labels=True, log_norm=False)["labels"]

    def predict_proba(self, X):
        """Posterior probability (responsibility) of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Rows sum to one.
        """
        return self._posterior(X, resp=True, log_norm=False)["resp"]

    def _criterion_parts(self, X):
        post = self._posterior(X, log_norm=False, entropy=True)
        return post["ll_sum"], post["entropy_sum"], _num_rows(X)

    def bic(self, X):
        """Bayesian information criterion of the model on X (lower is better).

        ``BIC = -2 log L + p log n`` with ``p`` the number of free parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        bic : float
            The criterion; lower is better.
        """
        ll, _, n = self._criterion_parts(X)
        return -2.0 * ll + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion of the model on X (lower is better).

        ``AIC = -2 log L + 2 p``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        aic : float
            The criterion; lower is better.
        """
        ll, _, _ = self._criterion_parts(X)
        return -2.0 * ll + 2.0 * self._n_parameters()

    def icl(self, X):
        """Integrated completed likelihood criterion on X (lower is better).

        ``ICL = BIC + 2 sum_i H(r_i)`` where ``H(r_i) = -sum_k r_ik log r_ik``
        is the entropy of the responsibilities of sample ``i``: it penalises
        components that overlap, so it tends to choose fewer, better separated
        clusters than BIC (Biernacki, Celeux & Govaert, 2000).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        icl : float
            The criterion; lower is better.
        """
        ll, ent, n = self._criterion_parts(X)
        return -2.0 * ll + self._n_parameters() * math.log(n) + 2.0 * ent

    # -- sampling ----------------------------------------------------------------
    def sample(self, n_samples=1):
        """Draw random samples from the fitted mixture.

        The number of samples of each component is multinomial with the
        mixing weights; each component then draws its own, with the
        estimator's ``random_state``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples, grouped by component, in the dtype of the fitted model.
        y : ndarray of shape (n_samples,)
            The component of each sample.

        Examples
        --------
        >>> import numpy as np
        >>> from gmm_estimators import GaussianMixture
        >>> X = np.random.RandomState(0).normal(size=(100, 2))
        >>> X_new, y_new = GaussianMixture(2, random_state=0).fit(X).sample(5)
        >>> X_new.shape, y_new.shape
        ((5, 2), (5,))
        """
        check_is_fitted(self)
        if int(n_samples) < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling requires at "
                "least one sample."
            )
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(int(n_samples), weights / weights.sum())
        model = self._sampling_model()
        X = np.vstack(
            [model.sample_component(rng, k, c) for k, c in enumerate(counts)]
        ).astype(self.means_.dtype, copy=False)
        y = np.repeat(np.arange(len(counts)), counts)
        return X, y

    # -- verbose -----------------------------------------------------------------
    def _verbose_init_begin(self, n_init):
        if self.verbose:
            print(f"Initialization {n_init}")

    def _verbose_iter(self, n_iter, change, t_prev):
        now = perf_counter()
        if n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            elif self.verbose >= 2:
                print(
                    f"  Iteration {n_iter}\t time lapse {now - t_prev:.5f}s\t ll change {change:.5f}"
                )
            return now
        return t_prev

    def _verbose_init_end(self, lower_bound, converged, elapsed, screen_tol=None):
        state = "converged" if converged else "did not converge"
        if screen_tol is not None:
            # (the best screened runs continue to tol, each under its own
            # "Continuing initialization" line)
            state = (
                f"screened (its lower bound changed by less than {screen_tol:g})"
                if converged
                else "screened (stopped at the screening's step limit)"
            )
        if self.verbose == 1:
            print(f"Initialization {state}.")
        elif self.verbose >= 2:
            print(
                f"Initialization {state}. time lapse {elapsed:.5f}s\t lower bound {lower_bound:.5f}."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _other_optima(best, runs, blocks, sample_weight, limit):
    """At most ``limit`` of ``runs`` (in their order) that are regular and
    whose hard partition of the rows of ``blocks`` (weights
    ``sample_weight`` or None) differs from ``best``'s and from each
    other's, up to the names of the parts (:func:`_same_partition`)."""
    if limit < 1:
        return []

    def partition(run):
        with np.errstate(divide="ignore", invalid="ignore"):
            return posterior_pass(
                blocks, run.model, run.weights, labels=True, log_norm=False
            )["labels"]

    seen = [partition(best)]
    chosen = []
    for run in runs:
        if len(chosen) >= limit:
            break
        if run.reason:
            continue
        labels = partition(run)
        if not any(_same_partition(labels, s, sample_weight) for s in seen):
            chosen.append(run)
            seen.append(labels)
    return chosen


def _same_partition(a, b, sample_weight=None):
    """Whether the labels ``a`` and ``b`` make the same partition of the
    rows up to the names of the parts: in their weighted contingency table,
    the largest cell of every row and of every column together hold at least
    :data:`SAME_PARTITION` of the weight, both ways."""
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * nb + b, weights=sample_weight, minlength=na * nb)
    table = table.reshape(na, nb)
    total = table.sum()
    return bool(
        table.max(axis=1).sum() >= SAME_PARTITION * total
        and table.max(axis=0).sum() >= SAME_PARTITION * total
    )


def _regular_if_any(runs):
    """The regular ones of the screened ``runs`` that would go on to ``tol``,
    when there is one: a degenerate run ranks below every regular one
    (:meth:`_Run.judge`), so continuing it is wasted unless it turns regular;
    it stays where the screening left it.  On small data, continuing them
    took much of the fourteen-model search's time (DNase, 176 x 2: 31 s
    instead of 37 s; Orange: 11 s instead of 15 s).

    When every run is degenerate, those that may still turn regular go on
    (too few effective points, or collapsed onto the recorded values: more
    steps can move a component off them).  A run with a component singular
    but for ``reg_covar`` cannot: its further steps only hold that variance
    at ``reg_covar``, its lower bound creeping or wavering by rounding, and
    such runs crept on to ``max_iter``.  They go on only where no other run
    can, and then only the best of them (the first of ``runs``, which come
    best first), for at most :data:`SINGULAR_MORE_ITER` more steps: the fit's
    answer, converged where it meets ``tol`` within them.  Continuing every
    such run to ``max_iter`` had taken much of the fourteen-model search's
    time on data with few rows for their dimensions or with 0/1 columns (R's
    ``crimtab``, 42 x 22: 28.9 s, now 8.2 s; ``volcano``, 87 x 61: 45.7 s,
    now 27.4 s; ``Seatbelts``: 4.0 s, now 2.9 s)."""
    regular = [run for run in runs if not run.reason]
    return regular or [run for run in runs if not run.singular] or runs[:1]


def fit_error(errors):
    """The error a fit whose every start failed raises, of the starts'
    ``errors``: the first of a start that ran (a skipped start,
    :class:`~gmm_estimators._init.SkippedStart`, says only that it repeats
    another)."""
    return next((e for e in errors if not isinstance(e, SkippedStart)), errors[0])


def _best_runs(runs, n):
    """The ``n`` best runs, by :func:`_beats` (the earlier run on ties)."""
    left, chosen = list(runs), []
    while left and len(chosen) < n:
        best = left[0]
        for run in left[1:]:
            if _beats(run.key, best.key):
                best = run
        chosen.append(best)
        left.remove(best)
    return chosen


def _beats(key, best):
    """Whether a run's (regular, lower bound) beats the best so far.

    Lower bounds within a relative 1e-10 are ties, won by the earlier run:
    runs that reach the same optimum differ only by rounding, which would
    otherwise decide between their (permuted) component orders.
    """
    if key[0] != best[0]:
        return key[0]
    if not np.isfinite(best[1]):
        return key[1] > best[1]
    return key[1] > best[1] + 1e-10 * max(1.0, abs(best[1]))


#: float32 data beyond this magnitude are computed in float64: their squares
#: summed over rows would overflow float32 (max 3.4e38).
FLOAT32_SAFE = 1e15


#: float32 data of at most this many values are computed in float64: the copy
#: is small, and float32 sums over few rows lose digits that matter (a
#: mixture of PPCA on 30 rows of a noisy line was 0.3 nats off).
FLOAT32_SMALL = 2**18


def _publish_model(est, model, weights, dtype):
    """``est._set_model(model, weights, dtype)``, then a ``ValueError`` when a
    fitted attribute of a fit on float32 data does not fit in float32 (the
    fit runs in float64 on data beyond float32's safe range, and its
    attributes keep the data's dtype: data of magnitude 1e20 have variances
    near 1e40, beyond float32's 3.4e38)."""
    with np.errstate(over="ignore"):  # (said by the check below)
        est._set_model(model, weights, dtype)
    if dtype != np.float32:
        return
    bad = [
        name
        for name, value in vars(est).items()
        if name.endswith("_")
        and isinstance(value, np.ndarray)
        and value.dtype == np.float32
        and not np.isfinite(value).all()
    ]
    if bad:
        raise ValueError(
            f"The fitted {', '.join(bad)} exceed float32's range (about "
            f"{np.finfo(np.float32).max:.2g}) on these float32 data: pass the "
            "data as float64, or rescale them."
        )


def _compute_array(X):
    """X, or a float64 copy of float32 data that are small or too large for
    float32 arithmetic.

    The fitted attributes keep the input's dtype either way.
    """
    if (
        X.dtype == np.float32
        and X.size
        and (X.size <= FLOAT32_SMALL or max_abs(X) > FLOAT32_SAFE)
    ):
        return X.astype(np.float64)
    return X


def _num_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _is_dask_array(X):
    """Whether X is a Dask array (checked without importing dask, an
    optional dependency)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "__dask_graph__")


def _dask_module():
    """:mod:`gmm_estimators._dask`, imported on first use."""
    from . import _dask

    return _dask
