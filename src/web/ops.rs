// Operations endpoints: liveness, readiness (the database answers and is migrated)
// and Prometheus metrics.

use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::db;
use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ready = web::block(move || -> Result<bool, String> {
        let mut conn = pool
            .get_timeout(Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        db::is_migrated(&mut conn).map_err(|e| e.to_string())
    })
    .await;
    let (ok, why) = match ready {
        Ok(Ok(true)) => (true, "ready".to_string()),
        Ok(Ok(false)) => (false, "migrations pending".to_string()),
        Ok(Err(e)) => (false, format!("database unavailable: {e}")),
        Err(e) => (false, format!("check failed: {e}")),
    };
    let mut res = if ok {
        HttpResponse::Ok()
    } else {
        tracing::warn!(reason = %why, "not ready");
        HttpResponse::ServiceUnavailable()
    };
    res.content_type("text/plain; charset=utf-8")
        .body(format!("{why}\n"))
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut body = state.metrics.render(
        &state.pool.state(),
        state.pool.max_size(),
        state.settings.database.backend_name(),
    );
    let pool = state.pool.clone();
    let outbox = web::block(move || {
        let mut conn = pool.get_timeout(Duration::from_secs(2)).ok()?;
        let mail = crate::mail::outbox::counts(&mut conn).ok()?;
        let hooks = crate::store::webhooks::counts(&mut conn).ok()?;
        Some((mail, hooks))
    })
    .await
    .ok()
    .flatten();
    if let Some(((pending, sent, failed), (waiting, retrying, delivered))) = outbox {
        body.push_str(&format!(
            "# HELP riskdesk_webhook_deliveries Webhook deliveries by state (retrying: waiting after a failed attempt).\n\
             # TYPE riskdesk_webhook_deliveries gauge\n\
             riskdesk_webhook_deliveries{{state=\"waiting\"}} {waiting}\n\
             riskdesk_webhook_deliveries{{state=\"retrying\"}} {retrying}\n\
             riskdesk_webhook_deliveries{{state=\"delivered\"}} {delivered}\n"
        ));
        body.push_str(&format!(
            "# HELP riskdesk_outbox_messages Messages in the mail outbox by state.\n\
             # TYPE riskdesk_outbox_messages gauge\n\
             riskdesk_outbox_messages{{state=\"pending\"}} {pending}\n\
             riskdesk_outbox_messages{{state=\"sent\"}} {sent}\n\
             riskdesk_outbox_messages{{state=\"failed\"}} {failed}\n"
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
