"""Engines for the three-zone warehouse, one recipe per dialect.

Every table lives in a schema named after its zone (``analytics``, ``restricted``,
``reporting``) on both dialects, so the same SQL text works everywhere:

* PostgreSQL: one schema per zone in one database.
* SQLite: one *file* per zone, ATTACHed under the zone's name to an in-memory main database.
  ``WAREHOUSE_URL=sqlite:///DIR/NAME.db`` names the analytics file (the one an analyst may be
  handed: it physically holds nothing else); ``DIR/NAME.restricted.db`` and
  ``DIR/NAME.reporting.db`` sit beside it.

SQLite connection recipe (SQLAlchemy's SQLite dialect docs, "Serializable isolation /
Savepoints / Transactional DDL"): the stdlib driver's own transaction handling is switched
off (``isolation_level=None``) and SQLAlchemy's ``begin`` event emits ``BEGIN`` itself, so
DDL and savepoints are transactional. Every connection gets ``foreign_keys=ON`` (SQLite
enforces foreign keys per connection only), ``journal_mode=WAL`` and ``synchronous=NORMAL``
on every attached file, and a busy timeout so concurrent writers wait instead of failing.

Atomicity across files: a transaction touching several attached files is atomic against
exceptions and rollbacks (what the loader relies on), but with WAL (or an in-memory main
database) a crash *during* COMMIT may leave one file committed and another not
(sqlite.org/lang_attach.html). SQLite then commits the files one after another in attach
order (vdbe.c ``vdbeCommit``, the "simple case" loop; read in source), so the files are
attached analytics → restricted → reporting on purpose: a crash between them can leave
analytics rows whose manifest and watermark (restricted) did not move — the next sync reloads
them, idempotently — but never a watermark that covers rows which are not there.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

from suara.errors import ConfigurationError, WarehouseError

ANALYTICS = "analytics"
RESTRICTED = "restricted"
REPORTING = "reporting"
ZONES = (ANALYTICS, RESTRICTED, REPORTING)  # also the SQLite attach (= commit) order; see above

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 8_192  # page cache per zone file (default 2 MiB): keeps bulk upserts off the disk;
# 32 MiB were no faster for 1,000-row pages (50,000 submissions, three runs each: 8,275/s and
# 8,244/s) and held ~50 MB more over the three zone files.


def _parse(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - SQLAlchemy raises several types for a bad URL
        raise ConfigurationError(
            "WAREHOUSE_URL is not a valid SQLAlchemy URL.",
            hint="Use sqlite:///data/suara.db or postgresql+psycopg://user@host/dbname.",
        ) from None
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        # psycopg 3 is the driver this project installs; a bare postgresql:// would load psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"WAREHOUSE_URL uses the {parsed.get_backend_name()!r} backend; Suara supports SQLite and PostgreSQL.",
            hint="Use sqlite:///data/suara.db or postgresql+psycopg://user@host/dbname.",
        )
    return parsed


def zone_files(url: str | URL) -> dict[str, Path]:
    """The three SQLite files of a ``sqlite:///DIR/NAME.db`` URL, by zone."""
    parsed = _parse(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        raise ConfigurationError(
            "A SQLite warehouse needs a file path (its zones are files side by side).",
            hint="Use WAREHOUSE_URL=sqlite:///DIR/NAME.db (NAME.db is the analytics file).",
        )
    analytics = Path(database)
    stem, suffix = analytics.stem, analytics.suffix or ".db"
    return {
        ANALYTICS: analytics,
        RESTRICTED: analytics.with_name(f"{stem}.{RESTRICTED}{suffix}"),
        REPORTING: analytics.with_name(f"{stem}.{REPORTING}{suffix}"),
    }


def missing_file(url: str | URL) -> Path | None:
    """The analytics file a SQLite URL names, when it does not exist yet (None: it exists, or
    the URL is not SQLite). Opening such a URL creates three empty zone files there (ATTACH
    creates what is missing): right for a sync or an upgrade, wrong for a command that only
    reads or plans."""
    if _parse(url).get_backend_name() != "sqlite":
        return None
    path = zone_files(url)[ANALYTICS]
    return None if path.exists() else path


def require_existing(url: str | URL) -> None:
    """Refuse a SQLite URL with no warehouse, for commands that only read: a mistyped path must
    say so, not read as an empty warehouse. PostgreSQL URLs pass: connecting to a missing
    database fails by itself."""
    path = missing_file(url)
    if path is not None:
        raise WarehouseError(f"There is no warehouse at WAREHOUSE_URL: {path} does not exist.", code="WH_070",
                             hint="Point WAREHOUSE_URL at the warehouse the syncs write, or create one with "
                                  "`suara warehouse upgrade` and `suara sync`.")


def is_sqlite(bind: Engine | sa.Connection) -> bool:
    return bind.dialect.name == "sqlite"


def create_engine(url: str | URL) -> Engine:
    """An engine whose connections see every zone as a schema of the same name."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True)
    files = zone_files(parsed)
    files[ANALYTICS].parent.mkdir(parents=True, exist_ok=True)

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        for zone, path in files.items():
            conn.execute(f"ATTACH DATABASE ? AS {zone}", (str(path),))
            conn.execute(f"PRAGMA {zone}.journal_mode=WAL")
            conn.execute(f"PRAGMA {zone}.synchronous=NORMAL")
            conn.execute(f"PRAGMA {zone}.cache_size=-{SQLITE_CACHE_KIB}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        return conn

    engine = sa.create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=5)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front for writers that ask for it, so two
        # loaders wait on the busy timeout instead of dead-locking on a lock upgrade.
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def writer(conn: sa.Connection) -> sa.Connection:
    """Mark a connection as a writer (``BEGIN IMMEDIATE`` on SQLite); call before ``begin()``."""
    return conn.execution_options(sqlite_begin="IMMEDIATE")
