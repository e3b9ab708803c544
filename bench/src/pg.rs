//! The centralised alternative: one private PostgreSQL cluster in a
//! temporary folder (Debian's `postgresql` package, `initdb` + `pg_ctl`,
//! listening only on a Unix socket in that folder), with every document in
//! one table (a stored `tsvector` over the built-in `hungarian`
//! configuration plus `unaccent`, a GIN index, `ts_rank` ordering,
//! `LIMIT 10`) and every observation in another.
//!
//! When this process runs as root the server runs as the `postgres` user
//! (`runuser`), since PostgreSQL refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::SinkExt;
use serde::Serialize;
use tokio_postgres::{Client, NoTls};
use tudashalo_demo::generate;

use crate::corpus::Corpus;

/// The PostgreSQL settings used (beyond the defaults), for the report.
pub const SETTINGS: [(&str, &str); 5] = [
    ("shared_buffers", "1GB"),
    ("work_mem", "64MB"),
    ("maintenance_work_mem", "1GB"),
    ("max_wal_size", "4GB"),
    ("jit", "off"),
];

const PORT: u16 = 55432;

/// A running private cluster.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    run_as: Option<String>,
    pub version: String,
    stopped: bool,
}

/// The newest `/usr/lib/postgresql/*/bin` that has `pg_ctl`.
pub fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl Postgres {
    /// Creates and starts a cluster in a new folder under `parent`.
    pub async fn start(bin: &Path, parent: &Path) -> Result<Postgres> {
        let dir = parent.join("postgres");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let run_as = is_root().then(|| "postgres".to_string());
        if let Some(user) = &run_as {
            run(tokio::process::Command::new("chown")
                .arg(format!("{user}:{user}"))
                .arg(&dir))
            .await
            .context("giving the cluster folder to the postgres user")?;
        }
        let mut pg = Postgres {
            bin: bin.to_path_buf(),
            data: dir.join("data"),
            dir,
            run_as,
            version: String::new(),
            stopped: false,
        };
        let data = pg.data.display().to_string();
        pg.command(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "bench",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )
        .await?;
        let mut options = format!(
            "-c listen_addresses='' -k {} -p {PORT} -c fsync=on",
            pg.dir.display()
        );
        for (k, v) in SETTINGS {
            options.push_str(&format!(" -c {k}={v}"));
        }
        let log = pg.dir.join("server.log").display().to_string();
        pg.command(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        )
        .await?;
        let client = pg.connect("postgres").await?;
        pg.version = client
            .query_one("SHOW server_version", &[])
            .await?
            .get::<_, String>(0);
        Ok(pg)
    }

    async fn command(&self, program: &str, args: &[&str]) -> Result<()> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = tokio::process::Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => tokio::process::Command::new(&path),
        };
        command.args(args).current_dir(&self.dir);
        run(&mut command)
            .await
            .with_context(|| format!("{program} {}", args.join(" ")))
    }

    /// The postmaster's process id (the first line of `postmaster.pid`).
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// A connection to database `db` over the Unix socket.
    pub async fn connect(&self, db: &str) -> Result<Client> {
        let (client, connection) = tokio_postgres::Config::new()
            .host_path(&self.dir)
            .port(PORT)
            .user("bench")
            .dbname(db)
            .connect(NoTls)
            .await
            .context("connecting to the private PostgreSQL")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Stops the server (fast shutdown) and removes its folder.
    pub async fn stop(mut self) -> Result<()> {
        let data = self.data.display().to_string();
        self.command("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .await?;
        self.stopped = true;
        std::fs::remove_dir_all(&self.dir)?;
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if !self.stopped {
            // Best effort when a run fails half-way: stop the server we started.
            let mut command = match &self.run_as {
                Some(user) => {
                    let mut c = std::process::Command::new("runuser");
                    c.args(["-u", user, "--"]).arg(self.bin.join("pg_ctl"));
                    c
                }
                None => std::process::Command::new(self.bin.join("pg_ctl")),
            };
            let _ = command
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

async fn run(command: &mut tokio::process::Command) -> Result<()> {
    let output = command.stdin(Stdio::null()).output().await?;
    if !output.status.success() {
        bail!(
            "{}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// What loading one scale's data took.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Load {
    /// `COPY` of the documents (the stored `tsvector` is computed here).
    pub copy_documents_s: f64,
    /// `CREATE INDEX … USING gin`.
    pub index_s: f64,
    /// `COPY` of the catalogue and the observations, and their index.
    pub observations_s: f64,
    /// `ANALYZE`.
    pub analyze_s: f64,
    pub total_s: f64,
    /// Bytes sent by `COPY`.
    pub copy_bytes: u64,
    pub documents: u64,
    pub observations: u64,
    /// Size of the database on disk afterwards.
    pub database_bytes: i64,
}

/// The schema: the `hu_unaccent` configuration and the two tables.
const SCHEMA: &str = r#"
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION hu_unaccent (COPY = hungarian);
ALTER TEXT SEARCH CONFIGURATION hu_unaccent
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, hungarian_stem;
CREATE TABLE documents (
    id text PRIMARY KEY,
    kisterseg text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    kind text NOT NULL,
    year integer,
    visibility text NOT NULL,
    sectors text NOT NULL,
    settlements text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('hu_unaccent', title), 'A') || to_tsvector('hu_unaccent', body)
    ) STORED
);
CREATE TABLE indicators (
    code text PRIMARY KEY,
    name text NOT NULL,
    unit text NOT NULL,
    aggregation text NOT NULL,
    weight text
);
CREATE TABLE observations (
    indicator text NOT NULL,
    kisterseg text NOT NULL,
    settlement text NOT NULL,
    period text NOT NULL,
    value double precision NOT NULL,
    unit text NOT NULL
);
"#;

/// The search: the top 10 by `ts_rank` of the documents a hub may see.
pub const SEARCH_SQL: &str = "SELECT id, title, ts_rank(tsv, q) AS rank \
     FROM documents, plainto_tsquery('hu_unaccent', $1) AS q \
     WHERE tsv @@ q AND visibility <> 'local' \
     ORDER BY rank DESC LIMIT 10";

/// How many documents match (for the report: the same count as the hub's
/// `total`).
pub const COUNT_SQL: &str = "SELECT count(*) FROM documents \
     WHERE tsv @@ plainto_tsquery('hu_unaccent', $1) AND visibility <> 'local'";

/// Every aggregatable indicator by kistérség and year, with the hub's rules:
/// `sum`, `min`, `max`, and `weighted_mean:W` as Σ(v·w)/Σw with `w` the
/// weight indicator of the same settlement and period (joined), no value
/// when a weight is missing; `n` distinct contributing settlements.
pub const AGGREGATE_SQL: &str = r#"
SELECT o.kisterseg, o.period, o.indicator,
    CASE min(i.aggregation)
        WHEN 'sum' THEN sum(o.value)
        WHEN 'min' THEN min(o.value)
        WHEN 'max' THEN max(o.value)
        WHEN 'weighted_mean' THEN
            CASE WHEN count(*) FILTER (WHERE w.value IS NULL) > 0 THEN NULL
                 ELSE sum(o.value * w.value) / nullif(sum(w.value), 0) END
    END AS value,
    count(DISTINCT o.settlement) AS n
FROM observations o
JOIN indicators i ON i.code = o.indicator
LEFT JOIN observations w
    ON i.weight IS NOT NULL AND w.indicator = i.weight
   AND w.kisterseg = o.kisterseg AND w.settlement = o.settlement AND w.period = o.period
WHERE i.aggregation <> 'none'
GROUP BY o.kisterseg, o.period, o.indicator
ORDER BY o.kisterseg, o.period, o.indicator
"#;

/// COPY text format: backslash, tab, newline and carriage return escaped.
fn copy_field(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn join_strings(value: &serde_json::Value) -> String {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// Streams `rows` (COPY text lines) into `COPY … FROM STDIN` in 1 MiB chunks.
async fn copy_in(client: &Client, sql: &str, rows: impl Iterator<Item = String>) -> Result<u64> {
    let sink = client.copy_in::<_, Bytes>(sql).await?;
    futures_util::pin_mut!(sink);
    let mut buffer = String::with_capacity(1 << 21);
    let mut bytes = 0u64;
    for row in rows {
        buffer.push_str(&row);
        if buffer.len() >= 1 << 20 {
            bytes += buffer.len() as u64;
            sink.send(Bytes::from(std::mem::take(&mut buffer))).await?;
        }
    }
    if !buffer.is_empty() {
        bytes += buffer.len() as u64;
        sink.send(Bytes::from(buffer)).await?;
    }
    sink.finish().await?;
    Ok(bytes)
}

/// Creates database `db` and loads `corpus` into it, timing each step.
pub async fn load(pg: &Postgres, db: &str, corpus: &Corpus) -> Result<Load> {
    let admin = pg.connect("postgres").await?;
    // Two statements: DROP DATABASE cannot run in the implicit transaction
    // of a multi-statement batch.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await?;
    let client = pg.connect(db).await?;
    client.batch_execute(SCHEMA).await?;
    let mut load = Load::default();

    // The same JSON Lines files the nodes import.
    let started = Instant::now();
    let mut copied = 0u64;
    for node in &corpus.nodes {
        let text = std::fs::read_to_string(&node.files.documents)?;
        let slug = node.kisterseg.slug.clone();
        let rows = text.lines().filter(|l| !l.trim().is_empty()).map(|line| {
            let d: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let mut row = String::with_capacity(line.len() + 64);
            for (i, field) in [
                d["id"].as_str().unwrap_or_default().to_string(),
                slug.clone(),
                d["title"].as_str().unwrap_or_default().to_string(),
                d["body"].as_str().unwrap_or_default().to_string(),
                d["kind"].as_str().unwrap_or("other").to_string(),
            ]
            .iter()
            .enumerate()
            {
                if i > 0 {
                    row.push('\t');
                }
                copy_field(&mut row, field);
            }
            row.push('\t');
            match d["year"].as_i64() {
                Some(y) => row.push_str(&y.to_string()),
                None => row.push_str("\\N"),
            }
            for field in [
                d["visibility"].as_str().unwrap_or("federated").to_string(),
                join_strings(&d["sectors"]),
                join_strings(&d["settlements"]),
            ] {
                row.push('\t');
                copy_field(&mut row, &field);
            }
            row.push('\n');
            row
        });
        load.copy_bytes += copy_in(
            &client,
            "COPY documents (id, kisterseg, title, body, kind, year, visibility, sectors, settlements) FROM STDIN",
            rows,
        )
        .await?;
        copied += node.documents as u64;
    }
    load.copy_documents_s = started.elapsed().as_secs_f64();
    load.documents = copied;

    let started = Instant::now();
    client
        .batch_execute("CREATE INDEX documents_tsv ON documents USING gin (tsv)")
        .await?;
    load.index_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let catalogue = generate::catalogue()
        .into_iter()
        .map(|(code, name, unit, aggregation)| {
            let (rule, weight) = match aggregation.split_once(':') {
                Some((rule, weight)) => (rule, weight),
                None => (aggregation, "\\N"),
            };
            format!("{code}\t{name}\t{unit}\t{rule}\t{weight}\n")
        });
    load.copy_bytes += copy_in(
        &client,
        "COPY indicators (code, name, unit, aggregation, weight) FROM STDIN",
        catalogue,
    )
    .await?;
    for node in &corpus.nodes {
        let k = node.kisterseg.clone();
        let rows = generate::observations(&k, &corpus.spec).map(
            move |(indicator, settlement, period, value, unit)| {
                let mut row = String::with_capacity(96);
                row.push_str(indicator);
                row.push('\t');
                copy_field(&mut row, &k.slug);
                row.push('\t');
                copy_field(&mut row, &settlement);
                row.push('\t');
                row.push_str(&period);
                row.push('\t');
                row.push_str(&value.to_string());
                row.push('\t');
                row.push_str(unit);
                row.push('\n');
                row
            },
        );
        load.copy_bytes += copy_in(
            &client,
            "COPY observations (indicator, kisterseg, settlement, period, value, unit) FROM STDIN",
            rows,
        )
        .await?;
    }
    client
        .batch_execute(
            "CREATE UNIQUE INDEX observations_key ON observations (indicator, kisterseg, settlement, period)",
        )
        .await?;
    load.observations = client
        .query_one("SELECT count(*) FROM observations", &[])
        .await?
        .get::<_, i64>(0) as u64;
    load.observations_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    client.batch_execute("ANALYZE").await?;
    load.analyze_s = started.elapsed().as_secs_f64();
    load.total_s = load.copy_documents_s + load.index_s + load.observations_s + load.analyze_s;
    load.database_bytes = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await?
        .get::<_, i64>(0);
    Ok(load)
}

/// `clients` connections to `db`, each with the search prepared.
pub async fn search_clients(
    pg: &Postgres,
    db: &str,
    clients: usize,
) -> Result<Vec<(Arc<Client>, tokio_postgres::Statement)>> {
    let mut out = Vec::with_capacity(clients);
    for _ in 0..clients {
        let client = pg.connect(db).await?;
        let statement = client.prepare(SEARCH_SQL).await?;
        out.push((Arc::new(client), statement));
    }
    Ok(out)
}

/// One aggregate cell computed by PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgCell {
    pub kisterseg: String,
    pub period: String,
    pub indicator: String,
    pub value: Option<f64>,
    pub n: i64,
}

/// Runs [`AGGREGATE_SQL`] and reads every row.
pub async fn aggregate(client: &Client) -> Result<Vec<PgCell>> {
    let rows = client.query(AGGREGATE_SQL, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| PgCell {
            kisterseg: r.get(0),
            period: r.get(1),
            indicator: r.get(2),
            value: r.get(3),
            n: r.get(4),
        })
        .collect())
}
