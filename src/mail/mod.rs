// Mail: the durable outbox and its transports, response templates, and the
// one-time links customers answer on (verification, satisfaction survey).

pub mod outbox;
pub mod templates;
pub mod transport;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;
use crate::domain::Lang;
use crate::i18n::Tr;

/// Queues an e-mail telling staff member `user` what an in-app notification tells
/// them, in their language; inactive users get none.
pub fn queue_notification(
    conn: &mut DbConn,
    user: i64,
    now: DateTime<Utc>,
    kind: &str,
    case_id: i64,
    data: &serde_json::Value,
) -> QueryResult<()> {
    let found: Option<(String, Option<String>, bool)> = users::table
        .find(user)
        .select((users::email, users::language, users::active))
        .first(conn)
        .optional()?;
    let Some((email, language, true)) = found else {
        return Ok(());
    };
    let tr = Tr::new(
        language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_default(),
    );
    let reference = crate::store::cases::case_ref(case_id);
    let what = crate::i18n::events::describe_notice(&tr, kind, data);
    let subject = tr.tf(
        "mail.notify.subject",
        &[("case_ref", &reference), ("what", &what)],
    );
    let text = tr.tf(
        "mail.notify.body",
        &[("case_ref", &reference), ("what", &what)],
    );
    outbox::enqueue(
        conn,
        now,
        &outbox::NewMail {
            kind: "notification",
            case_id: Some(case_id),
            to: &email,
            subject: &subject,
            text: &text,
            html: None,
        },
    )
    .map(|_| ())
}
