"""members with a role per project (or on the tenant); API keys of a member, peppered, expiring; the audit log

Existing keys keep working: each becomes the key of a new member holding the key's role on its
project (user "legacy:<key id>"; an admin key's member is also the tenant's admin), and keeps
its plain SHA-256 hash (hash_scheme "sha256") until it is next used, when the orchestrator
rehashes it with the pepper, which this migration does not have.

Revision ID: 0005
Revises: 0004
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetcore.ids import new_id

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    members = op.create_table('members',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=True),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('removed_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_members_project_id_projects')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_members_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_members_tenant_id_project_id_user_id'), ['tenant_id', 'project_id', 'user_id'],
            unique=False,
        )

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_audit_log_tenant_id_project_id_id'), ['tenant_id', 'project_id', 'id'], unique=False
        )

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column('hash_scheme', sa.String(length=10), server_default='sha256', nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_api_keys_member_id_members'), 'members', ['member_id'], ['id']
        )

    api_keys = sa.table(
        'api_keys', sa.column('id'), sa.column('tenant_id'), sa.column('project_id'), sa.column('role'),
        sa.column('member_id'),
    )
    conn = op.get_bind()
    now = time.time()
    for key in conn.execute(sa.select(api_keys)).all():
        user = f"legacy:{key.id}"
        member_id = new_id('mbr')
        rows = [dict(id=member_id, tenant_id=key.tenant_id, project_id=key.project_id, user_id=user,
                     role=key.role, created_at=now)]
        if key.role == 'admin':
            rows.append(dict(id=new_id('mbr'), tenant_id=key.tenant_id, project_id=None, user_id=user,
                             role='admin', created_at=now))
        conn.execute(sa.insert(members), rows)
        conn.execute(sa.update(api_keys).where(api_keys.c.id == key.id).values(member_id=member_id))


def downgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_keys_member_id_members'), type_='foreignkey')
        batch_op.drop_column('hash_scheme')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('member_id')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_tenant_id_project_id_id'))
    op.drop_table('audit_log')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_tenant_id_project_id_user_id'))
    op.drop_table('members')
