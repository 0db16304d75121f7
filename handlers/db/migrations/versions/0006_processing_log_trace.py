"""processing_log: the trace id of the traced operation an entry was written in (nullable)

Links the Logboek Dataverwerkingen to OpenTelemetry tracing: an entry written while
processing a message of a round keeps that round's W3C trace id (32 hex digits).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("processing_log") as batch:
        batch.add_column(sa.Column("trace_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processing_log") as batch:
        batch.drop_column("trace_id")
