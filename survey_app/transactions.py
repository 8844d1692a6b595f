"""A request whose transaction only read ends it with COMMIT instead of ROLLBACK.

psycopg forgets every statement it prepared on a connection whenever that connection
rolls back (the rolled-back transaction may have dropped what they refer to), and it
prepares a statement only on its fifth execution. A page view only reads, and closing
its session rolled its connection back: under ``benchmarks/production_load.py`` every
statement of the survey path was parsed and planned anew (pg_stat_statements: as many
plans as calls, 0.3 ms of PostgreSQL's time per request in planning alone).

A transaction that ran nothing but SELECTs, with nothing pending in the session, ends
the same whichever way it ends, so :func:`end_read_only` commits it; a transaction that
wrote anything (a statement other than a SELECT, a flush) is left to the session's
close, which rolls back whatever its view did not commit, as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction

WROTE = "survey_app.wrote"  # Connection.info: a statement other than a SELECT ran
CONNECTIONS = "survey_app.connections"  # Session.info: the transaction's connections


@event.listens_for(Engine, "begin")
def _begun(conn: Connection) -> None:
    conn.info.pop(WROTE, None)


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn: Connection, cursor, statement: str, *args: Any) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info[WROTE] = True


@event.listens_for(Session, "after_begin")
def _connection_joined(session: Session, transaction: SessionTransaction, conn) -> None:
    session.info.setdefault(CONNECTIONS, []).append(conn)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(CONNECTIONS, None)


def only_read(session: Session) -> bool:
    """Whether the session's transaction has run nothing but SELECTs and holds nothing
    to flush (False when there is no transaction)."""
    connections = session.info.get(CONNECTIONS)
    if not connections or not session.in_transaction():
        return False
    if session.new or session.dirty or session.deleted:
        return False
    return not any(conn.info.get(WROTE) for conn in connections)


def end_read_only(session: Session) -> None:
    """Commit the session's transaction if it only read (see the module's docstring),
    without expiring what it loaded: closing the session next leaves its objects detached
    but readable, as closing after a ROLLBACK did (a report job may still read them)."""
    if only_read(session):
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
