// Verification e-mails from the case page, and the customer's pages behind the
// one-time links: `/v/{token}` (was it you?) and `/s/{token}` (satisfaction).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::scope::visible_case;
use super::{CurrentUser, Page, db};
use crate::cases::verify::{self, Answer, LinkError, MAX_MESSAGE};
use crate::db::write_tx;
use crate::domain::{Lang, masking};
use crate::error::AppError;
use crate::i18n::{Tr, tkey};
use crate::mail::templates;
use crate::state::AppState;
use crate::store::cases::{self as case_store, case_ref};

#[derive(Template)]
#[template(path = "cases/verify_email.html")]
struct SendPage {
    page: Page,
    reference: String,
    to: String,
    lang: &'static str,
    refusal: Option<&'static str>,
    /// (name, subject in the customer's language)
    choices: Vec<(String, String)>,
}

/// The verification e-mail's page: which templates there are, in the customer's
/// language, or why this customer cannot be e-mailed.
pub async fn send_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let u = user.clone();
    let (case, to, lang, refusal, choices) = db(&state, move |conn| {
        let case = visible_case(conn, &u, &reference)?;
        if !may_send(&u, case.assignee_id) {
            return Err(AppError::Forbidden);
        }
        let customer = case_store::customer(conn, case.customer_id)?;
        let lang = verify::customer_lang(&customer);
        let refusal = if case.resolved_at.is_some() {
            Some(tkey("mail.refused.resolved"))
        } else {
            verify::contact_refusal(conn, &case, &customer)?
        };
        let mut choices = Vec::new();
        for name in templates::names_for(conn, "verification")? {
            if let Some(t) = templates::pick(conn, &name, lang.code())? {
                choices.push((name, t.subject));
            }
        }
        let to = customer
            .email
            .as_deref()
            .map(masking::email)
            .unwrap_or_default();
        Ok((case, to, lang, refusal, choices))
    })
    .await?;
    page.render(&SendPage {
        reference: case_ref(case.id),
        to,
        lang: lang.native_name(),
        refusal,
        choices,
        page: page.clone(),
    })
}

fn may_send(user: &CurrentUser, assignee: Option<i64>) -> bool {
    user.role.is_supervisor_or_admin() || assignee == Some(user.user.id)
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    template: String,
}

/// Sends the verification e-mail: the assignee or a supervisor.
pub async fn send(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SendForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let template = form.into_inner().template;
    let now = state.now();
    let (u, st) = (user.clone(), state.clone());
    let done = db(&state, move |conn| {
        let case = visible_case(conn, &u, &reference)?;
        if !may_send(&u, case.assignee_id) {
            return Err(AppError::Forbidden);
        }
        let outcome = write_tx(conn, |c| {
            verify::send_verification(c, &st.settings, now, Some(u.user.id), case.id, &template)
        });
        match outcome {
            Ok(()) => Ok(None),
            Err(LinkError::Refused(key)) => Ok(Some(key)),
            Err(LinkError::Db(e)) => Err(e.into()),
            Err(_) => Err(AppError::NotFound),
        }
    })
    .await?;
    Ok(match done {
        None => redirect_with_flash(&back, FlashKind::Success, "mail.flash.verification_queued"),
        Some(key) => redirect_with_flash(&back, FlashKind::Error, key),
    })
}

/// What a customer page says; it has its own layout and speaks the customer's
/// language.
#[derive(Template)]
#[template(path = "customer/verify.html")]
struct VerifyPage {
    tr: Tr,
    csrf: String,
    action: String,
    stopped: verify::Stopped,
    error: Option<&'static str>,
    message: String,
}

#[derive(Template)]
#[template(path = "customer/survey.html")]
struct SurveyPage {
    tr: Tr,
    csrf: String,
    action: String,
    reference: String,
    /// The security tips of the case's rule.
    tips: Vec<String>,
    error: Option<&'static str>,
    comment: String,
}

