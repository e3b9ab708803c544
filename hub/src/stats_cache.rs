//! Reusing round one: summed BM25 statistics, remembered per query and
//! requester, and trusted only while every member still reports the same
//! statistics version.
//!
//! Round one of a federated search costs every member one more call (TLS,
//! HTTP/2, a policy check, an audit entry) to learn numbers that only change
//! when a member's documents do. So the hub keeps the sums it made, with the
//! version each member reported for its part (`stats_version` in
//! `TermStatsResponse`). The next search with the same query for the same
//! requester over the same members skips round one and scores with the
//! remembered sums; every member reports its current version with its round
//! two answer (`SearchResponse.stats_version`), and if any differs the hub
//! drops the entry and runs both rounds again. Scores are therefore always
//! those of fresh statistics; a change costs one repeated search.
//!
//! With the sums go each member's match count and data version from the
//! same round one, which let a later search leave out the members that
//! hold no match ([`crate::asking`]).
//!
//! What is kept is term document frequencies, token and match counts: no
//! document, snippet or observation, and only in memory (invariant 1).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tudashalo_proto::pb;

use crate::asking::Known;
use crate::relay::Relay;

/// How many queries' statistics are kept; the oldest goes first.
const CAPACITY: usize = 1024;

/// What the statistics of one request depend on besides the members'
/// contents: the query, who asks (their view), and which members.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    query: String,
    on_behalf_of: Option<String>,
    via: Vec<String>,
    members: Vec<String>,
}

impl Key {
    pub fn new(request: &pb::SearchRequest, relay: &Relay) -> Key {
        let mut members = request.members.clone();
        members.sort();
        Key {
            query: request.query.clone(),
            on_behalf_of: relay.on_behalf_of.clone(),
            via: relay.via.clone(),
            members,
        }
    }
}

/// Summed statistics and what each member said in the round one they were
/// summed from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub stats: pb::CorpusStats,
    pub ignored: Vec<String>,
    /// Direct member name → its `stats_version`, `matches` and
    /// `data_version` ([`crate::asking`] decides whom to ask from them).
    pub members: HashMap<String, Known>,
}

#[derive(Debug, Default)]
pub struct StatsCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    order: VecDeque<Key>,
}

impl StatsCache {
    pub fn get(&self, key: &Key) -> Option<Entry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.get(key).cloned()
    }

    pub fn insert(&self, key: Key, entry: Entry) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.entries.insert(key.clone(), entry).is_none() {
            inner.order.push_back(key);
        }
        while inner.entries.len() > CAPACITY {
            match inner.order.pop_front() {
                Some(oldest) => {
                    inner.entries.remove(&oldest);
                }
                None => break,
            }
        }
    }

    pub fn remove(&self, key: &Key) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.entries.remove(key).is_some() {
            inner.order.retain(|k| k != key);
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One version for a set of member versions, as a hub reports its own:
/// 0 (do not reuse) when any member's is 0 or missing.
pub fn combine<'a>(versions: impl IntoIterator<Item = (&'a str, Option<u64>)>) -> u64 {
    let mut bytes = Vec::new();
    for (name, version) in versions {
        match version {
            Some(v) if v != 0 => {
                bytes.extend_from_slice(name.as_bytes());
                bytes.push(0);
                bytes.extend_from_slice(&v.to_be_bytes());
            }
            _ => return 0,
        }
    }
    tudashalo_core::search::fnv1a(&bytes).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str) -> Key {
        Key::new(
            &pb::SearchRequest {
                query: query.into(),
                ..Default::default()
            },
            &Relay::default(),
        )
    }

    fn entry(version: u64) -> Entry {
        Entry {
            stats: pb::CorpusStats::default(),
            ignored: Vec::new(),
            members: HashMap::from([(
                "a".to_string(),
                Known {
                    stats_version: version,
                    matches: None,
                    data_version: 0,
                },
            )]),
        }
    }

    #[test]
    fn keeps_at_most_capacity_entries_dropping_the_oldest() {
        let cache = StatsCache::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(key(&format!("q{i}")), entry(1));
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get(&key("q0")).is_none());
        assert!(cache.get(&key(&format!("q{}", CAPACITY + 9))).is_some());
        cache.remove(&key(&format!("q{}", CAPACITY + 9)));
        assert_eq!(cache.len(), CAPACITY - 1);
    }

    #[test]
    fn a_missing_or_zero_version_combines_to_zero() {
        assert_eq!(combine([("a", Some(1)), ("b", None)]), 0);
        assert_eq!(combine([("a", Some(1)), ("b", Some(0))]), 0);
        let one = combine([("a", Some(1)), ("b", Some(2))]);
        assert_ne!(one, 0);
        assert_ne!(one, combine([("a", Some(1)), ("b", Some(3))]));
        assert_eq!(one, combine([("a", Some(1)), ("b", Some(2))]));
    }
}
