// Black-box tests through HTTP against the real application, one binary. Each test
// starts the app on port 0 over its own fresh database (SQLite, or PostgreSQL when
// RISKDESK_TEST_DATABASE_URL is set).

mod common;

mod access;
mod admin;
mod admin_desk;
mod alarms;
mod aml_report;
mod apikeys;
mod assignment;
mod auth;
mod board;
mod browser;
mod bulk;
mod campaigns;
mod casepage;
mod chromium;
mod cli;
mod config;
mod conversations;
mod crash;
mod demo;
mod emergencies;
mod glance;
mod identifiers;
mod inbound_mail;
mod inbound_transports;
mod input;
mod intake;
mod knowledge;
mod labels;
mod languages;
mod layout;
mod ldap;
mod lifecycle;
mod mail;
mod mfa;
mod model;
mod notifications;
mod oncall;
mod ops;
mod pii;
mod queues;
mod replies;
mod reports;
mod resolution;
mod rule_quality;
mod search;
mod security;
mod self_release;
mod setup;
mod snoozes;
mod views;
mod webhooks;
