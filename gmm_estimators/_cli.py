"""The ``gmm-estimators`` command line (also ``python -m gmm_estimators``).

Without a command it runs the demo: :class:`GaussianMixtureSelector` on the
standardised wine data, a summary on stdout and a figure in the working
directory. The commands ``fit``, ``predict`` and ``reduce`` work on numeric CSV
files (read with the standard :mod:`csv` module, no pandas needed).

Bad input never ends in a traceback: it gets one line on stderr,
``gmm-estimators: error: ...``, and exit status 2. Progress goes to stderr,
results to stdout.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import contextlib
import csv
import os
import sys
import time
import warnings

import numpy as np

PROG = "gmm-estimators"
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
CRITERIA = ("bic", "aic", "icl", "cv")
PLOT_HINT = "pip install gmm-estimators[plot]"
DEMO_FIGURE = "gmm_estimators_wine.png"
_TRACEBACK_ENV = "GMM_ESTIMATORS_TRACEBACK"


class CLIError(Exception):
    """Bad input or a failed run: one line on stderr and exit status 2."""


class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _one_line(exc):
    """The message of an exception on a single line."""
    return " ".join(str(exc).split()) or type(exc).__name__


# -- option types -------------------------------------------------------------
def _components_range(text):
    """Parse ``--components``: ``1-10``, ``3``, ``2,4,8`` or ``2-5,8``."""
    values = set()
    for part in text.split(","):
        bounds = part.strip().split("-")
        try:
            if len(bounds) == 1:
                low = high = int(bounds[0])
            elif len(bounds) == 2:
                low, high = int(bounds[0]), int(bounds[1])
            else:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a range of numbers of components; write it as "
                "'1-10', '3' or '2,4,8'"
            ) from None
        if low < 1 or high < low:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a valid range: numbers of components start at 1 "
                "and a range 'A-B' needs A <= B"
            )
        values.update(range(low, high + 1))
    return sorted(values)


def _covariance_types(text):
    """Parse ``--covariance``: a comma-separated list of covariance types."""
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in COVARIANCE_TYPES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown covariance type {unknown[0]!r}; choose from "
            f"{', '.join(COVARIANCE_TYPES)} (comma-separated)"
        )
    return tuple(dict.fromkeys(names))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# -- CSV input and output ---------------------------------------------------------
def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _describe_column(j, names):
    """``column 3 ('alcohol')`` for messages; columns count from 1."""
    if names is not None and names[j]:
        return f"column {j + 1} ({names[j]!r})"
    return f"column {j + 1}"


def read_csv(path):
    """Read a numeric CSV file, with or without a header row.

    The first non-blank row is a header when none of its cells is a number.
    Blank lines are skipped. Rows are counted as in a spreadsheet: the file's
    first line is row 1.

    Parameters
    ----------
    path : str
        The file to read (UTF-8, comma-separated).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The data, as float64.
    names : list of str or None
        The column names from the header row, or None without one.

    Raises
    ------
    CLIError
        When the file is missing, unreadable, empty, ragged or has a cell
        that is not a finite number (the message says its row and column).
    """
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    names = None
    n_columns = None
    first_row = None
    chunks, chunk, rows = [], [], []
    with handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                line = reader.line_num
                if n_columns is None:
                    n_columns, first_row = len(row), line
                    if not any(_is_number(cell) for cell in row):
                        names = [cell.strip() for cell in row]
                        continue
                if len(row) != n_columns:
                    raise CLIError(
                        f"{path}, row {line}: {len(row)} fields, but row "
                        f"{first_row} has {n_columns} (every row needs the same "
                        "number of columns)"
                    )
                try:
                    chunk.append(list(map(float, row)))
                except ValueError:
                    j = next(j for j, cell in enumerate(row) if not _is_number(cell))
                    what = (
                        "an empty cell"
                        if not row[j].strip()
                        else f"{row[j].strip()!r}, which is not a number"
                    )
                    hint = (
                        " (a header row must name every column)"
                        if line == first_row
                        else ""
                    )
                    raise CLIError(
                        f"{path}, row {line}, {_describe_column(j, names)}: "
                        f"{what}{hint}"
                    ) from None
                rows.append(line)
                if len(chunk) == 65536:
                    chunks.append(np.array(chunk))
                    chunk = []
        except csv.Error as exc:
            raise CLIError(f"{path}, row {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise CLIError(f"{path} is not a UTF-8 text (CSV) file") from None
        except OSError as exc:
            raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    if chunk:
        chunks.append(np.array(chunk))
    if not chunks:
        if names is not None:
            raise CLIError(f"{path} has a header row but no data rows")
        raise CLIError(f"{path} is empty")
    X = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise CLIError(
            f"{path}, row {rows[i]}, {_describe_column(j, names)}: "
            f"'{float(X[i, j])}' is "
            "not a finite number (missing values are not supported)"
        )
    return X, names


def _check_output(path):
    """Fail before a long run if ``path`` cannot be written."""
    if path in (None, "-"):
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(f"cannot write {path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise CLIError(f"cannot write {path}: it is a directory")


@contextlib.contextmanager
def _open_output(path):
    if path == "-":
        yield sys.stdout
        return
    try:
        handle = open(path, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    with handle:
        yield handle


def write_csv(path, columns, header, formats):
    """Write columns of numbers to a CSV file with a header row.

    Parameters
    ----------
    path : str
        Output file, or ``'-'`` for stdout.
    columns : ndarray of shape (n_rows, n_columns)
        The values.
    header : list of str
        Column names.
    formats : list of str
        The printf-style format of each column.
    """
    with _open_output(path) as handle:
        np.savetxt(
            handle,
            columns,
            fmt=formats,
            delimiter=",",
            header=",".join(header),
            comments="",
        )


def _write_labels(path, estimator, X):
    """Write ``label, proba_0, ...`` for every row of X; return the labels."""
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        labels = np.argmax(proba, axis=1)
        columns = np.column_stack([labels, proba])
        header = ["label"] + [f"proba_{k}" for k in range(proba.shape[1])]
        formats = ["%d"] + ["%.8g"] * proba.shape[1]
    else:
        labels = np.asarray(estimator.predict(X))
        columns, header, formats = labels[:, None], ["label"], ["%d"]
    write_csv(path, columns, header, formats)
    return labels


# -- progress and messages --------------------------------------------------------
class _Progress:
    """A file-like object that forwards the selector's verbose lines to stderr.

    On a terminal each line overwrites the previous one; otherwise (a log, a
    pipe) every line is kept.
    """

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.buffer = ""
        self.width = 0

    def write(self, text):
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            if self.tty:
                line = line[:100]
                self.stream.write("\r" + line.ljust(self.width))
                self.width = len(line)
            else:
                self.stream.write(line + "\n")
        self.stream.flush()
        return len(text)

    def flush(self):
        self.stream.flush()

    def close(self):
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


@contextlib.contextmanager
def _progress_to_stderr(enabled):
    """Send what is printed inside to stderr as progress (or nowhere)."""
    if not enabled:
        with contextlib.redirect_stdout(open(os.devnull, "w")) as devnull:
            try:
                yield
            finally:
                devnull.close()
        return
    progress = _Progress(sys.stderr)
    try:
        with contextlib.redirect_stdout(progress):
            yield
    finally:
        progress.close()


def _info(args, message):
    """A progress message on stderr, unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _warnings_as_lines():
    """Print warnings as ``gmm-estimators: warning: ...`` lines."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


# -- model selection (shared by the demo and ``fit``) -----------------------------------
def _select(X, args):
    """Fit a GaussianMixtureSelector with the command-line options."""
    from ._selection import GaussianMixtureSelector

    n_candidates = len(args.components) * len(args.covariance)
    folds = f", {args.cv}-fold cross-validation" if args.criterion == "cv" else ""
    _info(
        args,
        f"Selecting among {n_candidates} Gaussian mixtures (components "
        f"{_format_components(args.components)}; covariance "
        f"{', '.join(args.covariance)}) by {args.criterion.upper()}{folds}, on "
        f"{X.shape[0]} rows x {X.shape[1]} columns ...",
    )
    selector = GaussianMixtureSelector(
        n_components=args.components,
        covariance_type=args.covariance,
        criterion=args.criterion,
        cv=args.cv,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        verbose=1,
    )
    start = time.perf_counter()
    try:
        with _progress_to_stderr(not args.quiet), _thread_limits(X):
            selector.fit(X)
    except ValueError as exc:
        raise CLIError(f"model selection failed: {_one_line(exc)}") from None
    _info(args, f"Done in {time.perf_counter() - start:.1f} s.")
    return selector


#: Below this many values in X, fits run on one thread (see _thread_limits).
_SMALL_DATA = 100_000


def _thread_limits(X):
    """One BLAS/OpenMP thread for small data, the default otherwise.

    Small fits (the demo's 178 x 13 wine data) are dominated by thread start-up
    and, on a busy machine, by threads waiting for a core: the demo takes about
    2.5 times longer with two threads than with one on a loaded 2-core machine.
    """
    if X.size > _SMALL_DATA:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _format_components(values):
    if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{values[0]}-{values[-1]}"
    return ",".join(map(str, values))


def _check_rows(path, X, n_components):
    needed = max(2, n_components)
    if X.shape[0] < needed:
        raise CLIError(
            f"{path} has {X.shape[0]} data row{'s' * (X.shape[0] != 1)}: too few "
            f"for {n_components} component{'s' * (n_components != 1)} (at least "
            f"{needed} rows needed; lower --components)"
        )


def _criterion_table(selector, n_rows=5):
    """The best rows of ``cv_results_`` as aligned text."""
    results = selector.cv_results_
    order = np.argsort(results["rank_test_score"], kind="stable")[:n_rows]
    columns = [("rank", "rank_test_score", "d"), ("K", "param_n_components", "d")]
    if "param_covariance_type" in results:
        columns.append(("covariance", "param_covariance_type", "s"))
    columns += [("BIC", "bic", ".1f"), ("AIC", "aic", ".1f"), ("ICL", "icl", ".1f")]
    if "mean_test_score" in results:
        columns.append(("held-out ll", "mean_test_score", ".4f"))
    columns += [
        ("log-lik/row", "log_likelihood", ".4f"),
        ("parameters", "n_parameters", "d"),
        ("converged", "converged", "s"),
    ]
    cells = [[title for title, _, _ in columns]]
    for i in order:
        row = []
        for _, key, fmt in columns:
            value = results[key][i]
            if value is np.ma.masked:
                row.append("-")
            elif fmt == "s":
                row.append(
                    str(value if not isinstance(value, np.bool_) else bool(value))
                )
            else:
                row.append(format(float(value) if fmt != "d" else int(value), fmt))
        cells.append(row)
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    return "\n".join(
        "  "
        + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    )


def _summary(selector, labels):
    """Lines describing the selected model."""
    criterion = selector.criterion.upper()
    n_candidates = len(selector.cv_results_["params"])
    cov = selector.covariance_type_
    score = (
        f"held-out log-likelihood {-selector.best_score_:.4f} per row"
        if selector.criterion == "cv"
        else f"{criterion} = {selector.best_score_:.1f}"
    )
    sizes = np.bincount(labels, minlength=selector.n_components_)
    return [
        f"Selected: {selector.n_components_} component"
        f"{'s' * (selector.n_components_ != 1)}"
        + (f", covariance type '{cov}'" if cov is not None else "")
        + f" ({score}, best of {n_candidates} candidates).",
        (
            "Best candidates by held-out log-likelihood (higher is better):"
            if selector.criterion == "cv"
            else f"Best candidates by {criterion} (lower is better):"
        ),
        _criterion_table(selector),
        _sizes_line(sizes),
    ]


def _sizes_line(sizes):
    """``Cluster sizes: 0: 45, 1: 50.``"""
    return "Cluster sizes: " + ", ".join(f"{k}: {n}" for k, n in enumerate(sizes)) + "."


# -- figures --------------------------------------------------------------------
def _have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _full_covariances(mixture):
    """The covariance matrix of every component, shape (K, d, d)."""
    means = np.asarray(mixture.means_)
    K, d = means.shape
    cov = np.asarray(mixture.covariances_)
    kind = getattr(mixture, "covariance_type", "full")
    if kind == "tied":
        return np.broadcast_to(cov, (K, d, d))
    if kind == "diag":
        return cov[:, :, None] * np.eye(d)
    if kind == "spherical":
        return cov[:, None, None] * np.eye(d)
    return cov


def _draw_clusters(ax, X, labels, mixture, classes=None):
    """Scatter of X in its first two principal components, coloured by cluster.

    With ``classes``, the marker shows the known class. Components of
    ``mixture`` (when it has means and covariances) are drawn as ellipses at
    two standard deviations, projected on the same plane.
    """
    from matplotlib.patches import Ellipse
    from sklearn.decomposition import PCA

    colors = [f"C{k % 10}" for k in labels]
    if X.shape[1] == 1:
        K = int(labels.max()) + 1
        ax.hist(
            [X[labels == k, 0] for k in range(K)],
            bins=30,
            stacked=True,
            color=[f"C{k % 10}" for k in range(K)],
            label=[f"cluster {k}" for k in range(K)],
        )
        ax.set_xlabel("value")
        ax.set_ylabel("rows")
        ax.legend()
        return
    pca = PCA(n_components=2).fit(X)
    Z = pca.transform(X)
    if classes is None:
        ax.scatter(Z[:, 0], Z[:, 1], c=colors, s=14, alpha=0.8, linewidths=0)
    else:
        markers = "o^sPDv*X"
        for i, cls in enumerate(np.unique(classes)):
            rows = classes == cls
            ax.scatter(
                Z[rows, 0],
                Z[rows, 1],
                c=[colors[r] for r in np.flatnonzero(rows)],
                marker=markers[i % len(markers)],
                s=22,
                alpha=0.85,
                linewidths=0,
                label=f"class {cls}",
            )
        legend = ax.legend(title="marker: known class", fontsize="small")
        # legend_handles: matplotlib >= 3.7; legendHandles before
        handles = getattr(legend, "legend_handles", None) or legend.legendHandles
        for handle in handles:
            handle.set_color("0.3")
    if hasattr(mixture, "means_") and hasattr(mixture, "covariances_"):
        means = pca.transform(mixture.means_)
        V = pca.components_
        for k, cov in enumerate(_full_covariances(mixture)):
            values, vectors = np.linalg.eigh(V @ cov @ V.T)
            angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
            width, height = 2 * 2 * np.sqrt(np.maximum(values[::-1], 0))
            ax.add_patch(
                Ellipse(
                    means[k],
                    width,
                    height,
                    angle=angle,
                    fill=False,
                    edgecolor=f"C{k % 10}",
                    linewidth=2,
                )
            )
            ax.plot(*means[k], marker="x", color="black", markersize=8)
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"first principal component ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"second principal component ({ratio[1]:.0%} of variance)")


def _save_figure(path, selector, X, labels, title, classes=None):
    """Criterion curves (left) and the clusters (right), saved to ``path``."""
    from matplotlib.figure import Figure

    from .plotting import CriterionDisplay

    fig = Figure(figsize=(12, 5), layout="constrained")
    ax_criterion, ax_clusters = fig.subplots(1, 2)
    CriterionDisplay.from_estimator(selector, ax=ax_criterion)
    ax_criterion.set_title("Model selection")
    _draw_clusters(ax_clusters, X, labels, selector.best_estimator_, classes)
    ax_clusters.set_title(
        f"{selector.n_components_} clusters"
        + (
            f" ({selector.covariance_type_} covariance)"
            if selector.covariance_type_
            else ""
        )
        + ", ellipses at 2 standard deviations"
    )
    fig.suptitle(title)
    try:
        fig.savefig(path, dpi=110)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write the figure {path}: {_one_line(exc)}") from None


# -- commands ---------------------------------------------------------------------
def run_demo(args):
    """Choose a Gaussian mixture for the standardised wine data and draw it."""
    from sklearn.datasets import load_wine
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    figure = None if args.no_figure else args.figure
    _check_output(figure)
    wine = load_wine()
    X = StandardScaler().fit_transform(wine.data)
    print(
        f"Wine data: {X.shape[0]} wines x {X.shape[1]} chemical measurements "
        f"(standardised), {len(wine.target_names)} known cultivars."
    )
    selector = _select(X, args)
    labels = selector.labels_
    for line in _summary(selector, labels):
        print(line)
    ari = adjusted_rand_score(wine.target, labels)
    print(
        f"Adjusted Rand index against the known cultivars: {ari:.3f} "
        "(1 = the same partition, 0 = chance)."
    )
    print("Cultivar x cluster counts:")
    K = selector.n_components_
    table = np.zeros((len(wine.target_names), K), dtype=int)
    np.add.at(table, (wine.target, labels), 1)
    print("  cultivar  " + " ".join(f"{k:>4}" for k in range(K)))
    for c, row in enumerate(table):
        print(f"  {c:>8}  " + " ".join(f"{n:>4}" for n in row))
    if figure is None:
        return 0
    if not _have_matplotlib():
        print(
            "matplotlib is not installed, so no figure was drawn; get it with: "
            f"{PLOT_HINT}"
        )
        return 0
    _save_figure(
        figure,
        selector,
        X,
        labels,
        f"Wine data: {selector.criterion.upper()} selects {K} components "
        f"(adjusted Rand index {ari:.2f} against the cultivars)",
        classes=wine.target,
    )
    print(f"Wrote the figure {os.path.abspath(figure)}")
    return 0


def run_fit(args):
    """``gmm-estimators fit``: select a mixture for a CSV file."""
    if args.plot and not _have_matplotlib():
        raise CLIError(f"--plot needs matplotlib; install it with: {PLOT_HINT}")
    for path in (args.out, args.model, args.plot):
        _check_output(path)
    X, _ = read_csv(args.data)
    _check_rows(args.data, X, max(args.components))
    selector = _select(X, args)
    labels = _write_labels(args.out, selector.best_estimator_, X)
    report = sys.stderr if args.out == "-" else sys.stdout
    for line in _summary(selector, labels):
        print(line, file=report)
    if args.out != "-":
        print(f"Wrote labels and probabilities of {X.shape[0]} rows to {args.out}")
    if args.model:
        _dump(selector.best_estimator_, args.model)
        print(
            f"Saved the selected {type(selector.best_estimator_).__name__} to "
            f"{args.model}",
            file=report,
        )
    if args.plot:
        _save_figure(
            args.plot,
            selector,
            X,
            labels,
            f"{os.path.basename(args.data)}: {selector.criterion.upper()} selects "
            f"{selector.n_components_} components",
        )
        print(f"Wrote the figure {args.plot}", file=report)
    return 0


def _dump(estimator, path):
    import joblib

    try:
        joblib.dump(estimator, path)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None


def run_predict(args):
    """``gmm-estimators predict``: label a CSV file with a saved model."""
    import joblib

    _check_output(args.out)
    if not os.path.isfile(args.model):
        raise CLIError(f"{args.model}: no such file")
    try:
        model = joblib.load(args.model)
    except Exception as exc:
        raise CLIError(
            f"cannot load a model from {args.model} (is it a file written by "
            f"'{PROG} fit --model'?): {_one_line(exc)}"
        ) from None
    if not hasattr(model, "predict") or not hasattr(model, "n_features_in_"):
        raise CLIError(
            f"{args.model} holds a {type(model).__name__}, not a fitted mixture"
        )
    X, _ = read_csv(args.data)
    if X.shape[1] != model.n_features_in_:
        raise CLIError(
            f"{args.data} has {X.shape[1]} column{'s' * (X.shape[1] != 1)}, but the "
            f"model in {args.model} was fitted on {model.n_features_in_}"
        )
    try:
        labels = _write_labels(args.out, model, X)
    except ValueError as exc:
        raise CLIError(f"prediction failed: {_one_line(exc)}") from None
    report = sys.stderr if args.out == "-" else sys.stdout
    n_components = getattr(model, "n_components", int(labels.max()) + 1)
    sizes = np.bincount(labels, minlength=n_components)
    print(
        f"Predicted {X.shape[0]} rows with the {type(model).__name__} in "
        f"{args.model} ({n_components} components).",
        file=report,
    )
    print(
        _sizes_line(sizes),
        file=report,
    )
    if args.out != "-":
        print(f"Wrote labels and probabilities to {args.out}")
    return 0


def run_reduce(args):
    """``gmm-estimators reduce``: per-component reduction with MixtureOfPPCA."""
    from ._ppca import MixtureOfPPCA

    for path in (args.out, args.model):
        _check_output(path)
    X, _ = read_csv(args.data)
    _check_rows(args.data, X, args.components)
    if args.latent >= X.shape[1]:
        raise CLIError(
            f"--latent {args.latent} must be less than the number of columns of "
            f"{args.data} ({X.shape[1]})"
        )
    _info(
        args,
        f"Fitting a mixture of {args.components} probabilistic PCA components with "
        f"{args.latent} latent dimensions on {X.shape[0]} rows x {X.shape[1]} "
        "columns ...",
    )
    model = MixtureOfPPCA(
        n_components=args.components,
        n_latent=args.latent,
        random_state=args.random_state,
    )
    start = time.perf_counter()
    try:
        with _thread_limits(X):
            model.fit(X)
            reduced = model.transform(X)
        names = [str(name) for name in model.get_feature_names_out()]
    except ValueError as exc:
        raise CLIError(f"fitting MixtureOfPPCA failed: {_one_line(exc)}") from None
    _info(args, f"Done in {time.perf_counter() - start:.1f} s.")
    reduced = np.asarray(reduced)
    write_csv(args.out, reduced, names, ["%.8g"] * reduced.shape[1])
    report = sys.stderr if args.out == "-" else sys.stdout
    labels = np.asarray(model.predict(X))
    sizes = np.bincount(labels, minlength=args.components)
    print(
        f"MixtureOfPPCA: {args.components} components, {args.latent} latent "
        f"dimensions; mean log-likelihood {model.score(X):.4f} per row.",
        file=report,
    )
    print(
        _sizes_line(sizes),
        file=report,
    )
    if args.out != "-":
        print(
            f"Wrote {reduced.shape[1]} columns ({', '.join(names[:4])}"
            f"{', ...' if len(names) > 4 else ''}) of {X.shape[0]} rows to {args.out}"
        )
    if args.model:
        _dump(model, args.model)
        print(f"Saved the MixtureOfPPCA to {args.model}", file=report)
    return 0


# -- the parser -------------------------------------------------------------------
def _add_selection_options(parser, default_components):
    group = parser.add_argument_group("model selection")
    group.add_argument(
        "--components",
        type=_components_range,
        default=_components_range(default_components),
        metavar="RANGE",
        help=f"numbers of components to try, e.g. 1-10, 3 or 2,4,8 "
        f"(default: {default_components})",
    )
    group.add_argument(
        "--covariance",
        type=_covariance_types,
        default=COVARIANCE_TYPES,
        metavar="TYPES",
        help="covariance types to try, comma-separated, among "
        f"{','.join(COVARIANCE_TYPES)} (default: all four)",
    )
    group.add_argument(
        "--criterion",
        choices=CRITERIA,
        default="bic",
        help="how to compare the candidates: BIC, AIC, ICL or cross-validated "
        "held-out log-likelihood (default: bic)",
    )
    group.add_argument(
        "--cv",
        type=_positive_int,
        default=5,
        metavar="FOLDS",
        help="folds for --criterion cv (default: 5)",
    )
    _add_run_options(parser)


def _add_run_options(parser, *, n_jobs=True):
    group = parser.add_argument_group("run")
    group.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the initialisations, for reproducible results (default: 0)",
    )
    if n_jobs:
        group.add_argument(
            "--n-jobs",
            type=int,
            default=None,
            metavar="N",
            help="candidates fitted in parallel; -1 uses every core (default: 1)",
        )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print no progress on stderr",
    )


def build_parser():
    """The argument parser of ``gmm-estimators`` (and ``python -m gmm_estimators``).

    Returns
    -------
    argparse.ArgumentParser
        Parser whose result has a ``command`` attribute: ``None`` for the demo,
        else ``'fit'``, ``'predict'`` or ``'reduce'``.
    """
    from . import __version__

    parser = _ArgumentParser(
        prog=PROG,
        description="Gaussian mixture models from the command line. Without a "
        "command, run the demo: choose a mixture for the wine data "
        "(sklearn.datasets.load_wine, standardised) by BIC, print the chosen "
        "model and how well it recovers the three cultivars, and write a figure "
        f"({DEMO_FIGURE}) to the working directory.",
        epilog="Run 'gmm-estimators COMMAND --help' for the options of a command. "
        "CSV files are comma-separated numbers, one row per sample, with or "
        "without a header row of column names.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    demo = parser.add_argument_group("demo (no command)")
    demo.add_argument(
        "--figure",
        default=DEMO_FIGURE,
        metavar="PNG",
        help=f"where the demo writes its figure (default: {DEMO_FIGURE})",
    )
    demo.add_argument(
        "--no-figure",
        action="store_true",
        help="draw no figure",
    )
    _add_selection_options(parser, "1-10")
    parser.set_defaults(command=None, func=run_demo)

    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    fit = commands.add_parser(
        "fit",
        help="select a Gaussian mixture for a CSV file and label its rows",
        description="Select the number of components and covariance type of a "
        "Gaussian mixture for the rows of a numeric CSV file, write each row's "
        "cluster label and component probabilities, and optionally save the model "
        "and a figure.",
    )
    fit.add_argument("data", help="numeric CSV file, with or without a header row")
    fit.add_argument(
        "--out",
        required=True,
        metavar="CSV",
        help="where to write 'label,proba_0,...', one row per input row ('-' for "
        "stdout)",
    )
    fit.add_argument(
        "--model",
        metavar="JOBLIB",
        help="save the selected GaussianMixture here (joblib), for 'predict'",
    )
    fit.add_argument(
        "--plot",
        metavar="PNG",
        help="draw the criterion curves and the clusters here (needs matplotlib)",
    )
    _add_selection_options(fit, "1-10")
    fit.set_defaults(command="fit", func=run_fit)

    predict = commands.add_parser(
        "predict",
        help="label the rows of a CSV file with a saved model",
        description="Label the rows of a numeric CSV file with a model saved by "
        "'gmm-estimators fit --model' (or any fitted mixture saved with joblib). "
        "Loading a model runs pickle: load only files you trust.",
    )
    predict.add_argument("model", help="model file written by 'fit --model'")
    predict.add_argument("data", help="numeric CSV file, with or without a header row")
    predict.add_argument(
        "--out",
        required=True,
        metavar="CSV",
        help="where to write 'label,proba_0,...' ('-' for stdout)",
    )
    predict.set_defaults(command="predict", func=run_predict)

    reduce = commands.add_parser(
        "reduce",
        help="reduce dimension per component with a mixture of probabilistic PCA",
        description="Fit a MixtureOfPPCA to a numeric CSV file and write its "
        "transform: the latent coordinates of every row.",
    )
    reduce.add_argument("data", help="numeric CSV file, with or without a header row")
    reduce.add_argument(
        "--components",
        type=_positive_int,
        required=True,
        metavar="K",
        help="number of mixture components",
    )
    reduce.add_argument(
        "--latent",
        type=_positive_int,
        default=2,
        metavar="Q",
        help="latent dimensions per component, less than the number of columns "
        "(default: 2)",
    )
    reduce.add_argument(
        "--out",
        required=True,
        metavar="CSV",
        help="where to write the reduced columns ('-' for stdout)",
    )
    reduce.add_argument(
        "--model", metavar="JOBLIB", help="save the fitted MixtureOfPPCA here"
    )
    _add_run_options(reduce, n_jobs=False)
    reduce.set_defaults(command="reduce", func=run_reduce)
    return parser


def main(argv=None):
    """Run the ``gmm-estimators`` command line.

    Without a command, run the demo on the wine data; with ``fit``,
    ``predict`` or ``reduce``, run that command (``--help`` lists the options).
    Errors in the input are reported as one line on stderr,
    ``gmm-estimators: error: ...``, never as a traceback.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name. ``None`` reads
        ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input or a failed fit, 1 for
        an unexpected error (set the environment variable
        ``GMM_ESTIMATORS_TRACEBACK=1`` to see its traceback), 130 when
        interrupted.

    See Also
    --------
    gmm_estimators.GaussianMixtureSelector : The model selection behind the
        demo and ``fit``.
    gmm_estimators.MixtureOfPPCA : The model behind ``reduce``.

    Examples
    --------
    >>> from gmm_estimators._cli import main
    >>> main(["fit", "no-such-file.csv", "--out", "labels.csv"])
    2

    The message went to stderr: ``gmm-estimators: error: no-such-file.csv: no
    such file``.
    """
    parser = build_parser()
    try:
        with _warnings_as_lines():
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # --help, --version
                return exc.code
            return args.func(args)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``... --out - | head``): stop
        # quietly, as command-line tools do, without a second error at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if os.environ.get(_TRACEBACK_ENV):
            raise
        print(
            f"{PROG}: error: unexpected {type(exc).__name__}: {_one_line(exc)} (set "
            f"{_TRACEBACK_ENV}=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1
