# Reference values from R for the messy-data tests (tests/analysis/test_messy.py).
# Reads heywood.csv, cfa-two-item.csv (+ .spec.json) and messy-servqual.csv (with
# servqual-22.spec.json) beside this file, writes messy.r.json.
# Run:  Rscript tests/reference/messy.R [OUTPUT_DIR]
suppressMessages({
  library(psych); library(lavaan); library(GPArotation); library(jsonlite)
  library(sandwich); library(car); library(MASS)
})
args <- commandArgs(trailingOnly = TRUE)
file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
here <- if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg))) else "."
out_dir <- if (length(args)) args[1] else here
path <- function(f) file.path(here, f)

fit_measures <- function(fit) {
  fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea",
                           "rmsea.ci.lower", "rmsea.ci.upper", "srmr"))
  std <- standardizedSolution(fit)
  std <- std[std$op == "=~", ]
  list(n = lavInspect(fit, "nobs"), converged = lavInspect(fit, "converged"),
       chi2 = fm[["chisq"]], df = fm[["df"]], p = fm[["pvalue"]], cfi = fm[["cfi"]],
       tli = fm[["tli"]], rmsea = fm[["rmsea"]],
       rmsea_ci = unname(c(fm[["rmsea.ci.lower"]], fm[["rmsea.ci.upper"]])),
       srmr = fm[["srmr"]], std_loadings = as.list(setNames(std$est.std, std$rhs)))
}
lavaan_model <- function(factors) paste(sapply(names(factors), function(f)
  paste(f, "=~", paste(factors[[f]], collapse = " + "))), collapse = "\n")
out <- list()

# 1. omega on a scale with a nearly unrelated item (a Heywood case)
x <- read.csv(path("heywood.csv"))
om <- suppressWarnings(psych::omega(x, nfactors = 1, plot = FALSE))
f1 <- suppressWarnings(fa(x, nfactors = 1, fm = "minres", rotate = "none"))
out$heywood <- list(omega_total = om$omega.tot, loadings = as.vector(unclass(f1$loadings)),
                    communalities = unname(f1$communality))

# ... and one whose minres communality exceeds 1 (an improper solution)
r <- matrix(c(1, .359, .252, .359, 1, -.015, .252, -.015, 1), 3)
f2 <- suppressWarnings(fa(r, nfactors = 1, n.obs = 130, fm = "minres", rotate = "none"))
om2 <- suppressWarnings(psych::omega(r, nfactors = 1, n.obs = 130, plot = FALSE))
out$improper <- list(correlations = r, omega_total = om2$omega.tot,
                     communalities = unname(f2$communality))

# 4. a CFA that lavaan fits without a warning
x <- read.csv(path("cfa-two-item.csv"))
spec <- fromJSON(path("cfa-two-item.spec.json"), simplifyVector = TRUE)
warned <- character(0)
fit <- withCallingHandlers(cfa(lavaan_model(spec$factors), data = x), warning = function(w) {
  warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning")
})
out$cfa_two_item <- c(fit_measures(fit), list(warnings = length(warned)))

# the messy survey: 15% of answers missing
d <- read.csv(path("messy-servqual.csv"), na.strings = "")
spec <- fromJSON(path("servqual-22.spec.json"), simplifyVector = TRUE)
for (col in names(spec$reverse)) {
  lim <- spec$reverse[[col]]; d[[col]] <- lim[1] + lim[2] - d[[col]]
}
dims <- names(spec$dimensions)
pcols <- unlist(lapply(spec$dimensions, function(m) m$perception), use.names = FALSE)

# scale scores: listwise (every item answered) or available (2 x answered >= k)
score <- function(cols, missing) {
  x <- d[, cols, drop = FALSE]
  if (missing == "listwise") return(rowMeans(x))
  s <- rowMeans(x, na.rm = TRUE)
  s[2 * rowSums(!is.na(x)) < length(cols)] <- NA
  s
}

