"""Every pre-treatment and pre-infusion gate, with its source and override rule.

Which therapies a gate applies to is data: each therapy file lists its gate ids in
``planning.gates``; this module holds the gate logic, and refuses an id no gate has.

Dossier ids in comments: A = anti-CD20 dossier (Q items), N = natalizumab/alemtuzumab/
mitoxantrone/methylprednisolone dossier (N, A, M, P items). ``overridable=True`` only where the
label leaves room for a prescriber decision (e.g. "whenever possible", "consult a specialist").
``jurisdictions`` names where a REMS or label rule is law (rems-and-label-rules.md): TOUCH and
the Lemtrada REMS in the US, SmPC rules in the EU; such a gate also applies where the
jurisdiction is unknown (the strictest reading). See docs/clinical/therapy-rules.md.
"""

from __future__ import annotations

from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import CatalogError
from msinfusion.planning import course_data as data
from msinfusion.planning import gate_checks as checks
from msinfusion.planning import label_rule_checks as label
from msinfusion.planning.gate_evaluators import (
    at_least,
    finding_today,
    negative,
    no_finding_today,
    pregnancy,
    present,
)
from msinfusion.planning.gates import Evaluate, Gate, GateWhen

CD20_SOURCES = ("prescriberpoint-ocrevus", "prescriberpoint-briumvi", "rituxiver")
LIVER = checks.LIVER


def _therapies_by_gate() -> dict[str, frozenset[str]]:
    """Gate id -> the therapies whose file lists it in ``planning.gates``."""
    found: dict[str, set[str]] = {}
    for therapy in shipped_catalog():
        for gate_id in () if therapy.planning is None else therapy.planning.gate_ids:
            found.setdefault(gate_id, set()).add(therapy.id)
    return {gate_id: frozenset(ids) for gate_id, ids in found.items()}


_APPLIES = _therapies_by_gate()


def _g(
    gid: str,
    title: str,
    when: GateWhen,
    *,
    mandatory: bool = True,
    overridable: bool = False,
    sources: tuple[str, ...],
    evaluate: Evaluate,
    verified: bool = True,
    note: str | None = None,
    jurisdictions: frozenset[str] = frozenset(),
) -> Gate:
    return Gate(
        id=gid,
        title=title,
        therapies=_APPLIES.get(gid, frozenset()),
        when=when,
        mandatory=mandatory,
        overridable=overridable,
        source_ids=sources,
        evaluate=evaluate,
        verified=verified,
        note=note,
        jurisdictions=jurisdictions,
    )


