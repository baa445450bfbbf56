// Business calendars on their admin pages (the handlers are `object.rs`'s): the form
// (time zone, weekly hours, holidays), list, edit page and a deadline preview.

use std::collections::BTreeMap;

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::object::{DeskObject, FormCtx, href};
use super::{local_input, local_time, parse_instant};
use crate::domain::FieldProblem;
use crate::domain::calendar::{BusinessCalendar, Calendar, CalendarInput};
use crate::domain::deskconfig::{CalendarDef, DeskConfig};
use crate::i18n::{Tr, tkey};
use crate::web::Page;

/// The weekdays as the file names them, with the catalog keys of their labels.
const DAYS: [(&str, &str); 7] = [
    ("mon", tkey("desk.day.mon")),
    ("tue", tkey("desk.day.tue")),
    ("wed", tkey("desk.day.wed")),
    ("thu", tkey("desk.day.thu")),
    ("fri", tkey("desk.day.fri")),
    ("sat", tkey("desk.day.sat")),
    ("sun", tkey("desk.day.sun")),
];

/// The largest target the preview computes, in business minutes (the largest
/// resolution target a policy may have).
const PREVIEW_MAX_MINUTES: i64 = 5_256_000;
const PREVIEW_DEFAULT_MINUTES: i64 = 240;

/// A calendar as its form holds it: text, exactly as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CalendarForm {
    name: String,
    timezone: String,
    hours_mon: String,
    hours_tue: String,
    hours_wed: String,
    hours_thu: String,
    hours_fri: String,
    hours_sat: String,
    hours_sun: String,
    holidays: String,
}

/// One weekday's field of the form.
pub struct DayField<'a> {
    pub key: &'static str,
    pub label: &'static str,
    pub value: &'a str,
}

/// "09:00-12:00, 13:00-21:00" for one day's intervals.
fn intervals_text(intervals: &[[String; 2]]) -> String {
    intervals
        .iter()
        .map(|[a, b]| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "9:00" → "09:00"; anything else unchanged, for the validator to judge.
fn pad_hour(t: &str) -> String {
    let b = t.as_bytes();
    if b.len() == 4 && b[0].is_ascii_digit() && b[1] == b':' {
        format!("0{t}")
    } else {
        t.to_string()
    }
}

impl CalendarForm {
    fn of(def: &CalendarDef) -> Self {
        let hours = def.calendar.hours_map();
        let day = |k: &str| hours.get(k).map(|v| intervals_text(v)).unwrap_or_default();
        CalendarForm {
            name: def.name.clone(),
            timezone: def.calendar.timezone_name().to_string(),
            hours_mon: day("mon"),
            hours_tue: day("tue"),
            hours_wed: day("wed"),
            hours_thu: day("thu"),
            hours_fri: day("fri"),
            hours_sat: day("sat"),
            hours_sun: day("sun"),
            holidays: def.calendar.holiday_strings().join("\n"),
        }
    }

    fn day(&self, key: &str) -> &str {
        match key {
            "mon" => &self.hours_mon,
            "tue" => &self.hours_tue,
            "wed" => &self.hours_wed,
            "thu" => &self.hours_thu,
            "fri" => &self.hours_fri,
            "sat" => &self.hours_sat,
            _ => &self.hours_sun,
        }
    }

    pub fn days(&self) -> Vec<DayField<'_>> {
        DAYS.iter()
            .map(|&(key, label)| DayField {
                key,
                label,
                value: self.day(key),
            })
            .collect()
    }

    /// The calendar the form describes, checked by the calendar's own validator;
    /// problems are named as in the file (`path` is e.g. `calendars[2]`).
    fn to_def(&self, name: &str, path: &str, tr: Tr) -> Result<CalendarDef, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut hours: BTreeMap<String, Vec<[String; 2]>> = BTreeMap::new();
        for (key, _) in DAYS {
            let mut pairs = Vec::new();
            for item in super::split_list(self.day(key)) {
                match item.split_once(['-', '–', '~']) {
                    Some((a, b)) => pairs.push([pad_hour(a.trim()), pad_hour(b.trim())]),
                    None => problems.push(FieldProblem::new(
                        format!("{path}.hours.{key}"),
                        tr.tf("desk.problem.interval", &[("text", &item)]),
                    )),
                }
            }
            if !pairs.is_empty() {
                hours.insert(key.to_string(), pairs);
            }
        }
        let holidays = super::split_list(&self.holidays);
        let parsed = BusinessCalendar::parse(&CalendarInput {
            timezone: self.timezone.trim(),
            hours: &hours,
            holidays: &holidays,
        });
        match parsed {
            Ok(calendar) if problems.is_empty() => Ok(CalendarDef {
                name: name.trim().to_string(),
                calendar,
            }),
            Ok(_) => Err(problems),
            Err(found) => {
                problems.extend(
                    found
                        .into_iter()
                        .map(|p| FieldProblem::text(format!("{path}.{}", p.field), p.text)),
                );
                Err(problems)
            }
        }
    }
}

