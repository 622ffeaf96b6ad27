-- Acceptances by email made without a staff member and the handover messages have no place in
-- the previous schema: they are dropped.
DELETE FROM equipment_events WHERE actor_id IS NULL;
ALTER TABLE equipment_events ALTER COLUMN actor_id SET NOT NULL;

DELETE FROM messages WHERE kind = 'handover';
DROP INDEX messages_assignment;
ALTER TABLE messages DROP CONSTRAINT messages_subject;
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('confirmation', 'reminder', 'reschedule', 'cancellation', 'promotion'));
ALTER TABLE messages DROP COLUMN assignment_id;
ALTER TABLE messages ALTER COLUMN appointment_id SET NOT NULL;

ALTER TABLE assignments DROP COLUMN accepted_at;
