# A second panel of reference BIC tables from R's mclust (30 more data sets of
# R's `datasets`), in the format benchmarks/bench_selector_mclust.py reads.
# Usage: Rscript benchmarks/mclust_reference_extra.R OUTDIR   (needs mclust, jsonlite)
args <- commandArgs(trailingOnly = TRUE); outdir <- if (length(args)) args[1] else "mclust_extra"
dir.create(file.path(outdir, "data"), recursive = TRUE, showWarnings = FALSE)
suppressMessages(library(mclust)); library(jsonlite)
sets <- list(pressure=pressure, randu=randu, anscombe=anscombe, Loblolly=Loblolly[,1:2], DNase=DNase[,2:3], BOD=BOD,
  Formaldehyde=Formaldehyde, freeny=freeny[,2:5], rivers=data.frame(x=rivers), islands=data.frame(x=as.numeric(islands)),
  Nile=data.frame(x=as.numeric(Nile)), ChickWeight=data.frame(w=ChickWeight$weight, t=ChickWeight$Time),
  Orange=Orange[,2:3], beaver1=beaver1[,3:4], ToothGrowth=ToothGrowth[,c(1,3)], InsectSprays=data.frame(x=InsectSprays$count),
  warpbreaks=data.frame(x=warpbreaks$breaks), LakeHuron=data.frame(x=as.numeric(LakeHuron)), lynx=data.frame(x=as.numeric(lynx)),
  geyser=data.frame(w=faithful$waiting[-1], e=faithful$eruptions[-272]), swiss2=swiss[,1:3], USJ=USJudgeRatings[,1:4],
  iris_s=iris[1:100,1:4], quakes3=quakes[,1:3], chickwts=data.frame(x=chickwts$weight), esoph=data.frame(a=esoph$ncases, b=esoph$ncontrols),
  morley=morley[,2:3], stackloss3=stackloss[,1:3], Puromycin=Puromycin[,1:2], infert=infert[,c(2,4,5,6,7,8)])
out <- list(); opt <- options(digits=17)
for (nm in names(sets)) {
  X <- as.matrix(na.omit(sets[[nm]])); storage.mode(X) <- "double"
  write.csv(X, file.path(outdir, "data", sprintf("%s.csv", nm)), row.names=FALSE)
  mods <- if (ncol(X)==1) c("E","V") else c("VII","VVI","EEE","VVV")
  t <- system.time(b <- mclustBIC(X, G=1:9, modelNames=mods, verbose=FALSE))["elapsed"]
  cells <- lapply(mods, function(m) { v <- b[, m]; as.list(ifelse(is.na(v), NA, v)) }); names(cells) <- mods
  i <- which(b == max(b, na.rm=TRUE), arr.ind=TRUE)[1,]
  out[[nm]] <- list(n=nrow(X), d=ncol(X), time_s=unname(t), best=list(model=colnames(b)[i[2]], K=as.integer(rownames(b)[i[1]]), bic=max(b,na.rm=TRUE)), cells=cells)
}
write(toJSON(out, auto_unbox=TRUE, digits=NA, na="null"), file.path(outdir, "mclust_reference.json"))
