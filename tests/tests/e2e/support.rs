//! Shared fixtures: a throw-away PKI, nodes and hubs served over mTLS on
//! `127.0.0.1:0` (in-process through `tudashalo_proto::serve::ServerHandle`,
//! or as real processes), `hub.toml` written with the one writer
//! (`tudashalo_demo::config`), clients, and small helpers for files and
//! documents.
//!
//! Everything is real: certificates come from `tudashalo_pki`, nodes are
//! `tudashalo_node::Node`s on sled and tantivy in temporary folders, and the
//! servers are `tudashalo_node::server::serve` and
//! `tudashalo_hub::server::serve` over rustls.

#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tonic::Status;
use tonic::transport::Channel;
use tudashalo_demo::config;
use tudashalo_hub::config::HubConfig;
use tudashalo_hub::federation::Hub;
use tudashalo_node::Node;
use tudashalo_node::node::{FileReport, ImportOptions};
use tudashalo_pki::{self as pki, IssueRequest, Role};
use tudashalo_proto::identity::peer_principal;
use tudashalo_proto::pb;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::federation_server::Federation;
use tudashalo_proto::serve::{self, ServeError, ServerHandle, Shutdown, StopError};
use tudashalo_proto::tls::{ReloadingTls, TlsFiles, TlsMaterial};

/// How long any single network step may take before a test is considered
/// hung. A guard against hangs, not a timing assertion.
pub const HANG_GUARD: Duration = Duration::from_secs(10);

/// Awaits `future`, panicking with `what` if it does not finish within
/// [`HANG_GUARD`].
pub async fn guard<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: did not finish within {HANG_GUARD:?}"),
    }
}

/// A certificate authority in a temporary folder, issuing leaf certificates
/// on demand (each name once; later requests reuse the files).
pub struct Pki {
    dir: TempDir,
    issued: Mutex<HashMap<String, (Role, TlsMaterial)>>,
}

impl Pki {
    pub fn new() -> Pki {
        Pki::named("Tudásháló teszt CA")
    }

    /// A CA with its own common name, e.g. for an unrelated second CA.
    pub fn named(ca_name: &str) -> Pki {
        let dir = tempfile::tempdir().expect("tempdir for the PKI");
        pki::init_ca(dir.path(), ca_name, 30, false).expect("init_ca");
        Pki {
            dir,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA certificate file.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join(pki::CA_CERT_FILE)
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_path()).expect("reading ca.pem")
    }

    /// The certificate and key files of `name`, issued with `role` (for
    /// localhost, 127.0.0.1 and ::1) if not issued yet.
    pub fn files(&self, name: &str, role: Role) -> TlsFiles {
        self.material(name, role);
        TlsFiles {
            cert: self.dir.path().join(format!("{name}.pem")),
            key: self.dir.path().join(format!("{name}.key")),
            ca: self.ca_path(),
            crl: None,
        }
    }

    /// The loaded TLS material of `name` (certificate, key, this CA).
    pub fn material(&self, name: &str, role: Role) -> TlsMaterial {
        let mut issued = self.issued.lock().expect("pki lock");
        if let Some((issued_role, material)) = issued.get(name) {
            assert_eq!(
                *issued_role, role,
                "{name} was already issued with another role"
            );
            return material.clone();
        }
        let paths = pki::issue(
            self.dir.path(),
            &IssueRequest {
                name: name.to_string(),
                role,
                hosts: Vec::new(),
                days: 7,
                force: false,
            },
        )
        .unwrap_or_else(|e| panic!("issuing {name}: {e}"));
        let material = TlsFiles {
            cert: paths.cert,
            key: paths.key,
            ca: self.ca_path(),
            crl: None,
        }
        .load()
        .unwrap_or_else(|e| panic!("loading {name}'s TLS files: {e}"));
        issued.insert(name.to_string(), (role, material.clone()));
        material
    }
}

