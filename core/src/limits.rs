//! Bounds on what one request may ask for: every caller may be hostile.
//!
//! A request is checked against these limits before any of it is parsed,
//! analysed or fanned out. The query text in particular is measured (length
//! in characters, nesting depth of parentheses, number of words) before it
//! reaches tantivy's query parser, which recurses once per nested group: a
//! query of 100,000 `(` used to overflow the stack of the search thread and
//! abort the whole process, which no `catch_unwind` can stop.
//!
//! Node and hub apply the same limits (`[limits]` in `node.toml` and in
//! `hub.toml`), so that an oversized request is refused at the first server
//! it reaches and is never fanned out. Every refusal is an
//! [`Error::InvalidRequest`] whose message names what was too large, by how
//! much, and the configuration key of the limit, e.g.
//! `query: 1,500 characters; at most 1,024 (limits.max_query_chars)`.
//!
//! The checks only count; they never recurse and never allocate in
//! proportion to the input.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::search::Filters;

/// The grouping keys an aggregate may name (`settlement`, `kisterseg`,
/// `region`, `period`): more `group_by` entries than that are a repeat.
pub const GROUP_BY_KEYS: usize = 4;

/// The request limits of `[limits]`. Defaults fit real queries with a wide
/// margin; see each field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLimits {
    /// Characters (not bytes: `ő` is one) of a query text. 1,024 is some
    /// 120 Hungarian words.
    pub max_query_chars: usize,
    /// How deeply parentheses may nest in a query text: `(a (b c))` is 2.
    pub max_query_depth: usize,
    /// Words (runs of letters and digits) in a query text; each becomes a
    /// clause per searched field.
    pub max_query_terms: usize,
    /// Values in each of the search filters `kinds`, `sectors` and
    /// `settlements`.
    pub max_filter_values: usize,
    /// Document ids in a search's `ids` filter. A hub fetches its final
    /// page by id, up to the search depth (1,000), so this must not be less.
    pub max_ids: usize,
    /// Settlements named in an aggregate request (Hungary has about 3,200).
    pub max_settlements: usize,
    /// Indicators named in an aggregate request.
    pub max_indicators: usize,
    /// Member paths named in a request's `members`.
    pub max_members: usize,
    /// Characters of any one value in those lists (a settlement, an id, an
    /// indicator code, a member path).
    pub max_value_chars: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_query_chars: 1_024,
            max_query_depth: 16,
            max_query_terms: 64,
            max_filter_values: 256,
            max_ids: 1_000,
            max_settlements: 4_096,
            max_indicators: 64,
            max_members: 256,
            max_value_chars: 256,
        }
    }
}

/// The most characters any configuration may allow in a query text.
pub const CEILING_QUERY_CHARS: usize = 16_384;
/// The deepest nesting any configuration may allow: tantivy's query parser
/// (and the query it builds) recurse once per level, and a search runs on a
/// blocking-pool thread of 2 MiB of stack.
pub const CEILING_QUERY_DEPTH: usize = 64;

/// Refuses a query text beyond the ceilings, whatever the configuration:
/// the index's last line of defence before tantivy's recursive parser.
pub fn check_parser_ceiling(text: &str) -> Result<()> {
    RequestLimits {
        max_query_chars: CEILING_QUERY_CHARS,
        max_query_depth: CEILING_QUERY_DEPTH,
        max_query_terms: usize::MAX,
        ..RequestLimits::default()
    }
    .check_query(text)
}

/// The deepest search depth, which the `ids` filter must be able to cover.
const MIN_IDS: usize = crate::search::MAX_DEPTH;

