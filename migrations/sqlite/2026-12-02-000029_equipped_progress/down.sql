DROP TABLE equipped_progress;
