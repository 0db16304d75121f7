"""Alembic environment. Run through handlers.db.migrate, which hands over an open connection."""

from __future__ import annotations

from alembic import context

from handlers.db.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `iaj db upgrade` (handlers.db.migrate), not bare alembic"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
