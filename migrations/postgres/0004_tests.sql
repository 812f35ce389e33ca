-- Tests (quizzes), their questions and options, and students' attempts.
-- Deleting a subject or a test removes its questions and attempts; deleting a lesson unlinks its
-- test (the test and its results stay); deleting a student removes their attempts. Editing a
-- test replaces its questions; attempts keep their score and answers.

CREATE TABLE tests (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id         BIGINT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    lesson_id          BIGINT UNIQUE REFERENCES lessons (id) ON DELETE SET NULL,
    title              TEXT NOT NULL,
    max_attempts       INTEGER NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
    time_limit_minutes INTEGER CHECK (time_limit_minutes >= 1),
    shuffle            BOOLEAN NOT NULL DEFAULT FALSE,
    scoring            TEXT NOT NULL DEFAULT 'all_or_nothing' CHECK (scoring IN ('all_or_nothing', 'partial')),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX tests_subject_idx ON tests (subject_id);

CREATE TABLE questions (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    test_id  BIGINT NOT NULL REFERENCES tests (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text     TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('single', 'multiple'))
);
CREATE INDEX questions_test_idx ON questions (test_id, position);

CREATE TABLE options (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question_id  BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    option_index BIGINT NOT NULL,
    text         TEXT NOT NULL,
    is_correct   BOOLEAN NOT NULL,
    CONSTRAINT options_question_index_key UNIQUE (question_id, option_index)
);

CREATE TABLE attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    test_id      BIGINT NOT NULL REFERENCES tests (id) ON DELETE CASCADE,
    lesson_id    BIGINT REFERENCES lessons (id) ON DELETE SET NULL,
    student_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at   TIMESTAMPTZ NOT NULL,
    -- Fixed at start: started_at + the time limit (NULL without one).
    deadline     TIMESTAMPTZ,
    submitted_at TIMESTAMPTZ,
    score        DOUBLE PRECISION CHECK (score BETWEEN 0 AND 100),
    correct      INTEGER,
    total        INTEGER,
    -- JSON: the answers saved so far, and the order questions and options were shown in.
    answers      TEXT NOT NULL DEFAULT '[]',
    layout       TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX attempts_test_student_idx ON attempts (test_id, student_id);
CREATE INDEX attempts_student_idx ON attempts (student_id);
CREATE INDEX attempts_lesson_idx ON attempts (lesson_id);
