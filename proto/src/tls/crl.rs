//! Stale revocation lists: how fresh the CRL in force is, when that is
//! logged, and when it stops every handshake.
//!
//! A CRL past its `nextUpdate` is still used for a grace period (warned
//! about at every load and hourly); beyond it, every handshake on both
//! sides is refused with an error naming the file, its `nextUpdate` and the
//! grace. The check runs at handshake time, so that a CRL going stale while
//! a process runs takes effect without a reload. The earliest `nextUpdate`
//! of the file counts.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::OtherError;
use rustls::pki_types::UnixTime;

use super::files::earliest_next_update;
use super::{STALE_CRL_WARN_EVERY, TlsError};

/// How often a CRL beyond its grace is logged as an error (every refused
/// handshake also names it in its own log line).
const EXPIRED_CRL_LOG_EVERY: Duration = Duration::from_secs(60);

/// How fresh a configured CRL is, judged at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CrlFreshness {
    /// Before its `nextUpdate` (or it has none).
    Fresh,
    /// Past its `nextUpdate`, within the grace period: used, with warnings.
    Stale { overdue: Duration },
    /// Past its `nextUpdate` by more than the grace: every handshake refused.
    Expired { overdue: Duration },
}

/// The stale-CRL policy of one loaded configuration: the CRL file, its
/// earliest `nextUpdate`, the grace, and when it was last logged.
#[derive(Debug)]
pub(super) struct CrlPolicy {
    pub(super) path: PathBuf,
    /// Unix seconds; `None` if no CRL in the file carries a `nextUpdate`.
    next_update: Option<i64>,
    grace: Duration,
    last_warned: Mutex<Option<Instant>>,
    last_refusal_logged: Mutex<Option<Instant>>,
}

/// Why a stale CRL refuses a handshake (shown in errors and logs).
#[derive(Debug)]
struct StaleCrl {
    path: PathBuf,
    next_update: i64,
    grace: Duration,
    overdue: Duration,
}

impl std::fmt::Display for StaleCrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "revocation list {} is past its nextUpdate ({}) by {}, beyond the grace period of {} \
             ([revocation] crl_grace_hours): every TLS handshake is refused until a fresh CRL \
             is installed (`tudashalo-hub pki crl`)",
            self.path.display(),
            rfc3339(self.next_update),
            hours(self.overdue),
            hours(self.grace),
        )
    }
}

impl std::error::Error for StaleCrl {}

impl CrlPolicy {
    pub(super) fn new(path: PathBuf, pem: &[u8], grace: Duration) -> Result<CrlPolicy, TlsError> {
        Ok(CrlPolicy {
            next_update: earliest_next_update(&path, pem)?,
            path,
            grace,
            last_warned: Mutex::new(None),
            last_refusal_logged: Mutex::new(None),
        })
    }

    /// The earliest `nextUpdate` of the CRL, in Unix seconds (what
    /// `tudashalo_crl_next_update_seconds` reports).
    pub(super) fn next_update(&self) -> Option<i64> {
        self.next_update
    }

    pub(super) fn freshness(&self, now_secs: u64) -> CrlFreshness {
        let Some(next) = self.next_update else {
            return CrlFreshness::Fresh;
        };
        let now = i64::try_from(now_secs).unwrap_or(i64::MAX);
        if now <= next {
            return CrlFreshness::Fresh;
        }
        let overdue = Duration::from_secs(now.abs_diff(next));
        if overdue > self.grace {
            CrlFreshness::Expired { overdue }
        } else {
            CrlFreshness::Stale { overdue }
        }
    }

