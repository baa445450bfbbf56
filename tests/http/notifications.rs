// Notifications people read: one row per case and kind updated in place, a
// supervisor's alarms grouped per kind and queue (a flood of breaches is a handful
// of rows), marking one or all read with the exact unread count in the navigation,
// each user's choices per kind (off, at once, hourly and daily digests through a
// real SMTP server on loopback), pages that always come through, and nobody
// reading or marking another's notifications.

use std::net::TcpListener;

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;

use crate::assignment::{desk_config, presence};
use crate::common::{Browser, TestApp};
use crate::intake::alert;
use crate::mail::SmtpSink;
use riskdesk::db::schema::{notification_prefs, notifications, outbox, users};
use riskdesk::domain::notifications::KINDS;
use riskdesk::store::notifications::Notification;

/// A notification as the tests look at it: (id, kind, case, occurrences, grouped,
/// unread).
type Row = (i64, String, Option<i64>, i32, bool, bool);

struct Desk {
    app: TestApp,
    key: String,
}

impl Desk {
    fn new(smtp_port: Option<u16>) -> Desk {
        let app = TestApp::spawn_with(|s| {
            s.smtp_url = smtp_port.map(|p| format!("smtp://127.0.0.1:{p}"));
            s.public_url = "https://desk.bank.example".into();
            // The clock moves on by hours; the users stay signed in.
            s.session_idle = Duration::hours(24);
        });
        app.apply_config(&desk_config());
        let key = app.api_key();
        Desk { app, key }
    }

    /// A signed-in user of `role` with this e-mail; (browser, id).
    fn user(&self, email: &str, role: &str) -> (Browser, i64) {
        let password = self.app.create_user(email, role);
        let b = self.app.browser();
        assert_eq!(b.login(email, &password).status(), 303);
        (b, self.id_of(email))
    }

    fn id_of(&self, email: &str) -> i64 {
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(&mut *self.app.conn())
            .unwrap()
    }

    fn post(&self, id: &str, customer: &str) -> String {
        let (s, r) = self.app.post_api(
            &self.key,
            "/api/v1/alerts",
            &alert(id, "LARGE_TRANSFER", customer),
        );
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn watch(&self) -> usize {
        riskdesk::jobs::watch_sla(&self.app.state).unwrap()
    }

    /// Runs the SLA watch until nothing more is due.
    fn watch_all(&self) {
        while self.watch() > 0 {}
    }

    /// The user's notification rows: (id, kind, case, occurrences, grouped, unread).
    fn rows(&self, user: i64) -> Vec<Row> {
        notifications::table
            .filter(notifications::user_id.eq(user))
            .order(notifications::id.asc())
            .select(Notification::as_select())
            .load(&mut *self.app.conn())
            .unwrap()
            .into_iter()
            .map(|n: Notification| {
                (
                    n.id,
                    n.kind,
                    n.case_id,
                    n.occurrences,
                    n.grouped,
                    n.read_at.is_none(),
                )
            })
            .collect()
    }

    /// (to, subject, body) of every stored message of `kind`.
    fn mails(&self, kind: &str) -> Vec<(String, String, String)> {
        outbox::table
            .filter(outbox::kind.eq(kind))
            .order(outbox::id.asc())
            .select((outbox::to_addr, outbox::subject, outbox::body_text))
            .load(&mut *self.app.conn())
            .unwrap()
    }

    fn digests(&self) -> usize {
        riskdesk::jobs::send_digests(&self.app.state).unwrap()
    }
}

/// The unread count the navigation shows on `path` (0 when it shows none).
fn badge(b: &Browser, path: &str) -> i64 {
    let html = b.get(path).text().unwrap();
    let Some(i) = html.find("class=\"bell\"") else {
        panic!("no bell on {path}");
    };
    let link = &html[i..i + html[i..].find("</a>").unwrap()];
    match link.find("<span class=\"count\">") {
        Some(j) => {
            let rest = &link[j + "<span class=\"count\">".len()..];
            rest[..rest.find('<').unwrap()].parse().unwrap()
        }
        None => 0,
    }
}

fn case_id(reference: &str) -> i64 {
    riskdesk::domain::reference::parse_case_ref(reference).unwrap()
}

/// Every kind with e-mail `email` and in-app `in_app`, as the profile form posts it.
fn choices(in_app: bool, email: &str) -> Vec<(String, String)> {
    let mut form = Vec::new();
    for k in KINDS {
        if in_app {
            form.push((format!("in_app.{k}"), "on".to_string()));
        }
        form.push((format!("email.{k}"), email.to_string()));
    }
    form
}

fn save_choices(b: &Browser, form: &[(String, String)]) -> reqwest::blocking::Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    b.submit("/profile", "/profile/notifications", &fields)
}

