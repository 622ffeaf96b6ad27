-- Booking: services, opening hours, absences, appointments, participants, idempotency keys,
-- calendar feeds.

CREATE TABLE services (
    id SERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('individual', 'workshop')),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    capacity INTEGER NOT NULL CHECK (capacity > 0),
    min_notice_minutes INTEGER NOT NULL DEFAULT 0,
    buffer_minutes INTEGER NOT NULL DEFAULT 0,
    horizon_days INTEGER NOT NULL DEFAULT 60,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX services_organisation ON services(organisation_id);

-- Weekly opening hours of a mediator at a place, in the configured time zone's local time.
CREATE TABLE opening_hours (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1440),
    end_minute INTEGER NOT NULL CHECK (end_minute BETWEEN 0 AND 1440),
    valid_from DATE,
    valid_until DATE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX opening_hours_user ON opening_hours(user_id);

CREATE TABLE absences (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX absences_user ON absences(user_id, starts_at);

CREATE TABLE appointments (
    id SERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    service_id INTEGER NOT NULL REFERENCES services(id),
    mediator_id INTEGER NOT NULL REFERENCES users(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- ends_at plus the service's buffer: the mediator is busy until then.
    blocked_until TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL,
    title TEXT,
    notes TEXT,
    status TEXT NOT NULL CHECK (status IN ('planned', 'done', 'cancelled')),
    walk_in BOOLEAN NOT NULL DEFAULT FALSE,
    cancelled_by TEXT,
    cancel_reason TEXT,
    sequence INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX appointments_mediator ON appointments(mediator_id, starts_at);
CREATE INDEX appointments_place ON appointments(place_id, starts_at);
CREATE INDEX appointments_organisation ON appointments(organisation_id, starts_at);

CREATE TABLE participants (
    id SERIAL PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    status TEXT NOT NULL CHECK (status IN ('booked', 'waitlisted', 'attended', 'no_show', 'excused', 'cancelled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (appointment_id, person_id)
);
CREATE INDEX participants_person ON participants(person_id);

-- A retried POST with the same Idempotency-Key gets the first answer back.
CREATE TABLE idempotency_keys (
    user_id INTEGER NOT NULL REFERENCES users(id),
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- A private calendar feed per mediator; only the token's hash is kept.
CREATE TABLE calendar_feeds (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX calendar_feeds_user ON calendar_feeds(user_id);
