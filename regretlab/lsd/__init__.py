"""Last-switch-dependent (LSD) and recharging bandits [FGPZ23, LCCG22, KI18, PCS22, SZZ21]
(specs/lsd-recharging-bandits.md).

- :mod:`.models`: instances in one column form (payoff table + transition maps), the recharging->LSD lift,
  structure checks and the instance generators of the spec, the two [LCCG22] instances.
- :mod:`.simulate`: schedule scoring (Numba, vectorised over schedules and instances, counter-based noise)
  and the exact DP optimum for tiny instances.
- :mod:`.reference`: plain-Python oracles (transition rules, scoring, brute-force optimum and maximum mean
  cycle).
- :mod:`.periodic`: the best periodic schedule by enumeration and the rho*-cycle schedule (Karp).

Nothing here compiles or imports Numba at import time.
"""
from .models import (
                     KINDS,
                     LSD_FAMILIES,
                     RECHARGING_FAMILIES,
                     Instance,
                     action_masks,
                     is_concave_recharging,
                     is_monotone_full,
                     is_monotone_sides,
                     lccg22_section4,
                     lccg22_supplementary,
                     lift_to_lsd,
                     lsd,
                     random_lsd,
                     random_recharging,
                     recharging,
)
from .simulate import NOISES, OptResult, Scores, as_masks, dp_opt, joint_index, score

__all__ = ["KINDS", "LSD_FAMILIES", "NOISES", "RECHARGING_FAMILIES", "Instance", "OptResult", "Scores",
           "action_masks", "as_masks", "dp_opt", "is_concave_recharging", "is_monotone_full", "is_monotone_sides",
           "joint_index", "lccg22_section4", "lccg22_supplementary", "lift_to_lsd", "lsd", "random_lsd",
           "random_recharging", "recharging", "score"]
