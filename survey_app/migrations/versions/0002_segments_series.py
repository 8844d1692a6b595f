"""invitation segments and contact, response presets, version series

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segments', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=True))
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preset', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('questionnaire_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    with op.batch_alter_table('questionnaire_version', schema=None) as batch_op:
        batch_op.drop_column('series')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_column('preset')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_column('name')
        batch_op.drop_column('email')
        batch_op.drop_column('segments')
