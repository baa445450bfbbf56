// Auto-assignment and escalation as agents and supervisors live them: cases waiting
// while nobody is online, agents arriving and taking the most urgent first, skills,
// weights, going offline, shifts, take next, release and reassign, SLA warnings and
// breaches firing once, and the invariants under concurrency.

use chrono::Duration;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp, location};
use crate::intake::{DESK, alert};
use riskdesk::accounts::{self, Actor, RoutingInput};

/// The intake desk plus an escalation queue, an AML rule of weight 3 and a shift
/// calendar that is never open on the test clock's Tuesday 09:00 Shanghai... except
/// from 09:00 to 10:00.
pub fn desk_config() -> String {
    let mut d = DESK.replace(
        "[[queues]]\nname = \"Transfers\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]\n",
        "[[queues]]\nname = \"Transfers\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]\nescalation_queue = \"Escalations\"\n\n[[queues]]\nname = \"Escalations\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]\n\n[[queues]]\nname = \"AML review\"\nsla_policy = \"fraud-fast\"\nskills = [\"aml\"]\n",
    );
    d.push_str(
        "\n[[rules]]\ncode = \"AML_WATCHLIST\"\nname = \"AML\"\ncategory = \"aml\"\ndefault_severity = \"high\"\nweight = 3\n\n[[routes]]\nrule = \"AML_WATCHLIST\"\nqueue = \"AML review\"\n\n[[calendars]]\nname = \"early-shift\"\ntimezone = \"Asia/Shanghai\"\n[calendars.hours]\nmon = [[\"09:00\", \"10:00\"]]\ntue = [[\"09:00\", \"10:00\"]]\n",
    );
    d
}

pub struct Desk {
    pub app: TestApp,
    pub key: String,
}

impl Desk {
    pub fn new() -> Desk {
        let app = TestApp::spawn();
        app.apply_config(&desk_config());
        let key = app.api_key();
        Desk { app, key }
    }

    /// An agent with queues, skills and capacity, signed in (but offline).
    pub fn agent(
        &self,
        email: &str,
        queues: &[&str],
        skills: &[&str],
        capacity: i32,
    ) -> (Browser, i64) {
        self.app.agent(email, queues, skills, capacity)
    }

    pub fn post(&self, id: &str, rule: &str, customer: &str) -> Value {
        let (s, r) = self
            .app
            .post_api(&self.key, "/api/v1/alerts", &alert(id, rule, customer));
        assert_eq!(s, 201, "{r}");
        r
    }

    pub fn case(&self, reference: &str) -> Value {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}"))
            .1
    }

    pub fn events(&self, reference: &str) -> Vec<Value> {
        self.app
            .get_api(&self.key, &format!("/api/v1/cases/{reference}/events"))
            .1["events"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn watch(&self) -> usize {
        riskdesk::jobs::watch_sla(&self.app.state).unwrap()
    }
}

pub fn presence(b: &Browser, status: &str) {
    let res = b.submit("/profile", "/presence", &[("status", status)]);
    assert_eq!(res.status(), 303);
}

pub fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn cases_wait_while_nobody_is_online_then_go_most_urgent_first() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 2);
    // Three cases, the second most urgent (critical: 15 minutes to first response).
    let low = d.post("w-1", "LARGE_TRANSFER", "C-1");
    d.app.clock.advance(Duration::minutes(1));
    let mut crit = alert("w-2", "LARGE_TRANSFER", "C-2");
    crit["severity"] = json!("critical");
    let (_, crit) = d.app.post_api(&d.key, "/api/v1/alerts", &crit);
    d.app.clock.advance(Duration::minutes(1));
    let third = d.post("w-3", "LARGE_TRANSFER", "C-3");
    for r in [&low, &crit, &third] {
        assert!(r["assignee"].is_null());
        assert_eq!(r["status"], "new");
    }
    let waiting = d.events(low["case_ref"].as_str().unwrap());
    let w = waiting
        .iter()
        .find(|e| e["kind"] == "assignment.waiting")
        .unwrap();
    assert_eq!(w["data"]["reason"], "no_one_online");
    assert_eq!(w["data"]["skills"], json!(["fraud"]));

    presence(&li, "online");
    // Capacity 2: the critical case and the oldest high one; the third waits.
    assert_eq!(
        d.case(crit["case_ref"].as_str().unwrap())["assignee"],
        "li@bank.example"
    );
    assert_eq!(
        d.case(low["case_ref"].as_str().unwrap())["assignee"],
        "li@bank.example"
    );
    assert!(d.case(third["case_ref"].as_str().unwrap())["assignee"].is_null());
    let ev = d.events(crit["case_ref"].as_str().unwrap());
    let a = ev
        .iter()
        .find(|e| e["kind"] == "assignment.assigned")
        .unwrap();
    assert_eq!(a["data"]["reason"], "most_urgent_waiting");
    // The page explains it.
    let page = li
        .get(&format!("/cases/{}", crit["case_ref"].as_str().unwrap()))
        .text()
        .unwrap();
    assert!(page.contains("the most urgent waiting case"), "{page}");
}

