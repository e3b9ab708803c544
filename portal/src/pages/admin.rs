//! `/admin`: a node's own operators (those its policy gives `admin`) upload
//! files to import — every format the importer takes — and get the same
//! per-file report as the CLI; see documents by visibility at a glance;
//! and read the newest audit entries with the chain verified.
//!
//! Who may is decided before the body is read: an anonymous POST of the
//! largest upload costs the server nothing.

use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use maud::{Markup, html};

use crate::app::{PortalState, Viewer};
use crate::backend::{AdminView, FileOutcome, Upload, UploadOptions};
use crate::error::PortalError;
use crate::format;
use crate::pages::labels;
use crate::pages::layout::{self, Nav};
use crate::pages::login::same_origin;

/// Most files in one upload.
pub const MAX_FILES: usize = 1_000;
/// Audit entries shown.
pub const AUDIT_SHOWN: usize = 50;

const KINDS: [&str; 10] = [
    "strategy",
    "concept",
    "project_plan",
    "project",
    "study",
    "evaluation",
    "best_practice",
    "report",
    "minutes",
    "other",
];

fn require_admin(viewer: &Viewer) -> Result<(), PortalError> {
    if viewer.admin {
        Ok(())
    } else if viewer.session.is_none() {
        Err(PortalError::Forbidden(
            "log in as an operator of this node to manage it".into(),
        ))
    } else {
        Err(PortalError::Forbidden(format!(
            "{} does not administer this server",
            viewer.principal
        )))
    }
}

/// `GET /admin`.
pub async fn page(State(state): State<PortalState>, viewer: Viewer) -> Result<Markup, PortalError> {
    require_admin(&viewer)?;
    let view = state
        .backend()
        .admin(&viewer.principal, AUDIT_SHOWN)
        .await?;
    Ok(render(&state, &viewer, &view, None))
}

fn upload_form(state: &PortalState, viewer: &Viewer) -> Markup {
    html! {
        form method="post" action="/admin/upload" enctype="multipart/form-data" class="login" {
            input type="hidden" name="csrf" value=(viewer.csrf(state).unwrap_or_default());
            label for="files" { "Fájlok (PDF, DOCX, ODT, HTML, RTF, TXT, Markdown, JSON Lines, CSV, XLSX, XLS, ODS)" }
            input id="files" name="files" type="file" multiple required;
            label for="kind" { "Típus, ha a fájl nem mondja meg" }
            select id="kind" name="kind" {
                option value="" { "(a fájlból)" }
                @for k in KINDS { option value=(k) { (labels::kind(k)) } }
            }
            label for="sector" { "Ágazat(ok), vesszővel elválasztva" }
            input id="sector" name="sector" type="text" maxlength="256";
            label for="year" { "Év" }
            input id="year" name="year" type="number" min="1000" max="9999";
            label for="visibility" { "Láthatóság" }
            select id="visibility" name="visibility" {
                option value="" { "(a csomópont alapértelmezése)" }
                @for v in ["public", "federated", "local"] { option value=(v) { (labels::visibility(v)) } }
            }
            label { input type="checkbox" name="strict" value="1"; " Szigorú: egy hibás sor az egész táblát elutasítja" }
            button type="submit" { "Importálás" }
        }
    }
}

fn render(
    state: &PortalState,
    viewer: &Viewer,
    view: &AdminView,
    report: Option<&[FileOutcome]>,
) -> Markup {
    let body = html! {
        h1 { "Kezelés" }
        @if let Some(report) = report { (report_table(report)) }
        h2 { "Feltöltés" }
        (upload_form(state, viewer))
        h2 { "Dokumentumok láthatóság szerint" }
        table class="visibility" {
            thead { tr { th scope="col" { "Láthatóság" } th scope="col" class="num" { "Dokumentum" } } }
            tbody { @for (v, n) in &view.visibility {
                tr data-visibility=(v) { th scope="row" { (labels::visibility(v)) } td class="num" { (format::integer(*n as i64)) } }
            } }
        }
        h2 { "Naplózás" }
        @match &view.verified {
            Ok(n) => p class="state-ok" id="audit-verified" { "A napló lánca ép: " (format::integer(*n as i64)) " bejegyzés ellenőrizve." },
            Err(e) => p class="error" role="alert" id="audit-verified" { "A napló lánca sérült: " (e) },
        }
        div class="scroll" {
            table class="audit" {
                caption { "A legutóbbi " (view.audit.len()) " kérés" }
                thead { tr { th scope="col" class="num" { "Sorszám" } th scope="col" { "Idő" } th scope="col" { "Kérő" } th scope="col" { "Kérés" } th scope="col" { "Eredmény" } th scope="col" { "Részletek" } } }
                tbody { @for e in &view.audit {
                    tr { td class="num" { (e.seq) } td { (format::datetime_rfc3339(&e.time).unwrap_or_else(|| e.time.clone())) }
                         td { (e.principal) } td { (e.method) } td { (e.outcome) } td { (e.summary) } }
                } }
            }
        }
    };
    layout::page(state, viewer, "Kezelés", Nav::Admin, body)
}

