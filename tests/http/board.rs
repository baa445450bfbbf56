// The supervisor's board, QA review and the weekly brief, against hand-made cases:
// the board's counts and their drill-down links, the cases next to breach and
// breached, agents' load and the unassigned waiting longest; the QA sample and its
// scoring with every refusal; a brief's figures for two hand-computed weeks, the
// Monday job firing once across instances and its e-mails in the outbox.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp, extract_csrf, location};
use crate::intake::{DESK, alert};
use riskdesk::briefs::Figures;
use riskdesk::cases::closing::{Closer, close};
use riskdesk::db::schema::{cases, outbox, qa_reviews, weekly_briefs};

struct Desk {
    app: TestApp,
    key: String,
}

impl Desk {
    fn with(tweak: impl FnOnce(&mut riskdesk::config::Settings)) -> Desk {
        let app = TestApp::spawn_with(|s| {
            s.public_url = "https://desk.bank.example".into();
            tweak(s);
        });
        app.apply_config(DESK);
        let key = app.api_key();
        Desk { app, key }
    }

    /// Posts an alert; returns its case reference.
    fn post(&self, body: Value) -> String {
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &body);
        assert!(s == 201, "{s}: {r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn transfer(&self, id: &str, customer: &str) -> String {
        self.post(alert(id, "LARGE_TRANSFER", customer))
    }

