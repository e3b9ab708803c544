//! Sessions in signed, expiring cookies, and the CSRF tokens bound to them.
//!
//! The hub must stay stateless, so nothing about a session lives on the
//! server: the cookie carries the user, the principal, the account's hash
//! fingerprint, the expiry and a random nonce, signed with HMAC-SHA256
//! under a [`SessionKey`] that every replica shares.
//!
//! ## Security reasoning
//!
//! - Cookie value: `base64url(payload) "." base64url(mac)` where
//!   `mac = HMAC-SHA256(key, "tudashalo-session-v1" ‖ payload)`. The MAC is
//!   checked (in constant time, `hmac`'s `verify_slice`) before anything in
//!   the payload is parsed; the value is bounded by [`MAX_COOKIE_BYTES`]
//!   before it is even decoded.
//! - Every MAC has its own context string (session, CSRF token, visitor
//!   nonce), and no context is a prefix of another, so a value signed for
//!   one purpose is never accepted for another.
//! - The fingerprint ties a session to the account's current password
//!   hash: a new password or a removed account ends every session (the
//!   caller compares it with [`crate::accounts::Account::fingerprint`]).
//! - CSRF tokens are `HMAC(key, "tudashalo-csrf-v1" ‖ nonce)`: a form
//!   carries the token, the cookie the nonce, and another site can read
//!   neither. Visitors without a session get the nonce in a cookie of its
//!   own ([`SessionKey::seal_nonce`]), so that the login form is protected
//!   too (login CSRF).
//! - Sessions never carry the public role: that is who visitors are
//!   without one.
//! - The key never appears in Debug output or a log.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tudashalo_proto::identity::{Principal, Role, validate_name};

use crate::accounts::{Account, create_private, hex, write_private_atomic};

/// The longest cookie value [`SessionKey::open`] looks at.
pub const MAX_COOKIE_BYTES: usize = 4096;
/// The shortest key accepted.
pub const MIN_KEY_BYTES: usize = 32;
/// How many bytes [`SessionKey::generate`] writes (as hex).
pub const GENERATED_KEY_BYTES: usize = 32;
/// The longest key file read (hex of a generous key, with whitespace).
const MAX_KEY_FILE_BYTES: usize = 4096;
/// Bytes of randomness in a nonce (128 bits).
pub const NONCE_BYTES: usize = 16;

/// MAC contexts: distinct, none a prefix of another.
const SESSION_CONTEXT: &[u8] = b"tudashalo-session-v1";
const CSRF_CONTEXT: &[u8] = b"tudashalo-csrf-v1";
const NONCE_CONTEXT: &[u8] = b"tudashalo-nonce-v1";

/// The payload's format version, its first field.
const PAYLOAD_VERSION: &str = "v1";

type HmacSha256 = Hmac<Sha256>;

/// Why a key file could not be read or written. Each names the file and
/// how to make a key.
#[derive(Debug, thiserror::Error)]
pub enum SessionKeyError {
    #[error(
        "{path}: {source} (a session key is at least {MIN_KEY_BYTES} random bytes; `portal key --out {path}` writes one)"
    )]
    Io { path: String, source: io::Error },
    #[error(
        "{path}: {reason} (a session key is at least {MIN_KEY_BYTES} random bytes, as hex or raw; `portal key --out {path}` writes one)"
    )]
    Invalid { path: String, reason: String },
    #[error(
        "{path}: exists already; --force replaces it (and ends every session signed with the old key)"
    )]
    Exists { path: String },
}

/// The key cookies are signed with: kept only as the HMAC state keyed
/// with it, made once (so no code path can sign with anything else).
#[derive(Clone)]
pub struct SessionKey {
    keyed: HmacSha256,
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// A logged-in visitor, as the cookie carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The account's name.
    pub user: String,
    /// Whom the portal asks as.
    pub principal: Principal,
    /// [`Account::fingerprint`] when the session began.
    pub fingerprint: String,
    /// Unix seconds; the session is over at this second.
    pub expires: u64,
    /// Random, 128 bits as hex: what CSRF tokens are bound to.
    pub nonce: String,
}

impl Session {
    /// A new session for `account`, lasting `lifetime` from `now_unix`,
    /// with a fresh nonce.
    pub fn issue(account: &Account, lifetime: Duration, now_unix: u64) -> Session {
        Session {
            user: account.name.clone(),
            principal: account.principal.clone(),
            fingerprint: account.fingerprint(),
            expires: now_unix.saturating_add(lifetime.as_secs()),
            nonce: new_nonce(),
        }
    }

