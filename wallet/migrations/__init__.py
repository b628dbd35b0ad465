"""Alembic migrations, shipped inside the package (``wallet db upgrade``)."""