    fn case(&self, reference: &str) -> Value {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}"))
            .1
    }

    fn kinds(&self, reference: &str) -> Vec<String> {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    /// A signed-in supervisor (language `lang`); returns the browser and the id.
    fn supervisor(&self, email: &str, lang: &str) -> (Browser, i64) {
        use riskdesk::accounts::{self, Actor, NewUserInput};
        let password = riskdesk::domain::password::NewPassword::generate();
        let user = accounts::create_user(
            &mut self.app.conn(),
            self.app.clock.now(),
            &Actor::cli(),
            &NewUserInput {
                email,
                name: email,
                role: "supervisor",
                language: Some(lang),
            },
            &password,
        )
        .unwrap();
        let b = self.app.browser();
        assert_eq!(b.login(email, password.expose()).status(), 303);
        (b, user.id)
    }

    /// Closes a case as `who` (a supervisor) straight through the closing rules.
    fn close(&self, who: i64, reference: &str, disposition: &str, action: &str, amount: &str) {
        let mut conn = self.app.conn();
        let snap = self.app.state.desk.get(&mut conn).unwrap();
        let closing = riskdesk::domain::resolution::Closing::parse(
            disposition,
            action,
            amount,
            "closed in the test",
        )
        .unwrap();
        let done = close(
            &mut conn,
            &self.app.state.settings,
            &snap,
            self.app.clock.now(),
            &Closer {
                user_id: who,
                supervisor: true,
                ip: None,
            },
            id_of(reference),
            &closing,
        )
        .unwrap();
        assert_eq!(done, riskdesk::cases::closing::Closed::Resolved);
    }

    /// The customer of `reference` answers its verification e-mail (sent by `sup`).
    fn customer_answers(&self, sup: &Browser, reference: &str, answer: &str) {
        let page = format!("/cases/{reference}/verify-email");
        let res = sup.submit(&page, &page, &[("template", "verification")]);
        assert_eq!(res.status(), 303);
        let body: String = outbox::table
            .filter(outbox::case_id.eq(id_of(reference)))
            .filter(outbox::kind.eq("verification"))
            .order(outbox::id.desc())
            .select(outbox::body_text)
            .first(&mut *self.app.conn())
            .unwrap();
        let i = body.find("/v/").unwrap() + 3;
        let token: String = body[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let customer = self.app.browser();
        let path = format!("/v/{token}");
        let csrf = extract_csrf(&customer.get(&path).text().unwrap()).unwrap();
        let res = customer.post_raw(&path, &[("answer", answer), ("csrf_token", &csrf)]);
        // The customer's thanks page.
        assert_eq!(res.status(), 200);
    }
}

fn id_of(reference: &str) -> i64 {
    reference.trim_start_matches("RC-").parse().unwrap()
}

fn presence(b: &Browser, status: &str) {
    let res = b.submit("/profile", "/presence", &[("status", status)]);
    assert_eq!(res.status(), 303);
}

fn text(b: &Browser, path: &str) -> (u16, String) {
    let res = b.get(path);
    (res.status().as_u16(), res.text().unwrap())
}

/// The case references linked from `html`, in order, each once.
/// The cases a page links to, leaving out the banner of a page (an emergency the
/// reader is paged for shows on every page).
fn refs(html: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = html.to_string();
    while let Some(i) = rest.find("<div class=\"page-banner\"") {
        let end = rest[i..].find("</div>").map_or(rest.len(), |e| i + e);
        rest.replace_range(i..end, "");
    }
    for part in rest.split("href=\"/cases/").skip(1) {
        let r: String = part.chars().take_while(|c| *c != '"').collect();
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// The part of `html` from the element with `id` to the end of its section.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[test]
fn the_board_counts_open_cases_and_each_count_leads_to_its_cases() {
    let d = Desk::with(|_| {});
    let (li, li_id) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 3);
    let (wang, _) = d
        .app
        .agent("wang@bank.example", &["Transfers"], &["fraud"], 2);
    presence(&li, "online");
    presence(&wang, "online");
    presence(&wang, "away");
    let (sup, _) = d.supervisor("sup@bank.example", "en");

    // Three cases for Li (her capacity), then two that wait: one in Transfers,
    // one in New accounts (no members there).
    let a = d.transfer("b-1", "C-1");
    d.app.clock.advance(Duration::minutes(1));
    let b = d.transfer("b-2", "C-2");
    d.app.clock.advance(Duration::minutes(1));
    let mut crit = alert("b-3", "LARGE_TRANSFER", "C-3");
    crit["severity"] = json!("critical");
    let c = d.post(crit);
    d.app.clock.advance(Duration::minutes(1));
    let w1 = d.transfer("b-4", "C-4");
    d.app.clock.advance(Duration::minutes(1));
    let w2 = d.post(alert("b-5", "NEW_ACCOUNT_BURST", "C-5"));
    for r in [&a, &b, &c] {
        assert_eq!(d.case(r)["assignee"], "li@bank.example");
        assert_eq!(d.case(r)["status"], "assigned");
    }
    assert_eq!(d.case(&w1)["status"], "new");
    assert_eq!(d.case(&w2)["status"], "new");

    // One resolved case counts nowhere on the board.
    let resolved = d.transfer("b-6", "C-6");
    let sup_id = {
        use riskdesk::db::schema::users;
        users::table
            .filter(users::email.eq("sup@bank.example"))
            .select(users::id)
            .first::<i64>(&mut *d.app.conn())
            .unwrap()
    };
    d.close(sup_id, &resolved, "duplicate", "no_action", "");

    // Twenty minutes on, the critical case has breached its first response.
    d.app.clock.advance(Duration::minutes(16));
    riskdesk::jobs::watch_sla(&d.app.state).unwrap();
    assert_eq!(d.case(&c)["sla"]["breached"], true);

    let (status, home) = text(&sup, "/");
    assert_eq!(status, 200);
    assert!(home.contains("id=\"board-body\""), "{home}");
    let (status, board) = text(&sup, "/board");
    assert_eq!(status, 200);
    for html in [&home, &board] {
        // Tiles: 5 open, 1 breached, 2 unassigned, 1 online, 1 away.
        assert!(
            html.contains(
                "<span class=\"tile-n\">5</span> <span class=\"tile-l\">Open cases</span>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"tile-n\">1</span> <span class=\"tile-l\">Breached</span>")
        );
        assert!(
            html.contains(
                "<span class=\"tile-n\">2</span> <span class=\"tile-l\">Unassigned</span>"
            )
        );
        assert!(html.contains(
            "<span class=\"tile-n\">1</span> <span class=\"tile-l\">Agents online</span>"
        ));
        assert!(
            html.contains(
                "<span class=\"tile-n\">1</span> <span class=\"tile-l\">Agents away</span>"
            )
        );
    }
    // Backlog: each count links to that queue's list with that status.
    let backlog = section(&board, "board-backlog");
    assert!(
        backlog
            .contains("href=\"/queues?view=queue&#38;queue=Transfers&#38;status=assigned\">3</a>"),
        "{backlog}"
    );
    assert!(
        backlog.contains("href=\"/queues?view=queue&#38;queue=Transfers&#38;status=new\">1</a>")
    );
    assert!(
        backlog.contains("href=\"/queues?view=queue&#38;queue=New+accounts&#38;status=new\">1</a>")
    );
    assert!(backlog.contains("href=\"/queues?view=queue&#38;queue=Transfers\">4</a>"));
    // The drill-down shows exactly those cases.
    let (status, list) = text(&sup, "/queues?view=queue&queue=Transfers&status=assigned");
    assert_eq!(status, 200);
    let mut listed = refs(&list);
    listed.sort();
    assert_eq!(listed, vec![a.clone(), b.clone(), c.clone()]);
    let (_, list) = text(&sup, "/queues?view=queue&queue=New+accounts&status=new");
    assert_eq!(refs(&list), vec![w2.clone()]);

    // Next to breach: the three high cases due at 30 minutes, nearest first; the
    // breached critical case is listed apart.
    let risk = section(&board, "board-at-risk");
    assert_eq!(refs(risk), vec![a.clone(), b.clone(), w1.clone()]);
    assert!(risk.contains("class=\"countdown\" datetime=\""), "{risk}");
    assert!(risk.contains("data-due=\"2026-11-24T01:30:00Z\""), "{risk}");
    assert!(board.contains("data-now=\""));
    let breached = section(&board, "board-breached");
    assert_eq!(refs(breached), vec![c.clone()]);
    assert!(
        board.contains("<span class=\"tile-n\">3</span> <span class=\"tile-l\">At risk</span>")
    );

    // Agents: Li full (3 of 3) with her oldest case; Wang away and idle.
    let agents = section(&board, "board-agents");
    assert!(
        agents.contains("aria-label=\"Load 3 of 3 (100%)\""),
        "{agents}"
    );
    assert!(agents.contains("class=\"loadbar-fill load-full\" x=\"0\" y=\"0\" width=\"100\""));
    assert!(agents.contains("aria-label=\"Load 0 of 2 (0%)\""));
    assert!(agents.contains(&format!("href=\"/cases/{a}\"")));
    assert!(agents.contains("li@bank.example") && agents.contains("wang@bank.example"));
    assert_eq!(refs(agents), vec![a.clone()]);
    let _ = li_id;

    // Unassigned, waiting longest first; customers masked.
    let waiting = section(&board, "board-unassigned");
    assert_eq!(refs(waiting), vec![w1.clone(), w2.clone()]);
    assert!(waiting.contains("王*"));
    assert!(!board.contains("王伟") && !board.contains("13800138000"));

    // The fragment is the body alone, with the same figures.
    let (status, frag) = text(&sup, "/board/fragment");
    assert_eq!(status, 200);
    assert!(!frag.contains("<html"));
    assert!(frag.contains("<span class=\"tile-n\">5</span>"));
    assert_eq!(
        refs(section(&frag, "board-at-risk")),
        vec![a.clone(), b, w1]
    );

    // In Chinese too.
    let (zh, _) = d.supervisor("zhu@bank.example", "zh-CN");
    let zh = zh.get("/board").text().unwrap();
    assert!(
        zh.contains("<span class=\"tile-l\">未结案件</span>"),
        "{zh}"
    );

    // Agents never reach the board; their home is their queue.
    assert_eq!(li.get("/board").status(), 403);
    assert_eq!(li.get("/board/fragment").status(), 403);
    let (_, li_home) = text(&li, "/");
    assert!(!li_home.contains("board-body"));
    assert!(li_home.contains("worklist-body"));
}

/// Resolves `n` new Transfers cases as `sup`; returns their references.
fn resolved_cases(d: &Desk, sup: i64, n: usize, prefix: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = d.transfer(&format!("{prefix}-{i}"), &format!("{prefix}-C{i}"));
            d.close(sup, &r, "duplicate", "no_action", "");
            r
        })
        .collect()
}

