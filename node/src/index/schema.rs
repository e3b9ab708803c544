//! The index's schema: its fields (text fields per analyser, keyword and
//! fast columns for filters, facets and ties), the small stored part a hit
//! shows, the vocabulary that spelling suggestions come from, and the
//! translation of a [`Searchable`] (a document or a register record) into an
//! index document.

use serde::{Deserialize, Serialize};
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::SearchIndex;
use crate::analysis;
use tudashalo_core::register::Searchable;
use tudashalo_core::search::tie_of;

#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub(super) id: Field,
    pub(super) tie: Field,
    pub(super) meta: Field,
    pub(super) title_hu: Field,
    pub(super) title_ascii: Field,
    pub(super) body_hu: Field,
    pub(super) body_ascii: Field,
    pub(super) kind: Field,
    pub(super) sector: Field,
    pub(super) settlement: Field,
    pub(super) year: Field,
    pub(super) visibility: Field,
    /// What the record is (`document`, `development`, …), and a
    /// development's programme, status, target groups and support (Ft).
    pub(super) entity: Field,
    pub(super) programme: Field,
    pub(super) status: Field,
    pub(super) target_group: Field,
    pub(super) amount: Field,
    /// Each distinct word of a document's title and body, once, as
    /// `folded\0lowercase` (see [`vocabulary_term`]); never searched, only
    /// walked by the spelling suggester (`suggest`).
    pub(super) vocabulary: Field,
}

/// The vocabulary term of a lowercase word (the analysers' definition).
pub(super) use crate::analysis::vocabulary_term;

/// The small, stored part of a document that a hit shows.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct HitMeta {
    pub(super) title: String,
    pub(super) kind: String,
    pub(super) year: Option<i32>,
    pub(super) settlements: Vec<String>,
    pub(super) sectors: Vec<String>,
    /// Where the document came from (file, format, pages), for hits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) source: Option<tudashalo_core::model::Source>,
}

pub(super) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    // Filters match the folded form; facets count the value as written,
    // from a fast column of its ordinals.
    let keyword = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analysis::KEYWORD)
                .set_index_option(IndexRecordOption::Basic),
        )
        .set_fast("raw");
    let exact = STRING.set_fast("raw");
    let fields = Fields {
        // Fast too: a ranking-only hit reads its id from the column
        // instead of the document store.
        id: b.add_text_field("id", (STRING | STORED).set_fast("raw")),
        tie: b.add_u64_field("tie", FAST),
        meta: b.add_bytes_field("meta", STORED),
        title_hu: b.add_text_field("title_hu", text(analysis::HU_STEM)),
        title_ascii: b.add_text_field("title_ascii", text(analysis::HU_ASCII)),
        body_hu: b.add_text_field("body_hu", text(analysis::HU_STEM)),
        body_ascii: b.add_text_field("body_ascii", text(analysis::HU_ASCII)),
        kind: b.add_text_field("kind", exact.clone()),
        sector: b.add_text_field("sector", keyword.clone()),
        settlement: b.add_text_field("settlement", keyword),
        year: b.add_i64_field("year", INDEXED | FAST),
        visibility: b.add_u64_field("visibility", INDEXED | FAST),
        entity: b.add_text_field("entity", exact.clone()),
        programme: b.add_text_field("programme", exact.clone()),
        status: b.add_text_field("status", exact.clone()),
        target_group: b.add_text_field("target_group", exact.clone()),
        amount: b.add_u64_field("amount", INDEXED | FAST),
        // Each word as a vocabulary term (`analysis::vocabulary`), documents
        // only: the suggester needs which documents hold a word, never where
        // or how often. Cut and folded in the indexing threads, like every
        // other text field.
        vocabulary: b.add_text_field(
            "vocabulary",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analysis::VOCABULARY)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
    };
    (b.build(), fields)
}

impl SearchIndex {
    pub(super) fn to_index_doc(&self, d: &Searchable) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &d.key);
        doc.add_u64(f.tie, tie_of(&d.key));
        let meta = HitMeta {
            title: d.title.clone(),
            kind: d.kind.clone(),
            year: d.year,
            settlements: d.settlements.clone(),
            sectors: d.sectors.clone(),
            source: d.source.clone(),
        };
        // Serialising a struct of strings and numbers cannot fail.
        doc.add_bytes(
            f.meta,
            serde_json::to_vec(&meta).unwrap_or_default().as_slice(),
        );
        doc.add_text(f.title_hu, &d.title);
        doc.add_text(f.title_ascii, &d.title);
        doc.add_text(f.body_hu, &d.body);
        doc.add_text(f.body_ascii, &d.body);
        doc.add_text(f.kind, &d.kind);
        doc.add_text(f.entity, d.entity.as_str());
        if let Some(p) = d.programme {
            doc.add_text(f.programme, p.as_str());
        }
        if let Some(s) = &d.status {
            doc.add_text(f.status, s);
        }
        for t in &d.target_groups {
            doc.add_text(f.target_group, t.as_str());
        }
        if let Some(amount) = d.amount {
            doc.add_u64(f.amount, amount);
        }
        for s in &d.sectors {
            doc.add_text(f.sector, s);
        }
        for s in &d.settlements {
            doc.add_text(f.settlement, s);
        }
        if let Some(year) = d.year {
            doc.add_i64(f.year, i64::from(year));
        }
        doc.add_u64(f.visibility, d.visibility.code());
        doc.add_text(f.vocabulary, &d.title);
        doc.add_text(f.vocabulary, &d.body);
        doc
    }
}
