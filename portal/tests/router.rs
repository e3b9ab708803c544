//! The portal's router against a backend that answers from memory: what
//! the portal itself promises whatever its server — security headers,
//! sessions, CSRF, throttling, the single sign-on hook, who may upload,
//! bounds — checked with `tower::ServiceExt::oneshot`, no socket. The
//! federation behind the portal is tested for real in
//! `tests/tests/e2e/portal.rs`.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
/// counts uploads, and administers for `operator:edelenyi` only. A search
/// for `register` (or with register filters) answers register hits and
/// facets; the register's records and the network answer from
/// [`register`]. It keeps the last search, document id and network
/// request it was asked.
#[derive(Default)]
struct Memory {
    uploads: AtomicUsize,
    searched: Mutex<Option<pb::SearchRequest>>,
    asked_id: Mutex<Option<String>>,
    networked: Mutex<Option<pb::NetworkRequest>>,
}

/// The register the fake backend holds.
mod register {
    use tudashalo_proto::pb;

    pub const DEVELOPMENT: &str = "development:EFOP-1.5.2-16-2017-00041";
    pub const ORGANISATION: &str = "organisation:szendrő-önk";
    pub const GROUP: &str = "group:ifjúsági-kerekasztal";

    fn member(id: &str, name: &str, role: &str) -> pb::ConsortiumMember {
        pb::ConsortiumMember {
            organisation: id.into(),
            role: role.into(),
            name: name.into(),
        }
    }

    pub fn development() -> pb::Development {
        pb::Development {
            id: "EFOP-1.5.2-16-2017-00041".into(),
            title: "Humán szolgáltatások fejlesztése Szendrőn".into(),
            summary: "Közösségi programok <b>és</b> szolgáltatások.".into(),
            programme: "EFOP".into(),
            call: "EFOP-1.5.2-16".into(),
            beneficiary: "szendrő-önk".into(),
            consortium: vec![
                member("szendrő-önk", "Szendrő Város Önkormányzata", "lead"),
                member("borsodi-civil", "Borsodi Civil Egyesület", "member"),
            ],
            settlements: vec!["Szendrő".into(), "Szalonna".into()],
            sectors: vec!["szociális".into()],
            target_groups: vec!["elderly".into(), "young_people".into()],
            planned_start: "2017-09-01".into(),
            planned_end: "2021-12".into(),
            actual_start: "2018-01-15".into(),
            total_cost: Some(199_990_000),
            support: Some(185_500_000),
            status: "closed".into(),
            documents: vec!["2019/zarobeszamolo".into()],
            visibility: "public".into(),
            indicators: vec![
                pb::ProjectIndicator {
                    indicator: "bevont".into(),
                    name: "Bevont személyek".into(),
                    r#type: "output".into(),
                    unit: "fő".into(),
                    target: 1250.0,
                    target_date: "2021-12-31".into(),
                    achieved: vec![
                        pb::Achieved {
                            period: "2020".into(),
                            value: 1100.0,
                        },
                        pb::Achieved {
                            period: "2019".into(),
                            value: 400.0,
                        },
                    ],
                    ..pb::ProjectIndicator::default()
                },
                pb::ProjectIndicator {
                    indicator: "arany".into(),
                    name: "Foglalkoztatottak aránya".into(),
                    r#type: "result".into(),
                    unit: "%".into(),
                    baseline: Some(5.0),
                    baseline_year: Some(2016),
                    target: 40.0,
                    achieved: vec![pb::Achieved {
                        period: "2021".into(),
                        value: 12.5,
                    }],
                    ..pb::ProjectIndicator::default()
                },
            ],
            ..pb::Development::default()
        }
    }

