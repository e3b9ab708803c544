//! Request loops and their statistics (closed loop): a fixed set of
//! queries sent by a few concurrent clients, each waiting for its answer
//! before sending the next, bounded in count and in time, and the latency
//! percentiles and throughput of what they measured — the figures at
//! saturation. The constant-rate mode, which does not wait, is
//! [`crate::open_loop`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use tonic::transport::Channel;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

/// How long one request may take before it counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Latency percentiles and throughput of one measured phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub requests: usize,
    pub errors: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Completed requests per second of wall time, all clients together.
    pub throughput_per_s: f64,
    pub wall_s: f64,
    pub clients: usize,
}

impl Latency {
    /// Statistics of `samples` (milliseconds) taken in `wall` by `clients`.
    pub fn of(mut samples: Vec<f64>, errors: usize, wall: Duration, clients: usize) -> Latency {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let wall_s = wall.as_secs_f64();
        Latency {
            requests: n,
            errors,
            p50_ms: percentile(&samples, 50.0),
            p95_ms: percentile(&samples, 95.0),
            p99_ms: percentile(&samples, 99.0),
            mean_ms: if n == 0 {
                0.0
            } else {
                samples.iter().sum::<f64>() / n as f64
            },
            max_ms: samples.last().copied().unwrap_or(0.0),
            throughput_per_s: if wall_s > 0.0 { n as f64 / wall_s } else { 0.0 },
            wall_s,
            clients,
        }
    }
}

/// The nearest-rank percentile of sorted `samples` (0 when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// How long and how much a phase may run.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Passes over the query list per client.
    pub rounds: usize,
    /// No new request is started after this.
    pub max_time: Duration,
}

/// What one request returned, for the report.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Matching documents.
    pub total: u64,
    /// Some member did not contribute.
    pub partial: bool,
    /// The ids of the hits, in rank order.
    pub ids: Vec<String>,
}

/// A search phase's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchPhase {
    #[serde(flatten)]
    pub latency: Latency,
    /// Mean number of matching documents per query (one pass).
    pub mean_matches: f64,
    /// Answers in which some member did not contribute.
    pub partial_answers: usize,
    /// CPU time of the processes that answered the measured requests
    /// (`None` in-process).
    pub cpu: Option<crate::cpu::CpuUse>,
    #[serde(skip)]
    pub answers: Vec<Answer>,
}

/// Runs `queries` with `clients` concurrent clients: one unmeasured pass
/// first (warm-up, and the answers for the report), then each client sends
/// every query `bounds.rounds` times (client `i` starting at query `i`, so
/// that they do not ask the same thing at once), stopping early at
/// `bounds.max_time`. `ask` sends one query with client number `c`.
pub async fn run_queries<F, Fut>(
    queries: &[String],
    clients: usize,
    bounds: Bounds,
    ask: F,
) -> Result<SearchPhase>
where
    F: Fn(usize, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Answer>> + Send,
{
    let (phase, ()) = run_queries_between(queries, clients, bounds, ask, || (), |(), _| ()).await?;
    Ok(phase)
}

/// [`run_queries`], calling `start` when the measured requests begin
/// (after the warm-up pass) and `end` with what `start` returned and the
/// requests answered when the last one has been (a CPU meter's readings
/// around exactly the measured requests).
pub async fn run_queries_between<F, Fut, S, B, E, T>(
    queries: &[String],
    clients: usize,
    bounds: Bounds,
    ask: F,
    start: S,
    end: E,
) -> Result<(SearchPhase, T)>
where
    F: Fn(usize, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Answer>> + Send,
    S: FnOnce() -> B,
    E: FnOnce(B, usize) -> T,
{
    let ask = Arc::new(ask);
    let mut answers = Vec::with_capacity(queries.len());
    for q in queries {
        answers.push(ask(0, q.clone()).await?);
    }
    let begun = start();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let (ask, queries, stop) = (ask.clone(), queries.to_vec(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(queries.len() * bounds.rounds);
            let (mut errors, mut partial) = (0usize, 0usize);
            'outer: for _ in 0..bounds.rounds {
                for i in 0..queries.len() {
                    if stop.load(Ordering::Relaxed) || started.elapsed() >= bounds.max_time {
                        stop.store(true, Ordering::Relaxed);
                        break 'outer;
                    }
                    let q = queries[(i + c) % queries.len()].clone();
                    let t = Instant::now();
                    match ask(c, q).await {
                        Ok(answer) => {
                            samples.push(t.elapsed().as_secs_f64() * 1e3);
                            partial += usize::from(answer.partial);
                        }
                        Err(_) => errors += 1,
                    }
                }
            }
            (samples, errors, partial)
        }));
    }
    let (mut samples, mut errors, mut partial) = (Vec::new(), 0, 0);
    for task in tasks {
        let (s, e, p) = task.await?;
        samples.extend(s);
        errors += e;
        partial += p;
    }
    let wall = started.elapsed();
    let ended = end(begun, samples.len());
    let mean_matches =
        answers.iter().map(|a| a.total as f64).sum::<f64>() / answers.len().max(1) as f64;
    let phase = SearchPhase {
        latency: Latency::of(samples, errors, wall, clients),
        mean_matches,
        partial_answers: partial + answers.iter().filter(|a| a.partial).count(),
        cpu: None,
        answers,
    };
    Ok((phase, ended))
}

