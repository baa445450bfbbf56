// The supervisor's reports against cases with known timelines: business hours,
// pauses, late first responses, a reopening, verification by call and e-mail, a
// survey; the facts kept by the job equal a full recount; who may see what; CSV.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::assignment::{desk_config, presence};
use crate::common::{Browser, TestApp, location, query_value};
use crate::intake::alert;
use riskdesk::reports::facts::FactRow;

/// The assignment tests' desk, with Transfers held to a service level of 50 %.
pub(crate) fn desk() -> (TestApp, String) {
    // The story spans two days: sessions outlive it.
    let app = TestApp::spawn_with(|s| {
        s.session_idle = Duration::days(7);
        s.session_max = Duration::days(7);
    });
    let config = desk_config().replace(
        "escalation_queue = \"Escalations\"\n",
        "escalation_queue = \"Escalations\"\nservice_level = 50\n",
    );
    assert!(config.contains("service_level = 50"));
    app.apply_config(&config);
    let key = app.api_key();
    (app, key)
}

/// Runs the reports' job as a background worker would, until it has had its turn.
pub(crate) fn catch_up(app: &TestApp) -> usize {
    loop {
        match riskdesk::jobs::refresh_report_facts(&app.state, "test") {
            Ok(Some(n)) => return n,
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(e) => panic!("{e}"),
        }
    }
}

/// The supervisor, signed in, whose reports' days are Shanghai's.
fn shanghai_supervisor(app: &TestApp) -> Browser {
    let boss = app.signed_in("supervisor");
    use riskdesk::db::schema::users;
    diesel::update(users::table.filter(users::role.eq("supervisor")))
        .set(users::timezone.eq(Some("Asia/Shanghai")))
        .execute(&mut *app.conn())
        .unwrap();
    boss
}

fn post(
    app: &TestApp,
    key: &str,
    id: &str,
    rule: &str,
    customer: &str,
    amount: Option<&str>,
) -> String {
    let mut a = alert(id, rule, customer);
    if let Some(v) = amount {
        a["amount"] = json!({"value": v, "currency": "CNY"});
    }
    let (s, r) = app.post_api(key, "/api/v1/alerts", &a);
    assert_eq!(s, 201, "{r}");
    r["case_ref"].as_str().unwrap().to_string()
}

fn call(b: &Browser, reference: &str, outcome: &str) {
    let page = format!("/cases/{reference}");
    let res = b.submit(
        &page,
        &format!("{page}/calls"),
        &[
            ("number", "phone"),
            ("direction", "outbound"),
            ("outcome", outcome),
        ],
    );
    assert_eq!(res.status(), 303);
}

pub(crate) fn resolve(b: &Browser, reference: &str, disposition: &str, action: &str, amount: &str) {
    let page = format!("/cases/{reference}");
    let res = b.submit(
        &page,
        &format!("{page}/resolve"),
        &[
            ("disposition", disposition),
            ("action", action),
            ("amount_protected", amount),
            ("note", "Closed for the report test."),
        ],
    );
    assert_eq!(res.status(), 303);
}

fn case_id(reference: &str) -> i64 {
    riskdesk::store::cases::parse_case_ref(reference).unwrap()
}

/// The secret of the newest customer link of `kind` (`v` or `s`) in the outbox.
fn link_secret(app: &TestApp, reference: &str, kind: char) -> String {
    use riskdesk::db::schema::outbox;
    let bodies: Vec<String> = outbox::table
        .filter(outbox::case_id.eq(case_id(reference)))
        .order(outbox::id.desc())
        .select(outbox::body_text)
        .load(&mut *app.conn())
        .unwrap();
    let marker = format!("/{kind}/");
    for body in bodies {
        if let Some(i) = body.find(&marker) {
            return body[i + 3..i + 3 + 43].to_string();
        }
    }
    panic!("no /{kind}/ link for {reference}");
}

fn customer_answer(app: &TestApp, path: &str, fields: &[(&str, &str)]) {
    let cust = app.browser();
    let res = cust.submit(path, path, fields);
    // The customer's thanks page.
    assert_eq!(res.status(), 200);
}

fn all_facts(app: &TestApp) -> Vec<FactRow> {
    use riskdesk::db::schema::case_facts;
    let mut rows: Vec<FactRow> = case_facts::table
        .order(case_facts::case_id.asc())
        .select(FactRow::as_select())
        .load(&mut *app.conn())
        .unwrap();
    for r in &mut rows {
        r.computed_at = chrono::NaiveDateTime::default();
    }
    rows
}

