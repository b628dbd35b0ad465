"""Migrations build the schema from empty, and the models and migrations agree."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import wallet.models  # noqa: F401
from wallet.db import Base
from wallet.migrate import current_heads


def test_upgrade_from_empty_reaches_a_single_head(engine: Any, database_url: str) -> None:
    heads = current_heads(database_url)
    assert len(heads) == 1
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == heads[0]
        assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())


def test_models_match_the_migrations(engine: Any) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
