//! `/doc/{member}/{id}`: one document — its metadata, its source file, its
//! full text — as the member lets the viewer see it.

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
    let document = answer
        .document
        .ok_or_else(|| PortalError::NotFound(format!("{member}: no document {id}")))?;
    let title = if document.title.is_empty() {
        document.id.clone()
    } else {
        document.title.clone()
    };
    let member_title = state
        .backend()
        .member_title(&member)
        .unwrap_or_else(|| member.clone());
    let body = render(&member, &member_title, &document);
    Ok(layout::page(
        &state,
        &viewer,
        &title,
        Nav::Search,
        html! {
            nav aria-label="Morzsamenü" class="meta" {
                a href="/search" { "Keresés" } " › " a href=(format!("/members/{}", encode(&member))) { (member) }
            }
            (body)
        },
    ))
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
