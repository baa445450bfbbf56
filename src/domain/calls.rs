// Verification calls as an agent logs them: the outcomes and directions there are,
// which outcomes count as failed attempts, and the checks a logged call must pass.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

pub const OUTCOMES: [&str; 6] = [
    "verified",
    "denied",
    "no_answer",
    "voicemail",
    "wrong_number",
    "callback_requested",
];

pub const DIRECTIONS: [&str; 2] = ["outbound", "inbound"];

/// Attempts that did not reach the customer: after enough of them the case page
/// suggests the e-mail route or escalation.
pub const FAILED: [&str; 3] = ["no_answer", "voicemail", "wrong_number"];

/// The longest note kept with a call, in characters.
pub const MAX_NOTES: usize = 2000;

/// A call as the form gave it, before checking.
#[derive(Debug, Clone, Default)]
pub struct CallForm<'a> {
    pub direction: &'a str,
    pub outcome: &'a str,
    pub duration: &'a str,
    pub notes: &'a str,
    /// `YYYY-MM-DDTHH:MM` in the agent's time zone (an HTML `datetime-local`).
    pub callback_at: &'a str,
}

/// A checked call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInput {
    pub direction: String,
    pub outcome: String,
    pub duration_seconds: Option<i32>,
    pub notes: String,
    pub callback_at: Option<DateTime<Utc>>,
}

/// What was wrong with a call; each names a message in the catalogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallProblem {
    UnknownDirection,
    UnknownOutcome,
    BadDuration,
    NotesTooLong,
    CallbackMissing,
    CallbackBadTime,
    CallbackPast,
    UnknownNumber,
}

impl CallProblem {
    /// The catalog key of the message shown to the agent.
    pub fn key(self) -> &'static str {
        match self {
            CallProblem::UnknownDirection => "flash.call_unknown_direction",
            CallProblem::UnknownOutcome => "flash.call_unknown_outcome",
            CallProblem::BadDuration => "flash.call_bad_duration",
            CallProblem::NotesTooLong => "flash.call_notes_too_long",
            CallProblem::CallbackMissing => "flash.call_callback_missing",
            CallProblem::CallbackBadTime => "flash.call_callback_bad_time",
            CallProblem::CallbackPast => "flash.call_callback_past",
            CallProblem::UnknownNumber => "flash.call_unknown_number",
        }
    }
}

pub fn is_failed(outcome: &str) -> bool {
    FAILED.contains(&outcome)
}

/// Checks a call's fields; `tz` is the agent's zone, in which the callback time is
/// read, and `now` the instant a callback must come after.
pub fn check<Tz: TimeZone>(
    form: &CallForm<'_>,
    tz: &Tz,
    now: DateTime<Utc>,
) -> Result<CallInput, CallProblem> {
    let direction = form.direction.trim();
    if !DIRECTIONS.contains(&direction) {
        return Err(CallProblem::UnknownDirection);
    }
    let outcome = form.outcome.trim();
    if !OUTCOMES.contains(&outcome) {
        return Err(CallProblem::UnknownOutcome);
    }
    let duration = form.duration.trim();
    let duration_seconds = if duration.is_empty() {
        None
    } else {
        match duration.parse::<i32>() {
            Ok(d) if (0..=86_400).contains(&d) => Some(d),
            _ => return Err(CallProblem::BadDuration),
        }
    };
    let notes = form.notes.trim();
    if notes.chars().count() > MAX_NOTES {
        return Err(CallProblem::NotesTooLong);
    }
    let callback = form.callback_at.trim();
    let callback_at = if outcome == "callback_requested" {
        if callback.is_empty() {
            return Err(CallProblem::CallbackMissing);
        }
        let local = NaiveDateTime::parse_from_str(callback, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(callback, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| CallProblem::CallbackBadTime)?;
        let at = tz
            .from_local_datetime(&local)
            .earliest()
            .ok_or(CallProblem::CallbackBadTime)?
            .with_timezone(&Utc);
        if at <= now {
            return Err(CallProblem::CallbackPast);
        }
        Some(at)
    } else {
        None
    };
    Ok(CallInput {
        direction: direction.to_string(),
        outcome: outcome.to_string(),
        duration_seconds,
        notes: notes.to_string(),
        callback_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
    }

    fn form<'a>(outcome: &'a str, duration: &'a str, callback: &'a str) -> CallForm<'a> {
        CallForm {
            direction: "outbound",
            outcome,
            duration,
            notes: " spoke briefly ",
            callback_at: callback,
        }
    }

    #[test]
    fn good_calls_pass() {
        let c = check(&form("no_answer", "", ""), &Utc, now()).unwrap();
        assert_eq!(c.duration_seconds, None);
        assert_eq!(c.notes, "spoke briefly");
        let c = check(&form("verified", "95", ""), &Utc, now()).unwrap();
        assert_eq!(c.duration_seconds, Some(95));
        // 10:30 in Shanghai is 02:30 UTC.
        let c = check(
            &form("callback_requested", "", "2026-11-24T10:30"),
            &chrono_tz::Asia::Shanghai,
            now(),
        )
        .unwrap();
        assert_eq!(
            c.callback_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 24, 2, 30, 0).unwrap())
        );
    }

    #[test]
    fn bad_calls_are_named() {
        let p = |f: CallForm| check(&f, &Utc, now()).unwrap_err();
        assert_eq!(p(form("hung_up", "", "")), CallProblem::UnknownOutcome);
        assert_eq!(p(form("verified", "-5", "")), CallProblem::BadDuration);
        assert_eq!(p(form("verified", "abc", "")), CallProblem::BadDuration);
        assert_eq!(
            p(form("callback_requested", "", "")),
            CallProblem::CallbackMissing
        );
        assert_eq!(
            p(form("callback_requested", "", "tomorrow")),
            CallProblem::CallbackBadTime
        );
        assert_eq!(
            p(form("callback_requested", "", "2026-11-24T00:59")),
            CallProblem::CallbackPast
        );
        let mut f = form("verified", "", "");
        f.direction = "sideways";
        assert_eq!(p(f), CallProblem::UnknownDirection);
        assert!(is_failed("voicemail") && !is_failed("denied"));
    }
}