#[test]
fn a_deep_line_in_a_queue_without_the_skill_hides_nothing() {
    let d = Desk::new();
    // Eighty AML cases wait, all older (nearer deadlines) than one transfer case.
    let batch: Vec<Value> = (0..80)
        .map(|i| alert(&format!("deep-{i}"), "AML_WATCHLIST", &format!("C-A{i}")))
        .collect();
    let (s, r) = d
        .app
        .post_api(&d.key, "/api/v1/alerts/batch", &json!({ "alerts": batch }));
    assert_eq!(s, 200, "{r}");
    d.app.clock.advance(Duration::minutes(5));
    let transfer = d.post("deep-t", "LARGE_TRANSFER", "C-T");
    assert!(transfer["assignee"].is_null());
    // A member of both queues with only the fraud skill: the AML line is not theirs.
    let (li, _) = d.agent(
        "li@bank.example",
        &["AML review", "Transfers"],
        &["fraud"],
        5,
    );
    presence(&li, "online");
    assert_eq!(
        d.case(transfer["case_ref"].as_str().unwrap())["assignee"],
        "li@bank.example"
    );
    assert_eq!(d.app.count("cases WHERE status = 'new'"), 80);
}

#[test]
fn a_new_case_goes_to_the_least_loaded_eligible_agent() {
    let d = Desk::new();
    let (a, _) = d.agent("a@bank.example", &["Transfers"], &["fraud"], 5);
    let (b, _) = d.agent("b@bank.example", &["Transfers"], &["fraud"], 5);
    let (c, _) = d.agent("c@bank.example", &["Transfers"], &[], 5);
    for x in [&a, &b, &c] {
        presence(x, "online");
    }
    let first = d.post("l-1", "LARGE_TRANSFER", "C-1");
    let second = d.post("l-2", "LARGE_TRANSFER", "C-2");
    let third = d.post("l-3", "LARGE_TRANSFER", "C-3");
    let owners: Vec<String> = [&first, &second, &third]
        .iter()
        .map(|r| r["assignee"].as_str().unwrap().to_string())
        .collect();
    // Nobody without the skill; the two skilled agents alternate by load.
    assert!(!owners.contains(&"c@bank.example".to_string()));
    assert_ne!(owners[0], owners[1]);
    let ev = d.events(first["case_ref"].as_str().unwrap());
    let assigned = ev
        .iter()
        .find(|e| e["kind"] == "assignment.assigned")
        .unwrap();
    assert_eq!(assigned["data"]["eligible"], 2);
    assert_eq!(assigned["data"]["reason"], "least_loaded");
    let page = a
        .get(&format!("/cases/{}", first["case_ref"].as_str().unwrap()))
        .text()
        .unwrap();
    assert!(page.contains("least loaded of 2 eligible (0/5)"), "{page}");
}

