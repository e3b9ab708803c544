//! Members' data versions, watched live: what lets the hub trust what it
//! remembers about a member it does not ask.
//!
//! Every member gets one long-lived `WatchVersion` stream. Each version it
//! sends is recorded on the member ([`Member::data_version`]); a stream
//! that ends, fails, or stays silent for [`SILENCE`] (the member sends one
//! at least every [`tudashalo_proto::watch::HEARTBEAT`]) leaves the member
//! with no version, and it is opened again with a backoff. While a member
//! has no version the hub skips nothing of it: every search asks it.
//!
//! The hub serves `WatchVersion` itself with one version for all its
//! members ([`Hub::data_version`]), which is 0 (unknown) while any member's
//! is, so a hub above trusts this hub's members exactly as far as this hub
//! does.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch::Sender;
use tudashalo_proto::pb;
use tudashalo_proto::watch::SILENCE;

use crate::federation::Hub;
use crate::member::Member;
use crate::stats_cache;

const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A member that does not serve `WatchVersion` (an older version) is asked
/// again this seldom.
const UNIMPLEMENTED_BACKOFF: Duration = Duration::from_secs(300);
/// How long opening a watch may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// Watches `member` until the task is aborted; every change of its
/// version bumps `changed`.
pub async fn watch_forever(member: Arc<Member>, changed: Arc<Sender<u64>>) {
    let mut backoff = MIN_BACKOFF;
    let record = |version: u64| {
        if member.set_data_version(version) {
            changed.send_modify(|n| *n = n.wrapping_add(1));
        }
    };
    loop {
        let mut client = member.client();
        let opened = tokio::time::timeout(
            OPEN_TIMEOUT,
            client.watch_version(pb::WatchVersionRequest {}),
        )
        .await;
        let mut wait = backoff;
        match opened {
            Ok(Ok(response)) => {
                let mut stream = response.into_inner();
                loop {
                    match tokio::time::timeout(SILENCE, stream.message()).await {
                        Ok(Ok(Some(message))) => {
                            backoff = MIN_BACKOFF;
                            wait = MIN_BACKOFF;
                            record(message.version);
                        }
                        Ok(Ok(None)) => break,
                        Ok(Err(status)) => {
                            tracing::debug!(member = %member.name, error = %status.message(), "version watch ended");
                            break;
                        }
                        Err(_) => {
                            tracing::debug!(member = %member.name, "version watch went silent");
                            break;
                        }
                    }
                }
            }
            Ok(Err(status)) if status.code() == tonic::Code::Unimplemented => {
                tracing::info!(member = %member.name, "member does not serve WatchVersion: it is asked in every search");
                wait = UNIMPLEMENTED_BACKOFF;
            }
            Ok(Err(status)) => {
                tracing::debug!(member = %member.name, error = %status.message(), "cannot watch the member's version");
            }
            Err(_) => {
                tracing::debug!(member = %member.name, "opening the version watch timed out");
            }
        }
        record(0);
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

impl Hub {
    /// Wakes whenever a member's data version changes, or its watch comes
    /// or goes.
    pub fn version_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.version_changes.subscribe()
    }

    /// One version for every member's: 0 while any member's is unknown.
    pub fn data_version(&self) -> u64 {
        stats_cache::combine(
            self.members()
                .iter()
                .map(|m| (m.name.as_str(), m.data_version())),
        )
    }
}
