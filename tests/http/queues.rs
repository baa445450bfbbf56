// The agent's workspace lists: urgency order and colours, each view's content,
// filters and their errors, keyset pages that neither lose nor repeat a case while
// cases change, access (another queue's list is a 404, other queues' cases never
// show), the fragment the page refreshes with, and masking in the lists.

use std::collections::HashSet;

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp};
use crate::intake::{DESK, alert};
use riskdesk::accounts::{self, Actor};
use riskdesk::db::schema::cases;

struct Desk {
    app: TestApp,
    key: String,
}

impl Desk {
    fn new() -> Desk {
        let app = TestApp::spawn();
        app.apply_config(DESK);
        let key = app.api_key();
        Desk { app, key }
    }

    /// The desk with an instance that remembers sessions and lists for two seconds.
    fn remembering() -> Desk {
        let app = TestApp::spawn_with(|s| s.session_cache = Duration::seconds(2));
        app.apply_config(DESK);
        let key = app.api_key();
        Desk { app, key }
    }

    /// An agent of `queues`, signed in and offline (so cases wait in their queues).
    fn agent(&self, email: &str, queues: &[&str]) -> (Browser, i64) {
        self.app.agent(email, queues, &["fraud"], 5)
    }

    fn post(&self, body: Value) -> String {
        let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &body);
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    }

    fn transfer(&self, id: &str, customer: &str) -> String {
        self.post(alert(id, "LARGE_TRANSFER", customer))
    }

    fn critical_transfer(&self, id: &str, customer: &str) -> String {
        let mut a = alert(id, "LARGE_TRANSFER", customer);
        a["amount"] = json!({"value": "90000.00", "currency": "CNY"});
        self.post(a)
    }

    fn burst(&self, id: &str, customer: &str) -> String {
        self.post(alert(id, "NEW_ACCOUNT_BURST", customer))
    }

    fn id_of(reference: &str) -> i64 {
        reference.trim_start_matches("RC-").parse().unwrap()
    }

    fn assign(&self, reference: &str, user: i64) {
        diesel::update(cases::table.find(Self::id_of(reference)))
            .set((
                cases::assignee_id.eq(Some(user)),
                cases::status.eq("assigned"),
            ))
            .execute(&mut self.app.conn())
            .unwrap();
    }

    fn resolve(&self, reference: &str) {
        let now = riskdesk::store::to_db(self.app.clock.now());
        diesel::update(cases::table.find(Self::id_of(reference)))
            .set((
                cases::resolved_at.eq(Some(now)),
                cases::status.eq("resolved"),
                cases::open_key.eq(None::<String>),
            ))
            .execute(&mut self.app.conn())
            .unwrap();
    }
}