    /// Whether the session still belongs to `account` as it is now: the
    /// same name and principal, and the same password hash (a new password
    /// or a re-created account ends it). Check this on every request after
    /// [`SessionKey::open`], with the account looked up by `self.user`.
    pub fn is_current(&self, account: &Account) -> bool {
        self.user == account.name
            && self.principal == account.principal
            && self.fingerprint == account.fingerprint()
    }

    /// `v1|user|role:name|fingerprint|expires|nonce`: every field is a
    /// slug, hex or digits, so `|` cannot occur inside one.
    fn encode(&self) -> String {
        format!(
            "{PAYLOAD_VERSION}|{}|{}|{}|{}|{}",
            self.user, self.principal, self.fingerprint, self.expires, self.nonce
        )
    }

    /// Parses a payload whose MAC was already checked; still strict, so
    /// that a bug elsewhere cannot turn into a strange session.
    fn decode(payload: &str) -> Option<Session> {
        let mut fields = payload.split('|');
        let version = fields.next()?;
        let user = fields.next()?;
        let principal = fields.next()?;
        let fingerprint = fields.next()?;
        let expires = fields.next()?;
        let nonce = fields.next()?;
        if version != PAYLOAD_VERSION || fields.next().is_some() {
            return None;
        }
        validate_name(user).ok()?;
        let principal = principal.parse::<Principal>().ok()?;
        if principal.role == Role::Public {
            return None;
        }
        if !is_lower_hex(fingerprint, 16) || !is_lower_hex(nonce, NONCE_BYTES * 2) {
            return None;
        }
        if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let expires = expires.parse::<u64>().ok()?;
        Some(Session {
            user: user.to_owned(),
            principal,
            fingerprint: fingerprint.to_owned(),
            expires,
            nonce: nonce.to_owned(),
        })
    }
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl SessionKey {
    /// A key from bytes (tests, or a key held elsewhere); at least
    /// [`MIN_KEY_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Result<SessionKey, String> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "{} bytes, at least {MIN_KEY_BYTES} needed (MIN_KEY_BYTES)",
                bytes.len()
            ));
        }
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(bytes).map_err(|e| e.to_string())?;
        Ok(SessionKey { keyed })
    }

    /// Reads a key file: hex (what [`SessionKey::generate`] writes;
    /// surrounding whitespace ignored) or raw bytes, at least
    /// [`MIN_KEY_BYTES`] either way. Warns if others may read the file.
    pub fn load(path: &Path) -> Result<SessionKey, SessionKeyError> {
        let shown = path.display().to_string();
        let io = |source| SessionKeyError::Io {
            path: shown.clone(),
            source,
        };
        let meta = fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_KEY_FILE_BYTES as u64 {
            return Err(SessionKeyError::Invalid {
                path: shown,
                reason: format!("larger than {MAX_KEY_FILE_BYTES} bytes"),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "the portal session key may be read by others than its owner; chmod 600 it");
            }
        }
        let raw = fs::read(path).map_err(io)?;
        let text = std::str::from_utf8(&raw).ok().map(str::trim);
        let bytes = match text.and_then(decode_hex) {
            Some(bytes) => bytes,
            None => raw,
        };
        SessionKey::from_bytes(&bytes).map_err(|reason| SessionKeyError::Invalid {
            path: shown,
            reason,
        })
    }

    /// Writes a new key of [`GENERATED_KEY_BYTES`] random bytes as hex,
    /// mode 0600. An existing file is kept unless `force` (replacing the
    /// key ends every session).
    pub fn generate(path: &Path, force: bool) -> Result<SessionKey, SessionKeyError> {
        let shown = path.display().to_string();
        let io = |source| SessionKeyError::Io {
            path: shown.clone(),
            source,
        };
        let mut bytes = [0u8; GENERATED_KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| io(io::Error::other(e.to_string())))?;
        let text = format!("{}\n", hex(&bytes));
        if force {
            write_private_atomic(path, text.as_bytes()).map_err(io)?;
        } else {
            // create_new refuses an existing file without a check-then-act
            // race.
            let mut file = create_private(path).map_err(|source| {
                if source.kind() == io::ErrorKind::AlreadyExists {
                    SessionKeyError::Exists {
                        path: shown.clone(),
                    }
                } else {
                    io(source)
                }
            })?;
            let written = file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_all());
            if let Err(source) = written {
                drop(file);
                let _ = fs::remove_file(path);
                return Err(io(source));
            }
        }
        SessionKey::from_bytes(&bytes).map_err(|reason| SessionKeyError::Invalid {
            path: shown.clone(),
            reason,
        })
    }

    /// A MAC over `context ‖ message`.
    fn mac(&self, context: &[u8], message: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(context);
        mac.update(message);
        mac
    }

    fn sign(&self, context: &[u8], message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(context, message).finalize().into_bytes())
    }

    /// Checks `tag` (base64url) over `context ‖ message` in constant time.
    fn check(&self, context: &[u8], message: &[u8], tag: &str) -> bool {
        // A SHA-256 MAC is 43 characters; anything much longer is not one
        // and is not decoded.
        if tag.len() > 64 {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        self.mac(context, message).verify_slice(&tag).is_ok()
    }

    /// The cookie value for `session`.
    pub fn seal(&self, session: &Session) -> String {
        let payload = session.encode();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            self.sign(SESSION_CONTEXT, payload.as_bytes())
        )
    }

    /// The session in a cookie value, if it is well formed, signed with
    /// this key and not expired at `now_unix`.
    pub fn open(&self, value: &str, now_unix: u64) -> Option<Session> {
        if value.len() > MAX_COOKIE_BYTES {
            return None;
        }
        let (payload, tag) = value.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        if !self.check(SESSION_CONTEXT, &payload, tag) {
            return None;
        }
        let session = Session::decode(std::str::from_utf8(&payload).ok()?)?;
        if session.expires <= now_unix {
            return None;
        }
        Some(session)
    }

    /// The CSRF token for forms of the visitor with `nonce`.
    pub fn csrf_token(&self, nonce: &str) -> String {
        self.sign(CSRF_CONTEXT, nonce.as_bytes())
    }

    /// Whether `token` is this key's CSRF token for `nonce` (constant
    /// time). An empty nonce never matches: it would mean no cookie.
    pub fn check_csrf(&self, nonce: &str, token: &str) -> bool {
        !nonce.is_empty() && self.check(CSRF_CONTEXT, nonce.as_bytes(), token)
    }

    /// The value of the small cookie that gives a visitor without a
    /// session a nonce (for the login form's CSRF token): `nonce "." mac`.
    pub fn seal_nonce(&self, nonce: &str) -> String {
        format!("{nonce}.{}", self.sign(NONCE_CONTEXT, nonce.as_bytes()))
    }

    /// The nonce in a cookie [`SessionKey::seal_nonce`] made with this key.
    pub fn open_nonce(&self, value: &str) -> Option<String> {
        if value.len() > MAX_COOKIE_BYTES {
            return None;
        }
        let (nonce, tag) = value.split_once('.')?;
        if !is_lower_hex(nonce, NONCE_BYTES * 2) {
            return None;
        }
        self.check(NONCE_CONTEXT, nonce.as_bytes(), tag)
            .then(|| nonce.to_owned())
    }
}

