// Campaigns as stored: the campaign cases' own rows (the rule that opened them), the
// identifiers they stand for, their children, and what detection asks at intake.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, exists};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    alerts, campaign_links, campaigns, cases, customer_identifiers, customers,
};
use crate::dispatch;
use crate::store::cases::Case;

/// Digests an alert links by, at most three (one per kind), as three binds: the
/// last repeated when there are fewer. A fixed number of binds lets the statement be
/// prepared once per connection and reused (an `IN` list of any length is prepared
/// anew every time), which detection, run on every alert, needs to stay cheap.
fn three<'a>(hashes: &[&'a str]) -> Option<[&'a str; 3]> {
    let last = *hashes.last()?;
    debug_assert!(
        hashes.len() <= 3,
        "an alert links by at most three identifiers"
    );
    let at = |i: usize| hashes.get(i).copied().unwrap_or(last);
    Some([at(0), at(1), at(2)])
}

/// Which of `hashes` (at most three) another customer than `customer_id` has had:
/// one statement of three probes that each stop at the first such row, however
/// many customers share the identifier.
pub fn shared_with_others<'a>(
    conn: &mut DbConn,
    customer_id: i64,
    hashes: &[&'a str],
) -> QueryResult<Vec<&'a str>> {
    let Some([a, b, c]) = three(hashes) else {
        return Ok(Vec::new());
    };
    let other = |h: &'a str| {
        exists(
            customer_identifiers::table
                .filter(customer_identifiers::value_hash.eq(h))
                .filter(customer_identifiers::customer_id.ne(customer_id)),
        )
    };
    let (x, y, z): (bool, bool, bool) =
        diesel::select((other(a), other(b), other(c))).get_result(conn)?;
    let mut out: Vec<&str> = Vec::new();
    for (h, shared) in [(a, x), (b, y), (c, z)] {
        if shared && !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(out)
}

/// How many customers were seen with each of `hashes` (at most three) since `since`.
pub fn customers_per_identifier(
    conn: &mut DbConn,
    hashes: &[&str],
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    let Some([a, b, c]) = three(hashes) else {
        return Ok(Vec::new());
    };
    let h = customer_identifiers::value_hash;
    customer_identifiers::table
        .filter(h.eq(a).or(h.eq(b)).or(h.eq(c)))
        .filter(customer_identifiers::last_seen_at.ge(since))
        .group_by(h)
        .select((h, count_star()))
        .load(conn)
}

/// The open campaign of the rule `rule_name` that stands for one of `hashes` (at
/// most three).
pub fn open_for(conn: &mut DbConn, rule_name: &str, hashes: &[&str]) -> QueryResult<Option<Case>> {
    let Some([a, b, c]) = three(hashes) else {
        return Ok(None);
    };
    let h = campaign_links::value_hash;
    let found: Option<i64> = campaign_links::table
        .inner_join(campaigns::table.on(campaigns::case_id.eq(campaign_links::campaign_id)))
        .inner_join(cases::table.on(cases::id.eq(campaigns::case_id)))
        .filter(h.eq(a).or(h.eq(b)).or(h.eq(c)))
        .filter(campaigns::rule_name.eq(rule_name))
        .filter(cases::resolved_at.is_null())
        .select(campaigns::case_id)
        .first(conn)
        .optional()?;
    match found {
        Some(id) => crate::store::cases::find(conn, id),
        None => Ok(None),
    }
}

/// The open customer cases of `customer_ids` not in a campaign, of `rules` (any rule
/// when empty), oldest first.
pub fn free_open_cases(
    conn: &mut DbConn,
    customer_ids: &[i64],
    rules: &[String],
) -> QueryResult<Vec<Case>> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let open = cases::table
        .filter(cases::customer_id.eq_any(customer_ids))
        .filter(cases::resolved_at.is_null())
        .filter(cases::campaign_id.is_null())
        .filter(diesel::dsl::not(
            cases::id.eq_any(campaigns::table.select(campaigns::case_id)),
        ))
        .select(Case::as_select())
        .order(cases::id.asc());
    if rules.is_empty() {
        open.load(conn)
    } else {
        open.filter(cases::rule_code.eq_any(rules)).load(conn)
    }
}

/// The customer that stands for a ring on its campaign case: one per campaign rule
/// and identifier, never contacted. Created on first use.
pub fn ring_customer(
    conn: &mut DbConn,
    external_id: &str,
    name: &str,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    let inserted: Option<i64> = dispatch!(conn, |c| diesel::insert_into(customers::table)
        .values((
            customers::external_id.eq(external_id),
            customers::name.eq(name),
            customers::do_not_contact.eq(true),
            customers::attributes.eq("{}"),
            customers::created_at.eq(at),
            customers::updated_at.eq(at),
        ))
        .on_conflict(customers::external_id)
        .do_nothing()
        .returning(customers::id)
        .get_result(c)
        .optional())?;
    match inserted {
        Some(id) => Ok(id),
        None => customers::table
            .filter(customers::external_id.eq(external_id))
            .select(customers::id)
            .first(conn),
    }
}

/// Records the campaign case's own row and the identifier it stands for.
pub fn record(
    conn: &mut DbConn,
    case_id: i64,
    rule_name: Option<&str>,
    opened_by: Option<i64>,
    link: Option<(&str, &str, &str)>,
) -> QueryResult<()> {
    diesel::insert_into(campaigns::table)
        .values((
            campaigns::case_id.eq(case_id),
            campaigns::rule_name.eq(rule_name),
            campaigns::opened_by.eq(opened_by),
        ))
        .execute(conn)?;
    if let Some((kind, hash, masked)) = link {
        self::link(conn, case_id, kind, hash, masked)?;
    }
    Ok(())
}

