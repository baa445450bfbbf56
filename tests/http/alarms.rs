// The SLA watch on a backlog: a case found several thresholds behind gets its
// current state in one step (one breach, or its highest warning, not each step on
// the way), one run drains every due case however many batches they fill, and two
// watchers at once fire each alarm once. Also the assignment sweep and the
// reports' facts catching up after a burst.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::assignment::{Desk, kinds, presence};
use crate::intake::alert;
use riskdesk::db::schema::{case_alarms, case_events, case_facts, cases, notifications};

/// Posts `n` alerts of `rule`, each for its own customer (so each opens its own
/// case), through the batch endpoint.
fn burst(d: &Desk, prefix: &str, rule: &str, n: usize) {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let mut a = alert(&format!("{prefix}-{i}"), rule, &format!("{prefix}-C-{i}"));
            a["customer"]["phone"] = json!(format!("+86139{i:08}"));
            a["attributes"] = json!({"device_id": format!("{prefix}-d-{i}"), "ip": "10.0.0.1"});
            a
        })
        .collect();
    for chunk in items.chunks(1000) {
        let (s, r) = d
            .app
            .post_api(&d.key, "/api/v1/alerts/batch", &json!({ "alerts": chunk }));
        assert_eq!(s, 200, "{r}");
    }
}

fn count_kind(d: &Desk, kind: &str) -> i64 {
    case_events::table
        .filter(case_events::kind.eq(kind))
        .count()
        .get_result(&mut *d.app.conn())
        .unwrap()
}

/// Cases whose next alarm is due at the clock's now (none once the watch is done).
fn due(d: &Desk) -> i64 {
    cases::table
        .filter(cases::next_alarm_at.le(riskdesk::store::to_db(d.app.clock.now())))
        .filter(cases::resolved_at.is_null())
        .count()
        .get_result(&mut *d.app.conn())
        .unwrap()
}

#[test]
fn a_case_found_past_its_breach_gets_one_breach_and_no_warnings() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    // High on a 24/7 policy: warnings at 23 and 27 minutes, breach at 30.
    let r = d.post("far-1", "LARGE_TRANSFER", "C-1");
    let reference = r["case_ref"].as_str().unwrap().to_string();
    assert_eq!(r["assignee"], "li@bank.example");
    assert_eq!(d.watch(), 0);
    // The watch comes to it only at 35 minutes (it was behind, or down).
    d.app.clock.advance(Duration::minutes(35));
    assert_eq!(d.watch(), 1, "one breach, not two warnings and a breach");
    assert_eq!(d.watch(), 0);
    let k = kinds(&d.events(&reference));
    assert_eq!(k.iter().filter(|k| *k == "sla.breached").count(), 1);
    assert_eq!(k.iter().filter(|k| *k == "sla.warning").count(), 0, "{k:?}");
    assert_eq!(d.case(&reference)["sla"]["breached"], true);
    // Nobody is told of the warnings, and the breach is told.
    let told: Vec<String> = notifications::table
        .select(notifications::kind)
        .load(&mut *d.app.conn())
        .unwrap();
    assert!(told.iter().any(|k| k == "sla.breached"), "{told:?}");
    assert!(!told.iter().any(|k| k == "sla.warning"), "{told:?}");
    assert!(
        !li.get("/notifications")
            .text()
            .unwrap()
            .contains("of the first response target used")
    );
    // The warnings are on record as passed over, so they never fire later.
    let rows: Vec<(String, bool)> = case_alarms::table
        .select((case_alarms::kind, case_alarms::superseded))
        .order(case_alarms::kind.asc())
        .load(&mut *d.app.conn())
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("breach:first_response".to_string(), false),
            ("warn:first_response:75".to_string(), true),
            ("warn:first_response:90".to_string(), true),
        ]
    );
}

#[test]
fn a_case_past_both_warnings_gets_the_later_one_only() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let r = d.post("mid-1", "LARGE_TRANSFER", "C-1");
    let reference = r["case_ref"].as_str().unwrap().to_string();
    d.watch();
    d.app.clock.advance(Duration::minutes(28)); // past 75 % (23) and 90 % (27)
    assert_eq!(d.watch(), 1);
    let warnings: Vec<Value> = d
        .events(&reference)
        .into_iter()
        .filter(|e| e["kind"] == "sla.warning")
        .collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0]["data"]["percent"], 90);
    // The breach still comes when it is due.
    d.app.clock.advance(Duration::minutes(3));
    assert_eq!(d.watch(), 1);
    assert_eq!(count_kind(&d, "sla.breached"), 1);
}