/// A connected federation client for `url`, presenting `name`'s certificate
/// (role hub, i.e. a federation member) from `pki`.
pub async fn client(url: &str, pki: &Pki, name: &str) -> FederationClient<Channel> {
    client_as(url, pki, name, Role::Hub).await
}

/// Like [`client`], with a chosen role.
pub async fn client_as(url: &str, pki: &Pki, name: &str, role: Role) -> FederationClient<Channel> {
    let material = pki.material(name, role);
    guard("connecting", material.connect(url))
        .await
        .unwrap_or_else(|e| panic!("connecting to {url} as {name}: {e}"))
}

/// The `[policy]` of fixture nodes: the test hubs relay and everyone the
/// tests connect as (hubs and operators) may search, get and aggregate.
/// Nodes are deny-by-default; tests of the policy itself use their own.
pub const FIXTURE_POLICY: &str = r#"[policy]
hubs = ["hub", "regio", "north", "south", "orszagos"]

[[policy.grant]]
principal = "operator:*"
allow = ["search", "get", "aggregate_settlement"]

[[policy.grant]]
principal = "hub:*"
allow = ["search", "get", "aggregate_settlement"]
"#;

/// A `[policy]` with an owner: hub `regio` serves the node, operator
/// `gazda` owns it (admin: every permission, `local` documents too), and
/// operator `analyst` may search and get.
pub const OWNED_POLICY: &str = r#"[policy]
hubs = ["regio"]
operators = ["gazda"]

[[policy.grant]]
principal = "operator:analyst"
allow = ["search", "get"]
"#;

/// Replaces the `[policy]` section (the last one of the `node.toml` that
/// `init` writes) of the node in `dir` with `policy` (TOML text starting
/// with `[policy]`).
pub fn set_policy(dir: &Path, policy: &str) {
    config::set_policy(dir, policy).unwrap_or_else(|e| panic!("{e:#}"));
}

/// A node data folder, initialised, with its `Node` open.
pub struct NodeDir {
    pub dir: TempDir,
    pub name: String,
}

impl NodeDir {
    /// A new, initialised, not yet opened node folder, with the
    /// [`FIXTURE_POLICY`].
    pub fn init(name: &str) -> NodeDir {
        NodeDir::init_with_policy(name, FIXTURE_POLICY)
    }

