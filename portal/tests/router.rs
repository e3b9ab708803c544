//! The portal's router against a backend that answers from memory: what
//! the portal itself promises whatever its server — security headers,
//! sessions, CSRF, throttling, the single sign-on hook, who may upload,
//! bounds — checked with `tower::ServiceExt::oneshot`, no socket. The
//! federation behind the portal is tested for real in
//! `tests/tests/e2e/portal.rs`.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tudashalo_portal::accounts::Accounts;
use tudashalo_portal::backend::{
    AdminView, Aggregated, Backend, BackendError, FileOutcome, MemberView, Overview, Upload,
    UploadOptions,
};
use tudashalo_portal::config::PortalConfig;
use tudashalo_portal::session::SessionKey;
use tudashalo_portal::{PortalState, router};
use tudashalo_proto::identity::Principal;
use tudashalo_proto::pb;

const PASSWORD: &str = "egy-jo-hosszu-jelszo";

/// Answers what the public may see with one hit, an operator with two; it
/// counts uploads, and administers for `operator:edelenyi` only.
#[derive(Default)]
struct Memory {
    uploads: AtomicUsize,
}

#[async_trait]
impl Backend for Memory {
    fn name(&self) -> &str {
        "edelenyi"
    }
    fn title(&self) -> &str {
        "Edelényi kistérség"
    }
    fn role(&self) -> &'static str {
        "node"
    }
    async fn overview(&self, _viewer: &Principal, _timeout: Duration) -> Overview {
        Overview {
            name: "edelenyi".into(),
            display_name: "Edelényi kistérség".into(),
            role: "node".into(),
            members: vec![MemberView {
                path: "edelenyi".into(),
                display_name: "Edelényi kistérség".into(),
                state: "ok".into(),
                message: String::new(),
                info: None,
            }],
            indicators: Vec::new(),
        }
    }
    async fn search(
        &self,
        viewer: &Principal,
        request: pb::SearchRequest,
        _timeout: Duration,
    ) -> Result<pb::SearchResponse, BackendError> {
        let n = if viewer.to_string() == "public:portal" {
            1
        } else {
            2
        };
        Ok(pb::SearchResponse {
            hits: (0..n)
                .map(|i| pb::Hit {
                    id: format!("d{i}"),
                    title: format!("<b>{}</b>", request.query),
                    kind: "study".into(),
                    ..pb::Hit::default()
                })
                .collect(),
            total: n,
            ..pb::SearchResponse::default()
        })
    }
    async fn document(
        &self,
        _viewer: &Principal,
        _member: &str,
        id: &str,
        _timeout: Duration,
    ) -> Result<pb::GetDocumentResponse, BackendError> {
        Err(BackendError::NotFound(format!("no document {id}")))
    }
    async fn aggregate(
        &self,
        _viewer: &Principal,
        _request: pb::AggregateRequest,
        _max_cells: usize,
        _timeout: Duration,
    ) -> Result<Aggregated, BackendError> {
        Ok(Aggregated::default())
    }
    fn administers(&self, viewer: &Principal) -> bool {
        viewer.to_string() == "operator:edelenyi"
    }
    async fn admin(&self, _viewer: &Principal, _limit: usize) -> Result<AdminView, BackendError> {
        Ok(AdminView {
            visibility: vec![("public".into(), 1)],
            audit: Vec::new(),
            verified: Ok(0),
        })
    }
    async fn import(
        &self,
        _viewer: &Principal,
        files: Vec<Upload>,
        _options: UploadOptions,
    ) -> Result<Vec<FileOutcome>, BackendError> {
        self.uploads.fetch_add(1, Ordering::SeqCst);
        Ok(files
            .into_iter()
            .map(|f| FileOutcome {
                file: f.name,
                state: "imported".into(),
                message: "1 added".into(),
                rejections: Vec::new(),
            })
            .collect())
    }
}

