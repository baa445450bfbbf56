// Who gets in where: every route of the app's own route table (`web::ROUTES`) walked
// as anonymous, agent, supervisor and admin (and with an API key under /api), each
// answer checked against the access the table declares, and each API route with keys
// without and with its scope; and CSRF refusals.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

use crate::admin_desk::{TARGETS, apply_config};
use crate::auth::user_id;
use crate::common::{Browser, TestApp, extract_csrf, location, query_value};
use riskdesk::domain::Role;
use riskdesk::domain::apikey::{Scope, Scopes};
use riskdesk::web::{Access, ROUTES};

/// What the walk works on; the `-2` objects are there to be deleted, the routes send
/// every alert to "Walk queue", and no walk alert reaches a campaign rule's threshold.
pub fn walk_desk() -> String {
    format!(
        r#"triage_queue = "Triage"

[[calendars]]
name = "walk-cal"
timezone = "UTC"
[calendars.hours]
mon = [["09:00", "17:00"]]

[[calendars]]
name = "walk-cal-2"
timezone = "UTC"
[calendars.hours]
tue = [["09:00", "17:00"]]

[[sla_policies]]
name = "default"
{TARGETS}
[[sla_policies]]
name = "walk-policy"
calendar = "walk-cal"
{TARGETS}
[[sla_policies]]
name = "walk-policy-2"
{TARGETS}
[[queues]]
name = "Triage"
sla_policy = "default"

[[queues]]
name = "Walk queue"
sla_policy = "walk-policy"

[[queues]]
name = "Walk queue 2"
sla_policy = "walk-policy"

[[rules]]
code = "WALK"
category = "walk"
default_severity = "high"

[[rules]]
code = "WALK2"
category = "walk"
default_severity = "low"

[[routes]]
rule = "WALK"
queue = "Walk queue"

[[routes]]
queue = "Walk queue"

[[campaigns]]
name = "walk-campaign"
link_by = ["device_id"]
min_customers = 10000
window_minutes = 60
rules = ["WALK"]
queue = "Walk queue"

[[campaigns]]
name = "walk-campaign-2"
link_by = ["ip"]
min_customers = 10000
window_minutes = 60
queue = "Walk queue"
"#
    )
}

/// Two rotas of the walk's users; the second is there to be deleted.
const WALK_ROTAS: &str = r#"
[[oncall]]
name = "walk-rota"
timezone = "UTC"
members = ["walk.agent@bank.example", "walk.supervisor@bank.example"]
rotation_hours = 24
handover = "2026-11-01T09:00:00Z"

[[oncall]]
name = "walk-rota-2"
timezone = "UTC"
members = ["walk.admin@bank.example"]
rotation_hours = 24
handover = "2026-11-01T09:00:00Z"
"#;

const POLICY_TARGETS: [(&str, &str); 8] = [
    ("critical_first_response", "15"),
    ("critical_resolution", "120"),
    ("high_first_response", "30"),
    ("high_resolution", "240"),
    ("medium_first_response", "120"),
    ("medium_resolution", "1440"),
    ("low_first_response", "480"),
    ("low_resolution", "4320"),
];

/// Who makes a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    /// A client with an API key and no browser session (walks /api only).
    Key,
    Agent,
    Supervisor,
    Admin,
}

impl Who {
    fn role(self) -> Option<Role> {
        match self {
            Who::Anonymous | Who::Key => None,
            Who::Agent => Some(Role::Agent),
            Who::Supervisor => Some(Role::Supervisor),
            Who::Admin => Some(Role::Admin),
        }
    }
}

/// An answer as the walk tells them apart.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    /// A page or document with this status.
    Status(u16),
    /// `303 See Other` to exactly this address.
    SeeOther(String),
    /// The HTML "forbidden" page, 403.
    Forbidden,
    /// The API's 401: problem+json asking for a bearer key.
    KeyRequired,
}

use Answer::{Forbidden, KeyRequired, SeeOther, Status};

fn answer_of(res: Response) -> Answer {
    let status = res.status().as_u16();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let content_type = header("content-type");
    match status {
        303 => SeeOther(location(&res)),
        403 if content_type.starts_with("text/html") => Forbidden,
        401 if content_type == "application/problem+json"
            && header("www-authenticate") == "Bearer" =>
        {
            KeyRequired
        }
        s => Status(s),
    }
}

