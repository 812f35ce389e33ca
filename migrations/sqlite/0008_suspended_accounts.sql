-- A suspended account keeps its history but cannot sign in; NULL means active.
ALTER TABLE users ADD COLUMN suspended_at TEXT;
