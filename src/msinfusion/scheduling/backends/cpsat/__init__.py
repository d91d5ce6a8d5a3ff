"""The CP-SAT back end, split as in PyJobShop: variables, constraints, objective, solve.

The only place in msinfusion that imports OR-Tools; also the time-indexed MIP (HiGHS via scipy).
"""

from __future__ import annotations

from msinfusion.scheduling.backends.cpsat.solve import CpSatOptions, solve_cpsat

__all__ = ["CpSatOptions", "solve_cpsat"]
