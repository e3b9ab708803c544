//! The command-line client: `tudashalo-hub search` against a hub or a node.
//!
//! `--json` prints one JSON document whose shape the README documents; it is
//! derived from the protobuf answer field by field, so that scripts do not
//! depend on protobuf's JSON mapping.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use tudashalo_proto::identity::PeerExpectation;
use tudashalo_proto::pb::{self, MemberState};
use tudashalo_proto::tls::{TlsFiles, TlsMaterial};

/// How a command-line client checks the server it talks to, besides the
/// chain: the CRL (by default `crl.pem` next to `--ca`, if present) and,
/// if the user names it, the principal the server's certificate must name.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerCheck {
    /// Refuse the server unless its certificate names this principal,
    /// `role:name` (e.g. hub:eszak-magyarorszag).
    #[arg(long = "expect", value_name = "ROLE:NAME")]
    pub expect: Option<PeerExpectation>,
    /// The CA's revocation list. Default: crl.pem next to --ca, if present.
    #[arg(long)]
    pub crl: Option<PathBuf>,
}

impl ServerCheck {
    /// Loads our identity and connects to `url`, checking the server's
    /// chain, the CRL and (with `--expect`) its principal.
    pub async fn connect(
        &self,
        url: &str,
        cert: &std::path::Path,
        key: &std::path::Path,
        ca: &std::path::Path,
    ) -> Result<tudashalo_proto::pb::federation_client::FederationClient<tonic::transport::Channel>>
    {
        let tls: TlsMaterial = TlsFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            ca: ca.to_path_buf(),
            crl: self.crl.clone(),
        }
        .load()?;
        Ok(tls.connect_expecting(url, self.expect.clone()).await?)
    }
}

/// Where a command-line client connects, and as whom: the flags `search`
/// and `get` share.
#[derive(Debug, Args)]
pub struct Connection {
    /// The hub's (or a node's) URL, e.g. https://127.0.0.1:7700.
    #[arg(long)]
    hub: String,
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    ca: PathBuf,
    #[command(flatten)]
    server: ServerCheck,
}

impl Connection {
    /// The server's URL, for messages.
    pub fn url(&self) -> &str {
        &self.hub
    }

    pub(crate) async fn connect(
        &self,
    ) -> Result<tudashalo_proto::pb::federation_client::FederationClient<tonic::transport::Channel>>
    {
        self.server
            .connect(&self.hub, &self.cert, &self.key, &self.ca)
            .await
    }
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    to: Connection,
    /// The query: words, "phrases", AND / OR / NOT, -word.
    query: Vec<String>,
    #[arg(long = "kind")]
    kinds: Vec<String>,
    #[arg(long = "sector")]
    sectors: Vec<String>,
    #[arg(long = "settlement")]
    settlements: Vec<String>,
    #[arg(long)]
    year_from: Option<i32>,
    #[arg(long)]
    year_to: Option<i32>,
    /// Only these entities: document, development, organisation, group.
    #[arg(long = "entity")]
    entities: Vec<String>,
    /// Developments of these programmes (EFOP, TOP, VEKOP, KOFOP, GINOP, VP, …).
    #[arg(long = "programme")]
    programmes: Vec<String>,
    /// Developments in these statuses: planned, running, closed, sustainability.
    #[arg(long = "status")]
    statuses: Vec<String>,
    /// Developments for these target groups (codes, e.g. roma_pupils).
    #[arg(long = "target-group")]
    target_groups: Vec<String>,
    /// Developments awarded at least this much support, Ft.
    #[arg(long)]
    amount_min: Option<u64>,
    /// Developments awarded at most this much support, Ft.
    #[arg(long)]
    amount_max: Option<u64>,
    /// Only these members (paths such as edelenyi or del-alfold/kisteleki).
    #[arg(long = "member")]
    members: Vec<String>,
    #[arg(long, default_value_t = 10)]
    limit: u32,
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// The request's deadline; the hub's default when not given.
    #[arg(long)]
    timeout_ms: Option<u64>,
    #[arg(long)]
    json: bool,
}

