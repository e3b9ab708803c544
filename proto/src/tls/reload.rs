//! [`ReloadingTls`]: a configuration that follows its files while the
//! process runs.
//!
//! A reload happens on SIGHUP, when a watched file's modification time,
//! size or inode changes, or when asked. Only a configuration that loads
//! completely replaces the one in force; a broken one is logged and the old
//! one stays, and a CRL in force that disappears counts as broken (more
//! likely an accident than a decision to trust every revoked certificate
//! again). After a successful reload every live connection is checked
//! again.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;

use super::config::Loaded;
use super::crl::now_secs;
use super::files::{TlsFiles, TlsMaterial};
use super::live::LiveConnections;
use super::{RELOAD_POLL, TlsError, TlsOptions};

/// A TLS configuration (server and client side) that follows its files.
///
/// Cheap to clone (all clones share the configuration). [`ReloadingTls::current`]
/// is what a newly accepted connection uses, and a [`ClientTls`] made from it
/// uses the same files for new outgoing connections; [`ReloadingTls::reload_now`]
/// re-reads the files and swaps the configuration in if they are good, and
/// keeps the old one (logging why) if they are not. [`ReloadingTls::watch`]
/// does that on SIGHUP and whenever a file's modification time, size or
/// inode changes; [`crate::serve::serve_reloading`] runs the watcher for the
/// server's lifetime.
///
/// After each successful reload every live connection registered with it
/// ([`ReloadingTls::connections`]) is checked again, and those whose peer is
/// no longer accepted are closed.
#[derive(Debug, Clone)]
pub struct ReloadingTls {
    pub(super) inner: Arc<ReloadInner>,
}

#[derive(Debug)]
pub(super) struct ReloadInner {
    files: TlsFiles,
    options: TlsOptions,
    poll: Option<Duration>,
    current: RwLock<Arc<Loaded>>,
    state: Mutex<ReloadState>,
    generations: tokio::sync::watch::Sender<u64>,
    pub(super) connections: Arc<LiveConnections>,
}

#[derive(Debug)]
struct ReloadState {
    stamps: Vec<Option<FileStamp>>,
    generation: u64,
    crl_in_force: Option<PathBuf>,
}