/// The case references of a list, in the order shown.
fn refs(html: &str) -> Vec<String> {
    html.split("data-ref=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

fn page(b: &Browser, path: &str) -> (u16, String) {
    let res = b.get(path);
    (res.status().as_u16(), res.text().unwrap())
}

/// The link to the next page, if any.
fn next_link(html: &str) -> Option<String> {
    let i = html.find("rel=\"next\"")?;
    let before = &html[..i];
    let start = before.rfind("href=\"")? + "href=\"".len();
    Some(
        before[start..]
            .trim_end()
            .trim_end_matches('"')
            .replace("&#38;", "&"),
    )
}

/// The row of `reference`, from its `<tr` to its `</tr>`.
fn row<'a>(html: &'a str, reference: &str) -> &'a str {
    let at = html
        .find(&format!("data-ref=\"{reference}\""))
        .unwrap_or_else(|| panic!("{reference} is not listed"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

#[test]
fn lists_go_by_urgency_with_colours_by_share_of_target() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers", "New accounts"]);
    // High: 30 minutes to first response; critical: 15.
    let high = d.transfer("o-1", "C-1");
    d.app.clock.advance(Duration::minutes(1));
    let critical = d.critical_transfer("o-2", "C-2");
    d.app.clock.advance(Duration::minutes(1));
    let later_high = d.transfer("o-3", "C-3");
    let (s, html) = page(&li, "/queues?view=queue&queue=Transfers");
    assert_eq!(s, 200);
    assert_eq!(
        refs(&html),
        vec![critical.clone(), high.clone(), later_high.clone()]
    );
    assert!(
        html.contains("data-due=\""),
        "countdowns tick from data-due"
    );
    assert!(row(&html, &high).contains("sla-green"));

    // 24 of high's 30 minutes gone (80 %): amber; critical is past its 15: red.
    d.app.clock.advance(Duration::minutes(22));
    let (_, html) = page(&li, "/queues?view=queue&queue=Transfers");
    assert!(
        row(&html, &high).contains("sla-amber"),
        "{}",
        row(&html, &high)
    );
    assert!(row(&html, &critical).contains("sla-red"));
    assert!(
        row(&html, &critical).contains("-0:"),
        "an overdue countdown"
    );
    assert!(
        row(&html, &later_high).contains("sla-green"),
        "22 of 30 minutes"
    );
    d.app.clock.advance(Duration::minutes(7));
    let (_, html) = page(&li, "/queues?view=queue&queue=Transfers");
    assert!(row(&html, &high).contains("sla-red"));
    assert!(
        row(&html, &later_high).contains("sla-amber"),
        "28 of 30 minutes"
    );
}

/// Cases sharing a deadline go by priority, then age. The order is read from the
/// lists' index through the rank the database derives from the priority, which
/// follows the priority when it changes.
#[test]
fn cases_sharing_a_deadline_go_by_priority_then_age() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"]);
    let priorities = ["low", "critical", "medium", "high"];
    // Twelve cases, more than a page of ten, all due at one moment.
    let made: Vec<(String, &str)> = (0..12)
        .map(|i| {
            let reference = d.transfer(&format!("t-{i}"), &format!("C-{i}"));
            (reference, priorities[i % 4])
        })
        .collect();
    let due = riskdesk::store::to_db(d.app.clock.now() + Duration::minutes(30));
    for (reference, priority) in &made {
        diesel::update(cases::table.find(Desk::id_of(reference)))
            .set((cases::priority.eq(*priority), cases::next_due.eq(Some(due))))
            .execute(&mut d.app.conn())
            .unwrap();
    }
    let ranks: Vec<(String, i32)> = cases::table
        .order(cases::id.asc())
        .select((cases::priority, riskdesk::store::worklist::rank()))
        .load(&mut d.app.conn())
        .unwrap();
    assert_eq!(ranks.len(), 12);
    for (priority, rank) in &ranks {
        assert_eq!(
            *rank,
            riskdesk::store::worklist::priority_rank(priority),
            "{priority}"
        );
    }
    let mut want = made.clone();
    want.sort_by_key(|(reference, priority)| {
        (
            riskdesk::store::worklist::priority_rank(priority),
            Desk::id_of(reference),
        )
    });
    let want: Vec<String> = want.into_iter().map(|(r, _)| r).collect();
    assert_eq!(
        &want[..3],
        &[made[1].0.clone(), made[5].0.clone(), made[9].0.clone()]
    );
    let (_, html) = page(&li, "/queues?view=queue&queue=Transfers");
    assert_eq!(refs(&html), want);
    // Page by page, ten at a time, the same order.
    let (_, first) = page(&li, "/queues?view=queue&queue=Transfers&limit=10");
    assert_eq!(refs(&first), want[..10]);
    let next = next_link(&first).expect("a second page");
    let (_, second) = page(&li, &next);
    assert_eq!(refs(&second), want[10..]);
}

#[test]
fn each_view_shows_its_cases() {
    let d = Desk::new();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers", "New accounts"]);
    let t1 = d.transfer("v-1", "C-1");
    let t2 = d.transfer("v-2", "C-2");
    let t3 = d.critical_transfer("v-3", "C-3");
    // Medium in the office calendar: hours away, not at risk.
    let b1 = d.burst("v-4", "C-4");
    d.assign(&t1, li_id);
    riskdesk::cases::clock::pause(
        &mut d.app.conn(),
        d.app.clock.now(),
        Some(li_id),
        Desk::id_of(&t2),
        "waiting for the customer's call back",
    )
    .unwrap();
    let done = d.transfer("v-5", "C-5");
    d.resolve(&done);

    let (s, mine) = page(&li, "/queues?view=mine");
    assert_eq!(s, 200);
    assert_eq!(refs(&mine), vec![t1.clone()]);
    assert!(mine.contains("(you)"));

    let (_, waiting) = page(&li, "/queues?view=waiting");
    assert_eq!(refs(&waiting), vec![t2.clone()]);
    assert!(waiting.contains("Paused"));

    let (_, risk) = page(&li, "/queues?view=at_risk");
    assert_eq!(
        refs(&risk),
        vec![t3.clone(), t1.clone()],
        "running clocks due within the hour"
    );

    let (_, transfers) = page(&li, "/queues?view=queue&queue=Transfers");
    let shown: HashSet<String> = refs(&transfers).into_iter().collect();
    assert_eq!(
        shown,
        HashSet::from([t1.clone(), t2.clone(), t3.clone()]),
        "resolved cases leave the lists"
    );
    let (_, accounts) = page(&li, "/queues?view=queue&queue=New%20accounts");
    assert_eq!(refs(&accounts), vec![b1.clone()]);

    // The agent's home is their queue: "My cases" by default, refreshing itself.
    let (s, home) = page(&li, "/");
    assert_eq!(s, 200);
    assert!(home.contains("Welcome, li@bank.example"));
    assert_eq!(refs(&home), vec![t1.clone()]);
    assert!(home.contains("data-fragment=\"/queues/fragment?view=mine\""));
    assert!(
        home.contains("action=\"/queue/take-next\""),
        "take next is at hand"
    );
    assert!(home.contains("j / k"), "the shortcuts are shown");
    for tab in [
        "My cases",
        ">Transfers<",
        ">New accounts<",
        "Waiting on customer",
        "At risk",
    ] {
        assert!(home.contains(tab), "tab {tab}");
    }
}

#[test]
fn filters_narrow_and_bad_values_are_named() {
    let d = Desk::new();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers", "New accounts"]);
    let high = d.transfer("f-1", "C-1");
    let critical = d.critical_transfer("f-2", "C-2");
    let burst = d.burst("f-3", "C-3");
    d.assign(&high, li_id);

    let (_, html) = page(&li, "/queues?view=queue&queue=Transfers&priority=critical");
    assert_eq!(refs(&html), vec![critical.clone()]);
    assert!(html.contains("<option value=\"critical\" selected>"));
    let (_, html) = page(&li, "/queues?view=queue&queue=Transfers&status=assigned");
    assert_eq!(refs(&html), vec![high.clone()]);
    let (_, html) = page(
        &li,
        "/queues?view=queue&queue=New%20accounts&rule=NEW_ACCOUNT_BURST",
    );
    assert_eq!(refs(&html), vec![burst.clone()]);
    let (_, html) = page(
        &li,
        "/queues?view=queue&queue=Transfers&rule=NEW_ACCOUNT_BURST",
    );
    assert!(refs(&html).is_empty());
    assert!(html.contains("No cases in this list."));
    // Empty values mean "any".
    let (_, html) = page(
        &li,
        "/queues?view=queue&queue=Transfers&rule=&priority=&status=",
    );
    assert_eq!(refs(&html).len(), 2);

    for (query, named) in [
        ("priority=urgent", "The priority “urgent” is not known"),
        ("status=closed", "The status “closed” is not known"),
        ("rule=NO_SUCH_RULE", "The rule “NO_SUCH_RULE” is not known"),
        ("view=everything", "The list “everything” is not known"),
        ("cursor=abc", "The page position “abc” is not known"),
        (
            "limit=5000",
            "The page size (10 to 100) “5000” is not known",
        ),
    ] {
        let (s, html) = page(&li, &format!("/queues?{query}"));
        assert_eq!(s, 400, "{query}");
        assert!(html.contains(named), "{query}: {html}");
        assert!(refs(&html).is_empty(), "{query} lists nothing");
    }
    let res = li.get("/queues/fragment?priority=urgent");
    assert_eq!(res.status(), 400, "the fragment refuses bad filters too");
}

#[test]
fn pages_neither_lose_nor_repeat_cases_while_cases_change() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"]);
    let batch: Vec<Value> = (0..35)
        .map(|i| {
            if i % 4 == 0 {
                let mut a = alert(&format!("p-{i}"), "LARGE_TRANSFER", &format!("C-{i}"));
                a["amount"] = json!({"value": "90000.00", "currency": "CNY"});
                a
            } else {
                alert(&format!("p-{i}"), "LARGE_TRANSFER", &format!("C-{i}"))
            }
        })
        .collect();
    let (s, r) = d
        .app
        .post_api(&d.key, "/api/v1/alerts/batch", &json!({ "alerts": batch }));
    assert_eq!(s, 200, "{r}");
    let original: Vec<String> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["case_ref"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(original.len(), 35);

    let mut seen: Vec<String> = Vec::new();
    let mut resolved: HashSet<String> = HashSet::new();
    let mut path = "/queues?view=queue&queue=Transfers&limit=10".to_string();
    let mut pages = 0;
    loop {
        let (s, html) = page(&li, &path);
        assert_eq!(s, 200, "{path}");
        let got = refs(&html);
        assert!(got.len() <= 10);
        seen.extend(got);
        pages += 1;
        // Meanwhile: new cases arrive, and one case not yet seen is resolved.
        d.app.clock.advance(Duration::seconds(30));
        d.transfer(&format!("late-{pages}"), &format!("L-{pages}"));
        if let Some(gone) = original
            .iter()
            .rev()
            .find(|c| !seen.contains(c) && !resolved.contains(*c))
        {
            d.resolve(gone);
            resolved.insert(gone.clone());
        }
        match next_link(&html) {
            Some(next) => path = next,
            None => break,
        }
        assert!(pages < 20, "the pages end");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no case repeated: {seen:?}");
    for c in &original {
        assert!(
            seen.contains(c) || resolved.contains(c),
            "{c} was open all along and must be listed"
        );
    }
    assert!(pages >= 3, "paged: {pages}");
    // The first page links back to nothing; later ones to the first.
    let (_, first) = page(&li, "/queues?view=queue&queue=Transfers&limit=10");
    assert!(!first.contains("First page"));
    let second = next_link(&first).unwrap();
    assert!(second.contains("cursor="));
    let (_, html) = page(&li, &second);
    assert!(html.contains("First page"));
}

#[test]
fn agents_see_only_their_queues_and_their_own_cases() {
    let d = Desk::new();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"]);
    let transfer = d.transfer("a-1", "C-1");
    let burst = d.burst("a-2", "C-2");
    let burst_mine = d.burst("a-3", "C-3");
    d.assign(&burst_mine, li_id);

    for path in [
        "/queues?view=queue&queue=New%20accounts",
        "/queues/fragment?view=queue&queue=New%20accounts",
        "/queues?view=queue&queue=Nowhere",
        "/queues?view=queue",
    ] {
        assert_eq!(li.get(path).status(), 404, "{path}");
    }
    for path in [
        "/queues?view=mine",
        "/queues?view=at_risk",
        "/queues?view=waiting",
        "/",
        "/queues?view=queue&queue=Transfers",
    ] {
        let (s, html) = page(&li, path);
        assert_eq!(s, 200, "{path}");
        assert!(!html.contains(&burst), "{path} shows another queue's case");
        assert!(
            !html.contains("queue=New+accounts"),
            "{path} shows no tab for another queue"
        );
    }
    let (_, html) = page(&li, "/queues?view=mine");
    assert_eq!(
        refs(&html),
        vec![burst_mine.clone()],
        "their own case of another queue"
    );
    let (_, html) = page(&li, "/queues?view=queue&queue=Transfers");
    assert_eq!(refs(&html), vec![transfer.clone()]);

    // Supervisors see every queue.
    let sup = d.app.signed_in("supervisor");
    let (s, html) = page(&sup, "/queues?view=queue&queue=New%20accounts");
    assert_eq!(s, 200);
    let shown: HashSet<String> = refs(&html).into_iter().collect();
    assert_eq!(shown, HashSet::from([burst.clone(), burst_mine.clone()]));
    assert!(
        !html.contains("action=\"/queue/take-next\""),
        "take next is for agents"
    );
    // Anonymous visitors go to the sign-in page.
    let anon = d.app.browser();
    assert_eq!(anon.get("/queues").status(), 303);
    assert_eq!(anon.get("/queues/fragment").status(), 303);
}

#[test]
fn the_fragment_is_the_list_alone() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"]);
    let c = d.transfer("g-1", "C-1");
    let res = li.get("/queues/fragment?view=queue&queue=Transfers");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().unwrap();
    assert!(
        !html.contains("<html") && !html.contains("<header"),
        "no layout"
    );
    assert!(
        !html.contains("class=\"tabs\"") && !html.contains("<form"),
        "no tabs or filters"
    );
    assert!(html.trim_start().starts_with("<div class=\"table-wrap"));
    assert_eq!(refs(&html), vec![c.clone()]);
    assert!(html.contains(&format!("href=\"/cases/{c}\"")));
    // The full page points its refresh at the same list.
    let (_, full) = page(&li, "/queues?view=queue&queue=Transfers&priority=high");
    assert!(full.contains(
        "data-fragment=\"/queues/fragment?view=queue&#38;queue=Transfers&#38;priority=high\""
    ));
    // The script that refreshes it is a file; the page has no inline script.
    assert!(!full.contains("<script>"));
    let at = full.find("src=\"/static/app.").unwrap() + "src=\"".len();
    let src = &full[at..at + full[at..].find('"').unwrap()];
    let js = li.get(src).text().unwrap();
    assert!(js.contains("data-fragment") && js.contains("keydown"));
}

#[test]
fn lists_mask_personal_data() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"]);
    let c = d.transfer("m-1", "C-1");
    let sup = d.app.signed_in("supervisor");
    for (b, path) in [
        (&li, "/queues?view=queue&queue=Transfers"),
        (&li, "/queues/fragment?view=at_risk"),
        (&li, "/?view=at_risk"),
        (&sup, "/queues?view=at_risk"),
    ] {
        let (_, html) = page(b, path);
        assert!(html.contains(&c), "{path}");
        assert!(
            html.contains("+86 138****8000"),
            "{path}: the phone, masked"
        );
        for raw in ["13800138000", "王伟", "wei@example.com"] {
            assert!(!html.contains(raw), "{path} shows {raw}");
        }
    }
}

