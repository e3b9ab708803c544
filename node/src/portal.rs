//! The portal's [`Backend`] on a node: pages ask the node's own requests
//! ([`Requests`]) as the viewer's principal — the public one, or an
//! account's — so the node's policy decides and its audit log records each
//! request exactly as for a gRPC caller. The node's operators (principals
//! its policy gives `admin`) also upload files to import, see documents by
//! visibility, and read the audit log, verified; an upload is audited as
//! `PortalImport`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tudashalo_core::aggregate::AggregateQuery;
use tudashalo_core::model::{Kind, Visibility};
use tudashalo_core::pb as convert;
use tudashalo_portal::backend::{
    AdminView, Aggregated, AuditLine, Backend, BackendError, FileOutcome, MemberView, Original,
    Overview, Upload, UploadOptions,
};
use tudashalo_proto::identity::Principal;
use tudashalo_proto::pb;
use tudashalo_proto::relay::RelayHeaders;

use crate::audit::{self, Outcome};
use crate::error::Error;
use crate::grpc::record;
use crate::import::isolate::Isolation;
use crate::node::ImportOptions;
use crate::node::Node;
use crate::policy::Permission;
use crate::service::{Aggregate, Cells, Requester, Requests};

/// Rejected rows shown per file (the count says how many there were).
pub const REJECTIONS_SHOWN: usize = 20;

/// The node, as the portal asks it.
#[derive(Debug, Clone)]
pub struct NodeBackend {
    requests: Requests,
    node: Arc<Node>,
    /// Where uploaded files' extractors run (a child process when serving).
    isolation: Isolation,
}

impl NodeBackend {
    pub fn new(node: Arc<Node>, isolation: Isolation) -> NodeBackend {
        NodeBackend {
            requests: Requests::new(node.clone()),
            node,
            isolation,
        }
    }

    /// Runs `call` on the blocking pool (sled, tantivy, the audit log).
    async fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Requests) -> crate::error::Result<T> + Send + 'static,
    ) -> Result<T, BackendError> {
        let requests = self.requests.clone();
        match tokio::task::spawn_blocking(move || call(&requests)).await {
            Ok(result) => result.map_err(backend_error),
            Err(e) => Err(BackendError::Internal(format!("request handler: {e}"))),
        }
    }

    /// Member paths naming this node itself are dropped: a node is its
    /// own only member.
    fn own(&self, members: Vec<String>) -> Result<Vec<String>, BackendError> {
        let other: Vec<String> = members
            .into_iter()
            .filter(|m| m != self.node.name())
            .collect();
        match other.first() {
            Some(m) => Err(BackendError::NotFound(format!(
                "{m}: not this node ({}); a node's portal shows only its own data",
                self.node.name()
            ))),
            None => Ok(other),
        }
    }
}

/// The viewer as a direct caller of the node (no relay headers).
fn requester(viewer: &Principal) -> Requester {
    Requester {
        principal: Some(viewer.clone()),
        relay: Ok(RelayHeaders::default()),
        raw_relay: Vec::new(),
    }
}

/// The node's error as the portal shows it, by its gRPC code (the node's
/// one table, `From<Error> for Status`).
fn backend_error(error: Error) -> BackendError {
    let status = tonic::Status::from(error);
    let message = status.message().to_string();
    match status.code() {
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
            BackendError::Denied(message)
        }
        tonic::Code::NotFound => BackendError::NotFound(message),
        tonic::Code::InvalidArgument | tonic::Code::ResourceExhausted => {
            BackendError::Invalid(message)
        }
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
            BackendError::Unavailable(message)
        }
        _ => BackendError::Internal(message),
    }
}

