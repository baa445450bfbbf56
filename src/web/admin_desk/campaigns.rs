// Campaign rules on their admin pages (the handlers are `object.rs`'s): the form
// (identifier kinds, threshold, window, rules, queue), list and edit page.

use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::object::{DeskObject, FormCtx, NoQuery, href};
use super::queues::Queues;
use super::rules::Rules;
use super::whole_number;
use crate::domain::FieldProblem;
use crate::domain::campaign::{CampaignDef, LINK_KINDS, MIN_CUSTOMERS, WINDOW_MINUTES};
use crate::domain::deskconfig::DeskConfig;
use crate::i18n::Tr;
use crate::i18n::events::id_kind;
use crate::web::Page;

/// A campaign rule as its form holds it. The identifier kinds and the rules are
/// checkboxes, each checked one a repeated field (`link_by=ip&link_by=phone`), so
/// the form is read from the list of fields rather than as one value per name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct CampaignForm {
    name: String,
    link_by: Vec<String>,
    min_customers: String,
    window_minutes: String,
    rules: Vec<String>,
    queue: String,
}

impl From<Vec<(String, String)>> for CampaignForm {
    fn from(fields: Vec<(String, String)>) -> Self {
        let mut form = CampaignForm::default();
        for (name, value) in fields {
            match name.as_str() {
                "name" => form.name = value,
                "link_by" => form.link_by.push(value),
                "min_customers" => form.min_customers = value,
                "window_minutes" => form.window_minutes = value,
                "rules" => form.rules.push(value),
                "queue" => form.queue = value,
                _ => {}
            }
        }
        form
    }
}

impl CampaignForm {
    /// The empty form, with the file's example threshold filled in.
    fn new_default() -> Self {
        CampaignForm {
            min_customers: "5".into(),
            window_minutes: "60".into(),
            ..Default::default()
        }
    }

    fn of(def: &CampaignDef) -> Self {
        CampaignForm {
            name: def.name.clone(),
            link_by: def.link_by.clone(),
            min_customers: def.min_customers.to_string(),
            window_minutes: def.window_minutes.to_string(),
            rules: def.rules.clone(),
            queue: def.queue.clone(),
        }
    }

    /// The campaign rule the form describes. Only numbers that are not whole
    /// numbers are refused here (named as in the file, below `path`); the kinds,
    /// ranges and references are left to the configuration's validator.
    fn to_def(&self, name: &str, path: &str, tr: Tr) -> Result<CampaignDef, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut number = |field: &str, text: &str| {
            whole_number(text, format!("{path}.{field}"), true, tr, &mut problems)
        };
        let min_customers = number("min_customers", &self.min_customers);
        let window_minutes = number("window_minutes", &self.window_minutes);
        let (Some(min_customers), Some(window_minutes)) = (min_customers, window_minutes) else {
            return Err(problems);
        };
        let trimmed = |items: &[String]| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                if !out.iter().any(|o| o == item) {
                    out.push(item.to_string());
                }
            }
            out
        };
        Ok(CampaignDef {
            name: name.trim().to_string(),
            link_by: trimmed(&self.link_by),
            min_customers,
            window_minutes,
            rules: trimmed(&self.rules),
            queue: self.queue.trim().to_string(),
        })
    }
}

