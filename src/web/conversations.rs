// The conversation with the customer: the thread and the compose form on the case
// page (`POST /cases/{ref}/messages`), the files the customer sent (downloaded,
// never shown inline), and the customer's secure-message page behind its link
// (`/m/{token}`), which shows the thread and takes their answer with files.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::page::{FlashKind, redirect_with_flash};
use super::scope::visible_case;
use super::verify::{html, look_up, unusable};
use super::{CurrentUser, Page, db};
use crate::cases::CaseError;
use crate::cases::conversation::{self as conv, Compose, SendError, Sender, Thread};
use crate::cases::verify::{self, LinkError};
use crate::domain::conversation::{
    Channel, Direction, FileProblem, MAX_BODY, MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES,
    ReplyKey, Upload, check_files,
};
use crate::domain::{masking, multipart};
use crate::error::AppError;
use crate::i18n::{Tr, tkey};
use crate::state::AppState;
use crate::store::cases::{Case, Customer, case_ref};
use crate::store::messages;

/// A file of a message as the case page lists it.
pub struct FileView {
    pub href: String,
    pub name: String,
    pub size: String,
}

/// One message of the thread on the case page.
pub struct MessageView {
    pub out: bool,
    pub channel: &'static str,
    /// The staff member who wrote it; none for the customer's.
    pub author: Option<String>,
    pub at: NaiveDateTime,
    pub body: String,
    pub template: Option<String>,
    pub files: Vec<FileView>,
}

/// The case page's conversation panel.
pub struct ConversationPanel {
    pub messages: Vec<MessageView>,
    /// The reader may write (the case's agent, a supervisor or an admin).
    pub may_write: bool,
    /// Why the customer cannot be written to, if they cannot.
    pub refusal: Option<&'static str>,
    /// (name, subject in the customer's language)
    pub templates: Vec<(String, String)>,
    /// The customer's language, by its own name.
    pub lang: &'static str,
    /// The masked address.
    pub to: String,
}

/// A size in the reader's units.
fn size_label(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

fn channel_key(c: Channel) -> &'static str {
    match c {
        Channel::Email => "conversations.channel.email",
        Channel::Portal => "conversations.channel.portal",
    }
}

fn may_write(user: &CurrentUser, case: &Case) -> bool {
    user.role.is_supervisor_or_admin() || case.assignee_id == Some(user.user.id)
}

/// The conversation panel of `case` for `user`.
pub fn panel(
    conn: &mut crate::db::DbConn,
    user: &CurrentUser,
    case: &Case,
    customer: &Customer,
) -> Result<ConversationPanel, AppError> {
    let reference = case_ref(case.id);
    let lang = verify::customer_lang(customer);
    let messages = messages::of_case(conn, case.id)?
        .into_iter()
        .map(|(m, author, files)| MessageView {
            out: m.direction() == Direction::Out,
            channel: channel_key(m.channel()),
            author,
            at: m.created_at,
            body: masking::numbers_in(&m.body),
            template: m.template.clone(),
            files: files
                .into_iter()
                .map(|f| FileView {
                    href: format!("/cases/{reference}/attachments/{}", f.id),
                    name: f.file_name,
                    size: size_label(f.size),
                })
                .collect(),
        })
        .collect();
    let refusal = if case.resolved_at.is_some() {
        Some(tkey("conversations.refused.resolved"))
    } else {
        verify::contact_refusal(conn, case, customer)?
    };
    Ok(ConversationPanel {
        messages,
        may_write: may_write(user, case),
        refusal,
        templates: conv::reply_templates(conn, case, lang)?,
        lang: lang.native_name(),
        to: customer
            .email
            .as_deref()
            .map(masking::email)
            .unwrap_or_default(),
    })
}

/// The compose form again, with what was typed and what was wrong.
#[derive(Template)]
#[template(path = "conversations/compose.html")]
struct ComposePage {
    page: Page,
    reference: String,
    error: String,
    channel: String,
    template: String,
    body: String,
    wait: bool,
    templates: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct ComposeForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    wait: Option<String>,
}

