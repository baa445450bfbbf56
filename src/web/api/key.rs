// The API key a request to the JSON API is made with, as the first argument of each
// handler: `ApiKey<S>` admits a genuine, working key that holds the scope `S` and is
// within its rate limit, and refuses anything else before the handler runs.
//
// A missing or unknown key is 401; a revoked or expired one, 401 saying so; a key
// over its rate limit, 429 with `Retry-After`; a key without the scope, 403 naming
// it. The route table (`web::ROUTES`) names each API route's scope, and a handler
// whose `ApiKey<S>` is not that scope does not compile (`access.rs`). The OpenAPI
// document gets each operation's scope from the same table (`KeyScopes`).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use utoipa::openapi::path::Operation;
use utoipa::openapi::{
    Content, HeaderBuilder, ObjectBuilder, Ref, Response, SecurityRequirement, Type,
};

use super::ApiError;
use crate::apikeys::{Admission, Chores, KeyRef, Origin, Refusal, RequestLine};
use crate::domain::apikey::{Scope, retry_after_secs};
use crate::domain::tokens;
use crate::state::AppState;
use crate::store::apikeys::{self, ApiKey as StoredKey};
use crate::web::access::Access;
use crate::web::page::RequestCtx;

/// A scope as a type, for [`ApiKey`]: one unit type per [`Scope`], in [`scope`].
pub trait RequiredScope: 'static {
    const SCOPE: Scope;
}

/// The scopes as types, named as the route table names them.
pub mod scope {
    use super::{RequiredScope, Scope};

    macro_rules! scopes {
        ($($name:ident),*) => {$(
            #[doc = concat!("The scope `", stringify!($name), "` as a type.")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl RequiredScope for $name {
                const SCOPE: Scope = Scope::$name;
            }
        )*};
    }
    scopes!(AlertsWrite, CasesRead, LabelsRead, WebhooksManage);
}

/// A request with a working API key that holds the scope `S`. `.0` is the key's id.
#[derive(Debug, Clone)]
pub struct ApiKey<S: RequiredScope>(pub i64, Caller, PhantomData<S>);

/// Who made a request: the key, and the address it came from.
#[derive(Debug, Clone)]
struct Caller {
    key: KeyRef,
    actor: crate::accounts::Actor,
}

impl<S: RequiredScope> ApiKey<S> {
    /// The key as audit events name it.
    pub fn key(&self) -> &KeyRef {
        &self.1.key
    }

    /// The origin of a change made with this key: no user, the request's address,
    /// and the key named in the audit event's detail.
    pub fn origin(&self) -> Origin<'_> {
        Origin {
            actor: &self.1.actor,
            api_key: Some(&self.1.key),
        }
    }
}

/// What the extractor reads of a request before it goes async.
struct Presented {
    state: Option<web::Data<AppState>>,
    bearer: Option<String>,
    ip: Option<String>,
    /// The request itself (a shared handle), for the audit events' method and route.
    req: HttpRequest,
}

impl Presented {
    fn of(req: &HttpRequest) -> Presented {
        Presented {
            state: req.app_data::<web::Data<AppState>>().cloned(),
            bearer: req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|v| v.trim().to_string()),
            ip: RequestCtx::of(req).ip,
            req: req.clone(),
        }
    }
}

impl<S: RequiredScope> FromRequest for ApiKey<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let p = Presented::of(req);
        Box::pin(async move {
            let state = p
                .state
                .ok_or_else(|| ApiError::Internal("no state".into()))?;
            let key = genuine(&state, p.bearer).await?;
            let now = state.now();
            let gate = &state.key_gate;
            let refused = |refusal: Refusal| -> Chores {
                Chores {
                    last_use: false,
                    events: gate.refuse(&key, refusal, now).into_iter().collect(),
                }
            };
            let (chores, outcome) = if key.revoked_at.is_some() {
                (
                    refused(Refusal::Revoked),
                    Err(ApiError::KeyRefused(
                        "This API key was revoked; ask an admin for a new one.".into(),
                    )),
                )
            } else if key.expired(now) {
                let at = key.expires_at().map(|t| t.to_rfc3339()).unwrap_or_default();
                (
                    refused(Refusal::Expired),
                    Err(ApiError::KeyRefused(format!(
                        "This API key expired at {at}; ask an admin for a new one."
                    ))),
                )
            } else {
                match gate.admit(&key, now) {
                    Admission::Limited { wait, chores } => {
                        let secs = retry_after_secs(wait);
                        let limited = ApiError::TooManyRequests {
                            detail: format!(
                                "This key is over its rate limit of {} requests a minute; retry after {secs} s.",
                                key.rate_limit()
                            ),
                            retry_after_secs: secs,
                        };
                        (chores, Err(limited))
                    }
                    Admission::Admitted(chores) if key.scopes().contains(S::SCOPE) => {
                        (chores, Ok(()))
                    }
                    Admission::Admitted(mut chores) => {
                        chores
                            .events
                            .extend(gate.refuse(&key, Refusal::Scope(S::SCOPE), now));
                        let detail = format!(
                            "Not allowed: this key lacks the scope {}{}.",
                            S::SCOPE,
                            match key.scopes().to_stored() {
                                s if s.is_empty() => " (it has none)".to_string(),
                                s => format!(" (it has {})", s.replace(',', ", ")),
                            }
                        );
                        (chores, Err(ApiError::Forbidden(detail)))
                    }
                }
            };
            write_chores(&state, &key, &p.ip, &p.req, chores, now).await;
            outcome?;
            Ok(ApiKey(
                key.id,
                Caller {
                    key: KeyRef {
                        id: key.id,
                        name: key.name,
                        prefix: key.prefix,
                    },
                    actor: crate::accounts::Actor {
                        ip: p.ip,
                        ..Default::default()
                    },
                },
                PhantomData,
            ))
        })
    }
}

