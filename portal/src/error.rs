//! The portal's one error, and the one place it becomes an HTTP answer: a
//! Hungarian error page for people, `{"error": …}` for the JSON API. The
//! message of a backend error is the node's or the hub's own (it names the
//! limit, the member, the missing permission); internal details stay in
//! the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::backend::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// Needs a login, or one with more rights.
    #[error("{0}")]
    Forbidden(String),
    /// A POST without a valid CSRF token (or from another site).
    #[error("the form has expired or did not come from this portal; reload the page and try again")]
    Csrf,
    /// Too many failed logins; `retry_after` in seconds.
    #[error("{reason}; try again in {retry_after} s")]
    TooManyAttempts { reason: String, retry_after: u64 },
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Internal(String),
}

impl PortalError {
    /// The HTTP status of each kind.
    pub fn status(&self) -> StatusCode {
        match self {
            PortalError::Backend(e) => match e {
                BackendError::Denied(_) => StatusCode::FORBIDDEN,
                BackendError::NotFound(_) => StatusCode::NOT_FOUND,
                BackendError::Invalid(_) => StatusCode::BAD_REQUEST,
                BackendError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                BackendError::Unsupported(_) => StatusCode::NOT_FOUND,
                BackendError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            PortalError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PortalError::NotFound(_) => StatusCode::NOT_FOUND,
            PortalError::Forbidden(_) => StatusCode::FORBIDDEN,
            PortalError::Csrf => StatusCode::FORBIDDEN,
            PortalError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            PortalError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            PortalError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The Hungarian heading of the error page.
    pub fn heading(&self) -> &'static str {
        match self.status() {
            StatusCode::FORBIDDEN => "Nincs jogosultság",
            StatusCode::NOT_FOUND => "Nem található",
            StatusCode::BAD_REQUEST => "Hibás kérés",
            StatusCode::BAD_GATEWAY => "A szövetség nem válaszolt",
            StatusCode::TOO_MANY_REQUESTS => "Túl sok próbálkozás",
            StatusCode::PAYLOAD_TOO_LARGE => "Túl nagy feltöltés",
            _ => "Belső hiba",
        }
    }

    /// The message shown: internal errors are logged, not shown.
    pub fn public_message(&self) -> String {
        match self {
            PortalError::Internal(_) | PortalError::Backend(BackendError::Internal(_)) => {
                "internal error in the portal; see the server's log".to_string()
            }
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if self.status().is_server_error() {
            tracing::warn!(error = %self, "portal request failed");
        }
    }

    fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            PortalError::TooManyAttempts { retry_after, .. } => {
                HeaderValue::from_str(&retry_after.to_string()).ok()
            }
            _ => None,
        }
    }
}

/// An error of an HTML page: rendered in the portal's layout.
impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        self.log();
        let page = crate::pages::layout::error_page(self.heading(), &self.public_message());
        let mut response = (self.status(), page).into_response();
        if let Some(retry) = self.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, retry);
        }
        response
    }
}

/// An error of the JSON API: `{"error": message, "status": code}`.
#[derive(Debug)]
pub struct ApiError(pub PortalError);

impl<E: Into<PortalError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let body = json!({"error": self.0.public_message(), "status": status.as_u16()});
        let mut response = (status, Json(body)).into_response();
        if let Some(retry) = self.0.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, retry);
        }
        response
    }
}