/// The story behind every figure (t0 = Tuesday 24 November 2026, 09:00 Shanghai):
///
/// - B (Transfers, 24/7, high): opened t0 while Li is offline; Li comes at +20; her
///   first call at +50 is 20 minutes late; the clock stands +60 to +150 (90 minutes,
///   of which the 60-minute allowance counts); confirmed fraud at +320, 20 minutes
///   after its deadline (+300). 20 minutes unassigned, 210 with Li, 90 on the customer;
///   after the missed first response (+30): 200 with Li, 90 on the customer.
/// - A (Transfers): opened +20, a verified call at +30, a false positive at +80
///   (1200.00 CNY), the customer rates it 5; reopened on Wednesday 10:10 and closed
///   again 20 minutes later without a call: its new round took 20 minutes.
/// - E (Transfers): opened +20, a false positive at +40 without any contact.
/// - C (New accounts, office hours 09–12, 13–21): opened t0, a call at 11:30 (150
///   business minutes), a verification e-mail at 12:20 (lunch) answered "it was me"
///   at 13:20 (20 business minutes paused), a false positive on Wednesday 10:00:
///   720 business minutes less 20 paused.
struct Story {
    app: TestApp,
    key: String,
    boss: Browser,
    li: Browser,
    li_id: i64,
    wang: Browser,
    wang_id: i64,
    refs: [String; 4],
}

fn story(check_each_step: bool) -> Story {
    let (app, key) = desk();
    let step = |app: &TestApp| {
        if check_each_step {
            catch_up(app);
        }
    };
    let (li, li_id) = app.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    let (wang, wang_id) = app.agent("wang@bank.example", &["New accounts"], &[], 5);
    presence(&wang, "online");
    let boss = shanghai_supervisor(&app);
    let clock = &app.clock;
    let b = post(&app, &key, "r-b", "LARGE_TRANSFER", "C-2", Some("5000.00"));
    let c = post(&app, &key, "r-c", "NEW_ACCOUNT_BURST", "C-3", None);
    step(&app);
    clock.advance(Duration::minutes(20));
    presence(&li, "online");
    let a = post(&app, &key, "r-a", "LARGE_TRANSFER", "C-1", Some("1200.00"));
    let e = post(&app, &key, "r-e", "LARGE_TRANSFER", "C-5", None);
    step(&app);
    clock.advance(Duration::minutes(10)); // +30
    call(&li, &a, "verified");
    clock.advance(Duration::minutes(10)); // +40
    resolve(&li, &e, "false_positive", "released", "");
    step(&app);
    clock.advance(Duration::minutes(10)); // +50
    call(&li, &b, "no_answer");
    clock.advance(Duration::minutes(10)); // +60
    riskdesk::cases::clock::pause(
        &mut app.conn(),
        clock.now(),
        Some(li_id),
        case_id(&b),
        "waiting for documents",
    )
    .unwrap();
    step(&app);
    clock.advance(Duration::minutes(20)); // +80
    resolve(&li, &a, "false_positive", "released", "1200.00");
    clock.advance(Duration::minutes(10)); // +90
    let survey = format!("/s/{}", link_secret(&app, &a, 's'));
    customer_answer(&app, &survey, &[("score", "5")]);
    step(&app);
    clock.advance(Duration::minutes(60)); // +150, 11:30 local
    riskdesk::cases::clock::resume(
        &mut app.conn(),
        clock.now(),
        Some(li_id),
        case_id(&b),
        riskdesk::domain::events::ResumeCause::Manual,
    )
    .unwrap();
    call(&wang, &c, "voicemail");
    step(&app);
    clock.advance(Duration::minutes(50)); // +200, 12:20 local
    let page = format!("/cases/{c}");
    let res = wang.submit(
        &format!("{page}/verify-email"),
        &format!("{page}/verify-email"),
        &[("template", "verification")],
    );
    assert_eq!(res.status(), 303);
    step(&app);
    clock.advance(Duration::minutes(60)); // +260, 13:20 local
    let verify = format!("/v/{}", link_secret(&app, &c, 'v'));
    customer_answer(&app, &verify, &[("answer", "confirm")]);
    step(&app);
    clock.advance(Duration::minutes(60)); // +320
    resolve(&li, &b, "confirmed_fraud", "blocked", "5000.00");
    step(&app);
    // Wednesday 10:00 Shanghai.
    clock.advance(Duration::minutes(25 * 60 - 320));
    resolve(&wang, &c, "false_positive", "released", "");
    clock.advance(Duration::minutes(10));
    let res = boss.submit(
        &format!("/cases/{a}"),
        &format!("/cases/{a}/reopen"),
        &[("reason", "The customer complains about the hold.")],
    );
    assert_eq!(res.status(), 303);
    step(&app);
    clock.advance(Duration::minutes(20));
    resolve(&li, &a, "false_positive", "released", "1200.00");
    catch_up(&app);
    Story {
        app,
        key,
        boss,
        li,
        li_id,
        wang,
        wang_id,
        refs: [a, b, c, e],
    }
}

const PERIOD: &str = "period=range&from=2026-11-24&to=2026-11-25";

pub(crate) fn text(b: &Browser, path: &str) -> (u16, String) {
    let res = b.get(path);
    (res.status().as_u16(), res.text().unwrap())
}