/// The stored key whose whole key was presented (revoked and expired ones too), or
/// 401.
async fn genuine(state: &AppState, bearer: Option<String>) -> Result<StoredKey, ApiError> {
    let presented = bearer.ok_or(ApiError::Unauthorized)?;
    let prefix = tokens::api_key_prefix(&presented)
        .ok_or(ApiError::Unauthorized)?
        .to_string();
    let digest = tokens::digest(&presented);
    let now = state.now();
    let found = match state.key_cache.get(&prefix, now) {
        Some(key) => Some(key),
        None => {
            let cache = state.key_cache.clone();
            crate::web::db(state, move |conn| {
                let found = apikeys::find_by_prefix(conn, &prefix)?;
                if let Some(key) = &found {
                    cache.put(prefix, key.clone(), now);
                }
                Ok(found)
            })
            .await
            .map_err(ApiError::from)?
        }
    };
    match found {
        Some(k) if tokens::secrets_equal(&k.key_hash, &digest) => Ok(k),
        _ => Err(ApiError::Unauthorized),
    }
}

/// Writes what the request owes: audit events before the answer (they are rare, and
/// a refusal is on the record when the client reads it); the last use alone on the
/// side, as it does not matter to the answer.
async fn write_chores(
    state: &AppState,
    key: &StoredKey,
    ip: &Option<String>,
    req: &HttpRequest,
    chores: Chores,
    now: chrono::DateTime<chrono::Utc>,
) {
    if chores.is_empty() {
        return;
    }
    let pool = state.pool.clone();
    let (key, ip) = (key.clone(), ip.clone());
    let line = RequestLine {
        method: req.method().to_string(),
        route: req
            .match_pattern()
            .unwrap_or_else(|| req.path().to_string()),
    };
    let recording = !chores.events.is_empty();
    let write = move || {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        crate::apikeys::write_chores(&mut conn, now, &key, ip, &line, &chores)
            .map_err(|e| e.to_string())
    };
    let failed = |e: String| tracing::warn!(error = %e, "an API key's use was not written");
    if recording {
        match web::block(write).await {
            Ok(Err(e)) => failed(e),
            Err(e) => failed(e.to_string()),
            Ok(Ok(())) => {}
        }
    } else {
        actix_web::rt::spawn(async move {
            if let Ok(Err(e)) = web::block(write).await {
                failed(e);
            }
        });
    }
}

/// The scope an operation of the OpenAPI document needs, from the route table: its
/// security requirement names the scope (OpenAPI 3.1 allows role names for bearer
/// schemes), its description says so, and it documents the 401, 403 and 429 answers
/// every key-guarded route may give.
pub struct KeyScopes;

impl utoipa::Modify for KeyScopes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for route in crate::web::ROUTES {
            let Access::ApiKey(scope) = route.access else {
                continue;
            };
            let Some(item) = openapi.paths.paths.get_mut(route.path) else {
                continue;
            };
            let op = match route.method.as_str() {
                "GET" => item.get.as_mut(),
                "POST" => item.post.as_mut(),
                "PUT" => item.put.as_mut(),
                "PATCH" => item.patch.as_mut(),
                "DELETE" => item.delete.as_mut(),
                _ => None,
            };
            if let Some(op) = op {
                describe(op, scope);
            }
        }
    }
}

fn describe(op: &mut Operation, scope: Scope) {
    op.security = Some(vec![SecurityRequirement::new("api_key", [scope.as_str()])]);
    let needs = format!("Needs an API key with the scope `{scope}`.");
    op.description = Some(match op.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{needs}"),
        _ => needs,
    });
    let problem = |words: &str| {
        utoipa::openapi::ResponseBuilder::new()
            .description(words)
            .content(
                "application/problem+json",
                Content::new(Some(Ref::from_schema_name("Problem"))),
            )
    };
    let retry_after = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
        .description(Some("Seconds to wait before the next request"))
        .build();
    let answers: [(&str, Response); 3] = [
        (
            "401",
            problem("Missing or unknown API key, or one that was revoked or has expired").build(),
        ),
        (
            "403",
            problem(&format!("The key lacks the scope `{scope}`")).build(),
        ),
        (
            "429",
            problem(
                "The key is over its rate limit; `Retry-After` says in how many seconds to retry",
            )
            .header("Retry-After", retry_after)
            .build(),
        ),
    ];
    for (status, answer) in answers {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| answer.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_types_are_the_scopes() {
        assert_eq!(
            <scope::AlertsWrite as RequiredScope>::SCOPE,
            Scope::AlertsWrite
        );
        assert_eq!(<scope::CasesRead as RequiredScope>::SCOPE, Scope::CasesRead);
        assert_eq!(
            <scope::LabelsRead as RequiredScope>::SCOPE,
            Scope::LabelsRead
        );
        assert_eq!(
            <scope::WebhooksManage as RequiredScope>::SCOPE,
            Scope::WebhooksManage
        );
    }
}