pub async fn search(args: SearchArgs) -> Result<()> {
    let mut client = args.to.connect().await?;
    let mut request = tonic::Request::new(pb::SearchRequest {
        query: args.query.join(" "),
        filters: Some(pb::Filters {
            kinds: args.kinds,
            sectors: args.sectors,
            settlements: args.settlements,
            year_from: args.year_from,
            year_to: args.year_to,
            ids: Vec::new(),
            entities: args.entities,
            programmes: args.programmes,
            statuses: args.statuses,
            target_groups: args.target_groups,
            amount_min: args.amount_min,
            amount_max: args.amount_max,
        }),
        offset: args.offset,
        limit: args.limit,
        members: args.members,
        ..Default::default()
    });
    if let Some(ms) = args.timeout_ms {
        request.set_timeout(Duration::from_millis(ms));
    }
    let query = request.get_ref().query.clone();
    let response = client
        .search(request)
        .await
        .with_context(|| format!("search at {}", args.to.hub))?
        .into_inner();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&response_json(&response))?
        );
    } else {
        print_response(&query, &response);
    }
    Ok(())
}

pub fn state_name(state: i32) -> &'static str {
    tudashalo_core::export::state_name(state)
}

/// The stable `--json` shape of a search answer.
pub fn response_json(r: &pb::SearchResponse) -> serde_json::Value {
    json!({
        "total": r.total,
        "partial": r.partial,
        "hits": r.hits.iter().map(|h| json!({
            "member": h.member,
            "id": h.id,
            "entity": if h.entity.is_empty() { "document" } else { h.entity.as_str() },
            "title": h.title,
            "kind": h.kind,
            "year": h.year,
            "settlements": h.settlements,
            "sectors": h.sectors,
            "score": h.score,
            "snippet": h.snippet.as_ref().map(|s| json!({
                "text": s.text,
                "highlights": s.highlights.iter().map(|x| [x.start, x.end]).collect::<Vec<_>>(),
            })),
            "source": h.source.as_ref().map(source_json),
        })).collect::<Vec<_>>(),
        "facets": r.facets.iter().map(|f| json!({
            "name": f.name,
            "values": f.values.iter().map(|v| json!({"value": v.value, "count": v.count})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "members": r.members.iter().map(tudashalo_core::export::member_json).collect::<Vec<_>>(),
        "ignored": r.ignored,
        "suggestions": r.suggestions.iter().map(|s| json!({
            "word": s.word,
            "replacement": s.replacement,
            "doc_freq": s.doc_freq,
            "distance": s.distance,
        })).collect::<Vec<_>>(),
        "suggested_query": r.suggested_query,
    })
}

/// The stable `--json` shape of a document's source (`null` without one).
pub fn source_json(s: &pb::DocumentSource) -> serde_json::Value {
    json!({
        "file": s.file,
        "format": s.format,
        "pages": s.pages,
        "bytes": s.bytes,
        "sha256": s.sha256,
    })
}

/// `strategia.pdf, PDF, 12 oldal, 1,2 MB`: where a document came from.
pub fn source_line(s: &pb::DocumentSource) -> String {
    tudashalo_core::model::Source::from(s.clone()).describe()
}

/// Prints a search answer as `search` does without `--json` (the demo too).
pub fn print_response(query: &str, r: &pb::SearchResponse) {
    let bold = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} of {} matching records for {query:?}",
        r.hits.len(),
        r.total
    );
    for (i, h) in r.hits.iter().enumerate() {
        let year = h.year.map(|y| format!(" {y}")).unwrap_or_default();
        let member = if h.member.is_empty() {
            String::new()
        } else {
            format!("{}: ", h.member)
        };
        let _ = writeln!(
            out,
            "{:>3}. {member}{}  [{}{}]  id={} score={:.3}",
            i + 1,
            h.title,
            h.kind,
            year,
            h.id,
            h.score
        );
        if let Some(source) = &h.source {
            let _ = writeln!(out, "     forrás: {}", source_line(source));
        }
        if let Some(s) = &h.snippet {
            let ranges = s
                .highlights
                .iter()
                .map(|x| (x.start as usize, x.end as usize));
            let text = tudashalo_core::search::mark_highlights(&s.text, ranges, bold);
            let _ = writeln!(out, "     {text}");
        }
    }
    for f in &r.facets {
        let values = f.values.iter().map(|v| (v.value.as_str(), v.count));
        if let Some(line) = tudashalo_core::search::facet_line(&f.name, values) {
            let _ = writeln!(out, "{line}");
        }
    }
    for i in &r.ignored {
        let _ = writeln!(out, "  ignored: {i}");
    }
    if let Some(line) = tudashalo_core::suggest::suggestion_line(&r.suggested_query) {
        let _ = writeln!(out, "{line}");
    }
    if !r.members.is_empty() {
        let _ = writeln!(out, "members:");
        for m in &r.members {
            let message = if m.message.is_empty() {
                String::new()
            } else {
                format!("  {}", m.message)
            };
            let _ = writeln!(
                out,
                "  {:<28} {:<12} {:>6} ms {:>6} hits{message}",
                m.member,
                state_name(m.state),
                m.latency_ms,
                m.total
            );
        }
        if r.members.iter().all(|m| m.state != MemberState::Ok as i32) {
            let _ = writeln!(out, "no member contributed to this answer");
        } else if r.partial {
            let _ = writeln!(out, "partial answer: not every member contributed");
        }
    }
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    to: Connection,
    /// The member path that holds the document (empty at a node).
    #[arg(long, default_value = "")]
    member: String,
    /// The document's id.
    id: String,
    /// Download the original file to this path instead of printing the
    /// document (`-` for stdout).
    #[arg(long)]
    original: Option<PathBuf>,
    /// The request's deadline; the hub's default when not given.
    #[arg(long)]
    timeout_ms: Option<u64>,
    #[arg(long)]
    json: bool,
}

/// `get`: one document, or its original file, through a hub or from a node.
pub async fn get(args: GetArgs) -> Result<()> {
    let mut client = args.to.connect().await?;
    let mut request = tonic::Request::new(pb::GetDocumentRequest {
        id: args.id.clone(),
        member: args.member.clone(),
    });
    if let Some(ms) = args.timeout_ms {
        request.set_timeout(Duration::from_millis(ms));
    }
    let Some(path) = &args.original else {
        let response = client
            .get_document(request)
            .await
            .with_context(|| format!("document {} at {}", args.id, args.to.hub))?
            .into_inner();
        if tudashalo_core::register_text::print_record(&response, args.json)? {
            return Ok(());
        }
        let doc = response.document.unwrap_or_default();
        if args.json {
            let extra: serde_json::Value = if doc.extra_json.is_empty() {
                json!({})
            } else {
                serde_json::from_str(&doc.extra_json).unwrap_or_else(|_| json!({}))
            };
            let out = json!({
                "member": response.member,
                "id": doc.id,
                "title": doc.title,
                "kind": doc.kind,
                "year": doc.year,
                "settlements": doc.settlements,
                "sectors": doc.sectors,
                "org": doc.org,
                "visibility": doc.visibility,
                "tags": doc.tags,
                "url": doc.url,
                "source": doc.source.as_ref().map(source_json),
                "extra": extra,
                "body": doc.body,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", doc.title)?;
            if let Some(source) = &doc.source {
                writeln!(out, "forrás: {}", source_line(source))?;
            }
            writeln!(out, "\n{}", doc.body)?;
        }
        return Ok(());
    };
    let mut stream = client
        .get_original(request)
        .await
        .with_context(|| format!("the original of {} at {}", args.id, args.to.hub))?
        .into_inner();
    let to_stdout = path.as_os_str() == "-";
    // Written to a temporary name and renamed once complete, so that a
    // broken download never leaves a file that looks whole.
    let partial = path.with_extension("part");
    let mut file: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?,
        ))
    };
    let mut source = None;
    let mut received: u64 = 0;
    let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
    while let Some(chunk) = stream
        .message()
        .await
        .with_context(|| format!("the original of {} at {}", args.id, args.to.hub))?
    {
        if source.is_none() {
            source = chunk.source;
        }
        received += chunk.data.len() as u64;
        hasher.update(&chunk.data);
        file.write_all(&chunk.data)?;
    }
    file.flush()?;
    drop(file);
    let source = source.context("the answer did not say what the file is")?;
    let sha256: String = hasher
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if received != source.bytes || sha256 != source.sha256 {
        if !to_stdout {
            let _ = std::fs::remove_file(&partial);
        }
        anyhow::bail!(
            "the original of {} arrived damaged: {received} bytes with SHA-256 {sha256}, \
             but {} bytes with SHA-256 {} were announced",
            args.id,
            source.bytes,
            source.sha256
        );
    }
    if !to_stdout {
        std::fs::rename(&partial, path)
            .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&source_json(&source))?);
        } else {
            eprintln!("{}: {}", path.display(), source_line(&source));
        }
    }
    Ok(())
}
