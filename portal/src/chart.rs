//! Indicators as line charts, rendered on the server as SVG: the pages work
//! without JavaScript, and what a chart shows is what the table shows.
//!
//! ## What is drawn
//!
//! - The x axis is the union of every series' periods, sorted as text
//!   (`2019`, `2019-Q3`, `2019-03` all sort correctly so); the y axis runs
//!   from zero (or the lowest value, if negative) to a round maximum, with
//!   four to six gridlines labelled in Hungarian numbers.
//! - A series is a polyline broken at every period where it has no value:
//!   no line is ever drawn across a confidential, suppressed or missing
//!   cell (that would interpolate what was withheld), and no point is
//!   drawn at zero for it.
//! - Confidential (C) and suppressed (D) cells are a × in a band of their
//!   own between the scale and the x axis, labelled "titkos": visibly
//!   withheld, never a value. A value sent with such a status is not drawn
//!   either. Incomplete cells (a member did not answer) are hollow, dashed
//!   points and say so in their tooltip. Missing cells draw nothing.
//! - Every drawn cell carries `data-series`, `data-period` (and
//!   `data-value`, the raw number) and a `<title>` tooltip.
//!
//! ## Accessibility and the Content-Security-Policy
//!
//! The SVG is an image labelled by its title and a description (series,
//! periods, withheld cells). Colours have at least 3:1 contrast against
//! white (WCAG 1.4.11) and each series has its own dash pattern as well,
//! for readers who cannot tell the colours apart; the legend is HTML next
//! to the image. No inline `style`: only presentation attributes (`stroke`,
//! `fill`, `stroke-dasharray`), which the policy allows, and classes. Every
//! label goes through maud's escaping.

use std::collections::{BTreeSet, HashMap};

use maud::{Markup, html};

use crate::format;

/// What a cell's value may be shown as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointStatus {
    /// Published.
    Free,
    /// Withheld by disclosure control (SDMX `C`).
    Confidential,
    /// Withheld so that a confidential cell cannot be recovered (SDMX `D`).
    Suppressed,
    /// Published, but a member that should have contributed did not.
    Incomplete,
    /// No data.
    Missing,
}

/// One period of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub period: String,
    pub value: Option<f64>,
    pub status: PointStatus,
}

/// A labelled series (e.g. a kistérség's values of one indicator).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}

/// Series colours: each at least 3:1 against white (checked by a test).
const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#007A5E", "#B3287A", "#8C6D00", "#5B3A96", "#00838F", "#6B6B6B",
];

/// Dash patterns, one per series alongside its colour (`None`: solid).
const DASHES: [Option<&str>; 8] = [
    None,
    Some("8 4"),
    Some("2 3"),
    Some("8 3 2 3"),
    Some("12 4"),
    Some("4 4"),
    Some("8 3 2 3 2 3"),
    Some("1 3"),
];

// The geometry, in viewBox units.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
/// The lowest gridline (the scale's minimum).
const SCALE_BOTTOM: f64 = 256.0;
/// The x axis; the withheld cells' band lies between it and the scale.
const AXIS: f64 = 276.0;
const BAND: f64 = (SCALE_BOTTOM + AXIS) / 2.0;
const POINT_RADIUS: f64 = 3.5;
/// At most this many period labels; the rest are thinned out.
const MAX_LABELS: usize = 12;

/// A series' colour and dash pattern (the pairs repeat only after 64).
fn style(index: usize) -> (&'static str, Option<&'static str>) {
    (
        PALETTE[index % PALETTE.len()],
        DASHES[(index + index / PALETTE.len()) % DASHES.len()],
    )
}

/// The value a point may be drawn at: published (or incomplete) and a
/// number. A withheld cell's value is never drawn, even if one was sent.
fn shown(point: &Point) -> Option<f64> {
    match point.status {
        PointStatus::Free | PointStatus::Incomplete => point.value.filter(|v| v.is_finite()),
        _ => None,
    }
}

/// The SDMX letter of a withheld point.
fn withheld(point: &Point) -> Option<char> {
    match point.status {
        PointStatus::Confidential => Some('C'),
        PointStatus::Suppressed => Some('D'),
        _ => None,
    }
}

/// A value scale: its ends and the gridlines' step.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    low: f64,
    high: f64,
    step: f64,
}

