//! What the portal asks of the server it runs in: a [`Backend`], which the
//! hub implements over its federation (relaying on the viewer's behalf) and
//! a node over its own requests (policy and audit as for any caller).
//!
//! The portal never calls a member itself and never sees a certificate: it
//! names a [`Principal`] — the visitor's account's, or the public one — and
//! the backend asks as that principal, so that every node still decides
//! what leaves it and audits the request.

use std::time::Duration;

use async_trait::async_trait;
use tudashalo_proto::identity::Principal;
use tudashalo_proto::pb;

/// Why a backend could not answer; each maps to one HTTP status
/// ([`crate::error`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// The node (or every node asked) refused the viewer.
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    NotFound(String),
    /// The request broke a limit or was malformed; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// A member did not answer in time, or is down.
    #[error("{0}")]
    Unavailable(String),
    /// This server does not do that (e.g. uploads on a hub).
    #[error("this server does not offer {0}")]
    Unsupported(&'static str),
    #[error("{0}")]
    Internal(String),
}

/// A member of the federation, as the front page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    /// Its path (`edelenyi`, or `alfold/edelenyi` under a national hub).
    pub path: String,
    pub display_name: String,
    /// `ok`, `down`, `unknown`, …: the state the hub last saw.
    pub state: String,
    /// Why, when not `ok`.
    pub message: String,
    /// What it holds, as far as the viewer may see, when it answered.
    pub info: Option<pb::InfoResponse>,
}

/// The federation at a glance.
#[derive(Debug, Clone)]
pub struct Overview {
    /// This server's name and display name.
    pub name: String,
    pub display_name: String,
    /// `hub` or `node`.
    pub role: String,
    pub members: Vec<MemberView>,
    /// The indicators some member offers, by code, once each.
    pub indicators: Vec<pb::Indicator>,
}

/// An aggregate's whole answer: the cells, and a status for every member.
#[derive(Debug, Clone, Default)]
pub struct Aggregated {
    pub cells: Vec<pb::Cell>,
    pub members: Vec<pb::MemberStatus>,
}

/// An original file on its way to the browser: what it is (name, format,
/// size, SHA-256), and its bytes as the member sends them. The stream ends
/// early with an error if the member stops or sends more than it declared.
#[derive(Debug)]
pub struct Original {
    pub source: pb::DocumentSource,
    pub chunks: tokio::sync::mpsc::Receiver<Result<Vec<u8>, BackendError>>,
}

/// A file an operator uploaded, held in memory within the upload limit.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Its name as the browser sent it (a path inside a folder for folder
    /// uploads), checked by the backend.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What importing one uploaded file did, as the CLI reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    pub file: String,
    /// `imported`, `unchanged`, `failed` or `skipped`.
    pub state: String,
    /// What it became (`3 documents`, `1 250 observations`) or why not.
    pub message: String,
    /// Rejected rows, `file:line: reason`, at most a page of them.
    pub rejections: Vec<String>,
}

/// One entry of a node's audit log, as the operator's page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    pub seq: u64,
    pub time: String,
    pub principal: String,
    pub method: String,
    pub outcome: String,
    pub summary: String,
}

/// What a node's operator sees on its administration page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminView {
    /// Documents by visibility (`public`, `federated`, `local`).
    pub visibility: Vec<(String, u64)>,
    /// The newest audit entries, newest first.
    pub audit: Vec<AuditLine>,
    /// The whole chain verified: `Ok(entries checked)`, or what is broken
    /// and where.
    pub verified: Result<u64, String>,
}

/// How uploaded files are imported: the CLI's flags that make sense for a
/// form (metadata the files do not carry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadOptions {
    /// A document kind for files that do not say (`strategy`, …).
    pub kind: Option<String>,
    pub sectors: Vec<String>,
    pub year: Option<i32>,
    /// `public`, `federated` or `local`; the node's default when `None`.
    pub visibility: Option<String>,
    /// Reject a whole table file on its first bad row.
    pub strict: bool,
}

/// The federation as the portal sees it. Every method names the principal
/// the request is made for; the backend makes it as that principal.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// This server's name (`alfold`, `edelenyi`).
    fn name(&self) -> &str;

    /// Its display name, shown in every page's header.
    fn title(&self) -> &str;

    /// `hub` or `node`.
    fn role(&self) -> &'static str;

    /// The display name of member `path` (`edelenyi` → `Edelényi
    /// kistérség`), from configuration: no request is made.
    fn member_title(&self, _path: &str) -> Option<String> {
        None
    }

    /// Members and their state, and what each holds for `viewer`.
    async fn overview(&self, viewer: &Principal, timeout: Duration) -> Overview;

    async fn search(
        &self,
        viewer: &Principal,
        request: pb::SearchRequest,
        timeout: Duration,
    ) -> Result<pb::SearchResponse, BackendError>;

    /// The document `id` of member `member` (empty on a node).
    async fn document(
        &self,
        viewer: &Principal,
        member: &str,
        id: &str,
        timeout: Duration,
    ) -> Result<pb::GetDocumentResponse, BackendError>;

    /// The original file of document `id` of member `member`, under the
    /// same policy as the document.
    async fn original(
        &self,
        _viewer: &Principal,
        _member: &str,
        _id: &str,
        _timeout: Duration,
    ) -> Result<Original, BackendError> {
        Err(BackendError::Unsupported("original files"))
    }

    /// The register's organisations across the federation, merged by
    /// register number, and who cooperated with whom (the partner
    /// network page); the answer's member statuses say who did not answer.
    async fn network(
        &self,
        _viewer: &Principal,
        _request: pb::NetworkRequest,
        _timeout: Duration,
    ) -> Result<pb::NetworkResponse, BackendError> {
        Err(BackendError::Unsupported("the partner network"))
    }

    /// Published cells (never partials), at most `max_cells` of them: more
    /// is [`BackendError::Invalid`] naming the limit.
    async fn aggregate(
        &self,
        viewer: &Principal,
        request: pb::AggregateRequest,
        max_cells: usize,
        timeout: Duration,
    ) -> Result<Aggregated, BackendError>;

    /// Imports uploaded files (a node, for its operators).
    async fn import(
        &self,
        _viewer: &Principal,
        _files: Vec<Upload>,
        _options: UploadOptions,
    ) -> Result<Vec<FileOutcome>, BackendError> {
        Err(BackendError::Unsupported("uploads"))
    }

    /// Visibility counts, the newest `limit` audit entries and the
    /// chain's verification (a node, for its operators).
    async fn admin(&self, _viewer: &Principal, _limit: usize) -> Result<AdminView, BackendError> {
        Err(BackendError::Unsupported("administration"))
    }

    /// Records a login attempt where this server keeps its audit log (a
    /// node; a hub only logs it). `principal` is the account's, when the
    /// name exists; `outcome` is `ok`, `failed` or `throttled`.
    fn audit_login(
        &self,
        _user: &str,
        _principal: Option<&Principal>,
        _address: &str,
        _outcome: &str,
    ) {
    }

    /// Whether `viewer` administers this server (uploads, audit log).
    fn administers(&self, _viewer: &Principal) -> bool {
        false
    }
}
