-- What the previous backend's clients and data need.
--
-- lessons.type_label: the lesson type exactly as the client sent it ("Лекция", "Практика",
-- "Тест", or one of edu's own kinds). NULL for lessons made before labels were kept: their
-- kind's own name is their label. `kind` stays the normalised value edu reasons about.
--
-- legacy_files: file paths of the previous backend ("static/lesson_docs/<name>",
-- "static/homework/lesson_<n>/<name>", "static/photos/<name>") that an imported file is stored
-- under now. Old links keep working through it, with the same ownership checks as any download.
-- Rows go with their stored file: when no row refers to the key any more, fsck may drop them.

ALTER TABLE lessons ADD COLUMN type_label TEXT;

CREATE TABLE legacy_files (
    path        TEXT PRIMARY KEY,
    storage_key TEXT NOT NULL
);
CREATE INDEX legacy_files_key_idx ON legacy_files (storage_key);
