//! (stub, replaced by the portal-auth branch)
use std::net::IpAddr;
use std::time::{Duration, Instant};
pub struct Refusal {
    pub retry_after: Duration,
    pub reason: &'static str,
}
pub struct LoginLimiter;
impl LoginLimiter {
    pub fn new() -> LoginLimiter {
        LoginLimiter
    }
    pub fn check(&self, _u: &str, _ip: IpAddr, _now: Instant) -> Result<(), Refusal> {
        Ok(())
    }
    pub fn failure(&self, _u: &str, _ip: IpAddr, _now: Instant) {}
    pub fn success(&self, _u: &str, _ip: IpAddr) {}
}
