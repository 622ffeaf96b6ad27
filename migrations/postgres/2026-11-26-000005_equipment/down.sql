ALTER TABLE session_logs DROP COLUMN equipment_id;
DROP TABLE equipment_events;
DROP TABLE assignments;
DROP TABLE equipment;