/// An uploaded file's name as a safe relative path: `/` or `\`
/// separated, without empty, `.`, `..` or root parts.
pub fn safe_relative(name: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in name.split(['/', '\\']) {
        if part.is_empty() || part == "." || part.chars().any(char::is_control) {
            continue;
        }
        match Path::new(part).components().next() {
            Some(Component::Normal(p)) if part != ".." => out.push(p),
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[async_trait]
impl Backend for NodeBackend {
    fn name(&self) -> &str {
        self.node.name()
    }

    fn title(&self) -> &str {
        self.node.display_name()
    }

    fn role(&self) -> &'static str {
        "node"
    }

    fn member_title(&self, path: &str) -> Option<String> {
        (path == self.node.name()).then(|| self.node.display_name().to_string())
    }

    async fn overview(&self, viewer: &Principal, _timeout: Duration) -> Overview {
        let who = requester(viewer);
        let info = self.call(move |r| r.info(&who)).await;
        let (state, message, info) = match info {
            Ok(i) => ("ok", String::new(), Some(crate::grpc::info_response(i))),
            Err(e) => ("refused", e.to_string(), None),
        };
        Overview {
            name: self.node.name().to_string(),
            display_name: self.node.display_name().to_string(),
            role: "node".into(),
            indicators: info
                .as_ref()
                .map(|i| i.indicators.clone())
                .unwrap_or_default(),
            members: vec![MemberView {
                path: self.node.name().to_string(),
                display_name: self.node.display_name().to_string(),
                state: state.into(),
                message,
                info,
            }],
        }
    }

    async fn search(
        &self,
        viewer: &Principal,
        request: pb::SearchRequest,
        _timeout: Duration,
    ) -> Result<pb::SearchResponse, BackendError> {
        let request = pb::SearchRequest {
            members: self.own(request.members.clone())?,
            ..request
        };
        let who = requester(viewer);
        let (record, search) = crate::grpc::search_request(request);
        let answer = self.call(move |r| r.search(&who, record, search)).await?;
        Ok(crate::grpc::search_response(answer))
    }

    async fn document(
        &self,
        viewer: &Principal,
        member: &str,
        id: &str,
        _timeout: Duration,
    ) -> Result<pb::GetDocumentResponse, BackendError> {
        self.own(vec![member.to_string()])?;
        let request = pb::GetDocumentRequest {
            id: id.to_string(),
            member: String::new(),
        };
        let (who, record) = (requester(viewer), record::get_document(&request));
        let response = self
            .call(move |r| r.get_document(&who, record, &request.id, &request.member))
            .await?;
        Ok(response)
    }

    async fn original(
        &self,
        viewer: &Principal,
        member: &str,
        id: &str,
        _timeout: Duration,
    ) -> Result<Original, BackendError> {
        self.own(vec![member.to_string()])?;
        let request = pb::GetDocumentRequest {
            id: id.to_string(),
            member: String::new(),
        };
        let (who, record) = (requester(viewer), record::get_original(&request));
        let (source, mut file) = self
            .call(move |r| r.get_original(&who, record, &request.id, &request.member))
            .await?;
        let described = pb::DocumentSource::from(source);
        let (tx, chunks) = tokio::sync::mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buffer = vec![0u8; crate::grpc::ORIGINAL_CHUNK_BYTES];
            loop {
                let item = match file.read(&mut buffer) {
                    Ok(0) => return,
                    Ok(n) => Ok(buffer[..n].to_vec()),
                    Err(e) => {
                        tracing::error!(error = %e, "reading an original file");
                        Err(BackendError::Internal(format!("reading the original: {e}")))
                    }
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        Ok(Original {
            source: described,
            chunks,
        })
    }

    async fn network(
        &self,
        viewer: &Principal,
        request: pb::NetworkRequest,
        _timeout: Duration,
    ) -> Result<pb::NetworkResponse, BackendError> {
        let request = pb::NetworkRequest {
            members: self.own(request.members.clone())?,
            ..request
        };
        let (who, record) = (requester(viewer), record::network(&request));
        self.call(move |r| r.network(&who, record, request)).await
    }

    async fn aggregate(
        &self,
        viewer: &Principal,
        request: pb::AggregateRequest,
        max_cells: usize,
        _timeout: Duration,
    ) -> Result<Aggregated, BackendError> {
        let request = pb::AggregateRequest {
            partials: false,
            members: self.own(request.members.clone())?,
            ..request
        };
        convert::check_aggregate_request(self.node.request_limits(), &request)
            .map_err(|e| BackendError::Invalid(e.to_string()))?;
        let (who, record) = (requester(viewer), record::aggregate(&request));
        let aggregate = Aggregate {
            query: AggregateQuery::try_from(&request),
            members: request.members.clone(),
            partials: false,
        };
        let cells = match self
            .call(move |r| r.aggregate(&who, record, aggregate))
            .await?
        {
            Cells::Published(cells) => cells,
            Cells::Partials(_) => {
                return Err(BackendError::Internal(
                    "the node answered partials to a portal request".into(),
                ));
            }
        };
        if cells.len() > max_cells {
            return Err(BackendError::Invalid(format!(
                "the answer has {} cells, more than the portal's MAX_CELLS ({max_cells}); ask for fewer years or a coarser level",
                cells.len()
            )));
        }
        Ok(Aggregated {
            cells: cells
                .into_iter()
                .map(|p| convert::published_cell(p, Vec::new(), Vec::new()))
                .collect(),
            members: Vec::new(),
        })
    }

    /// A login to this node's portal is an outside request like any
    /// other: one audit entry, `PortalLogin`, with the account and address
    /// (never the password). A failed append is logged; the login's answer
    /// does not wait on the audit log's health.
    fn audit_login(&self, user: &str, principal: Option<&Principal>, address: &str, outcome: &str) {
        let who = principal.map_or_else(|| "public:portal".to_string(), ToString::to_string);
        let mut record = audit::Record::new(who, "PortalLogin");
        record.params.text("user", &audit::bounded(user));
        record.params.text("address", address);
        record.outcome = match outcome {
            "ok" => Outcome::Ok,
            other => Outcome::Denied(format!("login {other}")),
        };
        if let Err(e) = self.node.audit().append(record) {
            tracing::error!(error = %e, "cannot audit a portal login");
        }
    }

    fn administers(&self, viewer: &Principal) -> bool {
        self.node.policy().allows(viewer, Permission::Admin)
    }

    async fn admin(&self, viewer: &Principal, limit: usize) -> Result<AdminView, BackendError> {
        if !self.administers(viewer) {
            return Err(BackendError::Denied(format!(
                "{viewer} does not administer node {}",
                self.node.name()
            )));
        }
        let node = self.node.clone();
        let view = tokio::task::spawn_blocking(move || -> crate::error::Result<AdminView> {
            let counts = node.documents_by_visibility()?;
            let audit = node
                .audit()
                .newest(limit)?
                .into_iter()
                .map(|e| AuditLine {
                    seq: e.seq,
                    time: e.time,
                    principal: match &e.on_behalf_of {
                        Some(behalf) => format!("{behalf} (via {})", e.principal),
                        None => e.principal,
                    },
                    method: e.method,
                    outcome: e.outcome,
                    summary: [e.query, e.document]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.is_empty())
                        .chain(e.results.map(|n| format!("{n} találat")))
                        .collect::<Vec<_>>()
                        .join("; "),
                })
                .collect();
            let verification = node.audit().verify()?;
            let verified = match &verification.broken {
                None => Ok(verification.entries),
                Some(broken) => Err(broken.to_string()),
            };
            Ok(AdminView {
                visibility: counts
                    .into_iter()
                    .map(|(v, n)| (v.to_string(), n))
                    .collect(),
                audit,
                verified,
            })
        })
        .await
        .map_err(|e| BackendError::Internal(format!("admin view: {e}")))?;
        view.map_err(backend_error)
    }

    async fn import(
        &self,
        viewer: &Principal,
        files: Vec<Upload>,
        options: UploadOptions,
    ) -> Result<Vec<FileOutcome>, BackendError> {
        if !self.administers(viewer) {
            return Err(BackendError::Denied(format!(
                "{viewer} does not administer node {}",
                self.node.name()
            )));
        }
        let mut text = crate::import::TextMeta {
            sectors: options.sectors.clone(),
            year: options.year,
            ..Default::default()
        };
        if let Some(kind) = &options.kind {
            text.kind = Some(
                kind.parse::<Kind>()
                    .map_err(|e| BackendError::Invalid(format!("kind: {e}")))?,
            );
        }
        if let Some(v) = &options.visibility {
            text.visibility = Some(
                v.parse::<Visibility>()
                    .map_err(|e| BackendError::Invalid(format!("visibility: {e}")))?,
            );
        }
        let import = ImportOptions {
            strict: options.strict,
            text,
            isolation: self.isolation.clone(),
            ..ImportOptions::default()
        };
        let node = self.node.clone();
        let viewer = viewer.clone();
        tokio::task::spawn_blocking(move || import_uploads(&node, &viewer, files, &import))
            .await
            .map_err(|e| BackendError::Internal(format!("import: {e}")))?
    }
}

/// A unique folder name for one upload.
fn upload_dir(node: &Node) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    node.dir().join("uploads").join(format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes the uploads into a fresh folder of the node's, imports them as
/// the CLI imports a folder, removes the folder, and audits the upload.
fn import_uploads(
    node: &Node,
    viewer: &Principal,
    files: Vec<Upload>,
    options: &ImportOptions,
) -> Result<Vec<FileOutcome>, BackendError> {
    let dir = upload_dir(node);
    let internal = |e: std::io::Error| BackendError::Internal(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(internal)?;
    let mut outcomes = Vec::new();
    let mut inputs: Vec<(PathBuf, String)> = Vec::new();
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    for upload in files {
        let Some(relative) = safe_relative(&upload.name) else {
            outcomes.push(FileOutcome {
                file: upload.name.clone(),
                state: "failed".into(),
                message: "not a file name (empty, or climbing out with ..)".into(),
                rejections: Vec::new(),
            });
            continue;
        };
        let label = relative.to_string_lossy().replace('\\', "/");
        if !crate::import::is_supported(&relative) {
            outcomes.push(FileOutcome {
                file: label,
                state: "skipped".into(),
                message: format!(
                    "not a file type the importer reads ({})",
                    crate::import::SUPPORTED
                ),
                rejections: Vec::new(),
            });
            continue;
        }
        let path = dir.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(internal)?;
        }
        std::fs::write(&path, &upload.bytes).map_err(internal)?;
        inputs.push((path, label));
    }
    let labels: std::collections::HashMap<PathBuf, String> = inputs.iter().cloned().collect();
    node.import_files(&inputs, options, &mut |path, result| {
        let file = labels
            .get(path)
            .cloned()
            .unwrap_or_else(|| path.display().to_string());
        outcomes.push(match result {
            Ok(report) => FileOutcome {
                file,
                state: if report.added + report.updated == 0 && report.rejected == 0 {
                    "unchanged".into()
                } else {
                    "imported".into()
                },
                message: format!(
                    "{}: {} új, {} frissített, {} változatlan, {} elutasított",
                    match report.kind {
                        "documents" => "dokumentum",
                        "observations" => "megfigyelés",
                        "catalogue" => "mutatókatalógus",
                        other => other,
                    },
                    report.added,
                    report.updated,
                    report.unchanged,
                    report.rejected
                ),
                rejections: report
                    .rejections
                    .iter()
                    .take(REJECTIONS_SHOWN)
                    .map(ToString::to_string)
                    .collect(),
            },
            Err(error) => FileOutcome {
                file,
                state: "failed".into(),
                // The upload's folder is the node's business, not the
                // operator's: the file is named as it was uploaded.
                message: error
                    .to_string()
                    .replace(&format!("{}/", dir.display()), ""),
                rejections: Vec::new(),
            },
        });
    });
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot remove an upload's folder");
    }
    let failed = outcomes.iter().filter(|o| o.state == "failed").count();
    let mut record = audit::Record::new(viewer.to_string(), "PortalImport");
    record.params.list("files", &names);
    record.results = Some((outcomes.len() - failed) as u64);
    record.outcome = if failed == 0 {
        Outcome::Ok
    } else {
        Outcome::Error(format!(
            "{failed} of {} file(s) not imported",
            outcomes.len()
        ))
    };
    node.audit().append(record).map_err(backend_error)?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_cannot_climb_out() {
        assert_eq!(safe_relative("terv.pdf"), Some(PathBuf::from("terv.pdf")));
        assert_eq!(
            safe_relative("2021\\Fejlesztési terv.docx"),
            Some(PathBuf::from("2021/Fejlesztési terv.docx"))
        );
        assert_eq!(
            safe_relative("/etc/passwd"),
            Some(PathBuf::from("etc/passwd"))
        );
        assert_eq!(safe_relative("../../x"), None);
        assert_eq!(safe_relative("a/../../x"), None);
        assert_eq!(safe_relative(""), None);
        assert_eq!(safe_relative("./"), None);
    }
}
