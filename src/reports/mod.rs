// The supervisor's period reports: per-case facts kept by a background job
// (`facts`, `store`), periods in the reader's time zone (`period`), exact statistics
// (`stats`), the figures computed from a period's facts (`figures`) and one rule's
// quality over a period (`rules`).

pub mod facts;
pub mod figures;
pub mod period;
pub mod rules;
pub mod stats;
pub mod store;
