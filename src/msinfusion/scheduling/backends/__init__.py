"""Solver back ends: ``greedy`` (first come, first served) and ``cpsat`` (OR-Tools CP-SAT).

Only ``backends.cpsat`` imports OR-Tools; import it lazily so the rest of the package (and the
CLI's other commands) start without loading the solver.
"""
