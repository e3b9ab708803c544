//! The router, the state every handler shares, who the visitor is
//! ([`Viewer`]), and the headers every answer carries.
//!
//! [`router`] is the one function that builds the application; tests call
//! it with `tower::ServiceExt::oneshot`, and [`crate::serve`] serves it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tudashalo_proto::identity::Principal;

use crate::accounts::AccountsFile;
use crate::backend::Backend;
use crate::config::Portal;
use crate::error::PortalError;
use crate::ratelimit::LoginLimiter;
use crate::session::{Session, SessionKey};
use crate::{api, pages};

/// The Content-Security-Policy of every answer: nothing inline, nothing
/// from elsewhere.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The most time one page may take, uploads aside.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Clone)]
pub struct PortalState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PortalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalState")
            .field("listen", &self.inner.config.listen)
            .finish_non_exhaustive()
    }
}

struct Inner {
    backend: Arc<dyn Backend>,
    config: Portal,
    /// `None` when no accounts are configured: nobody logs in.
    accounts: Option<Arc<AccountsFile>>,
    key: Option<SessionKey>,
    limiter: LoginLimiter,
    cookies: CookieNames,
}

/// The cookies' names: with the `__Host-` prefix (which browsers accept
/// only with `Secure`, no `Domain` and `Path=/`) where cookies can be
/// secure, without it on a loopback HTTP portal.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session: &'static str,
    pub nonce: &'static str,
    pub secure: bool,
}

