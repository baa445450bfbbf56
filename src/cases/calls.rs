// Verification calls: logging an attempt in one transaction with its timeline event
// (the first one also records the case's first response), and the reminders of
// requested callbacks, each sent once however many instances run.

use super::{CaseError, allowed, load, run};
use crate::domain::events::{self as ev, CaseEvent};
use crate::domain::lifecycle::Command;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::case_alarms;
use crate::dispatch;
use crate::domain::calls::CallInput;
use crate::domain::masking;
use crate::store::calls as call_store;
use crate::store::cases::{self as case_store, Case, Customer, case_ref};
use crate::store::{self};

/// The numbers a call may use: the customer's phone and any phone-like attribute,
/// as (key the form sends, plain number).
pub fn customer_numbers(customer: &Customer) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(p) = customer.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        out.push(("phone".to_string(), p.to_string()));
    }
    let attrs: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&customer.attributes).unwrap_or_default();
    for (k, v) in attrs {
        let lower = k.to_ascii_lowercase();
        if (lower.contains("phone") || lower.contains("mobile"))
            && let Some(s) = v.as_str().filter(|s| !s.trim().is_empty())
            && !out.iter().any(|(_, p)| p == s)
        {
            out.push((format!("attr:{k}"), s.to_string()));
        }
    }
    out
}

/// The masked number behind a form's key, if the customer has it.
pub fn masked_number(customer: &Customer, key: &str) -> Option<String> {
    customer_numbers(customer)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, n)| masking::phone(&n))
}

/// The command "log a call": the call row, its `call.logged` event (with the
/// warning the agent was shown, if any) and, for the case's first call, its first
/// response, in one transaction. Returns the call's id.
pub fn log_call(
    conn: &mut DbConn,
    case_id: i64,
    agent_id: i64,
    number_masked: &str,
    input: &CallInput,
    now: DateTime<Utc>,
) -> Result<i64, CaseError> {
    run(conn, |conn| {
        let case = load(conn, case_id)?;
        allowed(Command::LogCall, &case)?;
        let customer = case_store::customer(conn, case.customer_id)?;
        let warning = crate::cases::verify::call_warning(conn, &case, &customer)?;
        Ok(log(
            conn,
            &case,
            agent_id,
            number_masked,
            input,
            warning,
            now,
        )?)
    })
}

/// [`log_call`] inside the caller's transaction.
pub fn log(
    conn: &mut DbConn,
    case: &Case,
    agent_id: i64,
    number_masked: &str,
    input: &CallInput,
    warning: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    let at = store::to_db(now);
    let id = call_store::insert(conn, case.id, agent_id, at, number_masked, input)?;
    case_store::add_event(
        conn,
        case.id,
        at,
        Some(agent_id),
        &CaseEvent::CallLogged(ev::CallLogged {
            call_id: id,
            direction: input.direction.to_string(),
            outcome: input.outcome.to_string(),
            number: number_masked.to_string(),
            duration_seconds: input.duration_seconds,
            callback_at: input.callback_at,
            warning: warning.map(|w| w.trim_start_matches("calls.").to_string()),
        }),
    )?;
    diesel::update(crate::db::schema::cases::table.find(case.id))
        .set(crate::db::schema::cases::updated_at.eq(at))
        .execute(conn)?;
    crate::cases::clock::record_first_response(conn, case, now, Some(agent_id), "call")?;
    Ok(id)
}

/// Sends the reminder of every requested callback that is due: an in-app
/// notification to the case's assignee (or whoever logged the call) and a
/// `call.callback_due` event. A `case_alarms` row is the proof a reminder went out,
/// so each goes out once across instances. Returns how many went out.
pub fn remind_due(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<usize> {
    let due = call_store::callbacks_due(conn, store::to_db(now), 500)?;
    let mut sent = 0;
    for call in due {
        sent += crate::db::write_tx_retry(conn, |c| remind(c, &call, now))?;
    }
    Ok(sent)
}

fn remind(conn: &mut DbConn, call: &call_store::Call, now: DateTime<Utc>) -> QueryResult<usize> {
    let at = store::to_db(now);
    let inserted = dispatch!(conn, |c| diesel::insert_into(case_alarms::table)
        .values((
            case_alarms::case_id.eq(call.case_id),
            case_alarms::kind.eq(format!("callback:{}", call.id)),
            case_alarms::fired_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    call_store::mark_reminded(conn, call.id, at)?;
    if inserted == 0 {
        return Ok(0);
    }
    let Some(case) = case_store::find(conn, call.case_id)? else {
        return Ok(0);
    };
    if case.resolved_at.is_some() {
        return Ok(0);
    }
    let event = ev::CallbackDue {
        case_ref: case_ref(case.id),
        call_id: call.id,
        number: call.number_masked.clone(),
        callback_at: call.callback_at.map(store::from_db),
    };
    let data = serde_json::to_value(&event).expect("json");
    case_store::add_event(conn, case.id, at, None, &CaseEvent::CallbackDue(event))?;
    let to: Vec<i64> = case.assignee_id.or(call.agent_id).into_iter().collect();
    crate::cases::notices::notify(conn, &to, now, "call.callback_due", case.id, &data)?;
    Ok(1)
}
