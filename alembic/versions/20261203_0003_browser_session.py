"""Bind each authorization in flight to the browser session that started it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Authorizations recorded before this revision get an empty digest, which no
browser session matches: their callbacks are refused, and the shopper starts
again. They expire within minutes anyway.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pending_authorizations") as batch:
        batch.add_column(
            sa.Column(
                "browser_session_digest",
                sa.String(length=64),
                nullable=False,
                server_default="",
            )
        )
    # The default only fills the rows already there; new rows name theirs.
    with op.batch_alter_table("pending_authorizations") as batch:
        batch.alter_column("browser_session_digest", server_default=None)


def downgrade():
    with op.batch_alter_table("pending_authorizations") as batch:
        batch.drop_column("browser_session_digest")
