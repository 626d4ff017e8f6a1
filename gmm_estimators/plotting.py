"""Plots of fitted estimators (needs matplotlib: ``pip install gmm-estimators[plot]``).

matplotlib is imported only when a plot is drawn, so the rest of the package
works without it.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted

from ._covariance import MCLUST_NAME, dense_covariances

__all__ = ["ClusterDisplay", "CriterionDisplay"]

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


#: With more lines than this, the legend goes beside the axes.
_LEGEND_INSIDE = 6


def _line_style(label, index, many):
    """Style of a criterion line.  With many lines, mclust's models are grouped
    by family: the marker says the orientation (circle: spherical, square:
    diagonal, triangle: equal, diamond: variable), the line style the volume
    (dashed: equal, solid: variable), and each model keeps one colour."""
    style = {"marker": "o", "markersize": 4}
    if not many:
        return style
    import matplotlib

    colors = matplotlib.colormaps["tab20"].colors
    name = MCLUST_NAME.get(str(label), str(label))
    style["color"] = colors[index % len(colors)]
    if len(name) == 3 and set(name) <= set("EVI"):
        family = "o" if name[1] == "I" else {"I": "s", "E": "^", "V": "D"}[name[2]]
        style["marker"] = family
        style["linestyle"] = "--" if name[0] == "E" else "-"
    return style


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

    Another criterion than the selector's, with the mark still on its choice:

    >>> display = CriterionDisplay.from_estimator(selector, criterion="icl")
    >>> display.ax_.get_ylabel()
    'ICL (lower is better)'
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

        n_components = np.asarray(self.n_components)
        values = np.asarray(self.values, dtype=float)
        labels = np.asarray(self.labels, dtype=object)
        many = len(dict.fromkeys(labels)) > _LEGEND_INSIDE
        if ax is None:
            _, ax = plt.subplots(
                figsize=(8.0, 4.8) if many else None, layout="constrained"
            )
        if not n_components.shape == values.shape == labels.shape:
            raise ValueError(
                "n_components, values and labels must have the same length; got "
                f"{len(n_components)}, {len(values)} and {len(labels)}."
            )

        self.lines_ = []
        for i, label in enumerate(dict.fromkeys(labels)):
            # (a missing value, NaN or inf, stays in the line as NaN: a gap)
            rows = labels == label
            order = np.argsort(n_components[rows], kind="stable")
            (line,) = ax.plot(
                n_components[rows][order],
                np.where(np.isfinite(values), values, np.nan)[rows][order],
                label=str(label),
                **_line_style(label, i, many),
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
        if many:  # beside the axes, in two columns, as mclust's plot
            ax.legend(
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                ncol=2,
                fontsize="small",
                title="covariance",
            )
        else:
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
            # (unless every candidate is: the selector then chose among them,
            # and the plot draws them, the choice marked)
            degenerate = np.asarray(results["degenerate"] != "")
            if not degenerate.all():
                values = np.where(degenerate, np.nan, values)
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


def _ellipse_axes(covariance, n_std):
    """Width, height and angle (degrees) of the ellipse of a 2 x 2 covariance.

    The ellipse holds the points at Mahalanobis distance ``n_std`` from the
    mean: its full axes are ``2 n_std sqrt(eigenvalue)``, the width along the
    eigenvector of the largest eigenvalue.
    """
    values, vectors = np.linalg.eigh(covariance)
    width, height = 2 * n_std * np.sqrt(np.maximum(values[::-1], 0))
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    return width, height, angle


def _n_std_levels(n_std):
    levels = np.atleast_1d(np.asarray(n_std, dtype=float))
    if levels.ndim != 1 or not len(levels) or not np.all(levels > 0):
        raise ValueError(
            f"n_std must be a positive number or a sequence of them; got {n_std!r}."
        )
    return levels


class ClusterDisplay:
    """Samples coloured by cluster, with each component's ellipse.

    The picture of a fitted mixture: every sample coloured by its cluster and
    every component drawn as its mean (a cross) and its covariance ellipse at
    ``n_std`` standard deviations, in the same colour as its samples. With two
    features the plane of the plot is the features themselves; with more it
    is the first two principal components of the data, where the means and
    covariances are projected exactly (a projected Gaussian is Gaussian).
    Build it with :meth:`from_estimator` from a fitted mixture and its data,
    or directly from arrays already in the plane and then call :meth:`plot`.

    Parameters
    ----------
    points : array-like of shape (n_samples, 2)
        The samples, in the plane of the plot.

    labels : array-like of int of shape (n_samples,)
        The cluster of each sample, from 0. Cluster ``k`` is drawn in the
        colour ``f"C{k % 10}"``, as is the ellipse of component ``k``.

    means : array-like of shape (n_components, 2), default=None
        The components' means in the plane; ``None`` draws no components.

    covariances : array-like of shape (n_components, 2, 2), default=None
        The components' covariances in the plane; needed with ``means``.

    y : array-like of shape (n_samples,), default=None
        Known classes of the samples, drawn as marker shapes with a legend, to
        compare the clusters with them. ``None`` draws every sample as a dot.

    n_std : float or array-like of float, default=2.0
        Draw each component's ellipse at this number of standard deviations
        (Mahalanobis distance from its mean), or one ellipse per number given.
        In two dimensions the ellipse at ``r`` holds ``1 - exp(-r**2 / 2)`` of
        the component's mass: 39% at 1, 86% at 2, 99% at 3.

    xlabel : str, default=None
        Label of the horizontal axis; ``None`` leaves it as it is.

    ylabel : str, default=None
        Label of the vertical axis; ``None`` leaves it as it is.

    Attributes
    ----------
    scatters_ : list of matplotlib.collections.PathCollection
        The samples: one collection per known class with ``y``, else one.

    ellipses_ : list of list of matplotlib.patches.Ellipse
        ``ellipses_[k][i]`` is the ellipse of component ``k`` at the ``i``-th
        value of ``n_std``; empty without ``means``.

    centers_ : matplotlib.lines.Line2D or None
        The markers of the components' means; ``None`` without ``means``.

    ax_ : matplotlib.axes.Axes
        Axes with the plot.

    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    CriterionDisplay : The model-selection criterion against the number of
        components.
    sklearn.decomposition.PCA : The projection used with more than two
        features.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from gmm_estimators import ClusterDisplay, GaussianMixture
    >>> X = load_iris().data
    >>> gm = GaussianMixture(n_components=3, random_state=0).fit(X)
    >>> display = ClusterDisplay.from_estimator(gm, X)
    >>> len(display.ellipses_)
    3
    >>> display.ax_.get_xlabel()
    'first principal component (92% of variance)'
    """

    def __init__(
        self,
        points,
        labels,
        *,
        means=None,
        covariances=None,
        y=None,
        n_std=2.0,
        xlabel=None,
        ylabel=None,
    ):
        self.points = points
        self.labels = labels
        self.means = means
        self.covariances = covariances
        self.y = y
        self.n_std = n_std
        self.xlabel = xlabel
        self.ylabel = ylabel

    def _check(self):
        """The arrays of the display as ndarrays, with their shapes checked."""
        points = check_array(self.points, input_name="points")
        labels = np.asarray(self.labels)
        if points.shape[1] != 2:
            raise ValueError(
                f"points must have 2 columns (the plane of the plot); got "
                f"{points.shape[1]}."
            )
        if labels.shape != (len(points),) or not (
            np.issubdtype(labels.dtype, np.integer) and np.all(labels >= 0)
        ):
            raise ValueError(
                "labels must be one non-negative integer per point; got an array "
                f"of shape {labels.shape} and dtype {labels.dtype} for "
                f"{len(points)} points."
            )
        y = None if self.y is None else np.asarray(self.y)
        if y is not None and y.shape != (len(points),):
            raise ValueError(
                f"y must have one value per point; got {y.shape} for {len(points)} "
                "points."
            )
        if (self.means is None) != (self.covariances is None):
            raise ValueError("means and covariances must be given together.")
        means = covariances = None
        if self.means is not None:
            means = np.asarray(self.means, dtype=float)
            covariances = np.asarray(self.covariances, dtype=float)
            if (
                means.ndim != 2
                or means.shape[1] != 2
                or covariances.shape
                != (
                    len(means),
                    2,
                    2,
                )
            ):
                raise ValueError(
                    "means must have shape (n_components, 2) and covariances "
                    f"(n_components, 2, 2); got {means.shape} and "
                    f"{covariances.shape}."
                )
        return points, labels, y, means, covariances

    def plot(self, ax=None, *, scatter_kwargs=None, ellipse_kwargs=None):
        """Draw the samples and the components' ellipses.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; ``None`` makes a new figure and axes.

        scatter_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.scatter` for the
            samples, over the defaults (``s=16, alpha=0.8, linewidths=0``).

        ellipse_kwargs : dict, default=None
            Keyword arguments of :class:`matplotlib.patches.Ellipse`, over the
            defaults (no fill, ``linewidth=2``, the component's colour).

        Returns
        -------
        display : ClusterDisplay
            This object, with ``ax_``, ``figure_``, ``scatters_``,
            ``ellipses_`` and ``centers_`` set.

        See Also
        --------
        ClusterDisplay.from_estimator : Build the display from a mixture.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from gmm_estimators import ClusterDisplay
        >>> display = ClusterDisplay(
        ...     [[0.0, 0.0], [1.0, 0.5], [4.0, 4.0]], [0, 0, 1],
        ...     means=[[0.5, 0.25], [4.0, 4.0]],
        ...     covariances=[[[4.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]],
        ...     n_std=[1, 2],
        ... ).plot()
        >>> [float(e.width) for e in display.ellipses_[0]]
        [4.0, 8.0]
        """
        plt = _import_pyplot()
        from matplotlib.patches import Ellipse

        points, labels, y, means, covariances = self._check()
        levels = _n_std_levels(self.n_std)
        if ax is None:
            _, ax = plt.subplots()
        colors = np.array([f"C{k % 10}" for k in range(int(labels.max(initial=0)) + 1)])
        style = {"s": 16, "alpha": 0.8, "linewidths": 0, **(scatter_kwargs or {})}

        self.scatters_ = []
        if y is None:
            self.scatters_.append(
                ax.scatter(points[:, 0], points[:, 1], c=colors[labels], **style)
            )
        else:
            markers = "o^sPDv*X"
            for i, cls in enumerate(np.unique(y)):
                rows = y == cls
                self.scatters_.append(
                    ax.scatter(
                        points[rows, 0],
                        points[rows, 1],
                        c=colors[labels[rows]],
                        **{"marker": markers[i % len(markers)], **style},
                        label=f"class {cls}",
                    )
                )
            legend = ax.legend(title="marker: known class", fontsize="small")
            # legend_handles: matplotlib >= 3.7; legendHandles before
            handles = getattr(legend, "legend_handles", None) or legend.legendHandles
            for handle in handles:
                handle.set_color("0.3")  # the marker, not a cluster's colour

        self.ellipses_ = []
        self.centers_ = None
        if means is not None:
            for k, (mean, covariance) in enumerate(
                zip(means, covariances, strict=True)
            ):
                ellipses = []
                for n_std in levels:
                    width, height, angle = _ellipse_axes(covariance, n_std)
                    kwargs = {
                        "fill": False,
                        "edgecolor": f"C{k % 10}",
                        "linewidth": 2,
                        **(ellipse_kwargs or {}),
                    }
                    ellipses.append(
                        ax.add_patch(
                            Ellipse(mean, width, height, angle=angle, **kwargs)
                        )
                    )
                self.ellipses_.append(ellipses)
            (self.centers_,) = ax.plot(
                means[:, 0],
                means[:, 1],
                linestyle="none",
                marker="x",
                color="black",
                markersize=8,
            )
        if self.xlabel is not None:
            ax.set_xlabel(self.xlabel)
        if self.ylabel is not None:
            ax.set_ylabel(self.ylabel)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        labels=None,
        y=None,
        n_std=2.0,
        ax=None,
        scatter_kwargs=None,
        ellipse_kwargs=None,
    ):
        """Draw a fitted mixture's clusters and components on its data.

        With two features, the plot is in their plane (their names, when X is
        a data frame, label the axes). With more, it is in the first two
        principal components of ``X``, and each component's mean and
        covariance are projected on them.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~gmm_estimators.GaussianMixture`,
            :class:`~gmm_estimators.MixtureOfPPCA` (or any fitted mixture with
            ``means_``, ``covariances_`` and ``predict``), or a fitted
            :class:`~gmm_estimators.GaussianMixtureSelector`, whose selected
            model is drawn.

        X : array-like of shape (n_samples, n_features)
            The samples to draw, with at least two features.

        labels : array-like of int of shape (n_samples,), default=None
            The cluster of each sample; ``None`` uses ``estimator.predict(X)``.

        y : array-like of shape (n_samples,), default=None
            Known classes of the samples, drawn as marker shapes.

        n_std : float or array-like of float, default=2.0
            The number(s) of standard deviations of the ellipses.

        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; ``None`` makes a new figure and axes.

        scatter_kwargs : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.scatter`.

        ellipse_kwargs : dict, default=None
            Keyword arguments of :class:`matplotlib.patches.Ellipse`.

        Returns
        -------
        display : ClusterDisplay
            The drawn display.

        See Also
        --------
        ClusterDisplay.plot : Draw a display built from arrays.
        """
        _import_pyplot()
        check_is_fitted(estimator)
        mixture = getattr(estimator, "best_estimator_", estimator)
        if not (hasattr(mixture, "means_") and hasattr(mixture, "covariances_")):
            raise TypeError(
                "ClusterDisplay needs a fitted mixture with means_ and covariances_ "
                "(GaussianMixture, MixtureOfPPCA or GaussianMixtureSelector); got "
                f"{type(estimator).__name__}."
            )
        names = getattr(X, "columns", None)
        if labels is None:
            labels = estimator.predict(X)
        X = check_array(X, dtype=np.float64)
        means = np.asarray(mixture.means_, dtype=np.float64)
        n_components, n_features = means.shape
        if X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but the mixture was fitted on "
                f"{n_features}."
            )
        if n_features < 2:
            raise ValueError(
                "ClusterDisplay needs at least 2 features; X has 1 (a histogram "
                "of the feature per cluster shows one-dimensional clusters)."
            )
        covariances = dense_covariances(
            getattr(mixture, "covariance_type", "full"),
            np.asarray(mixture.covariances_, dtype=np.float64),
            n_components,
            n_features,
        )
        if n_features == 2:
            center, axes = np.zeros(2), np.eye(2)
            xlabel, ylabel = (None, None) if names is None else map(str, names)
        else:
            from sklearn.decomposition import PCA

            pca = PCA(n_components=2).fit(X)
            center, axes = pca.mean_, pca.components_
            ratio = pca.explained_variance_ratio_
            xlabel = f"first principal component ({ratio[0]:.0%} of variance)"
            ylabel = f"second principal component ({ratio[1]:.0%} of variance)"
        display = cls(
            (X - center) @ axes.T,
            labels,
            means=(means - center) @ axes.T,
            covariances=axes @ covariances @ axes.T,
            y=y,
            n_std=n_std,
            xlabel=xlabel,
            ylabel=ylabel,
        )
        return display.plot(
            ax=ax, scatter_kwargs=scatter_kwargs, ellipse_kwargs=ellipse_kwargs
        )
