// POST /api/v1/calendars/preview: what a deadline would be under a calendar, or how
// many business minutes lie between two instants, without saving anything.

use std::collections::BTreeMap;

use crate::domain::input::oas::{
    AdditionalProperties, AllOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder,
    Schema, SchemaFormat, SchemaType, Type,
};
use actix_web::{HttpResponse, web};
use chrono::TimeDelta;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::scope::CasesRead;
use super::{ApiError, ApiKey, parse_json};
use crate::domain::FieldProblem;
use crate::domain::calendar::{
    BusinessCalendar, Calendar, CalendarInput, DAY_KEYS, MAX_SEARCH_DAYS,
};
use crate::domain::deskconfig::ALWAYS_OPEN;
use crate::domain::input::{
    self, Bounded, DATE_PATTERN, FromJson, Object, Path, Problems, TimeZone, Timestamp,
};
use crate::i18n::tkey;

/// Business minutes a preview may add.
pub type Minutes = Bounded<0, 10_000_000>;

/// The pattern of a wall-clock time of an interval: `HH:MM`, `24:00` for the end of
/// the day.
pub const HHMM_PATTERN: &str = "^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";

/// The body of a preview: a calendar, a start, and either `minutes` to add or an
/// `end` to count to.
pub struct PreviewBody {
    calendar: Calendar,
    start: Timestamp,
    count: Count,
}

/// What a preview computes.
enum Count {
    /// The deadline after this many business minutes.
    Minutes(i64),
    /// The business minutes until this instant.
    End(Timestamp),
}

/// The `calendar` member: "24/7" or a calendar object.
pub struct CalendarBody;

impl FromJson for PreviewBody {
    fn from_json(v: &Value, at: &Path, problems: &mut Problems) -> Option<Self> {
        let o = Object::of(v, at, problems)?;
        let calendar = match o.get("calendar") {
            Some(c) => read_calendar(c, &o.path("calendar"), problems),
            None => {
                input::problem(
                    problems,
                    &o.path("calendar"),
                    tkey("input.error.required"),
                    &[],
                );
                None
            }
        };
        let start: Option<Timestamp> = o.required("start", problems);
        // `minutes` and `end` are not nullable: a member given as null is refused.
        let (minutes, end) = (o.members().get("minutes"), o.members().get("end"));
        let count = match (minutes, end) {
            (Some(m), None) => {
                Minutes::from_json(m, &o.path("minutes"), problems).map(|m| Count::Minutes(m.0))
            }
            (None, Some(e)) => Timestamp::from_json(e, &o.path("end"), problems).map(Count::End),
            (Some(_), Some(_)) => {
                input::problem(
                    problems,
                    &o.path("end"),
                    tkey("input.error.minutes_and_end"),
                    &[],
                );
                None
            }
            (None, None) => {
                input::problem(
                    problems,
                    &o.path("minutes"),
                    tkey("input.error.minutes_or_end"),
                    &[],
                );
                None
            }
        };
        if let (Some(s), Some(Count::End(e))) = (&start, &count)
            && e.0 - s.0 > TimeDelta::days(MAX_SEARCH_DAYS)
        {
            input::problem(
                problems,
                &o.path("end"),
                tkey("input.error.span"),
                &[("days", &MAX_SEARCH_DAYS.to_string())],
            );
            return None;
        }
        Some(PreviewBody {
            calendar: calendar?,
            start: start?,
            count: count?,
        })
    }
}

/// Reads "24/7" or a calendar object at `at`, naming each problem.
pub fn read_calendar(v: &Value, at: &Path, problems: &mut Problems) -> Option<Calendar> {
    let o = match v {
        Value::String(s) if s == ALWAYS_OPEN => return Some(Calendar::AlwaysOpen),
        Value::Object(_) => Object::of(v, at, problems)?,
        _ => {
            input::problem(problems, at, tkey("input.error.calendar"), &[]);
            return None;
        }
    };
    let before = problems.len();
    let timezone: Option<TimeZone> = o.required("timezone", problems);
    let mut hours: BTreeMap<String, Vec<[String; 2]>> = BTreeMap::new();
    let hat = o.path("hours");
    match o.get("hours") {
        None => input::problem(problems, &hat, tkey("input.error.required"), &[]),
        Some(h) => {
            if let Some(days) = Object::of(h, &hat, problems) {
                if days.members().is_empty() {
                    input::problem(problems, &hat, tkey("input.error.no_days"), &[]);
                }
                for (day, intervals) in days.members() {
                    let dat = hat.key(day);
                    if !DAY_KEYS.contains(&day.as_str()) {
                        input::problem(problems, &dat, tkey("input.error.day"), &[("text", day)]);
                        continue;
                    }
                    let list = match intervals {
                        Value::Array(list) if !list.is_empty() => list,
                        Value::Array(_) => {
                            input::problem(problems, &dat, tkey("input.error.no_intervals"), &[]);
                            continue;
                        }
                        _ => {
                            input::problem(problems, &dat, tkey("input.error.array"), &[]);
                            continue;
                        }
                    };
                    let mut pairs = Vec::new();
                    for (i, pair) in list.iter().enumerate() {
                        match pair {
                            Value::Array(p) if p.len() == 2 => match (&p[0], &p[1]) {
                                (Value::String(a), Value::String(b)) => {
                                    pairs.push([a.clone(), b.clone()])
                                }
                                _ => input::problem(
                                    problems,
                                    &dat.index(i),
                                    tkey("input.error.interval"),
                                    &[],
                                ),
                            },
                            _ => input::problem(
                                problems,
                                &dat.index(i),
                                tkey("input.error.interval"),
                                &[],
                            ),
                        }
                    }
                    hours.insert(day.clone(), pairs);
                }
            }
        }
    }
    let mut holidays = Vec::new();
    if let Some(h) = o.get("holidays") {
        let hat = o.path("holidays");
        match h {
            Value::Array(list) => {
                for (i, d) in list.iter().enumerate() {
                    match d {
                        Value::String(s) => holidays.push(s.clone()),
                        _ => input::problem(problems, &hat.index(i), tkey("input.error.date"), &[]),
                    }
                }
            }
            _ => input::problem(problems, &hat, tkey("input.error.array"), &[]),
        }
    }
    if problems.len() > before {
        return None;
    }
    let timezone = timezone?;
    match BusinessCalendar::parse(&CalendarInput {
        timezone: timezone.name(),
        hours: &hours,
        holidays: &holidays,
    }) {
        Ok(c) => Some(Calendar::Business(c)),
        Err(ps) => {
            problems.extend(ps.into_iter().map(|p| {
                let field = format!("{}.{}", at.name(), p.field);
                FieldProblem::text(field, p.text)
            }));
            None
        }
    }
}

