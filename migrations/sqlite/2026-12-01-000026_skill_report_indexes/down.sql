DROP INDEX domain_months_programme;
DROP INDEX skill_months_programme;