/// What we compare to notice that a file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl ReloadingTls {
    /// Loads `files` now; fails (naming the file at fault) if they are not
    /// usable, so that a server does not start with a broken configuration.
    ///
    /// [`crate::serve::serve_reloading`] watches it (SIGHUP, and the files
    /// every [`RELOAD_POLL`]) while serving.
    pub fn new(files: TlsFiles) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, TlsOptions::default(), Some(RELOAD_POLL))
    }

    /// Like [`ReloadingTls::new`], with `options` (the CRL grace period).
    pub fn with_options(files: TlsFiles, options: TlsOptions) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, options, Some(RELOAD_POLL))
    }

    /// Like [`ReloadingTls::new`], but only [`ReloadingTls::reload_now`] (and
    /// [`ReloadingTls::reload_if_changed`]) reload it: no SIGHUP handling or
    /// polling while serving. For tests that must control every reload.
    pub fn manual(files: TlsFiles) -> Result<ReloadingTls, TlsError> {
        ReloadingTls::with_watch(files, TlsOptions::default(), None)
    }

    fn with_watch(
        files: TlsFiles,
        options: TlsOptions,
        poll: Option<Duration>,
    ) -> Result<ReloadingTls, TlsError> {
        let stamps = stamps(&files);
        let material = files.load_with(options)?;
        let crl_in_force = material.crl_path.clone();
        let loaded = Loaded::new(material)?;
        Ok(ReloadingTls {
            inner: Arc::new(ReloadInner {
                files,
                options,
                poll,
                current: RwLock::new(Arc::new(loaded)),
                state: Mutex::new(ReloadState {
                    stamps,
                    generation: 1,
                    crl_in_force,
                }),
                generations: tokio::sync::watch::Sender::new(1),
                connections: Arc::default(),
            }),
        })
    }

    /// How often a server watches the files (`None`: made with
    /// [`ReloadingTls::manual`], not watched).
    pub fn poll_interval(&self) -> Option<Duration> {
        self.inner.poll
    }

    /// The files this configuration is loaded from.
    pub fn files(&self) -> &TlsFiles {
        &self.inner.files
    }

    /// The options it was made with.
    pub fn options(&self) -> TlsOptions {
        self.inner.options
    }

    /// The server configuration new connections use now.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.loaded().server.clone()
    }

    /// The material (certificate, key, CA, CRL) loaded last.
    pub fn material(&self) -> TlsMaterial {
        self.loaded().material.clone()
    }

    /// The earliest `nextUpdate` (Unix seconds) of the CRL in force, if a
    /// CRL is configured and names one: what the metrics report, so that an
    /// alert fires before the CRL goes stale.
    pub fn crl_next_update(&self) -> Option<i64> {
        self.loaded().crl.as_ref().and_then(|crl| crl.next_update())
    }

    /// The connections made and accepted with this configuration that are
    /// open now.
    pub fn connections(&self) -> &Arc<LiveConnections> {
        &self.inner.connections
    }

    pub(super) fn loaded(&self) -> Arc<Loaded> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many configurations have been loaded successfully (1 after
    /// [`ReloadingTls::new`]; each successful reload adds one).
    pub fn generation(&self) -> u64 {
        self.lock_state().generation
    }

    /// Notified with the new [`ReloadingTls::generation`] after every
    /// successful reload (e.g. to wait for a SIGHUP to take effect).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.generations.subscribe()
    }

    /// Re-reads the files now. On success the new configuration is used for
    /// every connection made or accepted from now on, and every live
    /// connection whose peer it refuses is closed before this returns (the
    /// close itself completes on the connection's own task). On failure the
    /// previous configuration stays in force; the error names the file at
    /// fault and is also logged.
    pub fn reload_now(&self) -> Result<(), TlsError> {
        let mut state = self.lock_state();
        // Stamps first: a change while we read is noticed by the next poll.
        state.stamps = stamps(&self.inner.files);
        match self.load(&state) {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = loaded.clone();
                state.generation += 1;
                state.crl_in_force = loaded.material.crl_path.clone();
                let closed = self.inner.connections.sweep(&loaded);
                self.inner.generations.send_replace(state.generation);
                tracing::info!(
                    cert = %self.inner.files.cert.display(),
                    crl = ?state.crl_in_force,
                    generation = state.generation,
                    closed,
                    "TLS configuration reloaded"
                );
                Ok(())
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "TLS configuration not reloaded; the previous one stays in force"
                );
                Err(e)
            }
        }
    }

    /// Reloads if any watched file changed since the last load attempt.
    /// `None` if nothing changed.
    pub fn reload_if_changed(&self) -> Option<Result<(), TlsError>> {
        let changed = self.lock_state().stamps != stamps(&self.inner.files);
        changed.then(|| self.reload_now())
    }

    /// Spawns the watcher: reloads on SIGHUP (unix) and when a file changes
    /// (looked at every `poll`), and logs a stale CRL (hourly within its
    /// grace). It runs until the handle is aborted.
    ///
    /// SIGHUP is listened for before this returns, not when the task first
    /// runs: a signal sent once `watch` has returned is never missed.
    pub fn watch(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let tls = self.clone();
        let mut hangup = hangup_signal();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(poll);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {
                        let _ = tls.reload_if_changed();
                        if let Some(crl) = &tls.loaded().crl {
                            crl.log(&crl.freshness(now_secs()), false);
                        }
                    }
                    got = next_hangup(&mut hangup) => {
                        if got {
                            tracing::info!("SIGHUP: reloading TLS configuration");
                            let _ = tls.reload_now();
                        } else {
                            hangup = None;
                        }
                    }
                }
            }
        })
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, ReloadState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn load(&self, state: &ReloadState) -> Result<Loaded, TlsError> {
        let files = &self.inner.files;
        // A CRL in force that disappears is more likely an accident than a
        // decision to trust every revoked certificate again.
        if let Some(crl) = &state.crl_in_force
            && files.crl.is_none()
            && !crl.exists()
        {
            return Err(TlsError::Invalid {
                path: crl.clone(),
                problem: "the revocation list in force has disappeared; keeping it (restart the server to run without one)".into(),
            });
        }
        Loaded::new(files.load_with(self.inner.options)?)
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS files are still watched");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// `true` on a SIGHUP; `false` if signals can no longer arrive; pending if
/// there is no signal stream.
async fn next_hangup(hangup: &mut Hangup) -> bool {
    match hangup {
        #[cfg(unix)]
        Some(s) => s.recv().await.is_some(),
        #[cfg(not(unix))]
        Some(()) => std::future::pending().await,
        None => std::future::pending().await,
    }
}

fn stamps(files: &TlsFiles) -> Vec<Option<FileStamp>> {
    files
        .watched()
        .iter()
        .map(|path| {
            let meta = std::fs::metadata(path).ok()?;
            #[cfg(unix)]
            let inode = std::os::unix::fs::MetadataExt::ino(&meta);
            #[cfg(not(unix))]
            let inode = 0;
            Some(FileStamp {
                modified: meta.modified().ok(),
                len: meta.len(),
                inode,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tls::files::tests::files;

    #[test]
    fn stamps_notice_new_replaced_and_removed_files() {
        let tmp = tempfile::tempdir().unwrap();
        let files = files(tmp.path());
        let none = stamps(&files);
        assert!(none.iter().all(Option::is_none));
        std::fs::write(&files.ca, "one").unwrap();
        let one = stamps(&files);
        assert_ne!(one, none);
        // Replaced by a rename, as the PKI tooling does: same size, new inode.
        let tmp_file = tmp.path().join(".ca.pem.tmp");
        std::fs::write(&tmp_file, "two").unwrap();
        std::fs::rename(&tmp_file, &files.ca).unwrap();
        assert_ne!(stamps(&files), one);
        std::fs::remove_file(&files.ca).unwrap();
        assert_eq!(stamps(&files), none);
    }
}