/// A calendar in the list.
pub struct Row {
    pub name: String,
    pub href: String,
    pub timezone: String,
    /// (day label key, intervals) of the days with hours.
    pub hours: Vec<(&'static str, String)>,
    pub holidays: usize,
    pub used_by: Vec<String>,
}

fn used_by(cfg: &DeskConfig, name: &str) -> Vec<String> {
    cfg.sla_policies
        .iter()
        .filter(|p| p.calendar == name)
        .map(|p| p.name.clone())
        .collect()
}

fn rows(cfg: &DeskConfig) -> Vec<Row> {
    cfg.calendars
        .iter()
        .map(|c| {
            let hours = c.calendar.hours_map();
            Row {
                href: href::<Calendars>(&c.name),
                name: c.name.clone(),
                timezone: c.calendar.timezone_name().to_string(),
                hours: DAYS
                    .iter()
                    .filter_map(|&(key, label)| hours.get(key).map(|v| (label, intervals_text(v))))
                    .collect(),
                holidays: c.calendar.holiday_strings().len(),
                used_by: used_by(cfg, &c.name),
            }
        })
        .collect()
}

fn timezones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect()
}

#[derive(Template)]
#[template(path = "admin/calendars.html")]
pub struct ListPage {
    page: Page,
    calendars: Vec<Row>,
    form: CalendarForm,
    timezones: Vec<&'static str>,
    problems: Vec<FieldProblem>,
}

/// The preview's query: a target in business minutes and a start.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PreviewQuery {
    preview_minutes: Option<String>,
    preview_start: Option<String>,
}

/// What the preview box shows.
pub struct Preview {
    /// The form's values.
    pub minutes: String,
    pub start: String,
    /// The catalog key of what was wrong with them.
    pub problem: Option<&'static str>,
    pub result: Option<PreviewResult>,
}

pub struct PreviewResult {
    pub start_mine: String,
    pub due_mine: String,
    pub start_calendar: String,
    pub due_calendar: String,
}

fn preview(calendar: &BusinessCalendar, q: &PreviewQuery, now: DateTime<Utc>, mine: Tz) -> Preview {
    let minutes_text = q
        .preview_minutes
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .unwrap_or_else(|| PREVIEW_DEFAULT_MINUTES.to_string());
    let start_text = q
        .preview_start
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let minutes = minutes_text
        .parse::<i64>()
        .ok()
        .filter(|m| (0..=PREVIEW_MAX_MINUTES).contains(m));
    let start = match start_text {
        None => Ok(now),
        Some(t) => parse_instant(t, mine),
    };
    let mut out = Preview {
        // Left empty, the start stays "now" however long the page is open.
        start: match (&start, start_text) {
            (Ok(at), Some(_)) => local_input(*at, mine),
            (Err(_), Some(t)) => t.to_string(),
            (_, None) => String::new(),
        },
        minutes: minutes_text,
        problem: None,
        result: None,
    };
    match (minutes, start) {
        (None, _) => out.problem = Some(tkey("desk.preview.bad_minutes")),
        (_, Err(_)) => out.problem = Some(tkey("desk.preview.bad_start")),
        (Some(m), Ok(start)) => {
            let due = Calendar::Business(calendar.clone()).add_business_minutes(start, m);
            let theirs: Tz = calendar.timezone_name().parse().unwrap_or(chrono_tz::UTC);
            out.result = Some(PreviewResult {
                start_mine: local_time(start, mine),
                due_mine: local_time(due, mine),
                start_calendar: local_time(start, theirs),
                due_calendar: local_time(due, theirs),
            });
        }
    }
    out
}