/// `POST /cases/{case_ref}/messages`: the case's agent (or a supervisor or admin)
/// writes to the customer by e-mail or as a secure message.
pub async fn send(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    // Read here, not by the form extractor: a long message in Chinese is larger
    // than its default limit.
    let form: ComposeForm = serde_urlencoded::from_bytes(&body)
        .map_err(|_| AppError::BadRequest("the form cannot be read".into()))?;
    let channel = Channel::parse(form.channel.trim());
    let compose = channel.map(|channel| Compose {
        channel,
        body: form.body.clone(),
        template: Some(form.template.clone()).filter(|t| !t.trim().is_empty()),
        wait: form.wait.is_some(),
    });
    let now = state.now();
    let (u, st) = (user.clone(), state.clone());
    let lang = page.tr;
    let outcome = db(&state, move |conn| {
        let case = visible_case(conn, &u, &reference)?;
        if !may_write(&u, &case) {
            return Err(AppError::Forbidden);
        }
        let customer = crate::store::cases::customer(conn, case.customer_id)?;
        let templates = conv::reply_templates(conn, &case, verify::customer_lang(&customer))?;
        let Some(compose) = compose else {
            return Ok((
                case.id,
                templates,
                Err((
                    StatusCode::BAD_REQUEST,
                    lang.t(tkey("conversations.refused.channel")).to_string(),
                )),
            ));
        };
        let key = ReplyKey::derive(&st.secret_key);
        let sender = Sender {
            user: u.user.id,
            role: u.role,
        };
        let result =
            match conv::send_message(conn, &st.settings, &key, now, sender, case.id, &compose) {
                Ok(_) => Ok(()),
                Err(SendError::Invalid(p)) => Err((StatusCode::BAD_REQUEST, p.text(&lang))),
                Err(SendError::Case(CaseError::NotFound)) => return Err(AppError::NotFound),
                Err(SendError::Case(CaseError::Forbidden)) => return Err(AppError::Forbidden),
                Err(SendError::Case(CaseError::Db(e))) => return Err(e.into()),
                Err(SendError::Case(other)) => Err((
                    StatusCode::CONFLICT,
                    lang.t(other.key().unwrap_or("lifecycle.conflict"))
                        .to_string(),
                )),
            };
        Ok((case.id, templates, result))
    })
    .await?;
    let (case_id, templates, result) = outcome;
    let reference = case_ref(case_id);
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &format!("/cases/{reference}#conversation"),
            FlashKind::Success,
            "conversations.flash.sent",
        )),
        Err((status, error)) => page.render_status(
            status,
            &ComposePage {
                reference,
                error,
                channel: form.channel,
                template: form.template,
                body: form.body,
                wait: form.wait.is_some(),
                templates,
                page: page.clone(),
            },
        ),
    }
}

/// `GET /cases/{case_ref}/attachments/{id}`: a file the customer sent, to whoever
/// may see the case; always downloaded (`Content-Disposition: attachment`), never
/// shown in the desk's pages.
pub async fn attachment(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (reference, id) = path.into_inner();
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let (info, bytes) = db(&state, move |conn| {
        let case = visible_case(conn, &user, &reference)?;
        messages::attachment(conn, case.id, id)?.ok_or(AppError::NotFound)
    })
    .await?;
    let content_type = match info.content_type.as_str() {
        t @ ("image/png" | "image/jpeg" | "application/pdf") => t,
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, disposition(&info.file_name)))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("content-security-policy", "default-src 'none'; sandbox"))
        .body(bytes))
}

/// `attachment; filename="…"` with an ASCII fallback and the UTF-8 name (RFC 6266).
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The customer's secure-message page.
#[derive(Template)]
#[template(path = "customer/messages.html")]
struct MessagesPage {
    tr: Tr,
    csrf: String,
    action: String,
    thread: Thread,
    error: Option<String>,
    sent: bool,
    message: String,
    limits: String,
    /// The security tips of the case's rule, in the customer's language.
    tips: Vec<String>,
}

