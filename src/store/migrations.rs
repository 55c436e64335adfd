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
//! active version and its history) and every version's files. Migration 6 adds what reports
//! read of each decision (`decision_facts`: its columns, SLA commitment, language, subject,
//! cluster, each head's label, score and abstention, the rules that fired, its events so far),
//! copied from the request and response by a trigger on every insert (and the events by one on
//! every event) and once for the decisions already logged: a report over a million decisions
//! then reads a few hundred bytes of each, in time order, instead of parsing its whole response.

/// The events of the decision `$decision` names, in the order they were recorded, as one JSON
/// array (SQLite; ordered in a subquery, which SQLite before 3.44, such as the command-line
/// tools of many systems, can read, unlike `ORDER BY` inside the aggregate).
macro_rules! sqlite_events {
    ($decision:literal) => {
        concat!(
            "(SELECT json_group_array(json(e.event)) FROM (SELECT event FROM events WHERE decision_id = ",
            $decision,
            " ORDER BY seq) e)"
        )
    };
}

/// The same in PostgreSQL's dialect.
macro_rules! postgres_events {
    ($decision:literal) => {
        concat!(
            "COALESCE((SELECT json_agg(e.event ORDER BY e.seq) FROM events e WHERE e.decision_id = ",
            $decision,
            "), '[]'::json)"
        )
    };
}

/// What `decision_facts` holds of decision `d`, in its column order (SQLite): the last column is
/// its events so far. The triggers and the back-fill of migration 6 all select it, so they
/// cannot differ.
macro_rules! sqlite_facts {
    () => {
        concat!(
            "d.decision_id, d.ticket_id, d.decided_at, d.priority, d.queue, d.needs_review, d.policy_version,
        json_extract(d.response, '$.sla.policy'), json_extract(d.response, '$.sla.calendar'),
        json_extract(d.response, '$.sla.started_at'), json_extract(d.response, '$.sla.first_response_due'),
        json_extract(d.response, '$.sla.resolution_due'),
        json_extract(d.request, '$.language'), substr(json_extract(d.request, '$.subject'), 1, 200),
        json_extract(d.response, '$.cluster.id'),
        (SELECT json_group_array(json_object(
            'head', p.key, 'label', json_extract(p.value, '$.label'), 'score', json_extract(p.value, '$.score'),
            'abstained', json(CASE WHEN json_extract(p.value, '$.abstained') THEN 'true' ELSE 'false' END)))
         FROM json_each(d.response, '$.predictions') p),
        (SELECT json_group_array(json_extract(r.value, '$.rule'))
         FROM json_each(d.response, '$.explanation.rules') r WHERE json_extract(r.value, '$.hit')),
",
            sqlite_events!("d.decision_id")
        )
    };
}

/// The same in PostgreSQL's dialect.
macro_rules! postgres_facts {
    () => {
        concat!(
            "d.decision_id, d.ticket_id, d.decided_at, d.priority, d.queue, d.needs_review, d.policy_version,
        d.response->'sla'->>'policy', d.response->'sla'->>'calendar',
        (d.response->'sla'->>'started_at')::timestamptz, (d.response->'sla'->>'first_response_due')::timestamptz,
        (d.response->'sla'->>'resolution_due')::timestamptz,
        d.request->>'language', left(d.request->>'subject', 200),
        d.response->'cluster'->>'id',
        COALESCE((SELECT json_agg(json_build_object(
            'head', p.key, 'label', p.value->>'label', 'score', (p.value->>'score')::float8,
            'abstained', COALESCE((p.value->>'abstained')::boolean, false)) ORDER BY p.key)
         FROM json_each(d.response->'predictions') p), '[]'::json),
        COALESCE((SELECT json_agg(r->>'rule')
         FROM json_array_elements(d.response->'explanation'->'rules') r WHERE (r->>'hit')::boolean), '[]'::json),
",
            postgres_events!("d.decision_id")
        )
    };
}

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
    Migration {
        sqlite: concat!(
            "
        CREATE TABLE decision_facts (
            decision_id        TEXT NOT NULL UNIQUE REFERENCES decisions (decision_id) ON DELETE CASCADE,
            ticket_id          TEXT,
            decided_at         TEXT NOT NULL,
            priority           TEXT NOT NULL,
            queue              TEXT NOT NULL,
            needs_review       INTEGER NOT NULL,
            policy_version     TEXT NOT NULL,
            plan               TEXT,
            calendar           TEXT,
            started_at         TEXT,
            first_response_due TEXT,
            resolution_due     TEXT,
            language           TEXT,
            subject            TEXT,
            cluster_id         TEXT,
            heads              TEXT NOT NULL,
            rules_fired        TEXT NOT NULL,
            events             TEXT NOT NULL,
            PRIMARY KEY (decided_at, decision_id)
        ) WITHOUT ROWID;
        CREATE TRIGGER decision_facts_on_insert AFTER INSERT ON decisions BEGIN
            INSERT INTO decision_facts SELECT ",
            sqlite_facts!(),
            " FROM decisions d WHERE d.decision_id = NEW.decision_id;
        END;
        CREATE TRIGGER decision_facts_on_event AFTER INSERT ON events BEGIN
            UPDATE decision_facts SET events = ",
            sqlite_events!("NEW.decision_id"),
            " WHERE decision_id = NEW.decision_id;
        END;
        INSERT INTO decision_facts SELECT ",
            sqlite_facts!(),
            " FROM decisions d;
        "
        ),
        postgres: concat!(
            "
        CREATE TABLE decision_facts (
            decision_id        TEXT PRIMARY KEY REFERENCES decisions (decision_id) ON DELETE CASCADE,
            ticket_id          TEXT,
            decided_at         TIMESTAMPTZ NOT NULL,
            priority           TEXT NOT NULL,
            queue              TEXT NOT NULL,
            needs_review       BOOLEAN NOT NULL,
            policy_version     TEXT NOT NULL,
            plan               TEXT,
            calendar           TEXT,
            started_at         TIMESTAMPTZ,
            first_response_due TIMESTAMPTZ,
            resolution_due     TIMESTAMPTZ,
            language           TEXT,
            subject            TEXT,
            cluster_id         TEXT,
            heads              JSON NOT NULL,
            rules_fired        JSON NOT NULL,
            events             JSON NOT NULL
        );
        CREATE INDEX decision_facts_by_time ON decision_facts (decided_at, decision_id);
        CREATE FUNCTION decision_facts_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO decision_facts SELECT ",
            postgres_facts!(),
            " FROM decisions d WHERE d.decision_id = NEW.decision_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER decision_facts_on_insert AFTER INSERT ON decisions
            FOR EACH ROW EXECUTE FUNCTION decision_facts_on_insert();
        CREATE FUNCTION decision_facts_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE decision_facts SET events = ",
            postgres_events!("NEW.decision_id"),
            " WHERE decision_id = NEW.decision_id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER decision_facts_on_event AFTER INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION decision_facts_on_event();
        INSERT INTO decision_facts SELECT ",
            postgres_facts!(),
            " FROM decisions d;
        "
        ),
    },
];

/// The schema version this build writes: the number of migrations (a handful, so the cast is
/// exact; both engines keep the version as a signed integer).
pub(super) fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}
