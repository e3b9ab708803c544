//! (stub, replaced by the portal-auth branch)
use tudashalo_proto::identity::Principal;
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub principal: Principal,
}
impl Account {
    pub fn fingerprint(&self) -> String {
        String::new()
    }
}
pub struct AccountsFile;
impl AccountsFile {
    pub fn open(_p: &std::path::Path) -> Result<AccountsFile, String> {
        Ok(AccountsFile)
    }
    pub fn get(&self, _n: &str) -> Option<Account> {
        None
    }
    pub fn verify(&self, _n: &str, _p: &str) -> Option<Account> {
        None
    }
}
