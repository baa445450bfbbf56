-- The waiting line across queues: waiting cases by nearest deadline.
CREATE INDEX cases_line ON cases (status, next_due, id);