US, EU = frozenset({"US"}), frozenset({"EU"})
FIRST, COURSE, EVERY = GateWhen.FIRST_DOSE, GateWhen.EACH_COURSE, GateWhen.EVERY_DOSE
NEG = negative
GATES: tuple[Gate, ...] = (
    # Anti-CD20 (A 1.1, 3.1, 4.1)
    _g(
        "hbv_hbsag",
        "Hepatitis B surface antigen",
        FIRST,
        sources=CD20_SOURCES,
        evaluate=NEG(
            "hbsag", positive_reason="active HBV is a contraindication", overridable=False
        ),
    ),
    _g(
        "hbv_anti_hbc",
        "Hepatitis B core antibody",
        FIRST,
        overridable=True,
        sources=CD20_SOURCES,
        evaluate=NEG(
            "anti_hbc",
            positive_reason="liver specialist before and during therapy",
            overridable=True,
        ),
    ),
    _g(
        "serum_immunoglobulins",
        "Quantitative serum immunoglobulins",
        FIRST,
        overridable=True,
        sources=CD20_SOURCES[:2],
        evaluate=present(("serum_immunoglobulins",)),
        note="Low result: consult immunology before starting. Rituximab: MS practice by analogy.",
    ),
    _g(
        "anti_cd20_vaccination_timing",
        "Vaccinations completed before start (dossier Q4)",
        FIRST,
        sources=("prescriberpoint-ocrevus", "medscape-uk-ocrelizumab"),
        evaluate=checks.anti_cd20_vaccines,
    ),
    _g(
        "liver_tests",
        "ALT, AST, alkaline phosphatase, bilirubin (US, 8/2025)",
        FIRST,
        overridable=True,
        sources=CD20_SOURCES[:2],
        evaluate=checks.liver_us,
    ),
    _g(
        "active_infection",
        "No active infection today (postpone until resolved)",
        EVERY,
        sources=("ocrevus-admin", "medscape-briumvi", "lemtrada-eu-leaflet"),
        evaluate=no_finding_today(
            "active_infection", fail_reason="postpone until resolved", overridable=False
        ),
    ),
    _g(
        "ublituximab_pregnancy",
        "Pregnancy status verified (US)",
        EVERY,
        overridable=True,
        sources=("medscape-briumvi", "themeditary-briumvi"),
        evaluate=pregnancy(every_dose=True, overridable=True),
    ),
    # Natalizumab (N 1.2, 1.3)
    _g(
        "natalizumab_anti_jcv",
        "Anti-JCV antibody status and index",
        FIRST,
        sources=("tysabri-mims-sg", "tysabrihcp-dosing"),
        evaluate=checks.jcv,
    ),
    _g(
        "natalizumab_baseline_mri",
        "Baseline brain MRI (EU: within 3 months)",
        FIRST,
        overridable=True,
        sources=("rcr-mri", "tysabri-us-pi"),
        evaluate=checks.mri_baseline,
    ),
    _g(
        "natalizumab_no_pml",
        "No current or prior PML",
        EVERY,
        sources=("tysabri-us-pi",),
        evaluate=checks.pml_never,
    ),
    _g(
        "natalizumab_immune_status",
        "Not immunocompromised, no immunosuppressant (today)",
        EVERY,
        sources=("touch-checklist-questions", "tysabri-us-pi", "tysabri-eu-leaflet"),
        evaluate=label.natalizumab_immune_status,
        note="TOUCH-18/19/23 (US: prescriber decision, overridable); NTZEU-10 (EU and unknown: "
        "contraindication, no override).",
    ),
    _g(
        "natalizumab_reinformation_24_months",
        "EU: patient re-informed and continuation form signed at 24 months",
        EVERY,
        sources=("tysabri-eu-smpc-copy", "tysabri-eu-leaflet", "tysabri-eu-materials"),
        evaluate=label.natalizumab_reinformation,
        jurisdictions=EU,
        note="NTZEU-01/02 (grade B).",
    ),
    _g(
        "touch_authorized",
        "REMS (TOUCH / TYRUKO REMS) authorisation current",
        EVERY,
        jurisdictions=US,
        sources=("touch-rems",),
        evaluate=finding_today(
            "touch_authorized", fail_reason="do not infuse; refer to the prescriber"
        ),
    ),
    _g(
        "touch_checklist",
        "Pre-infusion patient checklist: no stop answer",
        EVERY,
        overridable=True,
        jurisdictions=US,
        sources=("touch-rems", "touch-checklist"),
        verified=False,
        evaluate=no_finding_today(
            "touch_checklist_stop",
            overridable=True,
            fail_reason="do not infuse; refer to the prescriber",
        ),
        note="Dossier N9: checklist wording not hard-coded; override = prescriber clearance.",
    ),
    # Alemtuzumab (N 2.1, 2.2; rems-and-label-rules.md C, D)
    _g(
        "alemtuzumab_rems_authorized",
        "US: Lemtrada REMS - patient enrolled and authorised (today)",
        EVERY,
        jurisdictions=US,
        sources=("lemtrada-rems", "lemtrada-rems-policy"),
        evaluate=finding_today(
            "lemtrada_rems_authorized",
            fail_reason="do not infuse: not enrolled and authorised in the REMS (LEMUS-05)",
        ),
        note="LEMUS-05: A (REMS goal), B (the per-infusion check).",
    ),
    _g(
        "alemtuzumab_eu_contraindications",
        "EU contraindication checklist before the course",
        COURSE,
        jurisdictions=EU,
        sources=("lemtrada-eu-leaflet", "lemtrada-ema-referral"),
        evaluate=label.alemtuzumab_eu_contraindications,
        note="LEMEU-02 (grade B); the 2020 referral (LEMEU-01, A) restricts use in heart, "
        "circulation and bleeding disorders and other autoimmune disease.",
    ),
    _g(
        "alemtuzumab_eu_anticoagulation",
        "EU: anticoagulant or antiplatelet therapy (prescriber decision)",
        COURSE,
        overridable=True,
        jurisdictions=EU,
        verified=False,
        sources=("lemtrada-ema-referral", "lemtrada-eu-leaflet"),
        evaluate=label.alemtuzumab_anticoagulation,
        note="LEMEU-03 grade C: not in the leaflet text read, which names bleeding disorders "
        "only; override = prescriber decision.",
    ),
    _g(
        "alemtuzumab_vzv",
        "VZV immunity (vaccinate if negative)",
        COURSE,
        sources=("lemtrada-eu-leaflet", "msprotocols-lemtrada"),
        evaluate=checks.vzv,
    ),
    _g(
        "alemtuzumab_vaccination_timing",
        "All vaccinations >= 6 weeks before the course",
        COURSE,
        sources=("lemtrada-eu-leaflet", "msprotocols-lemtrada"),
        evaluate=checks.alemtuzumab_vaccines,
    ),
    _g(
        "alemtuzumab_hiv",
        "HIV test negative",
        COURSE,
        sources=("lemtrada-empr", "lemtrada-pmc-table"),
        evaluate=NEG(
            "hiv", positive_reason="HIV infection is a contraindication", overridable=False
        ),
    ),
    _g(
        "alemtuzumab_hbv_hcv",
        "Hepatitis B and C screen",
        FIRST,
        overridable=True,
        sources=("lemtrada-pmc-table",),
        evaluate=present(("hbsag", "anti_hbc", "hcv_antibody")),
    ),
    _g(
        "alemtuzumab_tb",
        "Tuberculosis screen (local guidance)",
        FIRST,
        overridable=True,
        sources=("lemtrada-eu-leaflet", "lemtrada-pmc-table"),
        evaluate=NEG(
            "tb_screen", positive_reason="treat/assess per local TB guidance", overridable=True
        ),
    ),
    _g(
        "alemtuzumab_baseline_labs",
        "Baseline CBC, creatinine, urinalysis, UPCR, TSH, liver",
        FIRST,
        sources=("lemtrada-empr", "lemtrada-pmc-table"),
        evaluate=present(
            (
                "cbc_diff",
                "creatinine",
                "urinalysis",
                "urine_protein_creatinine_ratio",
                "tsh",
                "alt",
                "ast",
                "bilirubin",
            ),
            abnormal_fails=False,
        ),
    ),
    _g(
        "alemtuzumab_pregnancy",
        "Pregnancy excluded before the course",
        COURSE,
        sources=("lemtrada-eu-leaflet",),
        evaluate=pregnancy(every_dose=False, overridable=False),
    ),
    _g(
        "alemtuzumab_ecg",
        "Baseline ECG (EU 2020, unconfirmed)",
        FIRST,
        mandatory=False,
        sources=("msprotocols-lemtrada",),
        verified=False,
        evaluate=present(("ecg",)),
        note="Dossier A3: confirm before making it a hard gate.",
    ),
    # Mitoxantrone (N 3.1, 3.2; M1, M3)
    _g(
        "mitoxantrone_lvef",
        "LVEF >= 50 % before this dose",
        EVERY,
        sources=("mtx-pfizer-boxed", "mtx-roztrous"),
        evaluate=checks.lvef,
    ),
    _g(
        "mitoxantrone_neutrophils",
        "Neutrophils >= 1500/mm3 before this dose",
        EVERY,
        sources=("mtx-pfizer-boxed", "mtx-medicalalgorithms"),
        evaluate=at_least(
            "neutrophils_per_mm3",
            data.number("gates.mitoxantrone_neutrophils_min_per_mm3"),
            "/mm3",
            overridable=False,
        ),
    ),
    _g(
        "mitoxantrone_blood_count",
        "CBC with platelets before this dose",
        EVERY,
        sources=("mtx-medicalalgorithms",),
        evaluate=present(("platelets",), every_dose=True),
    ),
    _g(
        "mitoxantrone_liver",
        "Liver function tests before this dose (defer if abnormal)",
        EVERY,
        sources=("mtx-medicalalgorithms",),
        evaluate=present(LIVER, every_dose=True),
    ),
    _g(
        "mitoxantrone_pregnancy",
        "Pregnancy test before this dose",
        EVERY,
        sources=("mtx-medicalalgorithms",),
        evaluate=pregnancy(every_dose=True, overridable=False),
    ),
    _g(
        "mitoxantrone_no_retreatment",
        "EU: not previously treated with mitoxantrone",
        EVERY,
        jurisdictions=EU,
        sources=("mtx-rxreasoner-eu",),
        evaluate=label.mitoxantrone_no_retreatment,
        note="MITO-05 (grade B, EU-type SmPC); prior exposure must be stated (dossier M1).",
    ),
    _g(
        "mitoxantrone_cumulative",
        "Cumulative dose within the lifetime limit",
        EVERY,
        sources=("mtx-northwestern", "mtx-rxreasoner-eu"),
        evaluate=checks.cumulative,
    ),
    # IV methylprednisolone (N 4.1; P1, P3)
    _g(
        "ivmp_exclude_infection",
        "Infection excluded (urinalysis) before a relapse course",
        FIRST,
        overridable=True,
        sources=("ivmp-docsbay", "mstherapycentre"),
        evaluate=present(("urinalysis",)),
    ),
    _g(
        "ivmp_within_14_days",
        "Started within 14 days of relapse onset (NICE)",
        FIRST,
        mandatory=False,
        sources=("nice-ng220",),
        evaluate=checks.ivmp_onset,
    ),
)

# Gates a physician may override when they fail (with a justification, for that dose date).
# Three more allow it for one outcome only: anti_cd20_vaccination_timing (US non-live vaccines,
# "whenever possible"), mitoxantrone_lvef (a >= 10-point fall above 50 %, dossier M3) and
# natalizumab_immune_status (US: prescriber decision, TOUCH-19).
OVERRIDABLE_GATE_IDS = tuple(g.id for g in GATES if g.overridable)
OUTCOME_OVERRIDABLE_GATE_IDS = (
    "anti_cd20_vaccination_timing",
    "mitoxantrone_lvef",
    "natalizumab_immune_status",
)


def gate_ids() -> tuple[str, ...]:
    return tuple(g.id for g in GATES)


def check_catalog_gate_ids() -> None:
    """Refuse a therapy file that lists a gate id no gate has (file, field, reason)."""
    known = set(gate_ids())
    for therapy in shipped_catalog():
        for i, gate_id in enumerate(() if therapy.planning is None else therapy.planning.gate_ids):
            if gate_id not in known:
                raise CatalogError(
                    f"unknown gate id '{gate_id}'", file=therapy.file, field=f"planning.gates[{i}]"
                )


check_catalog_gate_ids()
