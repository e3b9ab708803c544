//! What the demo prints: progress on a terminal, nothing but the report
//! with `--json`, and the ready-to-paste commands (shell-quoted) for trying
//! the federation by hand.

use std::io::{IsTerminal, Write as _};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::serving::{PULL_FROM, PULL_INDICATOR};
use crate::{ANALYST, DemoOptions, NATIONAL};
use tudashalo_pki::{self as pki};

/// Where the human-readable account goes: stdout, or stderr when stdout
/// carries JSON; nowhere when quiet.
pub(crate) struct Out {
    quiet: bool,
    to_stderr: bool,
    bars: bool,
}

impl Out {
    pub(crate) fn new(options: &DemoOptions) -> Out {
        Out {
            quiet: options.quiet,
            to_stderr: options.json,
            bars: !options.quiet && std::io::stderr().is_terminal(),
        }
    }

    pub(crate) fn say(&self, line: std::fmt::Arguments<'_>) {
        if self.quiet {
            return;
        }
        if self.to_stderr {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }

    /// A progress bar for one node's import, drawn only on a terminal.
    pub(crate) fn bar(&self, name: &str) -> ProgressBar {
        if !self.bars {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(0).with_prefix(name.to_string());
        if let Ok(style) = ProgressStyle::with_template(
            "  {prefix:<16} {msg:<12} [{bar:30}] {pos}/{len} ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    }
}

/// The commands the demo suggests, ready to paste, each with what it shows.
pub(crate) fn commands(options: &DemoOptions, hub_url: &str) -> Vec<(&'static str, String)> {
    let pki_dir = options.dir.join("pki");
    let identity = |name: &str| {
        format!(
            "--cert {} --key {} --ca {}",
            shell_quote(&pki_dir.join(format!("{name}.pem")).display().to_string()),
            shell_quote(&pki_dir.join(format!("{name}.key")).display().to_string()),
            shell_quote(&pki_dir.join(pki::CA_CERT_FILE).display().to_string())
        )
    };
    let program = &options.program;
    vec![
        (
            "a federated search, as the analyst",
            format!(
                "{program} search --hub {hub_url} {} {}",
                identity(ANALYST),
                shell_quote(&options.query)
            ),
        ),
        (
            "the national statistician's pull, at kistérség level",
            format!(
                "{program} pull --hub {hub_url} {} --indicator {PULL_INDICATOR} --by kisterseg,period --from {PULL_FROM} --format csv",
                identity(NATIONAL)
            ),
        ),
        (
            "the register: EFOP and TOP developments that are closed or in their sustainability period",
            format!(
                "{program} search --hub {hub_url} {} --entity development --programme EFOP --programme TOP --status closed --status sustainability",
                identity(ANALYST)
            ),
        ),
        (
            "partners active in more than one kistérség, and who worked with whom",
            format!(
                "{program} network --hub {hub_url} {} --min-members 2",
                identity(ANALYST)
            ),
        ),
        (
            "awarded support by programme and kistérség (public funding: never suppressed)",
            format!(
                "{program} pull --hub {hub_url} {} --indicator dev.support.EFOP,dev.support.TOP --by kisterseg,period --format csv",
                identity(NATIONAL)
            ),
        ),
        (
            "settlement level, as the analyst: small villages' counts are suppressed, missing weights flagged",
            format!(
                "{program} pull --hub {hub_url} {} --indicator munkanelkuli,munkanelkulisegi_rata --by settlement,period --from 2023 --format csv",
                identity(ANALYST)
            ),
        ),
    ]
}

/// Quotes `text` for a POSIX shell when it needs it.
pub(crate) fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// How to invoke this program in a printed command: its bare name when it is
/// on `PATH`, else its path (relative to the working folder when inside it).
pub(crate) fn program_name() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "tudashalo-hub".to_string();
    };
    let name = exe.file_name().map_or_else(
        || "tudashalo-hub".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|p| p.join(&name) == exe));
    if on_path {
        return name;
    }
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or(exe);
    shell_quote(&shown.display().to_string())
}
