"""The SQLite history: suggestions, the routes suggested, and reviewers' decisions.

Decisions are appended, never updated or deleted (triggers refuse both); the latest decision
for a suggestion is the one that counts, and a latest decision of 待定 means the suggestion has
no confirmed route. The database runs in WAL mode with a busy timeout so that several
processes can record decisions at once without losing any.

Why one package: :class:`Store` is the only place that speaks SQL to the history, so that every
transaction, lock wait and append-only rule is read in one place; the schema itself is data in
:mod:`router.store.schema`, and the reads of the review pages, tracking, the audit trail and
withdrawals are in :mod:`router.store.queries` (part of :class:`Store`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError, StoreError
from .queries import LIVE, Queries
from .schema import MIGRATIONS, SCHEMA_VERSION, statements

__all__ = ["Store", "StoredDecision", "STORE_ENV", "default_store_path", "ACTIONS", "SCHEMA_VERSION"]

STORE_ENV = "ROUTER_STORE"
_LOG = logging.getLogger("router.store")
ACTIONS = ("同意", "修改", "待定")



def default_store_path() -> Path:
    """router.sqlite in the working folder (the CLI passes $ROUTER_STORE instead when it is set)."""
    return Path("router.sqlite")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


@dataclass
class StoredDecision:
    suggestion_id: int
    action: str
    after: dict | None
    reviewer: str
    comment: str


def _route_json(topic: str | None, division: str | None, co_divisions=()) -> str | None:
    if topic is None:
        return None
    return json.dumps({"topic": topic, "division": division, "co_divisions": list(co_divisions)},
                      ensure_ascii=False, sort_keys=True)


SQLITE_HEADER = b"SQLite format 3\x00"


def _header(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(len(SQLITE_HEADER))


# Stores this process has open, by real path. Closing any descriptor of a file drops every POSIX
# lock the process holds on it, SQLite's included: reading the header of a store that another
# thread of this process has open would let a third process take it for unused and delete its
# live WAL file (and the decisions in it). Such a store was checked when it was first opened.
_OPEN: dict[str, int] = {}
_OPEN_LOCK = threading.Lock()


def _store_error(path: Path, exc: Exception, *, rolled_back: bool = False) -> StoreError:
    """One clear message for what SQLite or the file system said."""
    name = getattr(exc, "sqlite_errorname", "")
    text = str(exc)
    kept = "，本次运行的内容没有保存，原有记录完好" if rolled_back else ""
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text or "not a database" in text:
        return _damaged(path, text)
    if name == "SQLITE_FULL" or "disk is full" in text:
        return StoreError(f"{path}：磁盘已满（{text}）{kept}；请腾出空间后重新运行该命令")
    if name in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM") or isinstance(exc, OSError) \
            or "readonly" in text or "unable to open" in text:
        detail = exc.strerror if isinstance(exc, OSError) else text
        return StoreError(f"{path}：无法写入历史库（{detail}）{kept}；"
                          "请检查文件夹的权限，或用 --store 另选一个")
    return StoreError(f"{path}：历史库出错（{text}）{kept}；请运行 router store check 检查")


def _damaged(path: Path, detail: str) -> StoreError:
    detail = " ".join(detail.replace("*** in database main ***", "").split())
    return StoreError(f"{path}：历史库已损坏（{detail}），本次没有写入任何内容；请运行 router store check 检查，"
                      "并用最近的备份恢复（备份用 router store backup 生成）")


def _reported(method):
    """Turn SQLite's errors in a read into a StoreError that says what to do."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from None
    return wrapper


