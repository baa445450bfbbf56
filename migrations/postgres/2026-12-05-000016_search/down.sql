DROP INDEX alerts_transaction;
DROP INDEX customers_email;
