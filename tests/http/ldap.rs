// Directory sign-in against a real OpenLDAP server: accounts created with the role
// their groups give, wrong passwords counted, users dropped from the directory
// deactivated, role changes audited, local accounts working while it is down, and
// an e-mail that tries to rewrite the search filter refused.

use diesel::prelude::*;
use riskdesk::db::schema::audit_events;
use riskdesk::domain::directory::DirectoryInput;
use riskdesk::store::users::{self, User};

use crate::common::slapd::{SERVICE_DN, SERVICE_PASSWORD, Slapd};
use crate::common::{Browser, TestApp};

const ADMINS: &str = "cn=riskdesk-admins,ou=groups,dc=bank,dc=example";
const SUPERVISORS: &str = "cn=riskdesk-supervisors,ou=groups,dc=bank,dc=example";
const AGENTS: &str = "cn=riskdesk-agents,ou=groups,dc=bank,dc=example";
const WANG: &str = "uid=wang.wei,ou=people,dc=bank,dc=example";
const LI: &str = "uid=li.na,ou=people,dc=bank,dc=example";
const ZHAO: &str = "uid=zhao.lei,ou=people,dc=bank,dc=example";
const SUN: &str = "uid=sun.li,ou=people,dc=bank,dc=example";

/// The test directory: Wang Wei in the agents' group; Li Na in the supervisors' and
/// the agents' groups; Sun Li an admin; Zhao Lei in no group; the service account.
fn directory() -> Slapd {
    let person = |uid: &str, cn: &str, sn: &str, extra: &str| {
        format!(
            "dn: uid={uid},ou=people,dc=bank,dc=example\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: {sn}\nmail: {uid}@bank.example\nuserPassword: {uid} directory password\n{extra}\n"
        )
    };
    let group = |dn: &str, cn: &str, members: &[&str]| {
        let mut g = format!("dn: {dn}\nobjectClass: groupOfNames\ncn: {cn}\n");
        for m in members {
            g.push_str(&format!("member: {m}\n"));
        }
        g + "\n"
    };
    let ldif = [
        "dn: ou=people,dc=bank,dc=example\nobjectClass: organizationalUnit\nou: people\n\n".to_string(),
        "dn: ou=groups,dc=bank,dc=example\nobjectClass: organizationalUnit\nou: groups\n\n".to_string(),
        "dn: ou=services,dc=bank,dc=example\nobjectClass: organizationalUnit\nou: services\n\n".to_string(),
        format!(
            "dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: riskdesk\nuserPassword: {SERVICE_PASSWORD}\n\n"
        ),
        person("wang.wei", "Wang Wei", "Wang", ""),
        // LDIF carries a value that is not ASCII in base64: 李娜.
        person("li.na", "Li Na", "Li", "displayName:: 5p2O5aic\n"),
        person("zhao.lei", "Zhao Lei", "Zhao", ""),
        person("sun.li", "Sun Li", "Sun", ""),
        group(ADMINS, "riskdesk-admins", &[SUN]),
        group(SUPERVISORS, "riskdesk-supervisors", &[LI]),
        group(AGENTS, "riskdesk-agents", &[WANG, LI]),
    ]
    .concat();
    Slapd::start(&ldif)
}

fn password(uid: &str) -> String {
    format!("{uid} directory password")
}

/// The desk signing in against `url`.
fn app_with(url: &str) -> TestApp {
    let url = url.to_string();
    TestApp::spawn_with(move |s| {
        let groups = format!("agent={AGENTS};supervisor={SUPERVISORS};admin={ADMINS}");
        let mut ldap = DirectoryInput {
            url: Some(&url),
            bind_dn: Some(SERVICE_DN),
            bind_password: Some(SERVICE_PASSWORD),
            user_base: Some("ou=people,dc=bank,dc=example"),
            user_filter: None,
            role_groups: Some(&groups),
        }
        .check()
        .expect("directory settings")
        .expect("a directory");
        // A dead directory is given up on quickly in tests.
        ldap.timeout = std::time::Duration::from_secs(1);
        s.ldap = Some(ldap);
    })
}

fn user(app: &TestApp, email: &str) -> Option<User> {
    users::find_by_email(&mut app.conn(), email).unwrap()
}

