//! Login throttling: at most [`MAX_FAILURES_PER_USER`] failed logins per
//! account name and [`MAX_FAILURES_PER_ADDRESS`] per client address within
//! [`WINDOW`]; past either, logins are refused until the oldest failure
//! leaves the window.
//!
//! ## Security reasoning
//!
//! - Two limits: per name (guessing one account's password from many
//!   addresses) and per address (trying many names from one).
//! - A sliding window: each key keeps the instants of its failures, at
//!   most the limit's number of them, so the count is exact and the memory
//!   per key bounded; at most [`MAX_TRACKED`] names and [`MAX_TRACKED`]
//!   addresses are tracked, and when full the key touched longest ago is
//!   dropped (expired keys first). Names and addresses are kept apart, so
//!   a flood of invented names cannot evict the addresses' counts.
//! - IPv6 clients are counted by their /64 (one subscriber typically holds
//!   a whole /64, and could otherwise take a fresh address per try);
//!   IPv4-mapped IPv6 addresses count as the IPv4 address.
//! - Names are cut to [`MAX_KEY_NAME_BYTES`] before being kept: a hostile
//!   name cannot make an entry large.
//! - A successful login clears the name's count but not the address's: an
//!   attacker holding one valid account must not be able to reset the
//!   address limit between guesses at other accounts.
//! - The throttle is checked before the password is hashed, so refused
//!   attempts cost no Argon2 time.
//! - [`LoginLimiter::begin`] checks and counts in one step, under the lock:
//!   with `check` then `failure`, a burst of parallel logins would all pass
//!   the check before the first failure is counted. An attempt counts as
//!   failed until [`Attempt::succeeded`] says otherwise, so a request that
//!   is dropped half way (client gone, panic) still counts.
//! - State is in memory and per replica: a restart forgets it, and with
//!   several replicas each enforces its own limits (documented trade-off
//!   of the stateless hub).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins per account name within [`WINDOW`].
pub const MAX_FAILURES_PER_USER: usize = 5;
/// Failed logins per client address (IPv6: per /64) within [`WINDOW`].
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The most names, and the most addresses, tracked at once.
pub const MAX_TRACKED: usize = 10_000;
/// How much of a name is kept as its key.
pub const MAX_KEY_NAME_BYTES: usize = 64;

/// Why a login is refused now, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub retry_after: Duration,
    /// Which limit, named: for the log and the page.
    pub reason: &'static str,
}

/// The per-user limit's reason.
pub const USER_REASON: &str =
    "too many failed logins for this account (MAX_FAILURES_PER_USER within 15 minutes)";
/// The per-address limit's reason.
pub const ADDRESS_REASON: &str =
    "too many failed logins from this address (MAX_FAILURES_PER_ADDRESS within 15 minutes)";

/// One key's recent failures, oldest first.
#[derive(Debug)]
struct Entry {
    failures: VecDeque<Instant>,
    touched: Instant,
}

/// Failures per key, bounded in keys and in failures per key.
#[derive(Debug)]
struct Table<K> {
    entries: HashMap<K, Entry>,
    limit: usize,
    capacity: usize,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(limit: usize, capacity: usize) -> Table<K> {
        Table {
            entries: HashMap::new(),
            limit,
            capacity,
        }
    }

    /// When `key` may try again, if it is over its limit at `now`.
    fn refused(&self, key: &K, now: Instant) -> Option<Duration> {
        let entry = self.entries.get(key)?;
        let recent: Vec<&Instant> = entry
            .failures
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < WINDOW)
            .collect();
        if recent.len() < self.limit {
            return None;
        }
        // The limit is reached; the oldest failure still counting decides
        // when one slot frees.
        let oldest = **recent.first()?;
        Some(WINDOW.saturating_sub(now.saturating_duration_since(oldest)))
    }

    fn record(&mut self, key: K, now: Instant) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_insert_with(|| Entry {
            failures: VecDeque::new(),
            touched: now,
        });
        entry.touched = now;
        while entry
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        // More than the limit never changes a decision: keep it bounded.
        while entry.failures.len() > self.limit {
            entry.failures.pop_front();
        }
    }

    /// Takes back one failure recorded at `at` (a provisional one).
    fn unrecord(&mut self, key: &K, at: Instant) {
        if let Some(entry) = self.entries.get_mut(key)
            && let Some(index) = entry.failures.iter().rposition(|t| *t == at)
        {
            entry.failures.remove(index);
        }
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Drops the expired keys, and if none was, the one touched longest
    /// ago. A linear scan, only when the table is full: each failed login
    /// already cost an Argon2 hash, far more than this.
    fn make_room(&mut self, now: Instant) {
        let before = self.entries.len();
        self.entries
            .retain(|_, e| now.saturating_duration_since(e.touched) < WINDOW);
        if self.entries.len() < before {
            return;
        }
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, e)| e.touched)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.entries.remove(&key);
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[derive(Debug)]
struct State {
    users: Table<String>,
    addresses: Table<IpAddr>,
}

