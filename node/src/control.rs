//! The serving node's control socket, `DIR/control.sock`: how a command run
//! beside a serving node (`tudashalo-node backup`) asks it for what only the
//! process holding sled's lock can do.
//!
//! It is a Unix socket in the data folder, readable and writable by its
//! owner only (mode 0600): whoever can connect could read the store's files
//! anyway, so the file permissions are the authentication, as with
//! PostgreSQL's local socket. Nothing outside the machine reaches it, and it
//! speaks no gRPC: a request is one JSON line (`{"command":"backup"}`, at
//! most [`MAX_REQUEST_BYTES`], within [`REQUEST_TIMEOUT`]), the reply one
//! JSON line (`{"ok":true}` or `{"ok":false,"error":"…"}`) and, for a
//! backup, the backup file's bytes until the server closes. One backup runs
//! at a time, at most [`MAX_CONNECTIONS`] connections are open, and a
//! client that stops reading for [`WRITE_TIMEOUT`] is dropped (its backup
//! ends with the reason, and writes to the store go on).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::node::Node;

/// The socket's name in the data folder.
pub const SOCKET: &str = "control.sock";
/// The longest request line.
pub const MAX_REQUEST_BYTES: u64 = 4096;
/// How long a client has to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server waits for a client that does not read.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections open at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 4;

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    command: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Where the control socket of the data folder `dir` is.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

