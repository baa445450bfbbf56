// Identifiers that link customers (device ids, IP addresses, phone numbers), kept as
// HMAC-SHA-256 digests under a key of the desk, with a masked form for display.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::db::schema::{alerts, app_settings, customer_identifiers, customers};
use crate::db::{DbConn, write_tx};
use crate::dispatch;
use crate::domain::masking;
use crate::store::settings;

/// The kinds of identifier that link customers.
pub const KINDS: [&str; 3] = ["device_id", "ip", "phone"];

type HmacSha256 = Hmac<Sha256>;

/// The key identifier digests are made with. It is derived from the desk's secret
/// key with a label of its own, as the QA salt is with another, so it serves no other
/// use. Without it a digest cannot be tested against guessed values, as a phone
/// number's bare SHA-256 could be by trying every number.
#[derive(Clone)]
pub struct IdentifierKey(HmacSha256);

impl IdentifierKey {
    /// The key of a desk whose secret key is `secret_key`.
    pub fn derive(secret_key: &str) -> Self {
        let key = Sha256::digest(format!("customer-identifiers:{secret_key}").as_bytes());
        IdentifierKey(HmacSha256::new_from_slice(&key).expect("HMAC takes a key of any length"))
    }

    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        // The keyed state is computed once; each digest starts from a copy of it.
        let mut mac = self.0.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// What `app_settings` keeps to tell which key made the stored digests: the
    /// digest of a fixed text, which tells nothing of the key.
    fn mark(&self) -> String {
        format!(
            "hmac-sha256:{}",
            hex::encode(&self.mac(&[b"riskdesk identifier key check"])[..16])
        )
    }
}

impl fmt::Debug for IdentifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentifierKey(…)")
    }
}

/// The normal form of a value: phones keep their digits only, other values are
/// trimmed and lower-cased. None when nothing is left.
fn normalise(kind: &str, value: &str) -> Option<String> {
    let normal = match kind {
        "phone" => value
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect::<String>(),
        _ => value.trim().to_lowercase(),
    };
    (!normal.is_empty()).then_some(normal)
}

/// The digest of one identifier: HMAC-SHA-256 under `key` of `kind:normalised value`.
/// The kind is part of it, so equal digests mean the same kind and the same value.
pub fn digest(key: &IdentifierKey, kind: &str, value: &str) -> Option<String> {
    let normal = normalise(kind, value)?;
    Some(hex::encode(key.mac(&[
        kind.as_bytes(),
        b":",
        normal.as_bytes(),
    ])))
}

/// The digest earlier versions stored: the bare SHA-256 of `kind:normalised value`.
/// Only [`rekey`] uses it, to carry over what those versions recorded.
pub fn unkeyed_digest(kind: &str, value: &str) -> Option<String> {
    let normal = normalise(kind, value)?;
    Some(hex::encode(Sha256::digest(
        format!("{kind}:{normal}").as_bytes(),
    )))
}

fn masked(kind: &str, value: &str) -> String {
    match kind {
        "phone" => masking::phone(value),
        "ip" => masking::ip(value.trim()),
        // Device ids are not personal data, but the table keeps no whole value.
        _ => masking::number(value.trim()),
    }
}

/// The identifiers an alert tells about its customer: its `device_id` and `ip`
/// attributes and the customer's phone.
pub fn of_alert<'a>(
    attributes: &'a BTreeMap<String, String>,
    phone: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut out = Vec::new();
    for kind in ["device_id", "ip"] {
        if let Some(v) = attributes.get(kind) {
            out.push((kind, v.as_str()));
        }
    }
    if let Some(p) = phone {
        out.push(("phone", p));
    }
    out
}

/// One identifier of a customer as recorded: its kind, digest and masked form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub kind: &'static str,
    pub value_hash: String,
    pub masked: String,
}

