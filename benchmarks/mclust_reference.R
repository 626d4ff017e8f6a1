# Regenerate the R mclust reference numbers used by the Python test suite.
#
# Usage:
#     Rscript benchmarks/mclust_reference.R OUTDIR
#
# Requires R >= 4 with the packages mclust (6.0.0 was used) and jsonlite.
# This script is documentation of how the stored reference numbers were
# produced; the Python test suite never runs it and never needs R.
#
# For every data set it writes
#   OUTDIR/data/<name>.csv        the numeric data matrix (header row, no row
#                                 names, shortest exact round-trip decimals)
# and it collects into OUTDIR/mclust_reference.json, per data set:
#   n, d, source, columns, models, G,
#   time_s   median elapsed seconds of 3 mclustBIC() calls,
#   best     {model, K, bic}: the maximum of the BIC table (mclust sign:
#            BIC = 2 loglik - npar log(n), higher is better),
#   cells    {model: [BIC for K = 1..9]} (null where mclust gives NA),
#   loglik   {model: [...]} = (BIC + npar log(n)) / 2  (null where BIC is NA),
#   npar     {model: [...]} = nMclustParams(model, d, K) (null where BIC is NA),
#   return_codes {model: [...]} mclustBIC's "returnCodes" attribute
#            (0 = ok, negative = singular/failed, see ?mclustBIC),
#   hc_subset_seed  the set.seed() value used before each call (only matters
#            when n > mclust.options("subset") = 2000: mclust then runs the
#            hierarchical initialisation on a random subset of 2000 rows),
#   mclust_version, r_version.
# OUTDIR/summary.txt holds one line per data set.
#
# mclust's defaults are used throughout: hc initialisation with
# hcModelName = "VVV", hcUse = "SVD", subset = 2000.

suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1L) stop("usage: Rscript mclust_reference.R OUTDIR")
outdir <- args[[1L]]
dir.create(file.path(outdir, "data"), recursive = TRUE, showWarnings = FALSE)

G_RANGE <- 1:9
MODELS_MULTI <- c("VII", "VVI", "EEE", "VVV")
MODELS_UNI <- c("E", "V")
SEED <- 20240101L   # set before every mclustBIC() call (random hc subset)
N_TIMING <- 3L

# ---------------------------------------------------------------------------
# Data sets: name -> list(source, loader). Each loader returns a numeric
# matrix (or vector for 1-D data) with ID / class columns already removed.
# ---------------------------------------------------------------------------
mc <- function(name, file = name) {  # load a data set shipped with mclust
  e <- new.env()                      # (GvHD.pos / GvHD.control live in "GvHD")
  data(list = file, package = "mclust", envir = e)
  get(name, envir = e, inherits = FALSE)
}
ds <- function(x, source) list(x = x, source = source)

datasets <- list(
  faithful         = function() ds(faithful, "R datasets::faithful"),
  iris             = function() ds(iris[, 1:4], "R datasets::iris[, 1:4]"),
  trees            = function() ds(trees, "R datasets::trees"),
  swiss            = function() ds(swiss, "R datasets::swiss"),
  USArrests        = function() ds(USArrests, "R datasets::USArrests"),
  mtcars           = function() ds(mtcars, "R datasets::mtcars"),
  attitude         = function() ds(attitude, "R datasets::attitude"),
  LifeCycleSavings = function() ds(LifeCycleSavings, "R datasets::LifeCycleSavings"),
  stackloss        = function() ds(stackloss, "R datasets::stackloss"),
  quakes           = function() ds(quakes, "R datasets::quakes"),
  rock             = function() ds(rock, "R datasets::rock"),
  women            = function() ds(women, "R datasets::women"),
  cars             = function() ds(cars, "R datasets::cars"),
  longley          = function() ds(longley, "R datasets::longley"),
  precip           = function() ds(unname(precip), "R datasets::precip (1-D)"),
  airquality       = function() ds(airquality[complete.cases(airquality[, 1:4]), 1:4],
                                   "R datasets::airquality[complete cases, 1:4]"),
  state.x77        = function() ds(state.x77, "R datasets::state.x77"),
  USJudgeRatings   = function() ds(USJudgeRatings, "R datasets::USJudgeRatings"),
  banknote         = function() ds(mc("banknote")[, -1], "mclust::banknote[, -1] (drop Status)"),
  wreath           = function() ds(mc("wreath"), "mclust::wreath"),
  diabetes         = function() ds(mc("diabetes")[, -1], "mclust::diabetes[, -1] (drop class)"),
  thyroid          = function() ds(mc("thyroid")[, -1], "mclust::thyroid[, -1] (drop Diagnosis)"),
  chevron          = function() ds(mc("chevron")[, -1], "mclust::chevron[, -1] (drop class)"),
  acidity          = function() ds(as.numeric(mc("acidity")), "mclust::acidity (1-D)"),
  EuroUnemployment = function() ds(mc("EuroUnemployment"), "mclust::EuroUnemployment"),
  wdbc             = function() ds(mc("wdbc")[, -c(1, 2)],
                                   "mclust::wdbc[, -c(1, 2)] (drop ID, Diagnosis)"),
  cross            = function() ds(mc("cross")[, -1], "mclust::cross[, -1] (drop group)"),
  GvHD.pos         = function() ds(mc("GvHD.pos", "GvHD"), "mclust::GvHD.pos"),
  GvHD.control     = function() ds(mc("GvHD.control", "GvHD"), "mclust::GvHD.control")
)
# Not included: datasets::esoph (its columns are factors apart from two counts).

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# Shortest of %.15g / %.17g that reads back as exactly the same double.
fmt_exact <- function(x) {
  s <- sprintf("%.15g", x)
  bad <- as.numeric(s) != x
  s[bad] <- sprintf("%.17g", x[bad])
  s
}

