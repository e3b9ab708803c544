//! The `portal` command, mounted by both binaries (`tudashalo-hub portal
//! …`, `tudashalo-node portal …`): manages the accounts file and writes
//! the session key.
//!
//! ```text
//! portal user add NAME --accounts FILE [--role operator | --principal role:name] [--password-stdin]
//! portal user passwd NAME --accounts FILE [--password-stdin]
//! portal user remove NAME --accounts FILE
//! portal user list --accounts FILE [--json]
//! portal key --out FILE [--force]
//! ```
//!
//! ## Security reasoning
//!
//! - Passwords are read from the terminal without echo, twice, or as one
//!   line of standard input with `--password-stdin` (scripts); never from
//!   an argument, which `ps` and shell history would show. The line read is
//!   bounded ([`MAX_PASSWORD_BYTES`]) before it is kept.
//! - The accounts file and the key are written mode 0600, atomically (see
//!   [`crate::accounts`]); a running portal picks up the change within a
//!   second.
//! - Nothing printed contains a password, a hash or a key.
//! - Two commands changing the same file at once may lose one change (last
//!   rename wins); the file is never left half written.

use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tudashalo_proto::identity::{Principal, Role};

use crate::accounts::{Accounts, MAX_PASSWORD_BYTES};
use crate::session::SessionKey;

/// `portal …`
#[derive(Debug, clap::Args)]
pub struct PortalArgs {
    #[command(subcommand)]
    pub command: PortalCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PortalCommand {
    /// Manage the portal's local accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write a new key for signing session cookies (32 random bytes, hex,
    /// mode 0600). Every replica of a portal uses the same file.
    Key {
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace an existing key (ends every session signed with it).
        #[arg(long)]
        force: bool,
    },
}

/// The accounts file, from `--accounts` or `TUDASHALO_PORTAL_ACCOUNTS`.
#[derive(Debug, clap::Args)]
pub struct AccountsPath {
    /// The accounts file (`[portal] accounts` in the configuration).
    #[arg(
        long = "accounts",
        env = "TUDASHALO_PORTAL_ACCOUNTS",
        value_name = "FILE"
    )]
    pub path: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add an account (creates the file if missing). Exactly one of
    /// --role (the principal ROLE:NAME) or --principal.
    Add {
        /// The login name (lowercase letters, digits, `_`, `-`).
        name: String,
        #[command(flatten)]
        accounts: AccountsPath,
        /// Act as ROLE:NAME, e.g. `--role operator`.
        #[arg(
            long,
            required_unless_present = "principal",
            conflicts_with = "principal"
        )]
        role: Option<Role>,
        /// Act as another principal, e.g. `--principal operator:edelenyi`.
        #[arg(long, value_name = "ROLE:NAME")]
        principal: Option<Principal>,
        /// Read the password as one line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (ends the account's sessions).
    Passwd {
        name: String,
        #[command(flatten)]
        accounts: AccountsPath,
        /// Read the password as one line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove an account (ends its sessions).
    Remove {
        name: String,
        #[command(flatten)]
        accounts: AccountsPath,
    },
    /// List the accounts: aligned text, or with --json a stable JSON array
    /// `[{"name":"…","principal":"role:name"}]` in file order.
    List {
        #[command(flatten)]
        accounts: AccountsPath,
        #[arg(long)]
        json: bool,
    },
}

/// Runs `portal …`, reading passwords from the terminal or stdin and
/// printing to stdout.
pub fn run(args: PortalArgs) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    execute(args, &mut read_password, &mut out)
}

/// Where a password is asked for: whose, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRequest<'a> {
    pub user: &'a str,
    pub from_stdin: bool,
}

/// What [`run`] does, with the password source and the output given: the
/// tests pass a fixed password and a buffer.
pub fn execute(
    args: PortalArgs,
    password: &mut dyn FnMut(PasswordRequest<'_>) -> anyhow::Result<String>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match args.command {
        PortalCommand::Key { out: path, force } => {
            SessionKey::generate(&path, force)?;
            writeln!(
                out,
                "wrote a new session key to {} (mode 0600); name it in [portal] session_key",
                path.display()
            )?;
        }
        PortalCommand::User { command } => user(command, password, out)?,
    }
    Ok(())
}

