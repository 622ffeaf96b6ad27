-- Foundation: organisations, staff accounts, sessions, places, programmes, people, audit.
-- Times are UTC, stored as timestamp without time zone.

CREATE TABLE organisations (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'mediator')),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX users_organisation ON users(organisation_id);

CREATE TABLE sessions (
    id SERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id SERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE login_failures (
    id SERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, at);
CREATE INDEX login_failures_ip ON login_failures(ip, at);

CREATE TABLE setup_tokens (
    id SERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE TABLE places (
    id SERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    phone TEXT,
    accessibility_notes TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX places_organisation ON places(organisation_id);

CREATE TABLE programmes (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    funder TEXT,
    starts_on DATE,
    ends_on DATE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE people (
    id SERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    given_name TEXT NOT NULL,
    family_name TEXT,
    birth_year INTEGER,
    postal_code TEXT,
    city TEXT,
    email TEXT,
    phone TEXT,
    reminder_consent BOOLEAN NOT NULL DEFAULT FALSE,
    referent_name TEXT,
    referent_email TEXT,
    referent_organisation TEXT,
    notes TEXT,
    -- given name, family name, email and phone folded to lower case without accents
    search_key TEXT NOT NULL,
    -- "given family" folded, for possible duplicates
    name_key TEXT NOT NULL,
    anonymised_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_organisation ON people(organisation_id, id);
-- Possible duplicates are looked up at every creation.
CREATE INDEX people_email ON people(organisation_id, email);
CREATE INDEX people_phone ON people(organisation_id, phone);
CREATE INDEX people_name ON people(organisation_id, name_key, birth_year);

CREATE TABLE person_programmes (
    person_id INTEGER NOT NULL REFERENCES people(id),
    programme_id INTEGER NOT NULL REFERENCES programmes(id),
    PRIMARY KEY (person_id, programme_id)
);
CREATE INDEX person_programmes_programme ON person_programmes(programme_id);

-- Append-only: the application inserts, never updates nor deletes.
CREATE TABLE audit_log (
    id SERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id INTEGER REFERENCES users(id),
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER,
    organisation_id INTEGER
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Substring search on names, email and phone ("helene" finds "Hélène") with a trigram index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX people_search ON people USING gin (search_key gin_trgm_ops);