write_data_csv <- function(X, path) {
  cols <- gsub('[",]', "_", colnames(X))
  body <- apply(matrix(fmt_exact(as.vector(X)), nrow = nrow(X)), 1L,
                paste, collapse = ",")
  writeLines(c(paste(cols, collapse = ","), body), path)
  # check that the file reads back exactly
  back <- as.matrix(read.csv(path, check.names = FALSE))
  if (!identical(unname(back), unname(X)) && any(back != X))
    stop("CSV round trip is not exact for ", path)
}

# Turn a numeric vector with NA into a list so jsonlite writes null for NA.
na_list <- function(v) lapply(as.numeric(v), function(z) if (is.na(z)) NULL else z)

# Named list (one element per model) of per-K vectors from a G x model matrix.
by_model <- function(M) {
  out <- lapply(colnames(M), function(m) na_list(M[, m]))
  names(out) <- colnames(M)
  out
}

run_one <- function(name, spec) {
  x <- spec$x
  if (is.null(dim(x))) {
    X <- matrix(as.numeric(x), ncol = 1L, dimnames = list(NULL, "x"))
  } else {
    X <- as.matrix(as.data.frame(x))
    storage.mode(X) <- "double"
    if (is.null(colnames(X))) colnames(X) <- paste0("x", seq_len(ncol(X)))
  }
  X <- X[stats::complete.cases(X), , drop = FALSE]
  rownames(X) <- NULL
  n <- nrow(X); d <- ncol(X)
  models <- if (d == 1L) MODELS_UNI else MODELS_MULTI
  data_arg <- if (d == 1L) X[, 1L] else X

  write_data_csv(X, file.path(outdir, "data", paste0(name, ".csv")))

  times <- numeric(N_TIMING)
  bic <- NULL
  for (r in seq_len(N_TIMING)) {
    set.seed(SEED)
    times[r] <- system.time(
      b <- mclustBIC(data_arg, G = G_RANGE, modelNames = models, verbose = FALSE)
    )[["elapsed"]]
    if (is.null(bic)) bic <- b
  }

  B <- matrix(unclass(bic)[, models, drop = FALSE], nrow = length(G_RANGE),
              dimnames = list(NULL, models))
  codes <- attr(bic, "returnCodes")[, models, drop = FALSE]
  npar <- sapply(models, function(m) sapply(G_RANGE, function(k) nMclustParams(m, d, k)))
  npar <- matrix(npar, nrow = length(G_RANGE), dimnames = list(NULL, models))
  npar[is.na(B)] <- NA
  loglik <- (B + npar * log(n)) / 2

  best_idx <- which(B == max(B, na.rm = TRUE), arr.ind = TRUE)[1L, ]
  best <- list(model = models[best_idx[2L]], K = G_RANGE[best_idx[1L]],
               bic = B[best_idx[1L], best_idx[2L]])

  list(
    n = n, d = d, source = spec$source, columns = I(colnames(X)),
    models = I(models), G = I(G_RANGE),
    time_s = stats::median(times),
    best = best,
    cells = by_model(B),
    loglik = by_model(loglik),
    npar = by_model(npar),
    return_codes = by_model(codes),
    hc_subset_seed = SEED,
    hc_subset_used = n > mclust.options("subset"),
    mclust_version = as.character(packageVersion("mclust")),
    r_version = paste(R.version$major, R.version$minor, sep = ".")
  )
}

# ---------------------------------------------------------------------------
# Main loop
# ---------------------------------------------------------------------------
results <- list()
skipped <- character()
summary_lines <- sprintf("%-18s %6s %3s %-6s %3s %14s %9s",
                         "name", "n", "d", "model", "K", "bic", "time_s")
t_total <- system.time({
  for (name in names(datasets)) {
    res <- tryCatch(run_one(name, datasets[[name]]()),
                    error = function(e) conditionMessage(e))
    if (is.character(res)) {
      skipped[name] <- res
      message(sprintf("SKIPPED %s: %s", name, res))
      next
    }
    results[[name]] <- res
    line <- sprintf("%-18s %6d %3d %-6s %3d %14.4f %9.3f", name, res$n, res$d,
                    res$best$model, res$best$K, res$best$bic, res$time_s)
    summary_lines <- c(summary_lines, line)
    message(line)
  }
})[["elapsed"]]

if (length(skipped))
  summary_lines <- c(summary_lines, "", sprintf("skipped %s: %s", names(skipped), skipped))
summary_lines <- c(summary_lines, "",
                   sprintf("total elapsed %.1f s (mclust %s, %s)", t_total,
                           packageVersion("mclust"), R.version.string))

writeLines(toJSON(results, auto_unbox = TRUE, digits = NA, null = "null",
                  pretty = TRUE),
           file.path(outdir, "mclust_reference.json"))
writeLines(summary_lines, file.path(outdir, "summary.txt"))
message(sprintf("done in %.1f s; wrote %s", t_total, outdir))
