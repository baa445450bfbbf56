// The preview of a message to a case's customer: a template (or an agent's edit of
// it) filled in for the case exactly as the customer will see it — the e-mail's
// subject and text, or the message on their secure portal — with the security tips
// of the case's rule; the customer's name masked as on every page of the desk, the
// one-time link a marker (it is made when the message is sent). Anyone who may see
// the case may preview; nothing is sent or changed. A customer who may not be
// written to gets no preview, only the reason.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::scope::visible_case;
use super::{CurrentUser, Page, db};
use crate::cases::verify::{customer_lang, is_aml};
use crate::domain::replies::Fit;
use crate::domain::{FieldProblem, Lang, masking};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::mail::replies::{self, Channel, Reader, Rendered, Suggestion};
use crate::mail::templates;
use crate::state::AppState;
use crate::store::cases::{self as case_store, case_ref};

/// A template the picker offers: (name, subject in the customer's language, how it
/// fits the case).
pub struct Choice {
    pub name: String,
    pub subject: String,
    pub fit: &'static str,
}

#[derive(Template)]
#[template(path = "cases/reply_preview.html")]
struct PreviewPage {
    page: Page,
    /// The customer's language, which the preview speaks.
    tr: Tr,
    reference: String,
    refusal: Option<&'static str>,
    channel: &'static str,
    template: String,
    choices: Vec<Choice>,
    /// The template is among the choices.
    listed: bool,
    to: String,
    lang_name: &'static str,
    rendered: Option<Rendered>,
    /// The security tips shown with the portal message.
    tips: Vec<String>,
    /// The text in the editor: the template filled in, or the agent's edit.
    subject: String,
    body: String,
    placeholders: String,
    problems: Vec<FieldProblem>,
}

/// How a suggestion fits the case, in the reader's words.
pub fn fit_label(tr: &Tr, fit: crate::domain::replies::Fit) -> &'static str {
    tr.t(match fit {
        Fit::RuleAndState => "replies.fit.rule_and_state",
        Fit::Rule => "replies.fit.rule",
        Fit::State => "replies.fit.state",
        Fit::Generic => "replies.fit.generic",
    })
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    template: Option<String>,
    channel: Option<String>,
}

/// What the preview is asked to show: a stored template, or the agent's own text.
enum Source {
    Template(String),
    Edited { subject: String, body: String },
    Nothing,
}

/// What the preview found, read in one go.
struct Found {
    reference: String,
    refusal: Option<&'static str>,
    to: String,
    lang: Lang,
    suggestions: Vec<Suggestion>,
    result: Result<Option<Rendered>, Vec<FieldProblem>>,
    /// The template's text for the editor, the customer's name and the link left as
    /// placeholders.
    draft: Option<(String, String)>,
}

#[allow(clippy::too_many_arguments)]
async fn preview(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    reference: String,
    channel: Channel,
    template: String,
    source: Source,
) -> Result<HttpResponse, AppError> {
    let st = state.clone();
    // What the editor shows back when the edit is refused: the text as typed.
    let typed = match &source {
        Source::Edited { subject, body } => Some((subject.clone(), body.clone())),
        _ => None,
    };
    let found = db(&state, move |conn| {
        let case = visible_case(conn, &user, &reference)?;
        let customer = case_store::customer(conn, case.customer_id)?;
        let lang = customer_lang(&customer);
        let aml = is_aml(conn, &case)?;
        let to = customer
            .email
            .as_deref()
            .map(masking::email)
            .unwrap_or_default();
        let mut found = Found {
            reference: case_ref(case.id),
            refusal: replies::refusal_for(&customer, aml, Some(channel)),
            to,
            lang,
            suggestions: Vec::new(),
            result: Ok(None),
            draft: None,
        };
        if found.refusal.is_some() {
            // Nothing to show of what cannot be sent.
            return Ok(found);
        }
        let alerts = case_store::alerts_of(conn, case.id)?;
        let agent = user.user.name.clone();
        found.suggestions =
            replies::suggest_with(conn, &st.settings, &case, &customer, &alerts, aml, &agent)?
                .items;
        let marker = replies::link_marker(lang);
        found.result = match source {
            Source::Nothing => Ok(None),
            Source::Template(name) => {
                let t = templates::pick(conn, &name, lang.code())?.ok_or(AppError::NotFound)?;
                found.draft = Some(replies::draft_for_case(
                    conn,
                    &st.settings,
                    &case,
                    &customer,
                    lang,
                    &t.subject,
                    &t.body,
                    &agent,
                )?);
                Ok(Some(replies::render_text(
                    conn,
                    &st.settings,
                    &case,
                    &customer,
                    lang,
                    &t.subject,
                    &t.body,
                    &agent,
                    &marker,
                    Reader::Staff,
                )?))
            }
            Source::Edited { subject, body } => replies::render_edited(
                conn,
                &st.settings,
                &case,
                &customer,
                &subject,
                &body,
                &agent,
                &marker,
                Reader::Staff,
            )?
            .map(Some),
        };
        Ok(found)
    })
    .await?;
    let choices: Vec<Choice> = found
        .suggestions
        .iter()
        .map(|s| Choice {
            name: s.name.clone(),
            subject: s.rendered.subject.clone(),
            fit: fit_label(&page.tr, s.fit),
        })
        .collect();
    let listed = choices.iter().any(|c| c.name == template);
    let (status, rendered, problems) = match found.result {
        Ok(r) => (StatusCode::OK, r, Vec::new()),
        Err(p) => (StatusCode::BAD_REQUEST, None, p),
    };
    let (subject, body) = typed.or(found.draft).unwrap_or_default();
    page.render_status(
        status,
        &PreviewPage {
            tr: Tr::new(found.lang),
            reference: found.reference,
            refusal: found.refusal,
            channel: channel.as_str(),
            template,
            choices,
            listed,
            to: found.to,
            lang_name: found.lang.native_name(),
            tips: rendered
                .as_ref()
                .map(|r| r.tips.clone())
                .unwrap_or_default(),
            rendered,
            subject,
            body,
            placeholders: templates::placeholder_list(),
            problems,
            page: page.clone(),
        },
    )
}

fn channel_of(s: Option<&str>) -> Result<Channel, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Channel::Email),
        Some(c) => Channel::parse(c).ok_or(AppError::NotFound),
    }
}

/// `GET /cases/{case_ref}/messages/preview?template=…&channel=email|portal`: the
/// template filled in for the case's customer as they will see it (without a
/// template, the picker of the replies suggested for the case).
pub async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let channel = channel_of(q.channel.as_deref())?;
    let template = q.template.unwrap_or_default().trim().to_string();
    let source = if template.is_empty() {
        Source::Nothing
    } else {
        Source::Template(template.clone())
    };
    preview(
        user,
        state,
        page,
        path.into_inner(),
        channel,
        template,
        source,
    )
    .await
}

#[derive(Deserialize)]
pub struct EditedForm {
    #[serde(default)]
    template: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

/// `POST /cases/{case_ref}/messages/preview`: the agent's edit of a message (subject,
/// body) filled in for the customer as they will see it; an unknown placeholder or
/// an empty or too long text is refused (400), naming what is wrong.
pub async fn edited(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<EditedForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let channel = channel_of(Some(&f.channel))?;
    let source = Source::Edited {
        subject: f.subject.trim().to_string(),
        body: f.body.replace("\r\n", "\n").trim().to_string(),
    };
    preview(
        user,
        state,
        page,
        path.into_inner(),
        channel,
        f.template.trim().to_string(),
        source,
    )
    .await
}