#[test]
fn weights_count_against_capacity_and_skills_decide() {
    let d = Desk::new();
    let (aml, aml_id) = d.agent("aml@bank.example", &["AML review"], &["aml"], 4);
    presence(&aml, "online");
    let one = d.post("a-1", "AML_WATCHLIST", "C-1");
    assert_eq!(one["assignee"], "aml@bank.example");
    // Weight 3 of 4 used: a second AML case (3 more) does not fit.
    let two = d.post("a-2", "AML_WATCHLIST", "C-2");
    assert!(two["assignee"].is_null());
    let ev = d.events(two["case_ref"].as_str().unwrap());
    let w = ev
        .iter()
        .find(|e| e["kind"] == "assignment.waiting")
        .unwrap();
    assert_eq!(w["data"]["reason"], "no_capacity");
    let load: i32 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::users::dsl::*;
        users
            .find(aml_id)
            .select(current_load)
            .first(&mut *d.app.conn())
            .unwrap()
    };
    assert_eq!(load, 3);
    // A fraud case never goes to an agent without the fraud skill.
    let f = d.post("a-3", "LARGE_TRANSFER", "C-3");
    assert!(f["assignee"].is_null());
}

#[test]
fn going_offline_hands_back_unstarted_cases_to_others() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let started = d.post("o-1", "LARGE_TRANSFER", "C-1");
    let untouched = d.post("o-2", "LARGE_TRANSFER", "C-2");
    // Opening a case starts it.
    assert_eq!(
        li.get(&format!("/cases/{}", started["case_ref"].as_str().unwrap()))
            .status(),
        200
    );
    let (sam, _) = d.agent("sam@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&sam, "online");
    presence(&li, "offline");
    assert_eq!(
        d.case(started["case_ref"].as_str().unwrap())["assignee"],
        "li@bank.example"
    );
    assert_eq!(
        d.case(untouched["case_ref"].as_str().unwrap())["assignee"],
        "sam@bank.example"
    );
    let k = kinds(&d.events(untouched["case_ref"].as_str().unwrap()));
    assert!(k.contains(&"assignment.returned".to_string()), "{k:?}");
    // Signing out is going offline too.
    let third = d.post("o-3", "LARGE_TRANSFER", "C-3");
    assert_eq!(third["assignee"], "sam@bank.example");
    presence(&li, "online");
    assert_eq!(sam.logout().status(), 303);
    assert_eq!(
        d.case(third["case_ref"].as_str().unwrap())["assignee"],
        "li@bank.example"
    );
}

#[test]
fn idle_agents_become_away_and_give_back() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    presence(&li, "online");
    let r = d.post("i-1", "LARGE_TRANSFER", "C-1");
    assert_eq!(r["assignee"], "li@bank.example");
    d.app.clock.advance(Duration::minutes(16));
    assert_eq!(riskdesk::jobs::sweep_presence(&d.app.state).unwrap(), 1);
    assert!(d.case(r["case_ref"].as_str().unwrap())["assignee"].is_null());
    let html = li.get("/").text().unwrap();
    assert!(
        html.contains("aria-pressed=\"true\">Away"),
        "the header shows away"
    );
}

#[test]
fn shifts_keep_cases_away_outside_their_hours() {
    let d = Desk::new();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    {
        let mut conn = d.app.conn();
        accounts::set_routing(
            &mut conn,
            d.app.clock.now(),
            &Actor::cli(),
            li_id,
            &RoutingInput {
                queues: vec!["Transfers".into()],
                skills: vec!["fraud".into()],
                capacity: 5,
                shift_calendar: Some("early-shift".into()),
                auto_assign: true,
            },
            |_| Ok(()),
        )
        .unwrap();
    }
    presence(&li, "online");
    // The test clock stands at 09:00 Shanghai on a Tuesday: inside the shift.
    let inside = d.post("s-1", "LARGE_TRANSFER", "C-1");
    assert_eq!(inside["assignee"], "li@bank.example");
    d.app.clock.advance(Duration::minutes(61));
    let outside = d.post("s-2", "LARGE_TRANSFER", "C-2");
    assert!(outside["assignee"].is_null());
    let ev = d.events(outside["case_ref"].as_str().unwrap());
    assert_eq!(
        ev.iter()
            .find(|e| e["kind"] == "assignment.waiting")
            .unwrap()["data"]["reason"],
        "outside_shift"
    );
}

