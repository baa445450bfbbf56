// On-call rotas on their admin pages (the handlers are `object.rs`'s): the form
// (time zone, members in turn order, turn length, handover, acknowledgement time,
// next rota), list and edit page.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::object::{DeskObject, FormCtx, NoQuery, href};
use super::queues::Queues;
use super::{InstantError, local_input, local_time, parse_instant, split_list, whole_number};
use crate::domain::FieldProblem;
use crate::domain::deskconfig::DeskConfig;
use crate::domain::oncall::{ACK_MINUTES, DEFAULT_ACK_MINUTES, ROTATION_HOURS, Rota};
use crate::i18n::{Tr, tkey};
use crate::web::Page;

/// A rota as its form holds it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RotaForm {
    name: String,
    timezone: String,
    /// E-mail addresses, one a line (or separated by commas), in turn order.
    members: String,
    rotation_hours: String,
    /// In the rota's time zone (`2026-11-30T09:00`), or RFC 3339 with an offset.
    handover: String,
    ack_minutes: String,
    next: String,
}

impl RotaForm {
    fn new_default(page: &Page) -> Self {
        RotaForm {
            timezone: page.tz.name().to_string(),
            rotation_hours: "168".into(),
            ack_minutes: DEFAULT_ACK_MINUTES.to_string(),
            ..Default::default()
        }
    }

    fn of(def: &Rota) -> Self {
        RotaForm {
            name: def.name.clone(),
            timezone: def.timezone.name().to_string(),
            members: def.members.join("\n"),
            rotation_hours: def.rotation_hours.to_string(),
            handover: local_input(def.handover, def.timezone),
            ack_minutes: def.ack_minutes.to_string(),
            next: def.next.clone().unwrap_or_default(),
        }
    }

    /// The rota the form describes. What the form alone can tell is refused here
    /// (named as in the file, below `path`): numbers that are not whole, a time zone
    /// or handover that cannot be read. Ranges, members and references are left to
    /// the configuration's validator.
    fn to_def(&self, name: &str, path: &str, tr: Tr) -> Result<Rota, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let hours = whole_number(
            &self.rotation_hours,
            format!("{path}.rotation_hours"),
            true,
            tr,
            &mut problems,
        );
        let ack = whole_number(
            &self.ack_minutes,
            format!("{path}.ack_minutes"),
            false,
            tr,
            &mut problems,
        );
        let tz_text = self.timezone.trim();
        let tz = match tz_text.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                problems.push(FieldProblem::keyed(
                    format!("{path}.timezone"),
                    tkey("oncall.problem.timezone"),
                    &[("text", tz_text)],
                ));
                None
            }
        };
        let handover = match (tz, self.handover.trim()) {
            (_, "") => {
                problems.push(FieldProblem::new(
                    format!("{path}.handover"),
                    tr.t("desk.problem.required"),
                ));
                None
            }
            (Some(tz), text) => match parse_instant(text, tz) {
                Ok(at) => Some(at),
                Err(InstantError::Unreadable) => {
                    problems.push(FieldProblem::keyed(
                        format!("{path}.handover"),
                        tkey("oncall.problem.handover"),
                        &[("text", text)],
                    ));
                    None
                }
                Err(InstantError::Skipped) => {
                    problems.push(FieldProblem::new(
                        format!("{path}.handover"),
                        tr.tf(
                            "desk.problem.skipped_time",
                            &[("text", text), ("tz", tz.name())],
                        ),
                    ));
                    None
                }
            },
            (None, _) => None,
        };
        let (Some(rotation_hours), Some(timezone), Some(handover), true) =
            (hours, tz, handover, problems.is_empty())
        else {
            return Err(problems);
        };
        Ok(Rota {
            name: name.trim().to_string(),
            timezone,
            members: split_list(&self.members)
                .into_iter()
                .map(|m| m.to_lowercase())
                .collect(),
            rotation_hours,
            handover,
            ack_minutes: ack.unwrap_or(DEFAULT_ACK_MINUTES),
            next: Some(self.next.trim().to_string()).filter(|n| !n.is_empty()),
        })
    }
}

/// A rota in the list.
pub struct Row {
    pub name: String,
    pub href: String,
    pub timezone: String,
    pub members: Vec<String>,
    pub rotation_hours: String,
    /// The handover in the rota's own zone.
    pub handover: String,
    pub ack_minutes: String,
    pub next: Option<(String, String)>,
    /// (name, address) of the queues that page it.
    pub queues: Vec<(String, String)>,
}

fn rows(cfg: &DeskConfig) -> Vec<Row> {
    cfg.oncall
        .iter()
        .map(|r| Row {
            name: r.name.clone(),
            href: href::<Rotas>(&r.name),
            timezone: r.timezone.name().to_string(),
            members: r.members.clone(),
            rotation_hours: r.rotation_hours.to_string(),
            handover: local_time(r.handover, r.timezone),
            ack_minutes: r.ack_minutes.to_string(),
            next: r.next.as_ref().map(|n| (n.clone(), href::<Rotas>(n))),
            queues: cfg
                .queues
                .iter()
                .filter(|q| q.oncall.as_deref() == Some(r.name.as_str()))
                .map(|q| (q.name.clone(), href::<Queues>(&q.name)))
                .collect(),
        })
        .collect()
}

