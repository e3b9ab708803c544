//! Local portal accounts: a TOML file of names, the principal each acts as,
//! and an Argon2id hash of each password.
//!
//! ## Security reasoning
//!
//! - Passwords are stored only as Argon2id PHC strings with OWASP's
//!   parameters ([`ARGON2_M_KIB`], [`ARGON2_T`], [`ARGON2_P`]); the file is
//!   written only by the CLI, mode 0600, atomically (temp file in the same
//!   folder, fsync, rename), so a running portal never reads half a file.
//! - Hostile input is bounded before any hashing: a password over
//!   [`MAX_PASSWORD_BYTES`] or a name over [`MAX_NAME_BYTES`] is refused
//!   without spending Argon2 time on it. Hashes read from the file must be
//!   Argon2id v19 with costs under [`MAX_HASH_M_KIB`], [`MAX_HASH_T`] and
//!   [`MAX_HASH_P`], so that an edited file cannot make each login cost
//!   gigabytes (Argon2 verifies with the parameters the hash names).
//! - [`Accounts::verify`] hashes against a fixed dummy hash for unknown
//!   names, so that the time a login takes does not tell which names exist.
//! - An account never acts as the `public` role: that principal stands for
//!   anonymous visitors, and a login must not be needed to become it nor
//!   be confusable with it.
//! - Each account has a [`Account::fingerprint`] of its hash; sessions carry
//!   it, so changing a password or removing the account ends its sessions.
//! - Nothing here logs a password or a hash: [`AccountsFile`] logs only the
//!   file and what was wrong with it.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tudashalo_proto::identity::{Principal, Role, validate_name};

/// Argon2id memory cost in KiB (OWASP: 19 MiB).
pub const ARGON2_M_KIB: u32 = 19_456;
/// Argon2id iterations (OWASP: 2 with 19 MiB).
pub const ARGON2_T: u32 = 2;
/// Argon2id parallelism (OWASP: 1).
pub const ARGON2_P: u32 = 1;
/// The largest memory cost a stored hash may name (256 MiB): more is
/// refused on load, since verifying would cost that much on every login.
pub const MAX_HASH_M_KIB: u32 = 256 * 1024;
/// The most iterations a stored hash may name.
pub const MAX_HASH_T: u32 = 16;
/// The most lanes a stored hash may name.
pub const MAX_HASH_P: u32 = 8;
/// The shortest password accepted when one is set.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password accepted, set or tried: bounds the work a hostile
/// login form can cause before Argon2 even starts.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The longest user name accepted (names are slugs, at most 63 bytes; this
/// bound is checked first, on untrusted input).
pub const MAX_NAME_BYTES: usize = 64;
/// The largest accounts file read (some ten thousand accounts).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// How often [`AccountsFile`] looks at the file's modification time.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The first line of every accounts file the CLI writes.
const FILE_HEADER: &str = "# Tudásháló portal accounts, written by `tudashalo-hub portal user …` (or tudashalo-node). One [[user]] per account.\n";

/// The hash unknown names are verified against, so that a login for a
/// name that does not exist costs as long as one that does: the same
/// parameters as real accounts, a fixed salt, and an output chosen at
/// random (no password is known to produce it; none needs to).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$dHVkYXNoYWxvLWR1bW15$t0mN3tBHBcHuAJmrPSZPyt7uiqxwzpm6tmIWn+v5ZLY";

/// What went wrong reading, changing or writing accounts. Errors about the
/// file name it and the entry: `accounts.toml: user[2].principal: …`
/// (entries counted from 1, as an operator reads the file).
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    /// The file is not valid TOML of the expected shape, or an entry is
    /// wrong; `message` starts with the entry and field.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(
        "password too short: {got} characters, at least {MIN_PASSWORD_CHARS} needed (MIN_PASSWORD_CHARS)"
    )]
    PasswordTooShort { got: usize },
    #[error("password too long: at most {MAX_PASSWORD_BYTES} bytes (MAX_PASSWORD_BYTES)")]
    PasswordTooLong,
    #[error("user name {name:?}: {reason}")]
    BadName { name: String, reason: String },
    #[error(
        "principal {0}: an account cannot act as the public role (it stands for anonymous visitors)"
    )]
    PublicPrincipal(String),
    #[error("no user {0:?}")]
    UnknownUser(String),
    #[error("user {0:?} exists already")]
    Exists(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// One account. The hash is private: only [`Accounts::verify`] uses it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name (a slug).
    pub name: String,
    /// Whom the portal asks as for this account.
    pub principal: Principal,
    hash: String,
}

