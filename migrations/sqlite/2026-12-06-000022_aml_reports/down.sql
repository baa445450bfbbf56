DROP TABLE aml_reports;
