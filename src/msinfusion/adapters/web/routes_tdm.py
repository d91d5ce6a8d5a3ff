"""Natalizumab therapeutic drug monitoring: ``POST /api/patients/{id}/tdm`` and its companions.

The body's shape is checked here (pydantic: a 422 names the field); what the values mean (a
trough before the first dose, a target other than 5 or 10) is checked by ``application.tdm``.
Routes only call the application layer and format its answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field

from msinfusion.adapters.web.auth import ActorDep
from msinfusion.adapters.web.context import web_context
from msinfusion.adapters.web.errors import ERROR_RESPONSES
from msinfusion.adapters.web.models import Flag, Forbid, Id, Moment
from msinfusion.adapters.web.routes_records import PathId
from msinfusion.application.tdm import (
    MAX_TROUGH_UG_PER_ML,
    MAX_TROUGHS,
    StoredTrough,
    TdmPanel,
    TroughInput,
    parse_target,
)
from msinfusion.pharmacology.tdm_advice import VersionAccuracy

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)


class TroughIn(Forbid):
    at: Moment
    trough_ug_per_ml: Annotated[float, Field(gt=0, le=MAX_TROUGH_UG_PER_ML, allow_inf_nan=False)]


class TdmIn(Forbid):
    troughs: Annotated[list[TroughIn], Field(min_length=1, max_length=MAX_TROUGHS)]
    target_ug_per_ml: Annotated[float, Field(description="5 or 10 ug/mL (NEXT-MS targets)")]


class ApplyIn(Forbid):
    recommendation_id: Id
    acknowledge_off_label: Flag = False


def trough_to_dict(trough: StoredTrough) -> dict[str, Any]:
    return {
        "entry_id": trough.entry_id,
        "at": trough.at.isoformat(),
        "trough_ug_per_ml": trough.trough_ug_per_ml,
        "prediction": None if trough.prediction is None else dict(trough.prediction),
    }


def accuracy_to_dict(rows: tuple[VersionAccuracy, ...]) -> list[dict[str, Any]]:
    return [
        {
            "model_version": r.model_version,
            "n": r.n,
            "mean_prediction_error_pct": r.mean_prediction_error_pct,
            "mean_absolute_prediction_error_pct": r.mean_absolute_prediction_error_pct,
        }
        for r in rows
    ]


def panel_to_dict(panel: TdmPanel) -> dict[str, Any]:
    rec = panel.recommendation
    return {
        "patient_id": panel.patient_id,
        "order_id": None if panel.order is None else panel.order.id,
        "order_interval": None
        if panel.order is None
        else dict(panel.order.options).get("interval", "4w"),
        "troughs": [trough_to_dict(t) for t in panel.troughs],
        "recommendation": None
        if rec is None
        else {
            "recommendation_id": rec.entry_id,
            "recorded_at": rec.recorded_at.isoformat(),
            **rec.advice,
        },
        "accuracy": accuracy_to_dict(panel.accuracy),
        "published_accuracy": [
            {
                "method": p.method,
                "mean_prediction_error_pct": p.mean_prediction_error_pct,
                "target_ug_per_ml": p.target_ug_per_ml,
                "source_url": p.source_url,
            }
            for p in panel.published
        ],
    }


@router.post("/patients/{patient_id}/tdm", tags=["tdm"])
def assess(request: Request, actor: ActorDep, patient_id: PathId, body: TdmIn) -> dict[str, Any]:
    """Store the troughs, fit the model (doses from the record), store and answer the
    recommendation: ``interval_weeks``, ``predicted_trough_ug_per_ml``, ``model_version``,
    ``band``, alpha-4 saturation at trough, the basis. Decision support: never applied here."""
    target = parse_target(body.target_ug_per_ml)
    troughs = [TroughInput(at=t.at, trough_ug_per_ml=t.trough_ug_per_ml) for t in body.troughs]
    recommendation, stored = web_context(request).centre.tdm.assess(
        actor, patient_id, troughs, target
    )
    return {
        "recommendation_id": recommendation.entry_id,
        **recommendation.advice,
        "troughs_stored": [trough_to_dict(t) for t in stored],
    }


@router.get("/patients/{patient_id}/tdm", tags=["tdm"])
def panel(request: Request, actor: ActorDep, patient_id: PathId) -> dict[str, Any]:
    """The stored troughs (with prediction errors), the latest recommendation, the accuracy."""
    return panel_to_dict(web_context(request).centre.tdm.get_panel(actor, patient_id))


@router.post("/patients/{patient_id}/tdm/apply", tags=["tdm"])
def apply_interval(
    request: Request, actor: ActorDep, patient_id: PathId, body: ApplyIn
) -> dict[str, Any]:
    """A physician puts the latest recommendation's interval on the natalizumab order."""
    order = web_context(request).centre.tdm.apply_interval(
        actor,
        patient_id,
        body.recommendation_id,
        acknowledge_off_label=body.acknowledge_off_label,
    )
    return {"order_id": order.id, "options": dict(order.options)}


@router.get("/tdm/accuracy", tags=["tdm"])
def accuracy(request: Request, actor: ActorDep) -> dict[str, Any]:
    """Running accuracy per model version, next to the published benchmark."""
    rows = web_context(request).centre.tdm.accuracy(actor)
    return {"accuracy": accuracy_to_dict(rows)}
