//! Static assets, embedded in the binary and served under content-hashed
//! names (`/assets/portal-1a2b3c4d.css`), so that they can be cached for a
//! year and a new version is a new name. No script: every page works
//! without JavaScript.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../assets/portal.css");

/// The stylesheet's path, with the first 8 bytes of its SHA-256.
pub fn css_href() -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| {
        let digest = Sha256::digest(CSS.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("/assets/portal-{hex}.css")
    })
}

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    if format!("/assets/{name}") != css_href() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = CSS.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
