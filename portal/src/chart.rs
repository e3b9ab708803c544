//! (stub, replaced by the portal-format branch)
pub enum PointStatus {
    Free,
    Confidential,
    Suppressed,
    Incomplete,
    Missing,
}
pub struct Point {
    pub period: String,
    pub value: Option<f64>,
    pub status: PointStatus,
}
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}
pub fn line_chart(_id: &str, _title: &str, _unit: &str, _series: &[Series]) -> maud::Markup {
    maud::html! { svg {} }
}