impl Account {
    /// The first 16 hex characters of SHA-256 of the hash: sessions carry
    /// it, so a new password (a new salt, a new hash) ends them.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.hash.as_bytes());
        hex(&digest[..8])
    }
}

// The hash stays out of Debug output, so that no `{:?}` logs it.
impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// The file as written: `[[user]]` entries.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    #[serde(default)]
    user: Vec<UserRepr>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UserRepr {
    name: String,
    principal: String,
    hash: String,
}

/// All accounts, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    users: Vec<Account>,
}

impl Accounts {
    /// No accounts.
    pub fn empty() -> Accounts {
        Accounts::default()
    }

    /// Reads and checks a file: every entry's name, principal and hash;
    /// duplicate names, the public role and anything but an Argon2id hash
    /// within the cost bounds are refused.
    pub fn load(path: &Path) -> Result<Accounts, AccountsError> {
        let io = |source| AccountsError::Io {
            path: path.display().to_string(),
            source,
        };
        let len = fs::metadata(path).map_err(io)?.len();
        if len > MAX_FILE_BYTES {
            return Err(AccountsError::Invalid {
                path: path.display().to_string(),
                message: format!("larger than {MAX_FILE_BYTES} bytes (MAX_FILE_BYTES)"),
            });
        }
        let text = fs::read_to_string(path).map_err(io)?;
        Accounts::parse(&text).map_err(|message| AccountsError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses the file's text; the error names the entry and field.
    fn parse(text: &str) -> Result<Accounts, String> {
        // The message only, with the line: toml's full report quotes the
        // line, which may be a hash.
        let repr: FileRepr = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => {
                let line = text
                    .get(..span.start)
                    .map_or(0, |t| t.matches('\n').count())
                    + 1;
                format!("line {line}: {}", e.message())
            }
            None => e.message().to_owned(),
        })?;
        let mut accounts = Accounts::empty();
        for (index, user) in repr.user.into_iter().enumerate() {
            let at =
                |field: &str, message: String| format!("user[{}].{field}: {message}", index + 1);
            check_name(&user.name).map_err(|e| at("name", e.to_string()))?;
            if accounts.get(&user.name).is_some() {
                return Err(at("name", format!("{:?} appears twice", user.name)));
            }
            let principal = user
                .principal
                .parse::<Principal>()
                .map_err(|e| at("principal", e.to_string()))?;
            check_principal(&principal).map_err(|e| at("principal", e.to_string()))?;
            // The hash's text is not quoted: it is a secret of sorts.
            check_hash(&user.hash).map_err(|reason| at("hash", reason))?;
            accounts.users.push(Account {
                name: user.name,
                principal,
                hash: user.hash,
            });
        }
        Ok(accounts)
    }

    /// The account named `name`.
    pub fn get(&self, name: &str) -> Option<&Account> {
        self.users.iter().find(|a| a.name == name)
    }

    /// All accounts, in file order.
    pub fn list(&self) -> &[Account] {
        &self.users
    }

    /// Adds an account; the password must be within the limits.
    pub fn add(
        &mut self,
        name: &str,
        principal: Principal,
        password: &str,
    ) -> Result<&Account, AccountsError> {
        check_name(name)?;
        check_principal(&principal)?;
        if self.get(name).is_some() {
            return Err(AccountsError::Exists(name.to_owned()));
        }
        let hash = hash_password(password)?;
        self.users.push(Account {
            name: name.to_owned(),
            principal,
            hash,
        });
        self.users
            .last()
            .ok_or_else(|| AccountsError::UnknownUser(name.to_owned()))
    }