#[test]
fn one_watch_run_drains_more_due_cases_than_a_batch() {
    let d = Desk::new();
    let n = riskdesk::cases::escalate::BATCH as usize * 2 + 200;
    burst(&d, "many", "LARGE_TRANSFER", n);
    let opened: i64 = cases::table.count().get_result(&mut *d.app.conn()).unwrap();
    assert_eq!(opened as usize, n);
    // Nobody online: past the breach (30 min) and the wait alert (15 min).
    d.app.clock.advance(Duration::minutes(35));
    assert_eq!(due(&d), n as i64);
    let fired = d.watch();
    assert_eq!(due(&d), 0, "one run settles every due case");
    let breached: i64 = cases::table
        .filter(cases::breached.eq(true))
        .count()
        .get_result(&mut *d.app.conn())
        .unwrap();
    assert_eq!(breached as usize, n);
    assert_eq!(count_kind(&d, "sla.breached") as usize, n);
    assert_eq!(count_kind(&d, "sla.warning"), 0);
    assert_eq!(count_kind(&d, "assignment.waiting_too_long") as usize, n);
    assert_eq!(fired, 2 * n);
    assert_eq!(d.watch(), 0);
}

#[test]
fn two_watchers_at_once_fire_each_alarm_once() {
    let d = Desk::new();
    let other = d.app.second_instance();
    let n = 700;
    burst(&d, "two", "LARGE_TRANSFER", n);
    d.app.clock.advance(Duration::minutes(35));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| riskdesk::jobs::watch_sla(&d.app.state).unwrap());
        let b = s.spawn(|| riskdesk::jobs::watch_sla(&other.state).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a + b, 2 * n, "{a} + {b}");
    assert_eq!(due(&d), 0);
    assert_eq!(count_kind(&d, "sla.breached") as usize, n);
    assert_eq!(count_kind(&d, "assignment.waiting_too_long") as usize, n);
    let acted: i64 = case_alarms::table
        .filter(case_alarms::superseded.eq(false))
        .count()
        .get_result(&mut *d.app.conn())
        .unwrap();
    assert_eq!(acted as usize, a + b);
    // Each case breached once.
    let per_case: Vec<(i64, i64)> = case_events::table
        .filter(case_events::kind.eq("sla.breached"))
        .group_by(case_events::case_id)
        .select((case_events::case_id, diesel::dsl::count_star()))
        .load(&mut *d.app.conn())
        .unwrap();
    assert_eq!(per_case.len(), n);
    assert!(per_case.iter().all(|(_, c)| *c == 1));
    assert_eq!(riskdesk::jobs::watch_sla(&other.state).unwrap(), 0);
}

#[test]
fn the_sweep_fills_every_agent_with_room_in_one_run() {
    let d = Desk::new();
    burst(&d, "sweep", "LARGE_TRANSFER", 60);
    let agents: Vec<i64> = (0..6)
        .map(|i| {
            d.agent(&format!("a{i}@bank.example"), &["Transfers"], &["fraud"], 5)
                .1
        })
        .collect();
    // They come online without the sign-in's own fill (another instance's race,
    // or a restart): only the sweep gives them cases.
    {
        use riskdesk::db::schema::users;
        diesel::update(users::table.filter(users::id.eq_any(&agents)))
            .set(users::presence.eq("online"))
            .execute(&mut *d.app.conn())
            .unwrap();
    }
    assert_eq!(riskdesk::jobs::sweep_assignment(&d.app.state).unwrap(), 30);
    let waiting: i64 = cases::table
        .filter(cases::assignee_id.is_null())
        .count()
        .get_result(&mut *d.app.conn())
        .unwrap();
    assert_eq!(waiting, 30);
    assert_eq!(riskdesk::jobs::sweep_assignment(&d.app.state).unwrap(), 0);
}

