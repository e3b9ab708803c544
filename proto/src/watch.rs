//! `WatchVersion`, as node and hub both serve it: a bounded number of open
//! watches, and one loop that sends a version at once, whenever it changes,
//! and again every [`HEARTBEAT`] so that the watcher can tell a silent
//! stream from a live one.
//!
//! A watch is a long-lived stream, so it is a resource a hostile
//! certificate holder could pile up: at most [`MAX_WATCHES_PER_PRINCIPAL`]
//! per principal and [`MAX_WATCHES`] in all are open at once, and one more
//! is refused with `ResourceExhausted` naming the limit. A refused or ended
//! watch costs a hub nothing but speed: without a live version it asks
//! every member again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tokio::sync::watch::Receiver;
use tonic::Status;

use crate::pb;

/// How often the current version is sent again when it has not changed.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a watcher waits for a message before it calls the stream dead:
/// two heartbeats and a margin.
pub const SILENCE: Duration = Duration::from_secs(40);
/// Open watches a server serves at once, over all callers.
pub const MAX_WATCHES: usize = 64;
/// Open watches one principal may hold at once.
pub const MAX_WATCHES_PER_PRINCIPAL: usize = 4;

/// The open watches, by principal, and whether the server is closing.
#[derive(Debug, Clone)]
pub struct Watches {
    open: Arc<Mutex<HashMap<String, usize>>>,
    /// Set when the server shuts down: a graceful shutdown waits for open
    /// streams, and a watch would otherwise never end.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Watches {
    fn default() -> Self {
        Watches {
            open: Arc::default(),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }
}

/// One open watch; dropping it frees the slot.
#[derive(Debug)]
pub struct WatchSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    principal: String,
    closing: Receiver<bool>,
}

impl Watches {
    /// A slot for one more watch by `principal`, or the limit it meets.
    pub fn open(&self, principal: &str) -> Result<WatchSlot, Status> {
        if *self.closing.borrow() {
            return Err(Status::unavailable("the server is shutting down"));
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        if total >= MAX_WATCHES {
            return Err(Status::resource_exhausted(format!(
                "at most {MAX_WATCHES} version watches are open at once (WatchVersion); try again later"
            )));
        }
        let mine = open.entry(principal.to_string()).or_default();
        if *mine >= MAX_WATCHES_PER_PRINCIPAL {
            return Err(Status::resource_exhausted(format!(
                "at most {MAX_WATCHES_PER_PRINCIPAL} version watches per caller are open at once (WatchVersion)"
            )));
        }
        *mine += 1;
        Ok(WatchSlot {
            open: self.open.clone(),
            principal: principal.to_string(),
            closing: self.closing.subscribe(),
        })
    }

    /// Ends every open watch and refuses new ones: the server is shutting
    /// down.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// `shutdown`, then [`Watches::close`]: the shutdown future a server
    /// serving watches is given.
    pub fn closing_with<F: std::future::Future<Output = ()> + Send>(
        &self,
        shutdown: F,
    ) -> impl std::future::Future<Output = ()> + Send + use<F> {
        let watches = self.clone();
        async move {
            shutdown.await;
            watches.close();
        }
    }
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.principal) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.principal);
            }
        }
    }
}

/// Sends `version()` into `tx` until the receiver goes away or `changes`
/// closes: at once, after every change `changes` signals (a change that
/// leaves the version as it was is not sent), and every [`HEARTBEAT`].
/// `version` is read after the signal, so a watcher that sees a version
/// sees at least the state it names.
pub async fn stream_versions(
    mut changes: Receiver<u64>,
    version: impl Fn() -> Result<u64, Status>,
    tx: Sender<Result<pb::DataVersion, Status>>,
    slot: WatchSlot,
) {
    let mut slot = slot;
    let mut sent = None;
    loop {
        changes.mark_unchanged();
        let version = match version() {
            Ok(version) => version,
            Err(status) => {
                let _ = tx.send(Err(status)).await;
                return;
            }
        };
        if sent != Some(version) {
            if tx.send(Ok(pb::DataVersion { version })).await.is_err() {
                return;
            }
            sent = Some(version);
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep(HEARTBEAT) => {
                // Unchanged, but sent again: proof of life.
                sent = None;
            }
            _ = tx.closed() => return,
            _ = slot.closing.wait_for(|closing| *closing) => return,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn watches_are_bounded_per_principal_and_in_all() {
        let watches = Watches::default();
        let mine: Vec<WatchSlot> = (0..MAX_WATCHES_PER_PRINCIPAL)
            .map(|_| watches.open("hub:regio").unwrap())
            .collect();
        let refused = watches.open("hub:regio").unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("per caller"), "{refused}");
        drop(mine);
        let mut all = Vec::new();
        for i in 0..MAX_WATCHES {
            all.push(watches.open(&format!("hub:h{}", i / 2)).unwrap());
        }
        let refused = watches.open("hub:other").unwrap_err();
        assert!(
            refused.message().contains("64 version watches"),
            "{refused}"
        );
        all.pop();
        watches.open("hub:other").unwrap();
    }

    #[tokio::test]
    async fn a_change_is_sent_once_and_an_unchanged_version_is_not() {
        let (signal, changes) = tokio::sync::watch::channel(0u64);
        let current = Arc::new(std::sync::atomic::AtomicU64::new(7));
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        // Kept alive: a dropped `Watches` ends its streams, as a closed server.
        let watches = Watches::default();
        let slot = watches.open("hub:regio").unwrap();
        let read = current.clone();
        let task = tokio::spawn(stream_versions(
            changes,
            move || Ok(read.load(std::sync::atomic::Ordering::SeqCst)),
            tx,
            slot,
        ));
        assert_eq!(rx.recv().await.unwrap().unwrap().version, 7);
        // A signal without a new version sends nothing; a new one is sent.
        signal.send_modify(|n| *n += 1);
        current.store(8, std::sync::atomic::Ordering::SeqCst);
        signal.send_modify(|n| *n += 1);
        assert_eq!(rx.recv().await.unwrap().unwrap().version, 8);
        drop(rx);
        signal.send_modify(|n| *n += 1);
        task.await.unwrap();
    }
}