/// `form` with kind `kind` e-mailed `email`.
fn with_email(mut form: Vec<(String, String)>, kind: &str, email: &str) -> Vec<(String, String)> {
    for (name, value) in form.iter_mut() {
        if name == &format!("email.{kind}") {
            *value = email.to_string();
        }
    }
    form
}

#[test]
fn a_second_warning_about_the_same_case_updates_the_first() {
    let d = Desk::new(None);
    let (li, li_id) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let r = d.post("w-1", "C-1");
    // High on a 24/7 policy: first response 30 min, warnings at 75 % and 90 %.
    d.app.clock.advance(Duration::minutes(23));
    assert_eq!(d.watch(), 1);
    let rows = d.rows(li_id);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].3, 1);
    // Read, then the second warning: the same row, counted twice, unread again.
    let res = li.submit(
        "/notifications",
        &format!("/notifications/{}/read", rows[0].0),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(badge(&li, "/notifications"), 0);
    d.app.clock.advance(Duration::minutes(4));
    assert_eq!(d.watch(), 1);
    let again = d.rows(li_id);
    assert_eq!(again.len(), 1, "{again:?}");
    let (id, kind, case, count, grouped, unread) = &again[0];
    assert_eq!(
        (id, kind.as_str(), *case, *count, *grouped, *unread),
        (&rows[0].0, "sla.warning", Some(case_id(&r)), 2, false, true)
    );
    let html = li.get("/notifications").text().unwrap();
    assert!(
        html.contains("90% of the first response target used"),
        "{html}"
    );
    assert!(html.contains("×2"), "{html}");
    assert_eq!(badge(&li, "/notifications"), 1);
    // Each warning was still e-mailed to the agent at once (their default).
    let mails = d.mails("notification");
    assert_eq!(
        mails.iter().filter(|m| m.0 == "li@bank.example").count(),
        2,
        "{mails:?}"
    );
}

#[test]
fn forty_breaching_cases_give_a_supervisor_a_handful_of_grouped_notifications() {
    let d = Desk::new(None);
    let (sup, sup_id) = d.user("boss@bank.example", "supervisor");
    let refs: Vec<String> = (0..40)
        .map(|i| d.post(&format!("f-{i}"), &format!("C-{i}")))
        .collect();
    // Nobody online: each case waits too long (15 min), is warned at 75 % and 90 %
    // and breaches its first response (30 min) — 160 notices for the supervisor.
    d.app.clock.advance(Duration::minutes(16));
    d.watch_all();
    d.app.clock.advance(Duration::minutes(7));
    d.watch_all();
    d.app.clock.advance(Duration::minutes(4));
    d.watch_all();
    d.app.clock.advance(Duration::minutes(4));
    d.watch_all();
    let rows = d.rows(sup_id);
    let kinds: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        kinds,
        ["assignment.waiting_too_long", "sla.warning", "sla.breached"],
        "a handful, not 160: {rows:?}"
    );
    assert!(rows.iter().all(|r| r.4 && r.5), "grouped, unread: {rows:?}");
    let breached = rows.iter().find(|r| r.1 == "sla.breached").unwrap();
    assert_eq!(breached.3, 40, "the group counts its cases");
    // The count is exact: one per group.
    assert_eq!(badge(&sup, "/notifications"), rows.len() as i64);
    let html = sup.get("/notifications").text().unwrap();
    assert!(
        html.contains("Cases breached in Transfers since 2026-11-24 01:31: 40"),
        "{html}"
    );
    assert!(html.contains(&format!("/notifications/{}", breached.0)));
    // The group's page lists and links every case.
    let page = sup
        .get(&format!("/notifications/{}", breached.0))
        .text()
        .unwrap();
    for r in &refs {
        assert!(page.contains(&format!("href=\"/cases/{r}\"")), "{r}");
    }
    // Read, the next breach opens a new group.
    let res = sup.submit(
        "/notifications",
        &format!("/notifications/{}/read", breached.0),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(badge(&sup, "/notifications"), rows.len() as i64 - 1);
    d.post("f-late", "C-late");
    d.app.clock.advance(Duration::minutes(31));
    d.watch_all();
    let after = d.rows(sup_id);
    let open: Vec<_> = after
        .iter()
        .filter(|r| r.1 == "sla.breached" && r.5)
        .collect();
    assert_eq!(open.len(), 1, "{after:?}");
    assert_ne!(open[0].0, breached.0);
    // No e-mail each: the supervisor's breaches wait for the hourly digest.
    assert!(
        d.mails("notification")
            .iter()
            .all(|m| m.0 != "boss@bank.example")
    );
}

