# Natalizumab 2-compartment linear + Michaelis-Menten model in R deSolve (lsoda), one patient at a
# time, integrated piecewise between rate changes exactly like the Python loop.
# Usage: Rscript pharmacology_desolve.R params.csv pieces.csv grid.csv rtol atol out.csv
suppressPackageStartupMessages(library(deSolve))
args <- commandArgs(trailingOnly = TRUE)
params <- read.csv(args[1])
pieces <- read.csv(args[2])   # columns: start, end, rate_mg_per_day (consecutive, cover the run)
grid <- read.csv(args[3])$day
rtol <- as.numeric(args[4]); atol <- as.numeric(args[5])

rhs <- function(t, y, p) {
  c <- y[1] / p$V1
  flow <- p$Q * (c - y[2] / p$V2)
  list(c(p$rate - p$CL * c - p$Vmax * c / (p$Km + c) - flow, flow))
}

started <- proc.time()[["elapsed"]]
out <- matrix(0, nrow = nrow(params), ncol = length(grid))
for (i in seq_len(nrow(params))) {
  p <- as.list(params[i, ])
  y <- c(a1 = 0, a2 = 0)
  conc <- numeric(length(grid))
  for (k in seq_len(nrow(pieces))) {
    a <- pieces$start[k]; b <- pieces$end[k]
    inside <- grid[grid > a & grid <= b]
    times <- unique(c(a, inside, b))
    p$rate <- pieces$rate_mg_per_day[k]
    sol <- lsoda(y, times, rhs, p, rtol = rtol, atol = atol)
    idx <- match(inside, grid)
    conc[idx] <- sol[match(inside, sol[, "time"]), "a1"] / p$V1
    y <- sol[nrow(sol), c("a1", "a2")]
  }
  out[i, ] <- conc
}
elapsed <- proc.time()[["elapsed"]] - started
write.csv(out, args[6], row.names = FALSE)
cat(sprintf("%.6f\n", elapsed))
