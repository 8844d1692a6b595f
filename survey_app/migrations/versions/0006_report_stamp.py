"""the reports' stamp without counting responses: survey.data_revision (bumped by a
trigger when a complete response is deleted or changed) and indexes on the completion
time and the id

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# A complete response deleted or changed, by the app or by hand in SQL, bumps its survey's
# data_revision in the same transaction. (Completing a response changes its status from
# in_progress, so it does not fire; new rows, imported or backdated ones included, show
# in the stamp's largest id.)
CHANGED = "answers, texts, preset, status, test, version_id, survey_id, completed_at"
BUMP = "UPDATE survey SET data_revision = data_revision + 1 WHERE id = OLD.survey_id"

POSTGRESQL = [
    f"""CREATE FUNCTION response_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {BUMP};
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER response_deleted AFTER DELETE ON response FOR EACH ROW
    WHEN (OLD.status = 'complete') EXECUTE FUNCTION response_changed()""",
    f"""CREATE TRIGGER response_changed AFTER UPDATE OF {CHANGED} ON response FOR EACH ROW
    WHEN (OLD.status = 'complete' AND (OLD.answers, OLD.texts::text, OLD.preset::text,
          OLD.status, OLD.test, OLD.version_id, OLD.survey_id, OLD.completed_at)
          IS DISTINCT FROM (NEW.answers, NEW.texts::text, NEW.preset::text, NEW.status,
          NEW.test, NEW.version_id, NEW.survey_id, NEW.completed_at))
    EXECUTE FUNCTION response_changed()""",
]
SQLITE = [
    f"""CREATE TRIGGER response_deleted AFTER DELETE ON response FOR EACH ROW
    WHEN OLD.status = 'complete' BEGIN {BUMP}; END""",
    f"""CREATE TRIGGER response_changed AFTER UPDATE OF {CHANGED} ON response FOR EACH ROW
    WHEN OLD.status = 'complete' AND (OLD.answers IS NOT NEW.answers
          OR OLD.texts IS NOT NEW.texts OR OLD.preset IS NOT NEW.preset
          OR OLD.status IS NOT NEW.status OR OLD.test IS NOT NEW.test
          OR OLD.version_id IS NOT NEW.version_id OR OLD.survey_id IS NOT NEW.survey_id
          OR OLD.completed_at IS NOT NEW.completed_at)
    BEGIN {BUMP}; END""",
]


def upgrade():
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("data_revision", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(
            "ix_response_survey_completed", ["survey_id", "status", "completed_at"], unique=False
        )
        # (survey_id, status) serves as before; the id makes the largest one a lookup
        batch_op.drop_index("ix_response_survey_status")
        batch_op.create_index(
            "ix_response_survey_status", ["survey_id", "status", "id"], unique=False
        )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in ("response_changed", "response_deleted"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON response" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS response_changed()")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_survey_completed")
        batch_op.drop_index("ix_response_survey_status")
        batch_op.create_index("ix_response_survey_status", ["survey_id", "status"], unique=False)
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_column("data_revision")