impl PartialSchema for CalendarBody {
    fn schema() -> RefOr<Schema> {
        let interval: Schema = ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(HHMM_PATTERN)),
            )
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some(
                "[\"HH:MM\", \"HH:MM\"], local wall-clock time; the start before the end, \
                 which may be \"24:00\"; a day's intervals must not overlap",
            ))
            .into();
        let mut days = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .min_properties(Some(1))
            .description(Some(
                "Business hours per weekday, at least one day; a day left out has none.",
            ));
        for day in DAY_KEYS {
            days = days.property(
                day,
                ArrayBuilder::new()
                    .items(RefOr::T(interval.clone()))
                    .min_items(Some(1)),
            );
        }
        let holidays = ArrayBuilder::new()
            .schema_type(SchemaType::Array(vec![Type::Array, Type::Null]))
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                    .pattern(Some(DATE_PATTERN)),
            )
            .description(Some("Local dates without business hours"));
        let business = ObjectBuilder::new()
            .property("timezone", TimeZone::schema())
            .required("timezone")
            .property("hours", days)
            .required("hours")
            .property("holidays", holidays);
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([ALWAYS_OPEN]))
                    .description(Some("Every minute counts")),
            )
            .item(business)
            .description(Some("\"24/7\", or a business calendar"))
            .into()
    }
}

impl ToSchema for CalendarBody {}

impl PartialSchema for PreviewBody {
    fn schema() -> RefOr<Schema> {
        let mut one_of = OneOfBuilder::new();
        for member in ["minutes", "end"] {
            one_of = one_of.item(ObjectBuilder::new().required(member));
        }
        let body = ObjectBuilder::new()
            .property("calendar", CalendarBody::schema())
            .required("calendar")
            .property("start", Timestamp::schema())
            .required("start")
            .property(
                "minutes",
                Minutes::schema_with("Business minutes to add: give this or `end`")
                    .examples([Value::from(480)]),
            )
            .property("end", Timestamp::schema())
            .description(Some(
                "Give exactly one of `minutes` (the deadline after that many business \
                 minutes) and `end` (the business minutes from `start` to `end`, at most \
                 3700 days later).",
            ))
            .examples([json!({
                "calendar": {"timezone": "America/New_York",
                             "hours": {"mon": [["09:00", "17:00"]]},
                             "holidays": ["2026-12-25"]},
                "start": "2026-11-24T15:30:00Z", "minutes": 480
            })]);
        AllOfBuilder::new().item(body).item(one_of).into()
    }
}

impl ToSchema for PreviewBody {}

#[derive(Serialize, ToSchema)]
pub struct PreviewAnswer {
    /// With `minutes`: the deadline, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<String>,
    /// With `end`: the business minutes between start and end.
    #[serde(skip_serializing_if = "Option::is_none")]
    business_minutes: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/calendars/preview",
    tag = "calendars",
    request_body = PreviewBody,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The deadline, or the business minutes", body = PreviewAnswer),
        (status = 400, description = "The body is not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
        (status = 413, description = "Body over 1 MiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad calendar, time or count; each field named", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn preview(_key: ApiKey<CasesRead>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let v = parse_json(&body)?;
    let body: PreviewBody = input::read_body(&v).map_err(ApiError::Invalid)?;
    let (calendar, start) = (body.calendar, body.start.0);
    let answer = match body.count {
        Count::Minutes(m) => PreviewAnswer {
            due: Some(
                calendar
                    .add_business_minutes(start, m)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
            business_minutes: None,
        },
        Count::End(e) => PreviewAnswer {
            due: None,
            business_minutes: Some(calendar.business_minutes_between(start, e.0)),
        },
    };
    Ok(HttpResponse::Ok().json(answer))
}
