"""Stage 1 of the multi-week plan with CP-SAT: a day for every visit request.

Objective, lexicographic through exact weights (a lower level can never outweigh one unit of a
higher one): (1) requests assigned, (2) total days away from the due day, (3) the fullest day's
chair minutes (level-loading across days). Falls back to the greedy assignment (its warm start)
if CP-SAT returns nothing within the time limit.
"""

from __future__ import annotations

from datetime import date, timedelta

from ortools.sat.python import cp_model

from msinfusion.scheduling.backends.cpsat.solve import CpSatOptions
from msinfusion.scheduling.weeks import DayAssignment, WeeksProblem
from msinfusion.scheduling.weeks_assign import assign_days_greedy


def assign_days_cpsat(
    problem: WeeksProblem, options: CpSatOptions | None = None, fill: float = 0.9
) -> DayAssignment:
    options = options or CpSatOptions()
    model = cp_model.CpModel()
    budget = int(problem.template.chair_budget() * fill // timedelta(minutes=1))
    length = {r.id: int(problem.chair_time(r) // timedelta(minutes=1)) for r in problem.requests}
    x: dict[str, dict[date, cp_model.IntVar]] = {}
    assigned: dict[str, cp_model.IntVar] = {}
    ordinal: dict[str, cp_model.LinearExpr] = {}
    deviation: list[cp_model.LinearExpr] = []
    for r in problem.requests:
        x[r.id] = {d: model.new_bool_var(f"x_{r.id}_{d}") for d in problem.allowed_days(r)}
        assigned[r.id] = model.new_bool_var(f"a_{r.id}")
        model.add(sum(x[r.id].values()) == assigned[r.id])
        if r.mandatory:
            model.add(assigned[r.id] == 1)
        ordinal[r.id] = cp_model.LinearExpr.weighted_sum(
            list(x[r.id].values()), [d.toordinal() for d in x[r.id]]
        )
        deviation.append(
            cp_model.LinearExpr.weighted_sum(
                list(x[r.id].values()), [abs((d - r.due_day).days) for d in x[r.id]]
            )
        )
    for link in problem.links:
        model.add(assigned[link.first] == assigned[link.second])
        gap = ordinal[link.second] - ordinal[link.first]
        model.add(gap >= link.min_days).only_enforce_if(assigned[link.first])
        model.add(gap <= link.max_days).only_enforce_if(assigned[link.first])
    peak = model.new_int_var(0, budget, "peak_day_minutes")
    for day in problem.open_days():
        load = sum(length[rid] * v[day] for rid, v in x.items() if day in v)
        model.add(load <= budget)
        model.add(peak >= load)
    unassigned = sum(1 - a for a in assigned.values())
    max_deviation = sum(
        max((abs((d - r.due_day).days) for d in x[r.id]), default=0) for r in problem.requests
    )
    w_dev = budget + 1
    w_unassigned = w_dev * (max_deviation + 1)
    model.minimize(w_unassigned * unassigned + w_dev * sum(deviation) + peak)
    greedy = assign_days_greedy(problem, fill)
    for rid, days in x.items():
        for day, var in days.items():
            model.add_hint(var, greedy.get(rid) == day)
    status, solver = _solve(model, options)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return greedy
    return {rid: day for rid, days in x.items() for day, var in days.items() if solver.value(var)}


def _solve(model: cp_model.CpModel, options: CpSatOptions) -> tuple[object, cp_model.CpSolver]:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = options.time_limit.total_seconds()
    solver.parameters.num_workers = max(1, options.num_workers)
    solver.parameters.random_seed = options.random_seed
    return solver.solve(model), solver
