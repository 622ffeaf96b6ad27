-- Whether the person may move an appointment of this service from their personal link
-- (individual services yes, workshops no, by default).
ALTER TABLE services ADD COLUMN self_reschedule BOOLEAN NOT NULL DEFAULT 1;
UPDATE services SET self_reschedule = 0 WHERE kind = 'workshop';
