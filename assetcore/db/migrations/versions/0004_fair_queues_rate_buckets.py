"""fair dequeue across tenants (queue messages' fair group, queue turns); mutation rate-limit buckets

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('queue_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fair_group', sa.String(length=80), server_default='', nullable=False))

    op.create_table('queue_turns',
    sa.Column('queue', sa.String(length=100), nullable=False),
    sa.Column('fair_group', sa.String(length=80), nullable=False),
    sa.Column('served_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('queue', 'fair_group', name=op.f('pk_queue_turns'))
    )
    op.create_table('rate_buckets',
    sa.Column('bucket', sa.String(length=120), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_rate_buckets'))
    )


def downgrade() -> None:
    op.drop_table('rate_buckets')
    op.drop_table('queue_turns')
    with op.batch_alter_table('queue_messages', schema=None) as batch_op:
        batch_op.drop_column('fair_group')