#[test]
fn the_report_facts_catch_up_with_a_burst() {
    let d = Desk::new();
    burst(&d, "facts", "LARGE_TRANSFER", 300);
    assert_eq!(
        riskdesk::jobs::refresh_report_facts(&d.app.state, "test").unwrap(),
        Some(300)
    );
    let facts: i64 = case_facts::table
        .count()
        .get_result(&mut *d.app.conn())
        .unwrap();
    assert_eq!(facts, 300);
    assert!(!riskdesk::jobs::report_facts_behind(&d.app.state).unwrap());
    // A case changed long after the last run's newest change: behind until a run.
    d.app.clock.advance(Duration::minutes(5));
    burst(&d, "later", "LARGE_TRANSFER", 1);
    assert!(riskdesk::jobs::report_facts_behind(&d.app.state).unwrap());
    riskdesk::jobs::refresh_report_facts(&d.app.state, "test").unwrap();
    assert!(!riskdesk::jobs::report_facts_behind(&d.app.state).unwrap());
}

/// Every stored fact, by case.
fn facts_by_case(d: &Desk) -> Vec<riskdesk::reports::facts::FactRow> {
    case_facts::table
        .order(case_facts::case_id.asc())
        .select(riskdesk::reports::facts::FactRow::as_select())
        .load(&mut *d.app.conn())
        .unwrap()
}

#[test]
fn facts_are_computed_fresh_then_once_more_when_their_change_has_settled() {
    let d = Desk::new();
    burst(&d, "settle", "LARGE_TRANSFER", 20);
    let facts = || riskdesk::jobs::refresh_report_facts(&d.app.state, "test").unwrap();
    // Fresh: every new case is in the facts at once.
    assert_eq!(facts(), Some(20));
    let fresh = facts_by_case(&d);
    assert_eq!(fresh.len(), 20);
    // Within the overlap after their change, however often the job runs, none is
    // computed again.
    d.app.clock.advance(Duration::seconds(5));
    assert_eq!(facts(), Some(0));
    // Once it has passed, each once more (a writer that stamped the same moment has
    // committed by then); the facts came out the same, so only the time of
    // computing moved.
    d.app.clock.advance(Duration::seconds(6));
    assert_eq!(facts(), Some(20));
    let settled = facts_by_case(&d);
    let now = riskdesk::store::to_db(d.app.clock.now());
    for (before, after) in fresh.iter().zip(&settled) {
        assert_eq!(after.computed_at, now);
        assert_eq!(
            &riskdesk::reports::facts::FactRow {
                computed_at: now,
                ..before.clone()
            },
            after
        );
    }
    // And then never again while the case does not change.
    d.app.clock.advance(Duration::minutes(1));
    assert_eq!(facts(), Some(0));
}

#[test]
fn facts_computed_again_are_rewritten_where_they_differ_and_only_stamped_where_not() {
    let d = Desk::new();
    burst(&d, "stamp", "LARGE_TRANSFER", 3);
    riskdesk::jobs::refresh_report_facts(&d.app.state, "test").unwrap();
    let kept = facts_by_case(&d);
    // One row is made wrong behind the job's back.
    let wrong = kept[1].case_id;
    diesel::update(case_facts::table.find(wrong))
        .set((case_facts::calls.eq(99), case_facts::priority.eq("low")))
        .execute(&mut *d.app.conn())
        .unwrap();
    d.app.clock.advance(Duration::minutes(1));
    let ids: Vec<i64> = kept.iter().map(|f| f.case_id).collect();
    let mut conn = d.app.conn();
    let snap = d.app.state.desk.get(&mut conn).unwrap();
    let n =
        riskdesk::reports::store::refresh_cases(&mut conn, &snap, &ids, d.app.clock.now()).unwrap();
    drop(conn);
    assert_eq!(n, 3);
    let now = riskdesk::store::to_db(d.app.clock.now());
    let again = facts_by_case(&d);
    for (before, after) in kept.iter().zip(&again) {
        // The wrong row is counted again whole, the others only stamped: all equal
        // what the case says, at the new time.
        assert_eq!(
            &riskdesk::reports::facts::FactRow {
                computed_at: now,
                ..before.clone()
            },
            after
        );
    }
}
