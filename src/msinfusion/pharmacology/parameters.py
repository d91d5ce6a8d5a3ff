"""Every model parameter with its value, unit, dossier grade and source.

Numbers come only from ``/work/shared/reference/pkpd-models.md`` (the "dossier"); the section is
named in ``source``. ``grade`` is the dossier's confidence grade (A, B, B-, C, placeholder) or
"derived"/"calibrated" for values computed here from graded ones (the derivation is in ``note``).
``is_placeholder`` is True for every value the dossier calls a placeholder, for modelling choices
with no source, and for values that stand in for an unpublished drug-specific number; outputs list
them so a reader never mistakes a placeholder for a published value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

_DOSSIER = "/work/shared/reference/pkpd-models.md"


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """One number of a model, with where it comes from and how far it can be trusted."""

    value: float
    unit: str
    grade: str
    source: str
    note: str | None = None
    is_placeholder: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterSet:
    """The parameters of one model; ``omega2`` holds the log-normal IIV variances."""

    model_id: str
    typical: Mapping[str, Parameter]
    omega2: Mapping[str, Parameter] = field(default_factory=lambda: MappingProxyType({}))

    def value(self, name: str) -> float:
        return self.typical[name].value

    def placeholders(self) -> tuple[str, ...]:
        """Names of every placeholder (typical values and variances), for output flags."""
        names = [n for n, p in self.typical.items() if p.is_placeholder]
        names += [f"omega2_{n}" for n, p in self.omega2.items() if p.is_placeholder]
        return tuple(names)

    def as_rows(self) -> list[dict[str, object]]:
        """One dict per parameter (JSON/CSV friendly)."""
        rows: list[dict[str, object]] = []
        for kind, table in (("typical", self.typical), ("omega2", self.omega2)):
            for name, p in table.items():
                rows.append(
                    {
                        "model": self.model_id,
                        "kind": kind,
                        "name": name,
                        "value": p.value,
                        "unit": p.unit,
                        "grade": p.grade,
                        "source": p.source,
                        "placeholder": p.is_placeholder,
                        "note": p.note,
                    }
                )
        return rows


def _p(
    value: float,
    unit: str,
    grade: str,
    section: str,
    note: str | None = None,
    *,
    placeholder: bool = False,
) -> Parameter:
    return Parameter(
        value=value,
        unit=unit,
        grade=grade,
        source=f"{_DOSSIER} {section}",
        note=note,
        is_placeholder=placeholder or grade == "placeholder",
    )


def omega2_from_cv(cv_pct: float) -> float:
    """Log-normal variance from a %CV (dossier section 0: omega^2 = ln(1 + CV^2))."""
    return math.log1p((cv_pct / 100.0) ** 2)


def _frozen(**items: Parameter) -> Mapping[str, Parameter]:
    return MappingProxyType(dict(items))


_DAVDA = "generic IgG mAb, Davda 2014 via nlmixr2lib PK_2cmt_mAb_Davda_2014"
_DAVDA_OMEGA = _frozen(
    CL=_p(0.0987, "1", "placeholder", "§1.3 iiv", _DAVDA),
    V1=_p(0.116, "1", "placeholder", "§1.3 iiv", _DAVDA),
    V2=_p(0.0789, "1", "placeholder", "§1.3 iiv", _DAVDA),
    Q=_p(0.699, "1", "placeholder", "§1.3 iiv", _DAVDA),
)

OCRELIZUMAB = ParameterSet(
    model_id="gibiansky2021_2cmt_time_dependent_CL",
    typical=_frozen(
        CL=_p(0.17, "L/day", "A", "§1.3 CLinf", "SmPC 5.2 constant clearance"),
        CLT0=_p(0.0489, "L/day", "A", "§1.3 CLT0", "SmPC 5.2 initial time-dependent CL"),
        kdes=_p(math.log(2) / 231.0, "1/day", "A", "§1.2", "ln 2 / 231 day (33-week decay)"),
        V1=_p(2.78, "L", "A", "§1.3"),
        V2=_p(2.68, "L", "A", "§1.3"),
        Q=_p(0.294, "L/day", "A", "§1.3"),
        WT_ref=_p(
            72.5,
            "kg",
            "placeholder",
            "§1.3 covariates WT_ref",
            "not retrieved; midpoint of the dossier's interim 70-75 kg",
        ),
        WT_CL=_p(0.684, "1", "B-", "§1.3 WT_on_CLinf"),
        WT_V1=_p(0.397, "1", "B-", "§1.3 WT_on_V1"),
        WT_V2=_p(0.853, "1", "B-", "§1.3 WT_on_V2"),
        WT_CLT0=_p(0.981, "1", "B-", "§1.3 WT_on_CLT0"),
        WT_Q=_p(0.0, "1", "placeholder", "§1.3 WT_on_Q", "value not transcribed; 0 = no effect"),
    ),
    omega2=_DAVDA_OMEGA,
)

UBLITUXIMAB = ParameterSet(
    model_id="label_level_2cmt_linear (generic IgG1 placeholder)",
    typical=_frozen(
        CL=_p(0.200, "L/day", "placeholder", "§4.2", _DAVDA),
        V1=_p(3.61, "L", "placeholder", "§4.2", _DAVDA),
        V2=_p(2.75, "L", "placeholder", "§4.2", _DAVDA),
        Q=_p(0.747, "L/day", "placeholder", "§4.2", _DAVDA),
        WT_ref=_p(70.0, "kg", "placeholder", "§4.2", "Davda reference weight (70 kg)"),
        WT_CL=_p(0.865, "1", "placeholder", "§4.2 WT_exponent_CL_Q"),
        WT_Q=_p(0.865, "1", "placeholder", "§4.2 WT_exponent_CL_Q"),
        WT_V1=_p(0.957, "1", "placeholder", "§4.2 WT_exponent_V"),
        WT_V2=_p(0.957, "1", "placeholder", "§4.2 WT_exponent_V"),
    ),
    omega2=_DAVDA_OMEGA,
)


def _rituximab_v2() -> float:
    """V2 such that the terminal rate equals ln 2 / 20.2 day with Ng 2006 CL, V1 and Davda Q.

    With k10 = CL/V1, k12 = Q/V1 and beta known, alpha*beta = k10*k21 and
    alpha + beta = k10 + k12 + k21 give k21 = (k10 + k12 - beta) / (k10/beta - 1).
    """
    k10, k12, beta = 0.257 / 2.98, 0.747 / 2.98, math.log(2) / 20.2
    k21 = (k10 + k12 - beta) / (k10 / beta - 1.0)
    return 0.747 / k21


RITUXIMAB = ParameterSet(
    model_id="ng2006_RA_2cmt_linear (surrogate population)",
    typical=_frozen(
        CL=_p(0.257, "L/day", "A", "§5.2 Ng 2006"),
        V1=_p(2.98, "L", "A", "§5.2 Ng 2006"),
        Q=_p(0.747, "L/day", "placeholder", "§5.2/§4.2", "Ng 2006 Q not in dossier; Davda Q"),
        V2=_p(
            _rituximab_v2(),
            "L",
            "derived",
            "§5.2",
            "solved so that t1/2beta = 20.2 day (A) with the placeholder Q",
            placeholder=True,
        ),
        WT_ref=_p(70.0, "kg", "placeholder", "§4.2", "no weight model for rituximab in MS"),
    ),
    omega2=_DAVDA_OMEGA,
)

ALEMTUZUMAB = ParameterSet(
    model_id="label_level_1cmt_effective",
    typical=_frozen(
        V1=_p(14.1, "L", "C", "§3.2", "label 'central volume' (recollected)"),
        CL=_p(
            14.1 * 0.154,
            "L/day",
            "derived",
            "§3.2",
            "V x k_effective 0.154 1/day (t1/2 4.5 day reproduces Cmax and day-30 values)",
        ),
        WT_ref=_p(70.0, "kg", "placeholder", "§3.2", "no weight covariate retrieved"),
    ),
    omega2=_frozen(
        CL=_p(omega2_from_cv(35.0), "1", "placeholder", "§3.2 iiv", "30-40 % CV placeholder"),
        V1=_p(omega2_from_cv(35.0), "1", "placeholder", "§3.2 iiv", "30-40 % CV placeholder"),
    ),
)

NATALIZUMAB = ParameterSet(
    model_id="vandenberg2025_2cmt_linear_plus_MM",
    typical=_frozen(
        CL=_p(0.164, "L/day", "B-", "§2.3 typical_vandenberg2025"),
        V1=_p(3.49, "L", "B-", "§2.3 typical_vandenberg2025 Vc"),
        V2=_p(3.47, "L", "B-", "§2.3 typical_vandenberg2025 Vp"),
        Q=_p(0.40, "L/day", "B-", "§2.3 typical_vandenberg2025"),
        Vmax=_p(2.85, "mg/day", "B-", "§2.3 typical_vandenberg2025"),
        Km=_p(0.84, "mg/L", "B-", "§2.3 typical_vandenberg2025"),
        WT_CL=_p(0.60, "1", "B-", "§2.3 WT_effect_1", "assumed on CL (dossier: most likely)"),
        WT_ref=_p(70.0, "kg", "placeholder", "§2.3", "reference weight not transcribed"),
        ADA_CL=_p(2.45, "fold", "A", "§2.2 / §2.3 ADA_persistent_CL_factor"),
        prop_residual=_p(0.219, "1", "B-", "§2.3 residual (21.9 %, probably proportional)"),
    ),
    omega2=_frozen(
        CL=_p(omega2_from_cv(22.7), "1", "B-", "§2.3 iiv_cv_pct CL 22.7 %"),
        V2=_p(omega2_from_cv(30.3), "1", "B-", "§2.3 iiv_cv_pct Vp 30.3 %"),
        Vmax=_p(omega2_from_cv(26.1), "1", "B-", "§2.3 iiv_cv_pct Vmax 26.1 %"),
    ),
)