fn pending(d: &Desk) -> Vec<i64> {
    cases::table
        .filter(cases::qa_pending.eq(true))
        .order(cases::id.asc())
        .select(cases::id)
        .load(&mut *d.app.conn())
        .unwrap()
}

#[test]
fn the_qa_sample_is_the_configured_share_chosen_from_the_case_id() {
    let d = Desk::with(|s| s.qa_sample_percent = 30);
    let (sup, sup_id) = d.supervisor("sup@bank.example", "en");
    let refs_made = resolved_cases(&d, sup_id, 40, "q");
    let salt = d.app.state.settings.qa_salt.clone();
    assert!(!salt.is_empty());
    let expected: Vec<i64> = refs_made
        .iter()
        .map(|r| id_of(r))
        .filter(|id| riskdesk::domain::qa::sampled(&salt, *id, 30))
        .collect();
    assert_eq!(pending(&d), expected);
    assert!(!expected.is_empty() && expected.len() < 40);
    // The QA list shows exactly the sample, newest resolved first.
    let (status, list) = text(&sup, "/qa");
    assert_eq!(status, 200);
    let shown: Vec<i64> = list
        .split("href=\"/qa/RC-")
        .skip(1)
        .map(|p| p[..p.find('"').unwrap()].parse().unwrap())
        .collect();
    let mut newest_first = expected.clone();
    newest_first.reverse();
    assert_eq!(shown, newest_first);
    assert!(list.contains(&format!(
        "<span class=\"tile-n\">{}</span> <span class=\"tile-l\">Waiting for review</span>",
        expected.len()
    )));
    // A bad cursor is named.
    let (status, bad) = text(&sup, "/qa?cursor=nonsense");
    assert_eq!(status, 400);
    assert!(bad.contains("nonsense"));

    // None at 0 %, every one at 100 %.
    let none = Desk::with(|s| s.qa_sample_percent = 0);
    let (_, s0) = none.supervisor("s0@bank.example", "en");
    resolved_cases(&none, s0, 5, "z");
    assert!(pending(&none).is_empty());
    let all = Desk::with(|s| s.qa_sample_percent = 100);
    let (_, s1) = all.supervisor("s1@bank.example", "en");
    let made = resolved_cases(&all, s1, 5, "a");
    assert_eq!(
        pending(&all),
        made.iter().map(|r| id_of(r)).collect::<Vec<_>>()
    );
}

