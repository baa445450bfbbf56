-- Search: customers by e-mail address whatever its case, and cases by the
-- transaction reference of one of their alerts. Customer ids and identifier
-- digests already have their indexes.
CREATE INDEX customers_email ON customers (lower(email));
CREATE INDEX alerts_transaction ON alerts (transaction_ref) WHERE transaction_ref IS NOT NULL;
