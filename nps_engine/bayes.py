"""A Bayesian check of an NPS, shown beside the adjusted-Wald figures on request (``--method
bayes``).

The three categories' shares get a Dirichlet posterior from a uniform prior (Dirichlet(1, 1, 1))
and the observed counts; NPS = share of promoters - share of detractors. Its 95% credible interval
is read from Monte-Carlo draws of the posterior with a fixed seed, so a report is reproducible:
the same tallies always give the same interval. numpy is imported only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from nps_engine.statistics import Tally

DRAWS = 20_000
SEED = 20_260_101


@dataclass(frozen=True, slots=True)
class Credible:
    """Posterior mean NPS and its central 95% credible interval, in points."""

    mean: float
    ci95: tuple[float, float]


def credible_nps(tally: Tally, *, draws: int = DRAWS, seed: int = SEED) -> Credible:
    """The posterior of NPS under Dirichlet(1 + promoters, 1 + passives, 1 + detractors).

    With no answers this is the prior itself (mean 0, interval about -78..78), which is why the
    report asks only for tallies with answers.
    """
    import numpy as np

    alpha = (1 + tally.promoters, 1 + tally.passives, 1 + tally.detractors)
    shares = np.random.default_rng(seed).dirichlet(alpha, size=draws)
    nps = 100.0 * (shares[:, 0] - shares[:, 2])
    low, high = np.quantile(nps, [0.025, 0.975])
    # the exact posterior mean (Dirichlet means are alpha / sum), not the draws' average
    mean = 100.0 * (alpha[0] - alpha[2]) / sum(alpha)
    return Credible(mean, (float(low), float(high)))
