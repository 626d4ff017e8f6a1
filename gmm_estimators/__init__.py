"""Fast, exact, scikit-learn compatible Gaussian mixture models.

``GaussianMixture`` clusters (a drop-in for scikit-learn's),
``GaussianMixtureSelector`` chooses the number of components, and
``MixtureOfPPCA`` reduces dimension per component.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

from ._gaussian_mixture import GaussianMixture

__version__ = "0.1.0"

__all__ = ["GaussianMixture", "__version__"]