/// What a route's request sends.
enum Body {
    None,
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

impl Body {
    fn copy(&self) -> Body {
        match self {
            Body::None => Body::None,
            Body::Form(f) => Body::Form(f.clone()),
            Body::Json(v) => Body::Json(v.clone()),
        }
    }
}

/// One request per route of the table, and how it goes for those the route admits.
struct Sample {
    path: String,
    body: Body,
    /// The answer to everyone the route admits…
    ok: Answer,
    /// …except these.
    except: Vec<(Who, Answer)>,
}

fn sample(path: impl Into<String>, ok: Answer) -> Sample {
    Sample {
        path: path.into(),
        body: Body::None,
        ok,
        except: Vec::new(),
    }
}

impl Sample {
    fn form(mut self, fields: &[(&'static str, &str)]) -> Self {
        self.body = Body::Form(fields.iter().map(|(k, v)| (*k, v.to_string())).collect());
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    fn except(mut self, who: Who, answer: Answer) -> Self {
        self.except.push((who, answer));
        self
    }
}

/// What `who` must get from a route of `access` at `path`: the sample's answer when
/// the route admits them, else the refusal the app gives.
fn expected(who: Who, access: Access, method: &str, sample: &Sample) -> Answer {
    let admitted = match (access, who.role()) {
        (Access::Public, _) => true,
        (Access::ApiKey(_), _) => who == Who::Key,
        (_, None) => false,
        (access, Some(role)) => access.admits(role),
    };
    if admitted {
        return sample
            .except
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| sample.ok.clone());
    }
    match (access, who) {
        (Access::ApiKey(_), _) => KeyRequired,
        (_, Who::Anonymous) if method == "GET" && sample.path != "/" => {
            SeeOther(format!("/login?next={}", query_value(&sample.path)))
        }
        (_, Who::Anonymous) => SeeOther("/login".into()),
        _ => Forbidden,
    }
}

/// A client of the walk: a browser with its CSRF token, or the API key's client.
struct Walker {
    client: Client,
    base: String,
    csrf: String,
    key: Option<String>,
}

impl Walker {
    fn browser(who: Who, b: Browser, app: &TestApp) -> Walker {
        let csrf = fresh_token(&b, who);
        Walker {
            client: b.client,
            base: app.base.clone(),
            csrf,
            key: None,
        }
    }

    fn send(&self, method: &str, path: &str, body: &Body) -> Response {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.client.get(url),
            "POST" => self.client.post(url),
            "DELETE" => self.client.delete(url),
            other => panic!("the walk does not send {other}"),
        };
        if let Some(key) = &self.key {
            req = req.bearer_auth(key);
        }
        req = match body {
            Body::None if method == "POST" => req.form(&[("csrf_token", &self.csrf)]),
            Body::None => req,
            Body::Form(fields) => {
                let mut all: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                all.push(("csrf_token", &self.csrf));
                req.form(&all)
            }
            Body::Json(v) => req.json(v),
        };
        req.send().unwrap()
    }
}

fn fresh_token(b: &Browser, who: Who) -> String {
    let page = if who == Who::Anonymous {
        "/login"
    } else {
        "/profile"
    };
    extract_csrf(&b.get(page).text().unwrap()).expect("a CSRF token")
}

/// An alert of the walk's rule for `customer`, opening a case of its own.
fn walk_alert(id: &str, customer: &str) -> Value {
    json!({
        "external_id": id,
        "rule": "WALK",
        "amount": {"value": "1500.00", "currency": "CNY"},
        "customer": {"external_id": customer, "name": "王伟", "email": "wei@example.com", "phone": "+8613800138000"},
        "attributes": {"device_id": "d-91ab", "ip": "203.0.113.7"}
    })
}

#[test]
fn every_route_in_the_table_admits_exactly_whom_it_declares() {
    let app = TestApp::spawn();
    apply_config(&app, &walk_desk());
    let key = app.api_key();
    let new_case = |n: usize| {
        let (s, r) = app.post_api(
            &key,
            "/api/v1/alerts",
            &walk_alert(&format!("walk-{n}"), &format!("C-{n}")),
        );
        assert_eq!(s, 201, "{r}");
        r["case_ref"].as_str().unwrap().to_string()
    };
    let [
        show,
        release,
        reassign,
        resolve,
        reopen,
        hand_off,
        approval,
        qa,
    ] = std::array::from_fn(new_case);
    // The case to reopen is resolved before the walk.
    let closer = app.signed_in("supervisor");
    let res = closer.submit(
        &format!("/cases/{reopen}"),
        &format!("/cases/{reopen}/resolve"),
        &[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Closed before the walk."),
        ],
    );
    assert_eq!(location(&res), format!("/cases/{reopen}"));
    assert_eq!(
        app.get_api(&key, &format!("/api/v1/cases/{reopen}")).1["status"],
        "resolved"
    );

    let passwords: BTreeMap<Who, String> = [
        (Who::Agent, "agent"),
        (Who::Supervisor, "supervisor"),
        (Who::Admin, "admin"),
    ]
    .into_iter()
    .map(|(who, role)| {
        (
            who,
            app.create_user(&format!("walk.{role}@bank.example"), role),
        )
    })
    .collect();
    let email = |who: Who| format!("walk.{}@bank.example", who.role().unwrap().as_str());
    // On-call rotas name users, who exist now.
    apply_config(&app, &format!("{}{WALK_ROTAS}", walk_desk()));
    // The case to give back is the walk agent's.
    let res = closer.submit(
        &format!("/cases/{release}"),
        &format!("/cases/{release}/reassign"),
        &[
            ("to", &user_id(&app, &email(Who::Agent)).to_string()),
            ("reason", "Theirs for the walk."),
        ],
    );
    assert_eq!(location(&res), format!("/cases/{release}"));
    assert_eq!(
        app.get_api(&key, &format!("/api/v1/cases/{release}")).1["assignee"],
        email(Who::Agent)
    );
    let target_pw = app.create_user("target@bank.example", "agent");
    assert!(!target_pw.is_empty());
    let target = user_id(&app, "target@bank.example");
    let revoked_key = {
        let mut conn = app.conn();
        riskdesk::accounts::create_api_key(
            &mut conn,
            app.clock.now(),
            &riskdesk::accounts::Actor::cli(),
            "walk",
        )
        .unwrap()
        .0
        .id
    };
    // A webhook with one delivery waiting (an alert after it was added).
    let hook = {
        let mut conn = app.conn();
        riskdesk::webhooks::add(
            &mut conn,
            app.clock.now(),
            &riskdesk::accounts::Actor::cli(),
            "walk hook",
            "http://127.0.0.1:9/walk",
            "case.opened",
        )
        .unwrap()
        .0
        .id
    };
    let doomed_hook = {
        let mut conn = app.conn();
        riskdesk::webhooks::add(
            &mut conn,
            app.clock.now(),
            &riskdesk::accounts::Actor::cli(),
            "walk hook to delete",
            "http://127.0.0.1:9/gone",
            "snooze.ended",
        )
        .unwrap()
        .0
        .id
    };
    let api_doomed_hook = {
        let mut conn = app.conn();
        riskdesk::webhooks::add(
            &mut conn,
            app.clock.now(),
            &riskdesk::accounts::Actor::cli(),
            "walk hook the API deletes",
            "http://127.0.0.1:9/api-gone",
            "",
        )
        .unwrap()
        .0
        .id
    };
    let (s, _) = app.post_api(
        &key,
        "/api/v1/alerts",
        &crate::intake::alert("walk-hook", "LARGE_TRANSFER", "C-walk-hook"),
    );
    assert_eq!(s, 201);
    // The worker tries it (nothing listens there): a delivery row to send again.
    riskdesk::jobs::send_webhooks(&app.state).unwrap();
    let delivery: i64 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::webhook_deliveries as wd;
        wd::table.select(wd::id).first(&mut *app.conn()).unwrap()
    };
    // A shared view and a private one of another supervisor: the walk's users may
    // rename neither (refused on /views) and do not even find the private one.
    let (shared_view, private_view) = {
        let mut conn = app.conn();
        let actor = riskdesk::accounts::Actor::user(user_id(&app, "target@bank.example"), None);
        let save = |conn: &mut riskdesk::db::DbConn, name: &str, shared: bool| {
            riskdesk::saved_views::save(conn, app.clock.now(), &actor, name, shared, "view=at_risk")
                .unwrap()
                .id
        };
        (
            save(&mut conn, "Team view", true),
            save(&mut conn, "Own view", false),
        )
    };
    // Two published articles of the walk's supervisor: one to read and edit, one to
    // retire.
    let (article, retired_article) = {
        let mut conn = app.conn();
        let snap = riskdesk::store::deskconfig::snapshot(&mut conn).unwrap();
        let actor = riskdesk::accounts::Actor::user(user_id(&app, &email(Who::Supervisor)), None);
        let mut write = |title: &str| {
            riskdesk::knowledge::create(
                &mut conn,
                app.clock.now(),
                &actor,
                &snap,
                &riskdesk::knowledge::Submitted {
                    title_en: title.into(),
                    title_zh: "走查文章".into(),
                    body_en: "Walk.".into(),
                    body_zh: "走查。".into(),
                    rules: vec!["WALK".into()],
                },
                None,
                true,
            )
            .unwrap()
            .id
        };
        (write("Walk article"), write("Walk article to retire"))
    };
    let article_page = format!("/knowledge/{article}");
    let case = |r: &str| format!("/cases/{r}");
    let static_file = riskdesk::web::assets::url("app.css");
    assert_ne!(static_file, "/static/app.css", "app.css is a known asset");

