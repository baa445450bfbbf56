// Revealing one of a customer's masked fields on the case page: a required reason,
// an audit event and a timeline event (neither holds the value), and the value shown
// in this one response only.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::page::{FlashKind, redirect_with_flash};
use super::scope::visible_case;
use super::{CurrentUser, Page, db};
use crate::db::write_tx;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::cases::{self as case_store, case_ref};
use crate::store::{self};

/// The longest reason kept, in characters.
const MAX_REASON: usize = 500;

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    field: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "cases/reveal.html")]
struct RevealPage {
    page: Page,
    reference: String,
    field_label: String,
    /// What was revealed: one value, or labelled values (each alert's).
    values: Vec<(String, String)>,
    reason: String,
}

/// `POST /cases/{ref}/reveal`: shows one unmasked field, with a reason on record.
pub async fn reveal(
    user: CurrentUser,
    state: web::Data<AppState>,
    page: Page,
    path: web::Path<String>,
    form: web::Form<RevealForm>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let back = format!("/cases/{reference}");
    let form = form.into_inner();
    let field = form.field.trim().to_string();
    let reason = form.reason.trim().to_string();
    let now = state.now();
    let u = user.clone();
    let r = reference.clone();
    let (f, why, st) = (field.clone(), reason.clone(), state.clone());
    // Access first: a case the user may not see is "not found" whatever the input.
    let found = db(&state, move |conn| {
        let case = visible_case(conn, &u, &r)?;
        if !matches!(
            f.as_str(),
            "name" | "email" | "phone" | "transactions" | "attributes"
        ) {
            return Ok(Err("flash.reveal_unknown_field"));
        }
        if why.is_empty() {
            return Ok(Err("flash.reveal_reason_required"));
        }
        if why.chars().count() > MAX_REASON {
            return Ok(Err("flash.reveal_reason_too_long"));
        }
        let values: Vec<(String, String)> = match f.as_str() {
            "transactions" | "attributes" => {
                let public = st.desk.get(conn)?.public_attributes.clone();
                let mut out = Vec::new();
                for a in case_store::alerts_of(conn, case.id)? {
                    if f == "transactions" {
                        if let Some(t) = a.transaction_ref.filter(|t| !t.trim().is_empty()) {
                            out.push((a.external_id.clone(), t));
                        }
                        continue;
                    }
                    let attrs: std::collections::BTreeMap<String, serde_json::Value> =
                        serde_json::from_str(&a.attributes).unwrap_or_default();
                    for (k, v) in attrs {
                        if public.contains(&k) {
                            continue;
                        }
                        let text = match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        out.push((format!("{} · {k}", a.external_id), text));
                    }
                }
                out
            }
            _ => {
                let customer = case_store::customer(conn, case.customer_id)?;
                let value = match f.as_str() {
                    "name" => customer.name,
                    "email" => customer.email,
                    _ => customer.phone,
                };
                value
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| vec![(String::new(), v)])
                    .unwrap_or_default()
            }
        };
        if values.is_empty() {
            return Ok(Err("flash.reveal_nothing"));
        }
        let at = store::to_db(now);
        write_tx(conn, |c| {
            crate::accounts::record(
                c,
                now,
                &u.actor(),
                "pii.revealed",
                Some(&case_ref(case.id)),
                json!({"case": case_ref(case.id), "field": f, "reason": why}),
            )?;
            case_store::add_event(
                c,
                case.id,
                at,
                Some(u.user.id),
                &crate::domain::CaseEvent::PiiRevealed(crate::domain::events::PiiRevealed {
                    field: f.to_string(),
                    reason: why.to_string(),
                }),
            )
        })?;
        Ok(Ok((case.id, values)))
    })
    .await?;
    match found {
        Err(key) => Ok(redirect_with_flash(&back, FlashKind::Error, key)),
        Ok((id, values)) => {
            tracing::info!(case = %case_ref(id), field = %field, "personal data revealed");
            page.render(&RevealPage {
                reference: case_ref(id),
                field_label: super::casepage::field_label(&page.tr, &field),
                values,
                reason,
                page: page.clone(),
            })
        }
    }
}