#[cfg(unix)]
pub use unix::{ControlSocket, backup_via_socket};

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use tokio::net::UnixListener;

    /// A bound control socket, removed when served to the end.
    #[derive(Debug)]
    pub struct ControlSocket {
        listener: UnixListener,
        path: PathBuf,
    }

    impl ControlSocket {
        /// Binds `DIR/control.sock`, replacing one a dead server left (the
        /// caller holds the store's lock, so no live server owns it).
        pub fn bind(dir: &Path) -> Result<ControlSocket> {
            let path = socket_path(dir);
            let io = |e| Error::io(format!("control socket {}", path.display()), e);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                _ => {}
            }
            let listener = UnixListener::bind(&path).map_err(io)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            Ok(ControlSocket { listener, path })
        }

        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Answers requests until `shutdown`, then removes the socket.
        pub async fn serve(self, node: Arc<Node>, shutdown: impl Future<Output = ()>) {
            let busy = Arc::new(AtomicBool::new(false));
            let open = Arc::new(AtomicUsize::new(0));
            tokio::pin!(shutdown);
            loop {
                let accepted = tokio::select! {
                    () = &mut shutdown => break,
                    accepted = self.listener.accept() => accepted,
                };
                let stream = match accepted.and_then(|(s, _)| s.into_std()) {
                    Ok(stream) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket: accept failed");
                        // Out of descriptors, say: do not spin.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                    open.fetch_sub(1, Ordering::AcqRel);
                    tracing::warn!(
                        limit = MAX_CONNECTIONS,
                        "control socket: too many connections; closed one"
                    );
                    continue;
                }
                let (node, busy, open) = (node.clone(), busy.clone(), open.clone());
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = answer(&node, stream, &busy) {
                        tracing::warn!(error = %e, "control socket: request failed");
                    }
                    open.fetch_sub(1, Ordering::AcqRel);
                });
            }
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Answers one connection (blocking).
    fn answer(
        node: &Node,
        stream: std::os::unix::net::UnixStream,
        busy: &AtomicBool,
    ) -> Result<()> {
        let io = |e| Error::io("control socket", e);
        stream.set_nonblocking(false).map_err(io)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(io)?;
        let mut line = Vec::new();
        std::io::BufReader::new(std::io::Read::take(&stream, MAX_REQUEST_BYTES))
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        let mut out = &stream;
        let refuse = |mut out: &std::os::unix::net::UnixStream, error: String| {
            let reply = Reply {
                ok: false,
                error: Some(error),
            };
            let _ = serde_json::to_writer(&mut out, &reply);
            let _ = out.write_all(b"\n");
        };
        let request: Request = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => {
                refuse(
                    &stream,
                    format!(
                        "not a request: {e} (one JSON line of at most {MAX_REQUEST_BYTES} bytes, within {} s)",
                        REQUEST_TIMEOUT.as_secs()
                    ),
                );
                return Ok(());
            }
        };
        if request.command != "backup" {
            refuse(
                &stream,
                format!("unknown command {:?}; known: backup", request.command),
            );
            return Ok(());
        }
        if busy.swap(true, Ordering::AcqRel) {
            refuse(
                &stream,
                "a backup is already running; try again when it has finished".into(),
            );
            return Ok(());
        }
        let started = std::time::Instant::now();
        let result = (|| {
            serde_json::to_writer(
                &mut out,
                &Reply {
                    ok: true,
                    error: None,
                },
            )
            .map_err(|e| Error::Internal(e.to_string()))?;
            out.write_all(b"\n").map_err(io)?;
            let sink = node.backup(std::io::BufWriter::new(out))?;
            sink.into_inner()
                .map_err(|e| Error::io("control socket", e.into_error()))?;
            Ok(())
        })();
        busy.store(false, Ordering::Release);
        match &result {
            Ok(()) => tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                "backup sent over the control socket"
            ),
            Err(e) => tracing::warn!(error = %e, "backup over the control socket failed"),
        }
        result
    }

    /// Asks the node serving `dir` for a backup and writes it into `out`;
    /// returns the bytes written, or `None` if no node serves there (no
    /// socket, or one a dead server left).
    pub fn backup_via_socket(dir: &Path, out: &mut dyn Write) -> Result<Option<u64>> {
        let path = socket_path(dir);
        let fail = |message: String| Error::Backup {
            file: path.clone(),
            message,
        };
        let stream = match std::os::unix::net::UnixStream::connect(&path) {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(fail(format!("cannot connect: {e}"))),
        };
        (&stream)
            .write_all(b"{\"command\":\"backup\"}\n")
            .map_err(|e| fail(format!("cannot send the request: {e}")))?;
        let mut input = std::io::BufReader::new(&stream);
        let mut line = Vec::new();
        // Through the one buffer: the backup's bytes follow the line.
        std::io::Read::take(&mut input, MAX_REQUEST_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(|e| fail(format!("no reply: {e}")))?;
        let reply: Reply = serde_json::from_slice(&line)
            .map_err(|e| fail(format!("not a reply ({e}); is this a tudashalo-node?")))?;
        if !reply.ok {
            return Err(fail(format!(
                "the node refused: {}",
                reply.error.unwrap_or_default()
            )));
        }
        let bytes = std::io::copy(&mut input, out)
            .map_err(|e| fail(format!("the backup stopped arriving: {e}")))?;
        Ok(Some(bytes))
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The control socket against hostile local clients: garbage, unknown
    //! commands and over-long requests are refused with a reason, and a
    //! backup asked for through it reads back whole.

    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    use super::*;

    fn ask(dir: &Path, request: &[u8]) -> String {
        let mut stream = UnixStream::connect(socket_path(dir)).unwrap();
        stream.write_all(request).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hostile_requests_are_refused_and_a_backup_reads_back() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("node");
        Node::init(&dir, "proba", None).unwrap();
        let node = Arc::new(Node::open(&dir).unwrap());
        let socket = ControlSocket::bind(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(socket.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(socket.serve(node, async {
            let _ = stopped.await;
        }));

        let d = dir.clone();
        let replies = tokio::task::spawn_blocking(move || {
            // As long as the limit and no line end: read to the limit, refused.
            // (Longer still, the rest is left unread and the reply may be
            // lost to the connection's reset: refused all the same.)
            let long = vec![b'x'; MAX_REQUEST_BYTES as usize];
            [
                ask(&d, b"not json\n"),
                ask(&d, b"{\"command\":\"drop\"}\n"),
                ask(&d, &long),
            ]
        })
        .await
        .unwrap();
        assert!(replies[0].contains("not a request"), "{}", replies[0]);
        assert!(replies[1].contains("unknown command"), "{}", replies[1]);
        assert!(
            replies[2].contains(&MAX_REQUEST_BYTES.to_string()),
            "{}",
            replies[2]
        );
        for reply in &replies {
            assert!(reply.starts_with("{\"ok\":false"), "{reply}");
        }

        let (d, file) = (dir.clone(), temp.path().join("b.thbak"));
        let f = file.clone();
        let bytes = tokio::task::spawn_blocking(move || {
            let mut out = std::fs::File::create(&f).unwrap();
            backup_via_socket(&d, &mut out).unwrap()
        })
        .await
        .unwrap();
        assert!(bytes.unwrap() > 0);
        let summary = crate::backup::check(&file, &|_| {}).unwrap();
        assert_eq!(summary.manifest.node, "proba");

        stop.send(()).unwrap();
        served.await.unwrap();
        assert!(!socket_path(&dir).exists(), "removed at shutdown");
        // No server: the command falls back to the folder.
        let mut sink = Vec::new();
        assert!(backup_via_socket(&dir, &mut sink).unwrap().is_none());
    }
}
