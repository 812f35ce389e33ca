-- Groups, modules, subjects, lessons and the links that decide who sees what.
-- Deleting a group removes its memberships and module links, never its users.
-- Deleting a module removes its subjects, lessons and links. Deleting a user removes their
-- memberships and links; subjects they taught are kept without a teacher.

CREATE TABLE groups (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT groups_name_key UNIQUE (name)
);

CREATE TABLE user_group (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_group_group_idx ON user_group (group_id);

CREATE TABLE modules (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title       TEXT NOT NULL,
    course      TEXT,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE module_group (
    module_id BIGINT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    group_id  BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (module_id, group_id)
);
CREATE INDEX module_group_group_idx ON module_group (group_id);

CREATE TABLE teacher_module (
    module_id  BIGINT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    teacher_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (module_id, teacher_id)
);
CREATE INDEX teacher_module_teacher_idx ON teacher_module (teacher_id);

CREATE TABLE subjects (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    module_id  BIGINT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    teacher_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    title      TEXT NOT NULL,
    -- The title folded to lower case by the application (Unicode-aware), for uniqueness.
    title_key  TEXT NOT NULL,
    CONSTRAINT subjects_module_title_key UNIQUE (module_id, title_key)
);
CREATE INDEX subjects_teacher_idx ON subjects (teacher_id);

CREATE TABLE lessons (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id  BIGINT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('video', 'pdf', 'test')),
    description TEXT,
    content_url TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lessons_subject_idx ON lessons (subject_id);