fn fact(app: &TestApp, reference: &str) -> FactRow {
    all_facts(app)
        .into_iter()
        .find(|f| f.case_id == case_id(reference))
        .unwrap()
}

#[test]
fn every_fact_comes_from_the_timeline() {
    let s = story(false);
    let [a, b, c, e] = &s.refs;
    let fb = fact(&s.app, b);
    assert_eq!(fb.first_response_secs, Some(50 * 60));
    assert_eq!(fb.first_response_met, Some(false));
    assert_eq!(fb.resolution_secs, Some(260 * 60));
    assert_eq!(fb.resolution_met, Some(false));
    assert_eq!(
        (fb.unassigned_secs, fb.agent_secs, fb.customer_secs),
        (20 * 60, 210 * 60, 90 * 60)
    );
    assert_eq!(
        (
            fb.breach_unassigned_secs,
            fb.breach_agent_secs,
            fb.breach_customer_secs
        ),
        (0, 200 * 60, 90 * 60)
    );
    assert_eq!(fb.disposition.as_deref(), Some("confirmed_fraud"));
    assert_eq!(fb.amount_protected.as_deref(), Some("5000.00"));
    assert_eq!((fb.calls, fb.calls_reached), (1, 0));
    assert!(!fb.survey_sent);
    assert_eq!(fb.agent_id, Some(s.li_id));

    let fa = fact(&s.app, a);
    assert_eq!(fa.reopen_count, 1);
    assert_eq!(fa.first_response_secs, Some(20 * 60));
    assert_eq!(fa.resolution_secs, Some(20 * 60));
    assert_eq!(
        (fa.first_response_met, fa.resolution_met),
        (Some(true), Some(true))
    );
    assert!(fa.customer_confirmed);
    assert_eq!(fa.survey_score, Some(5));
    assert_eq!((fa.calls, fa.calls_reached), (1, 1));

    let fc = fact(&s.app, c);
    assert_eq!(fc.first_response_secs, Some(150 * 60));
    assert_eq!(fc.resolution_secs, Some(700 * 60));
    assert_eq!((fc.agent_secs, fc.customer_secs), (700 * 60, 20 * 60));
    assert_eq!((fc.emails, fc.emails_answered), (1, 1));
    assert!(fc.customer_confirmed && fc.survey_sent && fc.survey_score.is_none());
    assert_eq!(fc.agent_id, Some(s.wang_id));

    let fe = fact(&s.app, e);
    assert_eq!(fe.first_response_secs, Some(20 * 60));
    assert!(!fe.customer_confirmed);
}

#[test]
fn the_kept_facts_equal_a_full_recount() {
    let s = story(true);
    let kept = all_facts(&s.app);
    assert_eq!(kept.len(), 4);
    let mut conn = s.app.conn();
    let snap = s.app.state.desk.get(&mut conn).unwrap();
    // Wipe and count everything again from the cases and their timelines.
    diesel::delete(riskdesk::db::schema::case_facts::table)
        .execute(&mut *conn)
        .unwrap();
    let n = riskdesk::reports::store::refresh_all(&mut conn, &snap, s.app.clock.now()).unwrap();
    assert_eq!(n, 4);
    drop(conn);
    assert_eq!(all_facts(&s.app), kept);
    // Nothing changed since: the job has nothing stale to write... after the overlap.
    s.app.clock.advance(Duration::minutes(1));
    catch_up(&s.app);
    assert_eq!(all_facts(&s.app), kept);
}

