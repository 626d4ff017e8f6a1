# The effective points of the smallest component of mclust's own EEV and VEV
# fits, cell by cell, for `python benchmarks/bench_selector_mclust.py OUTDIR`.
#
# Usage:
#     Rscript benchmarks/mclust_points.R OUTDIR
#
# OUTDIR is one written by mclust_family_panel.R (its mclust_reference.json
# and data/).  EEV and VEV share the shape across components and give each
# its own orientation; the selector refuses a fit where a component of these
# models has fewer effective points than the data's dimensions (its
# orientation is then not identified: see the user guide, "Degenerate fits
# are never chosen").  For each data set and K = 1..min(9, n) this refits
# mclust's EEV and VEV as mclustBIC does (hc start on the SVD-scaled data;
# set.seed(20240101) before each call, which matters only when n > 2000) and
# writes the smallest column sum of its z, NA where mclust gives NA, to
# OUTDIR/mclust_points.json: {name: {EEV: [K = 1..9], VEV: [...]}}.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1L) stop("usage: Rscript mclust_points.R OUTDIR")
outdir <- args[[1L]]
ref <- fromJSON(file.path(outdir, "mclust_reference.json"), simplifyVector = FALSE)
SEED <- 20240101L
MODELS <- c("EEV", "VEV")
out <- list()
for (name in names(ref)) {
  X <- as.matrix(read.csv(file.path(outdir, "data", paste0(name, ".csv")),
                          check.names = FALSE))
  n <- nrow(X)
  if (ncol(X) < 2L) next
  points <- list()
  for (m in MODELS) {
    v <- rep(NA_real_, 9L)
    for (k in seq_len(min(9L, n))) {
      set.seed(SEED)
      fit <- tryCatch(
        suppressWarnings(Mclust(X, G = k, modelNames = m, verbose = FALSE)),
        error = function(e) NULL)
      if (!is.null(fit) && !is.null(fit$z)) v[k] <- min(colSums(fit$z))
    }
    points[[m]] <- lapply(v, function(z) if (is.na(z)) NULL else z)
  }
  out[[name]] <- points
  cat(sprintf("%-18s %s\n", name, paste(sprintf("%.1f", c(unlist(points$EEV))), collapse = " ")))
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"),
           file.path(outdir, "mclust_points.json"))
