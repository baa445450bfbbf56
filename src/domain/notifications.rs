// Which notifications there are and how each reaches a person: the kinds, what a
// user chooses per kind (in the app; e-mail at once, in a digest, or not), the
// defaults by role, which kinds supervisors get grouped, and when a digest is due.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::Role;

/// A page: someone must answer now. Pages bypass preferences and grouping.
pub const PAGED: &str = "oncall.paged";

/// The kinds a user chooses for, in the order the profile lists them.
pub const KINDS: &[&str] = &[
    "sla.warning",
    "sla.breached",
    "assignment.waiting_too_long",
    "call.callback_due",
    "verification.answered",
    "message.received",
    "approval.requested",
    "approval.approved",
    "approval.rejected",
    "aml_report.warning",
    "aml_report.breached",
];

/// The per-case alarms sent to every supervisor: a supervisor gets them as one
/// group notification per kind and queue.
pub const GROUPED: &[&str] = &[
    "sla.warning",
    "sla.breached",
    "assignment.waiting_too_long",
    "aml_report.warning",
    "aml_report.breached",
];

/// How long a group notification collects cases at most: it is closed when read
/// or this long after its first case, whichever comes first.
pub const GROUP_WINDOW: Duration = Duration::hours(24);

/// The local hour at which daily digests go out.
pub const DAILY_DIGEST_HOUR: u32 = 8;

/// How a notification of one kind is e-mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailChoice {
    Off,
    Immediately,
    Hourly,
    Daily,
}

impl EmailChoice {
    pub const ALL: [EmailChoice; 4] = [
        EmailChoice::Off,
        EmailChoice::Immediately,
        EmailChoice::Hourly,
        EmailChoice::Daily,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailChoice::Off => "off",
            EmailChoice::Immediately => "immediately",
            EmailChoice::Hourly => "hourly",
            EmailChoice::Daily => "daily",
        }
    }

    pub fn parse(s: &str) -> Option<EmailChoice> {
        EmailChoice::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A user's choice for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pref {
    pub in_app: bool,
    pub email: EmailChoice,
}

/// The kind as one of [`KINDS`], if it is one.
pub fn kind(name: &str) -> Option<&'static str> {
    KINDS.iter().copied().find(|k| *k == name)
}

/// What a user of `role` gets without a choice of their own: supervisors see the
/// alarms about everyone's cases in the app and by e-mail in an hourly digest, and
/// approval requests (which wait for them) at once; everyone else gets what is
/// about their own cases in the app and by e-mail at once.
pub fn default_pref(role: Role, kind: &str) -> Pref {
    let email = if role == Role::Supervisor && GROUPED.contains(&kind) {
        EmailChoice::Hourly
    } else {
        EmailChoice::Immediately
    };
    Pref {
        in_app: true,
        email,
    }
}

/// Whether a user of `role` gets notifications of `kind` grouped per queue.
pub fn grouped(role: Role, kind: &str) -> bool {
    role == Role::Supervisor && GROUPED.contains(&kind)
}

/// When a notice made at `at` goes out in a digest of `choice` for a reader in
/// `tz`: hourly at the next full local hour, daily at the next
/// [`DAILY_DIGEST_HOUR`] local time. `None` for the choices without a digest.
pub fn digest_due(choice: EmailChoice, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let local = at.with_timezone(&tz);
    match choice {
        EmailChoice::Off | EmailChoice::Immediately => None,
        EmailChoice::Hourly => {
            let into_hour = Duration::minutes(local.minute().into())
                + Duration::seconds(local.second().into())
                + Duration::nanoseconds(local.nanosecond().into());
            Some(at - into_hour + Duration::hours(1))
        }
        EmailChoice::Daily => {
            let hour = NaiveTime::from_hms_opt(DAILY_DIGEST_HOUR, 0, 0).expect("a time");
            let mut day = local.date_naive();
            loop {
                let wall = day.and_time(hour);
                // A wall-clock time skipped by a DST change is taken an hour later.
                let due = tz
                    .from_local_datetime(&wall)
                    .earliest()
                    .or_else(|| {
                        tz.from_local_datetime(&(wall + Duration::hours(1)))
                            .earliest()
                    })
                    .map(|d| d.with_timezone(&Utc));
                if let Some(due) = due.filter(|d| *d > at) {
                    return Some(due);
                }
                day = day.succ_opt()?;
            }
        }
    }
}

/// What is wrong with a preferences form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefError {
    /// A field names a kind there is no choice for.
    UnknownKind(String),
    /// Pages always come through; there is nothing to choose.
    PagesFixed,
    /// A field is neither `in_app.<kind>` nor `email.<kind>`.
    UnknownChannel(String),
    /// An e-mail choice other than off, immediately, hourly, daily.
    UnknownFrequency(String),
    /// A kind the form left without its e-mail choice.
    Missing(String),
}

