// POST /api/v1/calendars/preview: what a deadline would be under a calendar, or how
// many business minutes lie between two instants, without saving anything.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::scope::CasesRead;
use super::{ApiError, ApiKey, parse_json};
use crate::domain::FieldProblem;
use crate::domain::calendar::{BusinessCalendar, Calendar, CalendarInput};
use crate::domain::deskconfig::ALWAYS_OPEN;

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PreviewBody {
    /// "24/7", or a calendar: {"timezone", "hours": {"mon": [["09:00","17:00"]], …}, "holidays": ["2026-12-25"]}
    #[schema(value_type = Object)]
    calendar: Value,
    /// RFC 3339.
    #[schema(example = "2026-11-24T15:30:00Z")]
    start: String,
    /// Business minutes to add (give this or `end`).
    #[schema(example = 480)]
    minutes: Option<i64>,
    /// RFC 3339; count the business minutes from `start` to here instead.
    end: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewAnswer {
    /// With `minutes`: the deadline, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<String>,
    /// With `end`: the business minutes between start and end.
    #[serde(skip_serializing_if = "Option::is_none")]
    business_minutes: Option<i64>,
}

/// Parses the `calendar` member: "24/7" or a calendar object.
pub fn parse_calendar(
    v: Option<&Value>,
    field: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<Calendar> {
    match v {
        Some(Value::String(s)) if s == ALWAYS_OPEN => Some(Calendar::AlwaysOpen),
        Some(Value::Object(o)) => {
            let timezone = match o.get("timezone") {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    problems.push(FieldProblem::new(
                        format!("{field}.timezone"),
                        "is required (an IANA name)",
                    ));
                    return None;
                }
            };
            let hours: BTreeMap<String, Vec<[String; 2]>> = match o.get("hours") {
                None => BTreeMap::new(),
                Some(h) => match serde_json::from_value(h.clone()) {
                    Ok(h) => h,
                    Err(_) => {
                        problems.push(FieldProblem::new(
                            format!("{field}.hours"),
                            "must map days to lists of [\"HH:MM\", \"HH:MM\"] pairs",
                        ));
                        return None;
                    }
                },
            };
            let holidays: Vec<String> = match o.get("holidays") {
                None => Vec::new(),
                Some(h) => match serde_json::from_value(h.clone()) {
                    Ok(h) => h,
                    Err(_) => {
                        problems.push(FieldProblem::new(
                            format!("{field}.holidays"),
                            "must be a list of dates",
                        ));
                        return None;
                    }
                },
            };
            match BusinessCalendar::parse(&CalendarInput {
                timezone: &timezone,
                hours: &hours,
                holidays: &holidays,
            }) {
                Ok(c) => Some(Calendar::Business(c)),
                Err(ps) => {
                    problems.extend(
                        ps.into_iter()
                            .map(|p| FieldProblem::new(format!("{field}.{}", p.field), p.message)),
                    );
                    None
                }
            }
        }
        Some(_) => {
            problems.push(FieldProblem::new(
                field,
                "must be \"24/7\" or a calendar object",
            ));
            None
        }
        None => {
            problems.push(FieldProblem::new(field, "is required"));
            None
        }
    }
}

fn time(v: Option<&Value>, field: &str, problems: &mut Vec<FieldProblem>) -> Option<DateTime<Utc>> {
    match v {
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                problems.push(FieldProblem::new(
                    field,
                    format!("'{s}' is not an RFC 3339 time"),
                ));
                None
            }
        },
        Some(_) => {
            problems.push(FieldProblem::new(field, "must be an RFC 3339 time string"));
            None
        }
        None => None,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/calendars/preview",
    tag = "calendars",
    request_body = PreviewBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The deadline, or the business minutes", body = PreviewAnswer),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad calendar, time or count; each field named", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn preview(_key: ApiKey<CasesRead>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let v = parse_json(&body)?;
    let mut problems = Vec::new();
    if !v.is_object() {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "",
            "the body must be a JSON object",
        )]));
    }
    let calendar = parse_calendar(v.get("calendar"), "calendar", &mut problems);
    let start = time(v.get("start"), "start", &mut problems);
    if v.get("start").is_none() {
        problems.push(FieldProblem::new("start", "is required"));
    }
    let end = time(v.get("end"), "end", &mut problems);
    let minutes = match v.get("minutes") {
        None => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(m) if (0..=10_000_000).contains(&m) => Some(m),
            _ => {
                problems.push(FieldProblem::new(
                    "minutes",
                    "must be a whole number from 0 to 10000000",
                ));
                None
            }
        },
        Some(_) => {
            problems.push(FieldProblem::new("minutes", "must be a whole number"));
            None
        }
    };
    match (v.get("minutes").is_some(), v.get("end").is_some()) {
        (true, true) => problems.push(FieldProblem::new(
            "end",
            "give either minutes or end, not both",
        )),
        (false, false) => problems.push(FieldProblem::new("minutes", "give either minutes or end")),
        _ => {}
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let (calendar, start) = (calendar.expect("checked"), start.expect("checked"));
    let answer = match (minutes, end) {
        (Some(m), _) => json!({"due": calendar
            .add_business_minutes(start, m)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)}),
        (None, Some(e)) => json!({"business_minutes": calendar.business_minutes_between(start, e)}),
        _ => unreachable!("checked above"),
    };
    Ok(HttpResponse::Ok().json(answer))
}