#[test]
fn marking_one_and_all_read_keeps_the_unread_count_exact() {
    let d = Desk::new(None);
    let (li, li_id) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    for i in 0..3 {
        d.post(&format!("m-{i}"), &format!("C-{i}"));
    }
    d.app.clock.advance(Duration::minutes(23));
    d.watch_all();
    let rows = d.rows(li_id);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(badge(&li, "/queues"), 3);
    let html = li.get("/notifications").text().unwrap();
    assert!(html.contains("3 unread"), "{html}");
    li.submit(
        "/notifications",
        &format!("/notifications/{}/read", rows[1].0),
        &[],
    );
    assert_eq!(badge(&li, "/queues"), 2);
    // Marking it again changes nothing.
    let res = li.submit(
        "/notifications",
        &format!("/notifications/{}/read", rows[1].0),
        &[],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(badge(&li, "/queues"), 2);
    let res = li.submit("/notifications", "/notifications/read", &[]);
    assert_eq!(res.status(), 303);
    assert_eq!(badge(&li, "/queues"), 0);
    assert!(d.rows(li_id).iter().all(|r| !r.5));
    // Without the form's token nothing is marked.
    d.app.clock.advance(Duration::minutes(4));
    d.watch_all();
    assert_eq!(badge(&li, "/queues"), 3);
    let res = li.post_raw(&format!("/notifications/{}/read", rows[0].0), &[]);
    assert_eq!(res.status(), 403);
    assert_eq!(badge(&li, "/queues"), 3);
}

#[test]
fn nobody_reads_or_marks_another_users_notifications() {
    let d = Desk::new(None);
    let (_boss, boss_id) = d.user("boss@bank.example", "supervisor");
    let (other, _) = d.user("other@bank.example", "supervisor");
    let (agent, _) = d.user("agent@bank.example", "agent");
    d.post("a-1", "C-1");
    d.app.clock.advance(Duration::minutes(31));
    d.watch_all();
    let mine = d.rows(boss_id);
    assert!(!mine.is_empty());
    for b in [&other, &agent] {
        for (id, ..) in &mine {
            assert_eq!(b.get(&format!("/notifications/{id}")).status(), 404);
            let res = b.submit("/notifications", &format!("/notifications/{id}/read"), &[]);
            assert_eq!(res.status(), 404);
        }
        assert_eq!(b.get("/notifications/999999").status(), 404);
    }
    assert!(d.rows(boss_id).iter().all(|r| r.5), "still unread");
    // Anonymous: to the sign-in page.
    let anon = d.app.browser();
    assert_eq!(
        anon.get(&format!("/notifications/{}", mine[0].0)).status(),
        303
    );
}

#[test]
fn choices_are_respected_and_bad_ones_change_nothing() {
    let d = Desk::new(None);
    let (li, li_id) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    // The profile shows the defaults: in the app, e-mail at once.
    let html = li.get("/profile").text().unwrap();
    assert!(html.contains("name=\"email.sla.warning\""), "{html}");
    // Bad input: each named, each refused with nothing changed.
    let good = choices(true, "off");
    for (field, value, says) in [
        (
            "email.sla.nonsense",
            "off",
            "There is no notification kind &#39;sla.nonsense&#39;",
        ),
        (
            "sms.sla.warning",
            "on",
            "&#39;sms.sla.warning&#39; is not a way to be notified",
        ),
        (
            "email.sla.warning",
            "weekly",
            "&#39;weekly&#39; is not an e-mail choice",
        ),
        ("email.oncall.paged", "off", "Pages always come through"),
    ] {
        let mut form = good.clone();
        form.push((field.to_string(), value.to_string()));
        let res = save_choices(&li, &form);
        assert_eq!(res.status(), 422, "{field}");
        let text = res.text().unwrap();
        assert!(text.contains(says), "{field}: {text}");
        assert_eq!(d.app.count("notification_prefs"), 0, "{field}");
    }
    // The same in Chinese.
    let res = li
        .client
        .post(d.app.url("/profile/notifications"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("email.sla.warning", "weekly"),
            ("csrf_token", &li.csrf_from("/profile")),
        ])
        .send()
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("不是有效的邮件选项"));
    // E-mail off for everything: warnings only in the app.
    let res = save_choices(&li, &good);
    assert_eq!(res.status(), 303);
    assert_eq!(d.app.count("notification_prefs"), KINDS.len() as i64);
    let html = li.get("/profile").text().unwrap();
    assert!(html.contains("<option value=\"off\" selected>"), "{html}");
    d.post("p-1", "C-1");
    d.app.clock.advance(Duration::minutes(23));
    d.watch_all();
    assert_eq!(d.rows(li_id).len(), 1);
    assert!(d.mails("notification").is_empty());
    // In-app off too: nothing at all.
    let res = save_choices(&li, &choices(false, "off"));
    assert_eq!(res.status(), 303);
    d.post("p-2", "C-2");
    d.app.clock.advance(Duration::minutes(23));
    d.watch_all();
    assert_eq!(d.rows(li_id).len(), 1);
    assert!(d.mails("notification").is_empty());
    let stored: Vec<bool> = notification_prefs::table
        .filter(notification_prefs::user_id.eq(li_id))
        .select(notification_prefs::in_app)
        .load(&mut *d.app.conn())
        .unwrap();
    assert!(stored.iter().all(|v| !v));
}