/// Hex to bytes, if `text` is an even number of hex digits.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some((digit(*high)? * 16 + digit(*low)?) as u8),
            _ => None,
        })
        .collect()
}

/// 128 random bits from the OS, as hex.
pub fn try_new_nonce() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; NONCE_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// 128 random bits from the OS, as hex.
///
/// # Panics
///
/// If the OS has no randomness to give: going on with a guessable nonce
/// would be worse than failing the request.
#[allow(clippy::expect_used)]
pub fn new_nonce() -> String {
    try_new_nonce().expect("the operating system's random number generator failed")
}

/// Seconds since the Unix epoch now (0 if the clock is before it, which
/// makes every session look expired rather than eternal).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn key(byte: u8) -> SessionKey {
        SessionKey::from_bytes(&[byte; 32]).unwrap()
    }

    fn session() -> Session {
        Session {
            user: "kovacs_anna".into(),
            principal: "operator:edelenyi".parse().unwrap(),
            fingerprint: "0123456789abcdef".into(),
            expires: NOW + 3600,
            nonce: new_nonce(),
        }
    }

    /// Replaces the payload of a sealed value, keeping its MAC.
    fn with_payload(value: &str, payload: &str) -> String {
        let (_, tag) = value.split_once('.').unwrap();
        format!("{}.{tag}", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn round_trip() {
        let session = session();
        let value = key(1).seal(&session);
        assert!(value.len() < 300, "{value}");
        assert_eq!(key(1).open(&value, NOW), Some(session.clone()));
        // Another replica with the same key accepts it.
        let replica = SessionKey::from_bytes(&[1; 32]).unwrap();
        assert_eq!(replica.open(&value, NOW), Some(session));
    }

    #[test]
    fn tampered_or_foreign_values_are_refused() {
        let session = session();
        let value = key(1).seal(&session);
        let payload = session.encode();
        // The payload changed (another principal), the MAC kept.
        let other = payload.replace("operator:edelenyi", "national:orszagos");
        assert!(key(1).open(&with_payload(&value, &other), NOW).is_none());
        // The MAC changed.
        let (body, tag) = value.split_once('.').unwrap();
        let mut tag = tag.as_bytes().to_vec();
        tag[0] = if tag[0] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{body}.{}", String::from_utf8(tag).unwrap());
        assert!(key(1).open(&tampered, NOW).is_none());
        // Another key.
        assert!(key(2).open(&value, NOW).is_none());
        // Garbage.
        for bad in ["", ".", "abc", "abc.def", "!!!.???", &format!("{body}.")] {
            assert!(key(1).open(bad, NOW).is_none(), "{bad}");
        }
    }

    #[test]
    fn expired_and_oversize_are_refused() {
        let session = session();
        let value = key(1).seal(&session);
        assert!(key(1).open(&value, session.expires - 1).is_some());
        assert!(key(1).open(&value, session.expires).is_none());
        assert!(key(1).open(&value, session.expires + 1).is_none());
        let huge = format!("{}.{}", "A".repeat(MAX_COOKIE_BYTES), "B");
        assert!(key(1).open(&huge, NOW).is_none());
    }

    #[test]
    fn signed_but_malformed_payloads_are_refused() {
        let k = key(1);
        let good = session();
        let sealed = |s: &Session| k.seal(s);
        let mut public = good.clone();
        public.principal = "public:portal".parse().unwrap();
        let mut bad_user = good.clone();
        bad_user.user = "Anna|x".into();
        let mut bad_nonce = good.clone();
        bad_nonce.nonce = "short".into();
        for s in [public, bad_user, bad_nonce] {
            assert!(k.open(&sealed(&s), NOW).is_none(), "{s:?}");
        }
    }

    #[test]
    fn sessions_end_with_a_new_password() {
        let mut accounts = crate::accounts::Accounts::empty();
        let principal: Principal = "operator:edelenyi".parse().unwrap();
        accounts
            .add("anna", principal, "correct horse battery")
            .unwrap();
        let account = accounts.get("anna").unwrap().clone();
        let issued = Session::issue(&account, Duration::from_secs(60), NOW);
        assert_eq!(issued.expires, NOW + 60);
        let opened = key(1).open(&key(1).seal(&issued), NOW).unwrap();
        assert!(opened.is_current(&account));
        accounts.set_password("anna", "another password").unwrap();
        assert!(!opened.is_current(accounts.get("anna").unwrap()));
    }

    #[test]
    fn csrf_token_is_bound_to_nonce_and_key() {
        let nonce = new_nonce();
        let token = key(1).csrf_token(&nonce);
        assert!(key(1).check_csrf(&nonce, &token));
        assert!(!key(1).check_csrf(&new_nonce(), &token));
        assert!(!key(2).check_csrf(&nonce, &token));
        assert!(!key(1).check_csrf("", &key(1).csrf_token("")));
        assert!(!key(1).check_csrf(&nonce, ""));
        assert!(!key(1).check_csrf(&nonce, &"A".repeat(10_000)));
        // A CSRF token is not a nonce cookie's MAC, nor the reverse.
        assert!(key(1).open_nonce(&format!("{nonce}.{token}")).is_none());
    }

    #[test]
    fn nonce_cookie_round_trip() {
        let nonce = new_nonce();
        assert_eq!(nonce.len(), 32);
        assert_ne!(nonce, new_nonce());
        let value = key(1).seal_nonce(&nonce);
        assert_eq!(key(1).open_nonce(&value), Some(nonce.clone()));
        assert!(key(2).open_nonce(&value).is_none());
        let other = value.replacen(&nonce[..1], if &nonce[..1] == "0" { "1" } else { "0" }, 1);
        assert!(key(1).open_nonce(&other).is_none());
    }

    #[test]
    fn key_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.key");
        let made = SessionKey::generate(&path, false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = SessionKey::load(&path).unwrap();
        let sealed = made.seal(&session());
        assert!(loaded.open(&sealed, NOW).is_some());
        let error = SessionKey::generate(&path, false).unwrap_err();
        assert!(matches!(error, SessionKeyError::Exists { .. }), "{error}");
        let replaced = SessionKey::generate(&path, true).unwrap();
        assert!(replaced.open(&sealed, NOW).is_none());
        let text = fs::read_to_string(&path).unwrap();
        assert!(!format!("{replaced:?}").contains(&text[..8]));

        fs::write(&path, "abcd\n").unwrap();
        let error = SessionKey::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("session.key") && error.contains("portal key --out"),
            "{error}"
        );
        let missing = SessionKey::load(&dir.path().join("none"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("none") && missing.contains("portal key --out"),
            "{missing}"
        );
        fs::write(&path, [7u8; 40]).unwrap();
        let raw = SessionKey::load(&path).unwrap();
        let same = SessionKey::from_bytes(&[7u8; 40]).unwrap();
        assert!(same.open(&raw.seal(&session()), NOW).is_some());
        assert!(SessionKey::from_bytes(&[0; 31]).is_err());
    }
}
