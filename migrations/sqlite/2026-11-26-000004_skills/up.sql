-- Skills referential, session logs (versioned) and assessments.

CREATE TABLE skill_domains (
    id INTEGER PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    pix_code TEXT,
    digcomp_code TEXT,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE skills (
    id INTEGER PRIMARY KEY NOT NULL,
    domain_id INTEGER NOT NULL REFERENCES skill_domains(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    position INTEGER NOT NULL,
    -- a retired skill is offered no more, and keeps its history
    retired_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX skills_domain ON skills(domain_id, position);

-- One row per version: an edit writes a new current version and keeps the previous ones.
CREATE TABLE session_logs (
    id INTEGER PRIMARY KEY NOT NULL,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    version INTEGER NOT NULL,
    current BOOLEAN NOT NULL,
    attendance TEXT NOT NULL CHECK (attendance IN ('attended', 'no_show', 'excused')),
    duration_minutes INTEGER,
    -- thématique codes, comma-separated
    topics TEXT NOT NULL DEFAULT '',
    device TEXT CHECK (device IN ('own', 'lent', 'structure', 'none')),
    autonomy TEXT CHECK (autonomy IN ('accompanied', 'partly', 'autonomous')),
    orientation TEXT,
    note TEXT,
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX session_logs_appointment ON session_logs(appointment_id, person_id, current);
CREATE INDEX session_logs_person ON session_logs(person_id, current);

CREATE TABLE assessments (
    id INTEGER PRIMARY KEY NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    skill_id INTEGER NOT NULL REFERENCES skills(id),
    level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    kind TEXT NOT NULL CHECK (kind IN ('diagnostic', 'session', 'final')),
    -- the session log version it came from; an edited log's old observations are inactive
    session_log_id INTEGER REFERENCES session_logs(id),
    active BOOLEAN NOT NULL DEFAULT 1,
    assessed_at TIMESTAMP NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX assessments_person ON assessments(person_id, active, assessed_at);
CREATE INDEX assessments_skill ON assessments(skill_id);
