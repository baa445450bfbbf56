// The OpenAPI 3 description of the JSON API, built from the handlers' annotations
// and the answer types themselves, served at GET /api/openapi.json.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::key::KeyScopes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "riskdesk API",
        description = "Alerts in from the risk engine; cases and their outcomes back out. \
Errors are application/problem+json.",
    ),
    paths(
        super::alerts::post_alert,
        super::alerts::post_batch,
        super::cases::list,
        super::cases::get,
        super::cases::events,
        super::labels::list,
        super::snoozes::list,
        super::calendars::preview,
        super::webhooks::list,
        super::webhooks::create,
        super::webhooks::disable,
        super::webhooks::enable,
        super::webhooks::rotate,
        super::webhooks::delete,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerKey, &KeyScopes),
    tags(
        (name = "alerts", description = "Rule hits from the risk engine"),
        (name = "cases", description = "Cases and their timelines"),
        (name = "calendars", description = "Business-calendar arithmetic"),
        (name = "webhooks", description = "Receivers of the desk's events (scope webhooks:manage)"),
    )
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `riskdesk apikey create` or the admin pages",
                    ))
                    .build(),
            ),
        );
    }
}

/// The description as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
