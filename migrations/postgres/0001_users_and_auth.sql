-- Users, sessions, the login throttle and the audit log.

CREATE TABLE users (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    iin                  TEXT NOT NULL CHECK (iin ~ '^[0-9]{12}$'),
    full_name            TEXT NOT NULL,
    -- Unique only when present: NULLs never collide.
    phone                TEXT,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'student')),
    password_hash        TEXT NOT NULL,
    photo                TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    token_version        BIGINT NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_iin_key UNIQUE (iin),
    CONSTRAINT users_phone_key UNIQUE (phone)
);

-- Deleting a user deletes their sessions.
CREATE TABLE refresh_tokens (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family        TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    token_version BIGINT NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);

-- The throttle's state, keyed by "iin:…" or "ip:…"; shared by every server process.
CREATE TABLE login_attempts (
    throttle_key TEXT PRIMARY KEY,
    failures     TEXT NOT NULL DEFAULT '[]',
    locked_until TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Who did what; kept when the actor is deleted.
CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    before_value TEXT,
    after_value  TEXT,
    at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