impl MessagesPage {
    /// A stored time in the customer's zone.
    fn time(&self, t: &NaiveDateTime) -> String {
        t.and_utc()
            .with_timezone(&self.thread.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

fn limits(tr: &Tr) -> String {
    tr.tf(
        "conversations.portal.limits",
        &[
            ("files", &MAX_FILES.to_string()),
            ("size", &(MAX_FILE_BYTES / (1024 * 1024)).to_string()),
            ("total", &(MAX_TOTAL_BYTES / (1024 * 1024)).to_string()),
        ],
    )
}

#[derive(Deserialize)]
pub struct SentQuery {
    sent: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_thread(
    state: &AppState,
    csrf: String,
    token: &str,
    case_id: i64,
    status: StatusCode,
    error: Option<String>,
    message: String,
    sent: bool,
) -> Result<HttpResponse, AppError> {
    let (thread, tips) = db(state, move |conn| {
        let thread = conv::thread(conn, case_id)?;
        let tips = crate::mail::tips::for_case(conn, case_id, thread.lang)?;
        Ok((thread, tips))
    })
    .await?;
    let tr = Tr::new(thread.lang);
    html(
        status,
        &MessagesPage {
            limits: limits(&tr),
            tr,
            csrf,
            action: format!("/m/{token}"),
            thread,
            error,
            sent,
            message,
            tips,
        },
    )
}

/// `GET /m/{token}`: the conversation, in the customer's language; opening it
/// changes nothing.
pub async fn portal_page(
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    query: web::Query<SentQuery>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    match look_up(&state, conv::MESSAGE_LINK, token.clone(), page.tr.lang).await? {
        Err((lang, e)) => unusable(lang, e),
        Ok((link, _)) => {
            render_thread(
                &state,
                page.csrf.clone(),
                &token,
                link.case_id,
                StatusCode::OK,
                None,
                String::new(),
                query.sent.is_some(),
            )
            .await
        }
    }
}

/// What the customer's form holds: the text and the files chosen.
fn read_form(req: &HttpRequest, body: &[u8]) -> Result<(String, Vec<Upload>), &'static str> {
    if super::middleware::is_multipart(req) {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let boundary =
            multipart::boundary(content_type).ok_or(tkey("conversations.portal.bad_form"))?;
        let parts = multipart::parse(body, &boundary, MAX_FILES + 8).map_err(|e| match e {
            multipart::MultipartError::TooManyParts => tkey("conversations.file.too_many"),
            _ => tkey("conversations.portal.bad_form"),
        })?;
        let mut message = String::new();
        let mut files = Vec::new();
        for p in parts {
            match (p.name.as_str(), &p.filename) {
                ("message", None) => message = p.text(),
                ("files", Some(name)) if !(name.is_empty() && p.data.is_empty()) => {
                    files.push(Upload {
                        name: name.clone(),
                        bytes: p.data,
                    })
                }
                _ => {}
            }
        }
        Ok((message, files))
    } else {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| tkey("conversations.portal.bad_form"))?;
        let message = fields
            .into_iter()
            .find(|(k, _)| k == "message")
            .map(|(_, v)| v)
            .unwrap_or_default();
        Ok((message, Vec::new()))
    }
}

/// A refusal of the customer's files in their words.
fn file_problem(tr: &Tr, p: &FileProblem) -> String {
    tr.tf(
        p.key(),
        &[
            ("name", p.name()),
            ("files", &MAX_FILES.to_string()),
            ("size", &(MAX_FILE_BYTES / (1024 * 1024)).to_string()),
            ("total", &(MAX_TOTAL_BYTES / (1024 * 1024)).to_string()),
        ],
    )
}

/// `POST /m/{token}`: the customer's message (`message`, and up to three `files`:
/// PNG, JPEG or PDF by their bytes) on the case's timeline.
pub async fn portal_reply(
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let (link, lang) =
        match look_up(&state, conv::MESSAGE_LINK, token.clone(), page.tr.lang).await? {
            Err((lang, e)) => return unusable(lang, e),
            Ok(found) => found,
        };
    let tr = Tr::new(lang);
    let body = match payload
        .to_bytes_limited(super::middleware::MULTIPART_LIMIT)
        .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(AppError::BadRequest(e.to_string())),
        Err(_) => {
            return render_thread(
                &state,
                page.csrf.clone(),
                &token,
                link.case_id,
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(tr.tf(
                    tkey("conversations.file.total_too_large"),
                    &[("total", &(MAX_TOTAL_BYTES / (1024 * 1024)).to_string())],
                )),
                String::new(),
                false,
            )
            .await;
        }
    };
    let (message, files) = match read_form(&req, &body) {
        Ok(f) => f,
        Err(key) => {
            return render_thread(
                &state,
                page.csrf.clone(),
                &token,
                link.case_id,
                StatusCode::BAD_REQUEST,
                Some(tr.t(key).to_string()),
                String::new(),
                false,
            )
            .await;
        }
    };
    let text = message.trim().to_string();
    let problem = if text.chars().count() > MAX_BODY {
        Some(tr.tf(
            tkey("conversations.refused.customer_too_long"),
            &[("max", &MAX_BODY.to_string())],
        ))
    } else if text.is_empty() && files.is_empty() {
        Some(tr.t(tkey("conversations.portal.empty")).to_string())
    } else {
        None
    };
    let checked = match problem {
        Some(p) => Err(p),
        None => check_files(files).map_err(|p| file_problem(&tr, &p)),
    };
    let attachments = match checked {
        Ok(a) => a,
        Err(error) => {
            return render_thread(
                &state,
                page.csrf.clone(),
                &token,
                link.case_id,
                StatusCode::BAD_REQUEST,
                Some(error),
                message,
                false,
            )
            .await;
        }
    };
    let now = state.now();
    let secret = token.clone();
    let done = db(&state, move |conn| {
        match conv::reply_on_page(conn, now, &secret, &text, attachments) {
            Ok(_) => Ok(Ok(())),
            Err(LinkError::Db(e)) => Err(e.into()),
            Err(e) => Ok(Err(e)),
        }
    })
    .await?;
    match done {
        Ok(()) => Ok(super::see_other(&format!("/m/{token}?sent=1"))),
        Err(LinkError::Refused(key)) => {
            render_thread(
                &state,
                page.csrf.clone(),
                &token,
                link.case_id,
                StatusCode::CONFLICT,
                Some(tr.t(key).to_string()),
                message,
                false,
            )
            .await
        }
        Err(e) => unusable(lang, e),
    }
}