fn user(
    command: UserCommand,
    password: &mut dyn FnMut(PasswordRequest<'_>) -> anyhow::Result<String>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            accounts: AccountsPath { path },
            role,
            principal,
            password_stdin,
        } => {
            let principal = match (role, principal) {
                (Some(role), None) => Principal::new(role, name.as_str())
                    .with_context(|| format!("--role {role}: {role}:{name} is not a principal"))?,
                (None, Some(principal)) => principal,
                _ => bail!("give exactly one of --role and --principal"),
            };
            let mut accounts = load_or_empty(&path)?;
            // Refused before asking for a password that would be thrown
            // away.
            if accounts.get(&name).is_some() {
                bail!(
                    "{}: user {name:?} exists already (`portal user passwd` changes the password)",
                    path.display()
                );
            }
            let secret = password(PasswordRequest {
                user: &name,
                from_stdin: password_stdin,
            })?;
            accounts.add(&name, principal.clone(), &secret)?;
            accounts.save(&path)?;
            writeln!(
                out,
                "added {name} as {principal} to {}; a running portal lets them in within a second",
                path.display()
            )?;
        }
        UserCommand::Passwd {
            name,
            accounts: AccountsPath { path },
            password_stdin,
        } => {
            let mut accounts = Accounts::load(&path)?;
            if accounts.get(&name).is_none() {
                bail!("{}: no user {name:?}", path.display());
            }
            let secret = password(PasswordRequest {
                user: &name,
                from_stdin: password_stdin,
            })?;
            accounts.set_password(&name, &secret)?;
            accounts.save(&path)?;
            writeln!(
                out,
                "set a new password for {name} in {}; their sessions have ended",
                path.display()
            )?;
        }
        UserCommand::Remove {
            name,
            accounts: AccountsPath { path },
        } => {
            let mut accounts = Accounts::load(&path)?;
            let removed = accounts
                .remove(&name)
                .with_context(|| path.display().to_string())?;
            accounts.save(&path)?;
            writeln!(
                out,
                "removed {} ({}) from {}; their sessions have ended",
                removed.name,
                removed.principal,
                path.display()
            )?;
        }
        UserCommand::List {
            accounts: AccountsPath { path },
            json,
        } => {
            let accounts = Accounts::load(&path)?;
            if json {
                let list: Vec<serde_json::Value> = accounts
                    .list()
                    .iter()
                    .map(|a| {
                        serde_json::json!({ "name": a.name, "principal": a.principal.to_string() })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string(&list)?)?;
            } else if accounts.list().is_empty() {
                writeln!(out, "no accounts in {}", path.display())?;
            } else {
                let width = accounts
                    .list()
                    .iter()
                    .map(|a| a.name.len())
                    .chain(["NAME".len()])
                    .max()
                    .unwrap_or(4);
                writeln!(out, "{:<width$}  PRINCIPAL", "NAME")?;
                for account in accounts.list() {
                    writeln!(out, "{:<width$}  {}", account.name, account.principal)?;
                }
            }
        }
    }
    Ok(())
}

/// The accounts in `path`, or none if the file does not exist yet.
fn load_or_empty(path: &Path) -> anyhow::Result<Accounts> {
    match path.try_exists() {
        Ok(false) => Ok(Accounts::empty()),
        _ => Ok(Accounts::load(path)?),
    }
}

/// A password from stdin (one line) or from the terminal (twice, no echo).
fn read_password(request: PasswordRequest<'_>) -> anyhow::Result<String> {
    if request.from_stdin {
        let stdin = io::stdin();
        return read_password_line(&mut stdin.lock());
    }
    let first = rpassword::prompt_password(format!("New password for {}: ", request.user))
        .context("cannot read the password from the terminal (use --password-stdin in scripts)")?;
    let second = rpassword::prompt_password("Again: ")
        .context("cannot read the password from the terminal")?;
    if first != second {
        bail!("the two passwords differ; nothing changed");
    }
    Ok(first)
}

