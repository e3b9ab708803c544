//! (stub, replaced by the portal-format branch)
pub const NBSP: char = '\u{a0}';
pub fn integer(n: i64) -> String {
    n.to_string()
}
pub fn decimal(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}
pub fn value(v: f64, unit: &str) -> String {
    format!("{v} {unit}")
}
pub fn date(year: i32, month: u32, day: u32) -> String {
    format!("{year}. {month}. {day}.")
}
pub fn datetime_rfc3339(text: &str) -> Option<String> {
    Some(text.to_string())
}
pub fn date_iso(text: &str) -> Option<String> {
    Some(text.to_string())
}
pub fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    a.cmp(b)
}
pub fn sort<T>(items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| compare(key(a), key(b)))
}
