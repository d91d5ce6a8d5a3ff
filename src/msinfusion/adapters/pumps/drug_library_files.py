"""The drug library as CSV: one row per protocol and ladder step (docs/pumps.md maps the columns
to vendor library tools; no vendor's proprietary format is imitated).

The JSON is ``DrugLibrary.to_json_dict`` itself; the CSV flattens it: the protocol's columns
repeat on each of its step rows, so a spreadsheet or a library tool's import mapping reads one
flat table. Empty cells are values the protocol does not cite.
"""

from __future__ import annotations

import csv
import io

from msinfusion.catalog.drug_library import DrugLibrary

COLUMNS = (
    "protocol_id",
    "protocol_version",
    "library_drug_id",
    "drug",
    "display_name",
    "care_area",
    "drug_amount_mg",
    "dose_mg_per_m2",
    "amount_unit",
    "diluent_volume_ml",
    "concentration_mg_per_ml",
    "dosing_unit",
    "rate_hard_max_ml_per_h",
    "rate_soft_max_ml_per_h",
    "volume_ml",
    "requires_bsa",
    "delivery_mode",
    "step",
    "step_start_min",
    "step_rate_ml_per_h",
    "verified",
    "unverified",
    "library_version",
)


def library_csv(library: DrugLibrary) -> str:
    document = library.to_json_dict()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in document["entries"]:
        for step in entry["steps"]:
            row = {
                **entry,
                "step": step["step"],
                "step_start_min": step["start_min"],
                "step_rate_ml_per_h": step["rate_ml_per_h"],
                "verified": "true" if entry["verified"] else "false",
                "requires_bsa": "true" if entry["requires_bsa"] else "false",
                "unverified": ";".join(entry["unverified"]),
                "library_version": document["library_version"],
            }
            writer.writerow(["" if row.get(c) is None else row[c] for c in COLUMNS])
    return out.getvalue()