    // One sample per route of the table, keyed by method and pattern.
    let mut samples: BTreeMap<(&str, &str), Sample> = BTreeMap::new();
    let mut add = |method: &'static str, pattern: &'static str, s: Sample| {
        assert!(
            samples.insert((method, pattern), s).is_none(),
            "{method} {pattern} twice"
        );
    };
    let json_cases = Status(200);
    add(
        "GET",
        "/api/openapi.json",
        sample("/api/openapi.json", Status(200)),
    );
    add(
        "POST",
        "/api/v1/alerts",
        sample("/api/v1/alerts", Status(201)).json(walk_alert("walk-api", "C-api")),
    );
    add(
        "POST",
        "/api/v1/alerts/batch",
        sample("/api/v1/alerts/batch", Status(200))
            .json(json!({"alerts": [walk_alert("walk-batch", "C-batch")]})),
    );
    add(
        "GET",
        "/api/v1/cases",
        sample("/api/v1/cases", json_cases.clone()),
    );
    add(
        "GET",
        "/api/v1/labels",
        sample("/api/v1/labels", json_cases.clone()),
    );
    add(
        "GET",
        "/api/v1/snoozes",
        sample("/api/v1/snoozes", json_cases.clone()),
    );
    add(
        "GET",
        "/api/v1/cases/{case_ref}",
        sample(format!("/api/v1/cases/{show}"), json_cases.clone()),
    );
    add(
        "GET",
        "/api/v1/cases/{case_ref}/events",
        sample(format!("/api/v1/cases/{show}/events"), json_cases),
    );
    add(
        "POST",
        "/api/v1/calendars/preview",
        sample("/api/v1/calendars/preview", Status(200))
            .json(json!({"calendar": "24/7", "start": "2026-11-24T15:30:00Z", "minutes": 90})),
    );
    add(
        "GET",
        "/api/v1/webhooks",
        sample("/api/v1/webhooks", Status(200)),
    );
    add(
        "POST",
        "/api/v1/webhooks",
        sample("/api/v1/webhooks", Status(201))
            .json(json!({"name": "walk api hook", "url": "http://127.0.0.1:9/api"})),
    );
    add(
        "POST",
        "/api/v1/webhooks/{id}/disable",
        sample(format!("/api/v1/webhooks/{hook}/disable"), Status(200)),
    );
    add(
        "POST",
        "/api/v1/webhooks/{id}/enable",
        sample(format!("/api/v1/webhooks/{hook}/enable"), Status(200)),
    );
    add(
        "POST",
        "/api/v1/webhooks/{id}/rotate",
        sample(format!("/api/v1/webhooks/{hook}/rotate"), Status(200)),
    );
    add(
        "DELETE",
        "/api/v1/webhooks/{id}",
        sample(format!("/api/v1/webhooks/{api_doomed_hook}"), Status(204)),
    );
    add("GET", "/healthz", sample("/healthz", Status(200)));
    add("GET", "/readyz", sample("/readyz", Status(200)));
    add("GET", "/metrics", sample("/metrics", Status(200)));
    add("GET", "/static/{file}", sample(&static_file, Status(200)));
    add(
        "GET",
        "/login",
        sample("/login", SeeOther("/".into())).except(Who::Anonymous, Status(200)),
    );
    // Nobody in the walk has a sign-in waiting for its code.
    add(
        "GET",
        "/login/code",
        sample("/login/code", SeeOther("/login".into())),
    );
    add(
        "POST",
        "/login/code",
        sample("/login/code", SeeOther("/login".into())).form(&[("code", "123456")]),
    );
    // Signed in, each posts their own credentials (a new session); anonymous, wrong
    // ones.
    add(
        "POST",
        "/login",
        sample("/login", SeeOther("/".into())).except(Who::Anonymous, Status(401)),
    );
    add(
        "POST",
        "/logout",
        sample("/logout", SeeOther("/login".into())),
    );
    add(
        "POST",
        "/logout/everywhere",
        sample("/logout/everywhere", SeeOther("/login".into())),
    );
    // The desk has users: its setup link refuses everyone, signed in or not.
    add(
        "GET",
        "/setup/{token}",
        sample("/setup/walk-token", Forbidden),
    );
    add(
        "POST",
        "/setup/{token}",
        sample("/setup/walk-token", Forbidden).form(&[
            ("name", "Walk"),
            ("email", "walk.setup@bank.example"),
            ("password", "a long enough password"),
            ("confirm", "a long enough password"),
        ]),
    );
    add("GET", "/", sample("/", Status(200)));
    add("GET", "/profile", sample("/profile", Status(200)));
    add(
        "POST",
        "/profile",
        sample("/profile", SeeOther("/profile".into()))
            .form(&[("language", "en"), ("timezone", "Asia/Shanghai")]),
    );
    add(
        "POST",
        "/profile/notifications",
        sample("/profile/notifications", Status(422)).form(&[("email.sla.warning", "weekly")]),
    );
    add(
        "POST",
        "/profile/password",
        sample("/profile/password", Status(422)).form(&[
            ("current_password", "wrong-wrong-wrong"),
            ("new_password", "another-long-password"),
            ("confirm_password", "another-long-password"),
        ]),
    );
    add("GET", "/profile/mfa", sample("/profile/mfa", Status(200)));
    add(
        "POST",
        "/profile/mfa/start",
        sample("/profile/mfa/start", SeeOther("/profile/mfa".into())),
    );
    add(
        "POST",
        "/profile/mfa/confirm",
        sample("/profile/mfa/confirm", Status(422)).form(&[("code", "12")]),
    );
    add(
        "POST",
        "/profile/mfa/recovery-codes",
        sample("/profile/mfa/recovery-codes", Status(422)).form(&[("code", "12")]),
    );
    add(
        "POST",
        "/profile/mfa/disable",
        sample("/profile/mfa/disable", Status(422)).form(&[("code", "12")]),
    );
    let user_page = format!("/admin/users/{target}");
    add("GET", "/admin/users", sample("/admin/users", Status(200)));
    add(
        "POST",
        "/admin/users",
        sample("/admin/users", Status(200)).form(&[
            ("email", "walk.new@bank.example"),
            ("name", "Walk"),
            ("role", "agent"),
        ]),
    );
    add("GET", "/admin/users/{id}", sample(&user_page, Status(200)));
    add(
        "POST",
        "/admin/users/{id}",
        sample(&user_page, SeeOther(user_page.clone()))
            .form(&[("name", "Target Renamed"), ("role", "agent")]),
    );
    add(
        "POST",
        "/admin/users/{id}/deactivate",
        sample(
            format!("{user_page}/deactivate"),
            SeeOther(user_page.clone()),
        ),
    );
    add(
        "POST",
        "/admin/users/{id}/reactivate",
        sample(
            format!("{user_page}/reactivate"),
            SeeOther(user_page.clone()),
        ),
    );
    add(
        "POST",
        "/admin/users/{id}/routing",
        sample(format!("{user_page}/routing"), SeeOther(user_page.clone()))
            .form(&[("queue", "Walk queue"), ("capacity", "3")]),
    );
    add(
        "POST",
        "/admin/users/{id}/reset-password",
        sample(format!("{user_page}/reset-password"), Status(200)),
    );
    // The target has no second factor: the admin is told so on the user page.
    add(
        "POST",
        "/admin/users/{id}/reset-mfa",
        sample(
            format!("{user_page}/reset-mfa"),
            SeeOther(user_page.clone()),
        ),
    );
    add(
        "POST",
        "/admin/users/{id}/sessions/end",
        sample(
            format!("{user_page}/sessions/end"),
            SeeOther(user_page.clone()),
        ),
    );
    add(
        "GET",
        "/admin/api-keys",
        sample("/admin/api-keys", Status(200)),
    );
    add(
        "POST",
        "/admin/api-keys",
        sample("/admin/api-keys", Status(200)).form(&[
            ("name", "walk key"),
            ("scopes", "alerts:write"),
            ("scopes", "cases:read"),
            ("expires_in_days", "30"),
            ("rate_limit", "600"),
        ]),
    );
    add(
        "POST",
        "/admin/api-keys/{id}/revoke",
        sample(
            format!("/admin/api-keys/{revoked_key}/revoke"),
            SeeOther("/admin/api-keys".into()),
        ),
    );
    add("GET", "/admin/audit", sample("/admin/audit", Status(200)));
    add(
        "GET",
        "/admin/audit/export.csv",
        sample("/admin/audit/export.csv?kind=login.*", Status(200)),
    );
    add(
        "GET",
        "/admin/audit/export.jsonl",
        sample("/admin/audit/export.jsonl", Status(200)),
    );
    add("GET", "/snoozes", sample("/snoozes", Status(200)));
    // No such snooze: a supervisor is told so (404), others are refused first.
    add(
        "POST",
        "/snoozes/{id}/end",
        sample("/snoozes/999999/end", Status(404)),
    );
    let hook_page = format!("/admin/webhooks/{hook}");
    add(
        "GET",
        "/admin/webhooks",
        sample("/admin/webhooks", Status(200)),
    );
    add(
        "POST",
        "/admin/webhooks",
        sample("/admin/webhooks", Status(422)).form(&[("name", "walk"), ("url", "ftp://x")]),
    );
    add(
        "GET",
        "/admin/webhooks/{id}",
        sample(&hook_page, Status(200)),
    );
    add(
        "POST",
        "/admin/webhooks/{id}/disable",
        sample(
            format!("{hook_page}/disable"),
            SeeOther("/admin/webhooks".into()),
        ),
    );
    add(
        "POST",
        "/admin/webhooks/{id}/enable",
        sample(
            format!("{hook_page}/enable"),
            SeeOther("/admin/webhooks".into()),
        ),
    );
    add(
        "POST",
        "/admin/webhooks/{id}/delete",
        sample(
            format!("/admin/webhooks/{doomed_hook}/delete"),
            SeeOther("/admin/webhooks".into()),
        ),
    );
    add(
        "POST",
        "/admin/webhooks/{id}/rotate",
        sample(format!("{hook_page}/rotate"), Status(200)),
    );
    add(
        "POST",
        "/admin/webhook-deliveries/{id}/resend",
        sample(
            format!("/admin/webhook-deliveries/{delivery}/resend"),
            SeeOther(hook_page.clone()),
        ),
    );
    add(
        "POST",
        "/presence",
        sample("/presence", SeeOther("/".into())).form(&[("status", "online")]),
    );
    add(
        "POST",
        "/queue/take-next",
        sample("/queue/take-next", SeeOther("/".into())),
    );
    add("GET", "/queues", sample("/queues", Status(200)));
    add(
        "GET",
        "/queues/fragment",
        sample("/queues/fragment", Status(200)),
    );
    // A bulk action on a case that does not exist: the result page lists the refusal.
    add(
        "POST",
        "/queues/bulk",
        sample("/queues/bulk", Status(200)).form(&[
            ("op", "hand_off"),
            ("to_queue", "Triage"),
            ("refs", "RC-999999"),
            ("reason", "Walk"),
        ]),
    );
    add("GET", "/search", sample("/search?q=C-walk", Status(200)));
    add("GET", "/views", sample("/views", Status(200)));
    add(
        "POST",
        "/views",
        sample("/views", SeeOther("/queues?view=at_risk".into()))
            .form(&[("name", "Walk view"), ("query", "view=at_risk")]),
    );
    add(
        "POST",
        "/views/{id}/rename",
        sample(
            format!("/views/{shared_view}/rename"),
            SeeOther("/views".into()),
        )
        .form(&[("name", "Renamed")]),
    );
    add(
        "POST",
        "/views/{id}/delete",
        sample(format!("/views/{private_view}/delete"), Status(404)),
    );
    // An emergency on the shown case, paging every supervisor (its queue names no
    // rota): declaring another is refused back to the case; standing down one on a
    // case without any is refused too; acknowledging and handing over are refused or
    // done (a supervisor of the walk is paged), back on the emergency's page.
    let emergency = {
        let mut conn = app.conn();
        let snap = riskdesk::store::deskconfig::snapshot(&mut conn).unwrap();
        let id = riskdesk::store::cases::parse_case_ref(&show).unwrap();
        riskdesk::cases::emergency::declare_in(
            &mut conn,
            riskdesk::cases::emergency::Pager {
                snap: &snap,
                base: "http://desk.example",
            },
            app.clock.now(),
            id,
            None,
            riskdesk::domain::emergency::Cause::Declared,
            "Walk.",
        )
        .unwrap()
        .unwrap()
        .id
    };
    let emergency_page = format!("/emergencies/{emergency}");
    add(
        "POST",
        "/cases/{case_ref}/emergency",
        sample(format!("{}/emergency", case(&show)), SeeOther(case(&show)))
            .form(&[("reason", "Walk.")])
            .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/emergency/stand-down",
        sample(
            format!("{}/emergency/stand-down", case(&reopen)),
            SeeOther(case(&reopen)),
        )
        .form(&[("reason", "Walk.")]),
    );
    add(
        "GET",
        "/emergencies/{id}",
        sample(emergency_page.clone(), Status(200)).except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/emergencies/{id}/ack",
        sample(
            format!("{emergency_page}/ack"),
            SeeOther(emergency_page.clone()),
        )
        .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/emergencies/{id}/hand-over",
        sample(
            format!("{emergency_page}/hand-over"),
            SeeOther(emergency_page.clone()),
        )
        .form(&[("to", "nobody@bank.example")])
        .except(Who::Agent, Status(404)),
    );
    // An agent sees only their queues' cases: the walk's agent has none.
    add(
        "GET",
        "/cases/{case_ref}",
        sample(case(&show), Status(200)).except(Who::Agent, Status(404)),
    );
    // The full list of one identifier shared: a digest the customer does not hold
    // names nothing, to anyone signed in.
    add(
        "GET",
        "/cases/{case_ref}/linked",
        sample(
            format!("{}/linked?shared={}", case(&show), "0".repeat(64)),
            Status(404),
        ),
    );
    // Only the assignee (the walk's agent) may give a case back (and goes home);
    // anyone else is sent back to the case with the refusal.
    add(
        "POST",
        "/cases/{case_ref}/release",
        sample(
            format!("{}/release", case(&release)),
            SeeOther(case(&release)),
        )
        .form(&[("reason", "Walk")])
        .except(Who::Agent, SeeOther("/".into())),
    );
    // Resuming a clock that runs is refused on the case page; the walk's agent
    // cannot see the case at all.
    add(
        "POST",
        "/cases/{case_ref}/resume",
        sample(format!("{}/resume", case(&show)), SeeOther(case(&show)))
            .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/reassign",
        sample(
            format!("{}/reassign", case(&reassign)),
            SeeOther(case(&reassign)),
        )
        .form(&[("to", &target.to_string()), ("reason", "Walk")]),
    );
    add(
        "POST",
        "/cases/{case_ref}/resolve",
        sample(
            format!("{}/resolve", case(&resolve)),
            SeeOther(case(&resolve)),
        )
        .form(&[
            ("disposition", "false_positive"),
            ("action", "released"),
            ("note", "Walk"),
        ])
        .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/approval",
        sample(
            format!("{}/approval", case(&approval)),
            SeeOther(case(&approval)),
        )
        .form(&[("decision", "approve")]),
    );
    add(
        "POST",
        "/cases/{case_ref}/reopen",
        sample(format!("{}/reopen", case(&reopen)), SeeOther(case(&reopen)))
            .form(&[("reason", "The customer complained.")])
            .except(Who::Agent, Status(404)),
    );
    // Not a confirmed false positive: refused back to the case page.
    add(
        "POST",
        "/cases/{case_ref}/snooze",
        sample(format!("{}/snooze", case(&reopen)), SeeOther(case(&reopen)))
            .form(&[("days", "30"), ("reason", "Walk.")])
            .except(Who::Agent, Status(404)),
    );
    // No report is due on this case: refused back to the case page.
    add(
        "POST",
        "/cases/{case_ref}/aml-report",
        sample(
            format!("{}/aml-report", case(&reopen)),
            SeeOther(case(&reopen)),
        )
        .form(&[("reference", "STR-walk")])
        .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/hand-off",
        sample(
            format!("{}/hand-off", case(&hand_off)),
            SeeOther(case(&hand_off)),
        )
        .form(&[("queue", "Triage"), ("note", "Walk")])
        .except(Who::Agent, Status(404)),
    );
    // Refused on a case that is no campaign, and of too few cases: nothing changes.
    add(
        "POST",
        "/cases/{case_ref}/merge",
        sample(
            format!("{}/merge", case(&reassign)),
            SeeOther(case(&reassign)),
        )
        .form(&[("into", "RC-999999"), ("reason", "Walk")]),
    );
    // No case chosen: refused whole.
    add(
        "POST",
        "/cases/{case_ref}/bulk",
        sample(format!("{}/bulk", case(&reassign)), Status(422))
            .form(&[("op", "close"), ("note", "Walk")]),
    );
    add(
        "POST",
        "/campaigns",
        sample("/campaigns", Status(400)).form(&[
            ("cases", "RC-999999"),
            ("queue", "Triage"),
            ("reason", "Walk"),
        ]),
    );
    add("GET", "/approvals", sample("/approvals", Status(200)));
    add(
        "POST",
        "/cases/{case_ref}/calls",
        sample(format!("{}/calls", case(&show)), SeeOther(case(&show)))
            .form(&[
                ("number", "+8613800138000"),
                ("direction", "outbound"),
                ("outcome", "no_answer"),
            ])
            .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/reveal",
        sample(format!("{}/reveal", case(&show)), Status(200))
            .form(&[("field", "phone"), ("reason", "Walk")])
            .except(Who::Agent, Status(404)),
    );
    add(
        "GET",
        "/admin/playbooks",
        sample("/admin/playbooks", Status(200)),
    );
    add(
        "GET",
        "/admin/playbooks/{code}",
        sample("/admin/playbooks/WALK", Status(200)),
    );
    add(
        "POST",
        "/admin/playbooks/{code}",
        sample(
            "/admin/playbooks/WALK",
            SeeOther("/admin/playbooks/WALK".into()),
        )
        .form(&[("steps_en", "Call the customer.")]),
    );
    add(
        "GET",
        "/knowledge",
        sample("/knowledge?q=walk", Status(200)),
    );
    add(
        "GET",
        "/knowledge/new",
        sample("/knowledge/new", Status(200)),
    );
    // Without its Chinese text the article is refused, nothing written.
    add(
        "POST",
        "/knowledge",
        sample("/knowledge", Status(422)).form(&[
            ("title_en", "Walk"),
            ("body_en", "Walk."),
            ("title_zh", ""),
            ("body_zh", ""),
        ]),
    );
    add("GET", "/knowledge/{id}", sample(&article_page, Status(200)));
    add(
        "GET",
        "/knowledge/{id}/edit",
        sample(format!("{article_page}/edit"), Status(200)),
    );
    // The article as it is: nothing changes, back to the article.
    add(
        "POST",
        "/knowledge/{id}",
        sample(&article_page, SeeOther(article_page.clone())).form(&[
            ("version", "1"),
            ("title_en", "Walk article"),
            ("body_en", "Walk."),
            ("title_zh", "走查文章"),
            ("body_zh", "走查。"),
            ("rules", "WALK"),
        ]),
    );
    // Published already: refused back to the article.
    add(
        "POST",
        "/knowledge/{id}/publish",
        sample(
            format!("{article_page}/publish"),
            SeeOther(article_page.clone()),
        ),
    );
    // Retired by the first, refused to the next: back to the article either way.
    add(
        "POST",
        "/knowledge/{id}/retire",
        sample(
            format!("/knowledge/{retired_article}/retire"),
            SeeOther(format!("/knowledge/{retired_article}")),
        ),
    );
    add(
        "GET",
        "/knowledge/{id}/reads",
        sample(format!("{article_page}/reads"), Status(200)),
    );
    add(
        "GET",
        "/notifications",
        sample("/notifications", Status(200)),
    );
    add(
        "POST",
        "/notifications/read",
        sample("/notifications/read", SeeOther("/notifications".into())),
    );
    add(
        "GET",
        "/notifications/{id}",
        sample("/notifications/999999", Status(404)),
    );
    add(
        "POST",
        "/notifications/{id}/read",
        sample("/notifications/999999/read", Status(404)),
    );
    add("GET", "/admin/desk", sample("/admin/desk", Status(200)));
    add(
        "POST",
        "/admin/desk/triage",
        sample("/admin/desk/triage", SeeOther("/admin/desk".into()))
            .form(&[("triage_queue", "Triage")]),
    );
    add(
        "POST",
        "/admin/desk/public-attributes",
        sample(
            "/admin/desk/public-attributes",
            SeeOther("/admin/desk".into()),
        )
        .form(&[("public_attributes", "channel, device_os")]),
    );
    // A file that is not the configuration's format: refused, naming the problem.
    add(
        "POST",
        "/admin/desk/apply",
        sample("/admin/desk/apply", Status(422)).form(&[("config", "triage_queue = 1")]),
    );
    add(
        "GET",
        "/admin/calendars",
        sample("/admin/calendars", Status(200)),
    );
    add(
        "POST",
        "/admin/calendars",
        sample("/admin/calendars", SeeOther("/admin/calendars".into())).form(&[
            ("name", "walk-new"),
            ("timezone", "UTC"),
            ("hours_mon", "09:00-17:00"),
        ]),
    );
    add(
        "GET",
        "/admin/calendars/{name}",
        sample("/admin/calendars/walk-cal", Status(200)),
    );
    add(
        "POST",
        "/admin/calendars/{name}",
        sample(
            "/admin/calendars/walk-cal",
            SeeOther("/admin/calendars/walk-cal".into()),
        )
        .form(&[("timezone", "UTC"), ("hours_mon", "08:00-18:00")]),
    );
    add(
        "POST",
        "/admin/calendars/{name}/delete",
        sample(
            "/admin/calendars/walk-cal-2/delete",
            SeeOther("/admin/calendars".into()),
        ),
    );
    let mut new_policy = vec![("name", "walk-new"), ("calendar", "24/7")];
    new_policy.extend(POLICY_TARGETS);
    add(
        "GET",
        "/admin/sla-policies",
        sample("/admin/sla-policies", Status(200)),
    );
    add(
        "POST",
        "/admin/sla-policies",
        sample(
            "/admin/sla-policies",
            SeeOther("/admin/sla-policies".into()),
        )
        .form(&new_policy),
    );
    add(
        "GET",
        "/admin/sla-policies/{name}",
        sample("/admin/sla-policies/walk-policy", Status(200)),
    );
    add(
        "POST",
        "/admin/sla-policies/{name}",
        sample(
            "/admin/sla-policies/walk-policy",
            SeeOther("/admin/sla-policies/walk-policy".into()),
        )
        .form(&POLICY_TARGETS),
    );
    add(
        "POST",
        "/admin/sla-policies/{name}/delete",
        sample(
            "/admin/sla-policies/walk-policy-2/delete",
            SeeOther("/admin/sla-policies".into()),
        ),
    );
    add("GET", "/admin/queues", sample("/admin/queues", Status(200)));
    add(
        "POST",
        "/admin/queues",
        sample("/admin/queues", SeeOther("/admin/queues".into()))
            .form(&[("name", "Walk new"), ("sla_policy", "walk-policy")]),
    );
    add(
        "GET",
        "/admin/queues/{name}",
        sample("/admin/queues/Walk%20queue", Status(200)),
    );
    add(
        "POST",
        "/admin/queues/{name}",
        sample(
            "/admin/queues/Walk%20queue",
            SeeOther("/admin/queues/Walk%20queue".into()),
        )
        .form(&[("sla_policy", "walk-policy"), ("skills", "x")]),
    );
    add(
        "POST",
        "/admin/queues/{name}/delete",
        sample(
            "/admin/queues/Walk%20queue%202/delete",
            SeeOther("/admin/queues".into()),
        ),
    );
    add("GET", "/admin/rules", sample("/admin/rules", Status(200)));
    add(
        "POST",
        "/admin/rules",
        sample("/admin/rules", SeeOther("/admin/rules".into())).form(&[
            ("code", "WALK_NEW"),
            ("category", "walk"),
            ("default_severity", "low"),
        ]),
    );
    add(
        "GET",
        "/admin/rules/{code}",
        sample("/admin/rules/WALK", Status(200)),
    );
    add(
        "POST",
        "/admin/rules/{code}",
        sample("/admin/rules/WALK", SeeOther("/admin/rules/WALK".into())).form(&[
            ("name", "Walk"),
            ("category", "walk"),
            ("default_severity", "medium"),
        ]),
    );
    add(
        "POST",
        "/admin/rules/{code}/delete",
        sample("/admin/rules/WALK2/delete", SeeOther("/admin/rules".into())),
    );
    add("GET", "/admin/routes", sample("/admin/routes", Status(200)));
    add(
        "POST",
        "/admin/routes",
        sample("/admin/routes", SeeOther("/admin/routes".into())).form(&[("queue", "Walk queue")]),
    );
    add(
        "GET",
        "/admin/routes/{position}",
        sample("/admin/routes/1", Status(200)),
    );
    add(
        "POST",
        "/admin/routes/{position}",
        sample("/admin/routes/1", SeeOther("/admin/routes/1".into()))
            .form(&[("rule", "WALK"), ("queue", "Walk queue")]),
    );
    add(
        "POST",
        "/admin/routes/{position}/delete",
        sample("/admin/routes/3/delete", SeeOther("/admin/routes".into())),
    );
    add(
        "POST",
        "/admin/routes/{position}/move",
        sample("/admin/routes/1/move", SeeOther("/admin/routes".into()))
            .form(&[("direction", "down")]),
    );
    add(
        "GET",
        "/admin/campaigns",
        sample("/admin/campaigns", Status(200)),
    );
    add(
        "POST",
        "/admin/campaigns",
        sample("/admin/campaigns", SeeOther("/admin/campaigns".into())).form(&[
            ("name", "walk-new"),
            ("link_by", "device_id"),
            ("link_by", "phone"),
            ("min_customers", "10000"),
            ("window_minutes", "60"),
            ("queue", "Walk queue"),
        ]),
    );
    add(
        "GET",
        "/admin/campaigns/{name}",
        sample("/admin/campaigns/walk-campaign", Status(200)),
    );
    add(
        "POST",
        "/admin/campaigns/{name}",
        sample(
            "/admin/campaigns/walk-campaign",
            SeeOther("/admin/campaigns/walk-campaign".into()),
        )
        .form(&[
            ("link_by", "ip"),
            ("min_customers", "10000"),
            ("window_minutes", "30"),
            ("rules", "WALK"),
            ("queue", "Walk queue"),
        ]),
    );
    add(
        "POST",
        "/admin/campaigns/{name}/delete",
        sample(
            "/admin/campaigns/walk-campaign-2/delete",
            SeeOther("/admin/campaigns".into()),
        ),
    );
    add("GET", "/admin/oncall", sample("/admin/oncall", Status(200)));
    let rota_fields = [
        ("timezone", "UTC"),
        ("members", "walk.agent@bank.example"),
        ("rotation_hours", "24"),
        ("handover", "2026-11-01T09:00"),
        ("ack_minutes", "5"),
    ];
    let mut new_rota = rota_fields.to_vec();
    new_rota.push(("name", "walk-rota-new"));
    add(
        "POST",
        "/admin/oncall",
        sample("/admin/oncall", SeeOther("/admin/oncall".into())).form(&new_rota),
    );
    add(
        "GET",
        "/admin/oncall/{name}",
        sample("/admin/oncall/walk-rota", Status(200)),
    );
    add(
        "POST",
        "/admin/oncall/{name}",
        sample(
            "/admin/oncall/walk-rota",
            SeeOther("/admin/oncall/walk-rota".into()),
        )
        .form(&rota_fields),
    );
    add(
        "POST",
        "/admin/oncall/{name}/delete",
        sample(
            "/admin/oncall/walk-rota-2/delete",
            SeeOther("/admin/oncall".into()),
        ),
    );
    add("GET", "/oncall", sample("/oncall", Status(200)));
    add(
        "POST",
        "/oncall/overrides",
        sample("/oncall/overrides", SeeOther("/oncall".into())).form(&[
            ("rota", "walk-rota"),
            ("email", "walk.admin@bank.example"),
            ("from", "2026-11-24T09:00"),
            ("to", "2026-11-25T09:00"),
            ("reason", "Covers for the walk."),
        ]),
    );
    // No such override: a supervisor is told so (404), agents are refused first.
    add(
        "POST",
        "/oncall/overrides/{id}/delete",
        sample("/oncall/overrides/999999/delete", Status(404)),
    );
    add(
        "GET",
        "/cases/{case_ref}/verify-email",
        sample(format!("{}/verify-email", case(&show)), Status(200))
            .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/verify-email",
        sample(
            format!("{}/verify-email", case(&show)),
            SeeOther(case(&show)),
        )
        .form(&[("template", "verification")])
        .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/messages",
        sample(
            format!("{}/messages", case(&show)),
            SeeOther(format!("{}#conversation", case(&show))),
        )
        .form(&[("channel", "email"), ("body", "Hello from the walk")])
        .except(Who::Agent, Status(404)),
    );
    // No such file: 404 for everyone who may see the case (and for the agent, who
    // may not).
    add(
        "GET",
        "/cases/{case_ref}/attachments/{id}",
        sample(format!("{}/attachments/999999", case(&show)), Status(404)),
    );
    add("GET", "/triage/mail", sample("/triage/mail", Status(200)));
    // No such mail: a supervisor is told so (404), agents are refused first.
    add(
        "GET",
        "/triage/mail/{id}",
        sample("/triage/mail/999999", Status(404)),
    );
    add(
        "POST",
        "/triage/mail/{id}/attach",
        sample("/triage/mail/999999/attach", Status(404)).form(&[("case_ref", "RC-000001")]),
    );
    add(
        "POST",
        "/triage/mail/{id}/discard",
        sample("/triage/mail/999999/discard", Status(404)).form(&[("reason", "walk")]),
    );
    let forged = "A".repeat(43);
    add(
        "GET",
        "/m/{token}",
        sample(format!("/m/{forged}"), Status(404)),
    );
    add(
        "POST",
        "/m/{token}",
        sample(format!("/m/{forged}"), Status(404)).form(&[("message", "hello")]),
    );
    add(
        "GET",
        "/v/{token}",
        sample(format!("/v/{forged}"), Status(404)),
    );
    add(
        "POST",
        "/v/{token}",
        sample(format!("/v/{forged}"), Status(404)).form(&[("answer", "yes")]),
    );
    add(
        "GET",
        "/s/{token}",
        sample(format!("/s/{forged}"), Status(404)),
    );
    add(
        "POST",
        "/s/{token}",
        sample(format!("/s/{forged}"), Status(404)).form(&[("score", "5")]),
    );
    add(
        "GET",
        "/admin/templates",
        sample("/admin/templates", Status(200)),
    );
    add(
        "GET",
        "/admin/templates/{name}",
        sample("/admin/templates/verification", Status(200)),
    );
    add(
        "POST",
        "/admin/templates/{name}",
        sample(
            "/admin/templates/verification",
            SeeOther("/admin/templates/verification".into()),
        ),
    );
    // The supervisor adds the template; the admin after them finds the name taken.
    add(
        "POST",
        "/admin/templates",
        sample(
            "/admin/templates",
            SeeOther("/admin/templates/walk_reply".into()),
        )
        .form(&[
            ("name", "walk_reply"),
            ("purpose", "reply"),
            ("scope", "1"),
            ("rule", "WALK"),
            ("state", "new"),
            ("subject_en", "About {case_ref}"),
            ("body_en", "Dear {customer_name}, by {deadline}."),
            ("subject_zh-CN", "关于 {case_ref}"),
            ("body_zh-CN", "{customer_name}，您好：{deadline} 前答复。"),
        ])
        .except(Who::Admin, Status(400)),
    );
    add(
        "GET",
        "/admin/templates/{name}/versions/{version}",
        sample("/admin/templates/reply_case_update/versions/1", Status(200)),
    );
    // Version 1 is the current one: restoring it changes nothing.
    add(
        "POST",
        "/admin/templates/{name}/versions/{version}/restore",
        sample(
            "/admin/templates/reply_case_update/versions/1/restore",
            SeeOther("/admin/templates/reply_case_update".into()),
        ),
    );
    let tip_fields = [
        ("label", "walk"),
        ("text_en", "We never ask for your codes."),
        ("text_zh", "我们绝不会索取您的验证码。"),
        ("active", "1"),
        ("position", "5"),
    ];
    add("GET", "/admin/tips", sample("/admin/tips", Status(200)));
    add(
        "POST",
        "/admin/tips",
        sample("/admin/tips", SeeOther("/admin/tips".into())).form(&tip_fields),
    );
    add(
        "GET",
        "/admin/tips/{id}",
        sample("/admin/tips/1", Status(200)),
    );
    add(
        "POST",
        "/admin/tips/{id}",
        sample("/admin/tips/1", SeeOther("/admin/tips".into())).form(&tip_fields),
    );
    // The supervisor removes the tip; the admin after them finds it gone.
    add(
        "POST",
        "/admin/tips/{id}/delete",
        sample("/admin/tips/3/delete", SeeOther("/admin/tips".into()))
            .except(Who::Admin, Status(404)),
    );
    add(
        "GET",
        "/cases/{case_ref}/messages/preview",
        sample(
            format!(
                "{}/messages/preview?template=reply_case_update&channel=email",
                case(&show)
            ),
            Status(200),
        )
        .except(Who::Agent, Status(404)),
    );
    add(
        "POST",
        "/cases/{case_ref}/messages/preview",
        sample(format!("{}/messages/preview", case(&show)), Status(200))
            .form(&[
                ("channel", "portal"),
                ("subject", "About {case_ref}"),
                ("body", "Dear {customer_name}, by {deadline}."),
            ])
            .except(Who::Agent, Status(404)),
    );
    add("GET", "/board", sample("/board", Status(200)));
    add(
        "GET",
        "/board/fragment",
        sample("/board/fragment", Status(200)),
    );
    add("GET", "/qa", sample("/qa", Status(200)));
    // The walk's cases were not sampled for QA.
    add(
        "GET",
        "/qa/{case_ref}",
        sample(format!("/qa/{qa}"), Status(404)),
    );
    add(
        "POST",
        "/qa/{case_ref}",
        sample(format!("/qa/{qa}"), Status(404)).form(&[("identity_verified", "yes")]),
    );
    add("GET", "/briefs", sample("/briefs", Status(200)));
    add(
        "GET",
        "/briefs/{week}",
        sample("/briefs/2026-W47", Status(200)),
    );
    add("GET", "/reports", sample("/reports", Status(200)));
    add(
        "GET",
        "/reports/outcomes",
        sample("/reports/outcomes", Status(200)),
    );
    // An agent may read their own figures, not another agent's.
    add(
        "GET",
        "/reports/agents/{id}",
        sample(format!("/reports/agents/{target}"), Status(200)).except(Who::Agent, Status(404)),
    );
    add(
        "GET",
        "/reports/rules/{code}",
        sample("/reports/rules/LARGE_TRANSFER", Status(200)),
    );
    add(
        "GET",
        "/reports/cases",
        sample("/reports/cases", Status(200)),
    );
    add(
        "GET",
        "/reports/export/{file}",
        sample("/reports/export/compliance_queue.csv", Status(200)),
    );