/// Makes the cases `ids` children of `campaign_id`, those not in a campaign yet;
/// returns the ids it moved.
pub fn adopt(conn: &mut DbConn, campaign_id: i64, ids: &[i64]) -> QueryResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let free: Vec<i64> = cases::table
        .filter(cases::id.eq_any(ids))
        .filter(cases::campaign_id.is_null())
        .filter(diesel::dsl::not(
            cases::id.eq_any(campaigns::table.select(campaigns::case_id)),
        ))
        .filter(cases::id.ne(campaign_id))
        .select(cases::id)
        .load(conn)?;
    diesel::update(
        cases::table
            .filter(cases::id.eq_any(&free))
            .filter(cases::campaign_id.is_null()),
    )
    .set(cases::campaign_id.eq(campaign_id))
    .execute(conn)?;
    Ok(free)
}

/// The campaign's rule name (none when a supervisor made it).
pub fn rule_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Option<String>> {
    Ok(campaigns::table
        .find(case_id)
        .select(campaigns::rule_name)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The campaign's children, oldest first.
pub fn children(conn: &mut DbConn, campaign_id: i64) -> QueryResult<Vec<Case>> {
    cases::table
        .filter(cases::campaign_id.eq(campaign_id))
        .select(Case::as_select())
        .order(cases::id.asc())
        .load(conn)
}

/// The campaign's identifiers (kind, digest, masked).
pub fn links(conn: &mut DbConn, campaign_id: i64) -> QueryResult<Vec<(String, String, String)>> {
    campaign_links::table
        .filter(campaign_links::campaign_id.eq(campaign_id))
        .select((
            campaign_links::kind,
            campaign_links::value_hash,
            campaign_links::masked,
        ))
        .order(campaign_links::kind.asc())
        .load(conn)
}

/// One identifier held by several customers of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tie {
    pub kind: String,
    pub value_hash: String,
    pub masked: String,
    /// The customers (of those asked about) that hold it.
    pub customers: Vec<i64>,
}

/// Every identifier held by any of `customer_ids`, with the customers holding it,
/// the most shared first.
pub fn ties_of(conn: &mut DbConn, customer_ids: &[i64]) -> QueryResult<Vec<Tie>> {
    let mut by_hash: HashMap<String, Tie> = HashMap::new();
    for chunk in customer_ids.chunks(500) {
        let rows: Vec<(String, String, String, i64)> = customer_identifiers::table
            .filter(customer_identifiers::customer_id.eq_any(chunk))
            .select((
                customer_identifiers::kind,
                customer_identifiers::value_hash,
                customer_identifiers::masked,
                customer_identifiers::customer_id,
            ))
            .load(conn)?;
        for (kind, hash, masked, customer) in rows {
            by_hash
                .entry(hash.clone())
                .or_insert_with(|| Tie {
                    kind,
                    value_hash: hash,
                    masked,
                    customers: Vec::new(),
                })
                .customers
                .push(customer);
        }
    }
    let mut ties: Vec<Tie> = by_hash.into_values().collect();
    ties.sort_by(|a, b| {
        b.customers
            .len()
            .cmp(&a.customers.len())
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.masked.cmp(&b.masked))
    });
    Ok(ties)
}

/// Whether the case is a campaign.
pub fn is_campaign(conn: &mut DbConn, case_id: i64) -> QueryResult<bool> {
    Ok(!campaigns_among(conn, &[case_id])?.is_empty())
}

/// Which of `ids` are campaigns.
pub fn campaigns_among(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashSet<i64>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(campaigns::table
        .filter(campaigns::case_id.eq_any(ids))
        .select(campaigns::case_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// The amount (value and currency) of each case's latest alert that carries one.
pub fn amounts(conn: &mut DbConn, case_ids: &[i64]) -> QueryResult<HashMap<i64, (String, String)>> {
    let mut out = HashMap::new();
    for chunk in case_ids.chunks(500) {
        let rows: Vec<(Option<i64>, Option<String>, Option<String>)> = alerts::table
            .filter(alerts::case_id.eq_any(chunk))
            .filter(alerts::amount.is_not_null())
            .order(alerts::id.asc())
            .select((alerts::case_id, alerts::amount, alerts::currency))
            .load(conn)?;
        for (case_id, amount, currency) in rows {
            if let (Some(id), Some(a)) = (case_id, amount) {
                out.insert(id, (a, currency.unwrap_or_default()));
            }
        }
    }
    Ok(out)
}

/// Records that the campaign stands for the identifier `value_hash` too.
pub fn link(
    conn: &mut DbConn,
    campaign_id: i64,
    kind: &str,
    value_hash: &str,
    masked: &str,
) -> QueryResult<()> {
    dispatch!(conn, |c| diesel::insert_into(campaign_links::table)
        .values((
            campaign_links::campaign_id.eq(campaign_id),
            campaign_links::kind.eq(kind),
            campaign_links::value_hash.eq(value_hash),
            campaign_links::masked.eq(masked),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// Moves every child of `from` to `into`; returns how many moved.
pub fn move_children(conn: &mut DbConn, from: i64, into: i64) -> QueryResult<usize> {
    diesel::update(cases::table.filter(cases::campaign_id.eq(from)))
        .set(cases::campaign_id.eq(into))
        .execute(conn)
}

/// Records that the campaign `from` was merged into `into`.
pub fn mark_merged(conn: &mut DbConn, from: i64, into: i64) -> QueryResult<()> {
    diesel::update(campaigns::table.find(from))
        .set(campaigns::merged_into.eq(into))
        .execute(conn)?;
    Ok(())
}
