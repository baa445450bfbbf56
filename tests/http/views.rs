// Saved views: a list's filters saved by name from the list, private or shared with
// the team, one click from the home page; renamed and deleted by their owner (a
// shared one also by a supervisor); bad names and filters refused with a message.

use crate::assignment::Desk;
use crate::common::{Browser, location};

const URGENT: &str = "view=queue&queue=Transfers&priority=critical";

/// A signed-in user of `role` with a known e-mail address and name.
fn user(d: &Desk, email: &str, role: &str) -> Browser {
    let password = d.app.create_user(email, role);
    let b = d.app.browser();
    assert_eq!(b.login(email, &password).status(), 303);
    b
}

fn save(b: &Browser, fields: &[(&str, &str)]) -> reqwest::blocking::Response {
    b.submit("/queues", "/views", fields)
}

/// The home page's link to a view of `query` (as askama escapes it).
fn link(query: &str) -> String {
    format!("href=\"/queues?{}\"", query.replace('&', "&#38;"))
}

/// A desk with a critical and a high-priority transfer, and an agent of Transfers.
fn desk() -> (Desk, Browser, String, String) {
    let d = Desk::new();
    let (li, _) = d.agent("li@bank.example", &["Transfers"], &["fraud"], 5);
    let mut a = crate::intake::alert("v-1", "LARGE_TRANSFER", "C-1");
    a["amount"] = serde_json::json!({"value": "90000.00", "currency": "CNY"});
    let (_, crit) = d.app.post_api(&d.key, "/api/v1/alerts", &a);
    assert_eq!(crit["priority"], "critical");
    let high = d.post("v-2", "LARGE_TRANSFER", "C-2");
    (
        d,
        li,
        crit["case_ref"].as_str().unwrap().to_string(),
        high["case_ref"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_private_view_is_one_click_from_its_owners_home_and_nobody_elses() {
    let (d, li, crit, high) = desk();
    // The list offers to save itself, with its own filters.
    let list = li.get(&format!("/queues?{URGENT}")).text().unwrap();
    assert!(list.contains("Save this view"), "{list}");
    assert!(
        list.contains(&format!(
            "name=\"query\" value=\"{}\"",
            URGENT.replace('&', "&#38;")
        )),
        "{list}"
    );
    let res = save(&li, &[("name", " Critical transfers "), ("query", URGENT)]);
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/queues?{URGENT}"));
    let page = li.get(&location(&res)).text().unwrap();
    assert!(page.contains("The view is saved."), "{page}");
    // One click from home: the link opens the filtered list.
    let home = li.get("/").text().unwrap();
    assert!(home.contains("Critical transfers"), "{home}");
    assert!(home.contains(&link(URGENT)), "{home}");
    let opened = li.get(&format!("/queues?{URGENT}")).text().unwrap();
    assert!(opened.contains(&crit), "{opened}");
    assert!(!opened.contains(&high), "{opened}");
    // Private: a colleague and a supervisor do not see it.
    let (wang, _) = d.agent("wang@bank.example", &["Transfers"], &["fraud"], 5);
    assert!(!wang.get("/").text().unwrap().contains("Critical transfers"));
    let sup = user(&d, "boss@bank.example", "supervisor");
    assert!(!sup.get("/").text().unwrap().contains("Critical transfers"));
    assert!(
        !sup.get("/views")
            .text()
            .unwrap()
            .contains("Critical transfers")
    );
    // Nor may they rename or delete it: it is not found for them.
    let id = view_id(&d, "Critical transfers");
    let res = sup.submit("/views", &format!("/views/{id}/delete"), &[]);
    assert_eq!(res.status(), 404);
    let res = wang.submit(
        "/views",
        &format!("/views/{id}/rename"),
        &[("name", "Mine now")],
    );
    assert_eq!(res.status(), 404);
    // A private view is not in the audit log.
    assert!(!d.app.audit_kinds().iter().any(|k| k.starts_with("view.")));
    // The owner renames and deletes it.
    let res = li.submit(
        "/views",
        &format!("/views/{id}/rename"),
        &[("name", "Critical only")],
    );
    assert_eq!(location(&res), "/views");
    let page = li.get("/views").text().unwrap();
    assert!(page.contains("The view is renamed."), "{page}");
    assert!(page.contains("Critical only"), "{page}");
    let res = li.submit("/views", &format!("/views/{id}/delete"), &[]);
    assert_eq!(location(&res), "/views");
    assert_eq!(d.app.count("saved_views"), 0);
}

fn view_id(d: &Desk, name: &str) -> i64 {
    use diesel::prelude::*;
    use riskdesk::db::schema::saved_views::dsl;
    dsl::saved_views
        .filter(dsl::name.eq(name))
        .select(dsl::id)
        .first(&mut *d.app.conn())
        .unwrap()
}

#[test]
fn a_shared_view_is_the_teams_audited_and_deletable_by_its_owner_or_a_supervisor() {
    let (d, li, crit, _) = desk();
    let sup = user(&d, "boss@bank.example", "supervisor");
    let res = save(
        &sup,
        &[
            ("name", "Critical transfers"),
            ("query", URGENT),
            ("shared", "1"),
        ],
    );
    assert_eq!(location(&res), format!("/queues?{URGENT}"));
    assert!(d.app.audit_kinds().contains(&"view.shared".to_string()));
    // The supervisor's home (the board) lists it too.
    let board = sup.get("/").text().unwrap();
    assert!(board.contains(&link(URGENT)), "{board}");
    // An agent of the team sees it on their home, named with its owner, and it opens
    // the list.
    let home = li.get("/").text().unwrap();
    assert!(home.contains("Critical transfers"), "{home}");
    assert!(home.contains("by Test supervisor"), "{home}");
    assert!(
        li.get(&format!("/queues?{URGENT}"))
            .text()
            .unwrap()
            .contains(&crit)
    );
    let zh = li.get_lang("/", "zh-CN").text().unwrap();
    assert!(zh.contains("已保存的视图"), "{zh}");
    assert!(zh.contains("共享"), "{zh}");
    // The agent may neither rename nor delete it.
    let id = view_id(&d, "Critical transfers");
    for action in ["rename", "delete"] {
        let res = li.submit(
            "/views",
            &format!("/views/{id}/{action}"),
            &[("name", "Taken over")],
        );
        assert_eq!(location(&res), "/views");
        let page = li.get("/views").text().unwrap();
        assert!(
            page.contains("Only the view&#39;s owner (or a supervisor, for a shared view)"),
            "{page}"
        );
    }
    assert_eq!(d.app.count("saved_views"), 1);
    // Its owner renames it (audited, being shared); another supervisor deletes it.
    let res = sup.submit(
        "/views",
        &format!("/views/{id}/rename"),
        &[("name", "Critical, all agents")],
    );
    assert_eq!(location(&res), "/views");
    assert!(d.app.audit_kinds().contains(&"view.renamed".to_string()));
    let other = user(&d, "deputy@bank.example", "supervisor");
    let res = other.submit("/views", &format!("/views/{id}/delete"), &[]);
    assert_eq!(location(&res), "/views");
    assert!(d.app.audit_kinds().contains(&"view.deleted".to_string()));
    assert!(!li.get("/").text().unwrap().contains("Critical, all agents"));
    assert_eq!(d.app.count("saved_views"), 0);
}

#[test]
fn bad_names_and_filters_are_refused_with_a_message_and_save_nothing() {
    let (d, li, _, _) = desk();
    let long = "x".repeat(61);
    for (name, message) in [
        ("", "Give the view a name."),
        ("   ", "Give the view a name."),
        (
            long.as_str(),
            "A view&#39;s name has at most 60 characters.",
        ),
    ] {
        let res = save(&li, &[("name", name), ("query", URGENT)]);
        assert_eq!(res.status(), 303);
        let page = li.get(&location(&res)).text().unwrap();
        assert!(page.contains(message), "{message}: {page}");
    }
    assert_eq!(d.app.count("saved_views"), 0);
    // Names are unique per owner, not across owners.
    save(&li, &[("name", "Mine"), ("query", URGENT)]);
    let res = save(&li, &[("name", "Mine"), ("query", "view=mine")]);
    let page = li.get(&location(&res)).text().unwrap();
    assert!(
        page.contains("You have a view of that name already."),
        "{page}"
    );
    let (wang, _) = d.agent("wang@bank.example", &["Transfers"], &["fraud"], 5);
    assert_eq!(
        location(&save(&wang, &[("name", "Mine"), ("query", "view=mine")])),
        "/queues?view=mine"
    );
    assert_eq!(d.app.count("saved_views"), 2);
    // Renaming onto another view's name, or to nothing, is refused too.
    save(&li, &[("name", "Other"), ("query", "view=waiting")]);
    let other = view_id(&d, "Other");
    let res = li.submit(
        "/views",
        &format!("/views/{other}/rename"),
        &[("name", "Mine")],
    );
    assert_eq!(location(&res), "/views");
    assert!(
        li.get("/views")
            .text()
            .unwrap()
            .contains("You have a view of that name already.")
    );
    // Filters the list does not understand are named, and nothing is saved.
    for (query, message) in [
        (
            "view=queue&queue=Transfers&priority=urgent",
            "The priority “urgent” is not known",
        ),
        ("view=everything", "The list “everything” is not known"),
        // An agent may not keep a view of a queue they do not belong to.
        (
            "view=queue&queue=New%20accounts",
            "The queue “New accounts” is not known",
        ),
        (
            "view=queue&queue=Nowhere",
            "The queue “Nowhere” is not known",
        ),
    ] {
        let res = save(&li, &[("name", "Broken"), ("query", query)]);
        assert_eq!(res.status(), 422, "{query}");
        let page = res.text().unwrap();
        assert!(page.contains(message), "{query}: {page}");
    }
    assert_eq!(d.app.count("saved_views"), 3);
    // A page position is not a filter: the view keeps the filters alone.
    save(
        &li,
        &[
            ("name", "Paged"),
            ("query", "view=mine&cursor=1.1.1&rule=LARGE_TRANSFER"),
        ],
    );
    assert!(
        li.get("/")
            .text()
            .unwrap()
            .contains(&link("view=mine&rule=LARGE_TRANSFER"))
    );
    // In Chinese.
    let token = li.csrf_from("/queues");
    let res = li
        .client
        .post(d.app.url("/views"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "坏的"),
            ("query", "view=queue&queue=Transfers&priority=urgent"),
        ])
        .send()
        .unwrap();
    assert_eq!(res.status(), 422);
    let zh = res.text().unwrap();
    assert!(zh.contains("urgent"), "{zh}");
    assert!(!zh.contains("is not known"), "{zh}");
}
