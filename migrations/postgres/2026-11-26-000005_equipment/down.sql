DROP TABLE equipment_events;
DROP TABLE assignments;
DROP TABLE equipment;
