# Reference values from R (psych, lavaan, GPArotation, sandwich, car, MASS) for the
# analysis tests. Reads <name>.csv and <name>.spec.json beside this file, writes
# <name>.r.json. Run:  Rscript tests/reference/reference.R [OUTPUT_DIR]
suppressMessages({
  library(psych); library(lavaan); library(GPArotation); library(jsonlite)
  library(sandwich); library(car); library(MASS)
})
args <- commandArgs(trailingOnly = TRUE)
file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
here <- if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg))) else "."
out_dir <- if (length(args)) args[1] else here

listwise <- function(d, cols) { x <- d[, cols, drop = FALSE]; x[complete.cases(x), , drop = FALSE] }

reference <- function(name) {
  d <- read.csv(file.path(here, paste0(name, ".csv")), na.strings = "")
  spec <- fromJSON(file.path(here, paste0(name, ".spec.json")), simplifyVector = TRUE)
  for (col in names(spec$reverse)) {  # reverse keying: min + max - x
    lim <- spec$reverse[[col]]; d[[col]] <- lim[1] + lim[2] - d[[col]]
  }
  out <- list(n_responses = nrow(d))

  # reliability of every scale
  rel <- list()
  for (s in names(spec$scales)) {
    x <- listwise(d, spec$scales[[s]])
    a <- psych::alpha(x, warnings = FALSE)
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
  out$reliability <- rel

  # EFA of the perception items
  pcols <- unlist(lapply(spec$dimensions, function(m) m$perception), use.names = FALSE)
  x <- listwise(d, pcols)
  k <- KMO(x)
  b <- cortest.bartlett(cor(x), n = nrow(x))
  nf <- length(spec$dimensions)
  efa <- list(n = nrow(x), kmo = k$MSA, kmo_items = as.list(k$MSAi),
              bartlett = list(chi2 = b$chisq, df = b$df, p = b$p.value))
  for (v in list(c("minres", "oblimin"), c("ml", "varimax"), c("minres", "promax"),
                 c("ml", "oblimin"), c("minres", "none"))) {
    f <- suppressWarnings(fa(x, nfactors = nf, fm = v[1], rotate = v[2], scores = "regression"))
    L <- unclass(f$loadings)
    W <- unclass(f$weights)
    efa[[paste(v, collapse = "_")]] <- list(
      loadings = lapply(seq_len(nrow(L)), function(i) L[i, ]),
      communalities = as.list(setNames(f$communality, rownames(L))),
      phi = if (is.null(f$Phi)) diag(nf) else f$Phi,
      weights = lapply(seq_len(nrow(W)), function(i) W[i, ]))
  }
  f1 <- fa(x, nfactors = 1, fm = "minres", rotate = "none")
  efa$minres_1 <- list(loadings = as.vector(unclass(f1$loadings)))
  out$efa <- efa

  # CFA of the dimension structure (perception items)
  model <- paste(sapply(names(spec$dimensions), function(dim)
    paste(dim, "=~", paste(spec$dimensions[[dim]]$perception, collapse = " + "))),
    collapse = "\n")
  fit <- cfa(model, data = x)
  fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea",
                           "rmsea.ci.lower", "rmsea.ci.upper", "srmr"))
  std <- standardizedSolution(fit)
  std <- std[std$op == "=~", ]
  out$cfa <- list(n = lavInspect(fit, "nobs"), chi2 = fm[["chisq"]], df = fm[["df"]],
                  p = fm[["pvalue"]], cfi = fm[["cfi"]], tli = fm[["tli"]],
                  rmsea = fm[["rmsea"]], rmsea_ci = unname(c(fm[["rmsea.ci.lower"]], fm[["rmsea.ci.upper"]])),
                  srmr = fm[["srmr"]], std_loadings = as.list(setNames(std$est.std, std$rhs)))

  # SERVQUAL gaps
  if (!is.null(spec$dimensions[[1]]$expectation)) {
    gaps <- list()
    for (dim in names(spec$dimensions)) {
      e <- spec$dimensions[[dim]]$expectation; p <- spec$dimensions[[dim]]$perception
      x <- listwise(d, c(e, p))
      es <- rowMeans(x[, e]); ps <- rowMeans(x[, p])
      t <- t.test(ps - es)
      gaps[[dim]] <- list(n = nrow(x), expectation = mean(es), perception = mean(ps),
                          gap = mean(ps - es), gap_ci = as.vector(t$conf.int))
    }
    out$gaps <- gaps
  }

  # satisfaction on the perception dimension scores
  scores <- data.frame(row.names = seq_len(nrow(d)))
  for (dim in names(spec$dimensions)) scores[[dim]] <- rowMeans(d[, spec$dimensions[[dim]]$perception])
  scores$satisfaction <- rowMeans(d[, spec$satisfaction])
  scores <- scores[complete.cases(scores), ]
  dims <- names(spec$dimensions)
  m <- lm(as.formula(paste("satisfaction ~", paste(dims, collapse = " + "))), data = scores)
  se <- sqrt(diag(vcovHC(m, type = "HC3")))
  beta <- coef(m)[dims] * sapply(scores[dims], sd) / sd(scores$satisfaction)
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
  out$regression <- list(n = nrow(scores), coef = as.list(setNames(coef(m), c("intercept", dims))),
                         se_hc3 = as.list(setNames(se, c("intercept", dims))),
                         ci_hc3 = setNames(lapply(seq_along(se), function(i)
                           coef(m)[[i]] + c(-1, 1) * qt(0.975, df.residual(m)) * se[[i]]),
                           c("intercept", dims)),
                         std_beta = as.list(beta), r2 = summary(m)$r.squared,
                         adj_r2 = summary(m)$adj.r.squared, vif = as.list(vif(m)),
                         relative_weights = as.list(setNames(rw, dims)),
                         shapley = as.list(setNames(lmg, dims)))

  # loyalty on satisfaction
  if (length(spec$loyalty)) {
    ls <- data.frame(sat = rowMeans(d[, spec$satisfaction]), loy = rowMeans(d[, spec$loyalty]))
    ls <- ls[complete.cases(ls), ]
    lin <- lm(loy ~ sat, data = ls); quad <- lm(loy ~ sat + I(sat^2), data = ls)
    ordinal <- list()
    for (item in spec$loyalty) {
      od <- data.frame(y = d[[item]], sat = rowMeans(d[, spec$satisfaction]))
      od <- od[complete.cases(od), ]
      fit <- polr(factor(y, ordered = TRUE) ~ sat, data = od, method = "logistic", Hess = TRUE)
      ordinal[[item]] <- list(n = nrow(od), coef = unname(coef(fit)), thresholds = unname(fit$zeta))
    }
    out$loyalty <- list(n = nrow(ls), linear_r2 = summary(lin)$r.squared,
                        quadratic_r2 = summary(quad)$r.squared,
                        quadratic_coef = unname(coef(quad)[3]),
                        quadratic_p = summary(quad)$coefficients[3, 4], ordinal = ordinal)
  }
  write_json(out, file.path(out_dir, paste0(name, ".r.json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE)
}

for (name in c("servqual-22", "genetic-lab")) reference(name)
