-- Users, sessions, the login throttle and the audit log.
-- Timestamps are RFC 3339 text in UTC, written by the application.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    iin                  TEXT NOT NULL UNIQUE CHECK (length(iin) = 12 AND iin NOT GLOB '*[^0-9]*'),
    full_name            TEXT NOT NULL,
    -- Unique only when present: NULLs never collide.
    phone                TEXT UNIQUE,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'student')),
    password_hash        TEXT NOT NULL,
    photo                TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT 0,
    token_version        INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL
);

-- Deleting a user deletes their sessions.
CREATE TABLE refresh_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family        TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    token_version INTEGER NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    revoked_at    TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);

-- The throttle's state, keyed by "iin:…" or "ip:…"; shared by every server process.
CREATE TABLE login_attempts (
    throttle_key TEXT PRIMARY KEY,
    failures     TEXT NOT NULL DEFAULT '[]',
    locked_until TEXT,
    updated_at   TEXT NOT NULL
);

-- Who did what; kept when the actor is deleted.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    before_value TEXT,
    after_value  TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
