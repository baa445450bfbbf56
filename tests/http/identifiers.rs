// The digests that link customers by device, address and phone: keyed with the desk's
// secret, re-derived once when a database holds bare SHA-256 digests of an earlier
// version or digests made under another secret key, and linking cases all along.

use std::collections::BTreeSet;

use diesel::prelude::*;
use riskdesk::db::schema::{app_settings, customer_identifiers, customers};
use riskdesk::store::identifiers::{self, IdentifierKey, KEY_SETTING};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::intake::DESK;

type Row = (String, String, i64, String);

fn rows(app: &TestApp) -> BTreeSet<Row> {
    customer_identifiers::table
        .select((
            customer_identifiers::kind,
            customer_identifiers::value_hash,
            customer_identifiers::customer_id,
            customer_identifiers::masked,
        ))
        .load::<Row>(&mut *app.conn())
        .unwrap()
        .into_iter()
        .collect()
}

fn customer(app: &TestApp, external_id: &str) -> i64 {
    customers::table
        .filter(customers::external_id.eq(external_id))
        .select(customers::id)
        .first(&mut *app.conn())
        .unwrap()
}

fn mark(app: &TestApp) -> Option<String> {
    app_settings::table
        .filter(app_settings::key.eq(KEY_SETTING))
        .select(app_settings::value)
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

fn alert(id: &str, rule: &str, customer: &str, phone: &str, device: &str, ip: &str) -> Value {
    json!({
        "external_id": id,
        "rule": rule,
        "customer": {"external_id": customer, "name": "王伟", "phone": phone, "locale": "zh-CN"},
        "attributes": {"device_id": device, "ip": ip}
    })
}

const P1: &str = "+8613800000001";
const P2: &str = "+8613800000009";

/// A desk whose customer A shares a device with B, an address with E, and a phone it
/// had before with C (A's number changed to P2; C now has P1); D shares nothing.
/// Returns A's latest case and the cases of B, C, E and D.
fn linked_desk(app: &TestApp) -> (String, [String; 4]) {
    app.apply_config(DESK);
    let key = app.api_key();
    let post = |a: Value| {
        let (s, r) = app.post_api(&key, "/api/v1/alerts", &a);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    };
    post(alert(
        "k-0",
        "NEW_ACCOUNT_BURST",
        "C-A",
        P1,
        "dev-a",
        "198.51.100.1",
    ));
    let b = post(alert(
        "k-1",
        "LARGE_TRANSFER",
        "C-B",
        "+8613800000002",
        "dev-shared",
        "192.0.2.2",
    ));
    let e = post(alert(
        "k-2",
        "LARGE_TRANSFER",
        "C-E",
        "+8613800000005",
        "dev-e",
        "198.51.100.1",
    ));
    let mine = post(alert(
        "k-3",
        "LARGE_TRANSFER",
        "C-A",
        P2,
        "dev-shared",
        "203.0.113.9",
    ));
    let c = post(alert(
        "k-4",
        "NEW_ACCOUNT_BURST",
        "C-C",
        "+86 138-0000-0001",
        "dev-c",
        "192.0.2.3",
    ));
    let d = post(alert(
        "k-5",
        "LARGE_TRANSFER",
        "C-D",
        "+8613800000004",
        "dev-d",
        "192.0.2.4",
    ));
    (mine, [b, c, e, d])
}

/// Checks the case page of `mine` links B and E, C when `by_old_phone`, and not D.
fn assert_linked(app: &TestApp, mine: &str, [b, c, e, d]: &[String; 4], by_old_phone: bool) {
    let boss = app.signed_in("supervisor");
    let html = boss.get(&format!("/cases/{mine}")).text().unwrap();
    for (other, what) in [(b, "Device id ******ared"), (e, "IP 198.51.100.*")] {
        assert!(
            html.contains(&format!("href=\"/cases/{other}\"")),
            "{other}"
        );
        assert!(html.contains(what), "{what}");
    }
    assert_eq!(
        html.contains(&format!("href=\"/cases/{c}\"")),
        by_old_phone,
        "C, by A's earlier phone"
    );
    assert_eq!(html.contains("Phone +86 138****0001"), by_old_phone);
    assert!(!html.contains(d.as_str()), "D shares nothing");
}

/// Every plain value of [`linked_desk`], by kind.
const PLAIN: &[(&str, &str)] = &[
    ("phone", P1),
    ("phone", P2),
    ("phone", "+8613800000002"),
    ("phone", "+8613800000004"),
    ("phone", "+8613800000005"),
    ("device_id", "dev-a"),
    ("device_id", "dev-shared"),
    ("device_id", "dev-e"),
    ("device_id", "dev-c"),
    ("device_id", "dev-d"),
    ("ip", "198.51.100.1"),
    ("ip", "192.0.2.2"),
    ("ip", "203.0.113.9"),
    ("ip", "192.0.2.3"),
    ("ip", "192.0.2.4"),
];

#[test]
fn digests_are_keyed_with_the_desks_secret() {
    let app = TestApp::spawn_with(|s| s.secret_key = Some("k".repeat(40)));
    let (mine, others) = linked_desk(&app);
    let key = IdentifierKey::derive(&"k".repeat(40));
    let stored = rows(&app);
    // 5 customers × 3 kinds, A with two devices, two addresses and two phones.
    assert_eq!(stored.len(), 18, "{stored:?}");
    let keyed: BTreeSet<String> = PLAIN
        .iter()
        .map(|(k, v)| identifiers::digest(&key, k, v).unwrap())
        .collect();
    for (kind, hash, _, _) in &stored {
        assert!(keyed.contains(hash), "{kind} {hash} is not a keyed digest");
        assert!(
            PLAIN
                .iter()
                .all(|(k, v)| identifiers::unkeyed_digest(k, v).as_deref() != Some(hash)),
            "{kind}: a bare SHA-256 digest is stored"
        );
    }
    assert!(mark(&app).is_some());
    assert_linked(&app, &mine, &others, true);
}

#[test]
fn an_old_database_is_rekeyed_once_and_still_links() {
    let app = TestApp::spawn();
    let (mine, others) = linked_desk(&app);
    let keyed = rows(&app);
    assert_eq!(keyed.len(), 18);
    // Make it a database of an earlier version: bare SHA-256 digests, no mark.
    {
        let key = &app.state.identifier_key;
        let mut conn = app.conn();
        for (kind, value) in PLAIN {
            diesel::update(customer_identifiers::table.filter(
                customer_identifiers::value_hash.eq(identifiers::digest(key, kind, value).unwrap()),
            ))
            .set(
                customer_identifiers::value_hash
                    .eq(identifiers::unkeyed_digest(kind, value).unwrap()),
            )
            .execute(&mut *conn)
            .unwrap();
        }
        diesel::delete(app_settings::table.filter(app_settings::key.eq(KEY_SETTING)))
            .execute(&mut *conn)
            .unwrap();
    }
    let old = rows(&app);
    assert_eq!(old.len(), 18);
    assert!(old.is_disjoint(&keyed));

    // The next start re-derives them: the very rows intake had written, including A's
    // earlier phone, which only the old rows knew A had.
    let second = app.second_instance();
    assert_eq!(rows(&second), keyed);
    let a = customer(&app, "C-A");
    let p1 = identifiers::digest(&app.state.identifier_key, "phone", P1).unwrap();
    assert!(
        keyed
            .iter()
            .any(|(k, h, c, _)| k == "phone" && *h == p1 && *c == a)
    );
    assert!(mark(&second).is_some());
    assert_linked(&second, &mine, &others, true);

    // Once: a later start leaves the table alone (a row no alert explains stays).
    let stray = (
        "device_id".to_string(),
        "f".repeat(64),
        a,
        "****tray".to_string(),
    );
    diesel::insert_into(customer_identifiers::table)
        .values((
            customer_identifiers::kind.eq(&stray.0),
            customer_identifiers::value_hash.eq(&stray.1),
            customer_identifiers::customer_id.eq(stray.2),
            customer_identifiers::masked.eq(&stray.3),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let third = app.second_instance();
    let now = rows(&third);
    assert!(now.contains(&stray));
    assert_eq!(now.len(), keyed.len() + 1);
}

#[test]
fn another_secret_key_rederives_the_digests_from_the_alerts() {
    let app = TestApp::spawn_with(|s| s.secret_key = Some("a".repeat(40)));
    let (mine, others) = linked_desk(&app);
    let first_mark = mark(&app);
    let before = rows(&app);
    let other = app.second_instance_with(|s| s.secret_key = Some("b".repeat(40)));
    let after = rows(&other);
    assert_ne!(mark(&other), first_mark);
    let key = IdentifierKey::derive(&"b".repeat(40));
    let keyed: BTreeSet<String> = PLAIN
        .iter()
        .map(|(k, v)| identifiers::digest(&key, k, v).unwrap())
        .collect();
    assert!(after.iter().all(|(_, h, _, _)| keyed.contains(h)));
    assert!(before.iter().all(|r| !after.contains(r)));
    // A's earlier phone cannot be recognised under another key: only the alerts'
    // devices and addresses and the customers' current phones remain.
    assert_eq!(after.len(), before.len() - 1);
    assert_linked(&other, &mine, &others, false);
}
