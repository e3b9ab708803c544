//! Issue #11, "TLS, both directions": every caller — and every callee — may
//! be hostile. Real mTLS on `127.0.0.1:0`, certificates minted per test.
//!
//! - A hub checks that each member's *server* certificate names that member
//!   (`node:NAME` or `hub:NAME`, or exactly the configured `role`): an
//!   endpoint serving another valid federation certificate gets no request.
//! - Clients check the CRL too: a hub refuses a member whose certificate is
//!   revoked.
//! - A CRL past its `nextUpdate` is used within the grace period (with a
//!   warning naming the file, its nextUpdate and the grace) and refused after
//!   it, server side and client side.
//! - A reloaded CRL that revokes a client closes its open connection.
//! - The hub's outgoing identity reloads like its server identity (the hub
//!   process, SIGHUP), and a reloaded CRL that revokes a member cuts it off.
//!
//! Written against APIs that already existed before the fix (hub.toml as a
//! file, `TlsMaterial::connect`, `ReloadingTls::manual`, the hub binary), so
//! that on the old code these tests compile and fail on their assertions.

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;
use tudashalo_demo::config::member;
use tudashalo_hub::config::{HubConfig, MemberConfig, MemberRole};
use tudashalo_pki::{self as pki, IssueRequest, RevokeReason, Role};
use tudashalo_proto::pb::{self, InfoRequest, MemberState};
use tudashalo_proto::tls::{TlsFiles, TlsMaterial};

use super::support::{
    EchoServer, NodeDir, Pki, ServerProcess, TestHub, TestNode, client_as, guard, hub_config,
    jsonl, serial_of_der, write_hub_toml,
};

// ---------------------------------------------------------------------------
// Fixtures