#[test]
fn compliance_figures() {
    let s = story(false);
    let (status, html) = text(&s.boss, &format!("/reports?{PERIOD}"));
    assert_eq!(status, 200, "{html}");
    // Four cases resolved; 3 of 4 on time for both clocks.
    assert!(html.contains("<dd><a href=\"/reports/cases?period=range&#38;from=2026-11-24&#38;to=2026-11-25&#38;measure=resolved\">4</a></dd>"), "{html}");
    assert!(html.contains(">75.0 %<"), "{html}");
    // Medians (nearest rank) and the 90th percentile of resolution.
    assert!(
        html.contains(">0:20:00<") && html.contains(">11:40:00<"),
        "{html}"
    );
    // Transfers: 2 of 3 on time against 50 %: met; New accounts 100 % against 90 %.
    assert!(html.contains(">66.7 %<") && html.contains(">50 %<") && html.contains(">90 %<"));
    assert!(html.contains(">100.0 %<"));
    // Where B's late time went: 3:20:00 with Li, 1:30:00 on the customer.
    assert!(html.contains("3:20:00 (69.0 %)"), "{html}");
    assert!(html.contains("1:30:00 (31.0 %)"), "{html}");
    assert!(html.contains("0:00:00 (0.0 %)"), "{html}");
    // Charts are drawn on the server and described.
    assert!(html.contains("<svg") && html.contains("role=\"img\"") && html.contains("<title>"));
    assert!(!html.contains("<script src=\"http"));
    // A figure leads to its cases.
    let (status, list) = text(
        &s.boss,
        &format!("/reports/cases?{PERIOD}&measure=res_missed"),
    );
    assert_eq!(status, 200);
    assert!(
        list.contains(&format!("href=\"/cases/{}\"", s.refs[1])),
        "{list}"
    );
    for other in [&s.refs[0], &s.refs[2], &s.refs[3]] {
        assert!(
            !list.contains(&format!("/cases/{other}\"")),
            "{other}: {list}"
        );
    }
    // Masked, never plain.
    assert!(
        list.contains("王*") && list.contains("+86 138****8000"),
        "{list}"
    );
    assert!(!list.contains("13800138000") && !list.contains("wei@example.com"));
    // By queue, agent, rule, priority: the queue filter narrows it.
    let (_, transfers) = text(&s.boss, &format!("/reports?{PERIOD}&queue=Transfers"));
    assert!(transfers.contains(">66.7 %<"));
    assert!(!transfers.contains(">New accounts</th>"));
    // Chinese.
    let res = s.boss.get_lang(&format!("/reports?{PERIOD}"), "zh-CN");
    let zh = res.text().unwrap();
    assert!(zh.contains("超时时间的去向"), "{zh}");
    assert!(!zh.contains("Where breached time went"), "{zh}");
}

#[test]
fn outcome_figures() {
    let s = story(false);
    let (status, html) = text(&s.boss, &format!("/reports/outcomes?{PERIOD}"));
    assert_eq!(status, 200, "{html}");
    // LARGE_TRANSFER: 3 resolved, 2 false positives (1 confirmed): 66.7 % / 33.3 %.
    assert!(
        html.contains(">66.7 %<") && html.contains(">33.3 %<"),
        "{html}"
    );
    // Money per currency.
    assert!(
        html.contains(">6200.00<") && html.contains(">5000.00<"),
        "{html}"
    );
    // Reopen rate 1 of 4; reach 2 of 3 cases; surveys 1 of 3 answered, scoring 5.
    assert!(html.contains(">25.0 %<"), "{html}");
    assert!(html.contains(">5.00<"), "{html}");
    // Volume: 4 cases and 4 alerts on the 24th, none on the 25th.
    assert!(html.contains("<th scope=\"row\">2026-11-24</th>"), "{html}");
    assert!(
        html.contains("measure=opened&#38;day=2026-11-24\">4</a>"),
        "{html}"
    );
    let (_, fp) = text(
        &s.boss,
        &format!("/reports/cases?{PERIOD}&measure=customer_confirmed"),
    );
    assert!(fp.contains(&s.refs[0]) && fp.contains(&s.refs[2]) && !fp.contains(&s.refs[3]));
    let (_, reached) = text(&s.boss, &format!("/reports/cases?{PERIOD}&measure=reached"));
    assert!(reached.contains(&s.refs[0]) && reached.contains(&s.refs[2]));
    assert!(!reached.contains(&format!("/cases/{}\"", s.refs[1])));
    // The satisfaction CSV: 3 sent, 1 answered, 33.3 %, 5.00.
    let csv = s
        .boss
        .get(&format!("/reports/export/satisfaction_rule.csv?{PERIOD}"))
        .text()
        .unwrap();
    assert!(csv.contains("LARGE_TRANSFER,2,1,50.0 %,5.00"), "{csv}");
    assert!(csv.contains("NEW_ACCOUNT_BURST,1,0,0.0 %,–"), "{csv}");
    let reach = s
        .boss
        .get(&format!("/reports/export/reach.csv?{PERIOD}"))
        .text()
        .unwrap();
    assert!(reach.contains(",2,3,66.7 %"), "{reach}");
    assert!(reach.contains(",1,3,33.3 %"), "{reach}");
    assert!(reach.contains(",1,1,100.0 %"), "{reach}");
}

