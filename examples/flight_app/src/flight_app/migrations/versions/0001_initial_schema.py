"""initial schema: users, roles, refresh tokens

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:38:17.072778
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('authkit_users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('username_canonical', sa.String(length=150), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('email_canonical', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('mfa_enabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('mfa_secret_encrypted', sa.Text(), nullable=True),
    sa.Column('mfa_last_step', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authkit_users')),
    sa.UniqueConstraint('email_canonical', name=op.f('uq_authkit_users_email_canonical')),
    sa.UniqueConstraint('username_canonical', name=op.f('uq_authkit_users_username_canonical'))
    )
    with op.batch_alter_table('authkit_users', schema=None) as batch_op:
        batch_op.create_index('ix_authkit_users_created_at_id', ['created_at', 'id'], unique=False)

    op.create_table('authkit_refresh_tokens',
    sa.Column('jti', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('family_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_by', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['authkit_users.id'], name=op.f('fk_authkit_refresh_tokens_user_id_authkit_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_authkit_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_authkit_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('authkit_refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authkit_refresh_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_authkit_refresh_tokens_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_authkit_refresh_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('authkit_user_roles',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['authkit_users.id'], name=op.f('fk_authkit_user_roles_user_id_authkit_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_authkit_user_roles'))
    )
    with op.batch_alter_table('authkit_user_roles', schema=None) as batch_op:
        batch_op.create_index('ix_authkit_user_roles_role_user_id', ['role', 'user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('authkit_user_roles', schema=None) as batch_op:
        batch_op.drop_index('ix_authkit_user_roles_role_user_id')

    op.drop_table('authkit_user_roles')
    with op.batch_alter_table('authkit_refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authkit_refresh_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_authkit_refresh_tokens_family_id'))
        batch_op.drop_index(batch_op.f('ix_authkit_refresh_tokens_expires_at'))

    op.drop_table('authkit_refresh_tokens')
    with op.batch_alter_table('authkit_users', schema=None) as batch_op:
        batch_op.drop_index('ix_authkit_users_created_at_id')

    op.drop_table('authkit_users')
