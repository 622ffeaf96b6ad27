-- Email reminders: the transactional outbox, consent to write to the referent, confirmations.

ALTER TABLE people ADD COLUMN referent_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE participants ADD COLUMN confirmed_at TIMESTAMP;
ALTER TABLE services ADD COLUMN what_to_bring TEXT;

-- Written in the same transaction as the change it announces; sent by the worker.
CREATE TABLE messages (
    id SERIAL PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion')),
    recipient TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('person', 'referent')),
    -- the appointment's SEQUENCE when the message was written (for the ICS)
    sequence INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    locked_by TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    subject TEXT,
    -- the plain-text body as sent, purged after 30 days
    body TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_due ON messages(status, due_at);
CREATE INDEX messages_appointment ON messages(appointment_id, person_id);
CREATE INDEX messages_organisation ON messages(organisation_id, status);