#[test]
fn a_sampled_case_is_scored_once_by_someone_other_than_its_resolver() {
    let d = Desk::with(|s| s.qa_sample_percent = 100);
    let (maker, maker_id) = d.supervisor("maker@bank.example", "en");
    let (checker, _) = d.supervisor("checker@bank.example", "zh-CN");
    let (agent, _) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 3);
    let r = d.transfer("qa-1", "C-1");
    // Not yet resolved: not in the sample.
    assert_eq!(checker.get(&format!("/qa/{r}")).status(), 404);
    d.close(maker_id, &r, "false_positive", "released", "");
    let page = format!("/qa/{r}");

    // Agents reach no QA page and cannot score.
    assert_eq!(agent.get("/qa").status(), 403);
    assert_eq!(agent.get(&page).status(), 403);
    let res = agent.submit("/profile", &page, &[("identity_verified", "pass")]);
    assert_eq!(res.status(), 403);

    // The resolver may not review their own closing.
    let (status, own) = text(&maker, &page);
    assert_eq!(status, 200);
    assert!(own.contains("You resolved this case"), "{own}");
    assert!(!own.contains("name=\"identity_verified\""));
    let all_pass = [
        ("identity_verified", "pass"),
        ("disposition_supported", "pass"),
        ("communication_appropriate", "pass"),
        ("timeline_complete", "pass"),
    ];
    let res = maker.submit("/profile", &page, &all_pass);
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .unwrap()
            .contains("another supervisor must review it")
    );
    assert_eq!(d.app.count("qa_reviews"), 0);

    // A missing item is named and nothing is stored; without the CSRF token the
    // post is refused before anything runs.
    let res = checker.submit(
        &page,
        &page,
        &[
            ("identity_verified", "pass"),
            ("disposition_supported", "maybe"),
            ("communication_appropriate", "fail"),
            ("comment", "语气生硬"),
        ],
    );
    assert_eq!(res.status(), 400);
    let body = res.text().unwrap();
    assert!(
        body.contains("<code>disposition_supported</code>"),
        "{body}"
    );
    assert!(body.contains("<code>timeline_complete</code>"));
    assert!(body.contains("语气生硬"), "the comment is kept");
    let res = checker.post_raw(&page, &all_pass);
    assert_eq!(res.status(), 403);
    assert_eq!(d.app.count("qa_reviews"), 0);
    assert!(!d.kinds(&r).contains(&"qa.reviewed".to_string()));

    // The checker scores it: one item fails.
    let res = checker.submit(
        &page,
        &page,
        &[
            ("identity_verified", "pass"),
            ("disposition_supported", "pass"),
            ("communication_appropriate", "fail"),
            ("timeline_complete", "pass"),
            ("comment", "Tone was curt <b>"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), page);
    let (passed, comment): (bool, Option<String>) = qa_reviews::table
        .select((qa_reviews::passed, qa_reviews::comment))
        .first(&mut *d.app.conn())
        .unwrap();
    assert!(!passed);
    assert_eq!(comment.as_deref(), Some("Tone was curt <b>"));
    assert!(d.kinds(&r).contains(&"qa.reviewed".to_string()));
    // On the timeline, in each reader's language, escaped.
    let case_en = maker.get(&format!("/cases/{r}")).text().unwrap();
    assert!(
        case_en.contains("QA review: failed (Customer communication appropriate)"),
        "{case_en}"
    );
    assert!(case_en.contains("Tone was curt &#60;b&#62;"), "escaped");
    let case_zh = checker.get(&format!("/cases/{r}")).text().unwrap();
    assert!(
        case_zh.contains("质检：不通过（与客户沟通得当）"),
        "{case_zh}"
    );

    // A second review is refused and changes nothing.
    let res = checker.submit("/profile", &page, &all_pass);
    assert_eq!(res.status(), 409);
    assert!(res.text().unwrap().contains("每个案件只质检一次"));
    let res = maker.submit("/profile", &page, &all_pass);
    assert_eq!(res.status(), 409);
    assert_eq!(d.app.count("qa_reviews"), 1);

    // The QA page: nothing waiting, the pass rate 0 %, the item rates.
    let (_, list) = text(&maker, "/qa");
    assert!(list.contains(
        "<span class=\"tile-n\">0</span> <span class=\"tile-l\">Waiting for review</span>"
    ));
    assert!(
        list.contains("<span class=\"tile-n qa-pass-rate\">0%</span>"),
        "{list}"
    );
    assert!(list.contains("<td>Customer communication appropriate</td><td class=\"num\">0%</td>"));
    assert!(list.contains("<td>Identity verified properly</td><td class=\"num\">100%</td>"));

    // A second case passes: the rate is 50 %.
    let r2 = d.transfer("qa-2", "C-2");
    d.close(maker_id, &r2, "duplicate", "no_action", "");
    let page2 = format!("/qa/{r2}");
    let res = checker.submit(&page2, &page2, &all_pass);
    assert_eq!(res.status(), 303);
    let (_, list) = text(&maker, "/qa");
    assert!(list.contains("<span class=\"tile-n qa-pass-rate\">50%</span>"));

    // Reopened and resolved again, a reviewed case is not sampled again.
    let res = maker.submit(
        &format!("/cases/{r}"),
        &format!("/cases/{r}/reopen"),
        &[("reason", "customer complained")],
    );
    assert_eq!(res.status(), 303);
    d.close(maker_id, &r, "duplicate", "no_action", "");
    assert!(!pending(&d).contains(&id_of(&r)));
}