struct Portal {
    app: axum::Router,
    backend: Arc<Memory>,
    dir: tempfile::TempDir,
}

fn portal(edit: impl FnOnce(&mut PortalConfig)) -> Portal {
    let dir = tempfile::tempdir().unwrap();
    let accounts_path = dir.path().join("accounts.toml");
    let key_path = dir.path().join("session.key");
    let mut accounts = Accounts::empty();
    accounts
        .add("kezelo", "operator:edelenyi".parse().unwrap(), PASSWORD)
        .unwrap();
    accounts
        .add("elemzo", "operator:analyst".parse().unwrap(), PASSWORD)
        .unwrap();
    accounts.save(&accounts_path).unwrap();
    SessionKey::generate(&key_path, false).unwrap();
    let mut config = PortalConfig {
        accounts: Some(accounts_path),
        session_key: Some(key_path),
        ..PortalConfig::plain("127.0.0.1:8080".parse().unwrap())
    };
    edit(&mut config);
    let checked = config.check(Path::new(".")).unwrap();
    let backend = Arc::new(Memory::default());
    let state = PortalState::new(backend.clone(), checked).unwrap();
    Portal {
        app: router(state),
        backend,
        dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap_or("").to_string())
    }
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let at = self.body.find(marker).expect("a csrf field") + marker.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

async fn call(app: &axum::Router, request: Request<Body>, from: &str) -> Answer {
    let mut request = request;
    request
        .extensions_mut()
        .insert(ConnectInfo(from.parse::<SocketAddr>().unwrap()));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut r = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.body(Body::from(form.to_string())).unwrap()
}

const CLIENT: &str = "127.0.0.1:50000";

