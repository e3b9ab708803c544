//! (stub, replaced by the portal-auth branch)
use tudashalo_proto::identity::Principal;
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub principal: Principal,
    pub fingerprint: String,
    pub expires: u64,
    pub nonce: String,
}
pub struct SessionKey;
impl SessionKey {
    pub fn load(_p: &std::path::Path) -> Result<SessionKey, String> {
        Ok(SessionKey)
    }
    pub fn seal(&self, _s: &Session) -> String {
        String::new()
    }
    pub fn open(&self, _v: &str, _now: u64) -> Option<Session> {
        None
    }
    pub fn csrf_token(&self, _n: &str) -> String {
        String::new()
    }
    pub fn check_csrf(&self, _n: &str, _t: &str) -> bool {
        false
    }
    pub fn seal_nonce(&self, _n: &str) -> String {
        String::new()
    }
    pub fn open_nonce(&self, _v: &str) -> Option<String> {
        None
    }
}
pub fn new_nonce() -> String {
    String::new()
}