    // The table and the samples name the same routes: a new route needs a sample.
    let table: BTreeSet<(&str, &str)> =
        ROUTES.iter().map(|r| (r.method.as_str(), r.path)).collect();
    assert_eq!(table.len(), ROUTES.len(), "a route is in the table twice");
    let sampled: BTreeSet<(&str, &str)> = samples.keys().copied().collect();
    assert_eq!(
        table.difference(&sampled).collect::<Vec<_>>(),
        Vec::<&(&str, &str)>::new(),
        "routes of the table without a sample in this walk"
    );
    assert_eq!(
        sampled.difference(&table).collect::<Vec<_>>(),
        Vec::<&(&str, &str)>::new(),
        "samples of routes the table does not have"
    );

    // The walk: each client through the whole table, in its order, except that
    // signing in and out come last.
    let last = [
        ("POST", "/logout/everywhere"),
        ("POST", "/login"),
        ("POST", "/logout"),
    ];
    let order: Vec<_> = ROUTES
        .iter()
        .filter(|r| !last.contains(&(r.method.as_str(), r.path)))
        .chain(last.iter().map(|(m, p)| {
            ROUTES
                .iter()
                .find(|r| r.method.as_str() == *m && r.path == *p)
                .unwrap()
        }))
        .collect();
    let mut wrong = Vec::new();
    for who in [
        Who::Anonymous,
        Who::Key,
        Who::Agent,
        Who::Supervisor,
        Who::Admin,
    ] {
        let mut walker = match who {
            Who::Anonymous => Walker::browser(who, app.browser(), &app),
            Who::Key => Walker {
                client: Client::new(),
                base: app.base.clone(),
                csrf: String::new(),
                key: Some(key.clone()),
            },
            _ => {
                let b = app.browser();
                assert_eq!(b.login(&email(who), &passwords[&who]).status(), 303);
                Walker::browser(who, b, &app)
            }
        };
        for r in &order {
            let method = r.method.as_str();
            if who == Who::Key && !r.path.starts_with("/api/") {
                continue;
            }
            let s = &samples[&(method, r.path)];
            let body = match (method, r.path, who) {
                ("POST", "/login", Who::Anonymous) => Body::Form(vec![
                    ("email", "nobody@bank.example".into()),
                    ("password", "wrong-wrong-wrong".into()),
                ]),
                ("POST", "/login", _) => Body::Form(vec![
                    ("email", email(who)),
                    ("password", passwords[&who].clone()),
                ]),
                _ => s.body.copy(),
            };
            let got = answer_of(walker.send(method, &s.path, &body));
            let want = expected(who, r.access, method, s);
            if got != want {
                wrong.push(format!(
                    "{who:?} {method} {} ({:?}): got {got:?}, want {want:?}",
                    s.path, r.access
                ));
            }
            if (method, r.path) == ("POST", "/logout/everywhere") && who.role().is_some() {
                // Signed out of every browser: the sign-in page's token, to sign in
                // again next.
                walker.csrf = extract_csrf(
                    &walker
                        .client
                        .get(format!("{}/login", app.base))
                        .send()
                        .unwrap()
                        .text()
                        .unwrap(),
                )
                .expect("the sign-in page's token");
            }
            if (method, r.path) == ("POST", "/login") && who.role().is_some() {
                // A new session, a new token.
                walker.csrf = extract_csrf(
                    &walker
                        .client
                        .get(format!("{}/profile", app.base))
                        .send()
                        .unwrap()
                        .text()
                        .unwrap(),
                )
                .expect("signed in again");
            }
        }
        if who.role().is_some() {
            let res = walker.send("GET", "/", &Body::None);
            assert_eq!(
                answer_of(res),
                SeeOther("/login".into()),
                "{who:?} is signed out"
            );
        }
    }

