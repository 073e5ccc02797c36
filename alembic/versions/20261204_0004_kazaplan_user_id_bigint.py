"""Widen links.kazaplan_user_id to 64 bits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Kazaplan documents its user ids as integers without a bound; a 32-bit column
would refuse a large one at the moment a shopper links.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("links") as batch:
        batch.alter_column(
            "kazaplan_user_id",
            existing_type=sa.Integer(),
            type_=sa.BigInteger(),
            existing_nullable=True,
        )


def downgrade():
    # Fails on PostgreSQL if a stored id no longer fits 32 bits, which is right:
    # such a link cannot be kept in the older schema.
    with op.batch_alter_table("links") as batch:
        batch.alter_column(
            "kazaplan_user_id",
            existing_type=sa.BigInteger(),
            type_=sa.Integer(),
            existing_nullable=True,
        )
