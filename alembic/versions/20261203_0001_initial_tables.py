"""Initial tables: users, links, pending authorizations, enrollment tickets.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def aware():
    return sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", aware(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "links",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kazaplan_user_id", sa.Integer(), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", aware(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", aware(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_links")),
        sa.UniqueConstraint("kazaplan_user_id", name=op.f("uq_links_kazaplan_user_id")),
    )
    op.create_table(
        "pending_authorizations",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", aware(), nullable=False),
        sa.Column("expires_at", aware(), nullable=False),
        sa.Column("used_at", aware(), nullable=True),
        sa.Column("code_verifier", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_pending_authorizations")),
    )
    op.create_index(
        op.f("ix_pending_authorizations_expires_at"),
        "pending_authorizations",
        ["expires_at"],
    )
    op.create_table(
        "enrollment_tickets",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", aware(), nullable=False),
        sa.Column("used_at", aware(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_enrollment_tickets")),
    )
    op.create_index(
        op.f("ix_enrollment_tickets_expires_at"),
        "enrollment_tickets",
        ["expires_at"],
    )


def downgrade():
    op.drop_index(
        op.f("ix_enrollment_tickets_expires_at"), table_name="enrollment_tickets"
    )
    op.drop_table("enrollment_tickets")
    op.drop_index(
        op.f("ix_pending_authorizations_expires_at"),
        table_name="pending_authorizations",
    )
    op.drop_table("pending_authorizations")
    op.drop_table("links")
    op.drop_table("users")
