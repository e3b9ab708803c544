//! `/doc/{member}/{id}`: one document — its metadata, its source file, its
//! full text — as the member lets the viewer see it; or, for a register
//! key (`development:…`, `organisation:…`, `group:…`), the record's page
//! ([`crate::pages::register`]), by the variant the answer carries.

use axum::extract::{Path, State};
use maud::{Markup, html};
use tudashalo_proto::pb;

use crate::app::{PortalState, Viewer};
use crate::error::PortalError;
use crate::format;
use crate::pages::labels;
use crate::pages::layout::{self, Nav};
use crate::pages::search::{SearchParams, encode};

/// Longest member path or id accepted, in bytes (the federation's own
/// limits are tighter; this keeps a hostile URL from travelling further).
pub const MAX_ID_BYTES: usize = 1_024;

/// Checks a document's member path and id from the URL.
pub fn check_ids(member: &str, id: &str) -> Result<(), PortalError> {
    for (name, value) in [("member", member), ("id", id)] {
        if value.is_empty() || value.len() > MAX_ID_BYTES || value.chars().any(char::is_control) {
            return Err(PortalError::BadRequest(format!(
                "{name}: not a document {name} (1 to {MAX_ID_BYTES} bytes, no control characters)"
            )));
        }
    }
    Ok(())
}

/// The link to a document's original file: `/original/{member}/{id}`.
pub fn original_href(member: &str, id: &str) -> String {
    crate::pages::search::doc_href(member, id).replacen("/doc/", "/original/", 1)
}

/// The Content-Type of an original, by the format the node recorded.
fn content_type(format: &str) -> &'static str {
    match format.to_ascii_lowercase().as_str() {
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" => "application/vnd.oasis.opendocument.text",
        "rtf" => "application/rtf",
        "html" => "text/html; charset=utf-8",
        "txt" | "md" | "text" => "text/plain; charset=utf-8",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        _ => "application/octet-stream",
    }
}

/// `GET /original/{member}/{id}`: the file the document was imported
/// from, streamed as the member sends it (the portal keeps none of it),
/// always as a download (an HTML original is never rendered in the
/// portal's origin), with its length so that a cut-off is visible.
pub async fn original(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path((member, id)): Path<(String, String)>,
) -> Result<axum::response::Response, PortalError> {
    use axum::http::{HeaderValue, header};
    check_ids(&member, &id)?;
    let original = state
        .backend()
        .original(&viewer.principal, &member, &id, state.timeout())
        .await?;
    let name = original
        .source
        .file
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("original")
        .to_string();
    let stream = tokio_stream::wrappers::ReceiverStream::new(original.chunks);
    let mut response = axum::response::Response::new(axum::body::Body::from_stream(stream));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&original.source.format)),
    );
    if let Ok(length) = HeaderValue::from_str(&original.source.bytes.to_string()) {
        h.insert(header::CONTENT_LENGTH, length);
    }
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::pages::search::encode(&name)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /doc/{member}/{id}`.
pub async fn page(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path((member, id)): Path<(String, String)>,
) -> Result<Markup, PortalError> {
    check_ids(&member, &id)?;
    let answer = state
        .backend()
        .document(&viewer.principal, &member, &id, state.timeout())
        .await?;
    let member_title = state
        .backend()
        .member_title(&member)
        .unwrap_or_else(|| member.clone());
    if let Some((title, body)) = crate::pages::register::record(&member, &member_title, &answer) {
        return Ok(layout::page(
            &state,
            &viewer,
            &title,
            Nav::Search,
            html! {
                (breadcrumb(&member, &member_title))
                (body)
            },
        ));
    }
    let document = answer
        .document
        .ok_or_else(|| PortalError::NotFound(format!("{member}: no document {id}")))?;
    let title = if document.title.is_empty() {
        document.id.clone()
    } else {
        document.title.clone()
    };
    let body = render(&member, &member_title, &document);
    let download = document
        .source
        .as_ref()
        .map(|_| original_href(&member, &document.id));
    Ok(layout::page(
        &state,
        &viewer,
        &title,
        Nav::Search,
        html! {
            (breadcrumb(&member, &member_title))
            (body)
            @if let Some(href) = download {
                p class="downloads" { a href=(href) download { "Az eredeti fájl letöltése" } }
            }
        },
    ))
}

/// Where a record page sits: the search, then its kistérség.
fn breadcrumb(member: &str, member_title: &str) -> Markup {
    html! {
        nav aria-label="Morzsamenü" class="meta" {
            a href="/search" { "Keresés" } " › " a href=(format!("/members/{}", encode(member))) { (member_title) }
        }
    }
}

fn render(member: &str, member_title: &str, d: &pb::Document) -> Markup {
    let link = |facet: &str, value: &str| {
        SearchParams {
            page: 1,
            ..SearchParams::default()
        }
        .toggled(facet, value)
        .href()
    };
    html! {
        article class="document" {
            h1 { (if d.title.is_empty() { &d.id } else { &d.title }) }
            dl class="props" {
                dt { "Kistérség" } dd { a href=(format!("/members/{}", encode(member))) { (member_title) } }
                dt { "Típus" } dd { a href=(link("kind", &d.kind)) { (labels::kind(&d.kind)) } }
                @if let Some(year) = d.year { dt { "Év" } dd { (year) } }
                @if !d.org.is_empty() { dt { "Szervezet" } dd { (d.org) } }
                @if !d.sectors.is_empty() {
                    dt { "Ágazat" } dd { @for (i, s) in d.sectors.iter().enumerate() {
                        @if i > 0 { ", " } a href=(link("sector", s)) { (s) } } }
                }
                @if !d.settlements.is_empty() {
                    dt { "Település" } dd { @for (i, s) in d.settlements.iter().enumerate() {
                        @if i > 0 { ", " } a href=(link("settlement", s)) { (s) } } }
                }
                @if !d.tags.is_empty() { dt { "Címkék" } dd { (d.tags.join(", ")) } }
                dt { "Láthatóság" } dd { (labels::visibility(&d.visibility)) }
                @if let Some(source) = &d.source {
                    dt { "Forrásfájl" }
                    dd class="source" {
                        (source.file) " – " (source.format)
                        @if let Some(pages) = source.pages { ", " (format::integer(i64::from(pages))) " oldal" }
                        ", " (tudashalo_core::model::human_bytes(source.bytes))
                    }
                }
                @if !d.url.is_empty() && (d.url.starts_with("https://") || d.url.starts_with("http://")) {
                    dt { "Eredeti hely" } dd { a href=(d.url) rel="noopener noreferrer nofollow" { (d.url) } }
                }
                dt { "Azonosító" } dd { code { (d.id) } }
            }
            h2 { "Szöveg" }
            div class="body-text" { (d.body) }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hostile_urls_and_scripts_are_neutralised() {
        let d = pb::Document {
            id: "x".into(),
            title: "<script>alert(1)</script>".into(),
            body: "a < b".into(),
            url: "javascript:alert(1)".into(),
            ..pb::Document::default()
        };
        let html = render("edelenyi", "Edelényi kistérség", &d).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("a &lt; b"));
        assert!(check_ids("edelenyi", "a\u{0}b").is_err());
        assert!(check_ids("", "a").is_err());
    }
}