#[test]
fn take_next_release_and_reassign() {
    let d = Desk::new();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    let (sam, _) = d.agent("sam@bank.example", &["Transfers"], &["fraud"], 1);
    {
        // Automatic assignment paused for Li: only "take next" gives her cases.
        use diesel::prelude::*;
        use riskdesk::db::schema::users::dsl::*;
        diesel::update(users.find(li_id))
            .set(auto_assign.eq(false))
            .execute(&mut *d.app.conn())
            .unwrap();
    }
    presence(&li, "online");
    let r = d.post("t-1", "LARGE_TRANSFER", "C-1");
    assert!(r["assignee"].is_null());
    let res = li.submit("/", "/queue/take-next", &[]);
    assert_eq!(res.status(), 303);
    let reference = r["case_ref"].as_str().unwrap();
    assert_eq!(location(&res), format!("/cases/{reference}"));
    assert_eq!(d.case(reference)["assignee"], "li@bank.example");
    // Nothing left to take.
    let res = li.submit("/", "/queue/take-next", &[]);
    assert_eq!(location(&res), "/");

    // Releasing needs a reason; then the case goes to Sam (online, with room).
    presence(&sam, "online");
    let page = format!("/cases/{reference}");
    let res = li.submit(&page, &format!("{page}/release"), &[("reason", "")]);
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(reference)["assignee"], "li@bank.example");
    let res = li.submit(
        &page,
        &format!("{page}/release"),
        &[("reason", "customer is a relative")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(reference)["assignee"], "sam@bank.example");

    // Agents cannot reassign; supervisors can, with a reason, within capacity.
    let res = li.submit(
        &page,
        &format!("{page}/reassign"),
        &[("to", &li_id.to_string()), ("reason", "x")],
    );
    assert_eq!(res.status(), 403);
    let sup = d.app.signed_in("supervisor");
    let res = sup.submit(
        &page,
        &format!("{page}/reassign"),
        &[("to", &li_id.to_string()), ("reason", "")],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(reference)["assignee"], "sam@bank.example");
    let res = sup.submit(
        &page,
        &format!("{page}/reassign"),
        &[
            ("to", &li_id.to_string()),
            ("reason", "Li speaks the customer's dialect"),
        ],
    );
    assert_eq!(res.status(), 303);
    assert_eq!(d.case(reference)["assignee"], "li@bank.example");
    let ev = d.events(reference);
    let last = ev
        .iter()
        .rev()
        .find(|e| e["kind"] == "assignment.assigned")
        .unwrap();
    assert_eq!(last["data"]["how"], "reassigned");
    assert_eq!(last["data"]["reason"], "Li speaks the customer's dialect");
    assert!(last["actor"].as_str().unwrap().starts_with("supervisor."));
}

#[test]
fn agents_see_only_their_queues_cases() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    let (aml, _) = d.agent("aml@bank.example", &["AML review"], &["aml"], 5);
    let r = d.post("v-1", "LARGE_TRANSFER", "C-1");
    let page = format!("/cases/{}", r["case_ref"].as_str().unwrap());
    assert_eq!(li.get(&page).status(), 200);
    assert_eq!(aml.get(&page).status(), 404);
    assert_eq!(aml.get("/cases/RC-999999").status(), 404);
    let sup = d.app.signed_in("supervisor");
    assert_eq!(sup.get(&page).status(), 200);
    // Personal data on the page is masked.
    let html = li.get(&page).text().unwrap();
    assert!(html.contains("+86 138****8000") && !html.contains("13800138000"));
}

