DROP TABLE progress_months;
DROP TABLE domain_months;
DROP TABLE skill_months;
