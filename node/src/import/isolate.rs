//! Extractors run isolated from the import, with a time and a memory limit.
//!
//! PDF, spreadsheet and office parsers read bytes anyone can craft; some
//! panic on purpose on malformed input, some may loop or allocate without
//! end. Like Apache Tika's ForkParser, the command-line import runs each
//! extraction in a child process: the node's own binary, started as
//! `tudashalo-node extract-worker` ([`serve_worker`]), reads the file on its
//! stdin and writes one JSON answer on its stdout. The parent kills it at
//! `extract_timeout_seconds` (`timeout`); the worker limits its own address
//! space to `extract_memory_mb` before it reads anything, so an allocation
//! past it fails inside the worker, and a worker that dies (abort, out of
//! memory, a signal) is this file's `extractor-crash`, never the import's.
//!
//! [`Isolation::InProcess`] runs the extractor on a thread of this process
//! under `catch_unwind`, with the same time limit (a thread cannot be
//! killed: a runaway extractor is abandoned, still running, so this mode is
//! for tests and for embedding, not for hostile files in bulk).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use super::Limits;
use super::extract::{self, DocFormat, Extracted, Failure, FailureKind};
use super::table::workbook::{self, Workbook, WorkbookFormat};

/// Where extractors run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Isolation {
    /// On a thread of this process (tests, embedding).
    #[default]
    InProcess,
    /// In a child process: this executable, started with
    /// [`WORKER_COMMAND`] as its first argument.
    Process(PathBuf),
}

impl Isolation {
    /// Child processes of the running executable, which must be
    /// `tudashalo-node` (it answers [`WORKER_COMMAND`]).
    pub fn this_executable() -> std::io::Result<Isolation> {
        Ok(Isolation::Process(std::env::current_exe()?))
    }
}

/// The hidden subcommand of `tudashalo-node` that serves one extraction.
pub const WORKER_COMMAND: &str = "extract-worker";

/// What to extract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    Document(DocFormat),
    Workbook(WorkbookFormat),
}

/// What an extraction produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    Document(Extracted),
    Workbook(Workbook),
}

/// The limits a worker is started with (its arguments, as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WorkerArgs {
    job: Job,
    max_body_bytes: usize,
    max_file_bytes: u64,
    memory_bytes: u64,
}

/// Runs `job` on `bytes` where `isolation` says.
pub fn run(
    job: &Job,
    bytes: &[u8],
    limits: &Limits,
    isolation: &Isolation,
) -> Result<Output, Failure> {
    extract::check_file_size(bytes.len() as u64, limits)?;
    match isolation {
        Isolation::InProcess => on_a_thread(job, bytes, limits),
        Isolation::Process(exe) => in_a_child(exe, job, bytes, limits),
    }
}

/// The extraction itself, in whichever process runs it, a panic made
/// this file's failure.
fn run_here(job: &Job, bytes: &[u8], limits: &Limits) -> Result<Output, Failure> {
    extract::guarded(|| run_unguarded(job, bytes, limits))
}

/// The extraction without `catch_unwind`: for fuzzing, where a panic is a
/// finding ([`crate::fuzzing::extract`]).
pub fn run_unguarded(job: &Job, bytes: &[u8], limits: &Limits) -> Result<Output, Failure> {
    match job {
        Job::Document(format) => {
            extract::extract_unguarded(*format, bytes, limits).map(Output::Document)
        }
        Job::Workbook(format) => workbook::read(*format, bytes, limits).map(Output::Workbook),
    }
}

fn timeout(limits: &Limits) -> Failure {
    Failure::new(
        FailureKind::Timeout,
        format!(
            "extraction took over {} (extract_timeout_seconds in node.toml)",
            match limits.extract_timeout.as_secs() {
                0 => format!("{} ms", limits.extract_timeout.as_millis()),
                s => format!("{s} s"),
            }
        ),
    )
}

fn on_a_thread(job: &Job, bytes: &[u8], limits: &Limits) -> Result<Output, Failure> {
    let (job, bytes, thread_limits) = (job.clone(), bytes.to_vec(), *limits);
    with_time_limit(limits, move || run_here(&job, &bytes, &thread_limits))
}