impl Scale {
    /// From zero (or the minimum, if negative) to a round maximum, with
    /// three to five intervals (four to six gridlines): the first step of
    /// 1, 2, 2.5, 5 × 10ⁿ that needs no more than five. Consecutive steps
    /// differ at most twofold, so the chosen one needs at least three.
    fn new(values: impl Iterator<Item = f64>) -> Scale {
        let (mut low, mut high) =
            values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if high - low <= f64::EPSILON * high.abs().max(1.0) {
            high = low + 1.0;
        }
        let range = high - low;
        let start = range.log10().floor() as i32 - 2;
        // Four decades always suffice; the bound only guards against a
        // range that is not finite (values near ±f64::MAX).
        for exponent in start..start + 4 {
            for mantissa in [1.0, 2.0, 2.5, 5.0] {
                let step = mantissa * 10f64.powi(exponent);
                // A tolerance so that 0.30000000000000004 is 0.3.
                let from = (low / step + 1e-9).floor();
                let to = (high / step - 1e-9).ceil();
                if to - from <= 5.0 {
                    low = from * step;
                    high = to * step;
                    return Scale { low, high, step };
                }
            }
        }
        Scale {
            low,
            high,
            step: range / 5.0,
        }
    }

    /// The gridlines' values, lowest first.
    fn ticks(&self) -> Vec<f64> {
        let count = ((self.high - self.low) / self.step).round() as usize;
        (0..=count)
            .map(|i| self.low + i as f64 * self.step)
            .collect()
    }

    /// The y coordinate of a value.
    fn y(&self, v: f64) -> f64 {
        SCALE_BOTTOM - (v - self.low) / (self.high - self.low) * (SCALE_BOTTOM - TOP)
    }
}

/// A coordinate as written in the SVG (one decimal is plenty).
fn coordinate(v: f64) -> String {
    format!("{v:.1}")
}

/// The x coordinate of the `index`th of `count` periods (band centres, so
/// a single period sits in the middle).
fn x(index: usize, count: usize) -> f64 {
    LEFT + (index as f64 + 0.5) * (WIDTH - LEFT - RIGHT) / count as f64
}

/// A horizontal line at a value the series are measured against (a
/// project indicator's target): drawn across the whole chart, labelled
/// with its value, and in the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub label: String,
    pub value: f64,
}

/// The reference lines' colour and dash (dark: 12.6:1 against white).
const REFERENCE_COLOUR: &str = "#333333";
const REFERENCE_DASH: &str = "6 3";

/// A line chart of indicator series. `id` must be unique on the page (it
/// names the title and description); `unit` follows every value.
pub fn line_chart(id: &str, title: &str, unit: &str, series: &[Series]) -> Markup {
    line_chart_with(id, title, unit, series, &[])
}