/// Every log line of this test binary at warn level and above, for the
/// tests that check what a stale CRL logs (they look for their own
/// temporary paths, so other tests' lines do not matter).
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let logs = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    logs
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        captured_logs()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log lines that mention `needle`.
fn log_lines_with(needle: &str) -> Vec<String> {
    let logs = captured_logs()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// The serial of the certificate in a PEM file.
fn serial_of_file(path: &Path) -> String {
    let pem = std::fs::read(path).expect("certificate file");
    let (_, block) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    serial_of_der(&block.contents).expect("certificate")
}

/// `Info` over a new connection with `material`: the caller the server saw.
async fn whoami(url: &str, material: &TlsMaterial) -> Result<String, String> {
    let mut client = guard("connect", material.connect(url))
        .await
        .map_err(|e| format!("connect: {}", error_chain(&e)))?;
    let info = guard("info", client.info(InfoRequest {}))
        .await
        .map_err(|e| format!("info: {e:?}"))?
        .into_inner();
    Ok(format!("{}:{}", info.role, info.name))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Writes a CRL signed by `pki`'s CA, revoking nothing, whose `nextUpdate`
/// lies `overdue` in the past, to `pki`'s `crl.pem` (where every loader
/// finds it, next to `ca.pem`).
fn write_stale_crl(pki: &Pki, overdue: Duration) -> std::path::PathBuf {
    let ca_pem = std::fs::read_to_string(pki.ca_path()).expect("ca.pem");
    let key_pem = std::fs::read_to_string(pki.dir().join(pki::CA_KEY_FILE)).expect("ca.key");
    let key = rcgen::KeyPair::from_pem(&key_pem).expect("CA key");
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, key).expect("CA issuer");
    let next_update = time::OffsetDateTime::now_utc()
        - time::Duration::seconds(i64::try_from(overdue.as_secs()).expect("seconds"));
    let params = rcgen::CertificateRevocationListParams {
        this_update: next_update - time::Duration::days(7),
        next_update,
        crl_number: rcgen::SerialNumber::from(99u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer).expect("signing the CRL");
    let path = pki.dir().join(pki::CRL_FILE);
    std::fs::write(&path, crl.pem().expect("CRL PEM")).expect("writing crl.pem");
    path
}

/// The configuration of hub `regio` over `members`: (name, url, the role
/// its `hub.toml` entry names, if any).
fn regio(pki: &Pki, members: &[(&str, &str, Option<MemberRole>)]) -> HubConfig {
    let mut config = hub_config(pki, "regio", &[]);
    config.members = members
        .iter()
        .map(|&(name, url, role)| MemberConfig {
            role,
            ..member(name, url)
        })
        .collect();
    config
}

/// Searches `hub_url` as an operator and returns each member's status.
async fn member_statuses(pki: &Pki, hub_url: &str) -> Vec<pb::MemberStatus> {
    let mut client = client_as(hub_url, pki, "elemzo", Role::Operator).await;
    guard(
        "search through the hub",
        client.search(pb::SearchRequest {
            query: "fejlesztés".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("the hub answers even when members fail")
    .into_inner()
    .members
}

fn status_of<'a>(statuses: &'a [pb::MemberStatus], member: &str) -> &'a pb::MemberStatus {
    statuses
        .iter()
        .find(|s| s.member == member)
        .unwrap_or_else(|| panic!("no status for {member}: {statuses:?}"))
}

fn docs() -> String {
    jsonl([json!({"id": "d1", "title": "Fejlesztési terv", "body": "fejlesztés"})])
}

// ---------------------------------------------------------------------------
// The hub checks whom it reaches

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_refuses_a_member_endpoint_serving_another_participants_certificate() {
    let pki = Pki::new();
    // The genuine member.
    let good = TestNode::start(&pki, "edelenyi", &docs()).await;
    // Member "szikszoi": its endpoint serves node:encsi's valid certificate.
    let folder = NodeDir::init("szikszoi");
    let node = folder.open();
    let impostor = TestNode::serve(
        "szikszoi",
        folder.dir,
        node,
        &pki.material("encsi", Role::Node),
    )
    .await;
    // Member "kazinci": its endpoint serves operator:kazinci's certificate
    // (the right name, a role that serves nothing).
    let folder = NodeDir::init("kazinci");
    let node = folder.open();
    let operator = TestNode::serve(
        "kazinci",
        folder.dir,
        node,
        &pki.material("kazinci", Role::Operator),
    )
    .await;

    let hub = TestHub::serve(&regio(
        &pki,
        &[
            ("edelenyi", &good.url, None),
            ("szikszoi", &impostor.url, None),
            ("kazinci", &operator.url, None),
        ],
    ))
    .await;
    let statuses = member_statuses(&pki, &hub.url).await;

    let ok = status_of(&statuses, "edelenyi");
    assert_eq!(ok.state, MemberState::Ok as i32, "{ok:?}");
    for (member, found) in [("szikszoi", "node:encsi"), ("kazinci", "operator:kazinci")] {
        let s = status_of(&statuses, member);
        assert_ne!(
            s.state,
            MemberState::Ok as i32,
            "{member} must be refused: {s:?}"
        );
        let expected = format!("node:{member} or hub:{member}");
        assert!(
            s.message.contains(&expected) && s.message.contains(found),
            "{member}'s status must name the mismatch (expected {expected}, found {found}): {:?}",
            s.message
        );
        assert!(s.message.contains("serial"), "{:?}", s.message);
    }
    drop(hub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_role_in_hub_toml_is_enforced() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", &docs()).await;
    // Declared a hub, it serves a node certificate: refused.
    let hub = TestHub::serve(&regio(
        &pki,
        &[("edelenyi", &node.url, Some(MemberRole::Hub))],
    ))
    .await;
    let statuses = member_statuses(&pki, &hub.url).await;
    let s = status_of(&statuses, "edelenyi");
    assert_ne!(s.state, MemberState::Ok as i32, "{s:?}");
    assert!(
        s.message.contains("expected hub:edelenyi") && s.message.contains("node:edelenyi"),
        "{:?}",
        s.message
    );
    drop(hub);
    // Declared a node: accepted.
    let hub = TestHub::serve(&regio(
        &pki,
        &[("edelenyi", &node.url, Some(MemberRole::Node))],
    ))
    .await;
    let statuses = member_statuses(&pki, &hub.url).await;
    assert_eq!(
        status_of(&statuses, "edelenyi").state,
        MemberState::Ok as i32,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_refuses_a_member_whose_server_certificate_is_revoked() {
    let pki = Pki::new();
    let kept = TestNode::start(&pki, "edelenyi", &docs()).await;
    let doomed = TestNode::start(&pki, "szikszoi", &docs()).await;
    let revoked = pki::revoke(pki.dir(), "szikszoi", RevokeReason::KeyCompromise).expect("revoke");
    assert!(revoked.newly_revoked);

    // The hub finds crl.pem next to its ca.pem, as servers always did.
    let hub = TestHub::serve(&regio(
        &pki,
        &[
            ("edelenyi", &kept.url, None),
            ("szikszoi", &doomed.url, None),
        ],
    ))
    .await;
    let statuses = member_statuses(&pki, &hub.url).await;
    assert_eq!(
        status_of(&statuses, "edelenyi").state,
        MemberState::Ok as i32
    );
    let s = status_of(&statuses, "szikszoi");
    assert_ne!(
        s.state,
        MemberState::Ok as i32,
        "a revoked member must be refused: {s:?}"
    );
    assert!(
        s.message.to_lowercase().contains("revoked")
            && s.message.contains(&revoked.revocation.serial),
        "the status names the revocation and the serial {}: {:?}",
        revoked.revocation.serial,
        s.message
    );
    // A command-line client (TlsMaterial::connect) refuses it too.
    let client = pki.material("elemzo", Role::Operator);
    let mut files = pki.files("elemzo", Role::Operator);
    files.crl = Some(pki.dir().join(pki::CRL_FILE));
    let with_crl = files.load().expect("client files with the CRL");
    let refused = whoami(&doomed.url, &with_crl)
        .await
        .expect_err("revoked server");
    assert!(refused.to_lowercase().contains("revoked"), "{refused}");
    assert!(whoami(&kept.url, &client).await.is_ok());
}

// ---------------------------------------------------------------------------
// Stale revocation lists

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crl_past_next_update_works_within_grace_and_logs() {
    let logs = captured_logs();
    let pki = Pki::new();
    let crl = write_stale_crl(&pki, Duration::from_secs(3600));
    let server = EchoServer::reloading(pki.files("server", Role::Node)).await;
    // Server side: the client is accepted. Client side: the client's own
    // copy of the (same) stale CRL does not stop it either.
    let client = pki
        .files("elemzo", Role::Operator)
        .load()
        .expect("client files");
    assert!(
        client.crl_pem.is_some(),
        "the client loads crl.pem next to ca.pem"
    );
    assert_eq!(
        whoami(&server.url, &client).await.as_deref(),
        Ok("operator:elemzo")
    );
    let lines = log_lines_with(&crl.display().to_string());
    assert!(
        lines.iter().any(|l| l.contains("WARN")
            && l.contains("nextUpdate")
            && l.contains("grace")
            && l.contains("72 h")),
        "a warning names the CRL, its nextUpdate and the grace: {lines:#?}\n(all: {} bytes)",
        logs.lock().map(|l| l.len()).unwrap_or(0)
    );
    server.stop().await.expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crl_past_its_grace_refuses_every_handshake_both_sides() {
    let _logs = captured_logs();
    let pki = Pki::new();
    // Issue everything before the stale CRL is written, so that the client
    // below loads its material without one.
    let server_files = pki.files("server", Role::Node);
    let client_without_crl = pki.material("elemzo", Role::Operator);
    let crl = write_stale_crl(&pki, Duration::from_secs(4 * 86_400));

    // Server side: a server whose CRL is 4 days stale (grace 72 h) refuses.
    let server = EchoServer::reloading(server_files.clone()).await;
    let refused = whoami(&server.url, &client_without_crl).await;
    assert!(
        refused.is_err(),
        "past the grace the server must refuse: {refused:?}"
    );
    let lines = log_lines_with(&crl.display().to_string());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("grace") && l.contains("refusing every")),
        "an error line names the CRL and the grace: {lines:#?}"
    );
    server.stop().await.expect("served");

    // Client side: a client holding the stale CRL refuses a server that
    // runs without one, and says why.
    let other_dir = tempfile::tempdir().expect("dir");
    let plain_server_files = TlsFiles {
        ca: {
            let ca = other_dir.path().join("ca.pem");
            std::fs::copy(pki.ca_path(), &ca).expect("copy ca.pem");
            ca
        },
        ..server_files
    };
    let server = EchoServer::reloading(plain_server_files).await;
    let stale_client = pki
        .files("elemzo", Role::Operator)
        .load()
        .expect("client with CRL");
    let refused = whoami(&server.url, &stale_client)
        .await
        .expect_err("past the grace the client must refuse");
    assert!(
        refused.contains(&crl.display().to_string()) && refused.contains("grace"),
        "the client's error names the CRL and the grace: {refused}"
    );
    server.stop().await.expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_grace_is_configurable_in_hub_toml() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", &docs()).await;
    pki.files("regio", Role::Hub);
    pki.material("elemzo", Role::Operator);
    write_stale_crl(&pki, Duration::from_secs(2 * 3600));
    // Within the default 72 h the member answers; with a grace of one hour
    // the hub refuses to talk to it.
    let conf = tempfile::tempdir().expect("conf");
    let mut config = regio(&pki, &[("edelenyi", &node.url, None)]);
    let hub = TestHub::serve(&config).await;
    let statuses = member_statuses(&pki, &hub.url).await;
    assert_eq!(
        status_of(&statuses, "edelenyi").state,
        MemberState::Ok as i32
    );
    drop(hub);

    // The hub binary reads `[revocation]` from its hub.toml.
    config.revocation.crl_grace_hours = 1;
    let path = conf.path().join("strict.toml");
    write_hub_toml(&path, &config);
    let hub = ServerProcess::hub(&path, None, &conf.path().join("strict.log"), "info");
    // The hub's own server side refuses the operator too now; ask the
    // member through a client that has no CRL (so only the hub decides).
    let result = guard(
        "connect",
        pki.material("elemzo", Role::Operator).connect(&hub.url),
    )
    .await;
    let refused = match result {
        Err(_) => true,
        Ok(mut c) => guard("search", c.search(pb::SearchRequest::default()))
            .await
            .is_err(),
    };
    assert!(
        refused,
        "with crl_grace_hours = 1 a 2 h stale CRL refuses every handshake"
    );
    // The hub logs the refusal as it refuses; the client may see the failed
    // handshake first, so wait (bounded) for the line before stopping it.
    let says_why = |log: &str| {
        log.contains("refusing every TLS handshake") && log.contains("grace period of 1 h")
    };
    let log_path = conf.path().join("strict.log");
    let waited = std::time::Instant::now();
    while !says_why(&std::fs::read_to_string(&log_path).unwrap_or_default())
        && waited.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(hub);
    let log = std::fs::read_to_string(&log_path).expect("hub log");
    assert!(says_why(&log), "the hub's log says why: {log}");
}

// ---------------------------------------------------------------------------
// Open connections of a revoked peer

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_connection_of_a_client_is_closed_when_a_reloaded_crl_revokes_it() {
    let pki = Pki::new();
    let server = EchoServer::reloading(pki.files("server", Role::Node)).await;
    let doomed = pki.material("doomed", Role::Node);
    let kept = pki.material("kept", Role::Node);
    // Two connections, kept open by their clients.
    let mut doomed_client = guard("connect", doomed.connect(&server.url))
        .await
        .expect("connect");
    let mut kept_client = guard("connect", kept.connect(&server.url))
        .await
        .expect("connect");
    for client in [&mut doomed_client, &mut kept_client] {
        guard("info", client.info(InfoRequest {}))
            .await
            .expect("info before revocation");
    }

    pki::revoke(pki.dir(), "doomed", RevokeReason::KeyCompromise).expect("revoke");
    // The reload closes the doomed connection before it returns: no wait.
    server.tls().reload_now().expect("reload with the new CRL");

    // The same client, the same channel: no answer any more (its connection
    // is gone, and a new one is refused).
    let after = guard("info after revocation", doomed_client.info(InfoRequest {})).await;
    assert!(
        after.is_err(),
        "the revoked client's open connection must be closed: {after:?}"
    );
    // The other client's connection is untouched.
    let info = guard("info", kept_client.info(InfoRequest {}))
        .await
        .expect("the other client's connection stays open")
        .into_inner();
    assert_eq!(info.name, "kept");
    server.stop().await.expect("served");
}

// ---------------------------------------------------------------------------
// The hub process: its client identity reloads, a revoked member is cut off

impl ServerProcess {
    fn reloads(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches("TLS configuration reloaded")
            .count()
    }

    /// Sends SIGHUP and waits (bounded) until the log says the reload took
    /// place.
    async fn reload(&self) {
        let before = self.reloads();
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill -HUP");
        assert!(status.success());
        guard("the hub's reload after SIGHUP", async {
            while self.reloads() <= before {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_client_identity_reloads_and_a_revoked_member_is_cut_off() {
    let pki = Pki::new();
    let member = EchoServer::reloading(pki.files("tanu", Role::Node)).await;
    let conf = tempfile::tempdir().expect("conf");
    let config = conf.path().join("hub.toml");
    write_hub_toml(&config, &regio(&pki, &[("tanu", &member.url, None)]));
    let first_serial = serial_of_file(&pki.files("regio", Role::Hub).cert);
    let hub = ServerProcess::hub(&config, None, &conf.path().join("hub.log"), "info");

    let statuses = member_statuses(&pki, &hub.url).await;
    assert_eq!(
        status_of(&statuses, "tanu").state,
        MemberState::Ok as i32,
        "{statuses:?}"
    );
    assert_eq!(
        member.echo.last_serial().as_deref(),
        Some(first_serial.as_str())
    );

    // The hub's certificate is renewed in place (same name, new key and
    // serial) and the hub told to reload.
    let renewed = pki::issue(
        pki.dir(),
        &IssueRequest {
            name: "regio".into(),
            role: Role::Hub,
            hosts: Vec::new(),
            days: 7,
            force: true,
        },
    )
    .expect("renew the hub certificate");
    let new_serial = serial_of_file(&renewed.cert);
    assert_ne!(new_serial, first_serial);
    hub.reload().await;
    let statuses = member_statuses(&pki, &hub.url).await;
    assert_eq!(
        status_of(&statuses, "tanu").state,
        MemberState::Ok as i32,
        "{statuses:?}"
    );
    assert_eq!(
        member.echo.last_serial().as_deref(),
        Some(new_serial.as_str()),
        "the member must see the renewed hub certificate after the reload"
    );

    // The member's certificate is revoked; after the reload the hub no
    // longer talks to it (its open connection is closed, a new one refused).
    let revoked = pki::revoke(pki.dir(), "tanu", RevokeReason::KeyCompromise).expect("revoke");
    hub.reload().await;
    let statuses = member_statuses(&pki, &hub.url).await;
    let s = status_of(&statuses, "tanu");
    assert_ne!(
        s.state,
        MemberState::Ok as i32,
        "a revoked member must be cut off: {s:?}"
    );
    assert!(
        s.message.to_lowercase().contains("revoked")
            && s.message.contains(&revoked.revocation.serial),
        "{:?}",
        s.message
    );
    drop(hub);
    member.stop().await.expect("served");
}
