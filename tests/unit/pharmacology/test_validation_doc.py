"""docs/pharmacology-validation.md holds exactly the table the code generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.validation import markdown_table, validation_rows

DOC = Path(__file__).resolve().parents[3] / "docs" / "pharmacology-validation.md"


@pytest.mark.slow
def test_validation_table_in_the_doc_is_reproducible() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- generated table: do not edit by hand -->\n") + len(
        "<!-- generated table: do not edit by hand -->\n"
    )
    end = text.index("<!-- end of generated table -->")
    assert text[start:end] == markdown_table(validation_rows(shipped_catalog()))