#[test]
fn warnings_and_breaches_fire_once_and_act() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    let (esc, _) = d.agent("esc@bank.example", &["Escalations"], &["fraud"], 5);
    presence(&li, "online");
    presence(&esc, "online");
    let sup = d.app.signed_in("supervisor");
    // High priority on a 24/7 policy: first response 30 min, resolution 240 min.
    let r = d.post("e-1", "LARGE_TRANSFER", "C-1");
    let reference = r["case_ref"].as_str().unwrap().to_string();
    assert_eq!(r["assignee"], "li@bank.example");
    assert_eq!(d.watch(), 0);
    d.app.clock.advance(Duration::minutes(23)); // 75 % of 30 = 22.5 → 23
    assert_eq!(d.watch(), 1);
    assert_eq!(d.watch(), 0, "fires once");
    let inbox = li.get("/notifications").text().unwrap();
    assert!(
        inbox.contains("75% of the first response target used"),
        "{inbox}"
    );
    assert!(
        !sup.get("/notifications")
            .text()
            .unwrap()
            .contains(&reference),
        "the first warning is the assignee's"
    );
    d.app.clock.advance(Duration::minutes(4)); // 90 % = 27
    assert_eq!(d.watch(), 1);
    assert!(
        sup.get("/notifications")
            .text()
            .unwrap()
            .contains(&reference)
    );
    d.app.clock.advance(Duration::minutes(3)); // 30: breach of first response
    assert_eq!(d.watch(), 1);
    let case = d.case(&reference);
    assert_eq!(case["sla"]["breached"], true);
    assert_eq!(case["priority"], "critical", "raised one step");
    assert_eq!(
        case["queue"], "Escalations",
        "moved to the escalation queue"
    );
    assert_eq!(case["assignee"], "esc@bank.example");
    assert_eq!(d.watch(), 0);
    let k = kinds(&d.events(&reference));
    assert_eq!(k.iter().filter(|k| *k == "sla.breached").count(), 1);
    assert_eq!(k.iter().filter(|k| *k == "sla.warning").count(), 2);
    // A second instance's watch finds nothing more to do either.
    let mut conn = d.app.conn();
    let snap = riskdesk::store::deskconfig::snapshot(&mut conn).unwrap();
    assert_eq!(
        riskdesk::cases::escalate::run_due(
            &mut conn,
            &snap,
            d.app.clock.now(),
            Duration::minutes(15),
            "http://desk.example"
        )
        .unwrap(),
        0
    );
}

#[test]
fn a_breach_reassigns_when_the_agent_is_not_online() {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["New accounts"], &[], 5);
    let (sam, _) = d.agent("sam@bank.example", &["New accounts"], &[], 5);
    presence(&li, "online");
    let r = d.post("n-1", "NEW_ACCOUNT_BURST", "C-1");
    let reference = r["case_ref"].as_str().unwrap().to_string();
    assert_eq!(li.get(&format!("/cases/{reference}")).status(), 200); // started: stays on going away
    presence(&li, "away");
    presence(&sam, "online");
    assert_eq!(d.case(&reference)["assignee"], "li@bank.example");
    // Medium on the office calendar: first response 240 business minutes.
    d.app.clock.advance(Duration::hours(6));
    d.watch();
    let case = d.case(&reference);
    assert_eq!(case["sla"]["breached"], true);
    assert_eq!(case["assignee"], "sam@bank.example");
}

#[test]
fn supervisors_hear_of_cases_waiting_unassigned_too_long() {
    let d = Desk::new();
    let sup = d.app.signed_in("supervisor");
    let r = d.post("u-1", "NEW_ACCOUNT_BURST", "C-1");
    d.app.clock.advance(Duration::minutes(16));
    assert!(d.watch() >= 1);
    let inbox = sup.get("/notifications").text().unwrap();
    assert!(
        inbox.contains("Waiting unassigned for 16 minutes"),
        "{inbox}"
    );
    assert!(inbox.contains(r["case_ref"].as_str().unwrap()));
    assert_eq!(
        sup.submit("/notifications", "/notifications/read", &[])
            .status(),
        303
    );
}

