DROP INDEX cases_open_due;
DROP INDEX cases_open_assignee;
DROP INDEX cases_open_queue;
