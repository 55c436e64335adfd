//! `GET /docs`: the OpenAPI document, generated from the request / response types and the
//! handlers' annotations (utoipa), so it cannot drift from what the server does. Describes;
//! never serves a route itself.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "triage", description = "Support-ticket prioritisation: model predictions merged with policy rules into a priority, SLA due times and a queue, with explanations."),
    paths(
        super::classify::classify,
        super::classify::classify_batch,
        super::review::list,
        super::review::get,
        super::review::feedback,
        super::events::record,
        super::queues::list,
        super::queues::next,
        super::reports::get,
        super::review::labels,
        super::healthz,
        super::readyz,
        super::metrics,
        openapi,
        super::review_page::index,
        super::review_page::reports_index,
        super::admin::reload
    ),
    modifiers(&BearerKeys),
    tags(
        (name = "classify", description = "Role `classify`"),
        (name = "review", description = "Role `review`: the decision log and corrections"),
        (name = "operations", description = "Health, readiness, reload (role `admin`)")
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
