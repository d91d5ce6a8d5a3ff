"""Session commands at the HTTP edge: one request model per command, and the typed command.

The request body of ``POST /api/sessions/{id}/commands`` is a union discriminated on
``command``, generated from the dataclasses in ``session.commands`` so that OpenAPI documents
every command's fields and can never drift from the engine's. The models check the JSON shape
(required fields, types, no unknown field); ``session.interchange.command_from_dict`` — the one
decoder, shared with forms, interchange files and the CLI — reads the exact values (numbers as
fractions, times with their offset) and gives the typed command the service layer accepts.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from fractions import Fraction
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, create_model

from msinfusion.application.audit import Actor
from msinfusion.catalog.model import Severity
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session.codec import field_types
from msinfusion.session.commands import COMMAND_TYPES, Command
from msinfusion.session.interchange import command_from_dict

Number = Annotated[
    StrictInt | float | str,
    Field(description='A number, or a decimal string read exactly ("60.5", "121/2").'),
]
Moment = Annotated[
    str, Field(json_schema_extra={"format": "date-time"}, description="ISO 8601 with offset")
]


_JSON_TYPES: dict[Any, Any] = {
    datetime: Moment,
    Fraction: Number,
    Severity: Literal[tuple(s.value for s in Severity)],
    Consciousness: Literal[tuple(c.value for c in Consciousness)],
    bool: StrictBool,
    int: StrictInt,
    str: str,
}
"""A command field's Python type -> what its JSON may hold (the decoder reads it exactly)."""


def _annotation(hint: Any) -> Any:
    if isinstance(hint, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _annotation(inner) | None
    if typing.get_origin(hint) is tuple:
        return list[str]
    return _JSON_TYPES[hint]


SERVER_FIELDS = frozenset({"recorded_at"})
"""Fields the server sets and a client never sends: when the entry is recorded (its clock)."""


class _CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _model(cls: type[Command]) -> type[BaseModel]:
    hints = field_types(cls)
    definitions: dict[str, Any] = {"command": (Literal[cls.__name__], ...)}
    for field in fields(cls):
        if field.name in SERVER_FIELDS:
            continue
        annotation = _annotation(hints[field.name])
        default = ... if field.default is MISSING else field.default
        definitions[field.name] = (annotation, default)
    model: type[BaseModel] = create_model(
        cls.__name__,
        __base__=_CommandBody,
        __doc__=(cls.__doc__ or cls.__name__).strip(),
        **definitions,
    )
    return model


COMMAND_MODELS: dict[str, type[BaseModel]] = {cls.__name__: _model(cls) for cls in COMMAND_TYPES}

if typing.TYPE_CHECKING:
    AnyCommand = BaseModel
else:
    AnyCommand = Annotated[
        Union[tuple(COMMAND_MODELS.values())],  # noqa: UP007  # a runtime tuple of models
        Field(discriminator="command"),
    ]


def typed_command(actor: Actor, data: Mapping[str, Any]) -> Command:
    """The typed command of a decoded body or form; ``user`` defaults to the signed-in user
    (the service layer refuses any other, naming the field)."""
    return command_from_dict({**data, "user": data.get("user", actor.username)})


def body_of(command: BaseModel) -> dict[str, Any]:
    """The fields a client sent (defaults it left out stay out)."""
    return command.model_dump(exclude_unset=True) | {"command": type(command).__name__}
