"""Alembic migrations, run programmatically by ``msinfusion.adapters.storage.migrate``.

``versions/`` holds one file per revision; the same files serve SQLite and PostgreSQL. There is
no ``alembic.ini`` and no ``env.py``: ``migrate.upgrade`` drives Alembic's runtime directly.
"""
