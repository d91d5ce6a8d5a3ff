"""Pharmacology: PK/PD of the infused MS therapies, for one patient or a virtual population.

Dosing comes from planned regimens (catalog ladders at planned times) or from the session
engine's infusion records (exact rates and pauses). Linear models are solved exactly
(``linear``), natalizumab's Michaelis-Menten model by a vectorised integrator (``nonlinear``);
populations stream their summaries (``population``); ``tdm`` forecasts natalizumab intervals;
``lymphocytes`` holds alemtuzumab's B/CD4/CD8 depletion and reconstitution. Guide with
executed examples: docs/pharmacology-api.md.
Every parameter carries its dossier grade and source (``parameters``, ``pd``). numpy/scipy only;
matplotlib is imported only to draw a plot.
"""

from __future__ import annotations

from msinfusion.pharmacology.dosing import (
    InfusionSchedule,
    RateSegment,
    combine,
    schedule_from_events,
    schedule_from_protocol,
)
from msinfusion.pharmacology.models import MODELS, DrugModel, Effect, get_model
from msinfusion.pharmacology.parameters import Parameter, ParameterSet
from msinfusion.pharmacology.population import PopulationResult, run_population
from msinfusion.pharmacology.regimen import standard_regimen
from msinfusion.pharmacology.report import SimulationReport, simulate
from msinfusion.pharmacology.tdm import Level, TdmResult, run_tdm

__all__ = [
    "MODELS",
    "DrugModel",
    "Effect",
    "InfusionSchedule",
    "Level",
    "Parameter",
    "ParameterSet",
    "PopulationResult",
    "RateSegment",
    "SimulationReport",
    "TdmResult",
    "combine",
    "get_model",
    "run_population",
    "run_tdm",
    "schedule_from_events",
    "schedule_from_protocol",
    "simulate",
    "standard_regimen",
]
