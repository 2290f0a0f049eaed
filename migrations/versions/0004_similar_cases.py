"""similar cases: case vectors, co-reporters, hotspot alerts

case_vectors holds each case's description embedding (int8) and normalised place for the
similar-case matcher; existing cases get theirs from `hotline similar backfill`.
case_reporters holds the residents who joined a case as co-reporters (and those of a case
merged into it). hotspot_alerts remembers which hotspots were alerted, at which size.
Two covering indexes on cases serve the matcher's candidate filter: by resolved_at (recently
resolved cases) and by (category, status) (open cases of a few categories).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 04:03:57.363381
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('hotspot_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('place', sa.Text(), nullable=False),
    sa.Column('case_numbers', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'level', name='uq_hotspot_alerts_key_level')
    )
    with op.batch_alter_table('hotspot_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hotspot_alerts_created_at'), ['created_at'], unique=False)

    op.create_table('case_reporters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('resident_ref', sa.String(length=128), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('satisfaction', sa.String(length=24), nullable=True),
    sa.Column('satisfaction_comment', sa.Text(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_from', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'resident_ref', name='uq_case_reporters_case_resident')
    )
    with op.batch_alter_table('case_reporters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_reporters_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_reporters_resident', ['resident_ref'], unique=False)

    op.create_table('case_vectors',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=True),
    sa.Column('place_key', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        # Covering indexes of the matcher's candidate filter.
        batch_op.create_index(
            'ix_cases_resolved',
            ['resolved_at', 'category', 'status', 'merged_into', 'faq_topic', 'latitude',
             'longitude'],
            unique=False,
        )
        batch_op.create_index(
            'ix_cases_category_status',
            ['category', 'status', 'created_at', 'merged_into', 'faq_topic', 'latitude',
             'longitude'],
            unique=False,
        )



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_category_status')
        batch_op.drop_index('ix_cases_resolved')

    op.drop_table('case_vectors')
    with op.batch_alter_table('case_reporters', schema=None) as batch_op:
        batch_op.drop_index('ix_case_reporters_resident')
        batch_op.drop_index(batch_op.f('ix_case_reporters_case_id'))

    op.drop_table('case_reporters')
    with op.batch_alter_table('hotspot_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hotspot_alerts_created_at'))

    op.drop_table('hotspot_alerts')
