//! The metrics listener: plain HTTP/1.1, `GET /metrics` (the registry in
//! the OpenMetrics text format), `GET /healthz` (`ok`: the process is up),
//! 404 for anything else, 405 for another method. It takes a bound listener
//! and a shutdown future, as every server of the project does, so that
//! `serve` starts it next to the gRPC and portal listeners and one signal
//! stops them all ([`crate::serve::shared_shutdown`]).
//!
//! Plain HTTP because Prometheus scrapes it so by default; that it is
//! reachable only from the machine unless the operator says otherwise is
//! checked where the address is configured
//! ([`super::MetricsConfig::address`]). Each connection is bounded like the
//! portal's: headers within [`HEADER_TIMEOUT`], at most [`MAX_CONNECTIONS`]
//! at once, and open ones get [`DRAIN_TIMEOUT`] after the shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{CONTENT_TYPE, Metrics};

/// Time for a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once (a scraper or two, and a curious operator).
pub const MAX_CONNECTIONS: usize = 64;
/// Time open requests get to finish after shutdown began.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the address `config` names and serves `metrics` there in a task
/// of its own until `shutdown` resolves: what both `serve` commands do next
/// to their gRPC listener. The error names the field (the caller adds the
/// file).
pub async fn start(
    metrics: Arc<Metrics>,
    config: &super::MetricsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<
    (
        std::net::SocketAddr,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ),
    String,
> {
    let addr = config.address()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("metrics.listen: cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    Ok((addr, tokio::spawn(serve(metrics, listener, shutdown))))
}

/// Serves `metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    metrics: Arc<Metrics>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let metrics = metrics.clone();
            async move { Ok::<_, Infallible>(answer(&metrics, &request)) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "metrics: connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("metrics: connections still open after the drain timeout");
    }
    Ok(())
}

/// The answer to one request.
fn answer<B>(metrics: &Metrics, request: &Request<B>) -> Response<String> {
    let path = request.uri().path();
    if path != "/metrics" && path != "/healthz" {
        return plain(StatusCode::NOT_FOUND, "not found; try /metrics\n");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
        response.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        return response;
    }
    if path == "/healthz" {
        return plain(StatusCode::OK, "ok\n");
    }
    match metrics.encode() {
        Ok(text) => {
            let mut response = Response::new(text);
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(CONTENT_TYPE),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot encode the registry");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<String> {
    let mut response = Response::new(text.to_string());
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, request: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn serves_metrics_healthz_and_404_until_shut_down() {
        let metrics = Arc::new(Metrics::new());
        metrics
            .server()
            .start(super::super::RpcKind::Unary, "Info")
            .finish(tonic::Code::Ok);
        let server = crate::serve::ServerHandle::<std::io::Error>::loopback(|listener, stop| {
            serve(metrics, listener, stop)
        })
        .await
        .unwrap();
        let close = "Host: x\r\nConnection: close\r\n\r\n";
        let scraped = get(server.addr(), &format!("GET /metrics HTTP/1.1\r\n{close}")).await;
        assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
        assert!(scraped.contains(CONTENT_TYPE), "{scraped}");
        assert!(scraped.contains("grpc_server_started_total{"), "{scraped}");
        let health = get(server.addr(), &format!("GET /healthz HTTP/1.1\r\n{close}")).await;
        assert!(
            health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
            "{health}"
        );
        let missing = get(server.addr(), &format!("GET /other HTTP/1.1\r\n{close}")).await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        let posted = get(server.addr(), &format!("POST /metrics HTTP/1.1\r\n{close}")).await;
        assert!(posted.starts_with("HTTP/1.1 405"), "{posted}");
        server.stop().await.unwrap();
    }
}
