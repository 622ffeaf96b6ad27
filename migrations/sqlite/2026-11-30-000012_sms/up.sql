-- Text messages: a person's SMS consent and language; the outbox carries a channel per message
-- (email or sms), the delivery a gateway reported, and the short replies to OUI / NON / STOP;
-- short personal links (`/r/{code}`) fit an SMS. Phones are rewritten in E.164 by the
-- application right after this migration (it needs the numbering plan, not SQL).

ALTER TABLE people ADD COLUMN sms_consent BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN language TEXT NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en', 'ar'));
CREATE INDEX people_phone_number ON people(phone);

-- SQLite cannot change a CHECK in place: the table is rebuilt with its indexes.
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
        subject, body, created_at, assignment_id, 'email', NULL
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_due ON messages(status, due_at);
CREATE INDEX messages_appointment ON messages(appointment_id, person_id);
CREATE INDEX messages_organisation ON messages(organisation_id, status);
CREATE INDEX messages_assignment ON messages(assignment_id);
CREATE INDEX messages_unpurged ON messages(status) WHERE recipient <> '';

-- `/r/{code}`: a short, random code standing for one participation's signed link, with the
-- same expiry.
CREATE TABLE short_links (
    code TEXT PRIMARY KEY NOT NULL,
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX short_links_participant ON short_links(participant_id);
