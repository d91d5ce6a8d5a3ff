"""FHIR R4 adapter: the centre's record as standard resources under ``/fhir`` (docs/fhir.md).

Built from the application layer's read models and validated with the R4B models of
``fhir.resources``; the cores never import either.
"""

from msinfusion.adapters.fhir.routes import router

__all__ = ["router"]
