"""Stage 1 of the multi-week plan, first come first served: a day for each visit request.

Linked visits are placed as a group: the first visit of the group on its best allowed day (the
due day first, then nearer days before farther), each linked visit inside its link's range; if a
member does not fit, the whole group tries the next day. A group that fits nowhere is left out.
``fill`` is the share of the chairs' opening hours stage 1 may fill (a planning parameter).
"""

from __future__ import annotations

from datetime import date, timedelta

from msinfusion.scheduling.weeks import DayAssignment, VisitRequest, WeeksProblem


def link_groups(problem: WeeksProblem) -> list[list[VisitRequest]]:
    """Requests grouped by links, each group ordered so a link's first precedes its second."""
    parent = {r.id: r.id for r in problem.requests}

    def root(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for link in problem.links:
        parent[root(link.second)] = root(link.first)
    groups: dict[str, list[VisitRequest]] = {}
    for request in problem.requests:
        groups.setdefault(root(request.id), []).append(request)
    seconds = {link.second for link in problem.links}
    ordered = []
    for members in groups.values():
        placed: list[VisitRequest] = [m for m in members if m.id not in seconds]
        rest = [m for m in members if m.id in seconds]
        while rest:
            ready = [
                m
                for m in rest
                if all(
                    link.first in {p.id for p in placed}
                    for link in problem.links
                    if link.second == m.id
                )
            ]
            if not ready:  # a cycle of links: keep the given order, the check will report it
                ready = rest[:1]
            placed.extend(ready)
            rest = [m for m in rest if m not in ready]
        ordered.append(placed)
    return ordered


def _by_preference(days: list[date], due: date) -> list[date]:
    return sorted(days, key=lambda d: (abs((d - due).days), d))


def assign_days_greedy(problem: WeeksProblem, fill: float = 0.9) -> DayAssignment:
    budget = problem.template.chair_budget() * fill
    used = {d: timedelta(0) for d in problem.open_days()}
    length = {r.id: problem.chair_time(r) for r in problem.requests}
    chosen: DayAssignment = {}
    for group in link_groups(problem):
        head = group[0]
        for anchor in _by_preference(problem.allowed_days(head), head.due_day):
            trial = _try_group(
                problem, group=group, anchor=anchor, used=used, length=length, budget=budget
            )
            if trial is not None:
                for rid, day in trial.items():
                    used[day] += length[rid]
                chosen |= trial
                break
    return chosen


def _try_group(
    problem: WeeksProblem,
    *,
    group: list[VisitRequest],
    anchor: date,
    used: dict[date, timedelta],
    length: dict[str, timedelta],
    budget: timedelta,
) -> DayAssignment | None:
    trial: DayAssignment = {}
    extra: dict[date, timedelta] = {}
    for request in group:
        candidates = [anchor] if not trial else problem.allowed_days(request)
        for link in problem.links:
            if link.second == request.id and link.first in trial:
                low = trial[link.first] + timedelta(days=link.min_days)
                high = trial[link.first] + timedelta(days=link.max_days)
                candidates = [d for d in candidates if low <= d <= high]
        fits = [
            d
            for d in _by_preference(candidates, request.due_day)
            if request.earliest_day <= d <= request.latest_day
            and used[d] + extra.get(d, timedelta(0)) + length[request.id] <= budget
        ]
        if not fits:
            return None
        trial[request.id] = fits[0]
        extra[fits[0]] = extra.get(fits[0], timedelta(0)) + length[request.id]
    return trial
