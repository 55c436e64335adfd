//! The reviewer page at `GET /review` and the reports page at `GET /reports`: static shells
//! (HTML, one script each, one shared stylesheet) compiled into the binary, so the server
//! needs no asset directory and no node build step. The scripts read and write everything
//! through the review API (`/v1/decisions`, `/v1/labels`, `/v1/reports`) with the reviewer's
//! own key, so the pages themselves need no role: they hold no data, and serving them is the
//! same to every caller.
//!
//! Ticket text is untrusted. The script builds the page with `textContent` only, and every
//! response here carries a Content-Security-Policy that allows scripts and styles from this
//! origin alone (no inline `<script>`, no event-handler attributes, no `style=` attributes),
//! so markup smuggled into a ticket could not run even if escaping were ever missed.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The page's policy: everything from this origin only, no inline script or style, images
/// only from here or `data:`; no plugins, no `<base>` rewriting, no framing by other sites.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

pub const INDEX_HTML: &str = include_str!("review_page/index.html");
pub const REVIEW_JS: &str = include_str!("review_page/review.js");
pub const REVIEW_CSS: &str = include_str!("review_page/review.css");
pub const REPORTS_HTML: &str = include_str!("review_page/reports.html");
pub const REPORTS_JS: &str = include_str!("review_page/reports.js");

/// `body` with its content type and the headers every page asset carries. `no-cache` makes
/// the browser revalidate, so a new server version's page is picked up at once.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        body,
    )
        .into_response()
}

/// `GET /review`: the page shell.
#[utoipa::path(get, path = "/review", tag = "review",
    responses((status = 200, description = "The reviewer page (HTML); it asks for a key with the `review` role", body = String, content_type = "text/html")))]
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /review/review.js`
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", REVIEW_JS)
}

/// `GET /review/review.css`
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", REVIEW_CSS)
}

/// `GET /reports`: the reports page shell.
#[utoipa::path(get, path = "/reports", tag = "review",
    responses((status = 200, description = "The reports page (HTML); it asks for a key with the `review` role", body = String, content_type = "text/html")))]
pub async fn reports_index() -> Response {
    asset("text/html; charset=utf-8", REPORTS_HTML)
}

/// `GET /reports/reports.js`
pub async fn reports_script() -> Response {
    asset("text/javascript; charset=utf-8", REPORTS_JS)
}

/// The pages' routes, for `Router::merge`; unguarded (the pages hold no data).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/review", get(index))
        .route("/review/review.js", get(script))
        .route("/review/review.css", get(style))
        .route("/reports", get(reports_index))
        .route("/reports/reports.js", get(reports_script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_its_assets_from_files_not_inline() {
        assert!(INDEX_HTML.contains(r#"<script src="review/review.js" defer></script>"#));
        assert!(INDEX_HTML.contains(r#"<link rel="stylesheet" href="review/review.css">"#));
        assert!(REPORTS_HTML.contains(r#"<script src="reports/reports.js" defer></script>"#));
        // Under the CSP an inline script, handler or style attribute would be refused anyway;
        // keep the shells free of them so nothing silently stops working.
        for html in [INDEX_HTML, REPORTS_HTML] {
            let lower = html.to_ascii_lowercase();
            assert_eq!(lower.matches("<script").count(), 1);
            assert!(!lower.contains("<style"));
            assert!(!lower.contains(" style="));
            assert!(!lower.contains(" onclick=") && !lower.contains(" onload="));
        }
    }

    #[test]
    fn the_script_never_parses_data_as_html() {
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            assert!(!REVIEW_JS.contains(sink), "review.js uses {sink}");
            assert!(!REPORTS_JS.contains(sink), "reports.js uses {sink}");
        }
    }

    #[tokio::test]
    async fn assets_carry_type_cache_and_security_headers() {
        for (response, content_type) in [
            (index().await, "text/html; charset=utf-8"),
            (script().await, "text/javascript; charset=utf-8"),
            (style().await, "text/css; charset=utf-8"),
            (reports_index().await, "text/html; charset=utf-8"),
            (reports_script().await, "text/javascript; charset=utf-8"),
        ] {
            let headers = response.headers();
            assert_eq!(headers[CONTENT_TYPE], content_type);
            assert_eq!(headers[CACHE_CONTROL], "no-cache");
            let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(csp.starts_with("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"));
            assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
    }
}
