//! `WatchVersion` at a node: its data version
//! ([`crate::node::Node::data_version`]) through the shared loop of
//! [`tudashalo_proto::watch`], woken by every commit the index makes
//! searchable.

use std::sync::Arc;

use tokio::sync::mpsc::Sender;
use tonic::Status;
use tudashalo_proto::pb;
use tudashalo_proto::watch::{WatchSlot, stream_versions};

use crate::node::Node;

/// Streams `node`'s data version into `tx` until the watcher goes away.
pub async fn stream(node: Arc<Node>, tx: Sender<Result<pb::DataVersion, Status>>, slot: WatchSlot) {
    let changes = node.data_version_changes();
    let version = move || {
        node.data_version().map_err(|e| {
            tracing::error!(error = %e, "reading the data version for a watch");
            Status::internal("internal error reading the node's data version; see its log")
        })
    };
    stream_versions(changes, version, tx, slot).await;
}
