ALTER TABLE rules DROP COLUMN emergency_amount;
DROP TABLE pages;
DROP TABLE emergencies;
