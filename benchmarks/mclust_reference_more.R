# The third and fourth panels of reference BIC tables from R's mclust, in the
# format benchmarks/bench_selector_mclust.py reads: data sets of R's
# `datasets` and mclust's own not in the first two panels.
#   third:  mclust's clustering examples (Baudry et al. 2010), multivariate
#           time series, grouped measurements, long univariate series,
#           volcano's 61 columns;
#   fourth: tiny tables with fewer rows than columns, univariate series, and
#           pairs of columns with many repeated rows (quakes' depth and
#           magnitude);
#   fifth:  transformed and rescaled versions of sets of the earlier panels
#           (log returns, standardised columns, logarithms, a transposed
#           matrix), count tables, and the longest univariate series
#           (sunspot.month, 3177 values);
#   sixth:  the last small tables of R's datasets (Harman23.cor,
#           occupationalStatus), the UK lung-disease deaths together and
#           apart, and short univariate samples.
# Usage: Rscript benchmarks/mclust_reference_more.R third|fourth|fifth|sixth OUTDIR
# (needs mclust, jsonlite)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2L || !(args[1] %in% c("third", "fourth", "fifth", "sixth")))
  stop("usage: Rscript mclust_reference_more.R third|fourth|fifth|sixth OUTDIR")
outdir <- args[2]
dir.create(file.path(outdir, "data"), recursive = TRUE, showWarnings = FALSE)
suppressMessages(library(mclust)); library(jsonlite)
data(Baudry_etal_2010_JCGS_examples, package = "mclust")
if (args[1] == "third") {
  sets <- list(ex4.1 = ex4.1, ex4.2 = ex4.2, ex4.3 = ex4.3, ex4.4.1 = ex4.4.1,
    ex4.4.2 = ex4.4.2, Test1D = Test1D,
    EuStockMarkets = as.data.frame(EuStockMarkets), Seatbelts = as.data.frame(Seatbelts),
    CO2 = CO2[, 4:5], Indometh = as.data.frame(Indometh)[, 2:3], beaver2 = beaver2[, 3:4],
    OrchardSprays = OrchardSprays[, 1:3], attenu = attenu[, c(1, 2, 4, 5)],
    sunspot.year = data.frame(x = as.numeric(sunspot.year)), treering = data.frame(x = as.numeric(treering)),
    nottem = data.frame(x = as.numeric(nottem)), discoveries = data.frame(x = as.numeric(discoveries)),
    PlantGrowth = data.frame(x = PlantGrowth$weight), co2 = data.frame(x = as.numeric(co2)),
    sleep = data.frame(x = sleep$extra), stack.x = stack.x, volcano = volcano,
    USAccDeaths = data.frame(x = as.numeric(USAccDeaths)), airquality4 = airquality[, 1:4])
} else if (args[1] == "fifth") {
  data(wdbc, package = "mclust"); data(banknote, package = "mclust"); data(diabetes, package = "mclust")
  sets <- list(sunspot.month = data.frame(x = as.numeric(sunspot.month)),
    mdeaths = data.frame(x = as.numeric(mdeaths)), presidents = data.frame(x = as.numeric(presidents)),
    state.area = data.frame(x = state.area), state.center = as.data.frame(state.center),
    EuStockReturns = as.data.frame(diff(log(EuStockMarkets))), quakesLL = quakes[, c("lat", "long")],
    wdbc10 = wdbc[, 3:12], faithful_s = as.data.frame(scale(faithful)), USArrests_s = as.data.frame(scale(USArrests)),
    banknote_s = as.data.frame(scale(banknote[, -1])), diabetes_log = log(diabetes[, -1]), trees_log = log(trees),
    volcanoT = t(volcano), crimtab = crimtab, euro.cross = euro.cross, Harman74 = Harman74.cor$cov,
    mtcars_s = as.data.frame(scale(mtcars)), rivers_log = data.frame(x = log(rivers)))
} else if (args[1] == "sixth") {
  sets <- list(Harman23 = Harman23.cor$cov, occupationalStatus = unclass(occupationalStatus),
    UKLung = data.frame(l = as.numeric(ldeaths), m = as.numeric(mdeaths), f = as.numeric(fdeaths)),
    mfdeaths = data.frame(m = as.numeric(mdeaths), f = as.numeric(fdeaths)),
    fdeaths = data.frame(x = as.numeric(fdeaths)), stack.loss = data.frame(x = stack.loss),
    npk = data.frame(x = npk$yield), warpbreaks = data.frame(x = warpbreaks$breaks),
    iris_setosa = iris[iris$Species == "setosa", 1:4], iris_petal = iris[, 3:4],
    mtcars_log = log(mtcars[, c("mpg", "disp", "hp", "wt", "qsec")]),
    airquality_oz = airquality[, c("Ozone", "Temp")], USArrests3 = USArrests[, c(1, 2, 4)],
    faithful_w = data.frame(x = faithful$waiting), faithful_e = data.frame(x = faithful$eruptions),
    LakeHuron2 = data.frame(x = as.numeric(LakeHuron), dx = c(NA, diff(as.numeric(LakeHuron)))))
} else {
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
}
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