    /// Like [`NodeDir::init`], with `policy` as its `[policy]` section.
    pub fn init_with_policy(name: &str, policy: &str) -> NodeDir {
        let dir = tempfile::tempdir().expect("tempdir for the node");
        Node::init(dir.path(), name, Some(&format!("{name} kistérség"))).expect("Node::init");
        set_policy(dir.path(), policy);
        NodeDir {
            dir,
            name: name.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn open(&self) -> Node {
        Node::open(self.dir.path()).unwrap_or_else(|e| panic!("Node::open: {e}"))
    }
}

/// Input files for importers, in their own temporary folder.
pub struct Files {
    dir: TempDir,
}

impl Files {
    pub fn new() -> Files {
        Files {
            dir: tempfile::tempdir().expect("tempdir for input files"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `bytes` to `name` in the folder (its folders made as
    /// needed) and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }
}

/// Imports `path` with default options, panicking on a file-level error.
pub fn import(node: &Node, path: &Path) -> FileReport {
    import_with(node, path, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("importing {}: {e}", path.display()))
}

/// Imports `path`, returning the node's answer.
pub fn import_with(
    node: &Node,
    path: &Path,
    options: &ImportOptions,
) -> tudashalo_node::Result<FileReport> {
    node.import_file(path, options, &|_| {})
}

/// One JSON Lines document line from a JSON value.
pub fn line(value: serde_json::Value) -> String {
    let text = value.to_string();
    assert!(!text.contains('\n'), "a JSONL line must be one line");
    text
}

/// A JSON Lines file from values.
pub fn jsonl(values: impl IntoIterator<Item = serde_json::Value>) -> String {
    values.into_iter().map(|v| line(v) + "\n").collect()
}

/// A minimal document line.
pub fn doc(id: &str, title: &str, body: &str) -> serde_json::Value {
    json!({"id": id, "title": title, "body": body})
}

/// A node served over mTLS on an ephemeral loopback port.
///
/// Dropping it fires the shutdown signal; [`TestNode::stop`] also waits for
/// the server to finish.
pub struct TestNode {
    pub name: String,
    pub data: TempDir,
    pub node: Arc<Node>,
    pub url: String,
    pub addr: std::net::SocketAddr,
    server: ServerHandle,
}

impl TestNode {
    /// Initialises a node called `name`, imports `documents` (JSON Lines
    /// text; nothing if empty) and serves it with a certificate from `pki`.
    pub async fn start(pki: &Pki, name: &str, documents: &str) -> TestNode {
        TestNode::start_with_policy(pki, name, documents, FIXTURE_POLICY).await
    }

    /// Like [`TestNode::start`], with `policy` as the node's `[policy]`.
    pub async fn start_with_policy(
        pki: &Pki,
        name: &str,
        documents: &str,
        policy: &str,
    ) -> TestNode {
        let folder = NodeDir::init_with_policy(name, policy);
        let node = folder.open();
        if !documents.is_empty() {
            let files = Files::new();
            let path = files.write("documents.jsonl", documents);
            let report = import(&node, &path);
            assert_eq!(
                report.rejected, 0,
                "fixture documents were rejected: {:?}",
                report.rejections
            );
        }
        let tls = pki.material(name, Role::Node);
        TestNode::serve(name, folder.dir, node, &tls).await
    }

    /// Serves an already opened node.
    pub async fn serve(name: &str, data: TempDir, node: Node, tls: &TlsMaterial) -> TestNode {
        let node = Arc::new(node);
        let (tls, served) = (tls.clone(), node.clone());
        let server = serve_loopback(|listener, shutdown| async move {
            tudashalo_node::server::serve(served, listener, &tls, shutdown).await
        })
        .await;
        TestNode {
            name: name.to_string(),
            data,
            node,
            url: server.url(),
            addr: server.addr(),
            server,
        }
    }

    /// Fires the shutdown signal and waits (within the harness's timeout)
    /// for the server to finish, returning what `serve` returned.
    pub async fn stop(self) -> Result<(), StopError<ServeError>> {
        self.server.stop().await
    }

    /// Stops the node for good: its port stays refused ([`DeadPort`]) while
    /// the guard lives.
    pub async fn go_down(self) -> DeadPort {
        let addr = self.addr;
        self.stop().await.expect("the node stops cleanly");
        DeadPort::hold(addr)
    }

    /// Stops the server, drops the node (releasing the store's lock, so
    /// that another process may open it) and returns its data folder.
    pub async fn stop_keeping_data(self) -> TempDir {
        let TestNode {
            data, node, server, ..
        } = self;
        server
            .stop()
            .await
            .expect("serve returns Ok after shutdown");
        drop(node);
        data
    }
}

/// A registry's `/metrics` listener (plain HTTP) on `127.0.0.1:0`, as
/// `serve` starts it from `[metrics]`.
pub struct MetricsServer {
    pub addr: std::net::SocketAddr,
    _server: ServerHandle<std::io::Error>,
}

impl MetricsServer {
    pub async fn start(metrics: Arc<tudashalo_proto::metrics::Metrics>) -> MetricsServer {
        let server = serve_loopback(|listener, shutdown| {
            tudashalo_proto::metrics::http::serve(metrics, listener, shutdown)
        })
        .await;
        MetricsServer {
            addr: server.addr(),
            _server: server,
        }
    }

    /// `GET path` over HTTP/1.1: the status line, the Content-Type and
    /// the body.
    pub async fn get(&self, path: &str) -> (String, String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connecting to the metrics listener");
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("sending");
        let mut answer = String::new();
        guard("reading the scrape", stream.read_to_string(&mut answer))
            .await
            .expect("reading");
        let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head.lines().next().unwrap_or_default().to_string();
        let content_type = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type:")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        (status, content_type, body.to_string())
    }
}

/// Serves `serve(listener, shutdown)` on `127.0.0.1:0` in a task of its
/// own: [`ServerHandle::loopback`], panicking if no port can be bound.
pub async fn serve_loopback<E, F, Fut>(serve: F) -> ServerHandle<E>
where
    E: Send + 'static,
    F: FnOnce(TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    ServerHandle::loopback(serve)
        .await
        .expect("binding 127.0.0.1:0")
}

/// Serves the federation service `service` of the tests' own (an echo, a
/// hostile member) with the fixed TLS configuration `tls` on `127.0.0.1:0`.
pub async fn serve_federation<S: Federation>(service: S, tls: TlsMaterial) -> ServerHandle {
    serve_loopback(|listener, shutdown| async move {
        serve::serve(service, listener, &tls, shutdown).await
    })
    .await
}

/// The configuration of a test hub `name` on `127.0.0.1:0` over `members`
/// (name, url), with `pki`'s certificate for it (role hub) and a deadline
/// of 5 s; adjust its fields before [`TestHub::serve`].
pub fn hub_config(pki: &Pki, name: &str, members: &[(&str, &str)]) -> HubConfig {
    config::hub_config(
        name,
        "127.0.0.1:0",
        &pki.files(name, Role::Hub),
        members.iter().copied(),
    )
}

/// `config` as `hub.toml` text (the one writer, `tudashalo_demo::config`).
pub fn hub_toml(config: &HubConfig) -> String {
    config::hub_toml(config).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Writes `config` to `path` as `hub.toml`.
pub fn write_hub_toml(path: &Path, config: &HubConfig) {
    config::write_hub_toml(path, config, "").unwrap_or_else(|e| panic!("{e:#}"));
}

/// A hub served in-process over mTLS on an ephemeral loopback port. It is
/// configured as an operator's hub is: from a `hub.toml` in its own folder,
/// read by [`HubConfig::load`]. Dropping it fires the shutdown signal.
pub struct TestHub {
    pub url: String,
    /// The configuration as loaded from the file.
    pub config: HubConfig,
    /// The hub being served (its metrics, its members).
    pub hub: Arc<Hub>,
    _dir: TempDir,
    server: ServerHandle,
}

impl TestHub {
    /// Hub `name` over `members` (name, url): [`hub_config`], served.
    pub async fn start(pki: &Pki, name: &str, members: &[(&str, &str)]) -> TestHub {
        TestHub::serve(&hub_config(pki, name, members)).await
    }

    /// Like [`TestHub::start`], trusting `parents` (`[[parent]]`) to relay
    /// through it and to receive partials.
    pub async fn with_parents(
        pki: &Pki,
        name: &str,
        members: &[(&str, &str)],
        parents: &[&str],
    ) -> TestHub {
        let mut config = hub_config(pki, name, members);
        config.parents = parents.iter().map(|name| config::parent(name)).collect();
        TestHub::serve(&config).await
    }

    /// Serves `config`, written to `hub.toml` and loaded back.
    pub async fn serve(config: &HubConfig) -> TestHub {
        TestHub::serve_toml(&hub_toml(config)).await
    }

    /// Serves the hub that `hub.toml` text `toml` configures.
    pub async fn serve_toml(toml: &str) -> TestHub {
        let dir = tempfile::tempdir().expect("tempdir for hub.toml");
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, toml).expect("writing hub.toml");
        let config = HubConfig::load(&path).unwrap_or_else(|e| panic!("hub.toml: {e}\n{toml}"));
        let tls = config.tls_files().load().expect("hub TLS files");
        let hub = Arc::new(Hub::new(&config, &tls).expect("hub"));
        let served = hub.clone();
        let server = serve_loopback(|listener, shutdown| async move {
            tudashalo_hub::server::serve(served, listener, &tls, shutdown).await
        })
        .await;
        TestHub {
            url: server.url(),
            hub,
            config,
            _dir: dir,
            server,
        }
    }

    /// Fires the shutdown signal and waits for the hub to finish cleanly.
    pub async fn stop(self) {
        self.server.stop().await.expect("the hub stops cleanly");
    }

    /// Stops the hub for good: its port stays refused ([`DeadPort`]) while
    /// the guard lives.
    pub async fn go_down(self) -> DeadPort {
        let addr = self.server.addr();
        self.stop().await;
        DeadPort::hold(addr)
    }
}

/// A stopped server's address, held for the rest of a test: every
/// connection is accepted and closed at once, so callers see the member
/// unavailable. Without it the freed ephemeral port may be handed to another
/// test's server running in parallel, and a hub asking the stopped member
/// would reach that one instead (seen as a member timing out rather than
/// being unavailable, under load).
pub struct DeadPort {
    task: tokio::task::JoinHandle<()>,
}

impl DeadPort {
    pub fn hold(addr: std::net::SocketAddr) -> DeadPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        // The stopped server's connections may linger in TIME_WAIT.
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(addr)
            .unwrap_or_else(|e| panic!("holding the stopped server's port {addr}: {e}"));
        let listener = socket.listen(16).expect("listening");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        DeadPort { task }
    }
}

impl Drop for DeadPort {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A federation service of the tests' own: it answers `Info` with the
/// caller's principal, `TermStats` and `Search` with nothing, and records
/// the serial of every client certificate it sees (a member that shows
/// which hub certificate was used). Clones share the record.
#[derive(Clone, Default)]
pub struct Echo {
    serials: Arc<Mutex<Vec<String>>>,
}

impl Echo {
    fn record<T>(&self, request: &tonic::Request<T>) {
        if let Some(serial) = request
            .peer_certs()
            .and_then(|c| c.first().and_then(|c| serial_of_der(c.as_ref())))
        {
            self.serials
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(serial);
        }
    }

    /// The serial of the last client certificate seen.
    pub fn last_serial(&self) -> Option<String> {
        self.serials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .last()
            .cloned()
    }
}

/// The serial of a DER certificate as `pki` prints it (lowercase hex,
/// no leading zero bytes).
pub fn serial_of_der(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let bytes = cert.raw_serial();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    Some(bytes[start..].iter().map(|b| format!("{b:02x}")).collect())
}

#[tonic::async_trait]
impl Federation for Echo {
    async fn network(
        &self,
        _request: tonic::Request<pb::NetworkRequest>,
    ) -> Result<tonic::Response<pb::NetworkResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not this test's server"))
    }

    type WatchVersionStream = tokio_stream::Empty<Result<pb::DataVersion, tonic::Status>>;

    async fn watch_version(
        &self,
        _request: tonic::Request<pb::WatchVersionRequest>,
    ) -> Result<tonic::Response<Self::WatchVersionStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not this test's server"))
    }

    async fn info(
        &self,
        request: tonic::Request<pb::InfoRequest>,
    ) -> Result<tonic::Response<pb::InfoResponse>, Status> {
        self.record(&request);
        let who = peer_principal(&request)
            .ok_or_else(|| Status::unauthenticated("no principal on this connection"))?;
        Ok(tonic::Response::new(pb::InfoResponse {
            name: who.name,
            role: who.role.to_string(),
            ..Default::default()
        }))
    }

    async fn term_stats(
        &self,
        request: tonic::Request<pb::SearchRequest>,
    ) -> Result<tonic::Response<pb::TermStatsResponse>, Status> {
        self.record(&request);
        Ok(tonic::Response::new(pb::TermStatsResponse::default()))
    }

    async fn search(
        &self,
        request: tonic::Request<pb::SearchRequest>,
    ) -> Result<tonic::Response<pb::SearchResponse>, Status> {
        self.record(&request);
        Ok(tonic::Response::new(pb::SearchResponse::default()))
    }

    async fn get_document(
        &self,
        _: tonic::Request<pb::GetDocumentRequest>,
    ) -> Result<tonic::Response<pb::GetDocumentResponse>, Status> {
        Err(Status::unimplemented("echo"))
    }

    type AggregateStream = tokio_stream::Empty<Result<pb::AggregateChunk, Status>>;

    async fn aggregate(
        &self,
        _: tonic::Request<pb::AggregateRequest>,
    ) -> Result<tonic::Response<Self::AggregateStream>, Status> {
        Err(Status::unimplemented("echo"))
    }

    type GetOriginalStream = tokio_stream::Empty<Result<pb::OriginalChunk, Status>>;

    async fn get_original(
        &self,
        _: tonic::Request<pb::GetDocumentRequest>,
    ) -> Result<tonic::Response<Self::GetOriginalStream>, Status> {
        Err(Status::unimplemented("echo"))
    }
}

/// [`Echo`] on an ephemeral loopback port, served by the same
/// `tudashalo_proto::serve` functions as nodes and hubs; stops when dropped.
pub struct EchoServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    pub echo: Echo,
    tls: Option<ReloadingTls>,
    server: ServerHandle,
}

impl EchoServer {
    /// Served with `serve_reloading` and the files `files`, reloaded only
    /// by `reload_now()`.
    pub async fn reloading(files: TlsFiles) -> EchoServer {
        EchoServer::serve_reloading(ReloadingTls::manual(files).expect("server TLS")).await
    }

    /// Served with `serve_reloading`, watched (SIGHUP, file changes).
    pub async fn watched(files: TlsFiles) -> EchoServer {
        EchoServer::serve_reloading(ReloadingTls::new(files).expect("server TLS")).await
    }

    async fn serve_reloading(tls: ReloadingTls) -> EchoServer {
        let (echo, reloading) = (Echo::default(), tls.clone());
        let served = echo.clone();
        let server = serve_loopback(|listener, shutdown| {
            serve::serve_reloading(served, listener, reloading, shutdown)
        })
        .await;
        EchoServer::new(echo, Some(tls), server)
    }

    /// Served with the fixed-configuration `serve`.
    pub async fn fixed(material: TlsMaterial) -> EchoServer {
        let echo = Echo::default();
        let server = serve_federation(echo.clone(), material).await;
        EchoServer::new(echo, None, server)
    }

    fn new(echo: Echo, tls: Option<ReloadingTls>, server: ServerHandle) -> EchoServer {
        EchoServer {
            url: server.url(),
            addr: server.addr(),
            echo,
            tls,
            server,
        }
    }

    /// The reloading TLS configuration (not of a [`EchoServer::fixed`] one).
    pub fn tls(&self) -> &ReloadingTls {
        self.tls.as_ref().expect("a reloading server")
    }

    /// Stops the server and returns what `serve` returned.
    pub async fn stop(self) -> Result<(), StopError<ServeError>> {
        self.server.stop().await
    }
}

/// A binary of the workspace next to this test executable, built first so
/// that it matches the sources (cargo builds other packages' binaries only
/// for their own tests).
pub fn workspace_binary(bin: &str) -> PathBuf {
    use std::sync::OnceLock;
    static BUILT: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf();
    let binary = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().expect("lock");
    if !built.iter().any(|b| b == bin) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        // Every binary of the workspace with the workspace's own feature
        // set: the same dependency builds `cargo test --workspace` made, so
        // this links our binaries and compiles nothing else.
        build.args(["build", "--quiet", "--workspace", "--bins"]);
        // Not the variables cargo sets for this test: build scripts that
        // watch them (ring's watches CARGO_MANIFEST_DIR) would rebuild half
        // the tree, and the next plain `cargo build` would rebuild it back.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || matches!(
                    &*key,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                )
            {
                build.env_remove(&*key);
            }
        }
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        if let Some(profile) = profile_dir.file_name().and_then(|n| n.to_str())
            && profile != "debug"
        {
            build.args(["--profile", profile]);
        }
        // A failed build fails the test, with what cargo said: an older
        // binary left in the target folder would test other sources.
        let output = build
            .output()
            .unwrap_or_else(|e| panic!("running cargo build for {bin}: {e}"));
        assert!(
            output.status.success(),
            "building {bin} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(binary.exists(), "cargo built no {}", binary.display());
        built.push(bin.to_string());
    }
    binary
}

/// Runs `tudashalo-node ARGS...`: (exit code, stdout); stderr is printed.
/// "in use" (sled's lock, released a moment after a node is dropped) is
/// retried within [`HANG_GUARD`].
pub fn node_cli<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (Option<i32>, String) {
    let binary = workspace_binary("tudashalo-node");
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    let started = std::time::Instant::now();
    loop {
        let output = Command::new(&binary)
            .args(args)
            .env("TUDASHALO_LOG", "warn")
            .output()
            .unwrap_or_else(|e| panic!("running tudashalo-node {shown:?}: {e}"));
        let stdout = String::from_utf8(output.stdout).expect("UTF-8");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("in use by another process") && started.elapsed() < HANG_GUARD {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        eprintln!("{shown:?}: {stdout}{stderr}");
        return (output.status.code(), stdout);
    }
}

/// A server binary of ours as a real process (`tudashalo-node serve`,
/// `tudashalo-hub serve`), its log (stderr) in `log`; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    /// `https://127.0.0.1:PORT`, as the server printed it once listening.
    pub url: String,
    pub log: PathBuf,
    binary: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts `binary` with the arguments and settings `configure` gives
    /// it, and waits for the line naming its address.
    pub fn start(binary: &str, log: &Path, configure: impl FnOnce(&mut Command)) -> ServerProcess {
        let log_file = std::fs::File::create(log).expect("log file");
        let mut command = Command::new(workspace_binary(binary));
        configure(&mut command);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("reading {binary}'s address: {e}"));
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{binary}: unexpected output {line:?}; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        ServerProcess {
            url: url.to_string(),
            child,
            log: log.to_path_buf(),
            binary: binary.to_string(),
        }
    }

