# mclust's fourteen models on the panels' data: the reference for
# `python benchmarks/bench_selector_mclust.py --family OUTDIR`.
#
# Usage:
#     Rscript benchmarks/mclust_family_panel.R OUTDIR DATADIR [DATADIR ...]
#
# Each DATADIR is the data/ folder written by mclust_reference.R or
# mclust_reference_extra.R (one CSV per data set). For every data set with at
# least two features it runs mclustBIC() with all fourteen models and
# G = 1..min(9, n), mclust's defaults otherwise (hc start on the SVD-scaled
# data; set.seed(20240101) before each call, which matters only when n > 2000),
# and collects into OUTDIR/mclust_reference.json, per data set:
#   n, d, time_s (median elapsed seconds of 3 calls), best {model, K, bic},
#   cells {model: [BIC for K = 1..9]} (null where mclust gives NA; mclust's
#   sign, higher is better),
# and copies the CSV to OUTDIR/data/. R is never needed by the test suite.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2L) stop("usage: Rscript mclust_family_panel.R OUTDIR DATADIR...")
outdir <- args[[1L]]
dir.create(file.path(outdir, "data"), recursive = TRUE, showWarnings = FALSE)
MODELS <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
            "EEV", "VEV", "EVV", "VVV")
SEED <- 20240101L
na_list <- function(v) lapply(as.numeric(v), function(z) if (is.na(z)) NULL else z)
out <- list()
for (dir in args[-1L]) {
  for (path in sort(list.files(dir, pattern = "\\.csv$", full.names = TRUE))) {
    name <- sub("\\.csv$", "", basename(path))
    X <- as.matrix(read.csv(path, check.names = FALSE))
    if (ncol(X) < 2L) next
    n <- nrow(X); d <- ncol(X)
    G <- seq_len(min(9L, n))
    times <- numeric(3L)
    M <- matrix(NA_real_, nrow = 9L, ncol = length(MODELS),
                dimnames = list(NULL, MODELS))
    for (r in 1:3) {
      set.seed(SEED)
      t0 <- proc.time()[["elapsed"]]
      b <- tryCatch(
        suppressWarnings(mclustBIC(X, G = G, modelNames = MODELS, verbose = FALSE)),
        error = function(e) NULL)
      times[r] <- proc.time()[["elapsed"]] - t0
      if (is.null(b)) break
    }
    if (is.null(b)) {
      # a LAPACK error in one model (e.g. EEV with more columns than rows)
      # stops mclustBIC: fit the models one by one, NA where one fails; the
      # time is then that of the one-by-one calls (marked time_s < 0)
      t0 <- proc.time()[["elapsed"]]
      for (m in MODELS) {
        set.seed(SEED)
        bm <- tryCatch(
          suppressWarnings(mclustBIC(X, G = G, modelNames = m, verbose = FALSE)),
          error = function(e) NULL)
        if (!is.null(bm)) M[G, m] <- bm[, m]
      }
      times <- -(proc.time()[["elapsed"]] - t0)
    } else {
      M[G, colnames(b)] <- b[, colnames(b)]
    }
    best <- which(M == max(M, na.rm = TRUE), arr.ind = TRUE)[1L, ]
    cells <- lapply(MODELS, function(m) na_list(M[, m]))
    names(cells) <- MODELS
    out[[name]] <- list(
      n = n, d = d, time_s = median(times),
      best = list(model = MODELS[best[[2L]]], K = unname(best[[1L]]),
                  bic = M[best[[1L]], best[[2L]]]),
      cells = cells
    )
    file.copy(path, file.path(outdir, "data", basename(path)), overwrite = TRUE)
    cat(sprintf("%-18s %5d %3d %s,%d %.2f  %.2f s\n", name, n, d,
                MODELS[best[[2L]]], best[[1L]], M[best[[1L]], best[[2L]]],
                median(times)))
  }
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"),
           file.path(outdir, "mclust_reference.json"))