/// The figure of the brief's headline tile `id`.
fn tile<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!("<span class=\"tile-n\" id=\"{id}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no tile {id}")) + marker.len();
    &html[start..start + html[start..].find("</span>").unwrap()]
}

/// The figures kept for `week`, as stored (JSON).
fn kept_figures(d: &Desk, week: &str) -> String {
    weekly_briefs::table
        .find(week)
        .select(weekly_briefs::figures)
        .first(&mut *d.app.conn())
        .unwrap()
}

/// The desk of the brief's tests: weeks in Shanghai.
fn brief_desk() -> Desk {
    Desk::with(|s| {
        s.desk_timezone = "Asia/Shanghai".parse().unwrap();
        // The tests' clocks cross a week; their sessions last that long.
        s.session_idle = Duration::days(30);
        s.session_max = Duration::days(30);
    })
}

#[test]
fn the_weekly_brief_counts_two_hand_made_weeks_and_is_mailed_once() {
    let d = brief_desk();
    let (sup, sup_id) = d.supervisor("sup@bank.example", "en");
    let (zh_sup, _) = d.supervisor("zhu@bank.example", "zh-CN");
    let (agent, _) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 3);

    // Week 47 (a week before the test clock's Tuesday 09:00 in Shanghai): two large
    // transfers and a new-account burst, all closed as duplicates that week.
    d.app.clock.advance(Duration::days(-7));
    let old: Vec<String> = vec![
        d.transfer("w47-1", "P-1"),
        d.transfer("w47-2", "P-2"),
        d.post(alert("w47-3", "NEW_ACCOUNT_BURST", "P-3")),
    ];
    for r in &old {
        d.close(sup_id, r, "duplicate", "no_action", "");
    }
    d.app.clock.advance(Duration::days(7));

    // Week 48: four cases from five alerts (the customer of A sends a second).
    let a = d.transfer("w48-a", "C-1");
    let b = d.transfer("w48-b", "C-2");
    let c = d.transfer("w48-c", "C-3");
    let mut held = alert("w48-d", "LARGE_TRANSFER", "C-4");
    held["amount"] = json!({"value": "125000.00", "currency": "CNY"});
    let dd = d.post(held);
    assert_eq!(d.transfer("w48-a2", "C-1"), a);
    // A's customer confirms it was them, then A and B are closed as false positives.
    d.customer_answers(&sup, &a, "confirm");
    d.close(sup_id, &a, "false_positive", "released", "");
    d.close(sup_id, &b, "false_positive", "released", "");
    // D's customer says it was not them; D is confirmed fraud, 125000.00 protected.
    d.customer_answers(&sup, &dd, "deny");
    d.close(sup_id, &dd, "confirmed_fraud", "blocked", "125000.00");
    // C breaches its first response; A is reopened on a complaint.
    d.app.clock.advance(Duration::minutes(31));
    riskdesk::jobs::watch_sla(&d.app.state).unwrap();
    assert_eq!(d.case(&c)["sla"]["breached"], true);
    let (status, page_a) = text(&sup, &format!("/cases/{a}"));
    assert_eq!(status, 200, "{page_a}");
    let res = sup.submit(
        &format!("/cases/{a}"),
        &format!("/cases/{a}/reopen"),
        &[("reason", "frozen funds complaint")],
    );
    assert_eq!(res.status(), 303);

    // The running week is read live and not kept.
    let (status, live) = text(&sup, "/briefs/2026-W48");
    assert_eq!(status, 200, "{live}");
    assert!(live.contains("Running week, read live"), "{live}");
    assert!(live.contains("<span class=\"tile-n\" id=\"brief-alerts\">5</span>"));
    assert!(live.contains("<span class=\"tile-n\" id=\"brief-cases\">4</span>"));
    assert!(live.contains("+3 (+150%)") && live.contains("+2 (+100%)"));
    assert!(live.contains("<span class=\"tile-n\" id=\"brief-fp-rate\">67%</span>"));
    assert!(live.contains("<span class=\"tile-n\" id=\"brief-breaches\">1</span>"));
    assert!(live.contains("王*") && !live.contains("王伟"), "masked");
    assert_eq!(d.app.count("weekly_briefs"), 0);

    // Last week, viewed, is read and kept (not mailed: that is the job's).
    let (status, w47) = text(&sup, "/briefs/2026-W47");
    assert_eq!(status, 200);
    assert!(w47.contains("<span class=\"tile-n\" id=\"brief-alerts\">3</span>"));
    assert!(
        w47.contains("2026-11-16 to 2026-11-22 (Asia/Shanghai)"),
        "{w47}"
    );
    assert!(w47.contains("and kept."));
    assert_eq!(d.app.count("weekly_briefs"), 1);
    // Its Monday has passed, so the job mails it now (a desk that was down on
    // Monday catches up), with the figures kept at the first view; then never again.
    let fired = riskdesk::jobs::weekly_brief(&d.app.state).unwrap();
    assert_eq!(
        fired.map(|(w, n)| (w.to_string(), n)),
        Some(("2026-W47".to_string(), 2))
    );
    assert_eq!(riskdesk::jobs::weekly_brief(&d.app.state).unwrap(), None);
    assert_eq!(d.app.count("weekly_briefs"), 1);

    // Monday 2026-11-30 05:59 in Shanghai: not yet; 06:00: the job fires, once.
    let now = d.app.clock.now();
    let monday_559 =
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 29, 21, 59, 0).unwrap();
    d.app.clock.advance(monday_559 - now);
    assert_eq!(riskdesk::jobs::weekly_brief(&d.app.state).unwrap(), None);
    assert_eq!(d.app.count("weekly_briefs"), 1);
    d.app.clock.advance(Duration::minutes(1));
    let second = d.app.second_instance();
    let fired = riskdesk::jobs::weekly_brief(&d.app.state).unwrap();
    assert_eq!(
        fired.map(|(w, n)| (w.to_string(), n)),
        Some(("2026-W48".to_string(), 2))
    );
    assert_eq!(riskdesk::jobs::weekly_brief(&second.state).unwrap(), None);
    assert_eq!(riskdesk::jobs::weekly_brief(&d.app.state).unwrap(), None);

    // The kept figures, as computed by hand.
    let json = kept_figures(&d, "2026-W48");
    let f: Figures = serde_json::from_str(&json).unwrap();
    assert_eq!((f.alerts, f.alerts_previous), (5, 3));
    assert_eq!((f.cases, f.cases_previous), (4, 3));
    let lt = f.rules.iter().find(|r| r.rule == "LARGE_TRANSFER").unwrap();
    assert_eq!(
        (lt.alerts, lt.alerts_previous, lt.cases, lt.cases_previous),
        (5, 2, 4, 2)
    );
    assert_eq!(
        (
            lt.resolved,
            lt.false_positives,
            lt.fp_customer_confirmed,
            lt.confirmed_fraud
        ),
        (3, 2, 1, 1)
    );
    let burst = f
        .rules
        .iter()
        .find(|r| r.rule == "NEW_ACCOUNT_BURST")
        .unwrap();
    assert_eq!(
        (burst.alerts, burst.alerts_previous, burst.cases_previous),
        (0, 1, 1)
    );
    assert_eq!(
        (f.resolved, f.false_positives, f.fp_customer_confirmed),
        (3, 2, 1)
    );
    assert_eq!((f.breaches, f.breached_cases), (1, 1));
    assert_eq!(f.breaches_by_queue.len(), 1);
    assert_eq!(
        (
            f.breaches_by_queue[0].queue.as_str(),
            f.breaches_by_queue[0].breaches
        ),
        ("Transfers", 1)
    );
    assert_eq!(f.protected.len(), 1);
    assert_eq!(
        (
            f.protected[0].currency.as_str(),
            f.protected[0].amount.as_str()
        ),
        ("CNY", "125000.00")
    );
    assert_eq!(f.top_protected.len(), 1);
    assert_eq!(f.top_protected[0].reference, dd);
    assert_eq!(f.top_protected[0].customer, "王*");
    assert_eq!(f.reopened, 1);
    assert_eq!(f.reopened_cases[0].reference, a);
    assert_eq!(f.denied, 1);
    assert_eq!(f.denied_cases[0].reference, dd);
    assert_eq!(f.timezone, "Asia/Shanghai");

    // One e-mail per active supervisor, in their language, with the link.
    let mails: Vec<(String, String, String)> = outbox::table
        .filter(outbox::kind.eq("weekly_brief"))
        .filter(outbox::body_text.like("%2026-W48%"))
        .order(outbox::id.asc())
        .select((outbox::to_addr, outbox::subject, outbox::body_text))
        .load(&mut *d.app.conn())
        .unwrap();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].0, "sup@bank.example");
    assert_eq!(mails[0].1, "Weekly risk brief 2026-W48");
    assert!(
        mails[0]
            .2
            .contains("https://desk.bank.example/briefs/2026-W48")
    );
    assert!(mails[0].2.contains(
        "False positives: 2 of 3 closings that tell (confirmed fraud, escalated to \
                 AML or false positive): 67%; 1 confirmed by the customer; unknown \
                 (unreachable): 0"
    ));
    assert_eq!(mails[1].0, "zhu@bank.example");
    assert_eq!(mails[1].1, "每周风险简报 2026-W48");
    assert!(
        mails[1]
            .2
            .contains("完整简报：https://desk.bank.example/briefs/2026-W48")
    );
    assert!(
        !mails.iter().any(|m| m.2.contains("王")),
        "no personal data in mail"
    );
    // The outbox worker sends them (here as .eml files).
    let pass = riskdesk::jobs::send_outbox(&d.app.state).unwrap();
    assert!(pass.sent >= 2);
    let sent: Vec<(i64, Option<chrono::NaiveDateTime>)> = outbox::table
        .filter(outbox::kind.eq("weekly_brief"))
        .filter(outbox::body_text.like("%2026-W48%"))
        .select((outbox::id, outbox::sent_at))
        .load(&mut *d.app.conn())
        .unwrap();
    let outdir = d.app.dir.path().join("data").join("outbox");
    for (id, at) in &sent {
        assert!(at.is_some(), "message {id} sent");
        let eml = std::fs::read_to_string(outdir.join(format!("{id}.eml"))).unwrap();
        assert!(eml.contains("2026-W48"), "{eml}");
    }
    assert_eq!(sent.len(), 2);

    // The kept brief is what the page shows now; the list marks it mailed.
    let (_, kept) = text(&sup, "/briefs/2026-W48");
    assert!(kept.contains("and kept."), "{kept}");
    assert!(kept.contains("<span class=\"tile-n\" id=\"brief-alerts\">5</span>"));
    let (_, list) = text(&sup, "/briefs");
    assert!(list.contains("href=\"/briefs/2026-W48\""));
    assert!(list.contains("Kept and mailed to supervisors"));
    assert!(
        list.contains("href=\"/briefs/2026-W49\""),
        "the running week"
    );

    // Bad and future weeks; agents never reach the briefs.
    let (status, bad) = text(&sup, "/briefs/2026-48");
    assert_eq!(status, 400);
    assert!(bad.contains("“2026-48” is not an ISO week"));
    assert_eq!(sup.get("/briefs/2026-W51").status(), 404);
    assert_eq!(agent.get("/briefs").status(), 403);
    assert_eq!(agent.get("/briefs/2026-W48").status(), 403);
    let zh = zh_sup.get("/briefs/2026-W48").text().unwrap();
    assert!(zh.contains("每周风险简报") && zh.contains("误拦率"), "{zh}");
}

