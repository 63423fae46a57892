"""The SQL of the review pages' accounts and collaboration: accounts and sessions, search,
undo and bulk confirmation (reversals and batches), transfers and comments.

Functions take an open :class:`router.store.Store` (reads) or the connection of a running
``store.transaction()`` (writes, named ``db``); the rules live in :mod:`router.services.review`
(undo, bulk confirmation), :mod:`router.web.collab` and :mod:`router.accounts`. Tables come from
migration 6 of :mod:`router.store.schema`.
"""

from __future__ import annotations

import datetime as dt
import json

__all__ = [
    "user_row", "user_rows", "user_password", "insert_user", "set_password", "set_disabled", "count_users",
    "insert_session", "session_row", "delete_session", "delete_sessions_of",
    "search_ids", "search_rows", "decision_rows", "decision_owner", "last_decision_id", "reversals_of", "reversed_ids",
    "own_recent", "insert_reversal", "insert_batch", "insert_batch_decision", "batch_row", "batch_reversed",
    "batch_decisions",
    "batches", "insert_transfer", "transfers_of", "open_transfers", "insert_comment", "comments_of", "comments_of_year",
    "decided_since", "reviewer_days", "store_marks", "decisions_after",
]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


# --- accounts -----------------------------------------------------------------------------------

_USER = "SELECT name, role, divisions, created, disabled FROM users"


def user_row(store, name: str):
    return store.db.execute(f"{_USER} WHERE name = ?", (name,)).fetchone()


def user_rows(store) -> list:
    return store.db.execute(f"{_USER} ORDER BY name").fetchall()


def user_password(store, name: str) -> tuple[str, str] | None:
    """(password hash, disabled) of an account, or None."""
    return store.db.execute("SELECT password, disabled FROM users WHERE name = ?", (name,)).fetchone()


def insert_user(db, name: str, role: str, divisions: list[str], password: str, created: str) -> bool:
    """False when the name is taken."""
    if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
        return False
    db.execute("INSERT INTO users (name, role, divisions, password, created) VALUES (?, ?, ?, ?, ?)",
               (name, role, json.dumps(list(divisions)), password, created))
    return True


def set_password(db, name: str, password: str) -> None:
    db.execute("UPDATE users SET password = ? WHERE name = ?", (password, name))


def set_disabled(db, name: str, disabled: str) -> None:
    db.execute("UPDATE users SET disabled = ? WHERE name = ?", (disabled, name))


def count_users(store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM users").fetchone()[0]


def insert_session(db, token_hash: str, name: str, csrf: str, created: str, expires: str) -> None:
    db.execute("DELETE FROM web_sessions WHERE expires < ?", (created,))
    db.execute("INSERT INTO web_sessions (token_hash, user_name, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
               (token_hash, name, csrf, created, expires))


def session_row(store, token_hash: str, at: str):
    """(name, role, divisions, created, disabled, csrf) of a live session of an enabled account."""
    return store.db.execute(
        "SELECT u.name, u.role, u.divisions, u.created, u.disabled, s.csrf FROM web_sessions s "
        "JOIN users u ON u.name = s.user_name WHERE s.token_hash = ? AND s.expires > ? AND u.disabled = ''",
        (token_hash, at)).fetchone()


def delete_session(db, token_hash: str) -> None:
    db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))


def delete_sessions_of(db, name: str, *, keep: str = "") -> None:
    db.execute("DELETE FROM web_sessions WHERE user_name = ? AND token_hash != ?", (name, keep))


# --- search -------------------------------------------------------------------------------------

def _search_where(terms: list[str], number: str | None, year: int | None) -> tuple[str, list]:
    where, params = [], []
    if year is not None:
        where.append("s.year = ?")
        params.append(year)
    match = []
    if number:
        match.append("s.number = ?")
        params.append(number)
    if terms:
        match.append("(" + " AND ".join(
            "(instr(s.title, ?) > 0 OR instr(IFNULL(s.deputy, ''), ?) > 0 OR instr(s.body, ?) > 0)" for _ in terms) + ")")
        params += [t for term in terms for t in (term, term, term)]
    if not match:
        return "", []
    where.append("(" + " OR ".join(match) + ")")
    return " AND ".join(where), params


def search_ids(store, *, terms: list[str], number: str | None, year: int | None) -> list[int]:
    """Suggestions whose number is ``number`` or whose title, deputy or text hold every term, newest
    year first (the number's own row first). Terms are matched with instr() over the rows of the
    year (measured in benchmarks/web_load.py: fast enough on 10,000 suggestions, and two-character
    words, which a trigram index cannot find, are found)."""
    where, params = _search_where(terms, number, year)
    if not where:
        return []
    return [row[0] for row in store.db.execute(
        f"SELECT s.id FROM suggestions s WHERE {where} "
        "ORDER BY s.year DESC, CASE WHEN s.number = ? THEN 0 ELSE 1 END, s.id", (*params, number or ""))]