/// The digests and masked forms of `ids` (kind, plain value), without the ones that
/// normalise to nothing.
pub fn digests(key: &IdentifierKey, ids: &[(&'static str, &str)]) -> Vec<Recorded> {
    ids.iter()
        .filter_map(|(kind, value)| {
            digest(key, kind, value).map(|h| Recorded {
                kind,
                value_hash: h,
                masked: masked(kind, value),
            })
        })
        .collect()
}

/// Records that `customer_id` uses each of `ids`, seen at `seen` (which a known pair
/// takes as its last sighting; without it, known pairs are left as they are). One
/// statement, inside the caller's transaction.
pub fn record(
    conn: &mut DbConn,
    customer_id: i64,
    ids: &[Recorded],
    seen: Option<NaiveDateTime>,
) -> QueryResult<()> {
    let rows: Vec<_> = ids
        .iter()
        .map(|r| {
            (
                customer_identifiers::kind.eq(r.kind),
                customer_identifiers::value_hash.eq(&r.value_hash),
                customer_identifiers::customer_id.eq(customer_id),
                customer_identifiers::masked.eq(&r.masked),
                customer_identifiers::last_seen_at.eq(seen),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // At most three per alert: on PostgreSQL one statement for them all; on SQLite one
    // cached statement per row (see `crate::insert_rows`).
    macro_rules! upsert_identifiers {
        ($values:expr) => {
            match seen {
                Some(at) => dispatch!(conn, |c| diesel::insert_into(customer_identifiers::table)
                    .values($values)
                    .on_conflict((
                        customer_identifiers::value_hash,
                        customer_identifiers::customer_id,
                    ))
                    .do_update()
                    .set(customer_identifiers::last_seen_at.eq(at))
                    .execute(c)),
                None => dispatch!(conn, |c| diesel::insert_into(customer_identifiers::table)
                    .values($values)
                    .on_conflict_do_nothing()
                    .execute(c)),
            }
        };
    }
    if matches!(conn, DbConn::Sqlite(_)) {
        for row in &rows {
            upsert_identifiers!(row)?;
        }
    } else {
        upsert_identifiers!(&rows)?;
    }
    Ok(())
}

/// [`record`] for the identifiers of several customers at once (a batch of alerts),
/// seen at `seen`: one statement, each (identifier, customer) once.
pub fn record_many(
    conn: &mut DbConn,
    ids: &[(i64, &Recorded)],
    seen: NaiveDateTime,
) -> QueryResult<()> {
    let mut once = std::collections::HashSet::new();
    let mut unique: Vec<(i64, &Recorded)> = ids
        .iter()
        .filter(|(customer, r)| once.insert((r.value_hash.as_str(), *customer)))
        .copied()
        .collect();
    if unique.is_empty() {
        return Ok(());
    }
    // In one order whoever writes them, so that two writers do not deadlock.
    unique.sort_by(|a, b| (&a.1.value_hash, a.0).cmp(&(&b.1.value_hash, b.0)));
    let rows: Vec<_> = unique
        .iter()
        .map(|(customer, r)| {
            (
                customer_identifiers::kind.eq(r.kind),
                customer_identifiers::value_hash.eq(&r.value_hash),
                customer_identifiers::customer_id.eq(*customer),
                customer_identifiers::masked.eq(&r.masked),
                customer_identifiers::last_seen_at.eq(Some(seen)),
            )
        })
        .collect();
    dispatch!(conn, |c| diesel::insert_into(customer_identifiers::table)
        .values(&rows)
        .on_conflict((
            customer_identifiers::value_hash,
            customer_identifiers::customer_id,
        ))
        .do_update()
        .set(customer_identifiers::last_seen_at.eq(seen))
        .execute(c))?;
    Ok(())
}

/// The customers seen with the identifier `value_hash` since `since`, and how many.
pub fn customers_seen_since(
    conn: &mut DbConn,
    value_hash: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    customer_identifiers::table
        .filter(customer_identifiers::value_hash.eq(value_hash))
        .filter(customer_identifiers::last_seen_at.ge(since))
        .select(customer_identifiers::customer_id)
        .load(conn)
}

/// The `app_settings` entry naming the key the stored digests were made with.
pub const KEY_SETTING: &str = "customer_identifiers_key";

/// What [`rekey`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    /// The digests were bare SHA-256 (an earlier version), not those of another key.
    pub from_unkeyed: bool,
    /// Rows before and after.
    pub before: i64,
    pub after: i64,
}

/// Alerts read at a time while re-deriving.
const PAGE: i64 = 2_000;

/// Makes the stored digests those of `key`, once: a database whose digests were made
/// by an earlier version (bare SHA-256) or under another secret key has them derived
/// again from what it keeps in plain: the alerts' `device_id` and `ip` attributes and
/// the customers' phones. Returns None when they already are `key`'s (one read).
///
/// All of it is one transaction, so a failure leaves the old digests. On
/// PostgreSQL the table is locked first, so instances starting together do it once.
/// From bare SHA-256, a customer's earlier phone that is now another customer's
/// keeps linking the two; from another key it cannot be recognised, and the
/// customer's links by a phone number no longer held by anyone are dropped.
pub fn rekey(conn: &mut DbConn, key: &IdentifierKey) -> QueryResult<Option<Rekeyed>> {
    let mark = key.mark();
    if settings::get(conn, KEY_SETTING)?.as_deref() == Some(mark.as_str()) {
        return Ok(None);
    }
    write_tx(conn, |conn| {
        if let DbConn::Postgresql(c) = conn {
            diesel::sql_query("LOCK TABLE customer_identifiers IN SHARE ROW EXCLUSIVE MODE")
                .execute(c)?;
        }
        let stored = settings::get(conn, KEY_SETTING)?;
        if stored.as_deref() == Some(mark.as_str()) {
            return Ok(None);
        }
        let from_unkeyed = stored.is_none();
        let before: i64 = customer_identifiers::table
            .select(count_star())
            .first(conn)?;
        if before > 0 {
            tracing::info!(
                rows = before,
                from_unkeyed,
                "re-deriving the customer identifiers' digests from the alerts and customers"
            );
        }
        // Set the old digests apart: they cannot collide with the new ones.
        diesel::update(customer_identifiers::table)
            .set(
                customer_identifiers::value_hash.eq("old:"
                    .into_sql::<diesel::sql_types::Text>()
                    .concat(customer_identifiers::value_hash)),
            )
            .execute(conn)?;
        // Every alert's device and address, as intake records them.
        let mut after_id = 0i64;
        loop {
            let page: Vec<(i64, i64, String)> = alerts::table
                .filter(alerts::id.gt(after_id))
                .order(alerts::id)
                .select((alerts::id, alerts::customer_id, alerts::attributes))
                .limit(PAGE)
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after_id = last.0;
            for (_, customer_id, attributes) in &page {
                let attributes: BTreeMap<String, String> =
                    serde_json::from_str(attributes).unwrap_or_default();
                record(
                    conn,
                    *customer_id,
                    &digests(key, &of_alert(&attributes, None)),
                    None,
                )?;
            }
        }
        // Every customer's phone; from bare SHA-256, also the customers who had that
        // number before (their old rows carry its bare digest).
        let mut carried: HashSet<String> = HashSet::new();
        let mut after_id = 0i64;
        loop {
            let page: Vec<(i64, Option<String>)> = customers::table
                .filter(customers::id.gt(after_id))
                .filter(customers::phone.is_not_null())
                .order(customers::id)
                .select((customers::id, customers::phone))
                .limit(PAGE)
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after_id = last.0;
            for (customer_id, phone) in &page {
                let Some(phone) = phone.as_deref() else {
                    continue;
                };
                record(conn, *customer_id, &digests(key, &[("phone", phone)]), None)?;
                if !from_unkeyed {
                    continue;
                }
                let (Some(old), Some(new)) =
                    (unkeyed_digest("phone", phone), digest(key, "phone", phone))
                else {
                    continue;
                };
                if !carried.insert(old.clone()) {
                    continue;
                }
                let holders: Vec<(i64, String)> = customer_identifiers::table
                    .filter(customer_identifiers::value_hash.eq(format!("old:{old}")))
                    .select((
                        customer_identifiers::customer_id,
                        customer_identifiers::masked,
                    ))
                    .load(conn)?;
                let rows: Vec<_> = holders
                    .into_iter()
                    .map(|(holder, masked)| {
                        (
                            customer_identifiers::kind.eq("phone"),
                            customer_identifiers::value_hash.eq(new.clone()),
                            customer_identifiers::customer_id.eq(holder),
                            customer_identifiers::masked.eq(masked),
                        )
                    })
                    .collect();
                if !rows.is_empty() {
                    dispatch!(conn, |c| diesel::insert_into(customer_identifiers::table)
                        .values(&rows)
                        .on_conflict_do_nothing()
                        .execute(c))?;
                }
            }
        }
        diesel::delete(
            customer_identifiers::table.filter(customer_identifiers::value_hash.like("old:%")),
        )
        .execute(conn)?;
        let after: i64 = customer_identifiers::table
            .select(count_star())
            .first(conn)?;
        let n = diesel::update(app_settings::table.find(KEY_SETTING))
            .set(app_settings::value.eq(&mark))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(app_settings::table)
                .values((
                    app_settings::key.eq(KEY_SETTING),
                    app_settings::value.eq(&mark),
                ))
                .execute(conn)?;
        }
        Ok(Some(Rekeyed {
            from_unkeyed,
            before,
            after,
        }))
    })
}

/// One identifier of a customer that other customers hold too.
#[derive(Debug, Clone)]
pub struct SharedGroup {
    pub kind: String,
    /// The keyed digest of what is shared (no personal value), naming the group in
    /// the link to its full list.
    pub value_hash: String,
    pub masked: String,
    /// How many other customers hold it.
    pub others: i64,
    /// Some of them (the newest first), at most as many as asked for.
    pub sample: Vec<i64>,
}

/// The identifiers of `customer_id` that other customers hold too, the most shared
/// first (at most `groups`), each with a count and a sample of `sample` customers.
/// Each step reads the index on the digest, so a customer tied to thousands costs
/// as little as one tied to a few.
pub fn shared_groups(
    conn: &mut DbConn,
    customer_id: i64,
    groups: usize,
    sample: i64,
) -> QueryResult<Vec<SharedGroup>> {
    let mine: Vec<(String, String, String)> = customer_identifiers::table
        .filter(customer_identifiers::customer_id.eq(customer_id))
        .select((
            customer_identifiers::kind,
            customer_identifiers::value_hash,
            customer_identifiers::masked,
        ))
        .load(conn)?;
    if mine.is_empty() {
        return Ok(Vec::new());
    }
    let hashes: Vec<&str> = mine.iter().map(|(_, h, _)| h.as_str()).collect();
    let counts: Vec<(String, i64)> = customer_identifiers::table
        .filter(customer_identifiers::value_hash.eq_any(&hashes))
        .group_by(customer_identifiers::value_hash)
        .select((customer_identifiers::value_hash, count_star()))
        .load(conn)?;
    let mut shared: Vec<(&(String, String, String), i64)> = mine
        .iter()
        .filter_map(|m| {
            let n = counts.iter().find(|(h, _)| *h == m.1)?.1 - 1;
            (n > 0).then_some((m, n))
        })
        .collect();
    shared.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.0.cmp(&b.0.0)));
    shared.truncate(groups);
    let mut out = Vec::with_capacity(shared.len());
    for ((kind, hash, masked), others) in shared {
        let sample: Vec<i64> = customer_identifiers::table
            .filter(customer_identifiers::value_hash.eq(hash))
            .filter(customer_identifiers::customer_id.ne(customer_id))
            .select(customer_identifiers::customer_id)
            .order(customer_identifiers::customer_id.desc())
            .limit(sample)
            .load(conn)?;
        out.push(SharedGroup {
            kind: kind.clone(),
            value_hash: hash.clone(),
            masked: masked.clone(),
            others,
            sample,
        });
    }
    Ok(out)
}

/// What `customer_id` holds under the digest `hash`: (kind, masked value), if anything.
pub fn held_by(
    conn: &mut DbConn,
    customer_id: i64,
    hash: &str,
) -> QueryResult<Option<(String, String)>> {
    customer_identifiers::table
        .filter(customer_identifiers::value_hash.eq(hash))
        .filter(customer_identifiers::customer_id.eq(customer_id))
        .select((customer_identifiers::kind, customer_identifiers::masked))
        .first(conn)
        .optional()
}

/// How many customers hold `hash`.
pub fn holder_count(conn: &mut DbConn, hash: &str) -> QueryResult<i64> {
    customer_identifiers::table
        .filter(customer_identifiers::value_hash.eq(hash))
        .count()
        .get_result(conn)
}

/// The other customers holding `hash`, newest first, those before `before` when
/// given: at most `limit`, through the primary key (digest, customer).
pub fn holders(
    conn: &mut DbConn,
    hash: &str,
    except: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    customer_identifiers::table
        .filter(customer_identifiers::value_hash.eq(hash))
        .filter(customer_identifiers::customer_id.ne(except))
        .filter(customer_identifiers::customer_id.lt(before.unwrap_or(i64::MAX)))
        .select(customer_identifiers::customer_id)
        .order(customer_identifiers::customer_id.desc())
        .limit(limit)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a secret key of the desk, at least 32 chars";

    #[test]
    fn digests_normalise_and_keep_kinds_apart() {
        let k = IdentifierKey::derive(SECRET);
        assert_eq!(
            digest(&k, "phone", "+86 138-0013-8000"),
            digest(&k, "phone", "+8613800138000")
        );
        assert_eq!(
            digest(&k, "ip", " 203.0.113.7 "),
            digest(&k, "ip", "203.0.113.7")
        );
        assert_ne!(digest(&k, "ip", "d-1"), digest(&k, "device_id", "d-1"));
        assert_eq!(digest(&k, "phone", "--"), None);
        let d = digest(&k, "device_id", "d-91ab").unwrap();
        assert_eq!(d.len(), 64);
        assert!(!d.contains("91ab"));
    }

    #[test]
    fn digests_depend_on_the_key_and_are_not_bare_sha256() {
        let k = IdentifierKey::derive(SECRET);
        // The same value under the same key (derived again) is the same digest.
        let again = IdentifierKey::derive(SECRET);
        assert_eq!(
            digest(&k, "phone", "+8613800138000"),
            digest(&again, "phone", "+8613800138000")
        );
        // Another desk's key gives another digest.
        let other = IdentifierKey::derive("another desk's secret key, also 32 chars");
        assert_ne!(
            digest(&k, "phone", "+8613800138000"),
            digest(&other, "phone", "+8613800138000")
        );
        // Not what anyone can compute from the number alone.
        let bare = hex::encode(Sha256::digest(b"phone:8613800138000"));
        assert_eq!(
            unkeyed_digest("phone", "+86 138 0013 8000").as_deref(),
            Some(bare.as_str())
        );
        assert_ne!(digest(&k, "phone", "+8613800138000").unwrap(), bare);
        // The key is not the QA salt's, nor the secret itself.
        let qa = crate::domain::qa::salt(SECRET);
        let with_qa_salt = HmacSha256::new_from_slice(&hex::decode(&qa).unwrap())
            .unwrap()
            .chain_update(b"phone:8613800138000")
            .finalize()
            .into_bytes();
        assert_ne!(
            digest(&k, "phone", "+8613800138000").unwrap(),
            hex::encode(with_qa_salt)
        );
        let with_secret = HmacSha256::new_from_slice(SECRET.as_bytes())
            .unwrap()
            .chain_update(b"phone:8613800138000")
            .finalize()
            .into_bytes();
        assert_ne!(
            digest(&k, "phone", "+8613800138000").unwrap(),
            hex::encode(with_secret)
        );
    }

    #[test]
    fn the_mark_names_the_key_without_showing_it() {
        let k = IdentifierKey::derive(SECRET);
        assert_eq!(k.mark(), IdentifierKey::derive(SECRET).mark());
        assert_ne!(k.mark(), IdentifierKey::derive(&SECRET.repeat(2)).mark());
        assert!(!k.mark().contains(SECRET));
        assert_eq!(format!("{k:?}"), "IdentifierKey(…)");
    }
}