    /// Gives `name` a new password (and so a new fingerprint: its sessions
    /// end).
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), AccountsError> {
        // Checked before looking the name up, so the error for a bad
        // password does not depend on the account existing.
        check_new_password(password)?;
        let index = self
            .users
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| AccountsError::UnknownUser(name.to_owned()))?;
        let hash = hash_password(password)?;
        if let Some(account) = self.users.get_mut(index) {
            account.hash = hash;
        }
        Ok(())
    }

    /// Removes `name`, returning the account.
    pub fn remove(&mut self, name: &str) -> Result<Account, AccountsError> {
        let index = self
            .users
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| AccountsError::UnknownUser(name.to_owned()))?;
        Ok(self.users.remove(index))
    }

    /// Writes the file: mode 0600, atomically.
    pub fn save(&self, path: &Path) -> Result<(), AccountsError> {
        let repr = FileRepr {
            user: self
                .users
                .iter()
                .map(|a| UserRepr {
                    name: a.name.clone(),
                    principal: a.principal.to_string(),
                    hash: a.hash.clone(),
                })
                .collect(),
        };
        let body = toml::to_string(&repr).map_err(|e| AccountsError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let text = format!("{FILE_HEADER}{body}");
        write_private_atomic(path, text.as_bytes()).map_err(|source| AccountsError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The account `name` if `password` is its password. Argon2id runs
    /// whether or not the name exists (against [`DUMMY_HASH`] if not);
    /// names and passwords over the limits are refused before hashing.
    pub fn verify(&self, name: &str, password: &str) -> Option<&Account> {
        if name.len() > MAX_NAME_BYTES || password.len() > MAX_PASSWORD_BYTES {
            return None;
        }
        let account = self.get(name);
        let hash = account.map_or(DUMMY_HASH, |a| a.hash.as_str());
        let matches = verify_hash(hash, password);
        account.filter(|_| matches)
    }
}

/// A name must be a slug, and is bounded before anything else looks at it.
fn check_name(name: &str) -> Result<(), AccountsError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(AccountsError::BadName {
            name: name.chars().take(MAX_NAME_BYTES).collect(),
            reason: format!("longer than {MAX_NAME_BYTES} bytes (MAX_NAME_BYTES)"),
        });
    }
    validate_name(name).map_err(|e| AccountsError::BadName {
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

fn check_principal(principal: &Principal) -> Result<(), AccountsError> {
    if principal.role == Role::Public {
        return Err(AccountsError::PublicPrincipal(principal.to_string()));
    }
    Ok(())
}

/// The limits on a password being set: long enough, and bounded.
fn check_new_password(password: &str) -> Result<(), AccountsError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountsError::PasswordTooLong);
    }
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccountsError::PasswordTooShort { got: chars });
    }
    Ok(())
}

