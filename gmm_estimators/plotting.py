"""Plots of fitted estimators (needs matplotlib: ``pip install gmm-estimators[plot]``).

matplotlib is imported only when a plot is drawn, so the rest of the package
works without it.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["CriterionDisplay"]

_CRITERION_LABELS = {
    "bic": "BIC",
    "aic": "AIC",
    "icl": "ICL",
    "cv": "Negative mean held-out log-likelihood",
}


def _import_pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib, which is not installed. Install it with "
            "`pip install gmm-estimators[plot]` (or `pip install matplotlib`)."
        ) from exc
    return plt


def _line_label(params):
    """Label of a candidate's line: its parameters other than n_components."""
    parts = [
        str(value) if name == "covariance_type" else f"{name}={value}"
        for name, value in params.items()
        if name != "n_components"
    ]
    return ", ".join(parts)


class CriterionDisplay:
    """Model-selection criterion against the number of components.

    The plot of mclust's ``plot(Mclust(...), what = "BIC")``: one line per
    covariance type (or per other searched parameter combination), the
    selected model marked. Build it with :meth:`from_estimator` from a fitted
    :class:`~gmm_estimators.GaussianMixtureSelector`, or directly from arrays
    and then call :meth:`plot`.

    Parameters
    ----------
    n_components : array-like of shape (n_candidates,)
        Number of components of each candidate.

    values : array-like of shape (n_candidates,)
        Criterion value of each candidate, lower is better. Non-finite values
        (failed fits) are left out of the lines.

    labels : array-like of str of shape (n_candidates,)
        The line each candidate belongs to, e.g. its covariance type. Lines
        are drawn in order of first appearance.

    best_index : int, default=None
        Candidate to mark as the selected model; ``None`` marks none.

    criterion : {'bic', 'aic', 'icl', 'cv'}, default='bic'
        The criterion plotted, for the axis label.

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        One line per distinct label, in order of first appearance.

    best_marker_ : matplotlib.lines.Line2D or None
        The marker of the selected model.

    ax_ : matplotlib.axes.Axes
        Axes with the plot.

    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    GaussianMixtureSelector : Selects the model and records the criteria.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_blobs
    >>> from gmm_estimators import GaussianMixtureSelector
    >>> from gmm_estimators.plotting import CriterionDisplay
    >>> X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> selector = GaussianMixtureSelector(
    ...     n_components=5, covariance_type=("full", "diag"), random_state=0
    ... ).fit(X)
    >>> display = CriterionDisplay.from_estimator(selector)
    >>> [line.get_label() for line in display.lines_]
    ['full', 'diag']
    >>> display.best_marker_.get_xdata()
    array([3])
    """

    def __init__(
        self, n_components, values, *, labels, best_index=None, criterion="bic"
    ):
        self.n_components = n_components
        self.values = values
        self.labels = labels
        self.best_index = best_index
        self.criterion = criterion

    def plot(self, ax=None):
        """Draw the criterion against the number of components.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; ``None`` makes a new figure and axes.

        Returns
        -------
        display : CriterionDisplay
            This object, with ``ax_``, ``figure_``, ``lines_`` and
            ``best_marker_`` set.

        See Also
        --------
        CriterionDisplay.from_estimator : Build the display from a selector.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from gmm_estimators.plotting import CriterionDisplay
        >>> display = CriterionDisplay(
        ...     [1, 2, 3, 1, 2, 3], [30.0, 12.0, 15.0, 31.0, 20.0, 18.0],
        ...     labels=["full"] * 3 + ["diag"] * 3, best_index=1,
        ... ).plot()
        >>> len(display.lines_)
        2
        """
        plt = _import_pyplot()
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots()
        n_components = np.asarray(self.n_components)
        values = np.asarray(self.values, dtype=float)
        labels = np.asarray(self.labels, dtype=object)
        if not n_components.shape == values.shape == labels.shape:
            raise ValueError(
                "n_components, values and labels must have the same length; got "
                f"{len(n_components)}, {len(values)} and {len(labels)}."
            )

        self.lines_ = []
        for label in dict.fromkeys(labels):
            rows = (labels == label) & np.isfinite(values)
            order = np.argsort(n_components[rows], kind="stable")
            (line,) = ax.plot(
                n_components[rows][order],
                values[rows][order],
                marker="o",
                markersize=4,
                label=str(label),
            )
            self.lines_.append(line)

        self.best_marker_ = None
        if self.best_index is not None:
            k, value = n_components[self.best_index], values[self.best_index]
            (self.best_marker_,) = ax.plot(
                [k],
                [value],
                linestyle="none",
                marker="o",
                markersize=14,
                markerfacecolor="none",
                markeredgecolor="black",
                markeredgewidth=1.5,
                label=f"selected: {labels[self.best_index]}, K={k}",
            )

        ax.set_xlabel("Number of components")
        ax.set_ylabel(
            f"{_CRITERION_LABELS.get(self.criterion, self.criterion)} (lower is better)"
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, selector, *, criterion=None, ax=None):
        """Plot the criteria recorded by a fitted selector.

        Parameters
        ----------
        selector : GaussianMixtureSelector
            A fitted selector.

        criterion : {'bic', 'aic', 'icl', 'cv'}, default=None
            Criterion to plot; ``None`` plots the one the selector used.
            ``'cv'`` needs a selector fitted with ``criterion='cv'``. The mark
            is always on the model the selector selected.

        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; ``None`` makes a new figure and axes.

        Returns
        -------
        display : CriterionDisplay
            The drawn display.

        See Also
        --------
        CriterionDisplay.plot : Draw a display built from arrays.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import make_blobs
        >>> from gmm_estimators import GaussianMixtureSelector
        >>> from gmm_estimators.plotting import CriterionDisplay
        >>> X, _ = make_blobs(n_samples=200, centers=2, random_state=0)
        >>> selector = GaussianMixtureSelector(
        ...     n_components=4, covariance_type="full", random_state=0
        ... ).fit(X)
        >>> display = CriterionDisplay.from_estimator(selector, criterion="icl")
        >>> display.ax_.get_ylabel()
        'ICL (lower is better)'
        """
        _import_pyplot()
        check_is_fitted(selector, "cv_results_")
        results = selector.cv_results_
        criterion = selector.criterion if criterion is None else criterion
        if criterion not in _CRITERION_LABELS:
            raise ValueError(
                f"criterion must be one of {sorted(_CRITERION_LABELS)} or None; "
                f"got {criterion!r}."
            )
        if criterion == "cv":
            if "mean_test_score" not in results:
                raise ValueError(
                    "criterion='cv' needs a selector fitted with criterion='cv': "
                    "this one recorded no held-out scores."
                )
            values = -np.asarray(results["mean_test_score"], dtype=float)
        else:
            values = np.asarray(results[criterion], dtype=float)
        if "degenerate" in results:
            # degenerate fits are never selected: drawn as gaps, as mclust's NA
            values = np.where(results["degenerate"] != "", np.nan, values)
        labels = [_line_label(params) for params in results["params"]]
        if not any(labels):  # only n_components was searched
            estimator = selector.estimator
            name = "GaussianMixture" if estimator is None else type(estimator).__name__
            labels = [name] * len(labels)
        display = cls(
            np.asarray(results["param_n_components"]),
            values,
            labels=labels,
            best_index=selector.best_index_,
            criterion=criterion,
        )
        return display.plot(ax=ax)
