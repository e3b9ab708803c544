//! `/login` and `/logout`: local accounts (Argon2id hashes in the accounts
//! file), a signed, expiring session cookie, CSRF tokens on both forms,
//! failed attempts throttled per account and per address, and every
//! attempt logged (target `tudashalo_portal::login`: account, address,
//! outcome; never the password).

use std::time::Instant;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::{PortalState, Viewer, now_unix};
use crate::error::PortalError;
use crate::pages::layout::{self, Nav};
use crate::session::{Session, new_nonce};

/// The form as posted.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    pub csrf: String,
}

fn render_form(
    state: &PortalState,
    viewer: &Viewer,
    token: &str,
    error: Option<&str>,
    user: &str,
) -> Markup {
    let body = html! {
        h1 { "Belépés" }
        div class="login" {
            @if let Some(error) = error { p class="error" role="alert" id="login-error" { (error) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                label for="user" { "Felhasználónév" }
                input id="user" name="user" type="text" autocomplete="username" required value=(user) maxlength="64";
                label for="password" { "Jelszó" }
                input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024";
                button type="submit" { "Belépés" }
            }
            p class="meta" { "Fiókot a portált üzemeltető szerver gazdája hoz létre (" code { "portal user add" } ")." }
        }
    };
    layout::page(state, viewer, "Belépés", Nav::Login, body)
}

/// `GET /login`: the form, with a nonce cookie for its CSRF token if the
/// visitor has none yet.
pub async fn form_page(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<Response, PortalError> {
    let key = state
        .key()
        .ok_or_else(|| PortalError::NotFound("this portal has no accounts".into()))?;
    state
        .accounts()
        .ok_or_else(|| PortalError::NotFound("this portal has no accounts".into()))?;
    if viewer.session.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let (nonce, cookie) = match &viewer.nonce {
        Some(n) => (n.clone(), None),
        None => {
            let n = new_nonce();
            let value = key.seal_nonce(&n);
            (
                n,
                Some(state.cookie(state.cookies().nonce, &value, 24 * 3600)),
            )
        }
    };
    let token = key.csrf_token(&nonce);
    let mut response = render_form(&state, &viewer, &token, None, "").into_response();
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Refuses a POST whose `Origin` (or `Sec-Fetch-Site`) says it came from
/// another site: SameSite=Strict cookies and CSRF tokens already stop
/// that; this says so clearly and early.
pub fn same_origin(headers: &HeaderMap) -> Result<(), PortalError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(PortalError::Csrf);
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if origin != "null" && origin_host != host {
            return Err(PortalError::Csrf);
        }
    }
    Ok(())
}

/// Hands a login attempt to the backend's audit log, off the async
/// workers (a node's log append is a synced write).
async fn audit(state: &PortalState, user: &str, address: &std::net::IpAddr, outcome: &'static str) {
    let principal = state
        .accounts()
        .and_then(|a| a.get(user))
        .map(|a| a.principal);
    let (state, user, address) = (state.clone(), user.to_string(), address.to_string());
    let _ = tokio::task::spawn_blocking(move || {
        state
            .backend()
            .audit_login(&user, principal.as_ref(), &address, outcome);
    })
    .await;
}

/// `POST /login`.
pub async fn submit(
    State(state): State<PortalState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(input): Form<LoginForm>,
) -> Result<Response, PortalError> {
    same_origin(&headers)?;
    let (Some(key), Some(accounts)) = (state.key(), state.accounts()) else {
        return Err(PortalError::NotFound("this portal has no accounts".into()));
    };
    viewer.check_csrf(&state, &input.csrf)?;
    let address = viewer
        .address
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let user = input.user.trim().to_string();
    // Counted as a failure from now on, unless the password is right: a
    // burst of parallel guesses cannot all pass the check first.
    let attempt = match state.limiter().begin(&user, address, Instant::now()) {
        Ok(attempt) => attempt,
        Err(refusal) => {
            tracing::warn!(target: "tudashalo_portal::login", user = %user, %address, outcome = "throttled", reason = refusal.reason, "login refused");
            audit(&state, &user, &address, "throttled").await;
            return Err(PortalError::TooManyAttempts {
                reason: refusal.reason.to_string(),
                retry_after: refusal.retry_after.as_secs().max(1),
            });
        }
    };
    // Argon2id takes tens of milliseconds of CPU: off the async workers.
    let verified = {
        let (accounts, user, password) = (accounts.clone(), user.clone(), input.password);
        tokio::task::spawn_blocking(move || accounts.verify(&user, &password))
            .await
            .map_err(|e| PortalError::Internal(format!("password check: {e}")))?
    };
    let Some(account) = verified else {
        drop(attempt);
        tracing::warn!(target: "tudashalo_portal::login", user = %user, %address, outcome = "failed", "login failed");
        audit(&state, &user, &address, "failed").await;
        let token = viewer.csrf(&state).unwrap_or_default();
        let page = render_form(
            &state,
            &viewer,
            &token,
            Some("Hibás felhasználónév vagy jelszó."),
            &user,
        );
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    attempt.succeeded();
    tracing::info!(target: "tudashalo_portal::login", user = %account.name, principal = %account.principal, %address, outcome = "ok", "logged in");
    audit(&state, &user, &address, "ok").await;
    let session = Session::issue(&account, state.config().session, now_unix());
    let cookie = state.cookie(
        state.cookies().session,
        &key.seal(&session),
        state.config().session.as_secs(),
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<PortalState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(input): Form<LogoutForm>,
) -> Result<Response, PortalError> {
    same_origin(&headers)?;
    viewer.check_csrf(&state, &input.csrf)?;
    if let Some(user) = viewer.user() {
        tracing::info!(target: "tudashalo_portal::login", user = %user, outcome = "logout", "logged out");
    }
    let mut response = Redirect::to("/").into_response();
    let cookie = state.cookie(state.cookies().session, "", 0);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