#[test]
fn who_may_see_the_reports() {
    let s = story(false);
    for path in [
        format!("/reports?{PERIOD}"),
        "/reports/outcomes".to_string(),
        "/reports/cases?measure=resolved".to_string(),
        "/reports/export/cases.csv".to_string(),
        "/reports/export/compliance_queue.csv".to_string(),
    ] {
        assert_eq!(s.li.get(&path).status(), 403, "{path}");
        assert_eq!(s.boss.get(&path).status(), 200, "{path}");
        let anon = s.app.browser().get(&path);
        assert_eq!(anon.status(), 303, "{path}");
        assert_eq!(
            location(&anon),
            format!("/login?next={}", query_value(&path)),
            "{path}"
        );
    }
    // An agent reaches their own page, without links to the supervisors' lists.
    let own = format!("/reports/agents/{}?{PERIOD}", s.li_id);
    let (status, html) = text(&s.li, &own);
    assert_eq!(status, 200);
    assert!(!html.contains("/reports/cases") && !html.contains("/reports/export"));
    assert!(!html.contains(">Reports</a>"), "no nav link for agents");
    // ... and never another agent's.
    let other = format!("/reports/agents/{}", s.wang_id);
    assert_eq!(s.li.get(&other).status(), 404);
    assert_eq!(s.wang.get(&own).status(), 404);
    // Supervisors see any agent's, with the figures linked.
    let (status, html) = text(&s.boss, &own);
    assert_eq!(status, 200);
    assert!(
        html.contains("/reports/cases?") && html.contains("agent="),
        "{html}"
    );
    assert_eq!(s.boss.get("/reports/agents/999999").status(), 404);
    // The nav link is there for supervisors.
    let (_, page) = text(&s.boss, "/reports");
    assert!(page.contains("href=\"/reports\""));
    let _ = &s.key;
}

#[test]
fn bad_parameters_are_named() {
    let s = story(false);
    for (query, param) in [
        ("period=week", "period"),
        ("period=range&from=2026-11-24", "to"),
        ("from=24.11.2026&to=2026-11-25", "from"),
        ("from=2026-11-25&to=2026-11-24", "to"),
        ("queue=Nowhere", "queue"),
        ("agent=abc", "agent"),
        ("rule=NOPE", "rule"),
        ("priority=urgent", "priority"),
        ("measure=everything", "measure"),
        ("cursor=zz", "cursor"),
        ("limit=5000", "limit"),
        ("period=7d&day=1999-01-01", "day"),
    ] {
        for base in [
            "/reports",
            "/reports/outcomes",
            "/reports/cases",
            "/reports/export/cases.csv",
        ] {
            let (status, html) = text(&s.boss, &format!("{base}?{query}"));
            assert_eq!(status, 400, "{base}?{query}");
            assert!(
                html.contains(&format!("“{param}”")),
                "{base}?{query}: {html}"
            );
        }
    }
    assert_eq!(s.boss.get("/reports/export/nothing.csv").status(), 404);
}

#[test]
fn csv_exports_are_streamed_with_a_bom_quoted_and_masked() {
    let s = story(false);
    let res = s.boss.get(&format!(
        "/reports/export/cases.csv?{PERIOD}&measure=resolved"
    ));
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("cases-2026-11-24-2026-11-25.csv")
    );
    let bytes = res.bytes().unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let body = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 5, "{body}");
    assert!(lines[0].starts_with("Case,Rule,Queue"), "{body}");
    // Masked.
    assert!(body.contains("王* · +86 138****8000"), "{body}");
    assert!(!body.contains("13800138000") && !body.contains("wei@example.com"));
    // Every record has as many fields as the header (nothing unquoted has a comma).
    let fields = |l: &str| {
        let mut n = 1;
        let mut quoted = false;
        for c in l.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => n += 1,
                _ => {}
            }
        }
        n
    };
    for l in &lines {
        assert_eq!(fields(l), 17, "{l}");
    }
    // Names with commas and quotes are quoted, and a cell a spreadsheet would run
    // as a formula is defused (an aggregate table, in Chinese too).
    {
        use riskdesk::db::schema::users;
        let mut conn = s.app.conn();
        diesel::update(users::table.find(s.li_id))
            .set(users::name.eq("Li, \"Na\""))
            .execute(&mut *conn)
            .unwrap();
        diesel::update(users::table.find(s.wang_id))
            .set(users::name.eq("=HYPERLINK(\"x\")"))
            .execute(&mut *conn)
            .unwrap();
    }
    let res = s.boss.get_lang(
        &format!("/reports/export/compliance_agent.csv?{PERIOD}"),
        "zh-CN",
    );
    let body = res.text().unwrap();
    assert!(body.starts_with('\u{feff}'));
    assert!(body.contains("处理人,办结案件"), "{body}");
    assert!(body.contains("\"Li, \"\"Na\"\"\",3,"), "{body}");
    assert!(body.contains("'=HYPERLINK(\"\"x\"\")"), "{body}");
    let res = s
        .boss
        .get(&format!("/reports/export/volume.csv?{PERIOD}"))
        .text()
        .unwrap();
    assert!(res.contains("2026-11-24,4,4,"), "{res}");
    assert!(res.contains("2026-11-25,0,0,"), "{res}");
    // The database's per-day counts follow the filters too.
    let res = s
        .boss
        .get(&format!(
            "/reports/export/volume.csv?{PERIOD}&rule=NEW_ACCOUNT_BURST"
        ))
        .text()
        .unwrap();
    assert!(res.contains("2026-11-24,1,1,"), "{res}");
    assert!(!res.contains("LARGE_TRANSFER"), "{res}");
}

