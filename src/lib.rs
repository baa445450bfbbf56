// riskdesk: the case desk for risk-control customer service. The library is the
// whole application; `main.rs` only hands the command line to `cli::run`.

pub mod accounts;
pub mod apikeys;
pub mod app;
pub mod audit_stream;
pub mod briefs;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod desk;
pub mod directory;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod inbound;
pub mod intake;
pub mod jobs;
pub mod knowledge;
pub mod mail;
pub mod metrics;
pub mod mfa;
pub mod oncall;
pub mod qa;
pub mod reports;
pub mod saved_views;
pub mod setup;
pub mod state;
pub mod store;
pub mod throttle;
pub mod web;
pub mod webhooks;

// Serving a page allocates and frees many small strings and rows across threads;
// mimalloc does that markedly cheaper than the system allocator. It is set here,
// in the library that is the whole application, so that the benchmarks and tests
// run with the allocator the server runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