/// Login throttling, shared by all requests (thread-safe).
#[derive(Debug)]
pub struct LoginLimiter {
    state: Mutex<State>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new()
    }
}

impl LoginLimiter {
    pub fn new() -> LoginLimiter {
        LoginLimiter {
            state: Mutex::new(State {
                users: Table::new(MAX_FAILURES_PER_USER, MAX_TRACKED),
                addresses: Table::new(MAX_FAILURES_PER_ADDRESS, MAX_TRACKED),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The tables stay consistent whatever panicked while holding the
        // lock (each change is a whole insert or remove), so a poisoned
        // lock is used as it is rather than turning every login into a
        // panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `user` may try to log in from `ip` at `now`. When both
    /// limits are reached, the refusal that lasts longer is returned.
    /// Prefer [`LoginLimiter::begin`] in a server (see the module's
    /// reasoning).
    pub fn check(&self, user: &str, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        Self::refusal(&self.lock(), user, ip, now)
    }

    /// Checks and, if allowed, counts the attempt as a failure at once,
    /// atomically. Call [`Attempt::succeeded`] when the password was right;
    /// otherwise (dropped) it stays counted as a failure.
    pub fn begin(&self, user: &str, ip: IpAddr, now: Instant) -> Result<Attempt<'_>, Refusal> {
        let mut state = self.lock();
        Self::refusal(&state, user, ip, now)?;
        let user = user_key(user);
        let ip = address_key(ip);
        state.users.record(user.clone(), now);
        state.addresses.record(ip, now);
        Ok(Attempt {
            limiter: self,
            user,
            ip,
            at: now,
        })
    }

    fn refusal(state: &State, user: &str, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        let by_user = state
            .users
            .refused(&user_key(user), now)
            .map(|retry_after| Refusal {
                retry_after,
                reason: USER_REASON,
            });
        let by_address = state
            .addresses
            .refused(&address_key(ip), now)
            .map(|retry_after| Refusal {
                retry_after,
                reason: ADDRESS_REASON,
            });
        match (by_user, by_address) {
            (None, None) => Ok(()),
            (Some(r), None) | (None, Some(r)) => Err(r),
            (Some(u), Some(a)) => Err(if a.retry_after > u.retry_after { a } else { u }),
        }
    }

    /// Counts a failed login of `user` from `ip`.
    pub fn failure(&self, user: &str, ip: IpAddr, now: Instant) {
        let mut state = self.lock();
        state.users.record(user_key(user), now);
        state.addresses.record(address_key(ip), now);
    }

    /// A successful login: clears the name's count. The address's count is
    /// kept on purpose (see the module's reasoning).
    pub fn success(&self, user: &str, _ip: IpAddr) {
        self.lock().users.clear(&user_key(user));
    }

    /// How many names and addresses are tracked (for tests and metrics).
    pub fn tracked(&self) -> (usize, usize) {
        let state = self.lock();
        (state.users.len(), state.addresses.len())
    }
}

/// A login attempt admitted by [`LoginLimiter::begin`]: counted as a
/// failure unless [`Attempt::succeeded`] is called.
#[derive(Debug)]
#[must_use = "an attempt counts as failed unless `succeeded` is called"]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    user: String,
    ip: IpAddr,
    at: Instant,
}

impl Attempt<'_> {
    /// The password was right: the name's failures are cleared, and this
    /// attempt no longer counts against the address (earlier failures from
    /// it still do).
    pub fn succeeded(self) {
        let mut state = self.limiter.lock();
        state.users.clear(&self.user);
        state.addresses.unrecord(&self.ip, self.at);
    }
}

/// The name as a key: cut to [`MAX_KEY_NAME_BYTES`] on a character
/// boundary.
fn user_key(user: &str) -> String {
    let mut end = user.len().min(MAX_KEY_NAME_BYTES);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user[..end].to_owned()
}

/// The address as a key: IPv4 as it is (also when mapped into IPv6),
/// IPv6 by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn per_user_limit_and_retry_after() {
        let limiter = LoginLimiter::new();
        let t0 = Instant::now();
        let addr = ip("192.0.2.1");
        for i in 0..MAX_FAILURES_PER_USER {
            assert!(limiter.check("anna", addr, t0).is_ok());
            limiter.failure("anna", addr, t0 + Duration::from_secs(i as u64));
        }
        let refusal = limiter
            .check("anna", ip("198.51.100.7"), t0 + Duration::from_secs(60))
            .unwrap_err();
        assert_eq!(refusal.reason, USER_REASON);
        assert!(refusal.reason.contains("MAX_FAILURES_PER_USER"));
        // The first failure (at t0) leaves the window at t0 + WINDOW.
        assert_eq!(refusal.retry_after, WINDOW - Duration::from_secs(60));
        // Another name from the same address is still allowed.
        assert!(limiter.check("bela", addr, t0).is_ok());
        // Once the oldest failure is out of the window, one more try.
        assert!(limiter.check("anna", addr, t0 + WINDOW).is_ok());
    }

    #[test]
    fn per_address_limit() {
        let limiter = LoginLimiter::new();
        let t0 = Instant::now();
        let addr = ip("192.0.2.1");
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            limiter.failure(&format!("user{i}"), addr, t0);
        }
        let refusal = limiter.check("someone", addr, t0).unwrap_err();
        assert_eq!(refusal.reason, ADDRESS_REASON);
        assert_eq!(refusal.retry_after, WINDOW);
        assert!(limiter.check("someone", ip("192.0.2.2"), t0).is_ok());
        assert!(limiter.check("someone", addr, t0 + WINDOW).is_ok());
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_v4_as_v4() {
        let limiter = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            let addr = ip(&format!("2001:db8:1:2::{:x}", i + 1));
            limiter.failure(&format!("u{i}"), addr, t0);
        }
        assert!(limiter.check("x", ip("2001:db8:1:2:ffff::1"), t0).is_err());
        assert!(limiter.check("x", ip("2001:db8:1:3::1"), t0).is_ok());
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            limiter.failure(&format!("v{i}"), ip("::ffff:192.0.2.9"), t0);
        }
        assert!(limiter.check("x", ip("192.0.2.9"), t0).is_err());
    }

    #[test]
    fn success_clears_the_user_but_not_the_address() {
        let limiter = LoginLimiter::new();
        let t0 = Instant::now();
        let addr = ip("192.0.2.1");
        for _ in 0..MAX_FAILURES_PER_USER {
            limiter.failure("anna", addr, t0);
        }
        assert!(limiter.check("anna", addr, t0).is_err());
        limiter.success("anna", addr);
        assert!(limiter.check("anna", addr, t0).is_ok());
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            limiter.failure(&format!("u{i}"), addr, t0);
        }
        limiter.success("u0", addr);
        assert_eq!(
            limiter.check("u0", addr, t0).unwrap_err().reason,
            ADDRESS_REASON
        );
    }

    #[test]
    fn sliding_window_counts_only_recent_failures() {
        let limiter = LoginLimiter::new();
        let t0 = Instant::now();
        let addr = ip("192.0.2.1");
        let minute = Duration::from_secs(60);
        // Four failures early, then one at 14 minutes: five within 15.
        for _ in 0..4 {
            limiter.failure("anna", addr, t0);
        }
        limiter.failure("anna", addr, t0 + 14 * minute);
        assert!(limiter.check("anna", addr, t0 + 14 * minute).is_err());
        // At 15 minutes the early four are gone.
        assert!(limiter.check("anna", addr, t0 + 15 * minute).is_ok());
    }

    #[test]
    fn begin_counts_at_once_so_parallel_attempts_cannot_pass_together() {
        let limiter = LoginLimiter::new();
        let t0 = Instant::now();
        let addr = ip("192.0.2.1");
        // Attempts in flight at the same time: the sixth is refused before
        // any of the first five has finished.
        let attempts: Vec<Attempt<'_>> = (0..MAX_FAILURES_PER_USER)
            .map(|_| limiter.begin("anna", addr, t0).unwrap())
            .collect();
        let refusal = limiter.begin("anna", addr, t0).unwrap_err();
        assert_eq!(refusal.reason, USER_REASON);
        // Dropped without success: they stay failures.
        drop(attempts);
        assert!(limiter.check("anna", addr, t0).is_err());
        // A success clears the name and takes back only its own attempt
        // from the address.
        let other = ip("192.0.2.2");
        for i in 0..(MAX_FAILURES_PER_ADDRESS - 1) {
            limiter.failure(&format!("u{i}"), other, t0);
        }
        limiter.begin("bela", other, t0).unwrap().succeeded();
        assert!(limiter.check("bela", other, t0).is_ok());
        let last = limiter.begin("bela", other, t0).unwrap();
        assert_eq!(
            limiter.begin("cili", other, t0).unwrap_err().reason,
            ADDRESS_REASON
        );
        last.succeeded();
        assert!(limiter.check("cili", other, t0).is_ok());
    }

    #[test]
    fn memory_is_bounded() {
        let limiter = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED + 50) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(i as u32));
            limiter.failure(
                &format!("{i}{}", "x".repeat(200)),
                addr,
                t0 + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(limiter.tracked(), (MAX_TRACKED, MAX_TRACKED));
        // The oldest were evicted, the newest kept.
        let state = limiter.lock();
        assert!(!state.addresses.entries.contains_key(&IpAddr::V4(0.into())));
        let newest = IpAddr::V4(std::net::Ipv4Addr::from((MAX_TRACKED + 49) as u32));
        assert!(state.addresses.entries.contains_key(&newest));
        assert!(
            state
                .users
                .entries
                .keys()
                .all(|k| k.len() <= MAX_KEY_NAME_BYTES)
        );
        drop(state);
        // Past the window, a full table frees its expired keys at once.
        limiter.failure("late", ip("192.0.2.1"), t0 + 2 * WINDOW);
        assert_eq!(limiter.tracked(), (1, 1));
        // Multi-byte names are cut on a character boundary.
        assert_eq!(user_key(&"é".repeat(40)).len(), 64);
    }
}
