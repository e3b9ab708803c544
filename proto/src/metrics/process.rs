//! The process metrics every Prometheus client exports, read from
//! `/proc/self` at scrape time: `process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_open_fds`,
//! `process_start_time_seconds`. Where `/proc` is not there (not Linux) or a
//! file cannot be read, the metric is simply absent: a scrape never fails
//! for it.
//!
//! CPU and start times in `/proc/self/stat` are in clock ticks; the kernel
//! reports them to user space in `USER_HZ`, which is 100 on every Linux
//! architecture we build for (reading `sysconf` would need `unsafe` code,
//! which the workspace forbids).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;

use super::gauge;

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// Reads `/proc/self` when asked.
#[derive(Debug)]
pub(super) struct ProcessCollector;

/// What one scrape reads.
#[derive(Debug, Default, PartialEq)]
struct Sample {
    cpu_seconds: Option<f64>,
    resident_bytes: Option<u64>,
    open_fds: Option<u64>,
    start_time_seconds: Option<f64>,
}

impl Sample {
    fn read() -> Sample {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let fields = stat.as_deref().map(stat_fields).unwrap_or_default();
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| boot_time(&s));
        Sample {
            cpu_seconds: cpu_seconds(&fields),
            resident_bytes: std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| resident_bytes(&s)),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| entries.count() as u64),
            start_time_seconds: boot
                .zip(field(&fields, 22))
                .map(|(boot, ticks)| boot as f64 + ticks / TICKS_PER_SECOND),
        }
    }
}

/// The fields of `/proc/self/stat` after the command name (which may hold
/// spaces and parentheses): index 0 is field 3, the state.
fn stat_fields(stat: &str) -> Vec<&str> {
    match stat.rsplit_once(')') {
        Some((_, rest)) => rest.split_whitespace().collect(),
        None => Vec::new(),
    }
}

/// Field `n` of `/proc/self/stat` as the manual numbers them (from 1).
fn field(fields: &[&str], n: usize) -> Option<f64> {
    fields.get(n.checked_sub(3)?)?.parse().ok()
}

/// User and system time (fields 14 and 15), in seconds.
fn cpu_seconds(fields: &[&str]) -> Option<f64> {
    Some((field(fields, 14)? + field(fields, 15)?) / TICKS_PER_SECOND)
}

/// `VmRSS:  1234 kB` in `/proc/self/status`, in bytes.
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// `btime` in `/proc/stat`: the boot time as a Unix time.
fn boot_time(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sample = Sample::read();
        if let Some(cpu) = sample.cpu_seconds {
            let counter = ConstCounter::new(cpu);
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                counter.metric_type(),
            )?;
            counter.encode(metric)?;
        }
        if let Some(rss) = sample.resident_bytes {
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                rss,
            )?;
        }
        if let Some(fds) = sample.open_fds {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors",
                fds,
            )?;
        }
        if let Some(start) = sample.start_time_seconds {
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                start,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_status_and_boot_time() {
        let stat = "4242 (tudas (hub) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 \
                    8 0 123456 1000000 300 18446744073709551615";
        let fields = stat_fields(stat);
        assert_eq!(cpu_seconds(&fields), Some(3.0));
        assert_eq!(field(&fields, 22), Some(123456.0));
        assert_eq!(
            resident_bytes("Name:\tx\nVmRSS:\t  2048 kB\nVmSwap: 0 kB\n"),
            Some(2 * 1024 * 1024)
        );
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
        assert_eq!(resident_bytes(""), None);
        assert!(stat_fields("garbage").is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read_on_linux() {
        let sample = Sample::read();
        assert!(sample.resident_bytes.unwrap() > 0);
        assert!(sample.open_fds.unwrap() > 0);
        assert!(sample.cpu_seconds.is_some());
        assert!(sample.start_time_seconds.unwrap() > 1_500_000_000.0);
    }
}
