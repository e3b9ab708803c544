//! The register's trees in the store: organisations, contacts,
//! developments, project indicators and working groups, each JSON keyed by
//! its id (contacts and project indicators by their compound key).
//!
//! A register file is small (a kistérség has hundreds of partners and tens
//! of developments, not millions), so it lands as one sled transaction over
//! its tree and `meta`, which also bumps the document generation: the
//! register is searchable, so the index must learn of every change, and an
//! index whose generation is behind the store's is rebuilt at start, with
//! the register in it. A change also bumps the observations version, since
//! aggregates derive indicators from developments.
//!
//! Contacts live in their own tree and are read only by the node's own
//! command line: nothing that answers a caller reads that tree.

use std::sync::atomic::Ordering;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::{Counts, GENERATION, Store, decode, encode, transaction_error, u64_of};
use crate::error::Result;
use tudashalo_core::register::{
    Contact, Development, Organisation, ProjectIndicator, WorkingGroup,
};

/// One parsed register file: a single entity type.
#[derive(Debug, Clone, PartialEq)]
pub enum RegisterRecords {
    Organisations(Vec<Organisation>),
    Contacts(Vec<Contact>),
    Developments(Vec<Development>),
    Indicators(Vec<ProjectIndicator>),
    Groups(Vec<WorkingGroup>),
}

impl RegisterRecords {
    /// What a report calls the file: `organisations`, `contacts`, …
    pub fn kind(&self) -> &'static str {
        match self {
            RegisterRecords::Organisations(_) => "organisations",
            RegisterRecords::Contacts(_) => "contacts",
            RegisterRecords::Developments(_) => "developments",
            RegisterRecords::Indicators(_) => "project_indicators",
            RegisterRecords::Groups(_) => "groups",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            RegisterRecords::Organisations(v) => v.len(),
            RegisterRecords::Contacts(v) => v.len(),
            RegisterRecords::Developments(v) => v.len(),
            RegisterRecords::Indicators(v) => v.len(),
            RegisterRecords::Groups(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the search index holds records of this kind (contacts and
    /// project indicators are not searched).
    pub fn searchable(&self) -> bool {
        matches!(
            self,
            RegisterRecords::Organisations(_)
                | RegisterRecords::Developments(_)
                | RegisterRecords::Groups(_)
        )
    }

    fn tree(&self) -> &'static str {
        match self {
            RegisterRecords::Organisations(_) => ORGANISATIONS,
            RegisterRecords::Contacts(_) => CONTACTS,
            RegisterRecords::Developments(_) => DEVELOPMENTS,
            RegisterRecords::Indicators(_) => INDICATORS,
            RegisterRecords::Groups(_) => GROUPS,
        }
    }

    fn encoded(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        fn each<T: Serialize>(
            v: &[T],
            key: impl Fn(&T) -> String,
        ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
            v.iter()
                .map(|r| Ok((key(r).into_bytes(), encode(r)?)))
                .collect()
        }
        match self {
            RegisterRecords::Organisations(v) => each(v, |r| r.id.clone()),
            RegisterRecords::Contacts(v) => each(v, Contact::key),
            RegisterRecords::Developments(v) => each(v, |r| r.id.clone()),
            RegisterRecords::Indicators(v) => each(v, ProjectIndicator::key),
            RegisterRecords::Groups(v) => each(v, |r| r.id.clone()),
        }
    }
}

const ORGANISATIONS: &str = "reg_organisations";
const CONTACTS: &str = "reg_contacts";
const DEVELOPMENTS: &str = "reg_developments";
const INDICATORS: &str = "reg_indicators";
const GROUPS: &str = "reg_groups";

/// What upserting a register file did.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegisterUpsert {
    pub counts: Counts,
    /// The document generation after it (bumped if anything changed).
    pub generation: u64,
}

/// Every record of the register, read at once (it is small).
#[derive(Debug, Clone, Default)]
pub struct Register {
    pub organisations: Vec<Organisation>,
    pub developments: Vec<Development>,
    pub indicators: Vec<ProjectIndicator>,
    pub groups: Vec<WorkingGroup>,
}

impl Register {
    pub fn organisation(&self, id: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.id == id)
    }

