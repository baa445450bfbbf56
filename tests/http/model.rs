// The timeline is the truth, and the case's invariants hold whatever its users do.
//
// A model-based test: proptest draws random sequences of steps from several actors —
// alerts from the risk engine, agents going online, away and offline, opening,
// releasing, calling, e-mailing and closing cases, a supervisor reassigning,
// approving and rejecting, customers answering, complaints reopening, hand-offs, and
// the clock jumping past deadlines — and runs them through the real application on
// a real database. After every step it checks:
//
// - no agent over capacity, and each agent's load is the sum of the weights of the
//   open cases they hold (so no case counts for two owners);
// - a case waits for approval exactly when one pending closing row exists;
// - a paused clock belongs to an open case, and owned statuses have an owner;
// - the fold of each case's events equals its row: status, owner, priority, queue,
//   deadlines and pause.
//
// `RISKDESK_MODEL_CASES` (default 24) sets how many sequences run and
// `RISKDESK_MODEL_STEPS` (default 40) their longest length. A failing sequence is
// shrunk to a short one and kept in `tests/http/model.regressions`, which runs first
// every time.

use chrono::Duration;
use diesel::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::json;

use crate::common::{Browser, TestApp, extract_csrf};
use riskdesk::domain::CaseStatus;
use riskdesk::domain::events::fold;
use riskdesk::store::cases::{self as case_store, case_ref};

/// The desk of the test: two fraud queues (the first escalating into the second),
/// an AML queue, and rules of weight 1, 2 and 3.
fn desk_config() -> String {
    let mut d = crate::intake::DESK.replace(
        "[[queues]]\nname = \"Transfers\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]\n",
        "[[queues]]\nname = \"Transfers\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]\nescalation_queue = \"Escalations\"\n\n[[queues]]\nname = \"Escalations\"\nsla_policy = \"fraud-fast\"\nskills = [\"fraud\"]\n\n[[queues]]\nname = \"AML review\"\nsla_policy = \"fraud-fast\"\nskills = [\"aml\"]\n",
    );
    d.push_str(
        "\n[[rules]]\ncode = \"CARD_TESTING\"\nname = \"Card testing\"\ncategory = \"fraud\"\ndefault_severity = \"medium\"\nweight = 2\n\n[[rules]]\ncode = \"AML_WATCHLIST\"\nname = \"AML\"\ncategory = \"aml\"\ndefault_severity = \"high\"\nweight = 3\n\n[[routes]]\nrule = \"AML_WATCHLIST\"\nqueue = \"AML review\"\n",
    );
    d
}

const RULES: [&str; 4] = [
    "LARGE_TRANSFER",
    "CARD_TESTING",
    "AML_WATCHLIST",
    "NEW_ACCOUNT_BURST",
];
const QUEUES: [&str; 4] = ["Transfers", "Escalations", "New accounts", "AML review"];
const PRESENCE: [&str; 3] = ["online", "away", "offline"];
/// (disposition, action) of the closings the agents file; the first releases money
/// (a large amount waits for approval).
const CLOSINGS: [(&str, &str); 5] = [
    ("false_positive", "released"),
    ("confirmed_fraud", "blocked"),
    ("duplicate", "no_action"),
    ("unreachable", "no_action"),
    ("escalated_aml", "no_action"),
];

/// One thing someone does. Agents and cases are picked by index, modulo how many
/// there are, so a shrunk sequence still names real ones.
#[derive(Debug, Clone)]
enum Step {
    Alert { customer: u8, rule: u8, large: bool },
    Presence { agent: u8, status: u8 },
    Open { agent: u8, case: u8 },
    TakeNext { agent: u8 },
    Release { agent: u8, case: u8 },
    Reassign { case: u8, to: u8 },
    Call { agent: u8, case: u8, verified: bool },
    Verify { agent: u8, case: u8 },
    Answer { case: u8, confirm: bool },
    Resume { agent: u8, case: u8 },
    Close { agent: u8, case: u8, how: u8 },
    Decide { case: u8, approve: bool },
    Reopen { agent: u8, case: u8 },
    HandOff { agent: u8, case: u8, queue: u8 },
    Clock { minutes: u16 },
}