/// A line chart with reference lines (targets); the scale takes them in,
/// so a target above every value achieved is still on the chart.
pub fn line_chart_with(
    id: &str,
    title: &str,
    unit: &str,
    series: &[Series],
    references: &[Reference],
) -> Markup {
    let references: Vec<&Reference> = references.iter().filter(|r| r.value.is_finite()).collect();
    // Each series' points by period; the first of duplicates wins.
    let by_period: Vec<HashMap<&str, &Point>> = series
        .iter()
        .map(|s| {
            let mut map = HashMap::new();
            for p in &s.points {
                map.entry(p.period.as_str()).or_insert(p);
            }
            map
        })
        .collect();
    let periods: Vec<&str> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.period.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let values: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(shown))
        .collect();
    let withheld_count = by_period
        .iter()
        .flat_map(|m| m.values())
        .filter(|p| withheld(p).is_some())
        .count();
    if values.is_empty() && withheld_count == 0 && references.is_empty() {
        return empty(id, title);
    }
    let scale = Scale::new(
        values
            .iter()
            .copied()
            .chain(references.iter().map(|r| r.value)),
    );
    let count = periods.len();
    let label_every = count.div_ceil(MAX_LABELS).max(1);
    let mut description = describe(series.len(), &periods, withheld_count);
    for r in &references {
        description.push_str(&format!(" {}: {}.", r.label, format::value(r.value, unit)));
    }
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure class="chart" {
            svg xmlns="http://www.w3.org/2000/svg" id=(id) class="chart-svg" role="img"
                aria-labelledby=(format!("{title_id} {desc_id}"))
                viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) width="100%"
                preserveAspectRatio="xMidYMid meet" {
                title id=(title_id) { (title) }
                desc id=(desc_id) { (description) }
                // Gridlines and their labels.
                g class="grid" {
                    @for tick in scale.ticks() {
                        @let y = coordinate(scale.y(tick));
                        line x1=(coordinate(LEFT)) x2=(coordinate(WIDTH - RIGHT)) y1=(y) y2=(y)
                            stroke="#D0D0D0" stroke-width="1" {}
                        text x=(coordinate(LEFT - 6.0)) y=(y) dy="4" text-anchor="end"
                            font-size="12" fill="#333333" { (format::value(tick, "")) }
                    }
                    @if !unit.trim().is_empty() {
                        text class="unit" x=(coordinate(LEFT - 6.0)) y=(coordinate(TOP - 10.0))
                            text-anchor="end" font-size="12" fill="#333333" { (unit.trim()) }
                    }
                }
                // The x axis, the withheld cells' band and the periods.
                g class="axis" {
                    line x1=(coordinate(LEFT)) x2=(coordinate(WIDTH - RIGHT))
                        y1=(coordinate(AXIS)) y2=(coordinate(AXIS)) stroke="#333333"
                        stroke-width="1" {}
                    @if withheld_count > 0 {
                        text class="band" x=(coordinate(LEFT - 6.0)) y=(coordinate(BAND)) dy="4"
                            text-anchor="end" font-size="11" fill="#333333" { "titkos" }
                    }
                    @for (i, period) in periods.iter().enumerate() {
                        @if i.is_multiple_of(label_every) {
                            text x=(coordinate(x(i, count))) y=(coordinate(AXIS + 18.0))
                                text-anchor="middle" font-size="12" fill="#333333" { (period) }
                        }
                    }
                }
                @for r in &references {
                    @let y = coordinate(scale.y(r.value));
                    g class="reference" data-label=(r.label) data-value=(r.value) {
                        title { (r.label) ": " (format::value(r.value, unit)) }
                        line x1=(coordinate(LEFT)) x2=(coordinate(WIDTH - RIGHT)) y1=(y) y2=(y)
                            stroke=(REFERENCE_COLOUR) stroke-width="2"
                            stroke-dasharray=(REFERENCE_DASH) {}
                        text x=(coordinate(WIDTH - RIGHT)) y=(y) dy="-5" text-anchor="end"
                            font-size="12" fill=(REFERENCE_COLOUR) {
                            (r.label) ": " (format::value(r.value, unit))
                        }
                    }
                }
                @for (index, s) in series.iter().enumerate() {
                    (series_markup(index, s, &by_period[index], &periods, &scale, unit))
                }
            }
            (legend(series, withheld_count > 0, &references))
        }
    }
}

