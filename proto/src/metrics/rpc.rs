//! The gRPC families under go-grpc-prometheus's names, and the one guard
//! that counts an RPC: [`RpcMetrics::start`] counts it started and starts
//! its clock, [`Rpc::finish`] counts it handled with its final code and
//! observes its duration. Node and hub adapters use the same guard (and the
//! hub's member calls the client side of it), so the three numbers always
//! agree.
//!
//! A guard dropped without a finish is an RPC whose caller went away (its
//! future was dropped): it is counted `Canceled`, so that started minus
//! handled is what is in flight, never what was lost.
//!
//! A streaming answer ends after the adapter has returned: [`Observed`]
//! carries the guard inside the stream and finishes it with the stream's
//! first error, or `OK` when the stream ends.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio_stream::Stream;
use tonic::{Code, Response, Status};

use super::{FEDERATION_SERVICE, SECONDS_BUCKETS};

/// `grpc_type`: what go-grpc-prometheus calls the RPC's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpcKind {
    Unary,
    ServerStream,
}

impl RpcKind {
    pub fn label(self) -> &'static str {
        match self {
            RpcKind::Unary => "unary",
            RpcKind::ServerStream => "server_stream",
        }
    }
}

/// `grpc_type`, `grpc_service`, `grpc_method`: static strings only (the
/// label rule in [`super`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Method {
    grpc_type: &'static str,
    grpc_service: &'static str,
    grpc_method: &'static str,
}

/// A method and the code it ended with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Handled {
    grpc_type: &'static str,
    grpc_service: &'static str,
    grpc_method: &'static str,
    grpc_code: &'static str,
}

fn seconds_histogram() -> Histogram {
    Histogram::new(SECONDS_BUCKETS)
}

/// `PREFIX_started_total`, `PREFIX_handled_total`, `PREFIX_handling_seconds`.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    started: Family<Method, Counter>,
    handled: Family<Handled, Counter>,
    seconds: Family<Method, Histogram, fn() -> Histogram>,
}

impl RpcMetrics {
    /// Registers the three families under `prefix` (`grpc_server`,
    /// `grpc_client`); `what` completes their help texts.
    pub(super) fn register(registry: &mut Registry, prefix: &str, what: &str) -> RpcMetrics {
        let metrics = RpcMetrics {
            started: Family::default(),
            handled: Family::default(),
            seconds: Family::new_with_constructor(seconds_histogram),
        };
        registry.register(
            format!("{prefix}_started"),
            format!("RPCs started, {what}"),
            metrics.started.clone(),
        );
        registry.register(
            format!("{prefix}_handled"),
            format!("RPCs completed, {what}, by gRPC code"),
            metrics.handled.clone(),
        );
        registry.register(
            format!("{prefix}_handling_seconds"),
            format!("How long RPCs {what} took to complete, in seconds"),
            metrics.seconds.clone(),
        );
        metrics
    }

    /// Counts the federation RPC `method` (`"Search"`, as the contract
    /// names it) started; the guard counts it handled.
    pub fn start(&self, kind: RpcKind, method: &'static str) -> Rpc {
        let method = Method {
            grpc_type: kind.label(),
            grpc_service: FEDERATION_SERVICE,
            grpc_method: method,
        };
        self.started.get_or_create(&method).inc();
        Rpc {
            metrics: self.clone(),
            method,
            started: Instant::now(),
            finished: false,
        }
    }
}

/// One RPC in flight: finish it with its code (or let it drop: `Canceled`).
#[derive(Debug)]
pub struct Rpc {
    metrics: RpcMetrics,
    method: Method,
    started: Instant,
    finished: bool,
}

impl Rpc {
    /// Counts the RPC handled with `code` and observes its duration.
    pub fn finish(mut self, code: Code) {
        self.record(code);
    }

    /// Finishes with the result's code and hands the result back: the tail
    /// of a unary handler.
    pub fn unary<T>(self, result: Result<T, Status>) -> Result<T, Status> {
        self.finish(match &result {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        });
        result
    }

