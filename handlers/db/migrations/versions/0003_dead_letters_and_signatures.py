"""dead letters: where the message was and how big (its bytes are never stored);
answers: the partner's signature and key id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(88), nullable=True))
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("partition", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("offset", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("size_bytes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("size_bytes")
        batch.drop_column("offset")
        batch.drop_column("partition")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("signature")
        batch.drop_column("key_id")
