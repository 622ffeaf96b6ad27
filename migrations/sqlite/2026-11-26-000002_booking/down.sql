DROP TABLE calendar_feeds;
DROP TABLE idempotency_keys;
DROP TABLE participants;
DROP TABLE appointments;
DROP TABLE absences;
DROP TABLE opening_hours;
DROP TABLE services;