#[test]
fn remembered_sessions_end_at_once_here_and_within_seconds_elsewhere() {
    let d = Desk::remembering();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"]);
    let (wang, wang_id) = d.agent("wang@bank.example", &["Transfers"]);
    let (zhao, _) = d.agent("zhao@bank.example", &["Transfers"]);
    for b in [&li, &wang, &zhao] {
        assert_eq!(b.get("/queues").status(), 200, "signed in and remembered");
    }

    // Signing out through this instance ends the session at once.
    assert_eq!(zhao.logout().status(), 303);
    assert_eq!(zhao.get("/queues").status(), 303);

    // A deactivation through this instance's admin pages: at once.
    let admin = d.app.signed_in("admin");
    let page = format!("/admin/users/{li_id}");
    assert_eq!(
        admin
            .submit(&page, &format!("{page}/deactivate"), &[])
            .status(),
        303
    );
    assert_eq!(li.get("/queues").status(), 303, "deactivated here: at once");

    // A deactivation elsewhere (another instance, the command line): the remembered
    // session serves at most the cache's two seconds more.
    assert_eq!(wang.get("/queues").status(), 200);
    accounts::set_active(
        &mut d.app.conn(),
        d.app.clock.now(),
        &Actor::cli(),
        wang_id,
        false,
        |_| Ok(()),
    )
    .unwrap();
    assert_eq!(wang.get("/queues").status(), 200, "still remembered");
    d.app.clock.advance(Duration::seconds(2));
    assert_eq!(wang.get("/queues").status(), 303, "ended within seconds");
}

