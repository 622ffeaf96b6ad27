-- Handovers accepted by email: the outbox also carries the confirmation link of a handover, so
-- a message names either an appointment or an assignment; an acceptance made from that link has
-- no staff member behind it.

-- When the person accepted the handover; NULL while an email confirmation is awaited.
ALTER TABLE assignments ADD COLUMN accepted_at TIMESTAMP;
UPDATE assignments SET accepted_at = created_at WHERE acceptance <> 'email_confirmation';

ALTER TABLE messages ALTER COLUMN appointment_id DROP NOT NULL;
-- the handover a `handover` message asks the person to accept
ALTER TABLE messages ADD COLUMN assignment_id INTEGER REFERENCES assignments(id);
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion', 'handover'));
ALTER TABLE messages ADD CONSTRAINT messages_subject CHECK (
    (kind = 'handover' AND assignment_id IS NOT NULL AND appointment_id IS NULL)
    OR (kind <> 'handover' AND appointment_id IS NOT NULL AND assignment_id IS NULL)
);
CREATE INDEX messages_assignment ON messages(assignment_id);

-- NULL when the person did it themselves (a handover accepted from the email's link)
ALTER TABLE equipment_events ALTER COLUMN actor_id DROP NOT NULL;