/// The detail of every audit event of `kind` about `subject`, oldest first.
fn audit(app: &TestApp, kind: &str, subject: &str) -> Vec<(Option<i64>, serde_json::Value)> {
    audit_events::table
        .filter(audit_events::kind.eq(kind))
        .filter(audit_events::subject.eq(subject))
        .order(audit_events::id.asc())
        .select((audit_events::actor_user_id, audit_events::detail))
        .load::<(Option<i64>, String)>(&mut *app.conn())
        .unwrap()
        .into_iter()
        .map(|(a, d)| (a, serde_json::from_str(&d).unwrap()))
        .collect()
}

fn last_failure(app: &TestApp, email: &str) -> serde_json::Value {
    audit(app, "login.failed", email)
        .pop()
        .unwrap_or_else(|| panic!("no login.failed for {email}"))
        .1
}

fn sign_in(app: &TestApp, uid: &str) -> Browser {
    let b = app.browser();
    let res = b.login(&format!("{uid}@bank.example"), &password(uid));
    assert_eq!(res.status(), 303, "{uid}: {}", res.text().unwrap());
    b
}

#[test]
fn directory_users_get_accounts_with_the_role_their_groups_give() {
    let slapd = directory();
    let app = app_with(&slapd.url());
    let admin_pw = app.create_user("break.glass@bank.example", "admin");

    let wang = sign_in(&app, "wang.wei");
    let home = wang.get("/").text().unwrap();
    assert!(home.contains("Wang Wei"), "{home}");
    let u = user(&app, "wang.wei@bank.example").expect("account created");
    assert_eq!((u.role.as_str(), u.name.as_str()), ("agent", "Wang Wei"));
    assert_eq!(u.source, "directory");
    assert_eq!(u.directory_dn.as_deref(), Some(WANG));
    assert!(!u.password_hash.starts_with("$argon2"), "no local password");
    let (actor, created) = audit(&app, "user.created", "wang.wei@bank.example").remove(0);
    assert_eq!(actor, None, "created by the directory, not by a user");
    assert_eq!(created["source"], "directory");
    assert_eq!(created["dn"], WANG);
    let (actor, ok) = audit(&app, "login.succeeded", "wang.wei@bank.example").remove(0);
    assert_eq!((actor, &ok["source"]), (Some(u.id), &"directory".into()));

    // In the supervisors' and the agents' groups: the higher role wins; the
    // directory's display name is the account's name.
    sign_in(&app, "li.na");
    let li = user(&app, "li.na@bank.example").unwrap();
    assert_eq!((li.role.as_str(), li.name.as_str()), ("supervisor", "李娜"));
    sign_in(&app, "sun.li");
    assert_eq!(user(&app, "sun.li@bank.example").unwrap().role, "admin");

    // Signing in again updates the same account.
    sign_in(&app, "wang.wei");
    assert_eq!(app.count("users"), 4);
    assert_eq!(
        audit(&app, "user.created", "wang.wei@bank.example").len(),
        1
    );

    // In no group: no entry, and no account.
    let b = app.browser();
    let res = b.login("zhao.lei@bank.example", &password("zhao.lei"));
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .unwrap()
            .contains("The e-mail or password is wrong")
    );
    assert!(user(&app, "zhao.lei@bank.example").is_none());
    let failed = last_failure(&app, "zhao.lei@bank.example");
    assert_eq!(failed["reason"], "no_directory_role");
    assert_eq!(failed["dn"], ZHAO);

    // Nobody of that address in the directory.
    let res = b.login("nobody@bank.example", "some password or other");
    assert_eq!(res.status(), 401);
    assert_eq!(
        last_failure(&app, "nobody@bank.example")["reason"],
        "not_in_directory"
    );

    // The admins' page tells directory accounts from local ones, in both languages.
    let admin = app.browser();
    assert_eq!(
        admin.login("break.glass@bank.example", &admin_pw).status(),
        303
    );
    let page = admin.get("/admin/users").text().unwrap();
    assert!(page.contains("<th>Source</th>"), "{page}");
    assert_eq!(page.matches(">Directory</span>").count(), 3, "{page}");
    assert!(page.contains("<td>Local</td>"), "{page}");
    let zh = admin.get_lang("/admin/users", "zh-CN").text().unwrap();
    assert!(
        zh.contains("<th>来源</th>") && zh.contains("<td>本地</td>"),
        "{zh}"
    );

    // A directory account has no password here: neither an admin's reset nor the
    // user's own change touches one, and each says why.
    let edit = format!("/admin/users/{}", u.id);
    let res = admin.submit(&edit, &format!("{edit}/reset-password"), &[]);
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .unwrap()
            .contains("it has no password here to reset"),
        "the reset is refused with the reason"
    );
    assert!(audit(&app, "user.password_reset", "wang.wei@bank.example").is_empty());
    let profile = wang.get("/profile").text().unwrap();
    assert!(profile.contains("You sign in with your directory password"));
    assert!(!profile.contains("name=\"current_password\""), "{profile}");
    let res = wang.submit(
        "/profile",
        "/profile/password",
        &[
            ("current_password", &password("wang.wei")),
            ("new_password", "a brand new password"),
            ("confirm_password", "a brand new password"),
        ],
    );
    assert_eq!(res.status(), 422);
    assert!(res.text().unwrap().contains("change it in the directory"));
    assert_eq!(
        user(&app, "wang.wei@bank.example").unwrap().password_hash,
        u.password_hash
    );
}

