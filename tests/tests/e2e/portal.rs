//! The web portal against a real federation of real processes: the demo's
//! generated kistérségek, each served by `tudashalo-node serve`, a
//! `tudashalo-hub serve` with `[portal]`, and the first node's own portal,
//! all on loopback. [`PortalFederation`] is the fixture the browser test
//! (`portal_browser.rs`) drives too; the tests here speak HTTP to it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tudashalo_demo::generate::Spec;
use tudashalo_demo::{DemoOptions, PORTAL_PASSWORD, PORTAL_USER};
use tudashalo_hub::config::HubConfig;

use super::support::{spawn_server, workspace_binary};

/// The node operator's account on the first node's portal.
pub const OPERATOR_USER: &str = "kezelo";
pub const OPERATOR_PASSWORD: &str = "kezelo-jelszo-1";

/// How long the federation may take to come up.
const READY: Duration = Duration::from_secs(60);

/// A running federation with portals; every process is killed on drop.
pub struct PortalFederation {
    pub dir: tempfile::TempDir,
    /// Node processes by name, in the demo's order.
    pub nodes: Vec<(String, Option<Child>)>,
    pub hub: Child,
    /// `http://127.0.0.1:PORT` of the hub's portal.
    pub hub_portal: String,
    /// The first node's own portal, and its name.
    pub node_portal: String,
    pub first_node: String,
}

