"""Anti-JCV serostatus of a result: stated, or read from the STRATIFY index (NTZEU-15).

A laboratory reports a serostatus (positive / negative) and, for STRATIFY JCV DxSelect, an
index. Where a result gives an index but no serostatus, the assay's cut-offs read it
(``course_rules.toml`` ``natalizumab.jcv_index_*``): below 0.20 negative, above 0.40 positive,
0.20-0.40 indeterminate - the status stays unknown until the reflex inhibition assay resolves
it, so no risk number and no low-risk label follow from it, and the gate asks for a retest. An
index is never read as positive by default, and a stated serostatus is never overruled.

>>> read_serostatus(None, Decimal("0.3"), None).status
<JcvStatus.INDETERMINATE: 'indeterminate'>
>>> read_serostatus(None, Decimal("0.1"), "STRATIFY JCV DxSelect").status
<JcvStatus.NEGATIVE: 'negative'>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from msinfusion.planning import course_data as data


class JcvStatus(enum.Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    INDETERMINATE = "indeterminate"
    UNKNOWN = "unknown"

    @property
    def known(self) -> bool:
        return self in (JcvStatus.POSITIVE, JcvStatus.NEGATIVE)


@dataclass(frozen=True, slots=True, kw_only=True)
class JcvReading:
    status: JcvStatus
    reason: str
    from_index: bool = False


def is_stratify(assay: str | None) -> bool:
    """The index cut-offs were derived with STRATIFY (dossier N5); no assay: assumed so."""
    return assay is None or "stratify" in assay.lower()


def read_serostatus(positive: bool | None, index: Decimal | None, assay: str | None) -> JcvReading:
    """The serostatus a result states, else the one its index reads (NTZEU-15)."""
    if positive is not None:
        status = JcvStatus.POSITIVE if positive else JcvStatus.NEGATIVE
        return JcvReading(status=status, reason=f"serostatus {status.value} (reported)")
    if index is None:
        return JcvReading(status=JcvStatus.UNKNOWN, reason="no serostatus and no index")
    if not is_stratify(assay):
        return JcvReading(
            status=JcvStatus.UNKNOWN,
            reason=f"no serostatus; the index cut-offs are STRATIFY's, '{assay}' index not read "
            "(dossier N5)",
        )
    low = data.number("natalizumab.jcv_index_negative_below")
    high = data.number("natalizumab.jcv_index_positive_above")
    if index < low:
        status, band = JcvStatus.NEGATIVE, f"< {low}"
    elif index > high:
        status, band = JcvStatus.POSITIVE, f"> {high}"
    else:
        status, band = JcvStatus.INDETERMINATE, f"{low}-{high}"
    reason = f"no serostatus; index {index} ({band}) reads {status.value} (NTZEU-15)"
    if status is JcvStatus.INDETERMINATE:
        reason += ": status unknown until the inhibition assay resolves it - retest"
    return JcvReading(status=status, reason=reason, from_index=True)