/// Logs in and returns the session cookie.
async fn login(app: &axum::Router, user: &str) -> String {
    let form = call(app, get("/login", None), CLIENT).await;
    let nonce = form.cookie("tudashalo-nonce").expect("a nonce cookie");
    let token = form.csrf();
    let answer = call(
        app,
        post(
            "/login",
            Some(&nonce),
            &format!("user={user}&password={PASSWORD}&csrf={token}"),
        ),
        CLIENT,
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    answer
        .cookie("tudashalo-session")
        .expect("a session cookie")
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let p = portal(|_| {});
    for path in [
        "/",
        "/search?q=erd%C5%91",
        "/login",
        "/api/search?q=x",
        "/nincs-ilyen",
    ] {
        let a = call(&p.app, get(path, None), CLIENT).await;
        assert!(
            a.header("content-security-policy")
                .contains("default-src 'none'"),
            "{path}"
        );
        assert!(
            !a.header("content-security-policy")
                .contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(a.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(a.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(a.header("cache-control"), "no-store", "{path}");
    }
    // Every value is escaped: the query comes back as text.
    let a = call(&p.app, get("/search?q=%3Cscript%3E", None), CLIENT).await;
    assert!(!a.body.contains("<script>"), "{}", a.body);
    // The stylesheet is cached for a year under its hashed name.
    let home = call(&p.app, get("/", None), CLIENT).await;
    let at = home.body.find("/assets/portal-").unwrap();
    let href = home.body[at..].split('"').next().unwrap().to_string();
    let css = call(&p.app, get(&href, None), CLIENT).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("cache-control").contains("immutable"));
    assert_eq!(
        call(&p.app, get("/assets/portal-0000.css", None), CLIENT)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_session_sees_what_its_principal_may_and_ends_with_logout_or_a_new_password() {
    let p = portal(|_| {});
    let anonymous = call(&p.app, get("/api/search?q=x", None), CLIENT).await;
    assert!(anonymous.body.contains("\"total\":1"), "{}", anonymous.body);
    let session = login(&p.app, "elemzo").await;
    let analyst = call(&p.app, get("/api/search?q=x", Some(&session)), CLIENT).await;
    assert!(analyst.body.contains("\"total\":2"), "{}", analyst.body);

    // Logout needs the session's own CSRF token.
    let page = call(&p.app, get("/", Some(&session)), CLIENT).await;
    let token = page.csrf();
    let forged = call(&p.app, post("/logout", Some(&session), "csrf=AAAA"), CLIENT).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let out = call(
        &p.app,
        post("/logout", Some(&session), &format!("csrf={token}")),
        CLIENT,
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("set-cookie").contains("Max-Age=0"));

    // A changed password ends sessions made before it.
    let session = login(&p.app, "elemzo").await;
    let path = p.dir.path().join("accounts.toml");
    let mut accounts = Accounts::load(&path).unwrap();
    accounts
        .set_password("elemzo", "egy-masik-hosszu-jelszo")
        .unwrap();
    // The file is re-read when its modification time or size changes,
    // at most once a second.
    std::thread::sleep(Duration::from_millis(1100));
    accounts.save(&path).unwrap();
    let after = call(&p.app, get("/api/search?q=x", Some(&session)), CLIENT).await;
    assert!(
        after.body.contains("\"total\":1"),
        "the old session is over: {}",
        after.body
    );
}

#[tokio::test]
async fn failed_logins_are_throttled_and_a_login_without_its_token_is_refused() {
    let p = portal(|_| {});
    let form = call(&p.app, get("/login", None), CLIENT).await;
    let nonce = form.cookie("tudashalo-nonce").unwrap();
    let token = form.csrf();
    // Without a token (or with another visitor's nonce): refused.
    let no_token = call(
        &p.app,
        post(
            "/login",
            Some(&nonce),
            &format!("user=elemzo&password={PASSWORD}"),
        ),
        CLIENT,
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let no_nonce = call(
        &p.app,
        post(
            "/login",
            None,
            &format!("user=elemzo&password={PASSWORD}&csrf={token}"),
        ),
        CLIENT,
    )
    .await;
    assert_eq!(no_nonce.status, StatusCode::FORBIDDEN);
    // Cross-site: refused whatever the token.
    let mut cross = post(
        "/login",
        Some(&nonce),
        &format!("user=elemzo&password={PASSWORD}&csrf={token}"),
    );
    cross
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(
        call(&p.app, cross, CLIENT).await.status,
        StatusCode::FORBIDDEN
    );

    for _ in 0..5 {
        let wrong = call(
            &p.app,
            post(
                "/login",
                Some(&nonce),
                &format!("user=elemzo&password=rossz-jelszo-123&csrf={token}"),
            ),
            CLIENT,
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
        assert!(wrong.body.contains("Hibás felhasználónév vagy jelszó"));
    }
    // The sixth attempt is refused before the password is checked, even
    // the right one, and says when to come back.
    let locked = call(
        &p.app,
        post(
            "/login",
            Some(&nonce),
            &format!("user=elemzo&password={PASSWORD}&csrf={token}"),
        ),
        CLIENT,
    )
    .await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert!(!locked.header("retry-after").is_empty());
}

#[tokio::test]
async fn uploads_are_for_the_nodes_operators_and_refused_before_the_body_is_read() {
    let p = portal(|_| {});
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nszöveg\r\n--{boundary}--\r\n"
    );
    let upload = |cookie: Option<&str>| {
        let mut r = Request::post("/admin/upload").header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.body(Body::from(body.clone())).unwrap()
    };
    assert_eq!(
        call(&p.app, upload(None), CLIENT).await.status,
        StatusCode::FORBIDDEN
    );
    let analyst = login(&p.app, "elemzo").await;
    assert_eq!(
        call(&p.app, upload(Some(&analyst)), CLIENT).await.status,
        StatusCode::FORBIDDEN
    );
    // The operator, but without the form's token: refused too.
    let operator = login(&p.app, "kezelo").await;
    assert_eq!(
        call(&p.app, upload(Some(&operator)), CLIENT).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(p.backend.uploads.load(Ordering::SeqCst), 0);
    let admin = call(&p.app, get("/admin", Some(&operator)), CLIENT).await;
    assert_eq!(admin.status, StatusCode::OK);
    let token = admin.csrf();
    let with_token = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\nszöveg\r\n--{boundary}--\r\n"
    );
    let request = Request::post("/admin/upload")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("cookie", &operator)
        .body(Body::from(with_token))
        .unwrap();
    let report = call(&p.app, request, CLIENT).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(report.body.contains("data-state=\"imported\""));
    assert_eq!(p.backend.uploads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_single_sign_on_header_counts_only_from_trusted_proxies() {
    let p = portal(|c| {
        c.trusted_user_header = Some("X-Remote-User".into());
        c.trusted_proxies = vec!["10.0.0.5".parse().unwrap()];
    });
    let with_header = || {
        Request::get("/api/search?q=x")
            .header("x-remote-user", "elemzo")
            .body(Body::empty())
            .unwrap()
    };
    let trusted = call(&p.app, with_header(), "10.0.0.5:4000").await;
    assert!(trusted.body.contains("\"total\":2"), "{}", trusted.body);
    let untrusted = call(&p.app, with_header(), "10.0.0.6:4000").await;
    assert!(untrusted.body.contains("\"total\":1"), "{}", untrusted.body);
    // An account that does not exist is nobody, even from the proxy.
    let unknown = Request::get("/api/search?q=x")
        .header("x-remote-user", "senki")
        .body(Body::empty())
        .unwrap();
    assert!(
        call(&p.app, unknown, "10.0.0.5:4000")
            .await
            .body
            .contains("\"total\":1")
    );
}

#[tokio::test]
async fn cookies_are_host_prefixed_and_secure_behind_tls() {
    let p = portal(|c| c.behind_proxy = true);
    let form = call(&p.app, get("/login", None), CLIENT).await;
    let set = form.header("set-cookie").to_string();
    assert!(set.starts_with("__Host-tudashalo-nonce="), "{set}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
}

#[tokio::test]
async fn bounds_are_named_in_the_answer() {
    let p = portal(|_| {});
    let long = "a".repeat(1_001);
    let a = call(&p.app, get(&format!("/api/search?q={long}"), None), CLIENT).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body.contains("\"status\":400") && a.body.contains("1000"),
        "{}",
        a.body
    );
    let deep = call(&p.app, get("/search?q=x&page=101", None), CLIENT).await;
    assert_eq!(deep.status, StatusCode::BAD_REQUEST);
    assert!(deep.body.contains("depth"), "{}", deep.body);
    // A form body over the limit is refused, not read whole.
    let big = "user=".to_string() + &"a".repeat(100_000);
    let a = call(&p.app, post("/login", None, &big), CLIENT).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.body);
}

#[tokio::test]
async fn a_session_made_by_one_replica_is_good_at_another_with_the_same_key() {
    let first = portal(|_| {});
    let session = login(&first.app, "elemzo").await;
    // A second portal process (a restart, or another replica behind the
    // same address) over the same accounts and key file.
    let config = PortalConfig {
        accounts: Some(first.dir.path().join("accounts.toml")),
        session_key: Some(first.dir.path().join("session.key")),
        ..PortalConfig::plain("127.0.0.1:8081".parse().unwrap())
    };
    let state = PortalState::new(
        Arc::new(Memory::default()),
        config.check(Path::new(".")).unwrap(),
    )
    .unwrap();
    let second = router(state);
    let answer = call(&second, get("/api/search?q=x", Some(&session)), CLIENT).await;
    assert!(answer.body.contains("\"total\":2"), "{}", answer.body);
    // Another key: the cookie is nobody's.
    let other = portal(|_| {});
    let answer = call(&other.app, get("/api/search?q=x", Some(&session)), CLIENT).await;
    assert!(answer.body.contains("\"total\":1"), "{}", answer.body);
}