impl Drop for PortalFederation {
    fn drop(&mut self) {
        let _ = self.hub.kill();
        let _ = self.hub.wait();
        for (_, child) in &mut self.nodes {
            if let Some(child) = child {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Runs a command to completion, with `stdin` as its input.
fn run(program: &Path, args: &[&str], stdin: &str) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{} {args:?}: {}\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PortalFederation {
    /// Generates three kistérségek with the demo (once, in a temporary
    /// folder), creates the portal accounts with the real CLI, and starts
    /// every server as a process.
    pub async fn start() -> PortalFederation {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().to_path_buf();
        let options = DemoOptions {
            spec: Spec {
                nodes: 3,
                docs_per_node: 40,
                mean_words: 120,
                ..Spec::default()
            },
            listen_portal: None,
            ..DemoOptions::new(&state)
        };
        let report = tudashalo_demo::run(options).await.expect("demo run");
        let names: Vec<String> = report.members.iter().map(|m| m.name.clone()).collect();
        let first = names[0].clone();

        let hub_bin = workspace_binary("tudashalo-hub");
        let node_bin = workspace_binary("tudashalo-node");
        let portal_dir = state.join("portal");
        std::fs::create_dir_all(&portal_dir).expect("portal dir");
        let accounts = portal_dir.join("accounts.toml");
        let key = portal_dir.join("session.key");
        let (accounts_s, key_s) = (accounts.display().to_string(), key.display().to_string());
        run(&hub_bin, &["portal", "key", "--out", &key_s], "");
        run(
            &hub_bin,
            &[
                "portal",
                "user",
                "add",
                PORTAL_USER,
                "--accounts",
                &accounts_s,
                "--principal",
                "operator:analyst",
                "--password-stdin",
            ],
            &format!("{PORTAL_PASSWORD}\n"),
        );
        let node_accounts = portal_dir.join("node-accounts.toml");
        let node_accounts_s = node_accounts.display().to_string();
        run(
            &node_bin,
            &[
                "portal",
                "user",
                "add",
                OPERATOR_USER,
                "--accounts",
                &node_accounts_s,
                "--principal",
                &format!("operator:{first}"),
                "--password-stdin",
            ],
            &format!("{OPERATOR_PASSWORD}\n"),
        );

        // The first node serves its own portal too.
        let first_dir = state.join("nodes").join(&first);
        let node_toml = first_dir.join("node.toml");
        let mut text = std::fs::read_to_string(&node_toml).expect("node.toml");
        text.push_str(&format!(
            "\n[portal]\nlisten = \"127.0.0.1:0\"\naccounts = {}\nsession_key = {}\n",
            toml_string(&node_accounts_s),
            toml_string(&key_s)
        ));
        std::fs::write(&node_toml, text).expect("write node.toml");

        let mut nodes = Vec::new();
        let mut endpoints = HashMap::new();
        let mut node_portal = String::new();
        for name in &names {
            let mut command = Command::new(&node_bin);
            command
                .args(["serve", "--data"])
                .arg(state.join("nodes").join(name))
                .args(["--listen", "127.0.0.1:0"]);
            let prefixes: &[&str] = if *name == first {
                &["listening on ", "portal on "]
            } else {
                &["listening on "]
            };
            let (child, found) = spawn_server(command, prefixes);
            endpoints.insert(name.clone(), found["listening on "].clone());
            if let Some(url) = found.get("portal on ") {
                node_portal = url.clone();
            }
            nodes.push((name.clone(), Some(child)));
        }

        let hub_toml = state.join("hub.toml");
        let mut config = HubConfig::load(&hub_toml).expect("hub.toml");
        config.listen = "127.0.0.1:0".into();
        for m in &mut config.members {
            m.endpoint = endpoints[&m.name].clone();
        }
        config.portal = Some(tudashalo_portal::PortalConfig {
            accounts: Some(accounts.clone()),
            session_key: Some(key.clone()),
            ..tudashalo_portal::PortalConfig::plain("127.0.0.1:0".parse().expect("addr"))
        });
        tudashalo_demo::config::write_hub_toml(&hub_toml, &config, "portal test")
            .expect("write hub.toml");
        let mut command = Command::new(&hub_bin);
        command.args(["serve", "--config"]).arg(&hub_toml);
        let (hub, found) = spawn_server(command, &["listening on ", "portal on "]);
        let federation = PortalFederation {
            hub_portal: found["portal on "].clone(),
            node_portal,
            first_node: first,
            nodes,
            hub,
            dir,
        };
        federation.wait_until_every_member_answers().await;
        federation
    }

    /// Polls the hub portal's API until every member answers a search.
    async fn wait_until_every_member_answers(&self) {
        let started = Instant::now();
        loop {
            let answer = get(&format!("{}/api/search?q=", self.hub_portal), None).await;
            if answer.status == 200 {
                let v: Value = serde_json::from_str(&answer.body).expect("json");
                let members = v["members"].as_array().cloned().unwrap_or_default();
                if members.len() == self.nodes.len() && members.iter().all(|m| m["state"] == "ok") {
                    return;
                }
            }
            assert!(
                started.elapsed() < READY,
                "the federation did not come up: {}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills node `index`'s process (a member that is down).
    pub fn stop_node(&mut self, index: usize) -> String {
        let (name, child) = &mut self.nodes[index];
        if let Some(mut c) = child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        name.clone()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `name=value` of every `Set-Cookie`.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_string)
            .collect()
    }
}

async fn send(request: hyper::Request<Full<Bytes>>) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .expect("portal answered in time")
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// `GET url` with an optional `Cookie` header.
pub async fn get(url: &str, cookie: Option<&str>) -> Answer {
    let mut request = hyper::Request::get(url);
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    send(request.body(Full::new(Bytes::new())).expect("request")).await
}

/// `POST url` with a form body.
pub async fn post_form(url: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Answer {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request =
        hyper::Request::post(url).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    send(request.body(Full::new(Bytes::from(body))).expect("request")).await
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of the hidden `csrf` input of a page.
pub fn csrf_of(page: &str) -> String {
    let at =
        page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[at..]
        .split('"')
        .next()
        .expect("csrf value")
        .to_string()
}

/// Logs in at `portal` and returns the session cookie (`name=value`).
pub async fn login(portal: &str, user: &str, password: &str) -> String {
    let form = get(&format!("{portal}/login"), None).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let nonce = form.cookies().into_iter().next().expect("a nonce cookie");
    let token = csrf_of(&form.body);
    let answer = post_form(
        &format!("{portal}/login"),
        Some(&nonce),
        &[("user", user), ("password", password), ("csrf", &token)],
    )
    .await;
    assert_eq!(answer.status, 303, "login: {}", answer.body);
    answer
        .cookies()
        .into_iter()
        .find(|c| c.contains("session=") && !c.ends_with('='))
        .expect("a session cookie")
}

fn json(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", answer.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_serves_the_federation_under_each_nodes_policy() {
    let mut f = PortalFederation::start().await;
    let hub = f.hub_portal.clone();

    // Security headers on every page.
    let home = get(&format!("{hub}/"), None).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.header("content-security-policy")
            .contains("default-src 'none'")
    );
    assert_eq!(home.header("cache-control"), "no-store");
    assert_eq!(home.header("x-content-type-options"), "nosniff");
    assert!(home.body.contains("lang=\"hu\""));
    for (name, _) in &f.nodes {
        assert!(
            home.body.contains(&format!("data-member=\"{name}\"")),
            "{name} on the front page"
        );
    }

    // Anonymous search: accented and unaccented queries find the same.
    let accented = json(&get(&format!("{hub}/api/search?q=%C3%B3vodai"), None).await);
    let plain = json(&get(&format!("{hub}/api/search?q=ovodai"), None).await);
    assert!(accented["total"].as_u64().unwrap_or(0) > 0, "{accented}");
    assert_eq!(accented["total"], plain["total"]);
    assert_eq!(accented["partial"], false);

    // Logged in as the analyst, more is visible than anonymously: the
    // nodes' `federated` documents.
    let session = login(&hub, PORTAL_USER, PORTAL_PASSWORD).await;
    let anonymous = json(&get(&format!("{hub}/api/search?q="), None).await);
    let analyst = json(&get(&format!("{hub}/api/search?q="), Some(&session)).await);
    assert!(
        analyst["total"].as_u64() > anonymous["total"].as_u64(),
        "analyst {} vs anonymous {}",
        analyst["total"],
        anonymous["total"]
    );

    // A document page: metadata and full text, and the API's same data.
    let hit = &anonymous["hits"][0];
    let href = hit["href"].as_str().expect("href");
    let page = get(&format!("{hub}{href}"), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let doc = json(&get(&format!("{hub}/api{}", href), None).await);
    // A document answers with its id; a register record (the public may
    // see public developments) with its own id and the key hits carry.
    let key = if doc["entity"].is_string() {
        &doc["key"]
    } else {
        &doc["id"]
    };
    assert_eq!(key, &hit["id"], "{doc}");

    // Facets narrow: a kind filter returns only that kind.
    let kind = anonymous["facets"]["kind"][0]["value"]
        .as_str()
        .expect("a kind facet")
        .to_string();
    let narrowed = json(&get(&format!("{hub}/api/search?q=&kind={kind}"), None).await);
    assert!(narrowed["total"].as_u64() <= anonymous["total"].as_u64());
    assert!(
        narrowed["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .all(|h| h["kind"] == kind.as_str())
    );

    // Indicators: the catalogue, cells with confidential ones marked and
    // without a value, and the three downloads.
    let catalogue = json(&get(&format!("{hub}/api/indicators"), None).await);
    let code = catalogue[0]["code"]
        .as_str()
        .expect("an indicator")
        .to_string();
    let cells = json(
        &get(
            &format!("{hub}/api/indicators/{code}/cells?by=kisterseg"),
            None,
        )
        .await,
    );
    for cell in cells["cells"].as_array().expect("cells") {
        if cell["status"] != "F" {
            assert!(
                cell["value"].is_null(),
                "a confidential cell has no value: {cell}"
            );
        }
    }
    let csv = get(
        &format!("{hub}/indicators/{code}/download?format=csv&by=kisterseg"),
        None,
    )
    .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(
        csv.body.starts_with("kisterseg,period,indicator,value"),
        "{}",
        csv.body
    );
    let sdmx = get(
        &format!("{hub}/indicators/{code}/download?format=sdmx-csv"),
        None,
    )
    .await;
    assert!(sdmx.body.starts_with("STRUCTURE,"), "{}", sdmx.body);
    let chart = get(&format!("{hub}/indicators/{code}"), None).await;
    assert!(chart.body.contains("<svg"), "{}", chart.body);

    // Settlement level is not granted to the public: every node refuses,
    // says why, and no cell leaves.
    let settlements = json(
        &get(
            &format!("{hub}/api/indicators/{code}/cells?by=settlement"),
            None,
        )
        .await,
    );
    assert_eq!(
        settlements["cells"].as_array().map(Vec::len),
        Some(0),
        "{settlements}"
    );
    assert_eq!(settlements["partial"], true);
    for m in settlements["members"].as_array().expect("members") {
        assert_eq!(m["state"], "refused", "{m}");
        assert!(
            m["message"]
                .as_str()
                .unwrap_or("")
                .contains("aggregate_settlement"),
            "{m}"
        );
    }
    let page = get(&format!("{hub}/indicators/{code}?by=settlement"), None).await;
    assert!(page.body.contains("elutasította a kérést"), "{}", page.body);

    // Hostile input is refused with the limit named, not passed on.
    let long = "a".repeat(2_000);
    let refused = get(&format!("{hub}/api/search?q={long}"), None).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("1000"), "{}", refused.body);
    let forged = post_form(
        &format!("{hub}/logout"),
        Some(&session),
        &[("csrf", "forged")],
    )
    .await;
    assert_eq!(forged.status, 403);

    // The OpenAPI document parses and lists the API's paths.
    let openapi = json(&get(&format!("{hub}/api/openapi.json"), None).await);
    for path in [
        "/api/search",
        "/api/doc/{member}/{id}",
        "/api/indicators",
        "/api/indicators/{code}/cells",
        "/api/network",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path}");
    }

    // A member that is down: the answer says so, for that member.
    let stopped = f.stop_node(2);
    let partial = json(&get(&format!("{hub}/api/search?q=%C3%B3vodai"), None).await);
    assert_eq!(partial["partial"], true, "{partial}");
    let member = partial["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["member"] == stopped.as_str())
        .cloned()
        .expect("the stopped member has a status");
    assert_ne!(member["state"], "ok");
    let page = get(&format!("{hub}/search?q=%C3%B3vodai"), None).await;
    assert!(page.body.contains("Részleges válasz"), "{}", page.body);

    // One SIGTERM stops the hub's gRPC listener and its portal, and the
    // process ends by itself.
    let pid = f.hub.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = f.hub.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the hub did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "the hub ended with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_operator_uploads_files_and_reads_the_verified_audit_log() {
    let f = PortalFederation::start().await;
    let node = f.node_portal.clone();
    // Anonymous visitors cannot manage the node, nor upload.
    assert_eq!(get(&format!("{node}/admin"), None).await.status, 403);
    let session = login(&node, OPERATOR_USER, OPERATOR_PASSWORD).await;
    let admin = get(&format!("{node}/admin"), Some(&session)).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert!(admin.body.contains("id=\"audit-verified\""));
    assert!(admin.body.contains("A napló lánca ép"), "{}", admin.body);
    assert!(
        admin.body.contains("PortalLogin"),
        "the login is audited: {}",
        admin.body
    );
    let token = csrf_of(&admin.body);

    // A multipart upload of two files: one good, one not a document.
    let boundary = "----tudashalo-test";
    let mut body = Vec::new();
    let mut part = |name: &str, file: Option<&str>, content: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes()),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    part("csrf", None, token.as_bytes());
    part("kind", None, b"study");
    part("files", Some("Erdőgazdálkodási tanulmány.txt"), "Az erdők és a tűzifa a kistérség falvaiban: tanulmány a fűtésről és az erdőgazdálkodásról.".as_bytes());
    part("files", Some("hibás.pdf"), b"not a pdf at all");
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let request = hyper::Request::post(format!("{node}/admin/upload"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("cookie", &session)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let report = send(request).await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(
        report.body.contains("Importálás eredménye"),
        "{}",
        report.body
    );
    assert!(
        report.body.contains("data-state=\"imported\""),
        "{}",
        report.body
    );
    assert!(
        report.body.contains("data-state=\"failed\""),
        "{}",
        report.body
    );
    assert!(
        report.body.contains("PortalImport"),
        "the upload is in the audit log"
    );

    // The uploaded files were not left behind: the store and originals/
    // hold what was imported.
    let uploads = f
        .state_dir()
        .join("nodes")
        .join(&f.first_node)
        .join("uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", uploads.display());

    // The uploaded document is searchable at once, as the operator.
    let found = json(&get(&format!("{node}/api/search?q=t%C5%B1zifa"), Some(&session)).await);
    assert!(found["total"].as_u64().unwrap_or(0) >= 1, "{found}");

    // Its original comes back byte for byte, as a download, to the
    // operator, and its document page links to it.
    let href = found["hits"][0]["href"].as_str().expect("href").to_string();
    let page = get(&format!("{node}{href}"), Some(&session)).await;
    let original_href = href.replacen("/doc/", "/original/", 1);
    assert!(page.body.contains(&original_href), "{}", page.body);
    let original = get(&format!("{node}{original_href}"), Some(&session)).await;
    assert_eq!(original.status, 200, "{}", original.body);
    assert!(
        original
            .header("content-disposition")
            .starts_with("attachment")
    );
    assert!(original.body.contains("tűzifa"), "{}", original.body);
    assert_eq!(
        original.header("content-length"),
        original.body.len().to_string()
    );
    // Not to the public (the document is `federated`, the default), and a
    // climbing id names nothing.
    let anonymous = get(&format!("{node}{original_href}"), None).await;
    assert!(
        matches!(anonymous.status, 403 | 404),
        "{}: {}",
        anonymous.status,
        anonymous.body
    );
    assert!(!anonymous.body.contains("tűzifa"));
    let first = &f.first_node;
    let climbing = get(
        &format!("{node}/original/{first}/..%2F..%2Fnode.toml"),
        Some(&session),
    )
    .await;
    assert!(
        matches!(climbing.status, 400 | 404),
        "{}: {}",
        climbing.status,
        climbing.body
    );
}