/// One series: its lines (broken at every gap), points and withheld cells.
fn series_markup(
    index: usize,
    series: &Series,
    points: &HashMap<&str, &Point>,
    periods: &[&str],
    scale: &Scale,
    unit: &str,
) -> Markup {
    let (colour, dash) = style(index);
    let count = periods.len();
    // Runs of consecutive periods with a value; a period without one (or
    // absent from this series) ends the run.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, period) in periods.iter().enumerate() {
        match points.get(period).and_then(|p| shown(p)) {
            Some(v) => {
                if let Some(run) = runs.last_mut() {
                    run.push((x(i, count), scale.y(v)));
                }
            }
            None => runs.push(Vec::new()),
        }
    }
    let lines: Vec<String> = runs
        .iter()
        .filter(|run| run.len() >= 2)
        .map(|run| {
            run.iter()
                .map(|(x, y)| format!("{},{}", coordinate(*x), coordinate(*y)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    html! {
        g class="series" data-series=(series.label) {
            @for line in &lines {
                polyline class="line" points=(line) fill="none" stroke=(colour) stroke-width="2"
                    stroke-dasharray=[dash] stroke-linejoin="round" {}
            }
            @for (i, period) in periods.iter().enumerate() {
                @if let Some(point) = points.get(period) {
                    (point_markup(series, point, x(i, count), scale, unit, colour))
                }
            }
        }
    }
}

/// A point with a value, a withheld cell's marker, or nothing.
fn point_markup(
    series: &Series,
    point: &Point,
    cx: f64,
    scale: &Scale,
    unit: &str,
    colour: &str,
) -> Markup {
    if let Some(v) = shown(point) {
        let incomplete = point.status == PointStatus::Incomplete;
        let mut tooltip = format!(
            "{}, {}: {}",
            series.label,
            point.period,
            format::value(v, unit)
        );
        if incomplete {
            tooltip.push_str(" (hiányos: nem minden tag válaszolt)");
        }
        return html! {
            circle class=(if incomplete { "point incomplete" } else { "point" })
                data-series=(series.label) data-period=(point.period) data-value=(v)
                cx=(coordinate(cx)) cy=(coordinate(scale.y(v))) r=(POINT_RADIUS)
                fill=(if incomplete { "#FFFFFF" } else { colour }) stroke=(colour)
                stroke-width=(if incomplete { "1.5" } else { "1" })
                stroke-dasharray=[incomplete.then_some("2 1.5")] {
                title { (tooltip) }
            }
        };
    }
    let Some(letter) = withheld(point) else {
        return html! {};
    };
    let (left, right) = (coordinate(cx - 4.0), coordinate(cx + 4.0));
    let (top, bottom) = (coordinate(BAND - 4.0), coordinate(BAND + 4.0));
    html! {
        g class="confidential" data-series=(series.label) data-period=(point.period)
            data-status=(letter) {
            title { (series.label) ", " (point.period) ": titkos adat (" (letter) ")" }
            line x1=(left) y1=(top) x2=(right) y2=(bottom) stroke=(colour) stroke-width="2" {}
            line x1=(left) y1=(bottom) x2=(right) y2=(top) stroke=(colour) stroke-width="2" {}
        }
    }
}

/// The description read out with the title.
fn describe(series: usize, periods: &[&str], withheld: usize) -> String {
    let span = match (periods.first(), periods.last()) {
        (Some(first), Some(last)) if first != last => format!("{first}–{last}"),
        (Some(first), _) => (*first).to_string(),
        _ => String::new(),
    };
    format!(
        "Vonaldiagram: {} adatsor, {} időszak ({span}), {} titkos adat.",
        format::integer(series as i64),
        format::integer(periods.len() as i64),
        format::integer(withheld as i64),
    )
}

/// The legend: each series' colour and dash, and the withheld cells' mark.
fn legend(series: &[Series], any_withheld: bool, references: &[&Reference]) -> Markup {
    html! {
        ul class="chart-legend" {
            @for (index, s) in series.iter().enumerate() {
                @let (colour, dash) = style(index);
                li {
                    svg class="swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 12"
                        width="32" height="12" aria-hidden="true" {
                        line x1="1" y1="6" x2="31" y2="6" stroke=(colour) stroke-width="2"
                            stroke-dasharray=[dash] {}
                    }
                    " " (s.label)
                }
            }
            @for r in references {
                li class="legend-reference" {
                    svg class="swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 12"
                        width="32" height="12" aria-hidden="true" {
                        line x1="1" y1="6" x2="31" y2="6" stroke=(REFERENCE_COLOUR)
                            stroke-width="2" stroke-dasharray=(REFERENCE_DASH) {}
                    }
                    " " (r.label)
                }
            }
            @if any_withheld {
                li class="legend-confidential" {
                    svg class="swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 12"
                        width="32" height="12" aria-hidden="true" {
                        line x1="12" y1="2" x2="20" y2="10" stroke="#333333" stroke-width="2" {}
                        line x1="12" y1="10" x2="20" y2="2" stroke="#333333" stroke-width="2" {}
                    }
                    " titkos: az adat nem közölhető (C: titkos, D: másodlagos elfedés)"
                }
            }
        }
    }
}

/// A chart with nothing to draw says so in words.
fn empty(id: &str, title: &str) -> Markup {
    html! {
        figure class="chart chart-empty" id=(id) {
            figcaption { (title) }
            p { "nincs adat: a kiválasztott időszakra nincs megjeleníthető érték." }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn point(period: &str, value: Option<f64>, status: PointStatus) -> Point {
        Point {
            period: period.into(),
            value,
            status,
        }
    }

    fn free(period: &str, v: f64) -> Point {
        point(period, Some(v), PointStatus::Free)
    }

    fn edelenyi() -> Series {
        Series {
            label: "Edelényi kistérség".into(),
            points: vec![
                free("2016", 10.0),
                free("2017", 11.0),
                point("2018", None, PointStatus::Confidential),
                free("2019", 12.5),
                free("2020", 13.0),
                point("2021", None, PointStatus::Missing),
                free("2022", 14.0),
            ],
        }
    }

    fn count(markup: &str, needle: &str) -> usize {
        markup.matches(needle).count()
    }

    /// The `cy` of every circle.
    fn circle_ys(markup: &str) -> Vec<String> {
        markup
            .split("<circle")
            .skip(1)
            .map(|c| {
                let start = c.find(" cy=\"").unwrap() + 5;
                let end = start + c[start..].find('"').unwrap();
                c[start..end].to_string()
            })
            .collect()
    }

    #[test]
    fn every_value_is_a_circle_with_a_tooltip() {
        let svg = line_chart("c1", "Munkanélküliség", "%", &[edelenyi()]).into_string();
        assert_eq!(count(&svg, "<circle"), 5);
        assert_eq!(count(&svg, "<circle class=\"point\""), 5);
        assert!(
            svg.contains("data-period=\"2019\" data-value=\"12.5\""),
            "{svg}"
        );
        assert!(
            svg.contains("<title>Edelényi kistérség, 2019: 12,5\u{a0}%</title>"),
            "{svg}"
        );
    }

    #[test]
    fn gaps_break_the_line() {
        let svg = line_chart("c1", "t", "%", &[edelenyi()]).into_string();
        // 2016–2017, 2019–2020; 2022 alone is a point without a line.
        assert_eq!(count(&svg, "<polyline"), 2, "{svg}");
        let first = svg.split("<polyline").nth(1).unwrap();
        let points = first.split("points=\"").nth(1).unwrap();
        let points = &points[..points.find('"').unwrap()];
        assert_eq!(points.split(' ').count(), 2);
    }

    #[test]
    fn a_period_absent_from_a_series_breaks_its_line() {
        let a = Series {
            label: "A".into(),
            points: vec![free("2019", 1.0), free("2021", 3.0)],
        };
        let b = Series {
            label: "B".into(),
            points: vec![free("2019", 2.0), free("2020", 2.0), free("2021", 2.0)],
        };
        let svg = line_chart("c", "t", "", &[a, b]).into_string();
        // A has no line (2020 is missing for it), B one.
        assert_eq!(count(&svg, "<polyline"), 1);
        assert_eq!(count(&svg, "<circle"), 5);
    }

    #[test]
    fn withheld_cells_are_marked_not_drawn() {
        let mut s = edelenyi();
        s.points
            .push(point("2023", Some(99.0), PointStatus::Suppressed));
        let svg = line_chart("c1", "t", "%", &[s]).into_string();
        assert!(svg.contains(
            "<g class=\"confidential\" data-series=\"Edelényi kistérség\" data-period=\"2018\" data-status=\"C\">"
        ), "{svg}");
        assert!(svg.contains("<title>Edelényi kistérség, 2018: titkos adat (C)</title>"));
        assert!(svg.contains("<title>Edelényi kistérség, 2023: titkos adat (D)</title>"));
        // A value sent with a withheld status is never shown.
        assert!(!svg.contains("data-value=\"99\""));
        assert!(svg.contains(">titkos</text>"));
        assert!(svg.contains("legend-confidential"));
        assert!(svg.contains("2 titkos adat"));
    }

    #[test]
    fn missing_values_are_not_drawn_at_zero() {
        let svg = line_chart("c1", "t", "%", &[edelenyi()]).into_string();
        let zero = coordinate(SCALE_BOTTOM);
        assert!(circle_ys(&svg).iter().all(|y| *y != zero), "{svg}");
        assert!(!svg.contains("data-period=\"2021\""));
        assert!(!svg.contains("data-period=\"2018\" data-value"));
    }

    #[test]
    fn incomplete_points_are_dashed_and_say_so() {
        let s = Series {
            label: "Encsi".into(),
            points: vec![
                free("2019", 1.0),
                point("2020", Some(2.0), PointStatus::Incomplete),
            ],
        };
        let svg = line_chart("c", "t", "fő", &[s]).into_string();
        assert_eq!(count(&svg, "class=\"point incomplete\""), 1);
        assert!(svg.contains("Encsi, 2020: 2\u{a0}fő (hiányos: nem minden tag válaszolt)"));
        assert_eq!(count(&svg, "<polyline"), 1);
    }

    #[test]
    fn labels_are_escaped() {
        let s = Series {
            label: "<script>alert(1)</script>".into(),
            points: vec![
                free("2019\"", 1.0),
                point("2020", None, PointStatus::Confidential),
            ],
        };
        let svg = line_chart("x\"y", "<b>cím</b>", "<i>", &[s]).into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(!svg.contains("<b>") && !svg.contains("<i>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("data-period=\"2019&quot;\""));
        assert!(svg.contains("id=\"x&quot;y-title\""));
    }

    #[test]
    fn nothing_to_draw_says_so() {
        for series in [
            vec![],
            vec![Series {
                label: "A".into(),
                points: vec![],
            }],
            vec![Series {
                label: "A".into(),
                points: vec![point("2019", None, PointStatus::Missing)],
            }],
        ] {
            let html = line_chart("c", "Népesség", "fő", &series).into_string();
            assert!(html.contains("nincs adat"), "{html}");
            assert!(!html.contains("<svg"));
        }
    }

    #[test]
    fn accessible_and_without_inline_style() {
        let svg = line_chart("nep", "Népesség", "fő", &[edelenyi()]).into_string();
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"nep-title nep-desc\""));
        assert!(svg.contains("<title id=\"nep-title\">Népesség</title>"));
        assert!(svg.contains(
            "<desc id=\"nep-desc\">Vonaldiagram: 1 adatsor, 7 időszak (2016–2022), 1 titkos adat.</desc>"
        ), "{svg}");
        assert!(svg.contains("width=\"100%\""));
        assert!(svg.contains("viewBox=\"0 0 640 320\""));
        assert!(!svg.contains("style="));
        assert!(svg.contains("<ul class=\"chart-legend\">"));
    }

    #[test]
    fn periods_are_the_sorted_union() {
        let a = Series {
            label: "A".into(),
            points: vec![free("2019-Q3", 1.0), free("2019-Q1", 2.0)],
        };
        let b = Series {
            label: "B".into(),
            points: vec![free("2019-Q2", 3.0)],
        };
        let svg = line_chart("c", "t", "", &[a, b]).into_string();
        let q1 = svg.find(">2019-Q1</text>").unwrap();
        let q2 = svg.find(">2019-Q2</text>").unwrap();
        let q3 = svg.find(">2019-Q3</text>").unwrap();
        assert!(q1 < q2 && q2 < q3);
    }

    #[test]
    fn scales_are_round_with_four_to_six_gridlines() {
        for (values, low, high) in [
            (vec![12.5, 3.0], 0.0, 12.5),
            (vec![13.0], 0.0, 15.0),
            (vec![9871.0], 0.0, 10_000.0),
            (vec![0.034, 0.01], 0.0, 0.04),
            (vec![-3.0, 7.0], -5.0, 7.5),
            (vec![0.0], 0.0, 1.0),
            (vec![-5.0], -5.0, 0.0),
            (vec![1_234_567.8], 0.0, 1_250_000.0),
        ] {
            let scale = Scale::new(values.iter().copied());
            assert!((scale.low - low).abs() < 1e-9, "{values:?}: {scale:?}");
            assert!((scale.high - high).abs() < 1e-9, "{values:?}: {scale:?}");
            let ticks = scale.ticks().len();
            assert!((4..=6).contains(&ticks), "{values:?}: {ticks} gridlines");
        }
        for max in 1..2000 {
            let ticks = Scale::new([f64::from(max) * 0.37].into_iter())
                .ticks()
                .len();
            assert!((4..=6).contains(&ticks), "{max}: {ticks}");
        }
    }

    #[test]
    fn gridlines_are_labelled_in_hungarian() {
        let s = Series {
            label: "A".into(),
            points: vec![free("2019", 9871.0)],
        };
        let svg = line_chart("c", "t", "fő", &[s]).into_string();
        assert!(svg.contains(">10\u{a0}000</text>"), "{svg}");
        assert!(svg.contains(">fő</text>"));
    }

    /// WCAG relative luminance of `#RRGGBB`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    #[test]
    fn colours_contrast_with_white_and_dashes_differ() {
        for colour in PALETTE {
            let contrast = 1.05 / (luminance(colour) + 0.05);
            assert!(contrast >= 3.0, "{colour}: {contrast:.2}");
        }
        let styles: BTreeSet<_> = (0..PALETTE.len()).map(style).collect();
        assert_eq!(styles.len(), PALETTE.len());
        let dashes: BTreeSet<_> = DASHES.iter().collect();
        assert_eq!(dashes.len(), DASHES.len());
    }
}
