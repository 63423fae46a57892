"""The store's reads and writes for the review pages, tracking, the audit trail and withdrawals.

Part of :class:`router.store.Store` (a mixin), so that every SQL statement of the application
lives in ``router.store``. Each reader leaves out suggestions that were withdrawn
(``router store withdraw``): :data:`LIVE` is the one condition they share.
"""

from __future__ import annotations

import json

__all__ = ["Queries", "LIVE"]

# A suggestion row ``s`` that no withdrawal covers (a withdrawal names a year, a source file, or both).
LIVE = ("NOT EXISTS (SELECT 1 FROM withdrawals w WHERE (w.year IS NULL OR w.year = s.year) "
        "AND (w.source = '' OR w.source = s.source_file))")

_ITEMS = """
    SELECT s.id, s.number, s.title, s.deputy, s.content_hash, r.topic, r.division, r.co_divisions,
           r.topic_confidence, r.division_confidence, r.detail,
           d.id, d.action, d.after, d.reviewer, d.created, d.comment {body},
           s.office, s.year, s.occurrence
    FROM suggestions s
    JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id)
    LEFT JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE suggestion_id = s.id)
    WHERE {where} AND """ + LIVE + """
    ORDER BY s.id
"""


class Queries:
    """Store methods beyond suggestions, routes and decisions themselves (see :mod:`router.store`)."""

    # --- the store itself ---------------------------------------------------------------

    @property
    def store_id(self) -> str:
        """The random identity made when the store was created (or migrated to schema 5)."""
        row = self.db.execute("SELECT value FROM store_info WHERE key = 'store_id'").fetchone()
        return row[0] if row else ""

    # --- the review queue (web pages) ---------------------------------------------------

    def routed_years(self) -> list[int]:
        """Years that have routed, not withdrawn suggestions, newest first."""
        rows = self.db.execute(
            "SELECT DISTINCT s.year FROM suggestions s JOIN routes r ON r.suggestion_id = s.id "
            f"WHERE s.year IS NOT NULL AND {LIVE} ORDER BY s.year DESC").fetchall()
        return [row[0] for row in rows]

    def review_rows(self, *, year: int | None = None, suggestion_id: int | None = None, body: bool = False,
                    db=None) -> list[tuple]:
        """Routed suggestions with their latest route and latest decision (one year, or one suggestion).

        Each row: id, number, title, deputy, content_hash, topic, division, co_divisions (JSON),
        topic_confidence, division_confidence, detail (JSON), then the latest decision's id, action,
        after (JSON), reviewer, created, comment, then the body when asked, then office, year, occurrence.
        """
        where, args = ("s.id = ?", (suggestion_id,)) if suggestion_id is not None else ("s.year = ?", (year,))
        sql = _ITEMS.format(body=", s.body" if body else "", where=where)
        return (db or self.db).execute(sql, args).fetchall()

    def queue_entries(self, year: int) -> list[tuple]:
        """(id, topic, division, confidence, action, after topic, after division) of the year, in one light query."""
        return self.db.execute(
            f"""
            SELECT s.id, r.topic, r.division, MIN(COALESCE(r.topic_confidence, 0), COALESCE(r.division_confidence, 0)),
                   d.action, json_extract(d.after, '$.topic'), json_extract(d.after, '$.division')
            FROM suggestions s
            JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id)
            LEFT JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE suggestion_id = s.id)
            WHERE s.year = ? AND {LIVE}
            """, (year,)).fetchall()

    def decision_rows(self, suggestion_id: int, *, db=None, latest: bool = False) -> list[tuple]:
        """(id, action, after JSON, reviewer, created, comment) of one suggestion's decisions, oldest first
        (only the latest with ``latest``)."""
        sql = "SELECT id, action, after, reviewer, created, comment FROM decisions WHERE suggestion_id = ? "
        sql += "ORDER BY id DESC LIMIT 1" if latest else "ORDER BY id"
        return (db or self.db).execute(sql, (suggestion_id,)).fetchall()

    def decision_before(self, db, suggestion_id: int, decision_id: int) -> tuple | None:
        """(action, after JSON, comment) of the suggestion's decision just before ``decision_id``, None for none."""
        return db.execute("SELECT action, after, comment FROM decisions WHERE suggestion_id = ? AND id < ? "
                          "ORDER BY id DESC LIMIT 1", (suggestion_id, decision_id)).fetchone()

    def decision_counts(self, year: int) -> list[tuple]:
        """(reviewer, action, count) of the decisions on the year's suggestions."""
        return self.db.execute(
            "SELECT d.reviewer, d.action, COUNT(*) FROM decisions d JOIN suggestions s ON s.id = d.suggestion_id "
            f"WHERE s.year = ? AND {LIVE} GROUP BY d.reviewer, d.action", (year,)).fetchall()

    def suggested_route(self, db, suggestion_id: int) -> dict | None:
        """The latest route the model (or the rules) suggested, None when it has none."""
        row = db.execute("SELECT topic, division, co_divisions FROM routes WHERE suggestion_id = ? "
                         "ORDER BY id DESC LIMIT 1", (suggestion_id,)).fetchone()
        if row and row[0]:
            return {"topic": row[0], "division": row[1], "co_divisions": json.loads(row[2] or "[]")}
        return None

    def suggestion_number(self, db, suggestion_id: int) -> str:
        row = db.execute("SELECT number FROM suggestions WHERE id = ?", (suggestion_id,)).fetchone()
        return (row[0] or "") if row else ""

    def suggestion_year(self, db, suggestion_id: int) -> int | None:
        row = db.execute("SELECT year FROM suggestions WHERE id = ?", (suggestion_id,)).fetchone()
        return row[0] if row else None

    # --- handling (tracking) ------------------------------------------------------------

    def suggestion_brief(self, db, suggestion_id: int) -> tuple:
        """(year, number, title, body) of one suggestion."""
        return db.execute("SELECT year, number, title, body FROM suggestions WHERE id = ?",
                          (suggestion_id,)).fetchone()

    def handling_rows(self, db, suggestion_ids: list[int]) -> list[tuple]:
        """(id, suggestion_id, step, day, detail JSON, recorder, origin, created) of these suggestions, oldest first."""
        out = []
        for start in range(0, len(suggestion_ids), 500):
            chunk = suggestion_ids[start:start + 500]
            out += db.execute(
                f"SELECT id, suggestion_id, step, day, detail, recorder, origin, created FROM handling "
                f"WHERE suggestion_id IN ({','.join('?' * len(chunk))}) ORDER BY id", chunk).fetchall()
        return out

    def append_handling(self, db, suggestion_id: int, step: str, day: str | None, detail: dict, *, recorder: str,
                        origin: str, created: str) -> int:
        cursor = db.execute(
            "INSERT INTO handling (suggestion_id, step, day, detail, recorder, origin, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (suggestion_id, step, day, json.dumps(detail, ensure_ascii=False, sort_keys=True), recorder, origin,
             created))
        return cursor.lastrowid

    def suggestions_with_step(self, year: int, step: str) -> list[tuple]:
        """(id, year, number, title, body) of the year's suggestions that have a record of ``step``."""
        return self.db.execute(
            "SELECT DISTINCT s.id, s.year, s.number, s.title, s.body FROM suggestions s "
            f"JOIN handling h ON h.suggestion_id = s.id WHERE s.year = ? AND h.step = ? AND {LIVE}",
            (year, step)).fetchall()

    def years_with_step(self, step: str) -> list[int]:
        rows = self.db.execute("SELECT DISTINCT s.year FROM suggestions s JOIN handling h ON h.suggestion_id = s.id "
                               f"WHERE h.step = ? AND s.year IS NOT NULL AND {LIVE} ORDER BY s.year",
                               (step,)).fetchall()
        return [r[0] for r in rows]

    def latest_year(self, db=None) -> int | None:
        """The latest year of a suggestion that was not withdrawn."""
        row = (db or self.db).execute(f"SELECT MAX(s.year) FROM suggestions s WHERE {LIVE}").fetchone()
        return row[0] if row else None

    def numbered(self, year: int | None = None) -> list[tuple]:
        """(id, year, number) of every suggestion not withdrawn (of one year when given)."""
        sql = f"SELECT s.id, s.year, s.number FROM suggestions s WHERE {LIVE}"
        return self.db.execute(sql + (" AND s.year = ?" if year else ""), (year,) if year else ()).fetchall()

    def latest_step_year(self, step: str, number_digits: str) -> int | None:
        """The year of the latest record of ``step`` on a suggestion whose number has these digits."""
        rows = self.db.execute(
            "SELECT s.year, s.number FROM handling h JOIN suggestions s ON s.id = h.suggestion_id "
            f"WHERE h.step = ? AND {LIVE} ORDER BY h.day DESC, h.id DESC", (step,)).fetchall()
        import re

        for year, number in rows:
            if re.sub(r"\D", "", number or "") == number_digits:
                return year
        return None

    # --- the audit trail, training ------------------------------------------------------

    def decision_log_rows(self, year: int | None = None) -> list[tuple]:
        """(year, number, title, created, reviewer, action, before, after, comment, origin) of every decision
        on a suggestion not withdrawn, oldest first."""
        sql = ("SELECT s.year, s.number, s.title, d.created, d.reviewer, d.action, d.before, d.after, d.comment, "
               f"d.origin FROM decisions d JOIN suggestions s ON s.id = d.suggestion_id WHERE {LIVE}")
        args: tuple = ()
        if year is not None:
            sql += " AND s.year = ?"
            args = (year,)
        return self.db.execute(sql + " ORDER BY d.id", args).fetchall()

    def imported_years(self) -> set[int]:
        """Years of suggestions that were imported (never routed), not withdrawn."""
        return {y for (y,) in self.db.execute(
            f"SELECT DISTINCT s.year FROM suggestions s WHERE {LIVE} AND "
            "NOT EXISTS (SELECT 1 FROM routes r WHERE r.suggestion_id = s.id)")}

    # --- withdrawals --------------------------------------------------------------------

    def withdraw(self, *, year: int | None, source: str, reason: str, who: str, created: str) -> int:
        """Append a withdrawal; the number of suggestions it takes out of every reader."""
        with self.transaction() as db:
            before = db.execute(f"SELECT COUNT(*) FROM suggestions s WHERE {LIVE}").fetchone()[0]
            db.execute("INSERT INTO withdrawals (year, source, reason, who, created) VALUES (?, ?, ?, ?, ?)",
                       (year, source or "", reason, who, created))
            after = db.execute(f"SELECT COUNT(*) FROM suggestions s WHERE {LIVE}").fetchone()[0]
        return before - after

    def covered(self, *, year: int | None, source: str) -> int:
        """How many suggestions not withdrawn a withdrawal of (year, source) would take out."""
        sql = f"SELECT COUNT(*) FROM suggestions s WHERE {LIVE}"
        args: list = []
        if year is not None:
            sql += " AND s.year = ?"
            args.append(year)
        if source:
            sql += " AND s.source_file = ?"
            args.append(source)
        return self.db.execute(sql, args).fetchone()[0]

    def withdrawals(self) -> list[dict]:
        rows = self.db.execute("SELECT id, year, source, reason, who, created FROM withdrawals ORDER BY id").fetchall()
        return [{"id": i, "year": y, "source": s, "reason": r, "who": w, "created": c} for i, y, s, r, w, c in rows]

    def year_evidence(self, year: int) -> int:
        """How many suggestions not withdrawn the store holds for ``year``."""
        return self.db.execute(f"SELECT COUNT(*) FROM suggestions s WHERE s.year = ? AND {LIVE}",
                               (year,)).fetchone()[0]

    def first_year(self) -> int | None:
        """The earliest year of a suggestion not withdrawn."""
        return self.db.execute(f"SELECT MIN(s.year) FROM suggestions s WHERE {LIVE}").fetchone()[0]