    /// `tudashalo-hub serve --config CONFIG` in `work` (the current folder
    /// if `None`) at log level `level`.
    pub fn hub(config: &Path, work: Option<&Path>, log: &Path, level: &str) -> ServerProcess {
        ServerProcess::hub_logging(config, work, log, level, "auto")
    }

    /// [`ServerProcess::hub`] with `--log-format format`.
    pub fn hub_logging(
        config: &Path,
        work: Option<&Path>,
        log: &Path,
        level: &str,
        format: &str,
    ) -> ServerProcess {
        ServerProcess::start("tudashalo-hub", log, |command| {
            command
                .args(["--log-format", format, "serve", "--config"])
                .arg(config)
                .env("TUDASHALO_LOG", level);
            if let Some(work) = work {
                command.current_dir(work);
            }
        })
    }

    /// `tudashalo-node serve` on the node folder `data` on `127.0.0.1:0`,
    /// with the TLS files `tls`.
    pub fn node(data: &Path, tls: &TlsFiles, log: &Path) -> ServerProcess {
        ServerProcess::start("tudashalo-node", log, |command| {
            command.args(config::node_serve_args(data, tls));
        })
    }

    /// Panics unless the process is still running (it did not abort).
    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!(
                "{} died ({status}); log:\n{}",
                self.binary,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// `tudashalo-node serve` on a node folder, with `pki`'s certificate for
/// the node; the folder and the log are kept while it runs.
pub struct NodeProcess {
    pub process: ServerProcess,
    _folder: NodeDir,
    _logs: TempDir,
}

impl NodeProcess {
    /// Serves `folder` (closed: the process opens it) as node `folder.name`.
    pub fn start(pki: &Pki, folder: NodeDir) -> NodeProcess {
        let logs = tempfile::tempdir().expect("log dir");
        let tls = pki.files(&folder.name, Role::Node);
        let process = ServerProcess::node(folder.path(), &tls, &logs.path().join("node.log"));
        NodeProcess {
            process,
            _folder: folder,
            _logs: logs,
        }
    }
}

/// `tudashalo-hub serve` on a `hub.toml` written from a configuration, in
/// a folder of its own that also holds the log.
pub struct HubProcess {
    pub process: ServerProcess,
    _dir: TempDir,
}

impl HubProcess {
    pub fn start(config: &HubConfig) -> HubProcess {
        let dir = tempfile::tempdir().expect("hub dir");
        let path = dir.path().join("hub.toml");
        write_hub_toml(&path, config);
        let process = ServerProcess::hub(&path, None, &dir.path().join("hub.log"), "info");
        HubProcess { process, _dir: dir }
    }
}

/// Asserts a `PermissionDenied` whose message contains every one of `parts`.
pub fn assert_denied<T: std::fmt::Debug>(result: Result<T, Status>, parts: &[&str]) {
    let status = result.expect_err("expected a refusal");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    for part in parts {
        assert!(
            status.message().contains(part),
            "{:?} lacks {part:?}",
            status.message()
        );
    }
}

/// `message` with the relay headers (each only if given), spelled out as a
/// client compiled from `proto/` would send them, not taken from our own
/// constants: a renamed header must fail the tests.
pub fn relayed<T>(message: T, on_behalf_of: Option<&str>, via: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = on_behalf_of {
        request.metadata_mut().insert(
            "tudashalo-on-behalf-of",
            value.parse().expect("ASCII header"),
        );
    }
    if let Some(value) = via {
        request
            .metadata_mut()
            .insert("tudashalo-via", value.parse().expect("ASCII header"));
    }
    request
}

/// A DOCX of one paragraph per entry of `paragraphs`, with a tracked
/// deletion of `deleted` in the first, built as Word lays one out.
pub fn docx(paragraphs: &[&str], deleted: &str) -> Vec<u8> {
    use std::io::Write;
    let mut body = String::new();
    for (i, p) in paragraphs.iter().enumerate() {
        body.push_str(&format!(
            "<w:p><w:r><w:t xml:space=\"preserve\">{p}</w:t></w:r>"
        ));
        if i == 0 {
            body.push_str(&format!(
                "<w:del w:id=\"1\" w:author=\"X\"><w:r><w:delText>{deleted}</w:delText></w:r></w:del>"
            ));
        }
        body.push_str("</w:p>");
    }
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer
        .start_file("[Content_Types].xml", options)
        .expect("zip");
    writer.write_all(b"<Types/>").expect("zip");
    writer
        .start_file("word/document.xml", options)
        .expect("zip");
    writer.write_all(document.as_bytes()).expect("zip");
    writer.finish().expect("zip").into_inner()
}

pub use tudashalo_demo::generate::files::{ods, pdf, pdf_pages, xlsx};

/// Starts a server process and reads its stdout until it has printed
/// every line starting with one of `prefixes`; returns the rest of each.
pub fn spawn_server(mut command: Command, prefixes: &[&str]) -> (Child, HashMap<String, String>) {
    command
        .env("TUDASHALO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut found = HashMap::new();
    while found.len() < prefixes.len() {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!("server exited before printing {prefixes:?} (got {found:?})");
        };
        for p in prefixes {
            if let Some(rest) = line.strip_prefix(p) {
                found.insert((*p).to_string(), rest.trim().to_string());
            }
        }
    }
    // Keep draining stdout so that the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    (child, found)
}