/// Reads a preferences form: for every kind, `email.<kind>` (one of
/// off, immediately, hourly, daily) and `in_app.<kind>` (present when ticked).
/// Anything else is an error and nothing is taken.
pub fn parse_choices(fields: &[(String, String)]) -> Result<Vec<(&'static str, Pref)>, PrefError> {
    let mut in_app: Vec<&'static str> = Vec::new();
    let mut email: Vec<(&'static str, EmailChoice)> = Vec::new();
    for (name, value) in fields {
        let (channel, k) = name
            .split_once('.')
            .ok_or_else(|| PrefError::UnknownChannel(name.clone()))?;
        if !matches!(channel, "in_app" | "email") {
            return Err(PrefError::UnknownChannel(name.clone()));
        }
        if k == PAGED {
            return Err(PrefError::PagesFixed);
        }
        let k = kind(k).ok_or_else(|| PrefError::UnknownKind(k.to_string()))?;
        if channel == "in_app" {
            in_app.push(k);
        } else {
            let choice = EmailChoice::parse(value)
                .ok_or_else(|| PrefError::UnknownFrequency(value.clone()))?;
            email.push((k, choice));
        }
    }
    KINDS
        .iter()
        .map(|k| {
            let choice = email
                .iter()
                .rev()
                .find(|(e, _)| e == k)
                .map(|(_, c)| *c)
                .ok_or_else(|| PrefError::Missing(k.to_string()))?;
            Ok((
                *k,
                Pref {
                    in_app: in_app.contains(k),
                    email: choice,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn hourly_digests_go_at_the_next_full_hour() {
        let due = |at: &str, tz: Tz| digest_due(EmailChoice::Hourly, utc(at), tz).unwrap();
        assert_eq!(
            due("2026-11-24T01:20:30Z", chrono_tz::UTC),
            utc("2026-11-24T02:00:00Z")
        );
        assert_eq!(
            due("2026-11-24T01:00:00Z", chrono_tz::UTC),
            utc("2026-11-24T02:00:00Z")
        );
        // A zone half an hour off: its own full hours.
        assert_eq!(
            due("2026-11-24T01:20:00Z", chrono_tz::Asia::Kolkata),
            utc("2026-11-24T01:30:00Z")
        );
    }

    #[test]
    fn daily_digests_go_at_eight_local() {
        let due = |at: &str, tz: Tz| digest_due(EmailChoice::Daily, utc(at), tz).unwrap();
        assert_eq!(
            due("2026-11-24T01:20:00Z", chrono_tz::UTC),
            utc("2026-11-24T08:00:00Z")
        );
        assert_eq!(
            due("2026-11-24T08:00:00Z", chrono_tz::UTC),
            utc("2026-11-25T08:00:00Z")
        );
        // 09:20 in Shanghai is past 08:00 there: the next morning.
        assert_eq!(
            due("2026-11-24T01:20:00Z", chrono_tz::Asia::Shanghai),
            utc("2026-11-25T00:00:00Z")
        );
        assert_eq!(
            digest_due(
                EmailChoice::Immediately,
                utc("2026-11-24T01:20:00Z"),
                chrono_tz::UTC
            ),
            None
        );
    }

    #[test]
    fn supervisors_get_alarms_grouped_and_digested_agents_at_once() {
        assert!(grouped(Role::Supervisor, "sla.breached"));
        assert!(!grouped(Role::Agent, "sla.breached"));
        assert!(!grouped(Role::Supervisor, "approval.requested"));
        assert_eq!(
            default_pref(Role::Supervisor, "sla.breached").email,
            EmailChoice::Hourly
        );
        assert_eq!(
            default_pref(Role::Agent, "sla.warning").email,
            EmailChoice::Immediately
        );
        assert!(GROUPED.iter().all(|g| KINDS.contains(g)));
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_form_names_every_kind_and_nothing_else() {
        let mut all: Vec<(String, String)> = KINDS
            .iter()
            .map(|k| (format!("email.{k}"), "hourly".to_string()))
            .collect();
        all.push(("in_app.sla.breached".into(), "on".into()));
        let got = parse_choices(&all).unwrap();
        assert_eq!(got.len(), KINDS.len());
        let breached = got.iter().find(|(k, _)| *k == "sla.breached").unwrap().1;
        assert!(breached.in_app);
        assert_eq!(breached.email, EmailChoice::Hourly);
        assert!(
            !got.iter()
                .find(|(k, _)| *k == "sla.warning")
                .unwrap()
                .1
                .in_app
        );

        let mut bad = all.clone();
        bad.push(("email.sla.nonsense".into(), "daily".into()));
        assert_eq!(
            parse_choices(&bad),
            Err(PrefError::UnknownKind("sla.nonsense".into()))
        );
        let mut bad = all.clone();
        bad.push(("sms.sla.warning".into(), "on".into()));
        assert_eq!(
            parse_choices(&bad),
            Err(PrefError::UnknownChannel("sms.sla.warning".into()))
        );
        let mut bad = all.clone();
        bad.push(("email.sla.warning".into(), "weekly".into()));
        assert_eq!(
            parse_choices(&bad),
            Err(PrefError::UnknownFrequency("weekly".into()))
        );
        assert_eq!(
            parse_choices(&form(&[("email.oncall.paged", "off")])),
            Err(PrefError::PagesFixed)
        );
        assert_eq!(
            parse_choices(&form(&[("email.sla.warning", "off")])),
            Err(PrefError::Missing("sla.breached".into()))
        );
    }
}