class Store(Queries):
    """One SQLite file; open with :meth:`open`, use as a context manager."""

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self.db = connection
        self._key = None
        self._checked = False  # quick_check passed on this connection (see _check_before_writing)

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True, identity: str | None = None) -> "Store":
        """Open (or create) the store at ``path``; a store created now takes ``identity`` as its id when given."""
        path = Path(path) if path else default_store_path()
        if not create and not path.exists():
            raise StoreError(f"{path}：这里还没有历史库；请先导入往年结果（router history import）或分办一批来文（router route）")
        existing = path.exists() and path.stat().st_size > 0
        key = os.path.realpath(path)
        with _OPEN_LOCK:
            open_here = _OPEN.get(key, 0) > 0
        if existing and not open_here and _header(path) != SQLITE_HEADER:
            raise StoreError(f"{path}：不是 SQLite 历史库文件；请用备份恢复（备份用 router store backup 生成）")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=60, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise _store_error(path, exc) from None
        try:
            # No integrity check on open: it reads the whole file, and most commands only read.
            # It runs once before a connection's first write (see transaction) and in `router store check`.
            connection.execute("PRAGMA busy_timeout = 60000")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA foreign_keys = ON")
            store = cls(path, connection)
            # A new file has nothing to check; one this process already has open was checked then.
            store._checked = not existing or open_here
            store._migrate()
            if identity and not existing:
                with store.transaction() as db:
                    db.execute("UPDATE store_info SET value = ? WHERE key = 'store_id'", (identity,))
        except sqlite3.Error as exc:
            connection.close()
            raise _store_error(path, exc) from None
        except StoreError:
            connection.close()
            raise
        with _OPEN_LOCK:
            _OPEN[key] = _OPEN.get(key, 0) + 1
        store._key = key
        return store

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        if self._key is not None:
            with _OPEN_LOCK:
                _OPEN[self._key] -= 1
                if not _OPEN[self._key]:
                    del _OPEN[self._key]
            self._key = None

    def _check_before_writing(self) -> None:
        """A damaged store is refused before anything is written to it, which could spread the damage."""
        try:
            problems = [row[0] for row in self.db.execute("PRAGMA quick_check(3)").fetchall()]
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from None
        if problems != ["ok"]:
            raise _damaged(self.path, "; ".join(problems))
        self._checked = True

    # How long a writer waits for another process's write lock, and when it says that it waits.
    lock_timeout: float = 120.0
    lock_notice: float = 3.0

    @contextlib.contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE with retries: one writer at a time, nobody's decisions lost.

        Waiting for another writer is said (on the ``router.store`` logger) after
        ``lock_notice`` seconds and given up after ``lock_timeout`` with a clear error.
        """
        if not self._checked:
            self._check_before_writing()
        started = time.monotonic()
        noticed = False
        self.db.execute(f"PRAGMA busy_timeout = {int(min(1.0, self.lock_notice) * 1000)}")
        try:
            while True:
                try:
                    self.db.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise _store_error(self.path, exc) from None
                waited = time.monotonic() - started
                if waited >= self.lock_timeout:
                    raise StoreError(
                        f"{self.path}：另一个进程一直占着存储的写锁，已等待 {waited:.0f} 秒仍未释放，本次没有写入任何内容；"
                        "请等其他 router 命令（如另一位复核人的 router accept 或 router route）结束后重试，"
                        "或检查是否有卡住未退出的 router 进程"
                    )
                if not noticed and waited >= self.lock_notice:
                    noticed = True
                    _LOG.warning("%s：另一个进程（如另一位复核人的 router accept）正在写入存储，正在等待它写完"
                                 "（最多再等 %.0f 秒）……", self.path, self.lock_timeout - waited)
                time.sleep(0.05)
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("PRAGMA busy_timeout = 60000")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise _store_error(self.path, exc, rolled_back=True) from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        """Apply each missing migration in its own transaction; safe when two processes race.

        The version is read again inside the write transaction, so a migration another process
        applied meanwhile is never applied twice. Foreign keys are off while tables are rebuilt
        (SQLite's own procedure) and checked before each commit.
        """
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}：历史库由更新版本的 router 建立（结构版本 {version} > {SCHEMA_VERSION}）；请升级 router")
        if version == SCHEMA_VERSION:
            return
        self.db.execute("PRAGMA foreign_keys = OFF")
        try:
            while version < SCHEMA_VERSION:
                with self.transaction() as db:
                    version = db.execute("PRAGMA user_version").fetchone()[0]
                    if version > SCHEMA_VERSION:
                        raise StoreError(f"{self.path}：历史库由更新版本的 router 建立（结构版本 {version} > {SCHEMA_VERSION}）；"
                                         "请升级 router")
                    if version == SCHEMA_VERSION:
                        break
                    for statement in statements(MIGRATIONS[version]):
                        db.execute(statement)
                    broken = db.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(f"{self.path}：升级第 {version + 1} 步会留下 {len(broken)} 行无处指向的记录，"
                                         "未做任何改动；请报告此问题")
                    version += 1
                    db.execute(f"PRAGMA user_version = {version}")
        finally:
            self.db.execute("PRAGMA foreign_keys = ON")

    # --- suggestions and routes -------------------------------------------------------------

    def find(self, db, identity) -> int | None:
        """The row of a suggestion by its identity; a row from before offices were kept matches any office."""
        row = db.execute(
            "SELECT id FROM suggestions WHERE office IN (?, '') AND year IS ? AND number = ? AND occurrence = ? "
            "ORDER BY office DESC LIMIT 1",
            (identity.office, identity.year, identity.number, identity.occurrence),
        ).fetchone()
        return row[0] if row else None

    def upsert_suggestion(self, db, suggestion, *, year: int | None, source: str, office: str = "",
                          identity=None) -> int:
        """The row of this suggestion (by identity: office, year, number, occurrence), made if new.

        The text is a property: a corrected export of the same suggestion updates it. A new row
        whose text was filed in an earlier year is linked to that year's row (repeat_of).
        """
        identity = identity or suggestion.identity(office, year)
        found = db.execute(
            "SELECT id, office, content_hash FROM suggestions WHERE office IN (?, '') AND year IS ? AND number = ? "
            "AND occurrence = ? ORDER BY office DESC LIMIT 1",
            (identity.office, identity.year, identity.number, identity.occurrence),
        ).fetchone()
        if found:
            sid, stored_office, stored_hash = found
            if not stored_office and identity.office:
                db.execute("UPDATE suggestions SET office = ? WHERE id = ?", (identity.office, sid))
            if stored_hash != suggestion.content_hash:
                db.execute("UPDATE suggestions SET content_hash = ?, title = ?, body = ?, deputy = ? WHERE id = ?",
                           (suggestion.content_hash, suggestion.title, suggestion.body, suggestion.deputy, sid))
            return sid
        earlier = db.execute(
            "SELECT id FROM suggestions WHERE content_hash = ? AND year < ? ORDER BY year DESC, id DESC LIMIT 1",
            (suggestion.content_hash, identity.year),
        ).fetchone() if identity.year is not None else None
        cursor = db.execute(
            "INSERT INTO suggestions (office, year, number, occurrence, content_hash, title, body, deputy, "
            "source_file, created, repeat_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (identity.office, identity.year, identity.number, identity.occurrence, suggestion.content_hash,
             suggestion.title, suggestion.body, suggestion.deputy, source, _now(), earlier[0] if earlier else None),
        )
        return cursor.lastrowid

    def record_routes(self, routes, *, year: int | None, source: str, model: str, office: str = "") -> None:
        with self.transaction() as db:
            for r in routes:
                sid = self.upsert_suggestion(db, r.suggestion, year=year, source=source, office=office,
                                             identity=getattr(r, "identity", None))
                detail = json.dumps({"topics": r.topics, "divisions": r.divisions, "reasons": r.reasons,
                                     "source": r.source, "needs_review": r.needs_review, "leader": r.leader,
                                     "deadline": r.deadline, "similar": r.similar,
                                     "duplicate_of": r.duplicate_of, "role": r.suggestion.role},
                                    ensure_ascii=False)
                db.execute(
                    "INSERT INTO routes (suggestion_id, model, topic, division, co_divisions, topic_confidence, "
                    "division_confidence, detail, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, model, r.topic, r.division, json.dumps(r.co_divisions), r.topic_confidence,
                     r.division_confidence, detail, _now()),
                )

    @_reported
    def suggestions_of_year(self, year: int) -> list:
        """The stored suggestions of one year, as :class:`router.intake.Suggestion` in stored order."""
        from ..intake import Suggestion

        rows = self.db.execute(
            f"SELECT s.id, s.number, s.occurrence, s.title, s.body, s.deputy FROM suggestions s WHERE s.year = ? AND {LIVE} "
            "ORDER BY s.id", (year,)
        ).fetchall()
        return [Suggestion(row=i, id=number or str(sid), title=title, body=body, deputy=deputy or "",
                           occurrence=occurrence if number else 1)
                for i, (sid, number, occurrence, title, body, deputy) in enumerate(rows, start=1)]

    @_reported
    def repeats(self, suggestion_id: int) -> list[dict]:
        """Earlier years' rows with the same text, latest first (linked, never merged)."""
        out = []
        current = self.db.execute("SELECT repeat_of FROM suggestions WHERE id = ?", (suggestion_id,)).fetchone()
        while current and current[0] is not None and len(out) < 50:
            row = self.db.execute("SELECT id, year, number, repeat_of FROM suggestions WHERE id = ?",
                                  (current[0],)).fetchone()
            if not row:
                break
            out.append({"id": row[0], "year": row[1], "number": row[2]})
            current = (row[3],)
        return out

    def suggestion_ids_with_text(self, content_hash: str) -> list[int]:
        """Rows holding this text (a legacy table's key); several when the text was filed more than once."""
        return [row[0] for row in self.db.execute("SELECT id FROM suggestions WHERE content_hash = ? ORDER BY id",
                                                  (content_hash,))]

    # --- decisions --------------------------------------------------------------------------

    def latest_decision(self, db, suggestion_id: int) -> StoredDecision | None:
        row = db.execute(
            "SELECT action, after, reviewer, comment FROM decisions WHERE suggestion_id = ? ORDER BY id DESC LIMIT 1",
            (suggestion_id,),
        ).fetchone()
        if not row:
            return None
        return StoredDecision(suggestion_id, row[0], json.loads(row[1]) if row[1] else None, row[2], row[3])

    def add_decision(self, db, suggestion_id: int, *, action: str, reviewer: str, after: dict | None,
                     before: dict | None = None, comment: str = "", origin: str = "") -> bool:
        """Append a decision unless it repeats the latest one; True when something was recorded."""
        if action not in ACTIONS:
            raise StoreError(f"复核决定“{action}”无效；应为 {'、'.join(ACTIONS)} 之一")
        latest = self.latest_decision(db, suggestion_id)
        after_json = _route_json(**after) if after else None
        if latest and latest.action == action and latest.comment == comment and (
            (_route_json(**latest.after) if latest.after else None) == after_json
        ):
            return False
        db.execute(
            "INSERT INTO decisions (suggestion_id, reviewer, created, action, before, after, comment, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (suggestion_id, reviewer, _now(), action, _route_json(**before) if before else None, after_json,
             comment, origin),
        )
        return True

    @_reported
    def confirmed(self, years: set[int] | None = None) -> list[dict]:
        """Suggestions whose latest decision is 同意 or 修改, with that decision's route and identity; ``years`` filters."""
        years = sorted(set(years)) if years else []
        in_years = f"AND s.year IN ({', '.join('?' * len(years))})" if years else ""
        rows = self.db.execute(
            f"""
            SELECT s.id, s.office, s.year, s.number, s.occurrence, s.title, s.body, s.content_hash, d.after, d.action,
                   d.reviewer, d.comment, d.id
            FROM suggestions s
            JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE suggestion_id = s.id)
            WHERE d.action IN ('同意', '修改') AND d.after IS NOT NULL {in_years} AND {LIVE}
            ORDER BY s.year, s.id
            """,
            years,
        ).fetchall()
        out = []
        for sid, office, year, number, occurrence, title, body, content_hash, after, action, reviewer, comment, \
                decision_id in rows:
            out.append({"id": sid, "office": office, "year": year, "number": number, "occurrence": occurrence,
                        "title": title, "body": body, "content_hash": content_hash, "action": action,
                        "reviewer": reviewer, "comment": comment or "", "decision_id": decision_id,
                        **json.loads(after)})
        return out

    @_reported
    def flagged(self, years: set[int] | None = None) -> set[int]:
        """Ids of suggestions whose latest route was sent to review (needs_review), in ``years``."""
        years = sorted(set(years)) if years else []
        in_years = f"AND s.year IN ({', '.join('?' * len(years))})" if years else ""
        rows = self.db.execute(
            f"""
            SELECT s.id, r.detail FROM suggestions s
            JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id)
            WHERE 1 = 1 {in_years}
            """, years).fetchall()
        return {sid for sid, detail in rows if detail and json.loads(detail).get("needs_review")}

    @_reported
    def decisions_by_identity(self) -> dict:
        """The confirmed decisions keyed by :class:`router.intake.Identity` (office '' for rows that predate offices)."""
        from ..intake import Identity

        return {Identity(r["office"], r["year"], r["number"], r["occurrence"]): r for r in self.confirmed()}

    @_reported
    def routed_of_year(self, year: int) -> list[dict]:
        """Every suggestion of ``year`` that was routed, with its latest route (and the intake's 主办/会办)."""
        rows = self.db.execute(
            f"""
            SELECT s.id, s.number, s.title, s.body, r.topic, r.division, r.detail
            FROM suggestions s JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id)
            WHERE s.year = ? AND {LIVE} ORDER BY s.id
            """, (year,)).fetchall()
        out = []
        for sid, number, title, body, topic, division, detail in rows:
            role = (json.loads(detail) if detail else {}).get("role", "")
            out.append({"id": sid, "number": number or "", "title": title, "body": body, "topic": topic,
                        "division": division, "role": role or ""})
        return out

    @_reported
    def last_decision_id(self) -> int:
        """The id of the newest decision (0 for none): the store's state that a routed table remembers."""
        return self.db.execute("SELECT IFNULL(MAX(id), 0) FROM decisions").fetchone()[0]

    def decisions_since(self, db, suggestion_id: int, since: int) -> list[dict]:
        """The decisions on one suggestion recorded after decision ``since``, oldest first."""
        rows = db.execute(
            "SELECT id, action, after, reviewer, created, comment FROM decisions WHERE suggestion_id = ? AND id > ? "
            "ORDER BY id", (suggestion_id, since)).fetchall()
        return [{"id": i, "action": a, "after": json.loads(after) if after else None, "reviewer": r, "created": c,
                 "comment": comment or ""} for i, a, after, r, c, comment in rows]

    @_reported
    def counts(self) -> dict[str, int]:
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "suggestions": one("SELECT COUNT(*) FROM suggestions"),
            "routes": one("SELECT COUNT(*) FROM routes"),
            "decisions": one("SELECT COUNT(*) FROM decisions"),
        }

    # --- care -------------------------------------------------------------------------------

    def backup(self, target: Path) -> None:
        """SQLite's online backup: consistent even while others write; the target appears only when whole."""
        from ..fileio import atomic_path

        target = Path(target)
        if target.exists():
            raise StoreError(f"{target}：文件已存在；请另起一个备份文件名")
        try:
            with atomic_path(target, advice="另选一个备份文件名") as partial:
                with contextlib.closing(sqlite3.connect(partial)) as destination:
                    self.db.backup(destination)
        except sqlite3.Error as exc:
            raise _store_error(target, exc) from None
        except OutputError as exc:
            raise StoreError(str(exc)) from None