    /// The tail of a streaming handler: an error before the stream is
    /// finished now; a stream carries the guard to its end ([`Observed`]).
    pub fn stream<S>(
        self,
        result: Result<Response<S>, Status>,
    ) -> Result<Response<Observed<S>>, Status> {
        match result {
            Ok(response) => Ok(response.map(|stream| Observed {
                stream,
                rpc: Some(self),
            })),
            Err(status) => {
                self.finish(status.code());
                Err(status)
            }
        }
    }

    fn record(&mut self, code: Code) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let handled = Handled {
            grpc_type: self.method.grpc_type,
            grpc_service: self.method.grpc_service,
            grpc_method: self.method.grpc_method,
            grpc_code: code_name(code),
        };
        self.metrics.handled.get_or_create(&handled).inc();
        self.metrics
            .seconds
            .get_or_create(&self.method)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Rpc {
    fn drop(&mut self) {
        self.record(Code::Cancelled);
    }
}

/// A server stream that finishes its RPC's guard: with the first error it
/// yields, or `OK` at its end; dropped before either, `Canceled`.
#[derive(Debug)]
pub struct Observed<S> {
    stream: S,
    rpc: Option<Rpc>,
}

impl<S, T> Stream for Observed<S>
where
    S: Stream<Item = Result<T, Status>> + Unpin,
{
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.stream).poll_next(cx);
        match &item {
            Poll::Ready(Some(Err(status))) => {
                if let Some(rpc) = self.rpc.take() {
                    rpc.finish(status.code());
                }
            }
            Poll::Ready(None) => {
                if let Some(rpc) = self.rpc.take() {
                    rpc.finish(Code::Ok);
                }
            }
            _ => {}
        }
        item
    }
}

/// Every `grpc_code` value [`code_name`] gives (for tests of the label rule).
pub fn code_names() -> [&'static str; 17] {
    [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ]
}

