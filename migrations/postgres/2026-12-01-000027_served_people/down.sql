DROP INDEX people_breakdown;
DROP TABLE served_people;