/// The lists reuse, for the session memory's seconds, what they read on every load
/// besides the list: the desk configuration's version, the user's queues and saved
/// views. A change made through this instance shows at once; one made elsewhere
/// (another instance, the command line) within those seconds.
#[test]
fn remembered_lists_change_at_once_here_and_within_seconds_elsewhere() {
    let d = Desk::remembering();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"]);
    let case = d.transfer("mem-1", "C-MEM");
    let transfers = "/queues?view=queue&queue=Transfers";
    let listed = |path: &str| {
        let res = li.get(path);
        (res.status().as_u16(), res.text().unwrap().contains(&case))
    };
    assert_eq!(listed(transfers), (200, true));

    // A view saved through this instance is on her next list at once.
    let res = li.submit(
        transfers,
        "/views",
        &[
            ("name", "Mine to watch"),
            ("query", "view=queue&queue=Transfers"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert!(li.get(transfers).text().unwrap().contains("Mine to watch"));

    // Her membership ended elsewhere: her lists keep it at most two seconds more.
    diesel::delete(
        riskdesk::db::schema::queue_members::table
            .filter(riskdesk::db::schema::queue_members::user_id.eq(li_id)),
    )
    .execute(&mut *d.app.conn())
    .unwrap();
    assert_eq!(listed(transfers), (200, true), "still remembered");
    d.app.clock.advance(Duration::seconds(2));
    assert!(!listed(transfers).1, "forgotten within seconds");

    // The configuration: changed through this process, seen at once (a new rule in
    // the list's filter); changed elsewhere (a queue renamed and the version moved
    // in the database), seen within the seconds.
    let sup = d.app.signed_in("supervisor");
    let page = || sup.get(transfers).text().unwrap();
    assert!(!page().contains("PHISHING_CALL"));
    d.app.apply_config(&format!(
        "{DESK}\n[[rules]]\ncode = \"PHISHING_CALL\"\nname = \"Phishing call\"\ncategory = \"fraud\"\ndefault_severity = \"high\"\n"
    ));
    assert!(page().contains("PHISHING_CALL"), "applied here: at once");
    {
        let mut conn = d.app.conn();
        for sql in [
            "UPDATE queues SET name = 'Wire transfers' WHERE name = 'Transfers'",
            "UPDATE app_settings SET value = '1000' WHERE key = 'config_version'",
        ] {
            diesel::sql_query(sql).execute(&mut *conn).unwrap();
        }
    }
    assert!(page().contains(&case), "the old name, remembered");
    d.app.clock.advance(Duration::seconds(2));
    let renamed = sup
        .get("/queues?view=queue&queue=Wire%20transfers")
        .text()
        .unwrap();
    assert!(
        renamed.contains(&case),
        "the new name within seconds: {renamed}"
    );
    assert!(!page().contains(&case), "the old name forgotten");
}
