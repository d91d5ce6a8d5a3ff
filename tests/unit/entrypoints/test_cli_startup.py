"""The CLI starts without the web app, storage or heavy libraries (issue 22: a fast ``--help``)."""

from __future__ import annotations

import json
import subprocess
import sys

from msinfusion.application.records import Role
from msinfusion.entrypoints.server_cli import RoleChoice

HEAVY = ("fastapi", "sqlalchemy", "ortools", "numpy", "scipy", "matplotlib", "pydantic")

# Import the CLI, build the help of every command and group (as ``--help`` does), then list the
# heavy top-level packages that got imported.
_PROBE = """
import json, sys
import click, typer
from msinfusion.entrypoints.cli import app

def walk(command, context):
    command.get_help(context)
    if isinstance(command, click.Group):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            walk(sub, click.Context(sub, info_name=name, parent=context))

root = typer.main.get_command(app)
walk(root, click.Context(root, info_name="msinfusion"))
heavy = %r
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


def test_help_of_every_command_imports_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_role_choice_mirrors_the_application_roles() -> None:
    assert [r.value for r in RoleChoice] == [r.value for r in Role]