fn report_table(report: &[FileOutcome]) -> Markup {
    let failed = report.iter().filter(|f| f.state == "failed").count();
    html! {
        section aria-labelledby="report" class="report" role="status" {
            h2 id="report" { "Importálás eredménye" }
            p { (report.len()) " fájl, ebből " (report.len() - failed) " rendben, " (failed) " hibás." }
            div class="scroll" {
                table {
                    thead { tr { th scope="col" { "Fájl" } th scope="col" { "Eredmény" } th scope="col" { "Részletek" } } }
                    tbody { @for f in report {
                        tr data-state=(f.state) {
                            th scope="row" { (f.file) }
                            td class=(format!("state-{}", f.state)) { (state_label(&f.state)) }
                            td { (f.message)
                                @if !f.rejections.is_empty() { ul { @for r in &f.rejections { li { code { (r) } } } } } }
                        }
                    } }
                }
            }
        }
    }
}

fn state_label(state: &str) -> &'static str {
    match state {
        "imported" => "importálva",
        "unchanged" => "változatlan",
        "failed" => "hibás",
        "skipped" => "kihagyva",
        _ => "ismeretlen",
    }
}

/// `POST /admin/upload` (multipart: `csrf`, `files`…, the options).
pub async fn upload(
    State(state): State<PortalState>,
    viewer: Viewer,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Markup, PortalError> {
    // Before a byte of the body is read.
    require_admin(&viewer)?;
    same_origin(&headers)?;
    let mut files = Vec::new();
    let mut options = UploadOptions::default();
    let mut csrf = None;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        PortalError::TooLarge(format!(
            "the upload could not be read ({e}); at most {} MiB in one upload (portal.max_upload_mb)",
            state.config().max_upload_bytes / (1024 * 1024)
        ))
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "files" {
            let file = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(too_large)?;
            if file.is_empty() && bytes.is_empty() {
                continue;
            }
            if files.len() >= MAX_FILES {
                return Err(PortalError::TooLarge(format!(
                    "more than {MAX_FILES} files in one upload (MAX_FILES)"
                )));
            }
            files.push(Upload {
                name: file,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = field.text().await.map_err(too_large)?;
        if text.len() > 1024 {
            return Err(PortalError::BadRequest(format!(
                "field {name}: longer than 1024 bytes"
            )));
        }
        let text = text.trim().to_string();
        match name.as_str() {
            "csrf" => csrf = Some(text),
            "kind" if !text.is_empty() => options.kind = Some(text),
            "sector" => {
                options.sectors = text
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
            }
            "year" if !text.is_empty() => {
                options.year = Some(text.parse().map_err(|_| {
                    PortalError::BadRequest(format!("field year: {text:?} is not a year"))
                })?);
            }
            "visibility" if !text.is_empty() => options.visibility = Some(text),
            "strict" => options.strict = !text.is_empty(),
            _ => {}
        }
    }
    viewer.check_csrf(&state, csrf.as_deref().unwrap_or(""))?;
    if files.is_empty() {
        return Err(PortalError::BadRequest("no file was uploaded".into()));
    }
    let user = viewer.user().unwrap_or("?").to_string();
    tracing::info!(user = %user, files = files.len(), "portal upload");
    let report = state
        .backend()
        .import(&viewer.principal, files, options)
        .await?;
    let view = state
        .backend()
        .admin(&viewer.principal, AUDIT_SHOWN)
        .await?;
    Ok(render(&state, &viewer, &view, Some(&report)))
}