#[derive(Template)]
#[template(path = "customer/notice.html")]
struct Notice {
    tr: Tr,
    title: &'static str,
    text: &'static str,
}

pub(super) fn html(status: StatusCode, tpl: &impl Template) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(tpl.render()?))
}

pub(super) fn notice(
    lang: Lang,
    status: StatusCode,
    title: &'static str,
    text: &'static str,
) -> Result<HttpResponse, AppError> {
    html(
        status,
        &Notice {
            tr: Tr::new(lang),
            title,
            text,
        },
    )
}

/// The page for a link that cannot be used; nothing was changed.
pub(super) fn unusable(lang: Lang, e: LinkError) -> Result<HttpResponse, AppError> {
    match e {
        LinkError::Used => notice(
            lang,
            StatusCode::GONE,
            tkey("portal.used_title"),
            tkey("portal.used_text"),
        ),
        LinkError::Expired => notice(
            lang,
            StatusCode::GONE,
            tkey("portal.expired_title"),
            tkey("portal.expired_text"),
        ),
        LinkError::Db(e) => Err(e.into()),
        _ => notice(
            lang,
            StatusCode::NOT_FOUND,
            tkey("portal.unknown_title"),
            tkey("portal.unknown_text"),
        ),
    }
}

/// A link's state without changing anything: the usable link and its customer's
/// language, or why it is not usable (in the language of the link's customer when
/// it is known, else the browser's).
pub(super) async fn look_up(
    state: &AppState,
    purpose: &'static str,
    token: String,
    fallback: Lang,
) -> Result<Result<(verify::Link, Lang), (Lang, LinkError)>, AppError> {
    let now = state.now();
    db(state, move |conn| {
        match verify::find(conn, purpose, &token, now) {
            Ok(link) => {
                let lang = verify::lang_of_case(conn, link.case_id)?;
                Ok(Ok((link, lang)))
            }
            Err(LinkError::Db(e)) => Err(e.into()),
            Err(e) => {
                let lang = match verify::case_of(conn, &token)? {
                    Some(case_id) => verify::lang_of_case(conn, case_id)?,
                    None => fallback,
                };
                Ok(Err((lang, e)))
            }
        }
    })
    .await
}

/// `GET /v/{token}`: only shows the question; opening it changes nothing (mail
/// scanners open links).
pub async fn verify_page(
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let action = format!("/v/{token}");
    match look_up(&state, verify::VERIFY, token, page.tr.lang).await? {
        Err((lang, e)) => unusable(lang, e),
        Ok((link, _)) => {
            let stopped = db(&state, move |conn| Ok(verify::stopped(conn, link.case_id)?)).await?;
            html(
                StatusCode::OK,
                &VerifyPage {
                    tr: Tr::new(stopped.lang),
                    csrf: page.csrf.clone(),
                    action,
                    stopped,
                    error: None,
                    message: String::new(),
                },
            )
        }
    }
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    message: String,
}