#[test]
fn wrong_directory_passwords_are_refused_and_count_toward_the_lock() {
    let slapd = directory();
    let app = app_with(&slapd.url());
    sign_in(&app, "wang.wei");
    let b = app.browser();
    let res = b.login("wang.wei@bank.example", "not the directory password");
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .unwrap()
            .contains("The e-mail or password is wrong")
    );
    let u = user(&app, "wang.wei@bank.example").unwrap();
    assert_eq!(u.failed_logins, 1);
    let failed = last_failure(&app, "wang.wei@bank.example");
    assert_eq!(failed["reason"], "directory_refused");
    assert_eq!(failed["ldap_code"], 49);
    assert_eq!(failed["failures"], 1);

    // An empty password is never tried (it would be an anonymous bind, which the
    // directory accepts): refused, and counted like any wrong password.
    let res = b.post_raw(
        "/login",
        &[
            ("email", "wang.wei@bank.example"),
            ("password", ""),
            ("csrf_token", &b.csrf_from("/login")),
        ],
    );
    assert_eq!(res.status(), 401);
    assert_eq!(
        user(&app, "wang.wei@bank.example").unwrap().failed_logins,
        2
    );

    for _ in 2..10 {
        assert_eq!(
            b.login("wang.wei@bank.example", "wrong again!").status(),
            401
        );
    }
    assert_eq!(
        audit(&app, "account.locked", "wang.wei@bank.example").len(),
        1
    );
    // Locked: the right directory password is refused too, until the lock ends.
    assert_eq!(
        b.login("wang.wei@bank.example", &password("wang.wei"))
            .status(),
        401
    );
    assert_eq!(
        last_failure(&app, "wang.wei@bank.example")["reason"],
        "locked"
    );
    app.clock.advance(chrono::Duration::minutes(15));
    sign_in(&app, "wang.wei");
    assert_eq!(
        user(&app, "wang.wei@bank.example").unwrap().failed_logins,
        0
    );

    // A wrong password for someone without an account yet is refused and audited.
    assert_eq!(b.login("li.na@bank.example", "wrong!wrong!").status(), 401);
    assert_eq!(
        last_failure(&app, "li.na@bank.example")["reason"],
        "directory_refused"
    );
    assert!(user(&app, "li.na@bank.example").is_none());
}

#[test]
fn a_user_dropped_from_the_directory_is_refused_and_deactivated() {
    let slapd = directory();
    let app = app_with(&slapd.url());
    let first = sign_in(&app, "wang.wei");
    assert_eq!(first.get("/profile").status(), 200);
    let id = user(&app, "wang.wei@bank.example").unwrap().id;

    slapd.remove_member(AGENTS, WANG);
    slapd.delete(WANG);
    let b = app.browser();
    let res = b.login("wang.wei@bank.example", &password("wang.wei"));
    assert_eq!(res.status(), 401);
    let u = user(&app, "wang.wei@bank.example").unwrap();
    assert!(!u.active, "deactivated");
    // The session they had ends with the account.
    assert_eq!(first.get("/profile").status(), 303);
    let (actor, deactivated) = audit(&app, "user.deactivated", "wang.wei@bank.example").remove(0);
    assert_eq!(actor, None, "the directory's doing, not a user's");
    assert_eq!(deactivated["sessions_ended"], 1);
    let failed = audit(&app, "login.failed", "wang.wei@bank.example").remove(0);
    assert_eq!(failed.0, Some(id));
    assert_eq!(failed.1["reason"], "not_in_directory");
    assert_eq!(failed.1["deactivated"], true);
    // And it stays refused.
    assert_eq!(
        b.login("wang.wei@bank.example", &password("wang.wei"))
            .status(),
        401
    );
    assert_eq!(
        last_failure(&app, "wang.wei@bank.example")["reason"],
        "inactive"
    );
}