/// `work` on a thread of its own, given up at `extract_timeout`.
fn with_time_limit<T: Send + 'static>(
    limits: &Limits,
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let (sender, receiver) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("extractor".into())
        .spawn(move || {
            // The receiver may be gone after a timeout; nothing to tell then.
            let _ = sender.send(extract::guarded(work));
        })
        .map_err(|e| {
            Failure::new(
                FailureKind::ExtractorCrash,
                format!("cannot start a thread: {e}"),
            )
        })?;
    match receiver.recv_timeout(limits.extract_timeout) {
        Ok(answer) => answer,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(timeout(limits)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::new(
            FailureKind::ExtractorCrash,
            "the extractor thread ended without an answer",
        )),
    }
}

/// The most a worker may write: its text (at most `max_body_bytes` of it,
/// twice over for JSON escapes) and room for the rest.
fn answer_cap(limits: &Limits) -> u64 {
    (limits.max_body_bytes as u64)
        .saturating_mul(2)
        .saturating_add(limits.max_file_bytes.min(64 << 20))
        .saturating_add(1 << 20)
}

fn in_a_child(exe: &PathBuf, job: &Job, bytes: &[u8], limits: &Limits) -> Result<Output, Failure> {
    let crash = |what: String| Failure::new(FailureKind::ExtractorCrash, what);
    let args = WorkerArgs {
        job: job.clone(),
        max_body_bytes: limits.max_body_bytes,
        max_file_bytes: limits.max_file_bytes,
        memory_bytes: limits.extract_memory_bytes,
    };
    let args = serde_json::to_string(&args).map_err(|e| crash(format!("worker arguments: {e}")))?;
    let mut child = Command::new(exe)
        .arg(WORKER_COMMAND)
        .arg(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| crash(format!("cannot start {}: {e}", exe.display())))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(crash("the worker's pipes were not opened".into()));
    };
    // Feeding stdin, draining stdout and stderr happen on threads, so that
    // neither side blocks on a full pipe, and this thread keeps the clock.
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || {
        // A worker that stops reading (it failed early) closes the pipe;
        // its answer tells why.
        let _ = stdin.write_all(&input);
    });
    let cap = answer_cap(limits);
    let (sender, receiver) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout.take(cap + 1).read_to_end(&mut out);
        let _ = sender.send(read.map(|_| out));
    });
    let errors = std::thread::spawn(move || {
        let mut err = Vec::new();
        let _ = stderr.take(64 * 1024).read_to_end(&mut err);
        String::from_utf8_lossy(&err).trim().to_string()
    });
    let deadline = std::time::Instant::now() + limits.extract_timeout;
    let mut answer = receiver.recv_timeout(limits.extract_timeout);
    // A worker that closed its output but does not exit is still held to
    // the deadline: its exit is awaited only until then.
    let status = match (&answer, wait_until(&mut child, deadline)) {
        (Ok(_), Some(status)) => Ok(status),
        _ => {
            // Over time (or the reader died): the worker goes, whatever it does.
            let _ = child.kill();
            if answer.is_ok() {
                answer = Err(mpsc::RecvTimeoutError::Timeout);
            }
            child.wait()
        }
    };
    let _ = feeder.join();
    let stderr_text = errors.join().unwrap_or_default();
    let out = match answer {
        Err(mpsc::RecvTimeoutError::Timeout) => return Err(timeout(limits)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(crash("lost the worker's answer".into()));
        }
        Ok(Err(e)) => return Err(crash(format!("reading the worker's answer: {e}"))),
        Ok(Ok(out)) => out,
    };
    if out.len() as u64 > cap {
        return Err(Failure::new(
            FailureKind::TooLarge,
            format!("the extractor's answer is over {cap} bytes"),
        ));
    }
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => {
            let how = match status.code() {
                Some(code) => format!("exited with code {code}"),
                None => describe_signal(&status),
            };
            let memory = if stderr_text.contains("memory allocation") {
                format!(
                    " (over extract_memory_mb = {} in node.toml)",
                    limits.extract_memory_bytes >> 20
                )
            } else {
                String::new()
            };
            let said = last_line(&stderr_text);
            return Err(crash(format!("the extractor process {how}{memory}{said}")));
        }
        Err(e) => return Err(crash(format!("waiting for the worker: {e}"))),
    }
    serde_json::from_slice::<Result<Output, Failure>>(&out)
        .map_err(|e| crash(format!("the worker's answer is not understood: {e}")))?
}

/// The child's exit status, if it exits before `deadline`. Polled: std has
/// no wait with a timeout, and the worker has already answered (or closed
/// its output) when this is called, so the wait is short or a fault.
fn wait_until(
    child: &mut std::process::Child,
    deadline: std::time::Instant,
) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            _ => return None,
        }
    }
}