#[test]
fn hourly_and_daily_digests_come_once_after_their_hour() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink = SmtpSink::start(listener.try_clone().unwrap());
    let d = Desk::new(Some(listener.local_addr().unwrap().port()));
    let (li, _) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let form = with_email(choices(true, "immediately"), "sla.warning", "hourly");
    let form = with_email(form, "sla.breached", "daily");
    assert_eq!(save_choices(&li, &form).status(), 303);
    // 01:00: two warnings (01:23, 01:27) about two cases, then a breach at 01:30.
    let a = d.post("h-1", "C-1");
    let b = d.post("h-2", "C-2");
    d.app.clock.advance(Duration::minutes(23));
    d.watch_all();
    d.app.clock.advance(Duration::minutes(4));
    d.watch_all();
    d.app.clock.advance(Duration::minutes(3));
    d.watch_all();
    assert!(
        d.mails("notification")
            .iter()
            .all(|m| m.0 != "li@bank.example"),
        "no e-mail each"
    );
    // Before the hour: none.
    d.app.clock.advance(Duration::minutes(29));
    assert_eq!(d.digests(), 0);
    // Past it: one e-mail listing the warnings, once across two instances.
    d.app.clock.advance(Duration::minutes(1));
    let other = d.app.second_instance();
    assert_eq!(d.digests(), 1);
    assert_eq!(riskdesk::jobs::send_digests(&other.state).unwrap(), 0);
    assert_eq!(d.digests(), 0);
    let digests = d.mails("notification_digest");
    assert_eq!(digests.len(), 1, "{digests:?}");
    let (to, subject, body) = &digests[0];
    assert_eq!(to, "li@bank.example");
    assert_eq!(subject, "Risk desk digest: 4 notifications");
    assert!(
        body.contains(&format!(
            "[{a}] 90% of the first response target used. (×2)"
        )),
        "{body}"
    );
    assert!(body.contains(&format!("[{b}]")), "{body}");
    assert!(
        !body.contains("breached"),
        "the breaches wait for the daily: {body}"
    );
    assert!(
        body.contains("https://desk.bank.example/notifications"),
        "{body}"
    );
    // Through the SMTP server.
    riskdesk::jobs::send_outbox(&d.app.state).unwrap();
    assert!(
        sink.all()
            .iter()
            .any(|m| m.contains("Risk desk digest") && m.contains(&a)),
        "{:?}",
        sink.all()
    );
    // The daily digest: 08:00 (the user's zone, UTC here), not before.
    let at_eight = d
        .app
        .clock
        .now()
        .date_naive()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        .and_utc();
    d.app
        .clock
        .advance(at_eight - d.app.clock.now() - Duration::minutes(1));
    assert_eq!(d.digests(), 0);
    d.app.clock.advance(Duration::minutes(1));
    assert_eq!(d.digests(), 1);
    assert_eq!(d.digests(), 0);
    let digests = d.mails("notification_digest");
    assert_eq!(digests.len(), 2);
    assert!(digests[1].2.contains(&format!("[{a}]")) && digests[1].2.contains(&format!("[{b}]")));
    assert!(digests[1].2.contains("breached"), "{}", digests[1].2);
}

#[test]
fn pages_always_come_through() {
    let d = Desk::new(None);
    let (sup, sup_id) = d.user("olga@bank.example", "supervisor");
    assert_eq!(save_choices(&sup, &choices(false, "off")).status(), 303);
    let r = d.post("pg-1", "C-1");
    let page = |reason: &str| {
        let mut conn = d.app.conn();
        riskdesk::cases::notices::page(
            &mut conn,
            &[sup_id],
            d.app.clock.now(),
            case_id(&r),
            &json!({"case_ref": r, "reason": reason}),
        )
        .unwrap();
    };
    page("Critical case breached");
    page("Still nobody answered");
    let rows = d.rows(sup_id);
    assert_eq!(rows.len(), 2, "each page a row of its own: {rows:?}");
    assert!(rows.iter().all(|r| r.1 == "oncall.paged" && r.5));
    let mails = d.mails("notification");
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().all(|m| m.0 == "olga@bank.example"));
    assert!(mails[0].1.contains("You are paged about"), "{mails:?}");
    let html = sup.get("/notifications").text().unwrap();
    assert!(
        html.contains(&format!("You are paged about {r}: Still nobody answered")),
        "{html}"
    );
    assert_eq!(badge(&sup, "/notifications"), 2);
    // The kind is not a choice.
    let html = sup.get("/profile").text().unwrap();
    assert!(!html.contains("oncall.paged"));
}