/// A gRPC code as go-grpc-prometheus spells it (`grpc_code`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Implements the federation service for an adapter that counts every RPC:
/// the type has a `metrics: RpcMetrics` field and an inherent
/// `answer_<rpc>` method per RPC (same arguments, `Result<Response<…>,
/// Status>`; streams as `ReceiverStream<Result<_, Status>>`). The node's and
/// the hub's adapters use it, so that what is counted, and how, is written
/// once.
#[macro_export]
macro_rules! counted_federation {
    ($service:ty) => {
        #[tonic::async_trait]
        impl $crate::pb::federation_server::Federation for $service {
            async fn info(
                &self,
                request: tonic::Request<$crate::pb::InfoRequest>,
            ) -> Result<tonic::Response<$crate::pb::InfoResponse>, tonic::Status> {
                let rpc = self.metrics.start($crate::metrics::RpcKind::Unary, "Info");
                rpc.unary(self.answer_info(request).await)
            }

            async fn term_stats(
                &self,
                request: tonic::Request<$crate::pb::SearchRequest>,
            ) -> Result<tonic::Response<$crate::pb::TermStatsResponse>, tonic::Status> {
                let rpc = self
                    .metrics
                    .start($crate::metrics::RpcKind::Unary, "TermStats");
                rpc.unary(self.answer_term_stats(request).await)
            }

            async fn search(
                &self,
                request: tonic::Request<$crate::pb::SearchRequest>,
            ) -> Result<tonic::Response<$crate::pb::SearchResponse>, tonic::Status> {
                let rpc = self
                    .metrics
                    .start($crate::metrics::RpcKind::Unary, "Search");
                rpc.unary(self.answer_search(request).await)
            }

            async fn get_document(
                &self,
                request: tonic::Request<$crate::pb::GetDocumentRequest>,
            ) -> Result<tonic::Response<$crate::pb::GetDocumentResponse>, tonic::Status> {
                let rpc = self
                    .metrics
                    .start($crate::metrics::RpcKind::Unary, "GetDocument");
                rpc.unary(self.answer_get_document(request).await)
            }

            type GetOriginalStream = $crate::metrics::Observed<
                tokio_stream::wrappers::ReceiverStream<
                    Result<$crate::pb::OriginalChunk, tonic::Status>,
                >,
            >;

            async fn get_original(
                &self,
                request: tonic::Request<$crate::pb::GetDocumentRequest>,
            ) -> Result<tonic::Response<Self::GetOriginalStream>, tonic::Status> {
                let rpc = self
                    .metrics
                    .start($crate::metrics::RpcKind::ServerStream, "GetOriginal");
                rpc.stream(self.answer_get_original(request).await)
            }

            type AggregateStream = $crate::metrics::Observed<
                tokio_stream::wrappers::ReceiverStream<
                    Result<$crate::pb::AggregateChunk, tonic::Status>,
                >,
            >;

            async fn aggregate(
                &self,
                request: tonic::Request<$crate::pb::AggregateRequest>,
            ) -> Result<tonic::Response<Self::AggregateStream>, tonic::Status> {
                let rpc = self
                    .metrics
                    .start($crate::metrics::RpcKind::ServerStream, "Aggregate");
                rpc.stream(self.answer_aggregate(request).await)
            }

            async fn network(
                &self,
                request: tonic::Request<$crate::pb::NetworkRequest>,
            ) -> Result<tonic::Response<$crate::pb::NetworkResponse>, tonic::Status> {
                let rpc = self
                    .metrics
                    .start($crate::metrics::RpcKind::Unary, "Network");
                rpc.unary(self.answer_network(request).await)
            }

            type WatchVersionStream = $crate::metrics::Observed<
                tokio_stream::wrappers::ReceiverStream<
                    Result<$crate::pb::DataVersion, tonic::Status>,
                >,
            >;

            async fn watch_version(
                &self,
                request: tonic::Request<$crate::pb::WatchVersionRequest>,
            ) -> Result<tonic::Response<Self::WatchVersionStream>, tonic::Status> {
                let rpc = self
                    .metrics
                    .start($crate::metrics::RpcKind::ServerStream, "WatchVersion");
                rpc.stream(self.answer_watch_version(request).await)
            }
        }
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::Metrics;
    use super::*;
    use tokio_stream::StreamExt;

    #[test]
    fn a_dropped_guard_is_canceled_and_a_finished_one_counts_once() {
        let metrics = Metrics::new();
        drop(metrics.server().start(RpcKind::Unary, "Search"));
        let rpc = metrics.server().start(RpcKind::Unary, "Search");
        assert!(
            rpc.unary::<()>(Err(Status::permission_denied("no")))
                .is_err()
        );
        let text = metrics.encode().unwrap();
        assert!(text.contains("grpc_code=\"Canceled\"} 1"), "{text}");
        assert!(text.contains("grpc_code=\"PermissionDenied\"} 1"), "{text}");
        assert!(
            text.contains("grpc_method=\"Search\"} 2"),
            "started twice: {text}"
        );
        assert!(
            text.contains("grpc_server_handling_seconds_count{grpc_type=\"unary\",grpc_service=\"tudashalo.v1.Federation\",grpc_method=\"Search\"} 2"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_stream_finishes_with_its_first_error_or_ok_at_its_end() {
        let metrics = Metrics::new();
        for items in [
            vec![Ok(1), Ok(2)],
            vec![Ok(1), Err(Status::internal("broken")), Ok(3)],
        ] {
            let rpc = metrics.client().start(RpcKind::ServerStream, "Aggregate");
            let response = rpc
                .stream(Ok(Response::new(tokio_stream::iter(items))))
                .unwrap();
            let read: Vec<_> = response.into_inner().collect().await;
            assert_eq!(read.len(), if read.len() == 2 { 2 } else { 3 });
        }
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("grpc_client_handled_total{grpc_type=\"server_stream\",grpc_service=\"tudashalo.v1.Federation\",grpc_method=\"Aggregate\",grpc_code=\"OK\"} 1"),
            "{text}"
        );
        assert!(text.contains("grpc_code=\"Internal\"} 1"), "{text}");
    }
}