    pub fn organisation() -> pb::Organisation {
        pb::Organisation {
            id: "szendrő-önk".into(),
            name: "Szendrő Város Önkormányzata".into(),
            legal_form: "municipality".into(),
            register_number: "15726468".into(),
            seat: "3752 Szendrő, Fő út 3.".into(),
            website: "https://szendro.hu".into(),
            visibility: "public".into(),
            participations: vec![
                pb::Participation {
                    entity: "development".into(),
                    id: "EFOP-1.5.2-16-2017-00041".into(),
                    title: "Humán szolgáltatások fejlesztése Szendrőn".into(),
                    role: "lead".into(),
                    year: Some(2017),
                    programme: "EFOP".into(),
                    support: Some(185_500_000),
                },
                pb::Participation {
                    entity: "group".into(),
                    id: "ifjúsági-kerekasztal".into(),
                    title: "Ifjúsági kerekasztal".into(),
                    role: "member".into(),
                    ..pb::Participation::default()
                },
            ],
            ..pb::Organisation::default()
        }
    }

    pub fn group() -> pb::WorkingGroup {
        pb::WorkingGroup {
            id: "ifjúsági-kerekasztal".into(),
            name: "Ifjúsági kerekasztal".into(),
            theme: "A fiatalok helyben maradása".into(),
            members: vec![member(
                "szendrő-önk",
                "Szendrő Város Önkormányzata",
                "member",
            )],
            meetings: vec![
                pb::Meeting {
                    date: "2024-03-05".into(),
                    topic: "Nyári táborok".into(),
                    minutes: "jegyzokonyvek/2024-03-05".into(),
                },
                pb::Meeting {
                    date: "2023-11-20".into(),
                    topic: "Alakuló ülés".into(),
                    minutes: String::new(),
                },
            ],
            status: "active".into(),
            visibility: "public".into(),
        }
    }

    pub fn network() -> pb::NetworkResponse {
        let entry = |member: &str, org: pb::Organisation| pb::NetworkEntry {
            member: member.into(),
            organisation: Some(org),
        };
        let civil = pb::Organisation {
            id: "borsodi-civil".into(),
            name: "Borsodi Civil Egyesület".into(),
            ..pb::Organisation::default()
        };
        pb::NetworkResponse {
            organisations: vec![
                pb::NetworkOrganisation {
                    register_number: "18400000".into(),
                    name: "Borsodi Civil Egyesület".into(),
                    entries: vec![entry("", civil)],
                    member_count: 1,
                },
                pb::NetworkOrganisation {
                    register_number: "15726468".into(),
                    name: "Szendrő Város Önkormányzata".into(),
                    entries: vec![
                        entry("", organisation()),
                        entry(
                            "cigandi",
                            pb::Organisation {
                                id: "szendro".into(),
                                name: "Szendrő Önkormányzat".into(),
                                ..pb::Organisation::default()
                            },
                        ),
                    ],
                    member_count: 2,
                },
            ],
            pairs: vec![pb::CoParticipation {
                a: "15726468".into(),
                b: "18400000".into(),
                a_name: "Szendrő Város Önkormányzata".into(),
                b_name: "Borsodi Civil Egyesület".into(),
                developments: 3,
            }],
            members: vec![
                pb::MemberStatus {
                    member: "edelenyi".into(),
                    state: pb::MemberState::Ok as i32,
                    ..pb::MemberStatus::default()
                },
                pb::MemberStatus {
                    member: "cigandi".into(),
                    state: pb::MemberState::TimedOut as i32,
                    message: "deadline".into(),
                    ..pb::MemberStatus::default()
                },
            ],
            partial: true,
            total: 2,
        }
    }
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
            indicators: vec![
                pb::Indicator {
                    code: "nepesseg".into(),
                    name: "Lakónépesség".into(),
                    unit: "fő".into(),
                    aggregation: "sum".into(),
                },
                pb::Indicator {
                    code: "dev.support.EFOP".into(),
                    name: "Elnyert támogatás (EFOP)".into(),
                    unit: "Ft".into(),
                    aggregation: "sum".into(),
                },
            ],
        }
    }
    async fn search(
        &self,
        viewer: &Principal,
        request: pb::SearchRequest,
        _timeout: Duration,
    ) -> Result<pb::SearchResponse, BackendError> {
        *self.searched.lock().unwrap() = Some(request.clone());
        let filters = request.filters.clone().unwrap_or_default();
        if request.query == "register" || !filters.entities.is_empty() {
            let facet = |name: &str, values: &[(&str, u64)]| pb::Facet {
                name: name.into(),
                values: values
                    .iter()
                    .map(|(v, count)| pb::FacetValue {
                        value: (*v).into(),
                        count: *count,
                    })
                    .collect(),
            };
            return Ok(pb::SearchResponse {
                hits: vec![
                    pb::Hit {
                        id: register::DEVELOPMENT.into(),
                        title: "Humán szolgáltatások fejlesztése Szendrőn".into(),
                        entity: "development".into(),
                        settlements: vec!["Szendrő".into()],
                        ..pb::Hit::default()
                    },
                    pb::Hit {
                        id: "2019/zarobeszamolo".into(),
                        title: "Záróbeszámoló".into(),
                        kind: "report".into(),
                        entity: "document".into(),
                        ..pb::Hit::default()
                    },
                ],
                total: 2,
                facets: vec![
                    facet(
                        "entity",
                        &[
                            ("development", 1),
                            ("document", 1),
                            ("organisation", 4),
                            ("group", 2),
                        ],
                    ),
                    facet("programme", &[("EFOP", 1), ("TOP", 3)]),
                    facet("status", &[("closed", 1)]),
                    facet("target_group", &[("elderly", 1), ("young_people", 1)]),
                ],
                ..pb::SearchResponse::default()
            });
        }
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
        *self.asked_id.lock().unwrap() = Some(id.to_string());
        let mut answer = pb::GetDocumentResponse {
            member: "edelenyi".into(),
            ..pb::GetDocumentResponse::default()
        };
        match id {
            register::DEVELOPMENT => answer.development = Some(register::development()),
            register::ORGANISATION => answer.organisation = Some(register::organisation()),
            register::GROUP => answer.group = Some(register::group()),
            _ => return Err(BackendError::NotFound(format!("no document {id}"))),
        }
        Ok(answer)
    }
    async fn network(
        &self,
        _viewer: &Principal,
        request: pb::NetworkRequest,
        _timeout: Duration,
    ) -> Result<pb::NetworkResponse, BackendError> {
        *self.networked.lock().unwrap() = Some(request);
        Ok(register::network())
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

/// The part of `body` from the first `start` to the next `end` after it.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {body}"));
    let rest = &body[at..];
    &rest[..rest.find(end).map_or(rest.len(), |e| e + end.len())]
}

