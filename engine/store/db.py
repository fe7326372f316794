"""Database engine and the one session scope every command runs in."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import ConcurrentChange, DatabaseUnavailable


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create the SQLAlchemy engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # writers take the lock up front (no deadlocked lock upgrades); readers don't
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")

        return engine
    # READ COMMITTED: the audit chain head is read after taking its advisory lock, so it must see the latest commit
    return create_engine(url, echo=echo, pool_pre_ping=True, isolation_level="READ COMMITTED")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


class Database:
    """Owns the engine and hands out transactional sessions."""

    def __init__(self, url: str, echo: bool = False):
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._readers = sessionmaker(self.engine.execution_options(readonly=True), expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self):
        """One command, one transaction: commit on success, roll back on any error. A lost connection is
        DatabaseUnavailable (nothing was saved), a lock conflict the database resolved is ConcurrentChange."""
        session: Session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException as err:
            _quietly(session.rollback)
            _translate(err)
            raise
        finally:
            _quietly(session.close)

    @contextmanager
    def reading(self):
        """A read-only session (rolled back at the end)."""
        session: Session = self._readers()
        try:
            yield session
        except BaseException as err:
            _translate(err)
            raise
        finally:
            _quietly(session.rollback)
            _quietly(session.close)

    def dispose(self):
        self.engine.dispose()


def _quietly(action) -> None:
    """Rollback and close on a dead connection must not hide the error that matters."""
    try:
        action()
    except DBAPIError:
        pass


def _translate(err: BaseException) -> None:
    if isinstance(err, DBAPIError):
        if err.connection_invalidated or isinstance(err, InterfaceError) or _cannot_connect(err):
            raise DatabaseUnavailable("The database cannot be reached right now; nothing was saved. "
                                      "Try again in a moment.") from err
        if getattr(err.orig, "sqlstate", None) in ("40001", "40P01"):  # serialization failure, deadlock
            raise ConcurrentChange("Someone else changed this loan at the same time; reload and try again.") from err


def _cannot_connect(err: DBAPIError) -> bool:
    """PostgreSQL: no connection could be made, or the server ended it (SQLite's errors are never about that)."""
    if not isinstance(err, OperationalError) or not type(err.orig).__module__.startswith("psycopg"):
        return False
    state = getattr(err.orig, "sqlstate", None)
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")
