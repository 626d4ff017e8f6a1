"""Fast, exact, scikit-learn compatible Gaussian mixture models.

``GaussianMixture`` clusters (a drop-in for scikit-learn's),
``GaussianMixtureSelector`` chooses the number of components and the
covariance type, ``MixtureOfPPCA`` reduces dimension per component, and
``OnlineGaussianMixture`` fits a stream of mini-batches.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

from ._covariance import MCLUST_MODELS
from ._gaussian_mixture import GaussianMixture
from ._online import OnlineGaussianMixture
from ._ppca import MixtureOfPPCA
from ._selection import GaussianMixtureSelector
from .plotting import ClusterDisplay, CriterionDisplay

__version__ = "0.2.0.dev0"

__all__ = [
    "ClusterDisplay",
    "CriterionDisplay",
    "GaussianMixture",
    "GaussianMixtureSelector",
    "MCLUST_MODELS",
    "MixtureOfPPCA",
    "OnlineGaussianMixture",
    "__version__",
]
