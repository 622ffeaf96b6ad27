DROP INDEX messages_person;
