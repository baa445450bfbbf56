// Mail: the durable outbox and its transports, response templates and the replies
// made from them, the security tips that go with them, and the one-time links
// customers answer on (verification, satisfaction survey).

pub mod outbox;
pub mod replies;
pub mod templates;
pub mod tips;
pub mod transport;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;
use crate::domain::Lang;
use crate::i18n::Tr;

/// A staff member as the e-mails they get address them.
pub struct Reader {
    pub email: String,
    pub tr: Tr,
    /// Their time zone (else UTC, as their pages show time).
    pub tz: chrono_tz::Tz,
}

/// The staff member `user` as an e-mail reader; `None` when unknown or inactive.
pub fn reader(conn: &mut DbConn, user: i64) -> QueryResult<Option<Reader>> {
    let found: Option<(String, Option<String>, Option<String>, bool)> = users::table
        .find(user)
        .select((
            users::email,
            users::language,
            users::timezone,
            users::active,
        ))
        .first(conn)
        .optional()?;
    let Some((email, language, timezone, true)) = found else {
        return Ok(None);
    };
    Ok(Some(Reader {
        email,
        tr: Tr::new(
            language
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or_default(),
        ),
        tz: timezone
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::UTC),
    }))
}

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
    let Some(Reader { email, tr, .. }) = reader(conn, user)? else {
        return Ok(());
    };
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

/// Queues one e-mail listing the notices of a digest for staff member `user`, in
/// their language and time zone: one line per case and kind (with how many times
/// it came), oldest first, and the link to their notifications. Inactive users and
/// empty digests get none; returns whether one was queued.
pub fn queue_digest(
    conn: &mut DbConn,
    user: i64,
    now: DateTime<Utc>,
    items: &[crate::store::notifications::DigestItem],
    public_url: &str,
) -> QueryResult<bool> {
    let Some(Reader { email, tr, tz }) = reader(conn, user)? else {
        return Ok(false);
    };
    // One line per case and kind: the latest notice, and how many there were.
    let mut lines: Vec<(&crate::store::notifications::DigestItem, usize)> = Vec::new();
    for item in items {
        match lines
            .iter_mut()
            .find(|(l, _)| l.1 == item.1 && l.2 == item.2)
        {
            Some(line) => *line = (item, line.1 + 1),
            None => lines.push((item, 1)),
        }
    }
    let Some(first) = items.iter().map(|i| i.0).min() else {
        return Ok(false);
    };
    let local = |t: chrono::NaiveDateTime| {
        t.and_utc()
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut text = tr.tf("notifications.digest.intro", &[("since", &local(first))]);
    text.push_str("\n\n");
    for ((at, kind, case_id, data), count) in &lines {
        let data: serde_json::Value = serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
        let what = crate::i18n::events::describe_notice(&tr, kind, &data);
        let reference = case_id
            .map(crate::store::cases::case_ref)
            .unwrap_or_default();
        text.push_str(&tr.tf(
            "notifications.digest.line",
            &[
                ("time", &local(*at)),
                ("case_ref", &reference),
                ("what", &what),
            ],
        ));
        if *count > 1 {
            text.push_str(&tr.tf(
                "notifications.digest.times",
                &[("count", &count.to_string())],
            ));
        }
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&tr.tf(
        "notifications.digest.outro",
        &[(
            "url",
            &format!("{}/notifications", public_url.trim_end_matches('/')),
        )],
    ));
    let subject = tr.tf(
        "notifications.digest.subject",
        &[("count", &items.len().to_string())],
    );
    outbox::enqueue(
        conn,
        now,
        &outbox::NewMail {
            kind: "notification_digest",
            case_id: None,
            to: &email,
            subject: &subject,
            text: &text,
            html: None,
        },
    )?;
    Ok(true)
}
