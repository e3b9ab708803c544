//! The portal in a real browser: [`PortalFederation`] started here, and
//! `tests/browser/portal.test.mjs` run by Node against it — headless
//! Debian Chromium driven by playwright-core, with an axe-core check.
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (run
//! `tests/browser/setup.sh`, as `.ci/run` does, and as this test does
//! itself when they are missing); fails without them unless
//! `TUDASHALO_SKIP_BROWSER=1` says to skip.
//!
//! The script asks for a member to be stopped by printing `STOP_MEMBER`;
//! this side kills node 2 and answers `STOPPED <name>` on its stdin. The
//! script's output goes to stderr, its screenshots to
//! `target/portal-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tudashalo_demo::{PORTAL_PASSWORD, PORTAL_USER};

use super::portal::{OPERATOR_PASSWORD, OPERATOR_USER, PortalFederation};

/// The whole script, browser start to last check.
const OVERALL: Duration = Duration::from_secs(300);
const CHROMIUM: &str = "/usr/bin/chromium";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// `target/portal-screenshots`: beside the profile folders, from
/// `CARGO_TARGET_DIR` or else this test's own path
/// (`target/<profile>/deps/e2e-…`).
fn screenshots_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()
            .expect("current_exe")
            .ancestors()
            .nth(3)
            .map_or_else(|| repository().join("target"), Path::to_path_buf),
    };
    target.join("portal-screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_works_in_a_real_browser() {
    let browser_dir = repository().join("tests").join("browser");
    let script = browser_dir.join("portal.test.mjs");
    let missing: Vec<String> = [
        PathBuf::from(CHROMIUM),
        browser_dir.join("node_modules").join("playwright-core"),
        browser_dir.join("node_modules").join("axe-core"),
    ]
    .into_iter()
    .filter(|p| !p.exists())
    .map(|p| p.display().to_string())
    .collect();
    let skip = std::env::var("TUDASHALO_SKIP_BROWSER").as_deref() == Ok("1");
    let mut missing = missing;
    if !missing.is_empty() && !skip {
        // `cargo test --workspace` alone sets up what it needs (the README's
        // test command): the project's script installs Chromium and the npm
        // packages, as `.ci/run` does before the tests.
        let setup = browser_dir.join("setup.sh");
        let status = std::process::Command::new("bash")
            .arg(&setup)
            .status()
            .unwrap_or_else(|e| panic!("running {}: {e}", setup.display()));
        assert!(status.success(), "{} failed: {status}", setup.display());
        missing.retain(|p| !Path::new(p).exists());
    }
    if !missing.is_empty() {
        if skip {
            eprintln!(
                "portal browser test SKIPPED (TUDASHALO_SKIP_BROWSER=1): missing {}",
                missing.join(", ")
            );
            return;
        }
        panic!(
            "the browser test needs {}: run tests/browser/setup.sh (.ci/run does), \
             or set TUDASHALO_SKIP_BROWSER=1 to skip it",
            missing.join(", ")
        );
    }

    let mut f = PortalFederation::start().await;
    let shots = screenshots_dir();
    std::fs::create_dir_all(&shots).expect("screenshots folder");
    eprintln!("portal browser test: screenshots in {}", shots.display());

    let mut child = Command::new("node")
        .arg(&script)
        .current_dir(&browser_dir)
        .env("HUB_PORTAL", &f.hub_portal)
        .env("NODE_PORTAL", &f.node_portal)
        .env("PORTAL_USER", PORTAL_USER)
        .env("PORTAL_PASSWORD", PORTAL_PASSWORD)
        .env("OPERATOR_USER", OPERATOR_USER)
        .env("OPERATOR_PASSWORD", OPERATOR_PASSWORD)
        .env("SCREENSHOTS", &shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn node (is Node.js installed?)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();

    let mut failed = Vec::new();
    let run = async {
        while let Some(line) = lines.next_line().await.expect("read the script's output") {
            eprintln!("browser: {line}");
            if line.starts_with("not ok") {
                failed.push(line.clone());
            }
            if line.trim() == "STOP_MEMBER" {
                let name = f.stop_node(2);
                stdin
                    .write_all(format!("STOPPED {name}\n").as_bytes())
                    .await
                    .expect("answer STOP_MEMBER");
                stdin.flush().await.expect("flush");
            }
        }
        child.wait().await.expect("wait for node")
    };
    let status = match tokio::time::timeout(OVERALL, run).await {
        Ok(status) => status,
        Err(_) => {
            let _ = child.kill().await;
            panic!("the browser test did not finish in {OVERALL:?}; failed so far: {failed:#?}");
        }
    };
    assert!(
        status.success(),
        "the browser test failed ({status}): {failed:#?}"
    );
}
