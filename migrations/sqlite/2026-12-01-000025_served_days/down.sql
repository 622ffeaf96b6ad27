DROP TABLE served_days;