def search_rows(store, ids: list[int]) -> list[tuple]:
    """(id, year, number, title, deputy, route topic, route division, decision action, decided topic,
    decided division) of these suggestions, in the order given."""
    if not ids:
        return []
    rows = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in store.db.execute(
                f"""
                SELECT s.id, s.year, s.number, s.title, s.deputy, r.topic, r.division, d.action,
                       json_extract(d.after, '$.topic'), json_extract(d.after, '$.division')
                FROM suggestions s
                LEFT JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id)
                LEFT JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE suggestion_id = s.id)
                WHERE s.id IN ({', '.join('?' * len(chunk))})
                """, chunk):
            rows[row[0]] = row
    return [rows[i] for i in ids if i in rows]


# --- decisions, reversals, batches -------------------------------------------------------------

_DECISION = "SELECT id, action, after, reviewer, created, comment, origin FROM decisions"


def decision_rows(store_or_db, sid: int) -> list[tuple]:
    db = getattr(store_or_db, "db", store_or_db)
    return db.execute(f"{_DECISION} WHERE suggestion_id = ? ORDER BY id", (sid,)).fetchall()


def decision_owner(db, decision_id: int):
    """(suggestion id, reviewer) of a decision, or None."""
    return db.execute("SELECT suggestion_id, reviewer FROM decisions WHERE id = ?", (decision_id,)).fetchone()


def last_decision_id(db, sid: int) -> int:
    return db.execute("SELECT IFNULL(MAX(id), 0) FROM decisions WHERE suggestion_id = ?", (sid,)).fetchone()[0]


def reversals_of(store, sid: int) -> dict[int, int]:
    """{reversal decision id: the decision it took back} for one suggestion."""
    return dict(store.db.execute(
        "SELECT v.reversal_id, v.reversed_id FROM reversals v JOIN decisions d ON d.id = v.reversal_id "
        "WHERE d.suggestion_id = ?", (sid,)).fetchall())


