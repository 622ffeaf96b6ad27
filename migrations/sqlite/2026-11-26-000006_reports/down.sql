DROP INDEX assignments_equipment;
DROP INDEX assessments_assessed;
DROP INDEX appointments_starts;
DROP INDEX participants_appointment;
DROP TABLE activity_dirty;
DROP TABLE topic_days;
DROP TABLE activity_days;
DROP TABLE skill_progress;