    // Scopes: each API route, with a key that has every scope but the route's, is
    // refused with a 403 problem naming that scope, before anything is read; with a
    // key that has the route's scope alone, it is not refused (what it answers then
    // follows from the walk above: a webhook added again is a 422, one deleted a 404).
    let keys = |f: fn(Scope) -> Scopes| -> BTreeMap<Scope, Walker> {
        Scope::ALL
            .into_iter()
            .map(|s| {
                let walker = Walker {
                    client: Client::new(),
                    base: app.base.clone(),
                    csrf: String::new(),
                    key: Some(app.api_key_with(f(s), None, None)),
                };
                (s, walker)
            })
            .collect()
    };
    let lacking = keys(|s| Scopes::all().without(s));
    let holding = keys(|s| Scopes::NONE.with(s));
    let mut scopes_of_routes = BTreeSet::new();
    for r in ROUTES {
        let Access::ApiKey(scope) = r.access else {
            continue;
        };
        scopes_of_routes.insert(scope);
        let method = r.method.as_str();
        let s = &samples[&(method, r.path)];
        let res = lacking[&scope].send(method, &s.path, &s.body.copy());
        let status = res.status().as_u16();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        let problem: Value = res.json().unwrap_or_default();
        let named = format!("this key lacks the scope {scope}");
        if status != 403
            || content_type != "application/problem+json"
            || !problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(&named)
        {
            wrong.push(format!(
                "{method} {} without {scope}: got {status} {problem}, want 403 naming it",
                s.path
            ));
        }
        let res = holding[&scope].send(method, &s.path, &s.body.copy());
        let status = res.status().as_u16();
        if matches!(status, 401 | 403 | 429) {
            wrong.push(format!(
                "{method} {} with {scope} alone: got {status} {}",
                s.path,
                res.text().unwrap_or_default()
            ));
        }
    }
    assert_eq!(
        scopes_of_routes.into_iter().collect::<Vec<_>>(),
        Scope::ALL,
        "every scope guards some route"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Every route of the table was matched by the router as its own pattern (the
    // metrics count requests by the pattern they matched), and nothing the walk sent
    // was matched by a pattern the table does not have.
    let metrics = app.browser().get("/metrics").text().unwrap();
    let mut seen = BTreeSet::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("riskdesk_http_requests_total{"))
    {
        let label = |name: &str| {
            let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[start..start + line[start..].find('"').unwrap()].to_string()
        };
        seen.insert((label("method"), label("route")));
    }
    for r in ROUTES {
        assert!(
            seen.contains(&(r.method.to_string(), r.path.to_string())),
            "{} {} was never matched: {seen:?}",
            r.method,
            r.path
        );
    }
    let unknown: Vec<_> = seen
        .iter()
        .filter(|(m, p)| p != "unmatched" && !table.contains(&(m.as_str(), p.as_str())))
        .collect();
    assert!(unknown.is_empty(), "served outside the table: {unknown:?}");
}

#[test]
fn a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn();
    let admin = app.signed_in("admin");
    let other = app.signed_in("admin");
    let foreign = other.csrf_from("/profile");
    let before = app.audit_kinds().len();
    // No token at all.
    let res = admin.post_raw(
        "/admin/users",
        &[
            ("email", "csrf@bank.example"),
            ("name", "C"),
            ("role", "agent"),
        ],
    );
    assert_eq!(res.status(), 403);
    assert!(res.text().unwrap().contains("did not come from this site"));
    // A wrong token.
    let res = admin.post_raw(
        "/admin/users",
        &[
            ("email", "csrf@bank.example"),
            ("name", "C"),
            ("role", "agent"),
            ("csrf_token", "forged-token-forged-token-forged-token"),
        ],
    );
    assert_eq!(res.status(), 403);
    // Another session's token does not work either.
    let res = admin.post_raw(
        "/admin/users",
        &[
            ("email", "csrf@bank.example"),
            ("name", "C"),
            ("role", "agent"),
            ("csrf_token", &foreign),
        ],
    );
    assert_eq!(res.status(), 403);
    // Sign-in without the cookie's token is refused too.
    let anon = app.browser();
    let res = anon.post_raw("/login", &[("email", "a@b.example"), ("password", "x")]);
    assert_eq!(res.status(), 403);
    let kinds = app.audit_kinds();
    assert_eq!(kinds.len(), before, "nothing was recorded: {kinds:?}");
    let created: i64 = {
        use diesel::prelude::*;
        use riskdesk::db::schema::users::dsl::*;
        users
            .filter(email.eq("csrf@bank.example"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap()
    };
    assert_eq!(created, 0);
}
