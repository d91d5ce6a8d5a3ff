"""Statements built once and reused with bound parameters (issue 22).

SQLAlchemy compiles a statement once per shape (its compiled cache), but it still has to build
the statement object and walk it for its cache key on every call: about a third of a command's
SQL time under cProfile. A statement object reused across calls memoises its cache key, so the
hot reads and writes of the command path build theirs here, once per table and column, and pass
their values as parameters. The SQL each sends is the same as the one built per call.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Insert, Select, Table, Update, bindparam, exists, insert, select, update

KEY = "key_value"
"""The parameter name of the key in ``select_by``, ``exists_by`` and ``update_by``; no
column is named so, so it never collides with an ``UPDATE``'s ``SET`` values."""


@functools.cache
def select_by(table: Table, column: str) -> Select[Any]:
    """``SELECT * FROM table WHERE column = :key_value``."""
    return select(table).where(table.c[column] == bindparam(KEY))


@functools.cache
def exists_by(table: Table, column: str) -> Select[Any]:
    """``SELECT EXISTS (… WHERE column = :key_value)``."""
    return select(exists().where(table.c[column] == bindparam(KEY)))


@functools.cache
def insert_into(table: Table) -> Insert:
    """``INSERT INTO table``: the columns are the keys of the parameters it is executed with."""
    return insert(table)


@functools.cache
def update_by(table: Table, column: str) -> Update:
    """``UPDATE table SET <the other parameters' columns> WHERE column = :key_value``."""
    return update(table).where(table.c[column] == bindparam(KEY))