/// One checkbox of the form: its value, its label, whether it is checked.
pub struct Check {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// The smallest and largest whole number a field takes, as the form writes them.
pub struct Bounds {
    pub min: String,
    pub max: String,
}

impl Bounds {
    fn of(range: std::ops::RangeInclusive<i64>) -> Self {
        Bounds {
            min: range.start().to_string(),
            max: range.end().to_string(),
        }
    }
}

/// What the form offers to choose from, checked as `form` says.
pub struct Options {
    pub kinds: Vec<Check>,
    /// The desk's rules, labelled "code — name" when they have a name of their own.
    pub rules: Vec<Check>,
    pub queues: Vec<String>,
    pub customers: Bounds,
    pub minutes: Bounds,
}

fn options(cfg: &DeskConfig, form: &CampaignForm, tr: Tr) -> Options {
    Options {
        kinds: LINK_KINDS
            .iter()
            .map(|k| Check {
                value: k.to_string(),
                label: id_kind(&tr, k),
                checked: form.link_by.iter().any(|c| c == k),
            })
            .collect(),
        rules: cfg
            .rules
            .iter()
            .map(|r| Check {
                value: r.code.clone(),
                label: if r.name == r.code {
                    r.code.clone()
                } else {
                    format!("{} — {}", r.code, r.name)
                },
                checked: form.rules.contains(&r.code),
            })
            .collect(),
        queues: cfg.queues.iter().map(|q| q.name.clone()).collect(),
        customers: Bounds::of(MIN_CUSTOMERS),
        minutes: Bounds::of(WINDOW_MINUTES),
    }
}

/// A campaign rule in the list.
pub struct Row {
    pub name: String,
    pub href: String,
    /// The identifier kinds, in the reader's words.
    pub link_by: Vec<String>,
    pub min_customers: String,
    pub window_minutes: String,
    /// (code, address) of each rule whose alerts count; empty: every rule.
    pub rules: Vec<(String, String)>,
    pub queue: String,
    pub queue_href: String,
}

fn rows(cfg: &DeskConfig, tr: Tr) -> Vec<Row> {
    cfg.campaigns
        .iter()
        .map(|c| Row {
            name: c.name.clone(),
            href: href::<Campaigns>(&c.name),
            link_by: c.link_by.iter().map(|k| id_kind(&tr, k)).collect(),
            min_customers: c.min_customers.to_string(),
            window_minutes: c.window_minutes.to_string(),
            rules: c
                .rules
                .iter()
                .map(|r| (r.clone(), href::<Rules>(r)))
                .collect(),
            queue: c.queue.clone(),
            queue_href: href::<Queues>(&c.queue),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/campaigns.html")]
pub struct ListPage {
    page: Page,
    campaigns: Vec<Row>,
    form: CampaignForm,
    options: Options,
    problems: Vec<FieldProblem>,
}

#[derive(Template)]
#[template(path = "admin/campaign_edit.html")]
pub struct EditPage {
    page: Page,
    name: String,
    href: String,
    form: CampaignForm,
    options: Options,
    problems: Vec<FieldProblem>,
}

/// The pages of campaign rules.
pub struct Campaigns;

impl DeskObject for Campaigns {
    type Form = CampaignForm;
    type Key = String;
    type Query = NoQuery;
    type Def = CampaignDef;
    type ListPage = ListPage;
    type EditPage = EditPage;

    const LIST: &'static str = "/admin/campaigns";
    const IN_FILE: &'static str = "campaigns";
    const CREATED: &'static str = "flash.campaign_created";
    const SAVED: &'static str = "flash.campaign_saved";
    const DELETED: &'static str = "flash.campaign_deleted";

    fn items(cfg: &DeskConfig) -> &[CampaignDef] {
        &cfg.campaigns
    }

    fn items_mut(cfg: &mut DeskConfig) -> &mut Vec<CampaignDef> {
        &mut cfg.campaigns
    }

    fn index(items: &[CampaignDef], name: &String) -> Option<usize> {
        items.iter().position(|c| c.name == *name)
    }

    fn parse(
        form: &CampaignForm,
        name: Option<&String>,
        at: &str,
        ctx: FormCtx,
    ) -> Result<CampaignDef, Vec<FieldProblem>> {
        form.to_def(name.unwrap_or(&form.name), at, ctx.tr)
    }

    fn blank(_: &Page) -> CampaignForm {
        CampaignForm::new_default()
    }

    fn list_page(
        cfg: &DeskConfig,
        page: &Page,
        _now: DateTime<Utc>,
        form: CampaignForm,
        problems: Vec<FieldProblem>,
    ) -> ListPage {
        ListPage {
            campaigns: rows(cfg, page.tr),
            options: options(cfg, &form, page.tr),
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
        def: &CampaignDef,
        typed: Option<CampaignForm>,
        _: &NoQuery,
        problems: Vec<FieldProblem>,
    ) -> EditPage {
        let form = typed.unwrap_or_else(|| CampaignForm::of(def));
        EditPage {
            href: href::<Self>(&name),
            options: options(cfg, &form, page.tr),
            form,
            problems,
            name,
            page: page.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> CampaignForm {
        let text = serde_urlencoded::to_string(fields).unwrap();
        serde_urlencoded::from_str(&text).unwrap()
    }

    #[test]
    fn checked_boxes_are_read_as_lists() {
        let f = form(&[
            ("csrf_token", "t"),
            ("name", " ring "),
            ("link_by", "ip"),
            ("link_by", "phone"),
            ("link_by", "ip"),
            ("min_customers", "3"),
            ("window_minutes", " 30 "),
            ("rules", "LARGE_TRANSFER"),
            ("queue", "Transfers"),
        ]);
        let def = f.to_def(&f.name, "campaigns[0]", Tr::default()).unwrap();
        assert_eq!(def.name, "ring");
        assert_eq!(def.link_by, ["ip", "phone"]);
        assert_eq!((def.min_customers, def.window_minutes), (3, 30));
        assert_eq!(def.rules, ["LARGE_TRANSFER"]);
        assert_eq!(def.queue, "Transfers");
        // No box checked: no kinds (the validator names it), every rule.
        let f = form(&[("min_customers", "3"), ("window_minutes", "30")]);
        let def = f.to_def("ring", "campaigns[0]", Tr::default()).unwrap();
        assert!(def.link_by.is_empty() && def.rules.is_empty());
    }

    #[test]
    fn numbers_that_are_not_whole_are_named() {
        let f = form(&[("min_customers", "five"), ("window_minutes", "")]);
        let problems = f.to_def("ring", "campaigns[2]", Tr::default()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["campaigns[2].min_customers", "campaigns[2].window_minutes"]
        );
    }
}