fn step() -> impl Strategy<Value = Step> {
    // Who acts on a case: 0, 1, 2 name an agent; 3 to 5 the case's own agent (a
    // supervisor when it has none), as most work is done by the one who holds it.
    let a = 0u8..6;
    let c = any::<u8>();
    prop_oneof![
        4 => (0u8..4, 0u8..4, any::<bool>())
            .prop_map(|(customer, rule, large)| Step::Alert { customer, rule, large }),
        3 => (0u8..3, 0u8..3).prop_map(|(agent, status)| Step::Presence { agent, status }),
        2 => (a.clone(), c).prop_map(|(agent, case)| Step::Open { agent, case }),
        1 => (0u8..3).prop_map(|agent| Step::TakeNext { agent }),
        1 => (a.clone(), c).prop_map(|(agent, case)| Step::Release { agent, case }),
        1 => (c, 0u8..3).prop_map(|(case, to)| Step::Reassign { case, to }),
        1 => (a.clone(), c, any::<bool>())
            .prop_map(|(agent, case, verified)| Step::Call { agent, case, verified }),
        1 => (a.clone(), c).prop_map(|(agent, case)| Step::Verify { agent, case }),
        1 => (c, any::<bool>()).prop_map(|(case, confirm)| Step::Answer { case, confirm }),
        1 => (a.clone(), c).prop_map(|(agent, case)| Step::Resume { agent, case }),
        3 => (a.clone(), c, 0u8..5).prop_map(|(agent, case, how)| Step::Close { agent, case, how }),
        2 => (c, any::<bool>()).prop_map(|(case, approve)| Step::Decide { case, approve }),
        1 => (a.clone(), c).prop_map(|(agent, case)| Step::Reopen { agent, case }),
        1 => (a.clone(), c, 0u8..4)
            .prop_map(|(agent, case, queue)| Step::HandOff { agent, case, queue }),
        2 => (1u16..600).prop_map(|minutes| Step::Clock { minutes }),
    ]
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The desk a sequence runs on: three agents of different queues and capacities, a
/// supervisor, the risk engine's key and the customers' browser.
struct World {
    app: TestApp,
    key: String,
    agents: Vec<Browser>,
    supervisor: Browser,
    customer: Browser,
    cases: Vec<String>,
    alerts: usize,
}

impl World {
    fn new() -> World {
        let app = TestApp::spawn_with(|s| {
            s.public_url = "https://desk.bank.example".into();
            // The clock jumps by hours: the users stay signed in meanwhile.
            s.session_idle = chrono::Duration::days(365);
            s.session_max = chrono::Duration::days(365);
        });
        app.apply_config(&desk_config());
        let key = app.api_key();
        let agents = [
            (
                "li@bank.example",
                &["Transfers", "Escalations"][..],
                &["fraud"][..],
                3,
            ),
            (
                "wang@bank.example",
                &["Transfers", "AML review", "New accounts"][..],
                &["fraud", "aml"][..],
                4,
            ),
            (
                "zhao@bank.example",
                &["Escalations", "AML review", "New accounts"][..],
                &["fraud", "aml"][..],
                2,
            ),
        ]
        .into_iter()
        .map(|(email, queues, skills, capacity)| app.agent(email, queues, skills, capacity).0)
        .collect();
        let supervisor = app.signed_in("supervisor");
        let customer = app.browser();
        World {
            app,
            key,
            agents,
            supervisor,
            customer,
            cases: Vec::new(),
            alerts: 0,
        }
    }

    fn case(&self, i: u8) -> Option<String> {
        (!self.cases.is_empty()).then(|| self.cases[usize::from(i) % self.cases.len()].clone())
    }

    fn agent(&self, i: u8) -> &Browser {
        &self.agents[usize::from(i) % self.agents.len()]
    }

    /// Who acts on case `r`: agent `i`, or for 3 and above the case's own agent (a
    /// supervisor when nobody holds it).
    fn actor(&self, i: u8, r: &str) -> &Browser {
        if i < 3 {
            return self.agent(i);
        }
        use riskdesk::db::schema::cases;
        let id = case_store::parse_case_ref(r).unwrap();
        let owner: Option<i64> = cases::table
            .find(id)
            .select(cases::assignee_id)
            .first(&mut *self.app.conn())
            .unwrap();
        match owner {
            Some(owner) => (0..3)
                .find(|a| self.user_id(*a) == owner)
                .map_or(&self.supervisor, |a| self.agent(a)),
            None => &self.supervisor,
        }
    }

    /// Runs one step; the HTTP status of what a user sent (never a server error).
    fn run(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let status = match *step {
            Step::Alert {
                customer,
                rule,
                large,
            } => {
                self.alerts += 1;
                let mut a = crate::intake::alert(
                    &format!("m-{}", self.alerts),
                    RULES[usize::from(rule) % RULES.len()],
                    &format!("C-{customer}"),
                );
                let value = if large { "80000.00" } else { "1200.00" };
                a["amount"] = json!({"value": value, "currency": "CNY"});
                let (s, r) = self.app.post_api(&self.key, "/api/v1/alerts", &a);
                prop_assert_eq!(s, 201, "alert refused: {}", r);
                let reference = r["case_ref"].as_str().unwrap().to_string();
                if !self.cases.contains(&reference) {
                    self.cases.push(reference);
                }
                s
            }
            Step::Presence { agent, status } => {
                let b = self.agent(agent);
                b.submit(
                    "/profile",
                    "/presence",
                    &[("status", PRESENCE[usize::from(status) % 3])],
                )
                .status()
                .as_u16()
            }
            Step::Open { agent, case } => match self.case(case) {
                Some(r) => self
                    .actor(agent, &r)
                    .get(&format!("/cases/{r}"))
                    .status()
                    .as_u16(),
                None => 200,
            },
            Step::TakeNext { agent } => self
                .agent(agent)
                .submit("/", "/queue/take-next", &[])
                .status()
                .as_u16(),
            Step::Release { agent, case } => match self.case(case) {
                Some(r) => {
                    self.on_case(self.actor(agent, &r), &r, "release", &[("reason", "break")])
                }
                None => 200,
            },
            Step::Reassign { case, to } => match self.case(case) {
                Some(r) => {
                    let id = self.user_id(to);
                    let to = id.to_string();
                    self.on_case(
                        &self.supervisor,
                        &r,
                        "reassign",
                        &[("to", to.as_str()), ("reason", "balance the load")],
                    )
                }
                None => 200,
            },
            Step::Call {
                agent,
                case,
                verified,
            } => match self.case(case) {
                Some(r) => {
                    let outcome = if verified { "verified" } else { "no_answer" };
                    self.on_case(
                        self.actor(agent, &r),
                        &r,
                        "calls",
                        &[
                            ("number", "phone"),
                            ("direction", "outbound"),
                            ("outcome", outcome),
                        ],
                    )
                }
                None => 200,
            },
            Step::Verify { agent, case } => match self.case(case) {
                Some(r) => {
                    let page = format!("/cases/{r}/verify-email");
                    let b = self.actor(agent, &r);
                    let form = b.get(&page);
                    if form.status() == 200 {
                        let token = extract_csrf(&form.text().unwrap()).unwrap_or_default();
                        b.post_raw(
                            &page,
                            &[("template", "verification"), ("csrf_token", &token)],
                        )
                        .status()
                        .as_u16()
                    } else {
                        form.status().as_u16()
                    }
                }
                None => 200,
            },
            Step::Answer { case, confirm } => match self.case(case).and_then(|r| self.link(&r)) {
                Some(secret) => {
                    let page = format!("/v/{secret}");
                    let html = self.customer.get(&page).text().unwrap();
                    match extract_csrf(&html) {
                        Some(token) => self
                            .customer
                            .post_raw(
                                &page,
                                &[
                                    ("answer", if confirm { "confirm" } else { "deny" }),
                                    ("csrf_token", &token),
                                ],
                            )
                            .status()
                            .as_u16(),
                        None => 200,
                    }
                }
                None => 200,
            },
            Step::Resume { agent, case } => match self.case(case) {
                Some(r) => self.on_case(self.actor(agent, &r), &r, "resume", &[]),
                None => 200,
            },
            Step::Close { agent, case, how } => match self.case(case) {
                Some(r) => {
                    let (disposition, action) = CLOSINGS[usize::from(how) % CLOSINGS.len()];
                    self.on_case(
                        self.actor(agent, &r),
                        &r,
                        "resolve",
                        &[
                            ("disposition", disposition),
                            ("action", action),
                            ("note", "Closed in the model test."),
                        ],
                    )
                }
                None => 200,
            },
            Step::Decide { case, approve } => match self.case(case) {
                Some(r) => {
                    let decision = if approve { "approve" } else { "reject" };
                    self.on_case(
                        &self.supervisor,
                        &r,
                        "approval",
                        &[("decision", decision), ("note", "checked")],
                    )
                }
                None => 200,
            },
            Step::Reopen { agent, case } => match self.case(case) {
                Some(r) => self.on_case(
                    self.actor(agent, &r),
                    &r,
                    "reopen",
                    &[("reason", "the customer complains")],
                ),
                None => 200,
            },
            Step::HandOff { agent, case, queue } => match self.case(case) {
                Some(r) => self.on_case(
                    self.actor(agent, &r),
                    &r,
                    "hand-off",
                    &[
                        ("queue", QUEUES[usize::from(queue) % QUEUES.len()]),
                        ("note", "for the other team"),
                    ],
                ),
                None => 200,
            },
            Step::Clock { minutes } => {
                self.app.clock.advance(Duration::minutes(minutes.into()));
                riskdesk::jobs::watch_sla(&self.app.state)
                    .map_err(|e| TestCaseError::fail(format!("SLA watch: {e:?}")))?;
                riskdesk::jobs::sweep_assignment(&self.app.state)
                    .map_err(|e| TestCaseError::fail(format!("sweep: {e:?}")))?;
                200
            }
        };
        prop_assert!(
            status < 500,
            "{:?} answered {}: a user saw a server error",
            step,
            status
        );
        Ok(())
    }

    /// How the sequence left the desk: its cases by status and the kinds of event
    /// written, for `RISKDESK_MODEL_TRACE`.
    fn summary(&self) -> String {
        use riskdesk::db::schema::{case_events, cases};
        let mut conn = self.app.conn();
        let statuses: Vec<CaseStatus> =
            cases::table.select(cases::status).load(&mut *conn).unwrap();
        let mut kinds: Vec<String> = case_events::table
            .select(case_events::kind)
            .load(&mut *conn)
            .unwrap();
        kinds.sort();
        kinds.dedup();
        format!("{statuses:?} {kinds:?}")
    }

    /// Posts a case page's form to `/cases/{r}/{action}`, as its button would.
    fn on_case(&self, b: &Browser, r: &str, action: &str, fields: &[(&str, &str)]) -> u16 {
        let page = format!("/cases/{r}");
        let res = b.get(&page);
        if res.status() != 200 {
            // Not theirs to see: the form is not there to press.
            return res.status().as_u16();
        }
        let token = extract_csrf(&res.text().unwrap()).expect("a form on the case page");
        let mut all = fields.to_vec();
        all.push(("csrf_token", &token));
        let res = b.post_raw(&format!("{page}/{action}"), &all);
        if std::env::var("RISKDESK_MODEL_TRACE").is_ok() {
            let flash = b
                .get(&crate::common::location(&res))
                .text()
                .unwrap_or_default();
            let said = flash
                .find("class=\"flash")
                .map(|i| &flash[i..(i + 160).min(flash.len())])
                .unwrap_or("");
            eprintln!("  {action} {r}: {} {said}", res.status());
        }
        res.status().as_u16()
    }

    fn user_id(&self, agent: u8) -> i64 {
        use riskdesk::db::schema::users;
        let email =
            ["li@bank.example", "wang@bank.example", "zhao@bank.example"][usize::from(agent) % 3];
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(&mut *self.app.conn())
            .unwrap()
    }

    /// The secret of the newest verification link sent for case `r`.
    fn link(&self, r: &str) -> Option<String> {
        use riskdesk::db::schema::outbox;
        let id = case_store::parse_case_ref(r)?;
        let body: String = outbox::table
            .filter(outbox::kind.eq("verification"))
            .filter(outbox::case_id.eq(id))
            .order(outbox::id.desc())
            .select(outbox::body_text)
            .first(&mut *self.app.conn())
            .optional()
            .unwrap()?;
        let i = body.find("/v/")? + 3;
        Some(
            body[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

/// Every invariant of the desk, read from the database.
fn check(app: &TestApp) -> Result<(), TestCaseError> {
    use riskdesk::db::schema::{cases, resolutions, users};
    let mut conn = app.conn();
    let people: Vec<(i64, String, i32, i32)> = users::table
        .select((
            users::id,
            users::email,
            users::capacity,
            users::current_load,
        ))
        .load(&mut *conn)
        .unwrap();
    let all: Vec<case_store::Case> = cases::table
        .select(case_store::Case::as_select())
        .order(cases::id.asc())
        .load(&mut *conn)
        .unwrap();
    for (id, email, capacity, load) in &people {
        prop_assert!(
            load <= capacity,
            "{} over capacity: {}/{}",
            email,
            load,
            capacity
        );
        let carried: i32 = all
            .iter()
            .filter(|c| c.assignee_id == Some(*id) && c.resolved_at.is_none())
            .map(|c| c.weight)
            .sum();
        prop_assert_eq!(
            *load,
            carried,
            "{}'s load is not the weight of their cases",
            email
        );
    }
    for case in &all {
        let r = case_ref(case.id);
        let pending: i64 = resolutions::table
            .filter(resolutions::case_id.eq(case.id))
            .filter(resolutions::state.eq("pending"))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        prop_assert_eq!(
            pending,
            i64::from(case.status == CaseStatus::PendingApproval),
            "{} is {} with {} pending closings",
            r,
            case.status,
            pending
        );
        prop_assert_eq!(
            case.status == CaseStatus::Resolved,
            case.resolved_at.is_some(),
            "{} is {} (resolved at {:?})",
            r,
            case.status,
            case.resolved_at
        );
        if case.status == CaseStatus::Resolved {
            prop_assert!(case.paused_since.is_none(), "{} resolved and paused", r);
        }
        if matches!(case.status, CaseStatus::Assigned | CaseStatus::InProgress) {
            prop_assert!(
                case.assignee_id.is_some(),
                "{} is {} without an owner",
                r,
                case.status
            );
        }
        if case.status == CaseStatus::New {
            prop_assert!(case.assignee_id.is_none(), "{} is new with an owner", r);
        }
        // The timeline is the truth.
        let rows = case_store::events_of(&mut conn, case.id).unwrap();
        let events: Vec<_> = rows
            .iter()
            .map(|e| (riskdesk::store::from_db(e.at), e.event().unwrap()))
            .collect();
        let f = fold(events.iter().map(|(at, e)| (*at, e)));
        let owner = case_store::assignee_email(&mut conn, case.assignee_id).unwrap();
        let queue = case_store::queue_name(&mut conn, case.queue_id).unwrap();
        let kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind()).collect();
        prop_assert_eq!(
            f.status,
            Some(case.status),
            "{} status; events {:?}",
            r,
            kinds
        );
        prop_assert_eq!(&f.owner, &owner, "{} owner; events {:?}", r, kinds);
        prop_assert_eq!(
            f.priority,
            Some(case.priority),
            "{} priority; events {:?}",
            r,
            kinds
        );
        prop_assert_eq!(
            f.queue.as_deref(),
            Some(queue.as_str()),
            "{} queue; {:?}",
            r,
            kinds
        );
        prop_assert_eq!(
            f.first_response_due,
            Some(riskdesk::store::from_db(case.first_response_due)),
            "{} first-response due; events {:?}",
            r,
            kinds
        );
        prop_assert_eq!(
            f.resolution_due,
            Some(riskdesk::store::from_db(case.resolution_due)),
            "{} resolution due; events {:?}",
            r,
            kinds
        );
        prop_assert_eq!(
            f.paused_since,
            case.paused_since.map(riskdesk::store::from_db),
            "{} pause; events {:?}",
            r,
            kinds
        );
        prop_assert_eq!(
            f.paused_minutes,
            i64::from(case.paused_minutes),
            "{} paused minutes; events {:?}",
            r,
            kinds
        );
    }
    Ok(())
}

#[test]
fn random_days_on_the_desk_keep_every_invariant() {
    let cases = env_number("RISKDESK_MODEL_CASES", 24);
    let steps = env_number("RISKDESK_MODEL_STEPS", 40) as usize;
    let mut runner = TestRunner::new(Config {
        cases,
        // Each shrinking step starts a desk of its own: keep the search short.
        max_shrink_iters: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        source_file: Some(file!()),
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(step(), 1..=steps), |sequence| {
        let mut world = World::new();
        let trace = std::env::var("RISKDESK_MODEL_TRACE").is_ok();
        for s in &sequence {
            world.run(s)?;
            check(&world.app)?;
            if trace {
                eprintln!("{s:?}");
            }
        }
        if trace {
            eprintln!("-- {}", world.summary());
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