#[derive(Template)]
#[template(path = "admin/calendar_edit.html")]
pub struct EditPage {
    page: Page,
    name: String,
    href: String,
    timezone: String,
    form: CalendarForm,
    timezones: Vec<&'static str>,
    used_by: Vec<String>,
    preview: Preview,
    problems: Vec<FieldProblem>,
}

/// The pages of business calendars.
pub struct Calendars;

impl DeskObject for Calendars {
    type Form = CalendarForm;
    type Key = String;
    type Query = PreviewQuery;
    type Def = CalendarDef;
    type ListPage = ListPage;
    type EditPage = EditPage;

    const LIST: &'static str = "/admin/calendars";
    const IN_FILE: &'static str = "calendars";
    const CREATED: &'static str = "flash.calendar_created";
    const SAVED: &'static str = "flash.calendar_saved";
    const DELETED: &'static str = "flash.calendar_deleted";

    fn items(cfg: &DeskConfig) -> &[CalendarDef] {
        &cfg.calendars
    }

    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<CalendarDef> {
        &mut cfg.calendars
    }

    fn index(items: &[CalendarDef], name: &String) -> Option<usize> {
        items.iter().position(|c| c.name == *name)
    }

    fn parse(
        form: &CalendarForm,
        name: Option<&String>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<CalendarDef, Vec<FieldProblem>> {
        form.to_def(name.unwrap_or(&form.name), at, ctx.tr)
    }

    fn blank(page: &Page) -> CalendarForm {
        CalendarForm {
            timezone: page.tz.name().to_string(),
            ..Default::default()
        }
    }

    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        form: CalendarForm,
        problems: Vec<FieldProblem>,
    ) -> ListPage {
        ListPage {
            calendars: rows(cfg),
            form,
            timezones: timezones(),
            problems,
            page: page.clone(),
        }
    }

    fn edit_page(
        cfg: &DeskConfig,
        page: &Page,
        now: DateTime<Utc>,
        name: String,
        def: &CalendarDef,
        typed: Option<CalendarForm>,
        query: &PreviewQuery,
        problems: Vec<FieldProblem>,
    ) -> EditPage {
        EditPage {
            href: href::<Self>(&name),
            timezone: def.calendar.timezone_name().to_string(),
            form: typed.unwrap_or_else(|| CalendarForm::of(def)),
            timezones: timezones(),
            used_by: used_by(cfg, &name),
            preview: preview(&def.calendar, query, now, page.tz),
            problems,
            name,
            page: page.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Lang;

    #[test]
    fn the_form_round_trips_a_calendar() {
        let tr = Tr::new(Lang::En);
        let form = CalendarForm {
            name: " cn ".into(),
            timezone: "Asia/Shanghai".into(),
            hours_mon: "9:00-12:00, 13:00 - 21:00".into(),
            hours_tue: "09:00-24:00".into(),
            holidays: "2026-10-01\n2026-10-02\n".into(),
            ..Default::default()
        };
        let def = form.to_def(&form.name, "calendars[0]", tr).unwrap();
        assert_eq!(def.name, "cn");
        let again = CalendarForm::of(&def);
        assert_eq!(again.hours_mon, "09:00-12:00, 13:00-21:00");
        assert_eq!(again.hours_tue, "09:00-24:00");
        assert_eq!(again.hours_wed, "");
        assert_eq!(again.holidays, "2026-10-01\n2026-10-02");
    }

    #[test]
    fn form_problems_are_named_as_in_the_file() {
        let tr = Tr::new(Lang::En);
        let form = CalendarForm {
            name: "x".into(),
            timezone: "Mars/Base".into(),
            hours_mon: "09:00-12:00, 11:00-13:00".into(),
            hours_tue: "all day".into(),
            ..Default::default()
        };
        let problems = form.to_def("x", "calendars[3]", tr).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"calendars[3].timezone"), "{problems:?}");
        assert!(
            fields.contains(&"calendars[3].hours.mon[1]"),
            "{problems:?}"
        );
        assert!(fields.contains(&"calendars[3].hours.tue"), "{problems:?}");
    }
}