def check_store(path: Path) -> list[str]:
    """Problems found in a store file, without writing to it; empty when it is sound.

    A sound store in a folder this user may not write cannot be opened the usual way (SQLite
    needs to create its -shm file beside it): that is said as such, never called damage.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}：这里没有历史库")
    with _OPEN_LOCK:
        open_here = _OPEN.get(os.path.realpath(path), 0) > 0
    if not open_here and _header(path) != SQLITE_HEADER:
        return ["不是 SQLite 历史库文件"]
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            result = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", "")
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in str(exc) or "not a database" in str(exc):
            return [str(exc)]
        return _check_unwritable(path, exc)
    return [] if result == ["ok"] else [" ".join(line.replace("*** in database main ***", "").split()) for line in result]


def _check_unwritable(path: Path, exc: Exception) -> list[str]:
    """Check a store SQLite could not open read-only (a read-only folder); refuse to guess."""
    wal = Path(f"{path}-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        # Nothing waits in a write-ahead log: the file alone is the store, and can be read as is.
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as db:
                result = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as again:
            return [str(again)]
        return [] if result == ["ok"] else [" ".join(r.replace("*** in database main ***", "").split()) for r in result]
    raise StoreError(
        f"{path}：无法打开存储来检查（{exc}）：它所在的文件夹不可写，而 SQLite 需要在旁边建 -shm 文件；"
        f"这不说明存储已损坏，不要用备份覆盖它。请以可写该文件夹的用户运行，或把 {path.name} 连同 {wal.name} "
        "一起复制到可写的文件夹里再运行 `router store check --store 复制后的文件`"
    )
