"""Where a study lives: `search.storage` -> an Optuna storage.

Accepted forms (see docs/scale-out.md):
- unset: SQLite beside the results, `sqlite:///<results>/study.db` (one driver, one machine)
- any SQLAlchemy URL, e.g. `postgresql+psycopg://user@host:5432/db` (shared by machines)
- `journal:///abs/path/study.journal` or `journal://relative.journal` (relative to the results folder): an
  append-only log file that works on shared (NFS-like) file systems without a database server
- `env:VAR`: the value of the environment variable VAR, in any of the forms above, so that no connection
  string (or password) has to be written into a search file
"""

from __future__ import annotations

import os
from pathlib import Path

import optuna

from dse.config import ConfigError

ENV_PREFIX = "env:"
JOURNAL_PREFIX = "journal://"


def resolve_storage_url(spec: str | None, results_dir: Path) -> str:
    """The concrete URL: default SQLite, `env:VAR` looked up, a relative journal path made absolute."""
    if spec is None or not spec.strip():
        return f"sqlite:///{(Path(results_dir) / 'study.db').resolve()}"
    spec = spec.strip()
    if spec.startswith(ENV_PREFIX):
        name = spec.removeprefix(ENV_PREFIX)
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(f"search.storage is {spec!r} but the environment variable {name} is not set")
        if value.startswith(ENV_PREFIX):
            raise ConfigError(f"environment variable {name} points to another variable ({value!r}); give a URL")
        return resolve_storage_url(value, results_dir)
    if spec.startswith(JOURNAL_PREFIX):
        path = Path(spec.removeprefix(JOURNAL_PREFIX))
        if not path.is_absolute():
            path = Path(results_dir).resolve() / path
        return f"{JOURNAL_PREFIX}{path}"
    if "://" not in spec:
        raise ConfigError(f"search.storage {spec!r} is not a storage URL; use e.g. {_URL_EXAMPLES}")
    _check_driver(spec)
    return spec


_URL_EXAMPLES = (
    "sqlite:///path/study.db, postgresql+psycopg://user@host:port/db, journal:///path/study.journal or env:VAR"
)


def _check_driver(url: str) -> None:
    """Refuse a database whose SQLAlchemy dialect or Python driver is not installed, before any study work."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(url).get_dialect().import_dbapi()
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise ConfigError(
            f"search.storage {redact(url)!r}: this database cannot be opened here ({error}); use e.g. {_URL_EXAMPLES}"
        ) from None


SQLITE_HEADER = b"SQLite format 3\x00"


def check_sqlite_file(url: str) -> None:
    """Refuse a study file that is not an SQLite database (truncated, overwritten); an empty file is a new one."""
    path = Path(url.removeprefix("sqlite:///"))
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER or path.stat().st_size < 512:
        raise ConfigError(
            f"{path}: not an SQLite database (damaged, truncated or replaced); restore it from a backup, or move it "
            "aside and rerun to start a new study in another results folder"
        )


_STORAGE_HINT = (
    "Check that the results folder is writable, the disk has space and the database is intact; "
    "completed trials are kept and the same command resumes the study"
)


def storage_error_message(error: BaseException) -> str | None:
    """A one-line message for a failure of the study storage, or None if ``error`` is something else."""
    import sqlalchemy.exc

    if isinstance(error, optuna.exceptions.StorageInternalError) and isinstance(error.__cause__, Exception):
        error = error.__cause__
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        reason = str(error.orig).strip() or type(error.orig).__name__
        return f"the study storage failed: {reason}. {_STORAGE_HINT}"
    if isinstance(error, optuna.exceptions.StorageInternalError | sqlalchemy.exc.SQLAlchemyError):
        return f"the study storage failed: {error}. {_STORAGE_HINT}"
    return None


def storage_from_url(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage object for a resolved URL (journal files need an object, not a string)."""
    if url.startswith(JOURNAL_PREFIX):
        from optuna.storages.journal import JournalFileBackend

        path = Path(url.removeprefix(JOURNAL_PREFIX))
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if _is_sqlite(url):
        check_sqlite_file(url)
    # pool_pre_ping: a long search outlives idle database connections (server restarts, NAT timeouts)
    return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True} if not _is_sqlite(url) else None)


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def open_storage(spec: str | None, results_dir: Path) -> optuna.storages.BaseStorage:
    """`search.storage` (or None) -> storage; what dse.search and dse.studies use."""
    return storage_from_url(resolve_storage_url(spec, results_dir))


def redact(url: str) -> str:
    """The URL without a password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