#[test]
fn invariants_hold_under_a_storm_of_alerts_and_presence_changes() {
    let d = Desk::new();
    let agents: Vec<(Browser, i64)> = (0..6)
        .map(|i| {
            d.agent(
                &format!("agent{i}@bank.example"),
                &["Transfers", "AML review"],
                &["fraud", "aml"],
                3 + i % 3,
            )
        })
        .collect();
    let base = d.app.base.clone();
    let key = d.key.clone();
    let posters: Vec<_> = (0..6)
        .map(|t| {
            let (base, key) = (base.clone(), key.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                for i in 0..25 {
                    let rule = if (t + i) % 4 == 0 {
                        "AML_WATCHLIST"
                    } else {
                        "LARGE_TRANSFER"
                    };
                    let res = client
                        .post(format!("{base}/api/v1/alerts"))
                        .bearer_auth(&key)
                        .json(&alert(
                            &format!("storm-{t}-{i}"),
                            rule,
                            &format!("C-{t}-{i}"),
                        ))
                        .send()
                        .unwrap();
                    let status = res.status();
                    assert_eq!(status, 201, "{}", res.text().unwrap());
                }
            })
        })
        .collect();
    std::thread::scope(|s| {
        for (n, (b, _)) in agents.iter().enumerate() {
            s.spawn(move || {
                for k in 0..8 {
                    let status = if (n + k) % 3 == 0 { "away" } else { "online" };
                    presence(b, status);
                }
                presence(b, "online");
            });
        }
    });
    for p in posters {
        p.join().unwrap();
    }
    riskdesk::jobs::sweep_assignment(&d.app.state).unwrap();
    check_invariants(&d.app);
}

/// One owner per case, no agent over capacity, each agent's load the sum of its
/// cases' weights, and no waiting case that an agent with room could have taken.
pub fn check_invariants(app: &TestApp) {
    use diesel::prelude::*;
    use riskdesk::db::schema::{cases, users};
    let mut conn = app.conn();
    let people: Vec<(i64, i32, i32, String)> = users::table
        .select((
            users::id,
            users::capacity,
            users::current_load,
            users::presence,
        ))
        .load(&mut *conn)
        .unwrap();
    for (id, capacity, load, _) in &people {
        assert!(
            load <= capacity,
            "agent {id} over capacity: {load}/{capacity}"
        );
        let carried: Option<i64> = cases::table
            .filter(cases::assignee_id.eq(id))
            .filter(cases::resolved_at.is_null())
            .select(diesel::dsl::sum(cases::weight))
            .first(&mut *conn)
            .unwrap();
        assert_eq!(i64::from(*load), carried.unwrap_or(0), "agent {id}'s load");
    }
    // No waiting case that an online member of its queue, holding its skills, has
    // room for.
    use riskdesk::db::schema::queue_members;
    let snap = riskdesk::store::deskconfig::snapshot(&mut conn).unwrap();
    let waiting: Vec<(i64, i32, i64)> = cases::table
        .filter(cases::assignee_id.is_null())
        .filter(cases::resolved_at.is_null())
        .select((cases::id, cases::weight, cases::queue_id))
        .load(&mut *conn)
        .unwrap();
    for (id, weight, queue) in waiting {
        let needs = &snap.queues_by_id[&queue].skills;
        let members: Vec<i64> = queue_members::table
            .filter(queue_members::queue_id.eq(queue))
            .select(queue_members::user_id)
            .load(&mut *conn)
            .unwrap();
        for (uid, capacity, load, presence) in &people {
            if presence != "online" || !members.contains(uid) {
                continue;
            }
            let skills: String = users::table
                .find(uid)
                .select(users::skills)
                .first(&mut *conn)
                .unwrap();
            let skills: Vec<String> = serde_json::from_str(&skills).unwrap();
            if needs.iter().all(|n| skills.contains(n)) {
                assert!(
                    capacity - load < weight,
                    "case {id} (weight {weight}) waits while agent {uid} has room {}",
                    capacity - load
                );
            }
        }
    }
}

