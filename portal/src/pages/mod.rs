//! The portal's HTML pages, server-rendered with maud (templates checked at
//! compile time, every value escaped). Hungarian throughout; the paths are
//! the contract for links and tests (README, "The portal").

pub mod admin;
pub mod assets;
pub mod doc;
pub mod home;
pub mod indicators;
pub mod labels;
pub mod layout;
pub mod login;
pub mod member;
pub mod network;
pub mod register;
pub mod search;

use axum::http::StatusCode;
use axum::response::IntoResponse;

/// Any other path.
pub async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        layout::error_page("Nem található", "Ez az oldal nem létezik."),
    )
}