#[test]
fn a_service_level_goes_through_the_configuration_file() {
    let (app, _) = desk();
    let mut conn = app.conn();
    let text = riskdesk::desk::export(&mut conn).unwrap();
    assert!(text.contains("service_level = 50"), "{text}");
    assert_eq!(text.matches("escalation_queue").count(), 1, "{text}");
    let bad = text.replace("service_level = 50", "service_level = 0");
    drop(conn);
    let mut conn = app.conn();
    let err = riskdesk::desk::apply_text(
        &mut conn,
        app.clock.now(),
        &riskdesk::accounts::Actor::cli(),
        &bad,
        false,
    )
    .unwrap_err();
    assert!(format!("{err:?}").contains("service_level"), "{err:?}");
    let _: Value = json!(null);
}

/// The texts of the cells of `rule`'s row in the table under `<h2 id="{table}">`.
pub(crate) fn table_row(html: &str, table: &str, rule: &str) -> Vec<String> {
    let start = html
        .find(&format!("<h2 id=\"{table}\">"))
        .unwrap_or_else(|| panic!("no table {table}: {html}"));
    let tbl = &html[start..];
    let tbl = &tbl[..tbl.find("</table>").unwrap()];
    // The row's label, linked or not.
    let row = tbl
        .match_indices("<th scope=\"row\">")
        .map(|(i, _)| &tbl[i..])
        .find(|r| {
            let head = &r[..r.find("</th>").unwrap()];
            head.ends_with(&format!(">{rule}")) || head.ends_with(&format!(">{rule}</a>"))
        })
        .unwrap_or_else(|| panic!("no row {rule}: {tbl}"));
    let row = &row[..row.find("</tr>").unwrap()];
    row.split("<td>")
        .skip(1)
        .map(|c| {
            // The cell's text without its link.
            let c = &c[..c.find("</td>").unwrap()];
            let mut text = String::new();
            let mut in_tag = false;
            for ch in c.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    _ if !in_tag => text.push(ch),
                    _ => {}
                }
            }
            text
        })
        .collect()
}

/// One rule, four closings: a false positive, confirmed fraud, a duplicate and a
/// customer who could not be reached. The rule was wrong in 1 of the 2 cases that
/// tell: 50 %, with 1 unknown beside it — not 1 in 4 (25 %). A rule with no case
/// that tells has no rate at all.
#[test]
fn the_false_positive_rate_counts_only_the_cases_that_tell() {
    let (app, key) = desk();
    let (li, _) = app.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let boss = app.signed_in("supervisor");
    let refs: Vec<String> = (1..=4)
        .map(|i| {
            let (id, customer) = (format!("fp-{i}"), format!("C-{i}"));
            post(&app, &key, &id, "LARGE_TRANSFER", &customer, None)
        })
        .collect();
    let burst = post(&app, &key, "fp-5", "NEW_ACCOUNT_BURST", "C-5", None);
    app.clock.advance(Duration::minutes(10));
    resolve(&li, &refs[0], "false_positive", "released", "");
    resolve(&li, &refs[1], "confirmed_fraud", "blocked", "");
    resolve(&li, &refs[2], "duplicate", "no_action", "");
    resolve(&li, &refs[3], "unreachable", "blocked", "");
    // The burst rule's only case repeats another: nothing tells about that rule.
    let wang = app.signed_in("supervisor");
    resolve(&wang, &burst, "duplicate", "no_action", "");
    catch_up(&app);

    let (status, html) = text(&boss, &format!("/reports/outcomes?{PERIOD}"));
    assert_eq!(status, 200, "{html}");
    // Resolved, false positives, of which customer-confirmed, the rate, the
    // confirmed rate, unknown (unreachable), confirmed fraud, AML, duplicates.
    assert_eq!(
        table_row(&html, "false_positives", "LARGE_TRANSFER"),
        ["4", "1", "0", "50.0 %", "0.0 %", "1", "1", "0", "1"],
        "{html}"
    );
    assert_eq!(
        table_row(&html, "false_positives", "NEW_ACCOUNT_BURST"),
        ["1", "0", "0", "–", "–", "0", "0", "0", "1"],
        "{html}"
    );
    assert!(html.contains("Unknown (unreachable)"), "{html}");
    // Each rule's row leads to its quality page over the same period.
    assert!(
        html.contains("href=\"/reports/rules/LARGE_TRANSFER?period=range&#38;from=2026-11-24&#38;to=2026-11-25\""),
        "{html}"
    );
    // The bar says the same, with the unknown beside it.
    assert!(
        html.contains(">50.0 % (0.0 % confirmed) · 1 unknown<"),
        "{html}"
    );
    // The unknown count leads to the unreachable case.
    let (_, unknown) = text(&boss, &format!("/reports/cases?{PERIOD}&measure=unknown"));
    assert!(
        unknown.contains(&format!("/cases/{}\"", refs[3])),
        "{unknown}"
    );
    for other in [&refs[0], &refs[1], &refs[2]] {
        assert!(!unknown.contains(&format!("/cases/{other}\"")), "{unknown}");
    }

    let csv = boss
        .get(&format!("/reports/export/false_positives.csv?{PERIOD}"))
        .text()
        .unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "Rule,Cases resolved,False positives,False positives confirmed by the customer,\
         False-positive rate,Customer-confirmed false-positive rate,Unknown (unreachable),\
         Confirmed fraud,Escalated to AML,Duplicate",
        "{csv}"
    );
    assert!(
        lines.contains(&"LARGE_TRANSFER,4,1,0,50.0 %,0.0 %,1,1,0,1"),
        "{csv}"
    );
    assert!(
        lines.contains(&"NEW_ACCOUNT_BURST,1,0,0,–,–,0,0,0,1"),
        "{csv}"
    );
    // In Chinese too.
    let zh = boss
        .get_lang(
            &format!("/reports/export/false_positives.csv?{PERIOD}"),
            "zh-CN",
        )
        .text()
        .unwrap();
    assert!(zh.contains("未知（无法联系）"), "{zh}");
    assert!(
        zh.contains("LARGE_TRANSFER,4,1,0,50.0 %,0.0 %,1,1,0,1"),
        "{zh}"
    );
}

