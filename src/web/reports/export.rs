// The reports' CSV export: which tables can be exported and what each reads, a
// table as records, and the drill-down list streamed a batch of cases at a time.

use actix_web::HttpResponse;

use super::super::{Page, csv};
use super::query::{Loaded, case_query};
use super::tables::{
    CaseView, Ctx, Table, breach_table, case_headers, case_view, compliance_table, money_table,
    reach_table, rule_bands_table, rule_weeks_table, rules_table, satisfaction_table, volume_table,
};
use crate::db::DbPool;
use crate::error::AppError;
use crate::reports::figures;
use crate::reports::period::Period;
use crate::reports::rules::{Amounts, RuleQuality};
use crate::reports::store as facts;

/// Rows read per query while a CSV list of cases streams.
const EXPORT_BATCH: i64 = 1000;

/// The tables that can be exported.
pub const EXPORTS: [&str; 15] = [
    "compliance_queue",
    "compliance_agent",
    "compliance_rule",
    "compliance_priority",
    "breach_time",
    "volume",
    "false_positives",
    "money",
    "reach",
    "satisfaction_agent",
    "satisfaction_queue",
    "satisfaction_rule",
    "cases",
    "rule_weeks",
    "rule_bands",
];

/// Whether `table` is one of the rule quality page's (which take `rule`).
pub fn is_rule_table(table: &str) -> bool {
    matches!(table, "rule_weeks" | "rule_bands")
}

/// A rule quality table: the weeks, or the amount bands (none when the rule's
/// alerts carry no amount: the headers only).
pub fn rule_table(ctx: &Ctx<'_>, table: &'static str, q: &RuleQuality) -> Table {
    match (table, &q.amounts) {
        ("rule_bands", Some(a)) => rule_bands_table(ctx, a),
        ("rule_bands", None) => {
            let empty = Amounts {
                currency: String::new(),
                currencies: Vec::new(),
                other_currency: 0,
                no_amount: 0,
                bands: Vec::new(),
                what_if: None,
            };
            rule_bands_table(ctx, &empty)
        }
        _ => rule_weeks_table(ctx, &q.weeks),
    }
}

/// Why a streamed export stopped.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Gone(#[from] csv::Gone),
    #[error(transparent)]
    Db(#[from] AppError),
}

/// The table a file name asks for (`volume.csv`: `volume`).
pub fn table_of(file: &str) -> Option<&'static str> {
    file.strip_suffix(".csv")
        .and_then(|t| EXPORTS.iter().find(|e| **e == t).copied())
}

/// The facts `table` is computed from (`cases` reads its own pages).
pub fn reads(table: &str) -> facts::Reads {
    match table {
        "cases" => facts::Reads::default(),
        "volume" => facts::Reads {
            volume: true,
            ..Default::default()
        },
        "compliance_queue"
        | "compliance_agent"
        | "compliance_rule"
        | "compliance_priority"
        | "breach_time" => facts::Reads {
            sla: true,
            ..Default::default()
        },
        _ => facts::Reads {
            outcomes: true,
            ..Default::default()
        },
    }
}

/// The name of the file of `table` over `period`.
pub fn filename(table: &str, period: &Period) -> String {
    format!("{table}-{}-{}.csv", period.from, period.to)
}

/// The aggregate table `table` (any of [`EXPORTS`] but `cases`) of the loaded period.
pub fn table(ctx: &Ctx<'_>, table: &'static str, l: &Loaded) -> Table {
    match table {
        "compliance_queue" | "compliance_agent" | "compliance_rule" | "compliance_priority" => {
            let c = figures::compliance(&l.resolved);
            let lines = match table {
                "compliance_queue" => &c.by_queue,
                "compliance_agent" => &c.by_agent,
                "compliance_rule" => &c.by_rule,
                _ => &c.by_priority,
            };
            compliance_table(ctx, table, lines)
        }
        "breach_time" => breach_table(ctx, &figures::compliance(&l.resolved)),
        "volume" => volume_table(ctx, &figures::volume(&l.req.period, &l.opened)),
        _ => {
            let o = l.outcomes();
            match table {
                "false_positives" => rules_table(ctx, &o),
                "money" => money_table(ctx, &o),
                "reach" => reach_table(ctx, &o),
                "satisfaction_agent" => satisfaction_table(ctx, table, &o.sat_by_agent),
                "satisfaction_queue" => satisfaction_table(ctx, table, &o.sat_by_queue),
                _ => satisfaction_table(ctx, "satisfaction_rule", &o.sat_by_rule),
            }
        }
    }
}

/// A table's records: the headers, then each row's label and cells as text.
fn records(t: &Table) -> impl Iterator<Item = Vec<String>> + '_ {
    std::iter::once(t.headers.clone()).chain(t.rows.iter().map(|r| {
        std::iter::once(r.label.clone())
            .chain(r.cells.iter().map(|c| c.text.clone()))
            .collect()
    }))
}

/// A table as a CSV download.
pub fn table_csv(filename: &str, t: &Table) -> HttpResponse {
    let records: Vec<Vec<String>> = records(t).collect();
    csv::stream(filename, move |w| -> Result<(), ExportError> {
        for r in &records {
            w.record(r)?;
        }
        Ok(())
    })
}

fn case_record(v: CaseView) -> [String; 17] {
    [
        v.reference,
        v.rule,
        v.queue,
        v.agent,
        v.priority,
        v.status,
        v.customer,
        v.opened,
        v.resolved,
        v.fr,
        v.res,
        v.fr_met,
        v.res_met,
        v.disposition,
        v.amount,
        v.reopened,
        v.score,
    ]
}

/// The drill-down list of the loaded request as a CSV download: the cases are read
/// by keyset, [`EXPORT_BATCH`] at a time, while the file streams.
pub fn cases_csv(filename: &str, pool: DbPool, page: Page, l: Loaded) -> HttpResponse {
    let headers = case_headers(&page);
    let Loaded { req, names, .. } = l;
    let query = case_query(&req);
    csv::stream(filename, move |w| -> Result<(), ExportError> {
        w.record(&headers)?;
        let mut conn = pool.get().map_err(AppError::from)?;
        let mut cursor = None;
        loop {
            let (rows, next) = facts::cases_page(&mut conn, &query, cursor, EXPORT_BATCH)
                .map_err(AppError::from)?;
            for r in &rows {
                w.record(&case_record(case_view(&page, &names, r)))?;
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(()),
            }
        }
    })
}