#[test]
fn two_instances_on_one_database_keep_the_invariants() {
    let d = Desk::new();
    let other = d.app.second_instance();
    let agents: Vec<(Browser, i64)> = (0..4)
        .map(|i| {
            d.agent(
                &format!("two{i}@bank.example"),
                &["Transfers"],
                &["fraud"],
                2 + i % 2,
            )
        })
        .collect();
    // Half the agents talk to the second instance (sessions live in the database).
    let posters: Vec<_> = (0..4)
        .map(|t| {
            let base = if t % 2 == 0 {
                d.app.base.clone()
            } else {
                other.base.clone()
            };
            let key = d.key.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                for i in 0..20 {
                    let res = client
                        .post(format!("{base}/api/v1/alerts"))
                        .bearer_auth(&key)
                        .json(&alert(
                            &format!("two-{t}-{i}"),
                            "LARGE_TRANSFER",
                            &format!("C-{}", i % 9),
                        ))
                        .send()
                        .unwrap();
                    let status = res.status();
                    assert_eq!(status, 201, "{}", res.text().unwrap());
                }
            })
        })
        .collect();
    std::thread::scope(|s| {
        for (n, (b, _)) in agents.iter().enumerate() {
            s.spawn(move || {
                for k in 0..6 {
                    presence(b, if (n + k) % 2 == 0 { "online" } else { "away" });
                }
                presence(b, "online");
            });
        }
    });
    for p in posters {
        p.join().unwrap();
    }
    // Both instances' workers run at once, several times; each alarm acts once.
    d.app.clock.advance(Duration::minutes(40));
    let fired: usize = std::thread::scope(|s| {
        let a = s.spawn(|| {
            (0..3)
                .map(|_| riskdesk::jobs::watch_sla(&d.app.state).unwrap())
                .sum::<usize>()
        });
        let b = s.spawn(|| {
            (0..3)
                .map(|_| riskdesk::jobs::watch_sla(&other.state).unwrap())
                .sum::<usize>()
        });
        a.join().unwrap() + b.join().unwrap()
    });
    assert!(fired > 0);
    assert_eq!(riskdesk::jobs::watch_sla(&d.app.state).unwrap(), 0);
    assert_eq!(riskdesk::jobs::watch_sla(&other.state).unwrap(), 0);
    {
        use diesel::prelude::*;
        use riskdesk::db::schema::{case_alarms, case_events};
        // Warnings passed over for a breach already due are on record, not acted on.
        let alarms: i64 = case_alarms::table
            .filter(case_alarms::superseded.eq(false))
            .count()
            .get_result(&mut *d.app.conn())
            .unwrap();
        let acted: i64 = case_events::table
            .filter(case_events::kind.eq_any([
                "sla.warning",
                "sla.breached",
                "assignment.waiting_too_long",
            ]))
            .count()
            .get_result(&mut *d.app.conn())
            .unwrap();
        assert_eq!(alarms as usize, fired, "every firing is one alarm row");
        assert!(
            acted <= alarms && acted > 0,
            "{acted} acts for {alarms} alarms"
        );
    }
    riskdesk::jobs::sweep_assignment(&other.state).unwrap();
    riskdesk::jobs::sweep_assignment(&d.app.state).unwrap();
    check_invariants(&d.app);
    // No alarm is on record twice (the primary key says so; count to be sure).
    use diesel::prelude::*;
    use riskdesk::db::schema::case_alarms;
    let rows: Vec<(i64, String)> = case_alarms::table
        .select((case_alarms::case_id, case_alarms::kind))
        .load(&mut *d.app.conn())
        .unwrap();
    let unique: std::collections::HashSet<_> = rows.iter().collect();
    assert_eq!(unique.len(), rows.len());
}

/// An alert of an intake batch that fails after its case was given to an agent is
/// rolled back whole, and the batch forgets the load it gave her: the next alert of
/// the same batch still finds her room.
#[test]
fn a_failed_alert_in_a_batch_leaves_no_load_behind_in_the_batch() {
    use diesel::RunQueryDsl;
    let d = Desk::new();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 1);
    presence(&li, "online");
    // The database refuses to record the answer of one alert, the last write of its
    // intake, after its case was assigned.
    let poison: &[&str] = if crate::common::on_postgres() {
        &[
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'poisoned alert'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE UPDATE ON alerts FOR EACH ROW \
             WHEN (NEW.external_id = 'poison' AND NEW.result IS NOT NULL) \
             EXECUTE FUNCTION refuse_poison()",
        ]
    } else {
        &["CREATE TRIGGER poison BEFORE UPDATE ON alerts \
           WHEN NEW.external_id = 'poison' AND NEW.result IS NOT NULL \
           BEGIN SELECT RAISE(ABORT, 'poisoned alert'); END"]
    };
    {
        let mut conn = d.app.conn();
        for sql in poison {
            diesel::sql_query(*sql).execute(&mut *conn).unwrap();
        }
    }
    let batch = vec![
        alert("poison", "LARGE_TRANSFER", "C-P"),
        alert("after", "LARGE_TRANSFER", "C-Q"),
    ];
    let (s, r) = d
        .app
        .post_api(&d.key, "/api/v1/alerts/batch", &json!({ "alerts": batch }));
    assert_eq!(s, 200, "{r}");
    let results = r["results"].as_array().unwrap();
    assert!(
        results[0]["case_ref"].is_null(),
        "the poisoned alert failed: {r}"
    );
    assert_eq!(
        results[1]["assignee"], "li@bank.example",
        "her room was not used up by the undone alert: {r}"
    );
    assert_eq!(d.app.count("cases"), 1, "the failed alert left no case");
    assert_eq!(crate::resolution::load_of(&d, li_id), 1);
    check_invariants(&d.app);
}

