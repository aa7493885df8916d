"""per-workflow run summaries, a run's policy result, indexes for keyset run lists

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:00:00

``workflow_stats`` keeps, per workflow, what the organisation overview shows (last run,
counts per status, the last finished runs' outcomes and contract revisions, the last
successful run's revision), updated in the same transaction as each run's state change.
``workflow_runs.policy_result`` records the policies' verdict at push so that run lists
filter on it. Both are backfilled from the existing runs with SQL that SQLite and
PostgreSQL run alike; the last runs' outcomes are gathered with one window-function query.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

RECENT = 10  # services/workflow_stats.py RECENT
_LETTER = {"blocked": "b", "failed": "f", "cancelled": "c", "expired": "e"}
_RUN_INDEXES = {
    "ix_workflow_runs_org_id_created_at_id": ["org_id", "created_at", "id"],
    "ix_workflow_runs_workflow_id_created_at_id": ["workflow_id", "created_at", "id"],
    "ix_workflow_runs_org_id_status_created_at": ["org_id", "status", "created_at"],
}


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, never batch mode: recreating ``workflow_runs`` on SQLite would
    # cascade the drop of the old table to its materials and attestations.
    op.add_column("workflow_runs", sa.Column("policy_result", sa.String(length=10), nullable=True))
    for name, columns in _RUN_INDEXES.items():
        op.create_index(name, "workflow_runs", columns)
    _create_stats()
    _backfill_policy_result()
    _backfill_stats()


def _create_stats() -> None:
    counts = ("total", "initialized", "succeeded", "blocked", "failed", "cancelled", "expired")
    op.create_table(
        "workflow_stats",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("workflow_id", sa.String(length=36), nullable=False),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("last_run_status", sa.String(length=20), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_runner_type", sa.String(length=50), nullable=True),
        sa.Column("last_success_run_id", sa.String(length=36), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_revision", sa.Integer(), nullable=True),
        *(sa.Column(f"runs_{name}", sa.Integer(), nullable=False) for name in counts),
        sa.Column("recent_statuses", sa.String(length=20), nullable=False),
        sa.Column("recent_revisions", sa.JSON(), nullable=False),
        sa.Column("last_finished_revision", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_workflow_stats_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_stats_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_stats")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_workflow_stats_workflow_id")),
    )
    op.create_index(op.f("ix_workflow_stats_org_id"), "workflow_stats", ["org_id"])


def _backfill_policy_result() -> None:
    # A violation is an evaluation with violations that was not skipped (enforcement.py).
    op.execute(
        """
        UPDATE workflow_runs SET policy_result = CASE
          WHEN EXISTS (SELECT 1 FROM policy_evaluations p WHERE p.run_id = workflow_runs.id
                       AND p.skipped = false AND CAST(p.violations AS TEXT) <> '[]')
            THEN 'violated'
          WHEN EXISTS (SELECT 1 FROM policy_evaluations p WHERE p.run_id = workflow_runs.id)
            THEN 'passed'
          ELSE 'none' END
        WHERE status IN ('succeeded', 'blocked') AND attestation_digest IS NOT NULL
        """
    )


def _backfill_stats() -> None:
    op.execute(
        """
        INSERT INTO workflow_stats (id, org_id, workflow_id, runs_total, runs_initialized,
            runs_succeeded, runs_blocked, runs_failed, runs_cancelled, runs_expired,
            recent_statuses, recent_revisions, updated_at)
        SELECT r.workflow_id, MIN(r.org_id), r.workflow_id, COUNT(*),
            SUM(CASE WHEN r.status = 'initialized' THEN 1 ELSE 0 END),
            SUM(CASE WHEN r.status = 'succeeded' THEN 1 ELSE 0 END),
            SUM(CASE WHEN r.status = 'blocked' THEN 1 ELSE 0 END),
            SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END),
            SUM(CASE WHEN r.status = 'cancelled' THEN 1 ELSE 0 END),
            SUM(CASE WHEN r.status = 'expired' THEN 1 ELSE 0 END),
            '', '[]', CURRENT_TIMESTAMP
        FROM workflow_runs r GROUP BY r.workflow_id
        """
    )
    op.execute(
        """
        UPDATE workflow_stats SET
          last_run_id = (SELECT r.id FROM workflow_runs r WHERE r.workflow_id = workflow_stats.id
                         ORDER BY r.created_at DESC, r.id DESC LIMIT 1),
          last_success_run_id = (SELECT r.id FROM workflow_runs r
                                 WHERE r.workflow_id = workflow_stats.id
                                 AND r.status = 'succeeded'
                                 ORDER BY COALESCE(r.finished_at, r.created_at) DESC, r.id DESC
                                 LIMIT 1)
        """
    )
    op.execute(
        """
        UPDATE workflow_stats SET
          last_run_status = (SELECT status FROM workflow_runs WHERE id = last_run_id),
          last_run_at = (SELECT created_at FROM workflow_runs WHERE id = last_run_id),
          last_runner_type = (SELECT runner_type FROM workflow_runs WHERE id = last_run_id),
          last_success_at = (SELECT COALESCE(finished_at, created_at) FROM workflow_runs
                             WHERE id = last_success_run_id),
          last_success_revision = (SELECT c.revision FROM workflow_runs r
                                   JOIN contract_revisions c ON c.id = r.contract_revision_id
                                   WHERE r.id = last_success_run_id)
        """
    )
    _backfill_recent()


def _backfill_recent() -> None:
    """The last :data:`RECENT` finished runs' outcomes per workflow, in one query."""
    rows = op.get_bind().execute(
        sa.text(
            """
            SELECT workflow_id, status, policy_result, revision FROM (
              SELECT r.workflow_id, r.status, r.policy_result, c.revision,
                ROW_NUMBER() OVER (PARTITION BY r.workflow_id
                  ORDER BY COALESCE(r.finished_at, r.created_at) DESC, r.id DESC) AS n
              FROM workflow_runs r JOIN contract_revisions c ON c.id = r.contract_revision_id
              WHERE r.status <> 'initialized') ranked
            WHERE n <= :recent ORDER BY workflow_id, n
            """
        ),
        {"recent": RECENT},
    )
    letters: dict[str, str] = defaultdict(str)
    revisions: dict[str, list[int]] = defaultdict(list)
    for workflow_id, status, policy_result, rev in rows:
        if status == "succeeded":
            letters[workflow_id] += "v" if policy_result == "violated" else "s"
        else:
            letters[workflow_id] += _LETTER.get(status, "f")
        revisions[workflow_id].append(int(rev))
    stats = sa.table(
        "workflow_stats",
        sa.column("id", sa.String),
        sa.column("recent_statuses", sa.String),
        sa.column("recent_revisions", sa.JSON),
        sa.column("last_finished_revision", sa.Integer),
    )
    update = (
        stats.update()
        .where(stats.c.id == sa.bindparam("wid"))
        .values(
            recent_statuses=sa.bindparam("letters"),
            recent_revisions=sa.bindparam("revs"),
            last_finished_revision=sa.bindparam("last"),
        )
    )
    params = [
        {"wid": wid, "letters": text, "revs": revisions[wid], "last": revisions[wid][0]}
        for wid, text in letters.items()
    ]
    if params:
        op.get_bind().execute(update, params)


def downgrade() -> None:
    op.drop_index(op.f("ix_workflow_stats_org_id"), table_name="workflow_stats")
    op.drop_table("workflow_stats")
    for name in _RUN_INDEXES:
        op.drop_index(name, table_name="workflow_runs")
    op.drop_column("workflow_runs", "policy_result")
