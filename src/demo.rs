// The demo desk: seeded by `serve --demo` when the database holds no users, so a
// newcomer has someone to sign in as. It prints the demo logins once.

use crate::accounts::{self, Actor, NewUserInput};
use crate::app::AppState;
use crate::domain::password::NewPassword;
use crate::store::users;

/// The demo's people: e-mail, name, role, language.
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("admin@riskdesk.demo", "Alex Admin", "admin", "en"),
    (
        "supervisor@riskdesk.demo",
        "陈静 (Chen Jing)",
        "supervisor",
        "zh-CN",
    ),
    ("li.na@riskdesk.demo", "李娜 (Li Na)", "agent", "zh-CN"),
    ("sam.taylor@riskdesk.demo", "Sam Taylor", "agent", "en"),
    (
        "wang.lei@riskdesk.demo",
        "王磊 (Wang Lei)",
        "agent",
        "zh-CN",
    ),
];

/// Seeds the demo desk if there are no users yet; returns whether it did.
pub fn seed_if_empty(state: &AppState) -> Result<bool, String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    if users::count(&mut conn).map_err(|e| e.to_string())? > 0 {
        println!("demo: the database has users already; nothing seeded");
        return Ok(false);
    }
    let now = state.now();
    let mut logins = Vec::new();
    for (email, name, role, language) in PEOPLE {
        let password = NewPassword::generate();
        accounts::create_user(
            &mut conn,
            now,
            &Actor::cli(),
            &NewUserInput {
                email,
                name,
                role,
                language: Some(language),
            },
            &password,
        )
        .map_err(|e| e.to_string())?;
        logins.push((*role, *email, password));
    }
    println!("demo desk seeded; sign in with:");
    for (role, email, password) in &logins {
        println!("  {role:<10} {email:<28} {}", password.expose());
    }
    println!("(these passwords are shown only now; delete the data directory to seed again)");
    Ok(true)
}