/// The ranges the form's numbers take, as it writes them.
pub struct Limits {
    pub hours_max: String,
    pub ack_max: String,
}

fn limits() -> Limits {
    Limits {
        hours_max: ROTATION_HOURS.end().to_string(),
        ack_max: ACK_MINUTES.end().to_string(),
    }
}

#[derive(Template)]
#[template(path = "admin/oncall.html")]
pub struct ListPage {
    page: Page,
    rotas: Vec<Row>,
    form: RotaForm,
    /// The rotas `next` may name.
    others: Vec<String>,
    limits: Limits,
    problems: Vec<FieldProblem>,
}

#[derive(Template)]
#[template(path = "admin/oncall_edit.html")]
pub struct EditPage {
    page: Page,
    name: String,
    href: String,
    form: RotaForm,
    others: Vec<String>,
    limits: Limits,
    problems: Vec<FieldProblem>,
}

/// The pages of on-call rotas.
pub struct Rotas;

impl DeskObject for Rotas {
    type Form = RotaForm;
    type Key = String;
    type Query = NoQuery;
    type Def = Rota;
    type ListPage = ListPage;
    type EditPage = EditPage;

    const LIST: &'static str = "/admin/oncall";
    const IN_FILE: &'static str = "oncall";
    const CREATED: &'static str = "flash.rota_created";
    const SAVED: &'static str = "flash.rota_saved";
    const DELETED: &'static str = "flash.rota_deleted";

    fn items(cfg: &DeskConfig) -> &[Rota] {
        &cfg.oncall
    }

    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<Rota> {
        &mut cfg.oncall
    }

    fn index(items: &[Rota], name: &String) -> Option<usize> {
        items.iter().position(|r| r.name == *name)
    }

    fn parse(
        form: &RotaForm,
        name: Option<&String>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<Rota, Vec<FieldProblem>> {
        form.to_def(name.unwrap_or(&form.name), at, ctx.tr)
    }

    fn blank(page: &Page) -> RotaForm {
        RotaForm::new_default(page)
    }

    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        form: RotaForm,
        problems: Vec<FieldProblem>,
    ) -> ListPage {
        ListPage {
            rotas: rows(cfg),
            others: cfg.oncall.iter().map(|r| r.name.clone()).collect(),
            limits: limits(),
            form,
            problems,
            page: page.clone(),
        }
    }

    fn edit_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        name: String,
        def: &Rota,
        typed: Option<RotaForm>,
        _: &NoQuery,
        problems: Vec<FieldProblem>,
    ) -> EditPage {
        EditPage {
            href: href::<Self>(&name),
            form: typed.unwrap_or_else(|| RotaForm::of(def)),
            others: cfg
                .oncall
                .iter()
                .map(|r| r.name.clone())
                .filter(|r| *r != name)
                .collect(),
            limits: limits(),
            problems,
            name,
            page: page.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_members_in_order_and_the_handover_in_the_rota_zone() {
        let form = RotaForm {
            name: "fraud-duty".into(),
            timezone: "Asia/Shanghai".into(),
            members: "Olga@bank.example\notto@bank.example, ida@bank.example".into(),
            rotation_hours: "168".into(),
            handover: "2026-11-30T09:00".into(),
            ack_minutes: "".into(),
            next: " managers ".into(),
        };
        let r = form
            .to_def("fraud-duty", "oncall[0]", Tr::default())
            .unwrap();
        assert_eq!(
            r.members,
            ["olga@bank.example", "otto@bank.example", "ida@bank.example"]
        );
        assert_eq!(r.handover.to_rfc3339(), "2026-11-30T01:00:00+00:00");
        assert_eq!(r.ack_minutes, DEFAULT_ACK_MINUTES);
        assert_eq!(r.next.as_deref(), Some("managers"));
        assert_eq!(RotaForm::of(&r).handover, "2026-11-30T09:00");
    }

    #[test]
    fn what_the_form_cannot_read_is_named() {
        let form = RotaForm {
            timezone: "Mars/Base".into(),
            rotation_hours: "a week".into(),
            handover: "2026-11-30T09:00".into(),
            ack_minutes: "5".into(),
            ..Default::default()
        };
        let problems = form.to_def("x", "oncall[1]", Tr::default()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["oncall[1].rotation_hours", "oncall[1].timezone"]);
        let form = RotaForm {
            timezone: "Europe/Berlin".into(),
            rotation_hours: "24".into(),
            handover: "2026-03-29T02:30".into(),
            ..Default::default()
        };
        let problems = form.to_def("x", "oncall[0]", Tr::default()).unwrap_err();
        assert_eq!(problems[0].field, "oncall[0].handover");
    }
}