score_analyses <- function(missing) {
  res <- list()
  if (missing == "available") {
    gaps <- list()
    for (dim in dims) {
      es <- score(spec$dimensions[[dim]]$expectation, missing)
      ps <- score(spec$dimensions[[dim]]$perception, missing)
      ok <- !is.na(es) & !is.na(ps)
      t <- t.test(ps[ok] - es[ok])
      gaps[[dim]] <- list(n = sum(ok), expectation = mean(es[ok]), perception = mean(ps[ok]),
                          gap = mean(ps[ok] - es[ok]), gap_ci = as.vector(t$conf.int))
    }
    res$gaps <- gaps
    scores <- data.frame(row.names = seq_len(nrow(d)))
    for (dim in dims) scores[[dim]] <- score(spec$dimensions[[dim]]$perception, missing)
    scores$satisfaction <- score(spec$satisfaction, missing)
    scores <- scores[complete.cases(scores), ]
    m <- lm(as.formula(paste("satisfaction ~", paste(dims, collapse = " + "))), data = scores)
    se <- sqrt(diag(vcovHC(m, type = "HC3")))
    beta <- coef(m)[dims] * sapply(scores[dims], sd) / sd(scores$satisfaction)
    res$regression <- list(n = nrow(scores),
                           coef = as.list(setNames(coef(m), c("intercept", dims))),
                           se_hc3 = as.list(setNames(se, c("intercept", dims))),
                           std_beta = as.list(beta), r2 = summary(m)$r.squared,
                           adj_r2 = summary(m)$adj.r.squared, vif = as.list(vif(m)))
    # the drivers on the same scores: relative weights and Shapley (LMG), as reference.R
    R <- cor(scores[dims]); rxy <- cor(scores[dims], scores$satisfaction)[, 1]
    e <- eigen(R); lam <- e$vectors %*% diag(sqrt(e$values)) %*% t(e$vectors)
    rw <- as.vector((lam^2) %*% (solve(lam) %*% rxy)^2)
    r2_of <- function(S) if (length(S) == 0) 0 else
      as.numeric(t(rxy[S]) %*% solve(R[S, S, drop = FALSE]) %*% rxy[S])
    kd <- length(dims); lmg <- numeric(kd)
    for (j in seq_len(kd)) {
      others <- setdiff(seq_len(kd), j)
      for (size in 0:(kd - 1)) {
        sets <- if (size == 0) list(integer(0)) else combn(others, size, simplify = FALSE)
        w <- factorial(size) * factorial(kd - size - 1) / factorial(kd)
        for (S in sets) lmg[j] <- lmg[j] + w * (r2_of(c(S, j)) - r2_of(S))
      }
    }
    res$regression$relative_weights <- as.list(setNames(rw, dims))
    res$regression$shapley <- as.list(setNames(lmg, dims))

    # segments and waves on the same scores (each score's rows with the segment answered)
    all_scores <- list(satisfaction = score(spec$satisfaction, missing))
    for (dim in dims) all_scores[[dim]] <- score(spec$dimensions[[dim]]$perception, missing)
    choice_order <- list(tier = c("A", "B", "C"), region = c("north", "east", "south", "west"),
                         wave = c("2026H1", "2026H2"))  # as in questionnaires/servqual-22.yaml
    segs <- list()
    for (seg in names(choice_order)) {
      per <- list()
      for (name in names(all_scores)) {
        y <- all_scores[[name]]; g <- d[[seg]]
        ok <- !is.na(y) & !is.na(g) & g != ""
        y <- y[ok]; g <- factor(g[ok], levels = choice_order[[seg]])
        w <- oneway.test(y ~ g, var.equal = FALSE)
        k <- kruskal.test(round(y, 9), g)  # scores equal as decimals tie
        lv <- choice_order[[seg]]
        pairs <- list(); ps <- numeric(0)
        for (i in seq_along(lv)) for (j in seq_along(lv)) if (i < j) {
          tt <- t.test(y[g == lv[i]], y[g == lv[j]])
          pairs[[paste0(lv[i], "|", lv[j])]] <- list(t = unname(tt$statistic),
                                                     df = unname(tt$parameter), p = tt$p.value)
          ps <- c(ps, tt$p.value)
        }
        holm <- p.adjust(ps, "holm")
        for (i in seq_along(pairs)) pairs[[i]]$p_holm <- holm[i]
        per[[name]] <- list(n = length(y), means = as.list(tapply(y, g, mean)),
                            counts = as.list(c(table(g))),
                            welch_anova = list(F = unname(w$statistic),
                                               df1 = unname(w$parameter[1]),
                                               df2 = unname(w$parameter[2]), p = w$p.value),
                            kruskal = list(H = unname(k$statistic), p = k$p.value),
                            pairwise = pairs)
        if (seg == "wave") {  # the change from each wave to the next: t.test(after, before)
          change <- list()
          for (i in seq_len(length(lv) - 1)) {
            before <- y[g == lv[i]]; after <- y[g == lv[i + 1]]
            tt <- t.test(after, before)
            change[[i]] <- list(from = lv[i], to = lv[i + 1],
                                n = c(length(before), length(after)),
                                change = mean(after) - mean(before),
                                ci = as.vector(tt$conf.int), p = tt$p.value)
          }
          per[[name]]$change <- change
        }
      }
      segs[[seg]] <- per
    }
    res$segments <- segs
  }
  sat <- score(spec$satisfaction, missing)
  ls <- data.frame(sat = sat, loy = score(spec$loyalty, missing))
  ls <- ls[complete.cases(ls), ]
  lin <- lm(loy ~ sat, data = ls); quad <- lm(loy ~ sat + I(sat^2), data = ls)
  ordinal <- list()
  for (item in spec$loyalty) {
    od <- data.frame(y = d[[item]], sat = sat)
    od <- od[complete.cases(od), ]
    fit <- polr(factor(y, ordered = TRUE) ~ sat, data = od, method = "logistic", Hess = TRUE,
                control = list(reltol = 1e-14, maxit = 10000))  # past its default 1e-8
    ordinal[[item]] <- list(n = nrow(od), coef = unname(coef(fit)), thresholds = unname(fit$zeta),
                            levels = as.numeric(levels(factor(od$y))))
  }
  res$loyalty <- list(n = nrow(ls), linear_r2 = summary(lin)$r.squared,
                      quadratic_r2 = summary(quad)$r.squared, ordinal = ordinal)
  res
}

