DROP TABLE assessments;
DROP TABLE session_logs;
DROP TABLE skills;
DROP TABLE skill_domains;
