# Two spot checks of the selector against R's mclust (2026-12-07), in the
# format benchmarks/bench_selector_mclust.py reads.
#   multi:      22 data sets with at least two features, most from the third
#               and fifth panels (mclust_reference_more.R) and some new:
#               Theoph's weight, dose, time and concentration, wdbc's first ten
#               columns, two-column cuts of trees and airquality, four columns
#               of mtcars, standardised iris.  Writes OUTDIR/data/*.csv only:
#               then run `Rscript benchmarks/mclust_family_panel.R OUT2 OUTDIR/data`
#               for mclust's fourteen models on them.
#   univariate: 20 univariate series and samples of R's datasets (and mclust's
#               acidity), with mclust's E and V models, K = 1..9: writes
#               OUTDIR/data/*.csv and OUTDIR/mclust_reference.json.
#   more, more_univariate (2026-12-07, second session): the data sets of R's
#               datasets no panel had used (state.center, OrchardSprays, the
#               monthly deaths by sex, the daily log returns of EuStockMarkets,
#               sleep's paired groups), log(trees), and standardised copies of
#               panel sets that users often standardise (USArrests, state.x77,
#               swiss, mtcars, quakes, faithful); and 14 univariate series not
#               used before (sunspots, sunspot.month, nottem, co2, ...).  As
#               multi and univariate.
# Usage: Rscript benchmarks/mclust_spot_check.R multi|univariate|more|more_univariate OUTDIR
# (needs mclust, jsonlite)
args <- commandArgs(trailingOnly = TRUE)
MODES <- c("multi", "univariate", "more", "more_univariate")
if (length(args) != 2L || !(args[1] %in% MODES))
  stop("usage: Rscript mclust_spot_check.R multi|univariate|more|more_univariate OUTDIR")
outdir <- args[2]
dir.create(file.path(outdir, "data"), recursive = TRUE, showWarnings = FALSE)
suppressPackageStartupMessages({library(mclust); library(jsonlite)})
write_set <- function(X, name) {
  X <- as.matrix(X)
  X <- X[complete.cases(X), , drop = FALSE]
  storage.mode(X) <- "double"
  write.csv(X, file.path(outdir, "data", paste0(name, ".csv")), row.names = FALSE)
  X
}
if (args[1] == "multi") {
  data(Baudry_etal_2010_JCGS_examples, package = "mclust")
  data(wdbc, package = "mclust")
  sets <- list(
    EuStockMarkets = EuStockMarkets, Seatbelts = as.matrix(Seatbelts),
    attenu = attenu[, c("mag", "dist", "accel")], beaver2 = beaver2,
    CO2 = CO2[, c("conc", "uptake")], Indometh = Indometh[, c("time", "conc")],
    Theoph = Theoph[, c("Wt", "Dose", "Time", "conc")], crimtab = unclass(crimtab),
    volcano = volcano, USPersonalExpenditure = USPersonalExpenditure,
    WorldPhones = WorldPhones, VADeaths = VADeaths,
    ex4.1 = ex4.1, ex4.2 = ex4.2, ex4.3 = ex4.3, ex4.4.1 = ex4.4.1, ex4.4.2 = ex4.4.2,
    wdbc10 = wdbc[, 3:12], trees2 = trees[, c("Girth", "Height")],
    airq2 = airquality[, c("Ozone", "Temp")], mtcars4 = mtcars[, c("mpg", "disp", "hp", "wt")],
    iris_scaled = scale(iris[, 1:4]))
}
if (args[1] == "more") {
  sets <- list(
    state.center = cbind(x = state.center$x, y = state.center$y),
    OrchardSprays = OrchardSprays[, c("decrease", "rowpos", "colpos")],
    deaths_by_sex = cbind(male = as.numeric(mdeaths), female = as.numeric(fdeaths)),
    EuStock_returns = diff(log(EuStockMarkets)),
    sleep_pairs = cbind(drug1 = sleep$extra[sleep$group == 1],
                        drug2 = sleep$extra[sleep$group == 2]),
    trees_log = log(trees), USArrests_scaled = scale(USArrests),
    state.x77_scaled = scale(state.x77), swiss_scaled = scale(swiss),
    mtcars_scaled = scale(mtcars), quakes_scaled = scale(quakes[, 1:4]),
    faithful_scaled = scale(faithful))
}
if (args[1] %in% c("multi", "more")) {
  for (nm in names(sets)) {
    X <- write_set(sets[[nm]], nm)
    cat(nm, dim(X), "\n")
  }
} else {
  data(acidity, package = "mclust")
  if (args[1] == "more_univariate") sets <- list(
    sunspots = sunspots, sunspot.month = sunspot.month, nottem = nottem, co2 = co2,
    AirPassengers = AirPassengers, UKgas = UKgas, USAccDeaths = USAccDeaths,
    WWWusage = WWWusage, BJsales = BJsales, austres = austres,
    JohnsonJohnson = JohnsonJohnson, lh = lh, uspop = uspop, presidents = presidents)
  else sets <- list(rivers = rivers, islands = islands, precip = precip, Nile = Nile,
    LakeHuron = LakeHuron, nhtemp = nhtemp, lynx = lynx, airmiles = airmiles,
    discoveries = discoveries, eruptions = faithful$eruptions, waiting = faithful$waiting,
    sunspot.year = sunspot.year, acidity = acidity, galaxies_like = quakes$mag,
    stackloss1 = stackloss$stack.loss, precip_log = log(precip), rivers_log = log(rivers),
    islands_log = log(islands), women_h = women$height, cars_dist = cars$dist)
  na_list <- function(v) lapply(as.numeric(v), function(z) if (is.na(z)) NULL else z)
  out <- list()
  for (nm in names(sets)) {
    x <- write_set(data.frame(x = as.numeric(sets[[nm]])), nm)[, 1]
    G <- seq_len(min(9L, length(x)))
    times <- numeric(3L)
    for (r in 1:3) {
      set.seed(20240101L)
      t0 <- proc.time()[["elapsed"]]
      b <- mclustBIC(x, G = G, verbose = FALSE)
      times[r] <- proc.time()[["elapsed"]] - t0
    }
    M <- matrix(NA_real_, 9L, 2L, dimnames = list(NULL, c("E", "V")))
    M[G, colnames(b)] <- b[, colnames(b)]
    best <- which(M == max(M, na.rm = TRUE), arr.ind = TRUE)[1L, ]
    out[[nm]] <- list(n = length(x), d = 1L, time_s = median(times),
      best = list(model = c("E", "V")[best[[2L]]], K = unname(best[[1L]]),
                  bic = M[best[[1L]], best[[2L]]]),
      cells = list(E = na_list(M[, "E"]), V = na_list(M[, "V"])))
    cat(sprintf("%-14s %5d %s,%d %.2f\n", nm, length(x), c("E", "V")[best[[2L]]],
                best[[1L]], M[best[[1L]], best[[2L]]]))
  }
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"),
             file.path(outdir, "mclust_reference.json"))
}