fn optional_text(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `POST /v/{token}`: records the answer once; a second answer is refused.
pub async fn verify_answer(
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let form = form.into_inner();
    let action = format!("/v/{token}");
    let (link, lang) = match look_up(&state, verify::VERIFY, token.clone(), page.tr.lang).await? {
        Err((lang, e)) => return unusable(lang, e),
        Ok(found) => found,
    };
    let message = optional_text(&form.message);
    let problem = match Answer::parse(&form.answer) {
        None => Some(tkey("portal.verify.choose")),
        Some(_)
            if message
                .as_ref()
                .is_some_and(|m| m.chars().count() > MAX_MESSAGE) =>
        {
            Some(tkey("portal.message_too_long"))
        }
        Some(_) => None,
    };
    if let Some(error) = problem {
        let stopped = db(&state, move |conn| Ok(verify::stopped(conn, link.case_id)?)).await?;
        return html(
            StatusCode::BAD_REQUEST,
            &VerifyPage {
                tr: Tr::new(lang),
                csrf: page.csrf.clone(),
                action,
                stopped,
                error: Some(error),
                message: form.message,
            },
        );
    }
    let answer = Answer::parse(&form.answer).expect("checked");
    let now = state.now();
    let st = state.clone();
    let done = db(&state, move |conn| {
        let snap = st.desk.get(conn)?;
        match write_tx(conn, |c| {
            verify::answer_verification(
                c,
                &st.settings,
                &snap,
                now,
                &token,
                answer,
                message.as_deref(),
            )
        }) {
            Ok(a) => Ok(Ok(a)),
            Err(LinkError::Db(e)) => Err(e.into()),
            Err(e) => Ok(Err(e)),
        }
    })
    .await?;
    match done {
        Err(e) => unusable(lang, e),
        Ok(answered) => notice(
            lang,
            StatusCode::OK,
            tkey("portal.thanks_title"),
            match (answer, answered) {
                (Answer::Confirm, verify::Answered::Released) => {
                    tkey("portal.verify.thanks_released")
                }
                (Answer::Confirm, _) => tkey("portal.verify.thanks_confirm"),
                (Answer::Deny, _) => tkey("portal.verify.thanks_deny"),
            },
        ),
    }
}

/// The security tips for the customer of a case, in their language.
async fn tips_of(state: &AppState, case_id: i64, lang: Lang) -> Result<Vec<String>, AppError> {
    db(state, move |conn| {
        Ok(crate::mail::tips::for_case(conn, case_id, lang)?)
    })
    .await
}

/// `GET /s/{token}`: the survey; opening it changes nothing.
pub async fn survey_page(
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let action = format!("/s/{token}");
    match look_up(&state, verify::SURVEY, token, page.tr.lang).await? {
        Err((lang, e)) => unusable(lang, e),
        Ok((link, lang)) => {
            let tips = tips_of(&state, link.case_id, lang).await?;
            html(
                StatusCode::OK,
                &SurveyPage {
                    tr: Tr::new(lang),
                    csrf: page.csrf.clone(),
                    action,
                    reference: case_ref(link.case_id),
                    tips,
                    error: None,
                    comment: String::new(),
                },
            )
        }
    }
}

#[derive(Deserialize)]
pub struct SurveyForm {
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

/// `POST /s/{token}`: records the score (1–5) and comment once.
pub async fn survey_answer(
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<SurveyForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let form = form.into_inner();
    let action = format!("/s/{token}");
    let (link, lang) = match look_up(&state, verify::SURVEY, token.clone(), page.tr.lang).await? {
        Err((lang, e)) => return unusable(lang, e),
        Ok(found) => found,
    };
    let comment = optional_text(&form.comment);
    let score = form
        .score
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|s| (1..=5).contains(s));
    let problem = match score {
        None => Some(tkey("portal.survey.choose")),
        Some(_)
            if comment
                .as_ref()
                .is_some_and(|m| m.chars().count() > MAX_MESSAGE) =>
        {
            Some(tkey("portal.message_too_long"))
        }
        Some(_) => None,
    };
    if let Some(error) = problem {
        let tips = tips_of(&state, link.case_id, lang).await?;
        return html(
            StatusCode::BAD_REQUEST,
            &SurveyPage {
                tr: Tr::new(lang),
                csrf: page.csrf.clone(),
                action,
                reference: case_ref(link.case_id),
                tips,
                error: Some(error),
                comment: form.comment,
            },
        );
    }
    let score = score.expect("checked");
    let now = state.now();
    let done = db(&state, move |conn| {
        match write_tx(conn, |c| {
            verify::answer_survey(c, now, &token, score, comment.as_deref())
        }) {
            Ok(_) => Ok(Ok(())),
            Err(LinkError::Db(e)) => Err(e.into()),
            Err(e) => Ok(Err(e)),
        }
    })
    .await?;
    match done {
        Err(e) => unusable(lang, e),
        Ok(()) => notice(
            lang,
            StatusCode::OK,
            tkey("portal.thanks_title"),
            tkey("portal.survey.thanks"),
        ),
    }
}
