//! The register on a node: storing a parsed register file (store first,
//! flushed, then the index), what the index derives from the register, and
//! what a caller gets of a record.
//!
//! The register joins the node's other data on their paths rather than
//! beside them: its records are searched in the same index as documents
//! (one ranking, one set of facets, the same hub rounds), read through
//! `GetDocument` by their keys (`development:<id>`), and its developments
//! become observations of derived indicators
//! ([`tudashalo_core::register::derived_observations`]) that aggregate,
//! merge and pass disclosure control like any other.

use super::Node;
use super::importing::{ImportOptions, ImportProgress};
use crate::error::{Error, Result};
use crate::import::Rejection;
use crate::store::{Counts, Register, RegisterRecords};
use tudashalo_core::model::Visibility;
use tudashalo_core::register::{Entity, Searchable};
use tudashalo_core::search::Audience;

impl Node {
    /// Stores one parsed register file as one unit and re-indexes the
    /// register if its searchable part changed. `--strict` refuses a file
    /// with any rejection (references included) before anything is written.
    pub(crate) fn store_register(
        &self,
        label: &str,
        options: &ImportOptions,
        records: RegisterRecords,
        rejected: Vec<Rejection>,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<(Counts, Vec<Rejection>)> {
        self.check_strict(label, options, &rejected)?;
        progress(ImportProgress::Total(records.len() as u64));
        let upsert = self.store.upsert_register(&records)?;
        let changed = upsert.counts.added + upsert.counts.updated > 0;
        if changed && records.searchable() {
            self.index
                .replace_register(self.register_searchables()?, upsert.generation)?;
        }
        progress(ImportProgress::Done(records.len() as u64));
        Ok((upsert.counts, rejected))
    }

    /// What the index holds of the register.
    pub(crate) fn register_searchables(&self) -> Result<Vec<Searchable>> {
        Ok(searchables(&self.store.register()?))
    }

    /// Everything the index holds, documents first, for a rebuild.
    pub(crate) fn all_searchables(&self) -> Result<impl Iterator<Item = Result<Searchable>> + '_> {
        let register = self.register_searchables()?;
        Ok(self
            .store
            .documents()
            .map(|d| d.map(|d| Searchable::of_document(&d)))
            .chain(register.into_iter().map(Ok)))
    }

    /// The text of a hit, for its snippet: a document's body, or the text
    /// the index derived from a register record.
    pub(crate) fn body_of(
        &self,
        key: &str,
        register: &std::cell::OnceCell<Option<Register>>,
    ) -> Option<String> {
        match Entity::of_key(key).0 {
            Entity::Document => self.store.document(key).ok().flatten().map(|d| d.body),
            _ => {
                let register = register
                    .get_or_init(|| self.store.register().ok())
                    .as_ref()?;
                searchables(register)
                    .into_iter()
                    .find(|s| s.key == key)
                    .map(|s| s.body)
            }
        }
    }

    /// The contact persons of an organisation: personal data, for the
    /// operator's own command line only (nothing that answers a caller
    /// reads them).
    pub fn contacts_of(
        &self,
        organisation: &str,
    ) -> Result<Vec<tudashalo_core::register::Contact>> {
        self.store.contacts_of(organisation)
    }

    /// The whole register, for callers that check what `audience` sees.
    pub fn register(&self) -> Result<Register> {
        self.store.register()
    }

    /// The network view of this node's register as `audience` sees it:
    /// its organisations with what each takes part in, and who cooperated
    /// with whom.
    pub fn network(
        &self,
        request: &tudashalo_proto::pb::NetworkRequest,
        audience: Audience,
    ) -> Result<tudashalo_proto::pb::NetworkResponse> {
        use tudashalo_core::network;
        network::check_request(request)?;
        let register = self.store.register()?;
        let visible = |v: Visibility| audience.sees(v.code());
        let organisations = network::node_answer(
            &register.organisations,
            &register.developments,
            &register.groups,
            &visible,
        );
        Ok(network::answer(
            organisations,
            request,
            network::MAX_NETWORK_ORGANISATIONS,
        ))
    }

    /// What `GetDocument` answers for `id`: a document, or the register
    /// record its key names, as `audience` may see it.
    pub fn get_response(
        &self,
        id: &str,
        audience: Audience,
    ) -> Result<tudashalo_proto::pb::GetDocumentResponse> {
        match Entity::of_key(id).0 {
            Entity::Document => Ok(tudashalo_proto::pb::GetDocumentResponse {
                document: Some(self.get(id, audience)?.into()),
                ..Default::default()
            }),
            _ => self.get_record(id, audience),
        }
    }

    /// A register record by key as `audience` may see it, or not found
    /// (its existence does not leak, as for documents).
    pub fn get_record(
        &self,
        key: &str,
        audience: Audience,
    ) -> Result<tudashalo_proto::pb::GetDocumentResponse> {
        use tudashalo_core::register_pb;
        let register = self.store.register()?;
        let visible = |v: Visibility| audience.sees(v.code());
        let document_visible = |id: &str| {
            self.store
                .document(id)
                .ok()
                .flatten()
                .is_some_and(|d| visible(d.visibility))
        };
        let name_of = |id: &str| {
            register
                .organisation(id)
                .filter(|o| visible(o.visibility))
                .map(|o| o.name.clone())
        };
        let not_found = || Error::NotFound(key.to_string());
        let (entity, id) = Entity::of_key(key);
        let mut response = tudashalo_proto::pb::GetDocumentResponse::default();
        match entity {
            Entity::Development => {
                let d = register
                    .developments
                    .iter()
                    .find(|d| d.id == id && visible(d.visibility))
                    .ok_or_else(not_found)?;
                response.development = Some(register_pb::development(
                    d,
                    &register.indicators_of(&d.id),
                    &name_of,
                    &document_visible,
                ));
            }
            Entity::Organisation => {
                let o = register
                    .organisation(id)
                    .filter(|o| visible(o.visibility))
                    .ok_or_else(not_found)?;
                let participations = register_pb::participations(
                    &o.id,
                    &register.developments,
                    &register.groups,
                    &visible,
                );
                response.organisation = Some(register_pb::organisation(o, participations));
            }
            Entity::Group => {
                let g = register
                    .groups
                    .iter()
                    .find(|g| g.id == id && visible(g.visibility))
                    .ok_or_else(not_found)?;
                response.group = Some(register_pb::group(g, &name_of, &document_visible));
            }
            Entity::Document => return Err(not_found()),
        }
        Ok(response)
    }
}

/// The register's searchable records: organisations, developments (their
/// text names their partners) and groups. A record's text names only
/// partners at least as visible as the record itself, so that a federated
/// development's snippet never carries the name of a `local` organisation.
fn searchables(register: &Register) -> Vec<Searchable> {
    let names_within = |record: Visibility| {
        move |id: &str| {
            register
                .organisation(id)
                .filter(|o| o.visibility.code() <= record.code())
                .map(|o| o.name.clone())
        }
    };
    let mut out: Vec<Searchable> = register
        .organisations
        .iter()
        .map(Searchable::of_organisation)
        .collect();
    out.extend(
        register
            .developments
            .iter()
            .map(|d| Searchable::of_development(d, &names_within(d.visibility))),
    );
    out.extend(
        register
            .groups
            .iter()
            .map(|g| Searchable::of_group(g, &names_within(g.visibility))),
    );
    out
}
