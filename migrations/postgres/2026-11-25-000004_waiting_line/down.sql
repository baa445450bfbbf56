DROP INDEX cases_line;