/// Hungarian numbers as the portal writes them: a no-break space after a
/// digit (between groups, and before the unit).
fn hu(text: &str) -> String {
    let mut out = String::new();
    let mut previous = ' ';
    for c in text.chars() {
        out.push(if c == ' ' && previous.is_ascii_digit() {
            '\u{a0}'
        } else {
            c
        });
        previous = c;
    }
    out
}

#[tokio::test]
async fn the_search_has_register_facets_filters_and_hits_that_say_what_they_are() {
    let p = portal(|_| {});
    let a = call(
        &p.app,
        get(
            "/search?q=szolg%C3%A1ltat%C3%A1s&entity=development&programme=EFOP&status=lez%C3%A1rt&target=elderly&amount_min=1000000&amount_max=200%20000%20000",
            None,
        ),
        CLIENT,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let asked = p.backend.searched.lock().unwrap().clone().unwrap();
    let f = asked.filters.unwrap();
    assert_eq!(f.entities, ["development"]);
    assert_eq!(f.programmes, ["EFOP"]);
    // A Hungarian label is taken for its code.
    assert_eq!(f.statuses, ["closed"]);
    assert_eq!(f.target_groups, ["elderly"]);
    assert_eq!(
        (f.amount_min, f.amount_max),
        (Some(1_000_000), Some(200_000_000))
    );
    // The facets in Hungarian, from core's labels.
    for label in [
        "Találat fajtája",
        "Fejlesztések",
        "Dokumentumok",
        "Szervezetek",
        "Munkacsoportok",
        "Emberi Erőforrás Fejlesztési Operatív Program",
        "Terület- és Településfejlesztési Operatív Program",
        "lezárt",
        "fiatalok",
        "Célcsoport",
    ] {
        assert!(a.body.contains(label), "{label}");
    }
    // A facet link adds its value under the URL's name, keeping the rest.
    assert!(a.body.contains("target=young_people"), "{}", a.body);
    assert!(a.body.contains("amount_min=1000000"), "{}", a.body);
    // The register hit: its badge and its link, the key encoded.
    assert!(
        a.body
            .contains(r#"<span class="badge" data-entity="development">Fejlesztés</span>"#),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains(r#"href="/doc/edelenyi/development%3AEFOP-1.5.2-16-2017-00041""#),
        "{}",
        a.body
    );
    // A document hit has no badge.
    assert!(!a.body.contains(r#"data-entity="document""#), "{}", a.body);
    // The form keeps the amounts, labelled.
    assert!(a.body.contains(r#"<label for="amount_min">"#), "{}", a.body);

    let api = call(
        &p.app,
        get("/api/search?q=register&entity=development", None),
        CLIENT,
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["hits"][0]["entity"], "development");
    assert_eq!(
        json["hits"][0]["href"],
        "/doc/edelenyi/development%3AEFOP-1.5.2-16-2017-00041"
    );
    assert_eq!(json["facets"]["programme"][0]["value"], "EFOP");
}

#[tokio::test]
async fn a_development_shows_its_money_partners_and_indicators_against_their_targets() {
    let p = portal(|_| {});
    let a = call(
        &p.app,
        get("/doc/edelenyi/development%3AEFOP-1.5.2-16-2017-00041", None),
        CLIENT,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        p.backend.asked_id.lock().unwrap().as_deref(),
        Some(register::DEVELOPMENT)
    );
    let b = &a.body;
    for text in [
        "<h1>Humán szolgáltatások fejlesztése Szendrőn</h1>",
        "Emberi Erőforrás Fejlesztési Operatív Program",
        "EFOP-1.5.2-16",
        "lezárt",
        "2017. szeptember 1.",
        "2021. december",
        "2018. január 15.",
        "Szalonna",
        "idősek",
        "főkedvezményezett",
        "konzorciumi tag",
        // Escaped, not markup.
        "Közösségi programok &lt;b&gt;és&lt;/b&gt; szolgáltatások.",
    ] {
        assert!(b.contains(text), "{text}: {b}");
    }
    assert!(b.contains(&hu("185 500 000 Ft")), "{b}");
    assert!(b.contains(&hu("199 990 000 Ft")), "{b}");
    assert!(b.contains(&hu("92,75 %")), "{b}");
    // Partners and documents are links; the keys' colons and accents encoded.
    assert!(
        b.contains(r#"href="/doc/edelenyi/organisation%3Aszendr%C5%91-%C3%B6nk""#),
        "{b}"
    );
    assert!(
        b.contains(r#"href="/doc/edelenyi/2019/zarobeszamolo""#),
        "{b}"
    );
    // The first indicator: a chart with its target line, and a table.
    let svg = between(
        b,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="mutato-1""#,
        "</svg>",
    );
    assert!(svg.contains(r#"class="reference""#), "{svg}");
    assert!(
        svg.contains(&hu("Célérték (2021. december 31.): 1 250 fő")),
        "{svg}"
    );
    assert!(svg.contains(&hu("Teljesítés, 2020: 1 100 fő")), "{svg}");
    assert!(svg.contains(&hu("Teljesítés, 2019: 400 fő")), "{svg}");
    let table = between(b, r#"<table class="cells" id="mutato-1-table""#, "</table>");
    assert!(table.contains("<th scope=\"col\">Időszak</th>"), "{table}");
    assert!(table.contains(&hu("1 100 fő")), "{table}");
    assert!(table.contains(&hu("1 250 fő")), "{table}");
    assert!(table.contains(&hu("88 %")), "{table}");
    // Periods in order, whatever order the member sent them in.
    assert!(table.find("2019") < table.find("2020"), "{table}");
    // The second: a percentage with a decimal comma, and its baseline.
    let svg = between(b, r#"id="mutato-2""#, "</svg>");
    assert!(svg.contains(&hu("Célérték: 40 %")), "{svg}");
    assert!(svg.contains(&hu("Kiinduló érték (2016): 5 %")), "{svg}");
    assert!(svg.contains(&hu("Teljesítés, 2021: 12,5 %")), "{svg}");
    let table = between(b, r#"id="mutato-2-table""#, "</table>");
    assert!(table.contains(&hu("12,5 %")), "{table}");
    assert!(table.contains(&hu("31,25 %")), "{table}");

    // The same record as JSON, its links encoded as the page's.
    let api = call(
        &p.app,
        get(
            "/api/doc/edelenyi/development:EFOP-1.5.2-16-2017-00041",
            None,
        ),
        CLIENT,
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["entity"], "development");
    assert_eq!(json["support"], 185_500_000);
    assert_eq!(json["indicators"][0]["target"], 1250.0);
    assert_eq!(
        json["consortium"][0]["href"],
        "/doc/edelenyi/organisation%3Aszendr%C5%91-%C3%B6nk"
    );
}

#[tokio::test]
async fn a_key_with_a_colon_and_accents_round_trips_through_its_link() {
    let p = portal(|_| {});
    let development = call(
        &p.app,
        get("/doc/edelenyi/development%3AEFOP-1.5.2-16-2017-00041", None),
        CLIENT,
    )
    .await;
    let marker = "href=\"/doc/edelenyi/organisation";
    let at = development.body.find(marker).unwrap() + "href=\"".len();
    let link = development.body[at..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(link.is_ascii(), "{link}");
    let a = call(&p.app, get(&link, None), CLIENT).await;
    assert_eq!(a.status, StatusCode::OK, "{link}: {}", a.body);
    assert_eq!(
        p.backend.asked_id.lock().unwrap().as_deref(),
        Some(register::ORGANISATION)
    );
    // The organisation page: what it is, and what it takes part in.
    let b = &a.body;
    for text in [
        "<h1>Szendrő Város Önkormányzata</h1>",
        "települési önkormányzat",
        "15726468",
        "3752 Szendrő, Fő út 3.",
        r#"<a href="https://szendro.hu" rel="noopener noreferrer nofollow">"#,
        r#"href="/doc/edelenyi/development%3AEFOP-1.5.2-16-2017-00041""#,
        r#"href="/doc/edelenyi/group%3Aifj%C3%BAs%C3%A1gi-kerekasztal""#,
        "<h2>Fejlesztések</h2>",
        "<h2>Munkacsoportok</h2>",
        "főkedvezményezett",
    ] {
        assert!(b.contains(text), "{text}: {b}");
    }
    assert!(b.contains(&hu("185 500 000 Ft")), "{b}");
    // And on to the group, through its encoded link.
    let a = call(
        &p.app,
        get("/doc/edelenyi/group%3Aifj%C3%BAs%C3%A1gi-kerekasztal", None),
        CLIENT,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        p.backend.asked_id.lock().unwrap().as_deref(),
        Some(register::GROUP)
    );
    let b = &a.body;
    for text in [
        "A fiatalok helyben maradása",
        "működő",
        "2024. március 5.",
        "2023. november 20.",
        "Nyári táborok",
        r#"href="/doc/edelenyi/jegyzokonyvek/2024-03-05""#,
        r#"href="/doc/edelenyi/organisation%3Aszendr%C5%91-%C3%B6nk""#,
    ] {
        assert!(b.contains(text), "{text}: {b}");
    }
    // Newest meeting first.
    assert!(
        b.find("2024. március 5.") < b.find("2023. november 20."),
        "{b}"
    );
}

#[tokio::test]
async fn the_network_page_filters_lists_partners_and_pairs_and_says_who_did_not_answer() {
    let p = portal(|_| {});
    let a = call(
        &p.app,
        get("/network?q=Szendr%C5%91&min_members=2", None),
        CLIENT,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let asked = p.backend.networked.lock().unwrap().clone().unwrap();
    assert_eq!((asked.query.as_str(), asked.min_members), ("Szendrő", 2));
    assert!(asked.limit > 0);
    let b = &a.body;
    assert!(
        b.contains(r#"<a href="/network" aria-current="page">Partnerhálózat</a>"#),
        "{b}"
    );
    assert!(b.contains(r#"<label for="q">"#), "{b}");
    assert!(
        b.contains(r#"<label for="min_members" class="checkbox">"#),
        "{b}"
    );
    assert!(b.contains(r#"value="2" checked"#), "{b}");
    assert!(b.contains(r#"value="Szendrő""#), "{b}");
    // The partner in two kistérségek first, with each one's participations.
    assert!(
        b.find("Szendrő Város Önkormányzata") < b.find("Borsodi Civil Egyesület"),
        "{b}"
    );
    for text in [
        "15726468",
        r#"href="/doc/edelenyi/organisation%3Aszendr%C5%91-%C3%B6nk""#,
        r#"href="/doc/cigandi/organisation%3Aszendro""#,
        r#"href="/doc/edelenyi/development%3AEFOP-1.5.2-16-2017-00041""#,
        "Ki kivel működött együtt",
        "Részleges válasz",
        "nem válaszolt időben",
    ] {
        assert!(b.contains(text), "{text}: {b}");
    }
    // The public is not told a member's own message.
    assert!(!b.contains("deadline"), "{b}");
    // A pair links to its partners' rows.
    let pairs = between(b, r#"<table class="pairs""#, "</table>");
    assert!(
        pairs.contains(r##"href="#szervezet-0""##) && pairs.contains(r##"href="#szervezet-1""##),
        "{pairs}"
    );
    assert!(pairs.contains(">3<"), "{pairs}");

    let api = call(&p.app, get("/api/network?min_members=2", None), CLIENT).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["organisations"][0]["member_count"], 2);
    assert_eq!(json["organisations"][0]["entries"][1]["member"], "cigandi");
    assert_eq!(
        json["organisations"][0]["entries"][0]["participations"][0]["href"],
        "/doc/edelenyi/development%3AEFOP-1.5.2-16-2017-00041"
    );
    assert_eq!(json["pairs"][0]["developments"], 3);
    assert_eq!(json["partial"], true);
}

#[tokio::test]
async fn register_and_network_limits_are_named_in_the_answer() {
    let p = portal(|_| {});
    for (path, named) in [
        ("/search?q=x&amount_min=99999999999999999", "MAX_AMOUNT_FT"),
        ("/search?q=x&amount_max=sok", "amount_max"),
        (
            "/search?q=x&amount_min=10&amount_max=5",
            "amount_min and amount_max",
        ),
        ("/search?q=x&entity=blog", "parameter entity"),
        ("/search?q=x&programme=XYZ", "parameter programme"),
        ("/search?q=x&status=maybe", "parameter status"),
        ("/search?q=x&target=aliens", "parameter target"),
        ("/network?min_members=5000", "MAX_MIN_MEMBERS"),
        ("/api/network?min_members=-1", "MAX_MIN_MEMBERS"),
    ] {
        let a = call(&p.app, get(path, None), CLIENT).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.body);
        assert!(a.body.contains(named), "{path}: {}", a.body);
    }
    let long = format!("/network?q={}", "a".repeat(201));
    let a = call(&p.app, get(&long, None), CLIENT).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("MAX_NAME_CHARS"), "{}", a.body);
}

#[tokio::test]
async fn the_openapi_document_describes_the_register_parameters_and_the_network() {
    let p = portal(|_| {});
    let a = call(&p.app, get("/api/openapi.json", None), CLIENT).await;
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    let names: Vec<&str> = json["paths"]["/api/search"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "entity",
        "programme",
        "status",
        "target",
        "amount_min",
        "amount_max",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    assert!(json["paths"]["/api/network"]["get"].is_object());
    assert!(json["components"]["schemas"]["Network"].is_object());
}

#[tokio::test]
async fn the_catalogue_folds_the_indicators_derived_from_the_register() {
    let p = portal(|_| {});
    let a = call(&p.app, get("/indicators", None), CLIENT).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (own, derived) = a.body.split_once("<details").expect("a folded section");
    assert!(
        own.contains("Lakónépesség") && !own.contains("dev.support.EFOP"),
        "{own}"
    );
    assert!(
        derived.contains("Fejlesztési mutatók a nyilvántartásból (1)"),
        "{derived}"
    );
    assert!(
        derived.contains("/indicators/dev.support.EFOP"),
        "{derived}"
    );
}
