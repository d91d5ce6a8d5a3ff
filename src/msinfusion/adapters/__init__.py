"""Adapters: everything that talks to the outside world (storage, web, HL7, FHIR).

Adapters import the cores and the application layer; nothing in ``msinfusion`` imports them except
the composition root (``bootstrap.py``) and the entrypoints.
"""