/// The brief's false-positive rate counts the closings that tell whether the rule
/// was right: of a false positive, a confirmed fraud, a duplicate and an unreachable
/// customer, 50 % (not 1 in 4), with 1 unknown beside it, on the page and in the
/// e-mail. A brief kept before the unknowns were counted shows no rate.
#[test]
fn the_brief_rate_counts_only_the_closings_that_tell() {
    let d = brief_desk();
    let (sup, sup_id) = d.supervisor("sup@bank.example", "en");
    let refs: Vec<String> = (1..=4)
        .map(|i| d.transfer(&format!("fp-{i}"), &format!("C-{i}")))
        .collect();
    d.close(sup_id, &refs[0], "false_positive", "released", "");
    d.close(sup_id, &refs[1], "confirmed_fraud", "blocked", "");
    d.close(sup_id, &refs[2], "duplicate", "no_action", "");
    d.close(sup_id, &refs[3], "unreachable", "blocked", "");

    let (status, live) = text(&sup, "/briefs/2026-W48");
    assert_eq!(status, 200, "{live}");
    assert_eq!(tile(&live, "brief-fp-rate"), "50%", "{live}");
    assert_eq!(tile(&live, "brief-unknown"), "1", "{live}");
    let row = section(&live, "brief-rules");
    let row = &row[row.find("data-rule=\"LARGE_TRANSFER\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    // Resolved 4, false positives 1 (0 confirmed), the rate, 1 unknown, 1 fraud.
    assert!(
        row.contains(
            "<td class=\"num\">4</td>\n      <td class=\"num\">1</td>\n      \
             <td class=\"num\">0</td>\n      <td class=\"num\">50%</td>\n      \
             <td class=\"num\">1</td>\n      <td class=\"num\">1</td>"
        ),
        "{row}"
    );

    // Monday 2026-11-30 06:00 in Shanghai: the brief is kept and mailed.
    let monday = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 29, 22, 0, 0).unwrap();
    let now = d.app.clock.now();
    d.app.clock.advance(monday - now);
    assert!(
        riskdesk::jobs::weekly_brief(&d.app.state)
            .unwrap()
            .is_some()
    );
    let body: String = outbox::table
        .filter(outbox::kind.eq("weekly_brief"))
        .select(outbox::body_text)
        .first(&mut *d.app.conn())
        .unwrap();
    assert!(
        body.contains(
            "False positives: 1 of 2 closings that tell (confirmed fraud, escalated to AML \
             or false positive): 50%; 0 confirmed by the customer; unknown (unreachable): 1"
        ),
        "{body}"
    );
    let json = kept_figures(&d, "2026-W48");
    let f: Figures = serde_json::from_str(&json).unwrap();
    assert_eq!((f.resolved, f.false_positives), (4, 1));
    assert_eq!((f.true_positives, f.unknown), (Some(1), Some(1)));

    // A brief kept before the true positives and unknowns were counted: the kept
    // figures cannot tell the rate, so none is shown (not the old share).
    let mut old: Value = serde_json::from_str(&json).unwrap();
    let strip = |v: &mut Value| {
        let o = v.as_object_mut().unwrap();
        o.remove("true_positives");
        o.remove("unknown");
    };
    strip(&mut old);
    for r in old["rules"].as_array_mut().unwrap() {
        strip(r);
    }
    diesel::update(weekly_briefs::table.find("2026-W48"))
        .set(weekly_briefs::figures.eq(old.to_string()))
        .execute(&mut *d.app.conn())
        .unwrap();
    let (status, kept) = text(&sup, "/briefs/2026-W48");
    assert_eq!(status, 200, "{kept}");
    assert_eq!(tile(&kept, "brief-fp-rate"), "–", "{kept}");
    assert_eq!(tile(&kept, "brief-unknown"), "–", "{kept}");
}

#[test]
fn the_board_draws_today_by_hour_and_each_queues_work_against_its_capacity() {
    let d = Desk::with(|_| {});
    let (li, _) = d
        .app
        .agent("li@bank.example", &["Transfers"], &["fraud"], 3);
    let (wang, _) = d
        .app
        .agent("wang@bank.example", &["Transfers"], &["fraud"], 2);
    presence(&li, "online");
    presence(&wang, "away");
    let (sup, sup_id) = d.supervisor("sup@bank.example", "en");
    // Four transfers (one critical, one closed at once) and a new account: five
    // arrivals in the hour from 01:00 (UTC, the supervisor's zone).
    let mut refs = Vec::new();
    for i in 0..3 {
        refs.push(d.transfer(&format!("h-{i}"), &format!("C-{i}")));
    }
    let mut crit = alert("h-crit", "LARGE_TRANSFER", "C-crit");
    crit["severity"] = json!("critical");
    let crit = d.post(crit);
    d.post(alert("h-new", "NEW_ACCOUNT_BURST", "C-new"));
    d.close(sup_id, &refs[0], "duplicate", "no_action", "");
    d.app.clock.advance(Duration::minutes(20));
    riskdesk::jobs::watch_sla(&d.app.state).unwrap();
    assert_eq!(d.case(&crit)["sla"]["breached"], true);
    riskdesk::jobs::refresh_report_facts(&d.app.state, "test").unwrap();

    for path in ["/board", "/board/fragment"] {
        let (status, html) = text(&sup, path);
        assert_eq!(status, 200);
        let chart = &html[html
            .find("<svg class=\"board-chart board-hours\"")
            .expect(path)..];
        let chart = &chart[..chart.find("</svg>").unwrap()];
        for series in ["arrived", "resolved", "breached"] {
            assert!(
                chart.contains(&format!("data-series=\"{series}\"")),
                "{series}"
            );
        }
        assert!(
            chart.contains("<title>01:00 – Arrived: 5</title>"),
            "{chart}"
        );
        assert!(
            chart.contains("<title>01:00 – Resolved: 1</title>"),
            "{chart}"
        );
        assert!(
            chart.contains("<title>01:00 – Breached: 1</title>"),
            "{chart}"
        );
        assert!(!chart.contains("<title>02:00"), "empty hours draw no bar");
        assert!(html.contains("Arrived: <strong>5</strong>"));
        // Open work in weight units against the capacity of members online or away.
        let load = &html[html
            .find("<svg class=\"board-chart board-capacity\"")
            .unwrap()..];
        let load = &load[..load.find("</svg>").unwrap()];
        assert!(
            load.contains("data-series=\"backlog\"") && load.contains("data-series=\"capacity\"")
        );
        assert!(
            html.contains("Transfers: 3 open work units against a capacity of 5."),
            "{load}"
        );
        assert!(html.contains("New accounts: 1 open work units against a capacity of 0."));
        assert!(
            load.contains("class=\"backlog over\""),
            "New accounts has no capacity"
        );
    }
    // Another zone's day: the same moments fall in its own hours.
    let (sh, _) = d.supervisor("sh@bank.example", "zh-CN");
    {
        use riskdesk::db::schema::users;
        diesel::update(users::table.filter(users::email.eq("sh@bank.example")))
            .set(users::timezone.eq(Some("Asia/Shanghai")))
            .execute(&mut *d.app.conn())
            .unwrap();
    }
    d.app.state.session_cache.clear();
    let (_, html) = text(&sh, "/board");
    assert!(html.contains("<title>09:00 – 到达: 5</title>"), "{html}");
}