impl PortalState {
    /// The state of a portal over `backend`: loads the accounts and the
    /// cookie key the configuration names (errors name the file).
    pub fn new(backend: Arc<dyn Backend>, config: Portal) -> Result<PortalState, String> {
        let accounts = match &config.accounts {
            Some(path) => Some(Arc::new(
                AccountsFile::open(path).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        let key = match &config.session_key {
            Some(path) => Some(SessionKey::load(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let secure = config.secure_cookies();
        let cookies = if secure {
            CookieNames {
                session: "__Host-tudashalo-session",
                nonce: "__Host-tudashalo-nonce",
                secure,
            }
        } else {
            CookieNames {
                session: "tudashalo-session",
                nonce: "tudashalo-nonce",
                secure,
            }
        };
        Ok(PortalState {
            inner: Arc::new(Inner {
                backend,
                config,
                accounts,
                key,
                limiter: LoginLimiter::new(),
                cookies,
            }),
        })
    }

    pub fn backend(&self) -> &dyn Backend {
        self.inner.backend.as_ref()
    }

    /// The display name of the server the portal runs in.
    pub fn backend_title(&self) -> &str {
        self.inner.backend.title()
    }

    pub fn config(&self) -> &Portal {
        &self.inner.config
    }

    pub fn accounts(&self) -> Option<&Arc<AccountsFile>> {
        self.inner.accounts.as_ref()
    }

    pub fn key(&self) -> Option<&SessionKey> {
        self.inner.key.as_ref()
    }

    pub fn limiter(&self) -> &LoginLimiter {
        &self.inner.limiter
    }

    pub fn cookies(&self) -> &CookieNames {
        &self.inner.cookies
    }

    /// The deadline of one page's requests to the federation.
    pub fn timeout(&self) -> Duration {
        self.inner.config.timeout
    }

    /// A `Set-Cookie` value: `HttpOnly; SameSite=Strict; Path=/`, `Secure`
    /// where possible; `max_age` 0 deletes it.
    pub fn cookie(&self, name: &str, value: &str, max_age: u64) -> String {
        let secure = if self.inner.cookies.secure {
            "; Secure"
        } else {
            ""
        };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
    }
}

pub use crate::session::now_unix;

/// Who is asking: the principal the portal asks the federation as, the
/// session if logged in, and the nonce the page's forms are bound to.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub session: Option<Session>,
    /// The CSRF nonce: the session's, or the anonymous nonce cookie's
    /// (`None` until the visitor was given one, see [`pages::login`]).
    pub nonce: Option<String>,
    /// Whether the principal administers this server (uploads, audit).
    pub admin: bool,
    /// Logged in through the trusted front end's header, not a cookie.
    pub single_sign_on: bool,
    pub address: Option<IpAddr>,
}

impl Viewer {
    /// The account name, if logged in.
    pub fn user(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.user.as_str())
    }

    /// The CSRF token of this viewer's forms, if it has a nonce.
    pub fn csrf(&self, state: &PortalState) -> Option<String> {
        let (key, nonce) = (state.key()?, self.nonce.as_ref()?);
        Some(key.csrf_token(nonce))
    }

    /// Checks a form's CSRF token.
    pub fn check_csrf(&self, state: &PortalState, token: &str) -> Result<(), PortalError> {
        match (state.key(), &self.nonce) {
            (Some(key), Some(nonce)) if key.check_csrf(nonce, token) => Ok(()),
            _ => Err(PortalError::Csrf),
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<PortalState> for Viewer {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let mut session = None;
        let mut single_sign_on = false;
        if let (Some(key), Some(accounts)) = (state.key(), state.accounts()) {
            if let Some(value) = cookie_value(&parts.headers, state.cookies().session)
                && let Some(opened) = key.open(value, now_unix())
            {
                // A password change or a removed account ends the session.
                if accounts
                    .get(&opened.user)
                    .is_some_and(|a| opened.is_current(&a))
                {
                    session = Some(opened);
                }
            }
            if session.is_none()
                && let Some(s) = single_sign_on_session(parts, state, address)
            {
                session = Some(s);
                single_sign_on = true;
            }
        }
        let nonce = match &session {
            Some(s) => Some(s.nonce.clone()),
            None => state.key().and_then(|key| {
                cookie_value(&parts.headers, state.cookies().nonce).and_then(|v| key.open_nonce(v))
            }),
        };
        let principal = session
            .as_ref()
            .map_or_else(|| state.config().public.clone(), |s| s.principal.clone());
        let admin = state.backend().administers(&principal);
        Ok(Viewer {
            principal,
            session,
            nonce,
            admin,
            single_sign_on,
            address,
        })
    }
}

/// The single sign-on hook: a trusted front end names the account in the
/// configured header. Honoured only from the configured proxies' addresses;
/// from anyone else the header is ignored, and logged.
fn single_sign_on_session(
    parts: &Parts,
    state: &PortalState,
    address: Option<IpAddr>,
) -> Option<Session> {
    let header = state.config().trusted_user_header.as_ref()?;
    let value = parts.headers.get(header.as_str())?;
    let trusted = address.is_some_and(|a| state.config().trusted_proxies.contains(&a));
    if !trusted {
        tracing::warn!(
            header = %header,
            address = ?address,
            "single sign-on header from an address that is not a trusted proxy: ignored"
        );
        return None;
    }
    let name = value.to_str().ok()?;
    let account = state.accounts()?.get(name)?;
    Some(Session {
        user: account.name.clone(),
        principal: account.principal.clone(),
        fingerprint: account.fingerprint(),
        expires: now_unix() + 60,
        // Bound to the account, so that forms work within the front end's
        // own session; the front end is trusted with the login itself.
        nonce: format!("sso-{}", account.fingerprint()),
    })
}

/// Security headers on every answer; `no-store` on everything but the
/// content-hashed assets, which never change under their name.
async fn headers(request: Request, next: Next) -> Response {
    let asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A page that takes longer than [`PAGE_TIMEOUT`] is answered with an
/// error rather than held open (uploads have their own limit).
async fn page_timeout(request: Request, next: Next) -> Result<Response, PortalError> {
    let upload = request.uri().path().starts_with("/admin/upload");
    if upload {
        return Ok(next.run(request).await);
    }
    tokio::time::timeout(PAGE_TIMEOUT, next.run(request))
        .await
        .map_err(|_| {
            PortalError::Internal(format!(
                "the page took longer than {} s",
                PAGE_TIMEOUT.as_secs()
            ))
        })
}

/// The portal's application.
pub fn router(state: PortalState) -> Router {
    let upload_limit = usize::try_from(state.config().max_upload_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(pages::home::page))
        .route("/search", get(pages::search::page))
        .route("/doc/{member}/{*id}", get(pages::doc::page))
        .route("/original/{member}/{*id}", get(pages::doc::original))
        .route("/indicators", get(pages::indicators::catalogue))
        .route("/indicators/{code}", get(pages::indicators::page))
        .route(
            "/indicators/{code}/download",
            get(pages::indicators::download),
        )
        .route("/network", get(pages::network::page))
        .route("/members/{member}", get(pages::member::page))
        .route(
            "/login",
            get(pages::login::form_page).post(pages::login::submit),
        )
        .route("/logout", post(pages::login::logout))
        .route("/admin", get(pages::admin::page))
        .route(
            "/admin/upload",
            post(pages::admin::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/api/search", get(api::search))
        .route("/api/doc/{member}/{*id}", get(api::document))
        .route("/api/network", get(api::network))
        .route("/api/indicators", get(api::indicators))
        .route("/api/indicators/{code}/cells", get(api::cells))
        .route("/api/openapi.json", get(api::openapi))
        .route("/healthz", get(api::healthz))
        .route("/assets/{name}", get(pages::assets::asset))
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(middleware::from_fn(page_timeout))
        .layer(middleware::from_fn(headers))
        .with_state(state)
}

/// The state for a handler that only needs it (an alias for readability).
pub type AppState = State<PortalState>;
