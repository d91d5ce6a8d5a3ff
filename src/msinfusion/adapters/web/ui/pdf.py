"""HTML print views as PDF documents, with WeasyPrint (imported lazily: it is heavy).

WeasyPrint needs Pango (Debian ``libpango-1.0-0``, ``libpangoft2-1.0-0``) at run time. Where it
cannot be loaded, ``render_pdf`` raises ``PdfUnavailable`` and the pages say so and keep their
HTML print view (the browser's own "Print" / "Save as PDF" works the same).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from msinfusion.adapters.web.ui import STATIC_DIR

log = logging.getLogger(__name__)

PRINT_CSS = STATIC_DIR / "print.css"


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its native libraries are not installed here."""


@cache
def _weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: PLC0415  # lazy; no types
    except (ImportError, OSError) as error:  # OSError: Pango missing
        log.warning("pdf.unavailable %s", type(error).__name__)
        raise PdfUnavailable(str(error)) from error
    return weasyprint


def render_pdf(html: str) -> bytes:
    """A PDF of a standalone HTML document, styled by ``static/print.css`` (A4)."""
    weasyprint = _weasyprint()
    stylesheet = weasyprint.CSS(filename=str(PRINT_CSS))
    document = weasyprint.HTML(string=html, base_url=str(STATIC_DIR))
    pdf: bytes = document.write_pdf(stylesheets=[stylesheet])
    return pdf
