DROP INDEX people_in_scope;