def reversed_ids(db, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    marks = ", ".join("?" * len(ids))
    return {row[0] for row in db.execute(f"SELECT reversed_id FROM reversals WHERE reversed_id IN ({marks})", ids)}


def own_recent(store, reviewer: str, limit: int) -> list[tuple]:
    """The reviewer's decisions that are still the latest on their suggestion and are no reversal:
    (decision id, suggestion id, number, title, action, after, created), newest first."""
    return store.db.execute(
        """
        SELECT d.id, s.id, s.number, s.title, d.action, d.after, d.created
        FROM decisions d JOIN suggestions s ON s.id = d.suggestion_id
        WHERE d.reviewer = ? AND d.id = (SELECT MAX(id) FROM decisions WHERE suggestion_id = d.suggestion_id)
          AND NOT EXISTS (SELECT 1 FROM reversals v WHERE v.reversal_id = d.id)
        ORDER BY d.id DESC LIMIT ?
        """, (reviewer, limit)).fetchall()


def insert_reversal(db, reversal_id: int, reversed_id: int, batch_id: int | None = None) -> None:
    db.execute("INSERT INTO reversals (reversal_id, reversed_id, batch_id) VALUES (?, ?, ?)",
               (reversal_id, reversed_id, batch_id))


def insert_batch(db, kind: str, actor: str, detail: dict, reverses: int | None = None) -> int:
    return db.execute("INSERT INTO decision_batches (kind, actor, created, detail, reverses) VALUES (?, ?, ?, ?, ?)",
                      (kind, actor, now(), json.dumps(detail, ensure_ascii=False), reverses)).lastrowid


def insert_batch_decision(db, batch_id: int, decision_id: int) -> None:
    db.execute("INSERT INTO batch_decisions (batch_id, decision_id) VALUES (?, ?)", (batch_id, decision_id))


def batch_row(store_or_db, batch_id: int):
    db = getattr(store_or_db, "db", store_or_db)
    return db.execute("SELECT id, kind, actor, created, detail, reverses FROM decision_batches WHERE id = ?",
                      (batch_id,)).fetchone()


def batch_reversed(db, batch_id: int) -> bool:
    """Whether a batch has been taken back (a later batch reverses it)."""
    return db.execute("SELECT 1 FROM decision_batches WHERE reverses = ?", (batch_id,)).fetchone() is not None


def batch_decisions(db, batch_id: int) -> list[tuple]:
    """(decision id, suggestion id, latest decision id of that suggestion) of a batch."""
    return db.execute(
        "SELECT b.decision_id, d.suggestion_id, (SELECT MAX(id) FROM decisions WHERE suggestion_id = d.suggestion_id) "
        "FROM batch_decisions b JOIN decisions d ON d.id = b.decision_id WHERE b.batch_id = ? ORDER BY b.decision_id",
        (batch_id,)).fetchall()


def batches(store, kind: str, limit: int = 10) -> list[tuple]:
    """(id, actor, created, detail, decisions, reversed by batch id) newest first."""
    return store.db.execute(
        "SELECT b.id, b.actor, b.created, b.detail, (SELECT COUNT(*) FROM batch_decisions WHERE batch_id = b.id), "
        "(SELECT MAX(id) FROM decision_batches WHERE reverses = b.id) FROM decision_batches b "
        "WHERE b.kind = ? ORDER BY b.id DESC LIMIT ?", (kind, limit)).fetchall()


def decided_since(store, year: int) -> list[tuple]:
    """(reviewer, created) of every decision on the year's suggestions."""
    return store.db.execute("SELECT d.reviewer, d.created FROM decisions d JOIN suggestions s ON s.id = d.suggestion_id "
                            "WHERE s.year = ?", (year,)).fetchall()


def reviewer_days(store, year: int) -> list[tuple]:
    """(reviewer, decisions, distinct days, first, last) of the year."""
    return store.db.execute(
        "SELECT d.reviewer, COUNT(*), COUNT(DISTINCT substr(d.created, 1, 10)), MIN(d.created), MAX(d.created) "
        "FROM decisions d JOIN suggestions s ON s.id = d.suggestion_id WHERE s.year = ? GROUP BY d.reviewer "
        "ORDER BY d.reviewer", (year,)).fetchall()


def store_marks(store) -> tuple[int, int]:
    """(newest route id, newest decision id): what a cached queue order was built from."""
    return store.db.execute("SELECT (SELECT IFNULL(MAX(id), 0) FROM routes), "
                            "(SELECT IFNULL(MAX(id), 0) FROM decisions)").fetchone()


def decisions_after(store, since: int) -> list[tuple]:
    """(id, suggestion id, action, decided topic, decided division) of decisions after ``since``, oldest first."""
    return store.db.execute("SELECT id, suggestion_id, action, json_extract(after, '$.topic'), "
                            "json_extract(after, '$.division') FROM decisions WHERE id > ? ORDER BY id",
                            (since,)).fetchall()


# --- transfers ----------------------------------------------------------------------------------

_TRANSFER = "SELECT id, suggestion_id, kind, from_division, to_division, reason, before, actor, created, decision_id " \
            "FROM transfers"


def insert_transfer(db, sid: int, kind: str, *, from_division: str | None, to_division: str, reason: str,
                    actor: str, decision_id: int | None, before: dict | None = None) -> int:
    return db.execute(
        "INSERT INTO transfers (suggestion_id, kind, from_division, to_division, reason, before, actor, created, "
        "decision_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (sid, kind, from_division, to_division, reason, json.dumps(before, ensure_ascii=False) if before else None,
         actor, now(), decision_id)).lastrowid


def transfers_of(store_or_db, sid: int) -> list[tuple]:
    db = getattr(store_or_db, "db", store_or_db)
    return db.execute(f"{_TRANSFER} WHERE suggestion_id = ? ORDER BY id", (sid,)).fetchall()


def open_transfers(store, year: int) -> list[tuple]:
    """The latest transfer record of each suggestion of the year whose latest record is a 转办."""
    return store.db.execute(
        f"""{_TRANSFER} t WHERE t.id IN (SELECT MAX(t2.id) FROM transfers t2 JOIN suggestions s ON s.id = t2.suggestion_id
                                        WHERE s.year = ? GROUP BY t2.suggestion_id) AND t.kind = '转办'""",
        (year,)).fetchall()


# --- comments -----------------------------------------------------------------------------------

_COMMENT = "SELECT id, suggestion_id, author, addressed_to, body, created, decision_id FROM comments"


def insert_comment(db, sid: int, author: str, addressed_to: str, body: str, decision_id: int | None = None) -> int:
    return db.execute(
        "INSERT INTO comments (suggestion_id, author, addressed_to, body, created, decision_id) VALUES (?, ?, ?, ?, ?, ?)",
        (sid, author, addressed_to, body, now(), decision_id)).lastrowid


def comments_of(store, sid: int) -> list[tuple]:
    return store.db.execute(f"{_COMMENT} WHERE suggestion_id = ? ORDER BY id", (sid,)).fetchall()


def comments_of_year(store, year: int) -> list[tuple]:
    return store.db.execute(
        f"{_COMMENT} WHERE suggestion_id IN (SELECT id FROM suggestions WHERE year = ?) ORDER BY id", (year,)).fetchall()
