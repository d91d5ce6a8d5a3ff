"""Edges of msinfusion: the command-line interface (and later the server entrypoint)."""
