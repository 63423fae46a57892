"""The store's schema as numbered migrations: each is applied once, in order, in one transaction.

A migration is never edited once released; a change is a new migration at the end. The store's
``PRAGMA user_version`` says how many have been applied (see :meth:`router.store.Store._migrate`).
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "statements"]

MIGRATIONS = [
    # 1: the first schema.
    """
    CREATE TABLE suggestions (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        year INTEGER,
        number TEXT,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        deputy TEXT,
        source_file TEXT,
        created TEXT NOT NULL
    );
    CREATE INDEX suggestions_year ON suggestions(year);
    CREATE TABLE routes (
        id INTEGER PRIMARY KEY,
        suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
        model TEXT,
        topic TEXT,
        division TEXT,
        co_divisions TEXT,
        topic_confidence REAL,
        division_confidence REAL,
        detail TEXT,
        created TEXT NOT NULL
    );
    CREATE INDEX routes_suggestion ON routes(suggestion_id);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
        reviewer TEXT NOT NULL,
        created TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('同意', '修改', '待定')),
        before TEXT,
        after TEXT,
        comment TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX decisions_suggestion ON decisions(suggestion_id, id);
    CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
    """,
    # 2 (web): accounts and sign-in sessions of `router serve`; decisions stay in `decisions`.
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('reviewer', 'coordinator')),
        divisions TEXT NOT NULL DEFAULT '[]',
        password TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name),
        csrf TEXT NOT NULL,
        created TEXT NOT NULL,
        expires TEXT NOT NULL
    );
    """,
    # 3 (integrity, #13): a suggestion is who it is, not what it says. Identity is (office, year,
    # number, occurrence: the nth row with that number in its file); the text is a property.
    # Two suggestions with the same text are two rows; one filed again in a later year is a new
    # row linked to the earlier one by repeat_of, never merged with it. Existing rows keep their
    # ids, so routes and decisions stay attached; their office is unknown ('') and is claimed by
    # the first office that finds the row by its identity.
    """
    CREATE TABLE suggestions_v2 (
        id INTEGER PRIMARY KEY,
        office TEXT NOT NULL DEFAULT '',
        year INTEGER,
        number TEXT NOT NULL DEFAULT '',
        occurrence INTEGER NOT NULL DEFAULT 1,
        content_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        deputy TEXT,
        source_file TEXT,
        created TEXT NOT NULL,
        repeat_of INTEGER REFERENCES suggestions(id)
    );
    INSERT INTO suggestions_v2 (id, office, year, number, occurrence, content_hash, title, body, deputy,
                                source_file, created)
        SELECT id, '', year, IFNULL(number, ''),
               ROW_NUMBER() OVER (PARTITION BY year, IFNULL(number, '') ORDER BY id),
               content_hash, title, body, deputy, source_file, created
        FROM suggestions;
    UPDATE suggestions_v2 SET repeat_of = (
        SELECT e.id FROM suggestions_v2 e
        WHERE e.content_hash = suggestions_v2.content_hash AND e.year < suggestions_v2.year
        ORDER BY e.year DESC, e.id DESC LIMIT 1);
    DROP TABLE suggestions;
    ALTER TABLE suggestions_v2 RENAME TO suggestions;
    CREATE UNIQUE INDEX suggestions_identity ON suggestions(office, year, number, occurrence);
    CREATE INDEX suggestions_year ON suggestions(year);
    CREATE INDEX suggestions_content ON suggestions(content_hash);
    """,
    # 4 (tracking, #16): handling records after assignment (router.services.tracking), append-only like decisions.
    # The latest record of a step for a suggestion is the one that counts.
    """
    CREATE TABLE handling (
        id INTEGER PRIMARY KEY,
        suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
        step TEXT NOT NULL CHECK (step IN ('已交办', '已转办', '已联系代表', '已会商', '已答复', '已回访')),
        day TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        recorder TEXT NOT NULL,
        origin TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL
    );
    CREATE INDEX handling_suggestion ON handling(suggestion_id, step, id);
    CREATE TRIGGER handling_append_only_update BEFORE UPDATE ON handling
        BEGIN SELECT RAISE(ABORT, 'handling records are append-only'); END;
    CREATE TRIGGER handling_append_only_delete BEFORE DELETE ON handling
        BEGIN SELECT RAISE(ABORT, 'handling records are append-only'); END;
    """,
    # 5 (decisions, #20): a store knows who it is (a random id written into every table it routes,
    # so a table from another store is refused), and a wrong route or import can be taken back:
    # a withdrawal names a year, a source file or both, is append-only, and every reader leaves
    # out the suggestions it covers (router.store.queries.LIVE). The id is set once, when the store is
    # made (Store.open(identity=…) lets a new store take the id its first table already carries).
    """
    CREATE TABLE store_info (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO store_info (key, value) VALUES ('store_id', lower(hex(randomblob(8))));
    CREATE TABLE withdrawals (
        id INTEGER PRIMARY KEY,
        year INTEGER,
        source TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        who TEXT NOT NULL,
        created TEXT NOT NULL,
        CHECK (year IS NOT NULL OR source != '')
    );
    CREATE TRIGGER withdrawals_append_only_update BEFORE UPDATE ON withdrawals
        BEGIN SELECT RAISE(ABORT, 'withdrawals are append-only'); END;
    CREATE TRIGGER withdrawals_append_only_delete BEFORE DELETE ON withdrawals
        BEGIN SELECT RAISE(ABORT, 'withdrawals are append-only'); END;
    """,
    # 6: (web, #24) the review pages' collaboration: accounts can be disabled; undo and bulk
    # confirmation as append-only reversals (a reversal is a decision that points at the one it
    # takes back; a batch groups the decisions of one click); transfers (转办 → 签收/退回) and
    # comments on a suggestion. All append-only like decisions.
    """
    ALTER TABLE users ADD COLUMN disabled TEXT NOT NULL DEFAULT '';
    CREATE TABLE decision_batches (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        created TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        reverses INTEGER REFERENCES decision_batches(id)
    );
    CREATE TABLE batch_decisions (
        batch_id INTEGER NOT NULL REFERENCES decision_batches(id),
        decision_id INTEGER NOT NULL REFERENCES decisions(id),
        PRIMARY KEY (batch_id, decision_id)
    );
    CREATE TABLE reversals (
        reversal_id INTEGER PRIMARY KEY REFERENCES decisions(id),
        reversed_id INTEGER NOT NULL REFERENCES decisions(id),
        batch_id INTEGER REFERENCES decision_batches(id)
    );
    CREATE INDEX reversals_reversed ON reversals(reversed_id);
    CREATE TABLE transfers (
        id INTEGER PRIMARY KEY,
        suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
        kind TEXT NOT NULL CHECK (kind IN ('转办', '签收', '退回', '撤回')),
        from_division TEXT,
        to_division TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        before TEXT,
        actor TEXT NOT NULL,
        created TEXT NOT NULL,
        decision_id INTEGER REFERENCES decisions(id)
    );
    CREATE INDEX transfers_suggestion ON transfers(suggestion_id, id);
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY,
        suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
        author TEXT NOT NULL,
        addressed_to TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL,
        created TEXT NOT NULL,
        decision_id INTEGER REFERENCES decisions(id)
    );
    CREATE INDEX comments_suggestion ON comments(suggestion_id, id);
    CREATE TRIGGER transfers_append_only_update BEFORE UPDATE ON transfers
        BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;
    CREATE TRIGGER transfers_append_only_delete BEFORE DELETE ON transfers
        BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;
    CREATE TRIGGER comments_append_only_update BEFORE UPDATE ON comments
        BEGIN SELECT RAISE(ABORT, 'comments are append-only'); END;
    CREATE TRIGGER comments_append_only_delete BEFORE DELETE ON comments
        BEGIN SELECT RAISE(ABORT, 'comments are append-only'); END;
    CREATE TRIGGER reversals_append_only_update BEFORE UPDATE ON reversals
        BEGIN SELECT RAISE(ABORT, 'reversals are append-only'); END;
    CREATE TRIGGER reversals_append_only_delete BEFORE DELETE ON reversals
        BEGIN SELECT RAISE(ABORT, 'reversals are append-only'); END;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """A migration script as single statements (a trigger's body holds semicolons)."""
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip().rstrip(";").strip():
                out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out
