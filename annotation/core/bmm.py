"""Beta mixture model (BMM) that turns mean severity votes into a continuous [0, 1] score.

Halo Trainer (seed 000, Sec. 5.1) "cleans" the 10 severity votes of each (repetition, error type)
by fitting a beta mixture model to the distribution of votes and uses the fit as a continuous
[0, 1] severity score trained with binary cross-entropy. The mixture and its EM follow Arazo et
al. (ICML 2019), whose ``BetaMixture1D`` fits each beta by weighted method of moments. See
``bmm.md`` for the modelling choices (lattice histogram, clipping, tails, monotone score,
fallbacks).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln

__all__ = ["BetaMixture1D", "bmm_severity_scores", "lattice_eps"]

# A beta with alpha + beta above this has a standard deviation below 0.5 / sqrt(1e6) = 5e-4,
# far narrower than the spacing of any vote lattice (1 / (3 * n_votes)): the component sits on
# one lattice point, its likelihood grows without bound and EM has degenerated.
_MAX_CONCENTRATION = 1e6
# A component holding less than this share of the weight carries no information.
_MIN_COMPONENT_WEIGHT = 1e-8


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """log(sum(exp(a), axis=1)) for a small 2-D array; scipy's version costs ~0.3 ms per call in
    array-API dispatch, which dominated a 30-point fit."""
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


class BetaMixture1D:
    """Mixture of beta distributions on (0, 1) fitted by EM with a method-of-moments M-step.

    E-step: responsibilities from the log densities (``logsumexp``, no underflow). M-step: each
    component's weighted mean ``m`` and variance ``s2`` give ``alpha = m * (m (1 - m) / s2 - 1)``
    and ``beta = alpha (1 - m) / m`` (Arazo et al. 2019); the mixing weights are the mean
    responsibilities. Components are ordered by increasing mean after fitting, so the last one is
    the "high" component.

    With ``constrain_tails`` (default) only the lowest-mean component may have an infinite
    density at 0 (``alpha < 1``) and only the highest-mean one at 1 (``beta < 1``); any other
    shape parameter below 1 is raised to 1 by raising ``alpha + beta``, keeping the mean. Without it a wide
    "high" component with ``alpha < 1`` outbids the "low" one at x ~ 0 and swallows the
    no-error items (see ``bmm.md``).

    Degenerate inputs do not raise: ``fit`` sets ``fallback_reason_`` (parameters NaN) when there
    are fewer than ``min_items`` items (sum of weights), a single distinct value, or a component
    collapses during EM (empty, zero variance, non-finite, or concentration above 1e6).

    Parameters
    ----------
    n_components : int, default 2
    max_iter : int, default 100
    tol : float, default 1e-6
        Stop when the weighted mean negative log-likelihood changes by less than ``tol``.
    eps : float, default 1e-4
        ``x`` is clipped to ``[eps, 1 - eps]``, because the beta density is infinite or zero at 0
        and 1 (Arazo et al. use 1e-4). For lattice data see `lattice_eps`.
    min_items : int, default 20
        Fewer items (sum of ``sample_weight``) than this is too little to fit 2 x 2 parameters.
    constrain_tails : bool, default True
        See above.
    init : {"spread", "random"}, default "spread"
        Starting components, with equal weights. "spread": means ``k / (K + 1)`` and
        ``alpha + beta = K + 1``, i.e. Arazo et al.'s Beta(1, 2) and Beta(2, 1) for two
        components (deterministic; the vote simulations in ``bmm.md`` use it). "random": one mean
        drawn in each of K equal strata of (0, 1), ``alpha + beta = 10``; for restarts, and for
        three or more components, where the broad "spread" start can stall in a poor optimum
        (seen on Beta(2, 12) + Beta(10, 10) + Beta(12, 2)).
    random_state : int, numpy.random.Generator or None, default None
        Seed for ``init="random"``; unused otherwise.

    Attributes
    ----------
    alphas_, betas_, weights_ : ndarray of shape (n_components,)
        Beta parameters and mixing weights, ordered by increasing component mean.
    loss_history_ : list of float
        Weighted mean negative log-likelihood of the starting and of each fitted parameter set
        (``n_iter_ + 1`` values; the last one is the returned model's). The moment-matching
        M-step is not an exact maximisation, so it need not decrease at every step.
    n_iter_ : int
        Number of EM iterations (M-steps) run.
    converged_ : bool
    fallback_reason_ : str or None
        ``"too_few_items"``, ``"single_value"`` or ``"component_collapsed"``; None if usable.

    References
    ----------
    E. Arazo, D. Ortego, P. Albert, N. O'Connor, K. McGuinness. Unsupervised label noise modeling
    and loss correction. ICML 2019 (``BetaMixture1D``).
    Halo Trainer (seed 000), Sec. 5.1.
    """

    def __init__(
        self,
        *,
        n_components: int = 2,
        max_iter: int = 100,
        tol: float = 1e-6,
        eps: float = 1e-4,
        min_items: int = 20,
        constrain_tails: bool = True,
        init: str = "spread",
        random_state=None,
    ):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.eps = eps
        self.min_items = min_items
        self.constrain_tails = constrain_tails
        self.init = init
        self.random_state = random_state

    # -- validation -----------------------------------------------------------------------------
    def _validate_params(self):
        if self.n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if not 0 < self.eps < 0.5:
            raise ValueError(f"eps must lie in (0, 0.5), got {self.eps}")
        if self.tol < 0:
            raise ValueError(f"tol must be >= 0, got {self.tol}")
        if self.init not in ("spread", "random"):
            raise ValueError(f"init must be 'spread' or 'random', got {self.init!r}")

    def _check_x(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError("x must be 1-D")
        if not np.all(np.isfinite(x)) or (x.size and (x.min() < 0 or x.max() > 1)):
            raise ValueError("x must be finite and lie in [0, 1]")
        return np.clip(x, self.eps, 1 - self.eps)

    # -- EM pieces ------------------------------------------------------------------------------
    def _log_weighted_pdf(self, x: np.ndarray) -> np.ndarray:
        """log(weight_k * Beta(x; alpha_k, beta_k)), shape (n, n_components)."""
        a, b = self.alphas_, self.betas_
        return (
            np.log(self.weights_)
            + (a - 1) * np.log(x)[:, None]
            + (b - 1) * np.log1p(-x)[:, None]
            - betaln(a, b)
        )

    def _e_step(self, x, w, total):
        """Responsibilities under the current parameters; records the loss. None if not finite."""
        log_joint = self._log_weighted_pdf(x)
        log_norm = _logsumexp_rows(log_joint)
        loss = -float(w @ log_norm) / total
        if not np.isfinite(loss):
            return None
        self.loss_history_.append(loss)
        return np.exp(log_joint - log_norm[:, None])

    def _m_step(self, x, w, resp) -> bool:
        """Weighted method of moments; returns False when a component collapsed."""
        rw = resp * w[:, None]
        mass = rw.sum(axis=0)
        if np.any(mass <= _MIN_COMPONENT_WEIGHT * w.sum()):
            return False
        mean = (rw.T @ x) / mass
        var = np.einsum("nk,nk->k", rw, (x[:, None] - mean) ** 2) / mass
        with np.errstate(divide="ignore", invalid="ignore"):
            concentration = mean * (1 - mean) / var - 1
        if not np.all(np.isfinite(concentration)) or np.any(concentration <= 0):
            return False
        if self.constrain_tails and self.n_components > 1:
            # alpha = m c >= 1 unless lowest, beta = (1 - m) c >= 1 unless highest: raise the
            # concentration c just enough, which keeps every component's mean.
            order = np.argsort(mean)
            floor = np.maximum(1 / mean, 1 / (1 - mean))
            floor[order[0]] = 1 / (1 - mean[order[0]])
            floor[order[-1]] = 1 / mean[order[-1]]
            concentration = np.maximum(concentration, floor)
        if np.any(concentration > _MAX_CONCENTRATION):
            return False
        self.alphas_, self.betas_ = mean * concentration, (1 - mean) * concentration
        self.weights_ = mass / mass.sum()
        return True

    def _initialise(self) -> None:
        k = self.n_components
        if self.init == "random":
            # One mean per stratum ((j + U(0.1, 0.9)) / K), and sharper starting betas: two broad
            # components with close means can converge to a pair of near-identical U-shaped
            # betas, a fixed point of moment-matching EM (5 of 40 seeds at concentration 3 on
            # Beta(2, 8) + Beta(8, 2); 0 of 40 at 10).
            means = (np.arange(k) + np.random.default_rng(self.random_state).uniform(0.1, 0.9, k)) / k
            concentration = 10.0
        else:
            concentration = k + 1.0  # Beta(1, 2) and Beta(2, 1) for k = 2
            means = np.arange(1, k + 1) / concentration
        self.alphas_ = means * concentration
        self.betas_ = (1 - means) * concentration
        self.weights_ = np.full(k, 1.0 / k)

    def _fail(self, reason: str) -> "BetaMixture1D":
        self.alphas_ = np.full(self.n_components, np.nan)
        self.betas_ = np.full(self.n_components, np.nan)
        self.weights_ = np.full(self.n_components, np.nan)
        self.converged_ = False
        self.fallback_reason_ = reason
        return self

    # -- public API -----------------------------------------------------------------------------
    def fit(self, x, sample_weight=None) -> "BetaMixture1D":
        """Fit the mixture to values in [0, 1] (optionally weighted, e.g. lattice counts).

        Parameters
        ----------
        x : array_like of shape (n,)
            Values in [0, 1]; clipped to ``[eps, 1 - eps]``.
        sample_weight : array_like of shape (n,), optional
            Non-negative weights, e.g. how many items share each distinct value.

        Returns
        -------
        self
        """
        self._validate_params()
        x = self._check_x(x)
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != x.shape or not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
            raise ValueError("sample_weight must be finite, non-negative and shaped like x")
        self.loss_history_ = []
        self.n_iter_ = 0
        self.converged_ = False
        self.fallback_reason_ = None
        if w.sum() < self.min_items:
            return self._fail("too_few_items")
        if np.unique(x[w > 0]).size < 2:
            return self._fail("single_value")
        self._initialise()

        total = w.sum()
        resp = self._e_step(x, w, total)
        for _ in range(self.max_iter):
            if resp is None or not self._m_step(x, w, resp):
                return self._fail("component_collapsed")
            self.n_iter_ += 1
            resp = self._e_step(x, w, total)
            if resp is not None and abs(self.loss_history_[-2] - self.loss_history_[-1]) < self.tol:
                self.converged_ = True
                break
        if resp is None:
            return self._fail("component_collapsed")

        order = np.argsort(self.means_, kind="stable")
        self.alphas_, self.betas_, self.weights_ = self.alphas_[order], self.betas_[order], self.weights_[order]
        return self

    @property
    def means_(self) -> np.ndarray:
        """Component means ``alpha / (alpha + beta)``."""
        return self.alphas_ / (self.alphas_ + self.betas_)

    def predict_proba(self, x) -> np.ndarray:
        """Posterior of each component, shape (n, n_components); columns by increasing mean."""
        if not hasattr(self, "fallback_reason_"):
            raise ValueError("call fit before predict_proba")
        if self.fallback_reason_ is not None:
            raise ValueError(f"the mixture fell back ({self.fallback_reason_}); it has no posterior")
        x = self._check_x(x)
        log_joint = self._log_weighted_pdf(x)
        return np.exp(log_joint - _logsumexp_rows(log_joint)[:, None])

    def score_samples(self, x) -> np.ndarray:
        """Log density of the mixture at each value."""
        x = self._check_x(x)
        return _logsumexp_rows(self._log_weighted_pdf(x))


def lattice_eps(x, default: float = 1e-4) -> float:
    """Clip margin for lattice values in [0, 1]: half the gap between {0, 1} and the nearest value.

    Mean votes of 10 annotators on 0..3 lie on k / 30; an all-zero item sits at 0, one stray
    vote of 1 at 1/30. Clipping 0 to 1e-4 would put the all-zero items ten natural-log units
    below the rest of the no-error cluster, where only a beta with ``alpha < 1`` has any density;
    half a lattice step (1/60) keeps them next to their neighbours, the way a rounded value stands
    for its rounding interval. Returns ``default`` when no value lies strictly inside (0, 1).
    """
    x = np.asarray(x, dtype=np.float64)
    inner = x[(x > 0) & (x < 1)]
    if inner.size == 0:
        return default
    return float(min(inner.min(), 1 - inner.max()) / 2)


def bmm_severity_scores(mean_votes, *, n_classes: int = 4, **bmm_kwargs) -> tuple[np.ndarray, dict]:
    """Continuous [0, 1] severity score per item from its mean ordinal vote (Halo Trainer Sec. 5.1).

    ``x = mean_vote / (n_classes - 1)`` is clipped to ``(eps, 1 - eps)`` and a `BetaMixture1D`
    (two components by default) is fitted to the histogram of the distinct ``x`` values with their
    counts as weights, because mean votes lie on a lattice (31 values for 10 votes of 0..3): EM on
    ~30 weighted points is the same EM as on ~1 M repeated ones, at no cost. The score is the
    posterior of the higher-mean component, made non-decreasing in ``x`` with a running maximum
    over the sorted distinct values (a mixture posterior need not be monotone; a higher mean vote
    must never give a lower severity). Degenerate inputs fall back to ``x`` itself, never NaN.

    Parameters
    ----------
    mean_votes : array_like of float, shape (n_items,)
        Mean vote per item in ``[0, n_classes - 1]``. Drop items without votes first (a NaN
        mean raises).
    n_classes : int, default 4
    **bmm_kwargs
        Hyperparameters of `BetaMixture1D`. ``eps`` defaults to `lattice_eps` of the data (half
        a lattice step) instead of the class default 1e-4; see ``bmm.md``.

    Returns
    -------
    scores : ndarray of float, shape (n_items,)
    info : dict
        JSON-serialisable record of what produced the scores: ``alphas``, ``betas``,
        ``weights`` (lists by increasing mean; None on fallback), ``eps``, ``n_iter``,
        ``converged``, ``fallback_reason`` (None, ``"no_items"``, ``"all_zero"``,
        ``"single_value"``, ``"too_few_items"`` or ``"component_collapsed"``), ``n_items``,
        ``n_distinct``.

    References
    ----------
    Halo Trainer (seed 000), Sec. 5.1; Arazo et al., ICML 2019.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    mean_votes = np.asarray(mean_votes, dtype=np.float64)
    if mean_votes.ndim != 1:
        raise ValueError("mean_votes must be 1-D")
    if not np.all(np.isfinite(mean_votes)):
        raise ValueError("mean_votes must be finite (drop items without votes)")
    x = mean_votes / (n_classes - 1)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"mean_votes must lie in [0, {n_classes - 1}]")

    distinct, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    bmm_kwargs.setdefault("eps", lattice_eps(distinct))
    model = BetaMixture1D(**bmm_kwargs)
    info = {
        "alphas": None, "betas": None, "weights": None, "eps": float(model.eps), "n_iter": 0,
        "converged": False, "fallback_reason": None, "n_items": int(x.size),
        "n_distinct": int(distinct.size),
    }
    if x.size == 0:
        info["fallback_reason"] = "no_items"
        return x.copy(), info
    if distinct.size == 1 and distinct[0] == 0:
        info["fallback_reason"] = "all_zero"
        return x.copy(), info

    model.fit(distinct, sample_weight=counts)
    info["n_iter"] = model.n_iter_
    info["converged"] = model.converged_
    if model.fallback_reason_ is not None:
        info["fallback_reason"] = model.fallback_reason_
        return x.copy(), info
    high = np.maximum.accumulate(model.predict_proba(distinct)[:, -1])
    if not np.all(np.isfinite(high)):
        info["fallback_reason"] = "component_collapsed"
        return x.copy(), info
    info.update(
        alphas=model.alphas_.tolist(), betas=model.betas_.tolist(), weights=model.weights_.tolist()
    )
    return high[inverse], info
