//! Shared fixtures: a throw-away PKI, nodes served over mTLS on
//! `127.0.0.1:0`, clients, and small helpers for files and documents.
//!
//! Everything is real: certificates come from `tudashalo_pki`, nodes are
//! `tudashalo_node::Node`s on sled and tantivy in temporary folders, and the
//! server is `tudashalo_node::server::serve` over rustls.

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
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tudashalo_node::Node;
use tudashalo_node::node::{FileReport, ImportOptions};
use tudashalo_node::server::{self, ServeError};
use tudashalo_pki::{self as pki, IssueRequest, Role};
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::tls::{TlsFiles, TlsMaterial};

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

/// Replaces the `[policy]` section (the last one of the `node.toml` that
/// `init` writes) of the node in `dir` with `policy` (TOML text starting
/// with `[policy]`).
pub fn set_policy(dir: &Path, policy: &str) {
    let path = dir.join("node.toml");
    let text = std::fs::read_to_string(&path).expect("reading node.toml");
    let head = match text.find("\n[policy]\n") {
        Some(at) => &text[..=at],
        None => text.as_str(),
    };
    std::fs::write(&path, format!("{head}\n{policy}")).expect("writing node.toml");
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

    /// Writes `bytes` to `name` in the folder and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
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
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let (shutdown, signal) = oneshot::channel::<()>();
        let tls = tls.clone();
        let served = node.clone();
        let task = tokio::spawn(async move {
            server::serve(served, listener, &tls, async {
                // A dropped sender also means "stop".
                let _ = signal.await;
            })
            .await
        });
        TestNode {
            name: name.to_string(),
            data,
            node,
            url: format!("https://{addr}"),
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Fires the shutdown signal and waits (within [`HANG_GUARD`]) for the
    /// server task to finish, returning what `serve` returned.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let task = self.task.take().expect("server task");
        guard("server shutdown", task)
            .await
            .expect("server task panicked")
    }

    /// Stops the server, drops the node (releasing the store's lock, so
    /// that another process may open it) and returns its data folder.
    pub async fn stop_keeping_data(mut self) -> TempDir {
        let data = std::mem::replace(
            &mut self.data,
            tempfile::tempdir().expect("tempdir placeholder"),
        );
        self.stop().await.expect("serve returns Ok after shutdown");
        data
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A binary of the workspace next to this test executable, built first so
/// that it matches the sources (cargo builds other packages' binaries only
/// for their own tests).
pub fn workspace_binary(bin: &str) -> PathBuf {
    use std::process::Command;
    use std::sync::{Mutex, OnceLock};
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
        let status = build.status();
        if !matches!(status, Ok(s) if s.success()) && !binary.exists() {
            panic!("building {bin} failed: {status:?}");
        }
        built.push(bin.to_string());
    }
    binary
}

/// `tudashalo-hub serve --config CONFIG` as a real process, its log (stderr)
/// in `log`; killed when dropped.
pub struct HubProcess {
    pub child: Child,
    /// `https://127.0.0.1:PORT`, as the hub printed it once listening.
    pub url: String,
    pub log: PathBuf,
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HubProcess {
    /// Starts the hub in `work` (the current folder if `None`) at log level
    /// `level`, and waits for the line naming its address.
    pub fn start(config: &Path, work: Option<&Path>, log: &Path, level: &str) -> HubProcess {
        let log_file = std::fs::File::create(log).expect("log file");
        let mut command = Command::new(workspace_binary("tudashalo-hub"));
        command
            .args(["serve", "--config"])
            .arg(config)
            .env("TUDASHALO_LOG", level)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        if let Some(work) = work {
            command.current_dir(work);
        }
        let mut child = command.spawn().expect("starting tudashalo-hub");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the hub's address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected output {line:?}"))
            .to_string();
        HubProcess {
            child,
            url,
            log: log.to_path_buf(),
        }
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
