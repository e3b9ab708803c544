//! The trust model at the TLS layer: who gets in (a certificate of our CA,
//! valid now, not revoked), what a handler learns about the caller
//! (`peer_principal`), and reloading certificates and revocation lists
//! without a restart.
//!
//! The server here is [`Echo`], a tiny federation service that answers
//! `Info` with the caller's principal, served by the same
//! `tudashalo_proto::serve` functions as nodes and hubs. Reloads are triggered with `reload_now()`; only the
//! watcher test waits for SIGHUP and a file change to take effect, through
//! `ReloadingTls::subscribe`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tudashalo_pki::{self as pki, IssueRequest, RevokeReason, Role};
use tudashalo_proto::pb::InfoRequest;
use tudashalo_proto::serve::{self, ServeError};
use tudashalo_proto::tls::{ReloadingTls, TlsError, TlsFiles, TlsMaterial};

use super::support::{Echo, EchoServer, Pki, guard};

/// [`EchoServer::reloading`] with the server certificate "server".
async fn reloading(pki: &Pki) -> EchoServer {
    EchoServer::reloading(pki.files("server", Role::Node)).await
}

/// `Info` over a new connection with `material`: the caller the server saw.
async fn whoami(url: &str, material: &TlsMaterial) -> Result<String, String> {
    let mut client = guard("connect", material.connect(url))
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let info = guard("info", client.info(InfoRequest {}))
        .await
        .map_err(|e| format!("info: {e:?}"))?
        .into_inner();
    Ok(format!("{}:{}", info.role, info.name))
}

/// Asserts that `material` gets no answer (at connect or, as TLS 1.3 reports
/// a refused client certificate after the client's handshake, at the first
/// call).
async fn assert_refused(url: &str, material: &TlsMaterial, what: &str) {
    match whoami(url, material).await {
        Ok(who) => panic!("{what}: the server answered as if to {who}"),
        Err(e) => eprintln!("{what}: refused as expected: {e}"),
    }
}

