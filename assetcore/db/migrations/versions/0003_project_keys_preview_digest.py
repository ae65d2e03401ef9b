"""idempotency keys per tenant and project; the size and digest of each step's preview

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_jobs_tenant_id_idempotency_key'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_jobs_tenant_id_project_id_idempotency_key'),
            ['tenant_id', 'project_id', 'idempotency_key'],
        )

    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('preview_size_bytes', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.drop_column('preview_size_bytes')
        batch_op.drop_column('preview_sha256')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_jobs_tenant_id_project_id_idempotency_key'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_jobs_tenant_id_idempotency_key'), ['tenant_id', 'idempotency_key']
        )
