"""cases: label, focus-list date, uitstroombrief; processing log: the partner; job runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("colour", sa.String(10), nullable=True))
        batch.add_column(sa.Column("listed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("uitstroombrief_on", sa.Date(), nullable=True))
    # A case's label was the label of its latest round.
    op.execute(
        "UPDATE cases SET colour = (SELECT r.colour FROM rounds r WHERE r.case_id = cases.id "
        "ORDER BY r.opened_at DESC LIMIT 1)"
    )
    with op.batch_alter_table("processing_log") as batch:
        batch.add_column(sa.Column("partner", sa.String(32), nullable=True))
        batch.create_index("ix_processing_log_partner", ["partner"])
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job", "job_runs", ["job"])


def downgrade() -> None:
    op.drop_index("ix_job_runs_job", table_name="job_runs")
    op.drop_table("job_runs")
    with op.batch_alter_table("processing_log") as batch:
        batch.drop_index("ix_processing_log_partner")
        batch.drop_column("partner")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("uitstroombrief_on")
        batch.drop_column("listed_on")
        batch.drop_column("colour")