/// The hasher with this module's parameters.
fn hasher() -> Result<Argon2<'static>, AccountsError> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None)
        .map_err(|e| AccountsError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A new PHC string for `password`, with a random salt from the OS.
fn hash_password(password: &str) -> Result<String, AccountsError> {
    check_new_password(password)?;
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| AccountsError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash`. Verification uses
/// the hash's own parameters, which [`check_hash`] bounded on load.
fn verify_hash(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let Ok(argon2) = hasher() else {
        return false;
    };
    argon2.verify_password(password.as_bytes(), &parsed).is_ok()
}

/// A stored hash must be an Argon2id v19 PHC string with a salt, an
/// output, and costs within the bounds. The reason never quotes the hash.
fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash)
        .map_err(|e| format!("not a PHC string ({e}); `portal user passwd` sets a new one"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "algorithm {} is not argon2id",
            parsed.algorithm.as_str()
        ));
    }
    if parsed.version != Some(0x13) {
        return Err("not Argon2 version 19 (v=19)".to_owned());
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("has no salt or no output".to_owned());
    }
    let params = Params::try_from(&parsed).map_err(|e| format!("bad parameters ({e})"))?;
    if params.m_cost() > MAX_HASH_M_KIB
        || params.t_cost() > MAX_HASH_T
        || params.p_cost() > MAX_HASH_P
    {
        return Err(format!(
            "costs m={},t={},p={} exceed the bounds m={MAX_HASH_M_KIB},t={MAX_HASH_T},p={MAX_HASH_P}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    Ok(())
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Writes `bytes` to `path` readable by the owner only, atomically: a
/// temporary file in the same folder (so the rename does not cross file
/// systems), fsync, rename over `path`, fsync of the folder. A reader sees
/// the old file or the new one, never a mix.
pub(crate) fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| io::Error::other(e.to_string()))?;
    let temp = folder.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        hex(&suffix)
    ));
    let result = (|| {
        let mut file = create_private(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        // The rename itself is durable only once the folder is synced; not
        // every platform can open a folder, so a failure here is ignored.
        if let Ok(dir) = fs::File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates a new file (failing if it exists), mode 0600 on Unix from the
/// first byte: no window in which others could open it.
pub(crate) fn create_private(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    /// The inode on Unix: the CLI's rename makes a new one even when the
    /// time and length happen to be equal.
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> io::Result<Stamp> {
        let meta = fs::metadata(path)?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

struct Loaded {
    accounts: Arc<Accounts>,
    /// The file as last looked at (loaded or not); `None` if it could not
    /// be looked at.
    stamp: Option<Stamp>,
    checked: Instant,
}

/// The accounts of a running portal: the file, reloaded when it changed
/// (looked at no more than once per [`RELOAD_CHECK_INTERVAL`], on
/// [`get`](AccountsFile::get) and [`verify`](AccountsFile::verify)), so
/// that `portal user add` takes effect without a restart.
///
/// A reload that fails (a file edited by hand into nonsense, or removed)
/// keeps the accounts loaded before and logs a warning once per change of
/// the file; restart the portal to drop every account at once.
pub struct AccountsFile {
    path: PathBuf,
    state: RwLock<Loaded>,
}

impl fmt::Debug for AccountsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountsFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl AccountsFile {
    /// Loads the file; at start-up an unreadable or invalid file is an
    /// error, not a warning.
    pub fn open(path: impl Into<PathBuf>) -> Result<AccountsFile, AccountsError> {
        let path = path.into();
        let stamp = Stamp::of(&path).ok();
        let accounts = Accounts::load(&path)?;
        Ok(AccountsFile {
            path,
            state: RwLock::new(Loaded {
                accounts: Arc::new(accounts),
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The accounts now (after a reload if the file changed).
    pub fn current(&self) -> Arc<Accounts> {
        self.refresh(Instant::now());
        self.snapshot()
    }

    /// The account `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Account> {
        self.current().get(name).cloned()
    }

    /// [`Accounts::verify`] on the current accounts. The lock is not held
    /// while Argon2 runs.
    pub fn verify(&self, name: &str, password: &str) -> Option<Account> {
        self.current().verify(name, password).cloned()
    }

    fn snapshot(&self) -> Arc<Accounts> {
        // A poisoned lock holds a complete `Loaded` (it is replaced whole),
        // so its value is still good.
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&state.accounts)
    }

    /// Reloads if at least [`RELOAD_CHECK_INTERVAL`] passed since the last
    /// look and the file's stamp changed.
    fn refresh(&self, now: Instant) {
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if now.saturating_duration_since(state.checked) < RELOAD_CHECK_INTERVAL {
                return;
            }
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        // Another thread may have looked meanwhile.
        if now.saturating_duration_since(state.checked) < RELOAD_CHECK_INTERVAL {
            return;
        }
        state.checked = now;
        let stamp = match Stamp::of(&self.path) {
            Ok(stamp) => stamp,
            Err(error) => {
                if state.stamp.is_some() {
                    tracing::warn!(file = %self.path.display(), %error, "portal accounts file cannot be read; keeping the accounts loaded before");
                }
                state.stamp = None;
                return;
            }
        };
        if state.stamp.as_ref() == Some(&stamp) {
            return;
        }
        // Remembered whatever the outcome: a broken file is warned about
        // once, not every second.
        state.stamp = Some(stamp);
        match Accounts::load(&self.path) {
            Ok(accounts) => {
                tracing::info!(file = %self.path.display(), accounts = accounts.list().len(), "portal accounts reloaded");
                state.accounts = Arc::new(accounts);
            }
            Err(error) => {
                tracing::warn!(%error, "portal accounts file is invalid; keeping the accounts loaded before");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse battery";

    fn operator(name: &str) -> Principal {
        format!("operator:{name}").parse().unwrap()
    }

    #[test]
    fn dummy_hash_is_valid_with_the_real_parameters() {
        check_hash(DUMMY_HASH).unwrap();
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (ARGON2_M_KIB, ARGON2_T, ARGON2_P)
        );
    }

    #[test]
    fn add_verify_passwd_remove_save_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let mut accounts = Accounts::empty();
        accounts
            .add("kovacs_anna", operator("edelenyi"), PASSWORD)
            .unwrap();
        let first = accounts.get("kovacs_anna").unwrap().fingerprint();
        assert_eq!(first.len(), 16);
        assert!(accounts.verify("kovacs_anna", PASSWORD).is_some());
        assert!(accounts.verify("kovacs_anna", "wrong password!").is_none());
        assert!(accounts.verify("nobody", PASSWORD).is_none());
        assert!(matches!(
            accounts.add("kovacs_anna", operator("x"), PASSWORD),
            Err(AccountsError::Exists(_))
        ));

        accounts.save(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# Tudásháló portal accounts"), "{text}");
        assert!(text.contains("principal = \"operator:edelenyi\""), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut loaded = Accounts::load(&path).unwrap();
        assert_eq!(loaded, accounts);

        loaded
            .set_password("kovacs_anna", "another password")
            .unwrap();
        let account = loaded.get("kovacs_anna").unwrap();
        assert_ne!(account.fingerprint(), first, "a new password ends sessions");
        assert!(loaded.verify("kovacs_anna", "another password").is_some());
        assert!(matches!(
            loaded.set_password("nobody", "another password"),
            Err(AccountsError::UnknownUser(_))
        ));
        loaded.remove("kovacs_anna").unwrap();
        assert!(loaded.list().is_empty());
        assert!(matches!(
            loaded.remove("kovacs_anna"),
            Err(AccountsError::UnknownUser(_))
        ));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn limits_are_named_and_checked_before_hashing() {
        let mut accounts = Accounts::empty();
        let short = accounts.add("a", operator("a"), "short").unwrap_err();
        assert!(short.to_string().contains("MIN_PASSWORD_CHARS"), "{short}");
        // Ten characters, more bytes: characters count, not bytes.
        assert!(check_new_password("árvíztűrőt").is_ok());
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let error = accounts.add("a", operator("a"), &long).unwrap_err();
        assert!(error.to_string().contains("MAX_PASSWORD_BYTES"), "{error}");
        let error = accounts
            .add(&"a".repeat(MAX_NAME_BYTES + 1), operator("a"), PASSWORD)
            .unwrap_err();
        assert!(error.to_string().contains("MAX_NAME_BYTES"), "{error}");
        assert!(matches!(
            accounts.add("Bad Name", operator("a"), PASSWORD),
            Err(AccountsError::BadName { .. })
        ));
        assert!(matches!(
            accounts.add("anna", "public:portal".parse().unwrap(), PASSWORD),
            Err(AccountsError::PublicPrincipal(_))
        ));
        // verify refuses oversize input at once (no Argon2 run: fast).
        let start = Instant::now();
        assert!(accounts.verify("anna", &long).is_none());
        assert!(accounts.verify(&"a".repeat(100), PASSWORD).is_none());
        assert!(start.elapsed() < Duration::from_millis(20));
    }

    #[test]
    fn load_errors_name_the_file_and_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let good = format!(
            "[[user]]\nname = \"anna\"\nprincipal = \"operator:edelenyi\"\nhash = \"{DUMMY_HASH}\"\n"
        );
        let cases = [
            (
                format!("{good}[[user]]\nname = \"bela\"\nprincipal = \"public:portal\"\nhash = \"{DUMMY_HASH}\"\n"),
                "user[2].principal:",
            ),
            (
                format!("{good}[[user]]\nname = \"bela\"\nprincipal = \"boss:x\"\nhash = \"{DUMMY_HASH}\"\n"),
                "user[2].principal:",
            ),
            (format!("{good}{good}"), "user[2].name:"),
            (
                "[[user]]\nname = \"anna\"\nprincipal = \"operator:e\"\nhash = \"plaintext\"\n".to_owned(),
                "user[1].hash:",
            ),
            (
                "[[user]]\nname = \"anna\"\nprincipal = \"operator:e\"\nhash = \"$argon2i$v=19$m=19456,t=2,p=1$dHVkYXNoYWxvLWR1bW15$t0mN3tBHBcHuAJmrPSZPyt7uiqxwzpm6tmIWn+v5ZLY\"\n".to_owned(),
                "user[1].hash: algorithm",
            ),
            (
                "[[user]]\nname = \"anna\"\nprincipal = \"operator:e\"\nhash = \"$argon2id$v=19$m=4194304,t=2,p=1$dHVkYXNoYWxvLWR1bW15$t0mN3tBHBcHuAJmrPSZPyt7uiqxwzpm6tmIWn+v5ZLY\"\n".to_owned(),
                "user[1].hash: costs",
            ),
        ];
        for (text, expected) in cases {
            fs::write(&path, &text).unwrap();
            let error = Accounts::load(&path).unwrap_err().to_string();
            let prefix = format!("{}: {expected}", path.display());
            assert!(error.starts_with(&prefix), "{error}");
            assert!(!error.contains("t0mN3tBH"), "hash quoted: {error}");
        }
        fs::write(&path, "[[user]]\nname = \"a\"\n").unwrap();
        assert!(Accounts::load(&path).is_err());
        fs::write(&path, "").unwrap();
        assert!(Accounts::load(&path).unwrap().list().is_empty());
        let missing = Accounts::load(&dir.path().join("none.toml")).unwrap_err();
        assert!(missing.to_string().contains("none.toml"), "{missing}");
    }

    #[test]
    fn unknown_names_cost_an_argon2_run_too() {
        let mut accounts = Accounts::empty();
        accounts
            .add("anna", operator("edelenyi"), PASSWORD)
            .unwrap();
        let time = |name: &str| {
            let start = Instant::now();
            assert!(accounts.verify(name, "wrong password!").is_none());
            start.elapsed()
        };
        // Best of three each, against scheduling noise.
        let known = (0..3).map(|_| time("anna")).min().unwrap();
        let unknown = (0..3).map(|_| time("nobody")).min().unwrap();
        assert!(unknown * 3 > known, "known {known:?}, unknown {unknown:?}");
        assert!(known * 3 > unknown, "known {known:?}, unknown {unknown:?}");
    }

    #[test]
    fn syntax_errors_give_the_line_but_not_its_text() {
        let text = format!("[[user]]\nname = \"anna\"\nhash = \"{DUMMY_HASH}\" oops\n");
        let error = Accounts::parse(&text).unwrap_err();
        assert!(error.starts_with("line 3:"), "{error}");
        assert!(!error.contains("t0mN3tBH"), "{error}");
    }

    #[test]
    fn accounts_file_reloads_and_keeps_old_accounts_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let mut accounts = Accounts::empty();
        accounts
            .add("anna", operator("edelenyi"), PASSWORD)
            .unwrap();
        accounts.save(&path).unwrap();
        let file = AccountsFile::open(&path).unwrap();
        assert!(file.get("anna").is_some());

        let mut more = accounts.clone();
        more.users.push(Account {
            name: "bela".into(),
            principal: operator("szikszoi"),
            hash: DUMMY_HASH.into(),
        });
        more.save(&path).unwrap();
        let start = Instant::now();
        // Within the interval the file is not looked at.
        file.refresh(start);
        {
            let state = file.state.read().unwrap();
            if start.saturating_duration_since(state.checked) < RELOAD_CHECK_INTERVAL {
                assert!(state.accounts.get("bela").is_none());
            }
        }
        file.refresh(start + 2 * RELOAD_CHECK_INTERVAL);
        assert!(file.snapshot().get("bela").is_some());

        fs::write(&path, "not toml [[[").unwrap();
        file.refresh(start + 4 * RELOAD_CHECK_INTERVAL);
        assert!(file.snapshot().get("bela").is_some(), "old accounts kept");

        fs::remove_file(&path).unwrap();
        file.refresh(start + 6 * RELOAD_CHECK_INTERVAL);
        assert!(file.snapshot().get("anna").is_some(), "old accounts kept");

        accounts.save(&path).unwrap();
        file.refresh(start + 8 * RELOAD_CHECK_INTERVAL);
        assert!(file.snapshot().get("bela").is_none());
        assert!(format!("{:?}", file.snapshot().get("anna")).contains("anna"));
        assert!(!format!("{:?}", file.snapshot()).contains("argon2"));
    }
}
