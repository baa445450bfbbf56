// riskdesk: the case desk for risk-control customer service. The library is the
// whole application; `main.rs` only hands the command line to `cli::run`.

pub mod accounts;
pub mod app;
pub mod assignment;
pub mod calls;
pub mod casework;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod desk;
pub mod domain;
pub mod error;
pub mod escalation;
pub mod i18n;
pub mod intake;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod reports;
pub mod resolution;
pub mod store;
pub mod throttle;
pub mod web;