#[test]
fn a_user_moved_between_groups_gets_the_new_role_at_the_next_sign_in() {
    let slapd = directory();
    let app = app_with(&slapd.url());
    let before = sign_in(&app, "wang.wei");
    assert_eq!(before.get("/board").status(), 403, "agents have no board");

    slapd.remove_member(AGENTS, WANG);
    slapd.add_member(SUPERVISORS, WANG);
    let after = sign_in(&app, "wang.wei");
    let u = user(&app, "wang.wei@bank.example").unwrap();
    assert_eq!(u.role, "supervisor");
    assert_eq!(after.get("/board").status(), 200);
    let changes = audit(&app, "user.role_changed", "wang.wei@bank.example");
    assert_eq!(changes.len(), 1);
    let (actor, change) = &changes[0];
    assert_eq!(*actor, None);
    assert_eq!(change["from"], "agent");
    assert_eq!(change["to"], "supervisor");
    assert_eq!(change["by"], "directory");

    // Out of every group: refused at the next sign-in.
    slapd.remove_member(SUPERVISORS, WANG);
    let b = app.browser();
    assert_eq!(
        b.login("wang.wei@bank.example", &password("wang.wei"))
            .status(),
        401
    );
    assert_eq!(
        last_failure(&app, "wang.wei@bank.example")["reason"],
        "no_directory_role"
    );
}

#[test]
fn local_accounts_sign_in_while_the_directory_is_down() {
    let mut slapd = directory();
    let app = app_with(&slapd.url());
    let admin_pw = app.create_user("break.glass@bank.example", "admin");
    sign_in(&app, "wang.wei");

    slapd.stop();
    // The break-glass admin is local: the directory is not asked.
    let admin = app.browser();
    assert_eq!(
        admin.login("break.glass@bank.example", &admin_pw).status(),
        303
    );
    assert_eq!(admin.get("/admin/users").status(), 200);
    // A directory user is told what is wrong, in their language.
    let b = app.browser();
    let res = b.login("wang.wei@bank.example", &password("wang.wei"));
    assert_eq!(res.status(), 503);
    let page = res.text().unwrap();
    assert!(page.contains("The directory cannot be reached"), "{page}");
    assert!(!page.contains("The e-mail or password is wrong"));
    let failed = last_failure(&app, "wang.wei@bank.example");
    assert_eq!(failed["reason"], "directory_unreachable");
    assert_eq!(failed["source"], "directory");
    let u = user(&app, "wang.wei@bank.example").unwrap();
    assert!(
        u.active && u.failed_logins == 0,
        "nothing counted against them"
    );
    let token = b.csrf_from("/login");
    let res = b
        .client
        .post(app.url("/login"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("email", "li.na@bank.example"),
            ("password", &password("li.na")),
            ("csrf_token", &token),
        ])
        .send()
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.text().unwrap().contains("目前无法连接目录"));

    // A directory that takes connections and never answers is given up on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung = app_with(&format!("ldap://{}", silent.local_addr().unwrap()));
    let started = std::time::Instant::now();
    let res = hung
        .browser()
        .login("wang.wei@bank.example", &password("wang.wei"));
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        last_failure(&hung, "wang.wei@bank.example")["reason"],
        "directory_unreachable"
    );
}

#[test]
fn an_address_that_tries_to_rewrite_the_filter_is_refused() {
    let slapd = directory();
    let app = app_with(&slapd.url());
    let b = app.browser();
    // Unescaped, (mail=wang.w*@bank.example) would find Wang Wei, and his password
    // would sign in whoever typed the pattern.
    for email in ["wang.w*@bank.example", "*@bank.example"] {
        let res = b.login(email, &password("wang.wei"));
        assert_eq!(res.status(), 401, "{email}");
        assert_eq!(last_failure(&app, email)["reason"], "not_in_directory");
    }
    // Parentheses and the like are not in an address at all.
    let res = b.login("wang.wei@bank.example)(uid=*", &password("wang.wei"));
    assert_eq!(res.status(), 401);
    assert_eq!(app.count("users"), 0, "no account was made");
    assert_eq!(app.count("sessions"), 0);
}