    /// Logs the CRL's state now: `always` at a load, else rate-limited (a
    /// stale CRL hourly, an expired one every minute).
    pub(super) fn log(&self, freshness: &CrlFreshness, always: bool) {
        let due = |slot: &Mutex<Option<Instant>>, every: Duration| {
            let mut last = slot.lock().unwrap_or_else(PoisonError::into_inner);
            let due = always || last.is_none_or(|at| at.elapsed() >= every);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        let next_update = self.next_update.map(rfc3339).unwrap_or_default();
        match freshness {
            CrlFreshness::Stale { overdue } if due(&self.last_warned, STALE_CRL_WARN_EVERY) => {
                tracing::warn!(
                    crl = %self.path.display(),
                    next_update = %next_update,
                    overdue = %hours(*overdue),
                    grace = %hours(self.grace),
                    refused_from = %rfc3339(self.next_update.unwrap_or(0).saturating_add(i64::try_from(self.grace.as_secs()).unwrap_or(i64::MAX))),
                    "revocation list is past its nextUpdate; still used within the grace period, \
                     re-issue it now (`tudashalo-hub pki crl`)"
                );
            }
            CrlFreshness::Expired { overdue }
                if due(&self.last_refusal_logged, EXPIRED_CRL_LOG_EVERY) =>
            {
                tracing::error!(
                    crl = %self.path.display(),
                    next_update = %next_update,
                    overdue = %hours(*overdue),
                    grace = %hours(self.grace),
                    "revocation list is past its nextUpdate beyond the grace period: \
                     refusing every TLS handshake until a fresh CRL is installed \
                     (`tudashalo-hub pki crl`)"
                );
            }
            _ => {}
        }
    }

    /// The handshake-time check: `Err` once beyond the grace.
    pub(super) fn check(&self, now: UnixTime) -> Result<(), rustls::Error> {
        let freshness = self.freshness(now.as_secs());
        self.log(&freshness, false);
        match freshness {
            CrlFreshness::Expired { overdue } => {
                Err(rustls::Error::Other(OtherError(Arc::new(StaleCrl {
                    path: self.path.clone(),
                    next_update: self.next_update.unwrap_or(0),
                    grace: self.grace,
                    overdue,
                }))))
            }
            _ => Ok(()),
        }
    }
}

pub(super) fn now_secs() -> u64 {
    UnixTime::now().as_secs()
}

/// `72 h`, or minutes for short durations.
fn hours(d: Duration) -> String {
    let secs = d.as_secs();
    if (secs >= 3600 && secs.is_multiple_of(3600)) || secs >= 36_000 {
        format!("{} h", secs / 3600)
    } else if secs >= 3600 {
        format!("{:.1} h", secs as f64 / 3600.0)
    } else {
        format!("{} min", secs / 60)
    }
}

/// Unix seconds as `2026-12-01T09:37:49Z`.
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tls::DEFAULT_CRL_GRACE;
    use crate::tls::verify::describe_rustls;

    #[test]
    fn dates_and_durations_read_well() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_118_669), "2026-12-01T09:51:09Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(hours(DEFAULT_CRL_GRACE), "72 h");
        assert_eq!(hours(Duration::from_secs(5400)), "1.5 h");
        assert_eq!(hours(Duration::from_secs(600)), "10 min");
    }

    fn policy(next_update: Option<i64>, grace: Duration) -> CrlPolicy {
        CrlPolicy {
            path: PathBuf::from("/etc/tudashalo/crl.pem"),
            next_update,
            grace,
            last_warned: Mutex::new(None),
            last_refusal_logged: Mutex::new(None),
        }
    }

    #[test]
    fn a_stale_crl_is_used_within_its_grace_and_refused_after() {
        let now = 1_796_118_669_u64;
        let next = now as i64 - 3600;
        let grace = Duration::from_secs(2 * 3600);
        let p = policy(Some(next), grace);
        assert_eq!(p.freshness(now - 7200), CrlFreshness::Fresh);
        assert_eq!(p.freshness(next as u64), CrlFreshness::Fresh);
        assert_eq!(
            p.freshness(now),
            CrlFreshness::Stale {
                overdue: Duration::from_secs(3600)
            }
        );
        assert!(
            p.check(UnixTime::since_unix_epoch(Duration::from_secs(now)))
                .is_ok()
        );
        let later = now + 2 * 3600;
        assert_eq!(
            p.freshness(later),
            CrlFreshness::Expired {
                overdue: Duration::from_secs(3 * 3600)
            }
        );
        let err = p
            .check(UnixTime::since_unix_epoch(Duration::from_secs(later)))
            .unwrap_err();
        let text = describe_rustls(&err);
        for part in [
            "/etc/tudashalo/crl.pem",
            "2026-12-01T08:51:09Z",
            "3 h",
            "grace period of 2 h",
        ] {
            assert!(text.contains(part), "{part:?} in {text}");
        }
        // No nextUpdate: never stale. Zero grace: refused at once.
        assert_eq!(policy(None, grace).freshness(u64::MAX), CrlFreshness::Fresh);
        assert!(matches!(
            policy(Some(next), Duration::ZERO).freshness(now),
            CrlFreshness::Expired { .. }
        ));
    }
}