impl RequestLimits {
    /// Checks the limits themselves: every one positive, `max_ids` at least
    /// the search depth (a hub's final-page fetch names that many ids).
    pub fn validate(&self) -> std::result::Result<(), String> {
        let positive = [
            ("max_query_chars", self.max_query_chars),
            ("max_query_depth", self.max_query_depth),
            ("max_query_terms", self.max_query_terms),
            ("max_filter_values", self.max_filter_values),
            ("max_ids", self.max_ids),
            ("max_settlements", self.max_settlements),
            ("max_indicators", self.max_indicators),
            ("max_members", self.max_members),
            ("max_value_chars", self.max_value_chars),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("limits.{key} must be positive"));
            }
        }
        if self.max_query_chars > CEILING_QUERY_CHARS {
            return Err(format!(
                "limits.max_query_chars must be at most {}",
                thousands(CEILING_QUERY_CHARS)
            ));
        }
        if self.max_query_depth > CEILING_QUERY_DEPTH {
            return Err(format!(
                "limits.max_query_depth must be at most {CEILING_QUERY_DEPTH} (the query parser recurses once per level)"
            ));
        }
        if self.max_ids < MIN_IDS {
            return Err(format!(
                "limits.max_ids must be at least {} (a hub fetches its final page by id, up to the search depth)",
                thousands(MIN_IDS)
            ));
        }
        Ok(())
    }

    /// Checks a query text before it is parsed: its length in characters,
    /// the nesting depth of its parentheses and its number of words. One
    /// pass, no recursion, nothing allocated.
    pub fn check_query(&self, text: &str) -> Result<()> {
        // Bytes bound characters from above: most texts need no count.
        if text.len() > self.max_query_chars {
            let chars = text.chars().count();
            if chars > self.max_query_chars {
                return Err(exceeded(
                    "query",
                    chars,
                    "characters",
                    self.max_query_chars,
                    "max_query_chars",
                ));
            }
        }
        let shape = QueryShape::of(text);
        if shape.depth > self.max_query_depth {
            return Err(exceeded(
                "query",
                shape.depth,
                "levels of nested parentheses",
                self.max_query_depth,
                "max_query_depth",
            ));
        }
        if shape.terms > self.max_query_terms {
            return Err(exceeded(
                "query",
                shape.terms,
                "words",
                self.max_query_terms,
                "max_query_terms",
            ));
        }
        Ok(())
    }

    /// Checks everything of a search that a caller chooses: the query text,
    /// the filters and the member paths.
    pub fn check_search(&self, text: &str, filters: &Filters, members: &[String]) -> Result<()> {
        self.check_query(text)?;
        self.check_list(
            "filters.kinds",
            &filters.kinds,
            self.max_filter_values,
            "max_filter_values",
        )?;
        self.check_list(
            "filters.sectors",
            &filters.sectors,
            self.max_filter_values,
            "max_filter_values",
        )?;
        self.check_list(
            "filters.settlements",
            &filters.settlements,
            self.max_filter_values,
            "max_filter_values",
        )?;
        self.check_list("filters.ids", &filters.ids, self.max_ids, "max_ids")?;
        self.check_members(members)
    }

    /// Checks the lists of an aggregate request.
    pub fn check_aggregate(
        &self,
        indicators: &[String],
        settlements: &[String],
        group_by: usize,
        members: &[String],
    ) -> Result<()> {
        self.check_list(
            "indicators",
            indicators,
            self.max_indicators,
            "max_indicators",
        )?;
        self.check_list(
            "settlements",
            settlements,
            self.max_settlements,
            "max_settlements",
        )?;
        if group_by > GROUP_BY_KEYS {
            return Err(Error::InvalidRequest(format!(
                "group_by: {} entries; at most {GROUP_BY_KEYS} (one per key: settlement, kisterseg, region, period)",
                thousands(group_by)
            )));
        }
        self.check_members(members)
    }

    /// Checks a request's `members` list.
    pub fn check_members(&self, members: &[String]) -> Result<()> {
        self.check_list("members", members, self.max_members, "max_members")
    }

    /// At most `max` values (limit `key`), none longer than
    /// `max_value_chars`.
    pub fn check_list(&self, what: &str, values: &[String], max: usize, key: &str) -> Result<()> {
        if values.len() > max {
            return Err(exceeded(what, values.len(), "values", max, key));
        }
        for (i, value) in values.iter().enumerate() {
            if value.len() > self.max_value_chars {
                let chars = value.chars().count();
                if chars > self.max_value_chars {
                    return Err(exceeded(
                        &format!("{what}[{i}]"),
                        chars,
                        "characters",
                        self.max_value_chars,
                        "max_value_chars",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What [`RequestLimits::check_query`] measures of a query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryShape {
    /// The deepest nesting of `(`, counted conservatively: a parenthesis
    /// inside quotes or after a backslash counts too, and an unmatched `(`
    /// opens a level all the same (the lenient parser recurses on it).
    pub depth: usize,
    /// Runs of letters and digits, as the analysers split words.
    pub terms: usize,
}

impl QueryShape {
    pub fn of(text: &str) -> QueryShape {
        let mut shape = QueryShape::default();
        let mut open = 0usize;
        let mut in_word = false;
        for c in text.chars() {
            match c {
                '(' => {
                    open += 1;
                    shape.depth = shape.depth.max(open);
                }
                ')' => open = open.saturating_sub(1),
                _ => {}
            }
            let word = c.is_alphanumeric();
            if word && !in_word {
                shape.terms += 1;
            }
            in_word = word;
        }
        shape
    }
}

/// `what: VALUE UNIT; at most MAX (limits.KEY)`.
fn exceeded(what: &str, value: usize, unit: &str, max: usize, key: &str) -> Error {
    Error::InvalidRequest(format!(
        "{what}: {} {unit}; at most {} (limits.{key})",
        thousands(value),
        thousands(max)
    ))
}

/// `1500` as `1,500`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    #[test]
    fn thousands_separates_groups_of_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_500), "1,500");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn query_length_counts_characters_not_bytes() {
        let limits = RequestLimits::default();
        // 1,024 two-byte letters: 2,048 bytes, but within the limit.
        let accents = "ő".repeat(1_024);
        limits.check_query(&accents).unwrap();
        let long = "a".repeat(1_500);
        assert_eq!(
            message(limits.check_query(&long)),
            "query: 1,500 characters; at most 1,024 (limits.max_query_chars)"
        );
    }

    #[test]
    fn nesting_is_measured_before_parsing() {
        let limits = RequestLimits::default();
        limits
            .check_query(&format!("{}alma{}", "(".repeat(16), ")".repeat(16)))
            .unwrap();
        // Sequential groups do not nest.
        limits.check_query(&"(a) ".repeat(20)).unwrap();
        let m = message(limits.check_query(&"(".repeat(17)));
        assert_eq!(
            m,
            "query: 17 levels of nested parentheses; at most 16 (limits.max_query_depth)"
        );
        // The attack: far beyond any limit, refused by length first.
        let m = message(limits.check_query(&"(".repeat(100_000)));
        assert!(m.contains("limits.max_query_chars"), "{m}");
        // Closing more than opened never underflows.
        limits.check_query(")))(((").unwrap();
    }

    #[test]
    fn words_are_counted() {
        let limits = RequestLimits::default();
        assert_eq!(QueryShape::of("árvíztűrő tükörfúrógép").terms, 2);
        assert_eq!(QueryShape::of("title_hu:alma").terms, 3);
        assert_eq!(QueryShape::of("+\"a b\" -c*").terms, 3);
        let many = "szó ".repeat(65);
        assert_eq!(
            message(limits.check_query(&many)),
            "query: 65 words; at most 64 (limits.max_query_terms)"
        );
    }

    #[test]
    fn lists_are_bounded_in_count_and_length() {
        let limits = RequestLimits::default();
        let settlements: Vec<String> = (0..4_097).map(|i| format!("s{i}")).collect();
        assert_eq!(
            message(limits.check_aggregate(&[], &settlements, 0, &[])),
            "settlements: 4,097 values; at most 4,096 (limits.max_settlements)"
        );
        let long = vec!["x".repeat(300)];
        assert_eq!(
            message(limits.check_aggregate(&long, &[], 0, &[])),
            "indicators[0]: 300 characters; at most 256 (limits.max_value_chars)"
        );
        assert!(message(limits.check_aggregate(&[], &[], 5, &[])).contains("group_by: 5"));
        let filters = Filters {
            settlements: vec!["Edelény".into(); 257],
            ..Filters::default()
        };
        assert_eq!(
            message(limits.check_search("", &filters, &[])),
            "filters.settlements: 257 values; at most 256 (limits.max_filter_values)"
        );
        let members = vec!["a".to_string(); 257];
        assert!(message(limits.check_members(&members)).contains("(limits.max_members)"));
        // The hub's final page: as many ids as the search depth.
        let filters = Filters {
            ids: vec!["d".into(); 1_000],
            ..Filters::default()
        };
        limits.check_search("", &filters, &[]).unwrap();
    }

    #[test]
    fn limits_validate() {
        RequestLimits::default().validate().unwrap();
        let zero = RequestLimits {
            max_query_depth: 0,
            ..RequestLimits::default()
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .contains("limits.max_query_depth")
        );
        let few_ids = RequestLimits {
            max_ids: 10,
            ..RequestLimits::default()
        };
        assert!(few_ids.validate().unwrap_err().contains("limits.max_ids"));
    }
}