# 2. listwise: the loyalty item's level 1 appears only in rows without a satisfaction score
out$listwise <- score_analyses("listwise")

# --missing available: pairwise moments, FIML, scores of the answered items
answered <- function(cols) {
  x <- d[, cols, drop = FALSE]
  x[rowSums(!is.na(x)) > 0, , drop = FALSE]
}
available <- score_analyses("available")
rel <- list()
for (s in names(spec$scales)) {
  x <- answered(spec$scales[[s]])
  a <- psych::alpha(x, warnings = FALSE)  # use = "pairwise"
  om <- suppressWarnings(psych::omega(x, nfactors = 1, plot = FALSE))
  items <- list()
  for (i in seq_along(colnames(x))) {
    items[[colnames(x)[i]]] <- list(r_drop = a$item.stats$r.drop[i],
                                    alpha_if_deleted = a$alpha.drop$raw_alpha[i])
  }
  rel[[s]] <- list(n = nrow(x), alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha,
                   alpha_ci = unname(c(a$feldt$lower.ci, a$feldt$upper.ci)),
                   omega_total = om$omega.tot, items = items)
}
available$reliability <- rel
x <- answered(pcols)
r <- cor(x, use = "pairwise")
k <- KMO(r)
b <- cortest.bartlett(r, n = nrow(x))
f <- suppressWarnings(fa(r, nfactors = length(dims), n.obs = nrow(x), fm = "minres",
                         rotate = "oblimin"))
L <- unclass(f$loadings)
available$efa <- list(n = nrow(x), kmo = k$MSA, kmo_items = as.list(k$MSAi),
                      bartlett = list(chi2 = b$chisq, df = b$df, p = b$p.value),
                      loadings = lapply(seq_len(nrow(L)), function(i) L[i, ]),
                      communalities = as.list(setNames(f$communality, rownames(L))))
factors <- lapply(spec$dimensions, function(m) m$perception)
fit <- cfa(lavaan_model(factors), data = d[, pcols], missing = "ml")
available$cfa <- fit_measures(fit)
out$available <- available

write_json(out, file.path(out_dir, "messy.r.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
