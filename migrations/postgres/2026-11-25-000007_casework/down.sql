DROP TABLE calls;
DROP TABLE playbooks;
DROP TABLE customer_identifiers;
