"""The infusion session: an event-sourced, protocol-enforcing record of one infusion visit.

``decide(state, command, protocol)`` returns the events a command causes or raises
``CommandRefused`` naming the rule; ``evolve(state, event)`` folds one event; ``replay(events)``
folds a stream; ``state_at(events, t)`` and ``view_at(events, protocol, t)`` answer what the
session looks like at any time. The core never reads a clock: every command carries ``at``.
"""

from __future__ import annotations

from msinfusion.session.codec import event_from_dict, event_to_dict
from msinfusion.session.commands import (
    ChangeRate,
    CheckIn,
    Command,
    CompleteInfusion,
    CorrectEntry,
    Discharge,
    GivePremedication,
    GiveRescueMedication,
    PauseInfusion,
    RecordAssessment,
    RecordLineEvent,
    RecordReaction,
    RecordVitals,
    ResolveReaction,
    ResumeInfusion,
    StartInfusion,
    StopInfusion,
)
from msinfusion.session.decide import decide
from msinfusion.session.due import DueAction, next_rate_step
from msinfusion.session.events import EVENT_TYPES, Event
from msinfusion.session.evolve import evolve, replay
from msinfusion.session.interchange import command_from_dict, command_to_dict, commands_from_json
from msinfusion.session.queries import SessionView, state_at, view_at
from msinfusion.session.simulate import ScriptedReaction, Simulation, simulate
from msinfusion.session.state import SessionState, Status

__all__ = [
    "EVENT_TYPES",
    "ChangeRate",
    "CheckIn",
    "Command",
    "CompleteInfusion",
    "CorrectEntry",
    "Discharge",
    "DueAction",
    "Event",
    "GivePremedication",
    "GiveRescueMedication",
    "PauseInfusion",
    "RecordAssessment",
    "RecordLineEvent",
    "RecordReaction",
    "RecordVitals",
    "ResolveReaction",
    "ResumeInfusion",
    "ScriptedReaction",
    "SessionState",
    "SessionView",
    "Simulation",
    "StartInfusion",
    "Status",
    "StopInfusion",
    "command_from_dict",
    "command_to_dict",
    "commands_from_json",
    "decide",
    "event_from_dict",
    "event_to_dict",
    "evolve",
    "next_rate_step",
    "replay",
    "simulate",
    "state_at",
    "view_at",
]