/// What a search asks for besides the hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extras {
    pub snippets: bool,
    pub facets: bool,
}

impl Default for Extras {
    /// Snippets and facets, as the analyst gets them.
    fn default() -> Self {
        Extras {
            snippets: true,
            facets: true,
        }
    }
}

/// One search of the top 10 through a federation client.
pub async fn search(
    client: &mut FederationClient<Channel>,
    query: String,
    extras: Extras,
) -> Result<Answer> {
    let mut request = tonic::Request::new(search_request(query, extras));
    request.set_timeout(REQUEST_TIMEOUT);
    let response = client.search(request).await?.into_inner();
    Ok(Answer {
        total: response.total,
        partial: response.partial
            || response
                .members
                .iter()
                .any(|m| m.state != MemberState::Ok as i32),
        ids: response.hits.into_iter().map(|h| h.id).collect(),
    })
}

/// An aggregate's answer, summed up.
#[derive(Debug, Clone, Default)]
pub struct AggregateAnswer {
    pub cells: Vec<pb::Cell>,
    pub incomplete: usize,
    pub members_not_ok: usize,
}

/// Every one of `indicators` grouped by kistérség and period, streamed to
/// the end.
pub async fn aggregate(
    client: &mut FederationClient<Channel>,
    indicators: &[String],
) -> Result<AggregateAnswer> {
    let mut request = tonic::Request::new(pb::AggregateRequest {
        indicators: indicators.to_vec(),
        group_by: vec!["kisterseg".into(), "period".into()],
        ..Default::default()
    });
    request.set_timeout(REQUEST_TIMEOUT);
    let mut stream = client.aggregate(request).await?.into_inner();
    let mut answer = AggregateAnswer::default();
    while let Some(chunk) = stream.message().await? {
        answer.incomplete += chunk.cells.iter().filter(|c| c.incomplete).count();
        answer.members_not_ok += chunk
            .members
            .iter()
            .filter(|m| m.state != MemberState::Ok as i32)
            .count();
        answer.cells.extend(chunk.cells);
    }
    Ok(answer)
}

/// Times `runs` sequential calls of `f` after one warm-up call.
pub async fn timed<T, F, Fut>(runs: usize, max_time: Duration, mut f: F) -> Result<(Latency, T)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut last = f().await?;
    let started = Instant::now();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        last = f().await?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        if started.elapsed() >= max_time {
            break;
        }
    }
    Ok((Latency::of(samples, 0, started.elapsed(), 1), last))
}

/// The largest resident memory seen per process while sampling.
#[derive(Debug)]
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<u64>>,
}

impl RssSampler {
    /// Samples `VmRSS` of `pids` every 100 ms until [`RssSampler::finish`].
    pub fn start(pids: Vec<u32>) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut max = vec![0u64; pids.len()];
            while !flag.load(Ordering::Relaxed) {
                for (m, pid) in max.iter_mut().zip(&pids) {
                    *m = (*m).max(crate::cluster::rss_of(*pid).unwrap_or(0));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            max
        });
        RssSampler { stop, task }
    }

    /// The largest RSS seen of each pid, in the order given.
    pub async fn finish(self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

/// The benchmarks' search: the top 10, with snippets and facets as `extras` says.
pub fn search_request(query: String, extras: Extras) -> pb::SearchRequest {
    pb::SearchRequest {
        query,
        limit: 10,
        no_snippets: !extras.snippets,
        no_facets: !extras.facets,
        ..Default::default()
    }
}
