//! The thin gRPC adapter of the hub: it reads the client's deadline from the
//! `grpc-timeout` header (clamped to `limits.max_deadline_ms`), decides on
//! whose behalf the hub asks ([`Relay::of`]: relay headers only from the
//! hub's parents), refuses a request beyond the request limits before
//! anything is fanned out ([`crate::limits`]), and hands the request to
//! [`Hub`]. Partials are refused here to anyone but a parent.
//!
//! Every RPC is counted here, where its final status is known, with the
//! same guard as the node's ([`tudashalo_proto::metrics::Rpc`]): started
//! first, finished with the answer's code (a stream's at its end).

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};
use tudashalo_core::aggregate::AggregateQuery;
use tudashalo_core::pb as convert;
use tudashalo_proto::metrics::RpcMetrics;
use tudashalo_proto::pb;

use crate::error::Error;
use crate::federation::Hub;
use crate::relay::Relay;

#[derive(Debug, Clone)]
pub struct HubService {
    hub: Arc<Hub>,
    /// `grpc_server_*` of the hub's registry.
    metrics: RpcMetrics,
}

impl HubService {
    pub fn new(hub: Arc<Hub>) -> Self {
        HubService {
            metrics: hub.metrics().registry().server().clone(),
            hub,
        }
    }
}

/// The client's gRPC timeout (`grpc-timeout: 1500m`), if it sent a valid
/// one ([`crate::limits::parse_grpc_timeout`]); [`Hub::deadline`] clamps it.
pub fn client_timeout<T>(request: &Request<T>) -> Option<Duration> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    crate::limits::parse_grpc_timeout(value)
}

/// A search request within the request limits, or `InvalidArgument`
/// naming the limit.
fn check_search(hub: &Hub, request: &Request<pb::SearchRequest>) -> Result<(), Error> {
    Ok(convert::check_search_request(
        &hub.limits().requests,
        request.get_ref(),
    )?)
}

/// A streamed answer as the hub produces it.
type Chunks<T> = tokio_stream::wrappers::ReceiverStream<Result<T, Status>>;

tudashalo_proto::counted_federation!(HubService);

/// The RPCs' answers, before they are counted (`counted_federation!` counts).
impl HubService {
    async fn answer_network(
        &self,
        request: Request<pb::NetworkRequest>,
    ) -> Result<Response<pb::NetworkResponse>, Status> {
        let deadline = self.hub.deadline(client_timeout(&request));
        let relay = Relay::of(&self.hub.name, &self.hub.parents, &request)?;
        self.hub
            .network(request.into_inner(), deadline, &relay)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn answer_info(
        &self,
        request: Request<pb::InfoRequest>,
    ) -> Result<Response<pb::InfoResponse>, Status> {
        let deadline = self.hub.deadline(client_timeout(&request));
        let relay = Relay::of(&self.hub.name, &self.hub.parents, &request)?;
        Ok(Response::new(self.hub.info(deadline, &relay).await))
    }

    async fn answer_term_stats(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::TermStatsResponse>, Status> {
        check_search(&self.hub, &request)?;
        let deadline = self.hub.deadline(client_timeout(&request));
        let relay = Relay::of(&self.hub.name, &self.hub.parents, &request)?;
        self.hub
            .term_stats(request.into_inner(), deadline, &relay)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn answer_watch_version(
        &self,
        request: Request<pb::WatchVersionRequest>,
    ) -> Result<Response<Chunks<pb::DataVersion>>, Status> {
        let principal = tudashalo_proto::identity::peer_principal(&request)
            .map(|p| p.to_string())
            .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
        let slot = self.hub.watches.open(&principal)?;
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let hub = self.hub.clone();
        let changes = hub.version_changes.subscribe();
        tokio::spawn(async move {
            let version = || Ok(hub.data_version());
            tudashalo_proto::watch::stream_versions(changes, version, tx, slot).await;
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn answer_search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        check_search(&self.hub, &request)?;
        let deadline = self.hub.deadline(client_timeout(&request));
        let relay = Relay::of(&self.hub.name, &self.hub.parents, &request)?;
        self.hub
            .search(request.into_inner(), deadline, &relay)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn answer_aggregate(
        &self,
        request: Request<pb::AggregateRequest>,
    ) -> Result<Response<Chunks<pb::AggregateChunk>>, Status> {
        let deadline = self.hub.deadline(client_timeout(&request));
        let relay = Relay::of(&self.hub.name, &self.hub.parents, &request)?;
        let request = request.into_inner();
        // Partials carry the largest contributions: only a parent, which
        // combines and publishes them under disclosure control, gets them.
        if request.partials {
            relay.authorize_partials(&self.hub.name)?;
        }
        // Reject a malformed or oversized request before anything is sent.
        convert::check_aggregate_request(&self.hub.limits().requests, &request)
            .map_err(Error::from)?;
        AggregateQuery::try_from(&request).map_err(Error::from)?;
        self.hub.select_members(&request.members)?;
        // A small channel: the answer is produced no faster than the client
        // reads it.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(self.hub.clone().aggregate(request, deadline, relay, tx));
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn answer_get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let (deadline, relay) = self.document_request(&request)?;
        self.hub
            .get_document(request.into_inner(), deadline, &relay)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn answer_get_original(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<Chunks<pb::OriginalChunk>>, Status> {
        let (deadline, relay) = self.document_request(&request)?;
        let original = self
            .hub
            .get_original(request.into_inner(), deadline, &relay)
            .await
            .map_err(Status::from)?;
        // A small channel: the file moves no faster than the caller reads it,
        // and the hub holds at most a few chunks of it, never the file.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(original.relay(tx));
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }
}

impl HubService {
    /// A document request's checks (its id and member path within the
    /// request limits), deadline and relay.
    fn document_request(
        &self,
        request: &Request<pb::GetDocumentRequest>,
    ) -> Result<(std::time::Instant, Relay), Status> {
        let named = [
            request.get_ref().id.clone(),
            request.get_ref().member.clone(),
        ];
        self.hub
            .limits()
            .requests
            .check_list("id and member", &named, 2, "max_value_chars")
            .map_err(Error::from)?;
        let deadline = self.hub.deadline(client_timeout(request));
        Ok((
            deadline,
            Relay::of(&self.hub.name, &self.hub.parents, request)?,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_grpc_timeouts() {
        let mut r = Request::new(());
        r.metadata_mut()
            .insert("grpc-timeout", "1500m".parse().unwrap());
        assert_eq!(client_timeout(&r), Some(Duration::from_millis(1500)));
        r.metadata_mut()
            .insert("grpc-timeout", "2S".parse().unwrap());
        assert_eq!(client_timeout(&r), Some(Duration::from_secs(2)));
        r.metadata_mut()
            .insert("grpc-timeout", "x".parse().unwrap());
        assert_eq!(client_timeout(&r), None);
        // More than the 8 digits the spec allows: no timeout, not a panic.
        r.metadata_mut()
            .insert("grpc-timeout", "18446744073709551615S".parse().unwrap());
        assert_eq!(client_timeout(&r), None);
    }
}
