# TEMPORARY dev shim (not to be committed): stands in for the lead's module.
import numpy as np
from sklearn.mixture._gaussian_mixture import (
    _compute_precision_cholesky,
    _estimate_gaussian_parameters,
)


def initial_parameters(
    X, labels_or_resp, covariance_type, reg_covar=1e-6, sample_weight=None
):
    labels_or_resp = np.asarray(labels_or_resp)
    if labels_or_resp.ndim == 1:
        k = labels_or_resp.max() + 1
        resp = np.zeros((X.shape[0], k), dtype=X.dtype)
        resp[np.arange(X.shape[0]), labels_or_resp] = 1
    else:
        resp = labels_or_resp
    nk, means, covs = _estimate_gaussian_parameters(X, resp, reg_covar, covariance_type)
    weights = nk / nk.sum()
    pc = _compute_precision_cholesky(covs, covariance_type)
    if covariance_type == "full":
        prec = np.einsum("kij,klj->kil", pc, pc)
    elif covariance_type == "tied":
        prec = pc @ pc.T
    else:
        prec = pc**2
    return weights, means, prec
