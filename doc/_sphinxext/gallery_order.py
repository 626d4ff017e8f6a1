"""The order of the examples in the gallery: from the model to deployment."""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

ORDER = [
    "plot_gaussian_density.py",
    "plot_covariance_types.py",
    "plot_covariance_models.py",
    "plot_select_n_components.py",
    "plot_density_sampling.py",
    "plot_ppca_digits.py",
    "plot_pipeline_deployment.py",
]


class ExampleOrder:
    """Sort key for sphinx-gallery's ``within_subsection_order``.

    Examples listed in ``ORDER`` come first, in that order; any other example
    follows, by file name.
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        rank = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return (rank, filename)

    def __repr__(self):
        return f"<{type(self).__name__}>"
