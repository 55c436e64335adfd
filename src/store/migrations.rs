//! The decision log's schema history, for both engines side by side: migration `i` takes a log
//! from version `i` to `i + 1`, written once in SQLite's dialect and once in PostgreSQL's, so
//! the two cannot drift apart in what they store. Append only: a released migration is never
//! edited, because logs in the field have already run it. Running them (and recording the
//! version) is each engine's `schema` module's job; no connections here.
//!
//! SQLite keeps times as RFC 3339 UTC text of fixed width (see `records::format_time`, so text
//! order is time order) and JSON as text; PostgreSQL uses `timestamptz` (microseconds, the
//! precision the log keeps) and `json`, which keeps the text as sent like SQLite does (`jsonb`
//! would refuse a ticket holding `\u0000`). Feedback rows are keyed by (decision, version): a
//! new version is a new row, never an update.
//!
//! Migration 2 moves corrected labels from one column per built-in head into one JSON object
//! keyed by head name (`labels`), so a model with other heads needs no schema change; the
//! labels already recorded move with it. Migration 3 adds what happened to each ticket after
//! its decision (`events`, see `crate::events`), in the order it was recorded. Migration 4
//! adds when each periodic task last ran (`maintenance`), so servers sharing one log run
//! retention once between them instead of once each. Migration 5 adds the model and policy
//! stores (`crate::registry`) for servers that share a database: each kind's registry (the
//! active version and its history) and every version's files.

pub(super) struct Migration {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        sqlite: "
        CREATE TABLE decisions (
            decision_id    TEXT PRIMARY KEY NOT NULL,
            ticket_id      TEXT,
            decided_at     TEXT NOT NULL,
            priority       TEXT NOT NULL,
            queue          TEXT NOT NULL,
            needs_review   INTEGER NOT NULL CHECK (needs_review IN (0, 1)),
            model_name     TEXT NOT NULL,
            model_version  TEXT NOT NULL,
            policy_version TEXT NOT NULL,
            request        TEXT NOT NULL,
            response       TEXT NOT NULL
        );
        CREATE INDEX decisions_by_time ON decisions (decided_at, decision_id);
        CREATE TABLE feedback (
            decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
            version     INTEGER NOT NULL CHECK (version >= 1),
            created_at  TEXT NOT NULL,
            reviewer    TEXT NOT NULL,
            note        TEXT,
            priority    TEXT,
            urgency     TEXT,
            sentiment   TEXT,
            category    TEXT,
            PRIMARY KEY (decision_id, version)
        ) WITHOUT ROWID;
        ",
        postgres: "
        CREATE TABLE decisions (
            decision_id    TEXT PRIMARY KEY,
            ticket_id      TEXT,
            decided_at     TIMESTAMPTZ NOT NULL,
            priority       TEXT NOT NULL,
            queue          TEXT NOT NULL,
            needs_review   BOOLEAN NOT NULL,
            model_name     TEXT NOT NULL,
            model_version  TEXT NOT NULL,
            policy_version TEXT NOT NULL,
            request        JSON NOT NULL,
            response       JSON NOT NULL
        );
        CREATE INDEX decisions_by_time ON decisions (decided_at, decision_id);
        CREATE TABLE feedback (
            decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
            version     INTEGER NOT NULL CHECK (version >= 1),
            created_at  TIMESTAMPTZ NOT NULL,
            reviewer    TEXT NOT NULL,
            note        TEXT,
            priority    TEXT,
            urgency     TEXT,
            sentiment   TEXT,
            category    TEXT,
            PRIMARY KEY (decision_id, version)
        );
        ",
    },
    Migration {
        sqlite: "
        ALTER TABLE feedback ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
        UPDATE feedback SET labels = (
            SELECT json_group_object(key, value)
            FROM json_each(json_object('urgency', urgency, 'sentiment', sentiment, 'category', category))
            WHERE value IS NOT NULL
        );
        ALTER TABLE feedback DROP COLUMN urgency;
        ALTER TABLE feedback DROP COLUMN sentiment;
        ALTER TABLE feedback DROP COLUMN category;
        ",
        postgres: "
        ALTER TABLE feedback ADD COLUMN labels JSON NOT NULL DEFAULT '{}';
        UPDATE feedback SET labels = json_strip_nulls(
            json_build_object('urgency', urgency, 'sentiment', sentiment, 'category', category));
        ALTER TABLE feedback DROP COLUMN urgency, DROP COLUMN sentiment, DROP COLUMN category;
        ",
    },
    Migration {
        sqlite: "
        CREATE TABLE events (
            decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
            seq         INTEGER NOT NULL CHECK (seq >= 1),
            event_id    TEXT NOT NULL,
            kind        TEXT NOT NULL,
            at          TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            event       TEXT NOT NULL,
            PRIMARY KEY (decision_id, seq),
            UNIQUE (decision_id, event_id)
        ) WITHOUT ROWID;
        CREATE INDEX events_by_time ON events (at);
        ",
        postgres: "
        CREATE TABLE events (
            decision_id TEXT NOT NULL REFERENCES decisions (decision_id) ON DELETE CASCADE,
            seq         INTEGER NOT NULL CHECK (seq >= 1),
            event_id    TEXT NOT NULL,
            kind        TEXT NOT NULL,
            at          TIMESTAMPTZ NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            event       JSON NOT NULL,
            PRIMARY KEY (decision_id, seq),
            UNIQUE (decision_id, event_id)
        );
        CREATE INDEX events_by_time ON events (at);
        ",
    },
    Migration {
        sqlite: "
        CREATE TABLE maintenance (
            task     TEXT PRIMARY KEY NOT NULL,
            last_run TEXT NOT NULL,
            server   TEXT NOT NULL
        ) WITHOUT ROWID;
        ",
        postgres: "
        CREATE TABLE maintenance (
            task     TEXT PRIMARY KEY,
            last_run TIMESTAMPTZ NOT NULL,
            server   TEXT NOT NULL
        );
        ",
    },
    Migration {
        sqlite: "
        CREATE TABLE registries (
            kind     TEXT PRIMARY KEY NOT NULL,
            registry TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE registry_files (
            kind    TEXT NOT NULL,
            name    TEXT NOT NULL,
            path    TEXT NOT NULL,
            content BLOB NOT NULL,
            PRIMARY KEY (kind, name, path)
        ) WITHOUT ROWID;
        ",
        postgres: "
        CREATE TABLE registries (
            kind     TEXT PRIMARY KEY,
            registry JSON NOT NULL
        );
        CREATE TABLE registry_files (
            kind    TEXT NOT NULL,
            name    TEXT NOT NULL,
            path    TEXT NOT NULL,
            content BYTEA NOT NULL,
            PRIMARY KEY (kind, name, path)
        );
        ",
    },
];

/// The schema version this build writes: the number of migrations (a handful, so the cast is
/// exact; both engines keep the version as a signed integer).
pub(super) fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}
