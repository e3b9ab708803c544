//! Extractors in a child process: the node's own binary as the worker
//! (`tudashalo-node extract-worker`), as `import` runs them from the
//! command line. The answer must be the in-process one; a worker that dies
//! (here: over its memory limit) costs its file alone, with a reason that
//! names the limit.

use std::io::Write;
use std::path::PathBuf;

use tudashalo_node::import::isolate::{self, Isolation, Job, Output};
use tudashalo_node::import::{DocFormat, FailureKind, Limits};

/// Held by every test here for its whole run. A script written while
/// another test thread forks a worker can be inherited, still open for
/// writing, by that child between its fork and exec, and then cannot be
/// executed ("Text file busy"); one test at a time avoids the window.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn worker() -> Isolation {
    Isolation::Process(PathBuf::from(env!("CARGO_BIN_EXE_tudashalo-node")))
}

/// A small DOCX with Hungarian text.
fn docx() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Szendrő fejlesztési terve: az erdő és a tűzifa.</w:t></w:r></w:p></w:body></w:document>"#;
    writer
        .start_file("word/document.xml", options)
        .expect("zip entry");
    writer.write_all(body.as_bytes()).expect("zip write");
    writer.finish().expect("zip").into_inner()
}

#[test]
fn the_worker_answers_as_this_process_does() {
    let _serial = serial();
    let limits = Limits::default();
    let job = Job::Document(DocFormat::Docx);
    let here = isolate::run(&job, &docx(), &limits, &Isolation::InProcess).expect("in process");
    let there = isolate::run(&job, &docx(), &limits, &worker()).expect("in the worker");
    assert_eq!(here, there);
    let Output::Document(found) = there else {
        panic!("not a document: {there:?}");
    };
    assert!(
        found.text.contains("Szendrő fejlesztési terve"),
        "{found:?}"
    );
}

#[test]
fn the_workers_typed_failure_comes_back_typed() {
    let _serial = serial();
    let failure = isolate::run(
        &Job::Document(DocFormat::Docx),
        b"not a zip at all",
        &Limits::default(),
        &worker(),
    )
    .expect_err("not a DOCX");
    assert_eq!(failure.kind, FailureKind::Corrupt, "{failure:?}");
}

#[test]
fn a_worker_over_its_memory_limit_is_an_extractor_crash_naming_the_limit() {
    let _serial = serial();
    let limits = Limits {
        // Below what the worker needs to read a file: its first large
        // allocation fails and the process aborts.
        extract_memory_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let failure = isolate::run(
        &Job::Document(DocFormat::Docx),
        &vec![b'x'; 8 * 1024 * 1024],
        &limits,
        &worker(),
    )
    .expect_err("the worker cannot read 8 MiB in 1 MiB");
    assert_eq!(failure.kind, FailureKind::ExtractorCrash, "{failure:?}");
    assert!(
        failure.detail.starts_with("the extractor process "),
        "{failure:?}"
    );
    assert!(
        failure.detail.contains("extract_memory_mb = 1"),
        "{failure:?}"
    );
}

/// A stand-in worker: a shell script, for the ways a real one can fail
/// that no well-formed input provokes on demand.
#[cfg(unix)]
fn script(dir: &tempfile::TempDir, name: &str, body: &str) -> Isolation {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Isolation::Process(path)
}

#[cfg(unix)]
#[test]
fn a_worker_that_hangs_is_killed_at_the_time_limit() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    // Reads its input, then never answers.
    let hangs = script(&dir, "hangs", "cat > /dev/null\nexec sleep 1000");
    let limits = Limits {
        extract_timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    };
    let failure = isolate::run(&Job::Document(DocFormat::Pdf), b"%PDF-1.7", &limits, &hangs)
        .expect_err("no answer");
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure:?}");
    assert_eq!(
        failure.detail,
        "extraction took over 300 ms (extract_timeout_seconds in node.toml)"
    );
}

#[cfg(unix)]
#[test]
fn a_worker_killed_by_a_signal_or_talking_nonsense_is_an_extractor_crash() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "killed",
            "kill -9 $$",
            "the extractor process was killed by signal 9",
        ),
        (
            "exits",
            "echo 'szétesett' >&2\nexit 7",
            "the extractor process exited with code 7: szétesett",
        ),
        (
            "babbles",
            "cat > /dev/null\necho hello",
            "the worker's answer is not understood: ",
        ),
    ];
    for (name, body, expected) in cases {
        let failure = isolate::run(
            &Job::Document(DocFormat::Pdf),
            b"%PDF-1.7",
            &Limits::default(),
            &script(&dir, name, body),
        )
        .expect_err(name);
        assert_eq!(failure.kind, FailureKind::ExtractorCrash, "{failure:?}");
        assert!(failure.detail.starts_with(expected), "{name}: {failure:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_worker_that_closes_its_output_and_lingers_is_still_killed_at_the_time_limit() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    // Answers nothing, closes stdout, and does not exit.
    let lingers = script(
        &dir,
        "lingers",
        "cat > /dev/null\nexec 1>&-\nexec sleep 1000",
    );
    let limits = Limits {
        extract_timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    };
    let failure = isolate::run(
        &Job::Document(DocFormat::Pdf),
        b"%PDF-1.7",
        &limits,
        &lingers,
    )
    .expect_err("no answer");
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure:?}");
}

/// Found by `cargo fuzz run extract_xlsx`: an OLE file whose sector chain
/// loops makes calamine's compound-file reader grow a buffer without end.
/// The worker's address-space limit stops it: one file's `extractor-crash`,
/// naming the limit, in seconds, never the import's memory.
#[test]
fn a_workbook_that_makes_its_reader_allocate_without_end_stops_at_the_memory_limit() {
    let _serial = serial();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/extract_xlsx/oom-ole-sector-chain-cycle"
    );
    let bytes = std::fs::read(path).expect("the regression input");
    let limits = Limits {
        extract_memory_bytes: 512 * 1024 * 1024,
        ..Limits::default()
    };
    let failure = isolate::run(
        &Job::Workbook(tudashalo_node::import::WorkbookFormat::Xlsx),
        &bytes,
        &limits,
        &worker(),
    )
    .expect_err("the reader cannot finish");
    assert_eq!(failure.kind, FailureKind::ExtractorCrash, "{failure:?}");
    assert!(
        failure.detail.contains("extract_memory_mb = 512"),
        "{failure:?}"
    );
    assert!(
        failure.detail.contains("memory allocation of"),
        "{failure:?}"
    );
}
