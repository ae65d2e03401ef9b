"""platform v2: job trace context, worker offers, outbox leases, asset version claims

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trace_parent', sa.String(length=60), nullable=True))

    op.create_table('worker_offers',
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('backend', sa.String(length=60), nullable=False),
    sa.Column('version', sa.String(length=120), nullable=False),
    sa.Column('features', sa.Text(), nullable=False),
    sa.Column('worker_id', sa.String(length=200), nullable=False),
    sa.Column('registered_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('step', 'backend', name=op.f('pk_worker_offers'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', sa.Float(), nullable=True))

    op.create_table('asset_version_claims',
    sa.Column('asset_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('plan_sha256', sa.String(length=64), nullable=False),
    sa.Column('claimed_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('asset_id', 'version', name=op.f('pk_asset_version_claims')),
    sa.UniqueConstraint('job_id', 'plan_sha256', name=op.f('uq_asset_version_claims_job_id_plan_sha256'))
    )


def downgrade() -> None:
    op.drop_table('asset_version_claims')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('lease_until')

    op.drop_table('worker_offers')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('trace_parent')