/// The outcomes PostgreSQL counts in one grouped scan equal the outcomes counted
/// case by case over the same facts: dispositions the desk does not know, cases
/// without an agent, several currencies, cases resolved outside the period; with
/// each filter. Amounts that do not read as decimals (written by hand) send the
/// report back to reading the facts one by one. SQLite's reports count case by
/// case; there the figures are checked against the ones worked out by hand below.
#[test]
fn the_outcomes_counted_by_the_database_equal_those_counted_case_by_case() {
    use riskdesk::reports::figures::{self, Key};
    use riskdesk::reports::period::{Kind, Period};
    use riskdesk::reports::store::{self as facts, Filter, Reads};
    let (app, key) = desk();
    const N: usize = 21;
    for i in 0..N {
        let rule = if i % 3 == 0 {
            "NEW_ACCOUNT_BURST"
        } else {
            "LARGE_TRANSFER"
        };
        post(
            &app,
            &key,
            &format!("oc-{i}"),
            rule,
            &format!("cust-oc-{i}"),
            None,
        );
    }
    catch_up(&app);
    let mut conn = app.conn();
    let cases: Vec<(i64, i64, String)> = riskdesk::db::schema::cases::table
        .order(riskdesk::db::schema::cases::id.asc())
        .select((
            riskdesk::db::schema::cases::id,
            riskdesk::db::schema::cases::queue_id,
            riskdesk::db::schema::cases::rule_code,
        ))
        .load(&mut *conn)
        .unwrap();
    assert_eq!(cases.len(), N);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let period = Period::of_days(Kind::Range, day, day, chrono_tz::Asia::Shanghai);
    let inside = riskdesk::store::to_db(period.start + Duration::hours(2));
    let dispositions = [
        Some("false_positive"),
        Some("confirmed_fraud"),
        Some("escalated_aml"),
        Some("duplicate"),
        Some("unreachable"),
        Some("no_such_disposition"),
        None,
    ];
    let amounts = [
        Some("1200.00"),
        Some("0.125"),
        Some("abc"),
        Some("1.1234567"),
        None,
        Some("-5"),
        Some(" 7.5 "),
    ];
    let currencies = [Some("CNY"), Some("USD"), None];
    let scores = [None, Some(5), Some(1), Some(-1)];
    let rows: Vec<FactRow> = cases
        .iter()
        .enumerate()
        .map(|(i, (id, queue, rule))| FactRow {
            case_id: *id,
            queue_id: *queue,
            rule_code: rule.clone(),
            agent_id: (i % 4 != 0).then_some(100 + (i % 3) as i64),
            priority: if i % 2 == 0 { "high" } else { "low" }.into(),
            opened_at: inside,
            // The last case was resolved the day after: outside the period.
            resolved_at: Some(if i == N - 1 {
                inside + Duration::days(1)
            } else {
                inside
            }),
            first_response_secs: None,
            resolution_secs: None,
            first_response_met: None,
            resolution_met: None,
            unassigned_secs: 0,
            agent_secs: 0,
            customer_secs: 0,
            breach_unassigned_secs: 0,
            breach_agent_secs: 0,
            breach_customer_secs: 0,
            disposition: dispositions[i % 7].map(str::to_string),
            customer_confirmed: i % 2 == 0,
            amount_protected: amounts[(i / 2) % 7].map(str::to_string),
            currency: currencies[i % 3].map(str::to_string),
            reopen_count: (i % 3) as i32,
            alert_count: 1,
            calls: (i % 4) as i32,
            calls_reached: (i % 2) as i32,
            emails: (i % 5 == 0) as i32,
            emails_answered: 0,
            survey_sent: i % 2 == 1,
            survey_score: scores[i % 4],
            case_updated_at: inside,
            computed_at: inside,
        })
        .collect();
    facts::upsert(&mut conn, &rows).unwrap();
    let reads = Reads {
        outcomes: true,
        ..Default::default()
    };
    let one_by_one = |conn: &mut riskdesk::db::DbConn, f: &Filter| {
        figures::outcomes(&facts::resolved_in(conn, None, &period, f, reads).unwrap())
    };
    let all = one_by_one(&mut conn, &Filter::default());
    // Worked out by hand over the 20 cases resolved in the period (i = 0..=19).
    assert_eq!(all.resolved, 20);
    // Reopened: i % 3 != 0.
    assert_eq!(all.reopened, 13);
    // Confirmed fraud: i % 7 == 1, i.e. 1, 8, 15.
    assert_eq!(all.confirmed_fraud, 3);
    let total: u64 = all.rules.iter().map(|r| r.resolved).sum();
    assert_eq!(total, 20);
    // Money: amounts a decimal reads, with a currency (i % 3 != 2): CNY at i % 3 == 0,
    // USD at i % 3 == 1. Amount index (i / 2) % 7.
    let cny = all.money.iter().find(|m| m.currency == "CNY").unwrap();
    let usd = all.money.iter().find(|m| m.currency == "USD").unwrap();
    // CNY: i = 0 (1200.00), 3 (0.125), 6 (1.1234567: refused), 9 (none), 12 (7.5),
    // 15 (1200.00, confirmed fraud), 18 (abc: refused).
    assert_eq!(
        (cny.cases, cny.protected.to_string()),
        (4, "2407.625".into())
    );
    assert_eq!(cny.on_fraud.to_string(), "1200.00");
    // USD: i = 1 (1200.00, confirmed fraud), 4 (abc), 7 (1.1234567), 10 (-5),
    // 13 (7.5), 16 (0.125), 19 (abc).
    assert_eq!(
        (usd.cases, usd.protected.to_string()),
        (4, "1202.625".into())
    );
    assert_eq!(usd.on_fraud.to_string(), "1200.00");
    // Surveys: sent at odd i (10); answered where i % 4 != 0 (15), scores 5, 1, -1 (0).
    assert_eq!(
        (
            all.satisfaction.sent,
            all.satisfaction.answered,
            all.satisfaction.score_sum
        ),
        (10, 15, 5 * 5 + 5)
    );
    assert!(all.sat_by_agent.iter().any(|s| s.key == Key::Agent(None)));
    // Reach: contacted where calls (i % 4) or e-mails (i % 5 == 0).
    let contacted = (0..20).filter(|i| i % 4 != 0 || i % 5 == 0).count() as u64;
    assert_eq!(all.reach.attempted, contacted);
    let queue = cases[0].1;
    let filters = [
        Filter::default(),
        Filter {
            rule: Some("LARGE_TRANSFER".into()),
            ..Default::default()
        },
        Filter {
            agent_id: Some(101),
            ..Default::default()
        },
        Filter {
            priority: Some("high".into()),
            ..Default::default()
        },
        Filter {
            queue_id: Some(queue),
            rule: Some("NEW_ACCOUNT_BURST".into()),
            ..Default::default()
        },
    ];
    // An amount written by hand that no number reads ("abc"): the database cannot
    // count, and the report reads the facts one by one.
    assert_eq!(
        facts::outcomes_counted(&mut conn, None, &period, &Filter::default()).unwrap(),
        None
    );
    // The amounts as the facts job writes them (exact decimals, or none): the same
    // figures, now counted by PostgreSQL.
    let canonical: Vec<FactRow> = rows
        .into_iter()
        .map(|mut r| {
            r.amount_protected = r
                .amount_protected
                .and_then(|a| a.parse::<riskdesk::domain::money::Decimal>().ok())
                .map(|d| d.to_string());
            r
        })
        .collect();
    facts::upsert(&mut conn, &canonical).unwrap();
    assert_eq!(one_by_one(&mut conn, &Filter::default()), all);
    for f in &filters {
        let expected = one_by_one(&mut conn, f);
        // In one scan, and in the period's two halves read at once.
        for pool in [None, Some(&app.state.pool)] {
            let counted = facts::outcomes_counted(&mut conn, pool, &period, f).unwrap();
            if crate::common::on_postgres() {
                assert_eq!(counted.as_ref(), Some(&expected), "{f:?}");
            } else {
                assert_eq!(counted, None);
            }
        }
    }
    // The page shows the database's count on PostgreSQL, the case-by-case one on SQLite.
    drop(conn);
    let boss = shanghai_supervisor(&app);
    let (status, html) = text(
        &boss,
        "/reports/outcomes?period=range&from=2026-11-24&to=2026-11-24",
    );
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(">2407.625<") && html.contains(">1202.625<"),
        "{html}"
    );
}
