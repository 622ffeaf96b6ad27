-- Text messages: a person's SMS consent and language; the outbox carries a channel per message
-- (email or sms), the delivery a gateway reported, and the short replies to OUI / NON / STOP;
-- short personal links (`/r/{code}`) fit an SMS. Phones are rewritten in E.164 by the
-- application right after this migration (it needs the numbering plan, not SQL).

ALTER TABLE people ADD COLUMN sms_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE people ADD COLUMN language TEXT NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en', 'ar'));
CREATE INDEX people_phone_number ON people(phone);

ALTER TABLE messages ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms'));
-- what the SMS gateway reported last: delivered or failed (NULL: nothing yet)
ALTER TABLE messages ADD COLUMN delivery TEXT CHECK (delivery IN ('delivered', 'failed'));
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover', 'reply'));
ALTER TABLE messages DROP CONSTRAINT messages_subject;
ALTER TABLE messages ADD CONSTRAINT messages_subject CHECK (
    (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
    OR (kind = 'reply' AND assignment_id IS NULL AND channel = 'sms' AND body IS NOT NULL)
    OR (kind NOT IN ('handover', 'reply') AND appointment_id IS NOT NULL AND assignment_id IS NULL)
);

-- `/r/{code}`: a short, random code standing for one participation's signed link, with the
-- same expiry.
CREATE TABLE short_links (
    code TEXT PRIMARY KEY NOT NULL,
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX short_links_participant ON short_links(participant_id);
