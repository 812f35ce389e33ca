-- A password change keeps the session it was made from: access tokens of that session (refresh
-- family) issued from `min_version` on stay valid until they expire, as long as the user's token
-- version is still `version` (a later logout, reset or change moves it on and ends the grace).
-- One row per user: the latest change replaces it. Other sessions are revoked as before.
CREATE TABLE kept_sessions (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    family      TEXT NOT NULL,
    min_version INTEGER NOT NULL,
    version     INTEGER NOT NULL
);
