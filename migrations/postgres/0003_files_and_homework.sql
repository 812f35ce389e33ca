-- Lesson documents, homework submissions and their files.
-- Stored files live in the file store under server-made keys; these rows are their metadata.
-- Deleting a lesson removes its documents' rows and its submissions (with their files' rows); the
-- platform removes the stored files after the rows are gone. Deleting a student removes their
-- submissions; deleting a teacher keeps the grades they gave (graded_by becomes NULL).

CREATE TABLE lesson_files (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    storage_key   TEXT NOT NULL UNIQUE,
    -- NULL until a lesson is created that refers to the file.
    lesson_id     BIGINT REFERENCES lessons (id) ON DELETE CASCADE,
    uploaded_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    original_name TEXT NOT NULL,
    size          BIGINT NOT NULL CHECK (size >= 0),
    content_type  TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX lesson_files_lesson_idx ON lesson_files (lesson_id);

CREATE TABLE submissions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lesson_id    BIGINT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    student_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    comment      TEXT,
    grade        INTEGER CHECK (grade BETWEEN 0 AND 100),
    feedback     TEXT,
    graded_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    graded_at    TIMESTAMPTZ,
    submitted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX submissions_lesson_idx ON submissions (lesson_id, submitted_at);
CREATE INDEX submissions_student_idx ON submissions (student_id, submitted_at);

CREATE TABLE submission_files (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    storage_key   TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    size          BIGINT NOT NULL CHECK (size >= 0),
    content_type  TEXT NOT NULL
);
CREATE INDEX submission_files_submission_idx ON submission_files (submission_id);
