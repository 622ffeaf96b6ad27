DELETE FROM messages WHERE kind = 'receipt';
CREATE TABLE messages_new (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations(id),
    appointment_id INTEGER REFERENCES appointments(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover', 'reply')),
    recipient TEXT NOT NULL,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('person', 'referent')),
    sequence INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    locked_by TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    subject TEXT,
    body TEXT,
    created_at TIMESTAMP NOT NULL,
    assignment_id INTEGER REFERENCES assignments(id),
    channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms')),
    -- what the SMS gateway reported last: delivered or failed (NULL: nothing yet)
    delivery TEXT CHECK (delivery IN ('delivered', 'failed')),
    CONSTRAINT messages_subject CHECK (
        (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
        OR (kind = 'reply' AND assignment_id IS NULL AND channel = 'sms' AND body IS NOT NULL)
        OR (kind NOT IN ('handover', 'reply') AND appointment_id IS NOT NULL AND assignment_id IS NULL)
    )
);
INSERT INTO messages_new (id, organisation_id, appointment_id, person_id, kind, recipient,
        recipient_kind, sequence, due_at, status, attempts, last_error, locked_by, locked_until,
        sent_at, subject, body, created_at, assignment_id, channel, delivery)
    SELECT id, organisation_id, appointment_id, person_id, kind, recipient, recipient_kind,
        sequence, due_at, status, attempts, last_error, locked_by, locked_until, sent_at,
        subject, body, created_at, assignment_id, channel, delivery
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_due ON messages(status, due_at);
CREATE INDEX messages_appointment ON messages(appointment_id, person_id);
CREATE INDEX messages_organisation ON messages(organisation_id, status);
CREATE INDEX messages_assignment ON messages(assignment_id);
CREATE INDEX messages_unpurged ON messages(status) WHERE recipient <> '';

DROP TABLE public_attempts;
DROP TABLE referrals;
DROP INDEX organisations_slug;
ALTER TABLE organisations DROP COLUMN slug;
ALTER TABLE services DROP COLUMN bookable_by;