#[cfg(unix)]
fn describe_signal(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(signal) => format!("was killed by signal {signal}"),
        None => "ended abnormally".to_string(),
    }
}

#[cfg(not(unix))]
fn describe_signal(_: &std::process::ExitStatus) -> String {
    "ended abnormally".to_string()
}

/// What the worker said last that explains its end: an allocation that
/// failed or a panic's message, else its last line that is not a hint
/// about backtraces.
fn last_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let telling = lines
        .iter()
        .find(|l| l.starts_with("memory allocation of") || l.contains("panicked at"))
        .or_else(|| lines.iter().rev().find(|l| !l.starts_with("note:")));
    match telling {
        Some(line) => {
            let line: String = line.chars().take(300).collect();
            format!(": {line}")
        }
        None => String::new(),
    }
}

/// The worker: `tudashalo-node extract-worker ARGS`, the file on stdin, one
/// JSON answer (`{"Ok": …}` or `{"Err": {"kind": …, "detail": …}}`) on
/// stdout. Its address space is limited before it reads the file.
pub fn serve_worker(args: &str) -> ExitCode {
    let args: WorkerArgs = match serde_json::from_str(args) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("extract-worker: bad arguments: {e}");
            return ExitCode::from(3);
        }
    };
    limit_memory(args.memory_bytes);
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_file_bytes: args.max_file_bytes,
        ..Limits::default()
    };
    let mut bytes = Vec::new();
    let answer = match std::io::stdin()
        .lock()
        .take(args.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
    {
        Err(e) if e.kind() == std::io::ErrorKind::OutOfMemory => Err(Failure::new(
            FailureKind::ExtractorCrash,
            format!(
                "the extractor process ran out of memory reading the file (over extract_memory_mb = {} in node.toml)",
                args.memory_bytes >> 20
            ),
        )),
        Err(e) => Err(Failure::new(
            FailureKind::ExtractorCrash,
            format!("reading the file: {e}"),
        )),
        Ok(_) => extract::check_file_size(bytes.len() as u64, &limits)
            .and_then(|()| run_here(&args.job, &bytes, &limits)),
    };
    drop(bytes);
    let Ok(json) = serde_json::to_vec(&answer) else {
        eprintln!("extract-worker: cannot encode the answer");
        return ExitCode::from(3);
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(&json).and_then(|()| out.flush()).is_err() {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

/// Limits this process's address space (`RLIMIT_AS`); 0 leaves it as it is.
fn limit_memory(bytes: u64) {
    if bytes == 0 {
        return;
    }
    #[cfg(unix)]
    if let Err(e) = rlimit::setrlimit(rlimit::Resource::AS, bytes, bytes) {
        eprintln!("extract-worker: cannot limit memory: {e}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits(timeout_ms: u64) -> Limits {
        Limits {
            extract_timeout: std::time::Duration::from_millis(timeout_ms),
            ..Limits::default()
        }
    }

    #[test]
    fn an_extractor_that_never_ends_is_a_timeout() {
        // The worker waits on a channel whose sender this test keeps: it
        // never finishes, and the limit, not a sleep, ends the wait.
        let (_keep, never) = mpsc::channel::<()>();
        let failure = with_time_limit(&limits(50), move || {
            let _ = never.recv();
            Ok(())
        })
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Timeout);
        assert_eq!(
            failure.detail,
            "extraction took over 50 ms (extract_timeout_seconds in node.toml)"
        );
    }

    #[test]
    fn a_panicking_extractor_is_a_crash_of_its_file_alone() {
        let failure =
            with_time_limit::<()>(&limits(10_000), || panic!("szándékos pánik")).unwrap_err();
        assert_eq!(failure.kind, FailureKind::ExtractorCrash);
        assert_eq!(failure.detail, "szándékos pánik");
    }

    #[test]
    fn a_file_over_max_file_bytes_reaches_no_extractor() {
        let small = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        let failure = run(
            &Job::Document(DocFormat::Docx),
            &[0; 11],
            &small,
            &Isolation::Process(PathBuf::from("/nonexistent/extractor")),
        )
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::TooLarge);
        assert_eq!(
            failure.detail,
            "the file is 11 bytes, over the limit of 10 bytes (max_file_bytes in node.toml)"
        );
    }
}