/// One line, without its line ending, read no further than a password's
/// limit allows (plus the ending): a hostile or mistaken pipe cannot make
/// the command hold more.
pub fn read_password_line(input: &mut dyn BufRead) -> anyhow::Result<String> {
    let mut line = Vec::new();
    input
        .take(MAX_PASSWORD_BYTES as u64 + 3)
        .read_until(b'\n', &mut line)
        .context("cannot read the password from standard input")?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.len() > MAX_PASSWORD_BYTES {
        bail!("password too long: at most {MAX_PASSWORD_BYTES} bytes (MAX_PASSWORD_BYTES)");
    }
    if line.is_empty() {
        bail!("no password on standard input");
    }
    String::from_utf8(line).context("the password on standard input is not UTF-8")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Portal(PortalArgs),
    }

    fn parse(args: &[&str]) -> Result<PortalArgs, clap::Error> {
        let mut full = vec!["tudashalo-hub", "portal"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).map(|cli| match cli.command {
            Top::Portal(args) => args,
        })
    }

    /// Runs a command with `secret` as every password; returns the output.
    fn run_with(args: &[&str], secret: &str) -> anyhow::Result<String> {
        let mut out = Vec::new();
        let mut asked = |_: PasswordRequest<'_>| Ok(secret.to_owned());
        execute(parse(args)?, &mut asked, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn add_list_passwd_remove() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("accounts.toml");
        let f = file.to_str().unwrap();
        let pw = "egy nagyon jo jelszo";
        let said = run_with(
            &[
                "user",
                "add",
                "kovacs_anna",
                "--accounts",
                f,
                "--principal",
                "operator:edelenyi",
            ],
            pw,
        )
        .unwrap();
        assert!(
            said.contains("added kovacs_anna as operator:edelenyi"),
            "{said}"
        );
        run_with(
            &[
                "user",
                "add",
                "szabo",
                "--accounts",
                f,
                "--role",
                "operator",
                "--password-stdin",
            ],
            pw,
        )
        .unwrap();

        let json = run_with(&["user", "list", "--accounts", f, "--json"], "").unwrap();
        assert_eq!(
            json,
            "[{\"name\":\"kovacs_anna\",\"principal\":\"operator:edelenyi\"},{\"name\":\"szabo\",\"principal\":\"operator:szabo\"}]\n"
        );
        let text = run_with(&["user", "list", "--accounts", f], "").unwrap();
        assert_eq!(
            text,
            "NAME         PRINCIPAL\nkovacs_anna  operator:edelenyi\nszabo        operator:szabo\n"
        );

        let accounts = Accounts::load(&file).unwrap();
        assert!(accounts.verify("kovacs_anna", pw).is_some());
        let before = accounts.get("kovacs_anna").unwrap().fingerprint();
        run_with(
            &["user", "passwd", "kovacs_anna", "--accounts", f],
            "masik hosszu jelszo",
        )
        .unwrap();
        let accounts = Accounts::load(&file).unwrap();
        assert!(
            accounts
                .verify("kovacs_anna", "masik hosszu jelszo")
                .is_some()
        );
        assert_ne!(accounts.get("kovacs_anna").unwrap().fingerprint(), before);

        let said = run_with(&["user", "remove", "szabo", "--accounts", f], "").unwrap();
        assert!(said.contains("removed szabo"), "{said}");
        assert_eq!(Accounts::load(&file).unwrap().list().len(), 1);
        // Nothing printed carries a password or a hash.
        for output in [said, json, text] {
            assert!(!output.contains("argon2") && !output.contains(pw));
        }
    }

    #[test]
    fn refusals() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("accounts.toml");
        let f = file.to_str().unwrap();
        let pw = "egy nagyon jo jelszo";
        // Exactly one of --role and --principal.
        assert!(parse(&["user", "add", "anna", "--accounts", f]).is_err());
        assert!(
            parse(&[
                "user",
                "add",
                "anna",
                "--accounts",
                f,
                "--role",
                "operator",
                "--principal",
                "operator:x"
            ])
            .is_err()
        );
        assert!(parse(&["user", "add", "anna", "--accounts", f, "--role", "boss"]).is_err());
        // The public role, bad names, short passwords.
        let error = run_with(
            &["user", "add", "anna", "--accounts", f, "--role", "public"],
            pw,
        )
        .unwrap_err();
        assert!(error.to_string().contains("public"), "{error}");
        assert!(
            run_with(
                &["user", "add", "Anna", "--accounts", f, "--role", "operator"],
                pw
            )
            .is_err()
        );
        let error = run_with(
            &["user", "add", "anna", "--accounts", f, "--role", "operator"],
            "short",
        )
        .unwrap_err();
        assert!(error.to_string().contains("MIN_PASSWORD_CHARS"), "{error}");
        assert!(!file.exists(), "nothing written on refusal");
        // Duplicates, unknown users, a missing file.
        run_with(
            &["user", "add", "anna", "--accounts", f, "--role", "operator"],
            pw,
        )
        .unwrap();
        let error = run_with(
            &["user", "add", "anna", "--accounts", f, "--role", "operator"],
            pw,
        )
        .unwrap_err();
        assert!(error.to_string().contains("exists already"), "{error}");
        assert!(run_with(&["user", "passwd", "bela", "--accounts", f], pw).is_err());
        assert!(run_with(&["user", "remove", "bela", "--accounts", f], pw).is_err());
        let missing = dir.path().join("none.toml");
        let error = run_with(
            &["user", "list", "--accounts", missing.to_str().unwrap()],
            "",
        )
        .unwrap_err();
        assert!(error.to_string().contains("none.toml"), "{error}");
    }

    #[test]
    fn key_command() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("session.key");
        let f = file.to_str().unwrap();
        run_with(&["key", "--out", f], "").unwrap();
        assert!(SessionKey::load(&file).is_ok());
        let error = run_with(&["key", "--out", f], "").unwrap_err();
        assert!(error.to_string().contains("--force"), "{error}");
        run_with(&["key", "--out", f, "--force"], "").unwrap();
    }

    #[test]
    fn password_lines() {
        let read = |bytes: &[u8]| read_password_line(&mut io::Cursor::new(bytes.to_vec()));
        assert_eq!(read(b"jelszo123456\n").unwrap(), "jelszo123456");
        assert_eq!(read(b"jelszo123456\r\nrest").unwrap(), "jelszo123456");
        assert_eq!(read(b"no newline at end").unwrap(), "no newline at end");
        assert!(read(b"\n").is_err());
        assert!(read(b"").is_err());
        assert!(read(&[0xff, 0xfe, b'\n']).is_err());
        let long = vec![b'x'; MAX_PASSWORD_BYTES + 100];
        let error = read(&long).unwrap_err();
        assert!(error.to_string().contains("MAX_PASSWORD_BYTES"), "{error}");
        let exact = vec![b'x'; MAX_PASSWORD_BYTES];
        assert_eq!(read(&exact).unwrap().len(), MAX_PASSWORD_BYTES);
    }
}
