# A fourth panel of reference BIC tables from R's mclust: more data sets of
# R's `datasets` (tiny tables with fewer rows than columns, short and long
# univariate series, pairs of columns with many repeated rows such as
# quakes' depth and magnitude), in the format
# benchmarks/bench_selector_mclust.py reads.
# Usage: Rscript benchmarks/mclust_reference_fourth.R OUTDIR
# (needs mclust, jsonlite)
args <- commandArgs(trailingOnly = TRUE); outdir <- if (length(args)) args[1] else "mclust_fourth"
dir.create(file.path(outdir, "data"), recursive = TRUE, showWarnings = FALSE)
suppressMessages(library(mclust)); library(jsonlite)
sets <- list(Theoph = as.data.frame(Theoph)[, c("Time", "conc")], WorldPhones = as.data.frame(WorldPhones),
  VADeaths = as.data.frame(VADeaths), USPersonalExpenditure = as.data.frame(USPersonalExpenditure),
  AirPassengers = data.frame(x = as.numeric(AirPassengers)), JohnsonJohnson = data.frame(x = as.numeric(JohnsonJohnson)),
  lh = data.frame(x = as.numeric(lh)), nhtemp = data.frame(x = as.numeric(nhtemp)), WWWusage = data.frame(x = as.numeric(WWWusage)),
  BJsales = data.frame(x = as.numeric(BJsales)), UKgas = data.frame(x = as.numeric(UKgas)), uspop = data.frame(x = as.numeric(uspop)),
  airmiles = data.frame(x = as.numeric(airmiles)), austres = data.frame(x = as.numeric(austres)),
  UKDriverDeaths = data.frame(x = as.numeric(UKDriverDeaths)), sunspots = data.frame(x = as.numeric(sunspots)),
  ldeaths = data.frame(x = as.numeric(ldeaths)), euro = data.frame(x = as.numeric(euro)),
  freeny.y = data.frame(y = as.numeric(freeny.y)), stackloss4 = stackloss, Harman = as.data.frame(ability.cov$cov),
  swissfert = swiss[, c("Fertility", "Education")], mtcars3 = mtcars[, c("mpg", "hp", "wt")], quakes2 = quakes[, c("depth", "mag")])
out <- list(); opt <- options(digits = 17)
for (nm in names(sets)) {
  X <- as.matrix(na.omit(sets[[nm]])); storage.mode(X) <- "double"
  write.csv(X, file.path(outdir, "data", sprintf("%s.csv", nm)), row.names = FALSE)
  mods <- if (ncol(X) == 1) c("E", "V") else c("VII", "VVI", "EEE", "VVV")
  set.seed(20240101L)
  t <- system.time(b <- mclustBIC(X, G = 1:9, modelNames = mods, verbose = FALSE))["elapsed"]
  cells <- lapply(mods, function(m) { v <- b[, m]; as.list(ifelse(is.na(v), NA, v)) }); names(cells) <- mods
  i <- which(b == max(b, na.rm = TRUE), arr.ind = TRUE)[1, ]
  out[[nm]] <- list(n = nrow(X), d = ncol(X), time_s = unname(t), best = list(model = colnames(b)[i[2]],
    K = as.integer(rownames(b)[i[1]]), bic = max(b, na.rm = TRUE)), cells = cells)
}
write(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), file.path(outdir, "mclust_reference.json"))