/// A leaf certificate of `pki`'s CA valid only between the two times.
fn issue_between(
    pki: &Pki,
    name: &str,
    not_before: SystemTime,
    not_after: SystemTime,
) -> TlsMaterial {
    let paths = pki::issue_valid_between(
        pki.dir(),
        &IssueRequest {
            name: name.to_string(),
            role: Role::Node,
            hosts: Vec::new(),
            days: 1,
            force: false,
        },
        not_before,
        not_after,
    )
    .unwrap_or_else(|e| panic!("issuing {name}: {e}"));
    TlsFiles {
        cert: paths.cert,
        key: paths.key,
        ca: pki.ca_path(),
        crl: None,
    }
    .load()
    .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

const DAY: Duration = Duration::from_secs(86_400);

fn crl_path(pki: &Pki) -> PathBuf {
    pki.dir().join(pki::CRL_FILE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_principal_names_the_caller() {
    let pki = Pki::new();
    for server in [
        reloading(&pki).await,
        EchoServer::fixed(pki.material("server", Role::Node)).await,
    ] {
        for (name, role) in [
            ("analyst", Role::Operator),
            ("edelenyi", Role::Node),
            ("eszak", Role::Hub),
            ("orszagos", Role::National),
        ] {
            let who = whoami(&server.url, &pki.material(name, role)).await;
            assert_eq!(who, Ok(format!("{role}:{name}")));
        }
        server.stop().await.expect("clean shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_clients_without_a_current_certificate_of_our_ca() {
    let pki = Pki::new();
    let server = reloading(&pki).await;
    let good = pki.material("analyst", Role::Operator);
    assert_eq!(
        whoami(&server.url, &good).await.as_deref(),
        Ok("operator:analyst")
    );

    // No client certificate: only the CA to check the server with.
    let bare = tonic::transport::Endpoint::from_shared(server.url.clone())
        .expect("endpoint")
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(pki.ca_pem())),
        )
        .expect("tls config");
    let refused = match guard("connect", bare.connect()).await {
        Err(_) => true,
        Ok(channel) => guard(
            "info",
            tudashalo_proto::tls::client(channel).info(InfoRequest {}),
        )
        .await
        .is_err(),
    };
    assert!(refused, "a client without a certificate must be refused");

    // A certificate of another CA (the client trusts our server's CA).
    let other = Pki::named("Idegen CA");
    let mut intruder = other.material("intruder", Role::Hub);
    intruder.ca_pem = pki.ca_pem();
    assert_refused(&server.url, &intruder, "another CA's certificate").await;

    let now = SystemTime::now();
    let expired = issue_between(&pki, "expired", now - 3 * DAY, now - DAY);
    assert_refused(&server.url, &expired, "an expired certificate").await;
    let early = issue_between(&pki, "early", now + DAY, now + 3 * DAY);
    assert_refused(&server.url, &early, "a not yet valid certificate").await;

    // The server survived all of it.
    assert_eq!(
        whoami(&server.url, &good).await.as_deref(),
        Ok("operator:analyst")
    );
    server.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_certificate_refused_after_reload_and_broken_crl_keeps_old_config() {
    let pki = Pki::new();
    let server = reloading(&pki).await;
    let doomed = pki.material("doomed", Role::Node);
    let kept = pki.material("kept", Role::Node);
    assert_eq!(
        whoami(&server.url, &doomed).await.as_deref(),
        Ok("node:doomed")
    );
    assert_eq!(server.tls().generation(), 1);

    let revoked = pki::revoke(pki.dir(), "doomed", RevokeReason::KeyCompromise).expect("revoke");
    assert!(revoked.newly_revoked);
    assert_eq!(revoked.crl, crl_path(&pki));
    server.tls().reload_now().expect("reload with the new CRL");
    assert_eq!(server.tls().generation(), 2);

    assert_refused(&server.url, &doomed, "a revoked certificate").await;
    assert_eq!(whoami(&server.url, &kept).await.as_deref(), Ok("node:kept"));

    // A broken CRL: the reload fails naming the file, the old one stays.
    std::fs::write(
        crl_path(&pki),
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    .expect("write broken CRL");
    let err = server
        .tls()
        .reload_now()
        .expect_err("a broken CRL must not load");
    assert!(err.to_string().contains("crl.pem"), "{err}");
    assert_eq!(server.tls().generation(), 2);
    assert_eq!(whoami(&server.url, &kept).await.as_deref(), Ok("node:kept"));
    assert_refused(
        &server.url,
        &doomed,
        "revoked, while the CRL file is broken",
    )
    .await;

    // Not a CRL at all, and a CRL that vanished: likewise kept.
    std::fs::write(crl_path(&pki), "not a CRL").expect("write garbage");
    let err = server
        .tls()
        .reload_now()
        .expect_err("garbage must not load");
    assert!(err.to_string().contains("crl.pem"), "{err}");
    std::fs::remove_file(crl_path(&pki)).expect("remove CRL");
    let err = server
        .tls()
        .reload_now()
        .expect_err("a vanished CRL must not be dropped");
    assert!(err.to_string().contains("crl.pem"), "{err}");
    assert_refused(
        &server.url,
        &doomed,
        "revoked, while the CRL file is missing",
    )
    .await;

    // Re-issued from the database, it loads again.
    pki::write_crl(pki.dir()).expect("write_crl");
    server.tls().reload_now().expect("reload the re-issued CRL");
    assert_eq!(server.tls().generation(), 3);
    assert_refused(&server.url, &doomed, "revoked, after re-issuing the CRL").await;
    assert_eq!(whoami(&server.url, &kept).await.as_deref(), Ok("node:kept"));

    // A broken server key is also refused on reload, the server keeps serving.
    let files = server.tls().files().clone();
    let key = std::fs::read(&files.key).expect("read key");
    std::fs::write(
        &files.key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write broken key");
    let err = server
        .tls()
        .reload_now()
        .expect_err("a broken key must not load");
    assert!(err.to_string().contains("server.key"), "{err}");
    assert_eq!(whoami(&server.url, &kept).await.as_deref(), Ok("node:kept"));
    std::fs::write(&files.key, key).expect("restore key");

    server.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_files_are_refused_at_start_with_their_names() {
    let pki = Pki::new();
    let files = pki.files("server", Role::Node);

    // A CRL next to the CA that is not one.
    std::fs::write(crl_path(&pki), "garbage").expect("write");
    let err = ReloadingTls::new(files.clone()).expect_err("broken implicit CRL");
    assert!(matches!(err, TlsError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("crl.pem"), "{err}");
    std::fs::remove_file(crl_path(&pki)).expect("remove");
    ReloadingTls::new(files.clone()).expect("no CRL is fine");

    // An explicit CRL must exist.
    let missing = TlsFiles {
        crl: Some(pki.dir().join("nope.pem")),
        ..files.clone()
    };
    let err = ReloadingTls::new(missing).expect_err("missing explicit CRL");
    assert!(err.to_string().contains("nope.pem"), "{err}");

    // A CRL signed by another CA.
    let other = Pki::named("Idegen CA");
    other.material("someone", Role::Node);
    pki::revoke(other.dir(), "someone", RevokeReason::Unspecified).expect("revoke");
    let foreign = TlsFiles {
        crl: Some(crl_path(&other)),
        ..files.clone()
    };
    let err = ReloadingTls::new(foreign).expect_err("another CA's CRL");
    assert!(err.to_string().contains("crl.pem"), "{err}");
    assert!(err.to_string().contains("not by the CA"), "{err}");

    // A key that belongs to another certificate.
    pki.material("other", Role::Node);
    let mismatched = TlsFiles {
        key: pki.dir().join("other.key"),
        ..files.clone()
    };
    let err = ReloadingTls::new(mismatched).expect_err("mismatched key");
    assert!(err.to_string().contains("other.key"), "{err}");

    // And serve() refuses to start without a usable configuration.
    let mut material = pki.material("server", Role::Node);
    material.crl_pem = Some(b"garbage".to_vec());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let result = guard(
        "serve with a broken CRL",
        serve::serve(Echo::default(), listener, &material, std::future::pending()),
    )
    .await;
    assert!(matches!(result, Err(ServeError::Tls(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshakes_do_not_block_other_clients() {
    let pki = Pki::new();
    let server = reloading(&pki).await;
    let good = pki.material("analyst", Role::Operator);

    // Connections that never complete a handshake: silent, and garbage.
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(server.addr).await.expect("tcp connect"));
    }
    let mut garbage = TcpStream::connect(server.addr).await.expect("tcp connect");
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");

    assert_eq!(
        whoami(&server.url, &good).await.as_deref(),
        Ok("operator:analyst")
    );
    drop(silent);
    drop(garbage);
    server.stop().await.expect("clean shutdown");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reloads_on_sighup_and_on_file_changes() {
    let pki = Pki::new();
    let server = EchoServer::watched(pki.files("server", Role::Node)).await;
    let mut generations = server.tls().subscribe();
    let doomed = pki.material("doomed", Role::Node);

    // The server answering shows that it has started its watcher, which
    // listens for SIGHUP from then on (`ReloadingTls::watch`).
    let client = pki.material("client", Role::Operator);
    whoami(&server.url, &client).await.expect("served");
    // A handler of the test's own, so that SIGHUP never falls back to the
    // default action (ending the process), whatever the order.
    let _hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .expect("SIGHUP handler");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    guard("reload on SIGHUP", generations.changed())
        .await
        .expect("generations");
    let after_hangup = *generations.borrow_and_update();
    assert!(after_hangup >= 2, "{after_hangup}");

    // Revoking rewrites crl.pem; the watcher notices on its own.
    pki::revoke(pki.dir(), "doomed", RevokeReason::Superseded).expect("revoke");
    guard("reload on a new CRL", async {
        loop {
            generations.changed().await.expect("generations");
            if server.tls().files().crl_path().is_some()
                && whoami(&server.url, &doomed).await.is_err()
            {
                break;
            }
        }
    })
    .await;
    assert_refused(&server.url, &doomed, "revoked, picked up by the watcher").await;
    server.stop().await.expect("clean shutdown");
}