    /// An organisation's name by id, for texts and answers.
    pub fn name_of(&self, id: &str) -> Option<String> {
        self.organisation(id).map(|o| o.name.clone())
    }

    pub fn indicators_of(&self, development: &str) -> Vec<ProjectIndicator> {
        self.indicators
            .iter()
            .filter(|i| i.development == development)
            .cloned()
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.organisations.is_empty() && self.developments.is_empty() && self.groups.is_empty()
    }
}

impl Store {
    /// Upserts one register file as one unit with the generation bump,
    /// flushed before returning.
    pub fn upsert_register(&self, records: &RegisterRecords) -> Result<RegisterUpsert> {
        let tree = self.db.open_tree(records.tree())?;
        let encoded = records.encoded()?;
        let mut counts = Counts::default();
        let mut changed = Vec::new();
        for (key, value) in encoded {
            match tree.get(&key)? {
                Some(old) if old.as_ref() == value.as_slice() => counts.unchanged += 1,
                Some(_) => {
                    counts.updated += 1;
                    changed.push((key, value));
                }
                None => {
                    counts.added += 1;
                    changed.push((key, value));
                }
            }
        }
        if changed.is_empty() {
            return Ok(RegisterUpsert {
                counts,
                generation: self.generation()?,
            });
        }
        let searchable = records.searchable();
        let _write = self.writing();
        let generation = (&tree, &self.meta)
            .transaction(|(tree, meta)| {
                for (key, value) in &changed {
                    tree.insert(key.as_slice(), value.as_slice())?;
                }
                let current = meta.get(GENERATION)?.map_or(0, |v| u64_of(&v));
                let next = if searchable { current + 1 } else { current };
                meta.insert(GENERATION, &next.to_be_bytes())?;
                Ok::<u64, ConflictableTransactionError<()>>(next)
            })
            .map_err(transaction_error)?;
        self.db.flush()?;
        self.observations_version.fetch_add(1, Ordering::AcqRel);
        Ok(RegisterUpsert { counts, generation })
    }

    /// The whole register (contacts excepted).
    pub fn register(&self) -> Result<Register> {
        Ok(Register {
            organisations: self.all(ORGANISATIONS, "organisation")?,
            developments: self.all(DEVELOPMENTS, "development")?,
            indicators: self.all(INDICATORS, "project indicator")?,
            groups: self.all(GROUPS, "working group")?,
        })
    }

    /// Whether the register holds a record with this id.
    pub fn organisation_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .db
            .open_tree(ORGANISATIONS)?
            .contains_key(id.as_bytes())?)
    }

    pub fn development_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .db
            .open_tree(DEVELOPMENTS)?
            .contains_key(id.as_bytes())?)
    }

    pub fn document_exists(&self, id: &str) -> Result<bool> {
        Ok(self.docs.contains_key(id.as_bytes())?)
    }

    /// The contact persons of an organisation: for the operator's command
    /// line only.
    pub fn contacts_of(&self, organisation: &str) -> Result<Vec<Contact>> {
        let tree = self.db.open_tree(CONTACTS)?;
        let mut prefix = organisation.as_bytes().to_vec();
        prefix.push(0x1f);
        tree.scan_prefix(prefix)
            .values()
            .map(|v| decode(&v?, "contact"))
            .collect()
    }

    /// How many records each register tree holds: organisations, contacts,
    /// developments, project indicators, groups.
    pub fn register_counts(&self) -> Result<[usize; 5]> {
        let mut out = [0; 5];
        for (slot, name) in
            out.iter_mut()
                .zip([ORGANISATIONS, CONTACTS, DEVELOPMENTS, INDICATORS, GROUPS])
        {
            *slot = self.db.open_tree(name)?.len();
        }
        Ok(out)
    }

    fn all<T: DeserializeOwned>(&self, tree: &str, what: &str) -> Result<Vec<T>> {
        self.db
            .open_tree(tree)?
            .iter()
            .values()
            .map(|v| decode(&v?, what))
            .collect()
    }
}