/// A batch gives its new cases to agents once its other writes are made (on
/// PostgreSQL, so that agents' rows are held for the batch's last statements only);
/// every answer still says who took the case — an alert joining, in the same batch,
/// a case opened by an earlier one included — the stored answers say the same, the
/// timeline keeps its order, and a case nobody has room for waits.
#[test]
fn a_batch_answers_who_took_its_new_cases() {
    let d = Desk::new();
    let (li, li_id) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 2);
    presence(&li, "online");
    let alerts = json!({ "alerts": [
        alert("n-1", "LARGE_TRANSFER", "C-N1"),
        alert("n-2", "LARGE_TRANSFER", "C-N1"),
        alert("n-3", "LARGE_TRANSFER", "C-N2"),
        alert("n-4", "LARGE_TRANSFER", "C-N3"),
    ]});
    let (s, r) = d.app.post_api(&d.key, "/api/v1/alerts/batch", &alerts);
    assert_eq!(s, 200, "{r}");
    let results = r["results"].as_array().unwrap().clone();
    for (i, grouped) in [(0, false), (1, true), (2, false)] {
        assert_eq!(results[i]["status"], "assigned", "{i}: {r}");
        assert_eq!(results[i]["assignee"], "li@bank.example", "{i}: {r}");
        assert_eq!(results[i]["grouped"], grouped, "{i}: {r}");
    }
    assert_eq!(results[1]["case_ref"], results[0]["case_ref"]);
    assert_ne!(results[2]["case_ref"], results[0]["case_ref"]);
    // Her capacity of two is used up: the third customer's case waits.
    assert_eq!(results[3]["status"], "new", "{r}");
    assert!(results[3]["assignee"].is_null(), "{r}");
    assert_eq!(crate::resolution::load_of(&d, li_id), 2);

    // Sent again, the batch is answered from what was stored: the same answers.
    let (s, again) = d.app.post_api(&d.key, "/api/v1/alerts/batch", &alerts);
    assert_eq!(s, 200, "{again}");
    for (first, second) in results.iter().zip(again["results"].as_array().unwrap()) {
        let mut first = first.clone();
        first["deduplicated"] = json!(true);
        assert_eq!(&first, second);
    }

    // The first case's timeline: opened, its alert, given to her, then the alert that
    // joined it.
    let first = kinds(&d.events(results[0]["case_ref"].as_str().unwrap()));
    let at = |k: &str| first.iter().position(|x| x == k).expect(k);
    assert!(at("case.opened") < at("alert.received"), "{first:?}");
    assert!(
        at("alert.received") < at("assignment.assigned"),
        "{first:?}"
    );
    assert_eq!(
        first.iter().rposition(|x| x == "alert.received"),
        Some(first.len() - 1),
        "{first:?}"
    );
    assert_eq!(
        first.iter().filter(|k| *k == "assignment.assigned").count(),
        1
    );
    let waiting = kinds(&d.events(results[3]["case_ref"].as_str().unwrap()));
    assert!(
        waiting.iter().any(|k| k == "assignment.waiting"),
        "{waiting:?}"
    );
    check_invariants(&d.app);
}
