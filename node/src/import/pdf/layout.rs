//! A page's text as it is drawn: lines by baseline, spaces from gaps,
//! overprinted text read once, headers and footers moved to the edges.

use super::*;

/// The text of one page as it is being built: its lines in the order
/// they are drawn, each with where its baseline is.
#[derive(Default)]
pub(super) struct PageText {
    pub(super) lines: Vec<Line>,
    /// Bytes of text so far.
    pub(super) bytes: usize,
    /// Where the last run ended, its baseline direction and font size.
    pub(super) last: Option<LastRun>,
    /// The text matrix was set (`Td`, `Tm`, `T*`, …) since the last run:
    /// the next run starts where the file says, not where our widths put
    /// it, so a guessed width shows as a gap.
    pub(super) moved: bool,
    /// Some text does not run left to right along the page.
    pub(super) turned: bool,
    /// Where each run of glyphs started, by its first character and a grid
    /// of [`OVERPRINT`] cells: text drawn again on top of itself (bold
    /// faked by striking twice, a shadow) is read once. A run that starts
    /// where one did is skipped, glyph by glyph, until it passes the end
    /// of what was drawn (`overprinting`).
    pub(super) drawn: HashMap<(char, i64, i64), (f64, f64), BuildHasherDefault<CellHasher>>,
    pub(super) overprinting: bool,
}

/// A fast hash for [`PageText::drawn`]'s small integer keys (the standard
/// one, made to resist crafted keys, costs more than the rest of placing a
/// glyph; a crafted file can at worst slow its own page).
#[derive(Default)]
pub(super) struct CellHasher(u64);

impl Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

pub(super) struct Line {
    pub(super) text: String,
    /// The page's vertical position of the line's first run.
    pub(super) y: f64,
}

#[derive(Clone, Copy)]
pub(super) struct LastRun {
    pub(super) end: (f64, f64),
    pub(super) direction: (f64, f64),
    pub(super) size: f64,
}

impl PageText {
    pub(super) fn push(
        &mut self,
        start: (f64, f64),
        end: (f64, f64),
        size: f64,
        direction: (f64, f64),
        space_gap: f64,
        text: &str,
    ) {
        if text.is_empty() {
            // A glyph without text (unmapped, or a space glyph drawn as
            // nothing) still moves the pen.
            if let Some(last) = &mut self.last {
                last.end = end;
            }
            return;
        }
        let mut new_line = true;
        let mut space = false;
        // Only a glyph that does not follow on from the last one can start
        // drawing over earlier ones; one behind the last one may go on.
        let mut jumped = true;
        let mut behind = false;
        if let Some(last) = self.last {
            let (dx, dy) = (start.0 - last.end.0, start.1 - last.end.1);
            let (ux, uy) = last.direction;
            let along = dx * ux + dy * uy;
            let across = (dy * ux - dx * uy).abs();
            let scale = size.max(last.size).max(0.1);
            new_line = across > LINE_GAP * scale;
            space = !new_line && (along > space_gap * scale || along < -scale);
            behind = !new_line && along < -OVERPRINT * scale;
            jumped = new_line || behind;
        }
        if direction.0 < 0.99 {
            self.turned = true;
        }
        if self.overprinting && behind {
            return;
        }
        self.overprinting = false;
        if jumped && self.overprinted(start, size, text) {
            self.overprinting = true;
            return;
        }
        match self.lines.last_mut() {
            Some(line) if !new_line => {
                if space && !line.text.ends_with(' ') && !text.starts_with(' ') {
                    line.text.push(' ');
                    self.bytes += 1;
                }
                line.text.push_str(text);
            }
            _ => self.lines.push(Line {
                text: text.to_string(),
                y: start.1,
            }),
        }
        self.bytes += text.len() + 1;
        self.moved = false;
        self.last = Some(LastRun {
            end,
            direction,
            size,
        });
    }

    /// Whether a run starting with `text` was drawn at `start` already,
    /// and if not, notes it.
    pub(super) fn overprinted(&mut self, start: (f64, f64), size: f64, text: &str) -> bool {
        let Some(first) = text.chars().next() else {
            return false;
        };
        if first == ' ' {
            return false;
        }
        let cell = (OVERPRINT * size).max(0.01);
        let (cx, cy) = ((start.0 / cell).floor(), (start.1 / cell).floor());
        if !(cx.is_finite() && cy.is_finite()) {
            return false;
        }
        let (cx, cy) = (cx as i64, cy as i64);
        for dx in -1..=1 {
            for dy in -1..=1 {
                let key = (first, cx.saturating_add(dx), cy.saturating_add(dy));
                let near = self
                    .drawn
                    .get(&key)
                    .is_some_and(|(x, y)| (x - start.0).hypot(y - start.1) < cell);
                if near {
                    return true;
                }
            }
        }
        self.drawn.entry((first, cx, cy)).or_insert(start);
        false
    }

    /// The page's text. The line highest on the page goes first and the
    /// lowest last, wherever the file drew them, so that running headers
    /// and footers are where [`drop_page_furniture`] looks for them; a
    /// hyphen at a line end that is a soft one (U+00AD) or U+2010/U+2011
    /// becomes `-`, so that clean-up rejoins the word.
    pub(super) fn finish(self) -> String {
        let mut lines: Vec<Line> = self
            .lines
            .into_iter()
            .filter(|l| !l.text.trim().is_empty())
            .collect();
        if !self.turned && lines.len() >= 3 {
            move_extreme(&mut lines, true);
            move_extreme(&mut lines, false);
        }
        let mut out = String::with_capacity(self.bytes);
        for line in &lines {
            if !out.is_empty() {
                out.push('\n');
            }
            let text = line.text.trim();
            match text.strip_suffix(['\u{ad}', '\u{2010}', '\u{2011}']) {
                Some(head) if head.ends_with(char::is_alphanumeric) => {
                    out.push_str(head);
                    out.push('-');
                }
                _ => out.push_str(text),
            }
        }
        out
    }
}

/// Moves the line strictly highest (`top`) on the page to the front, or the
/// lowest to the end.
pub(super) fn move_extreme(lines: &mut Vec<Line>, top: bool) {
    let range = if top { 0..lines.len() } else { 1..lines.len() };
    let mut best: Option<usize> = None;
    let mut tied = false;
    for i in range {
        let (Some(line), current) = (lines.get(i), best.and_then(|b| lines.get(b))) else {
            continue;
        };
        match current {
            None => best = Some(i),
            Some(c) => {
                let better = if top { line.y > c.y } else { line.y < c.y };
                if better {
                    best = Some(i);
                    tied = false;
                } else if (line.y - c.y).abs() < 0.5 {
                    tied = true;
                }
            }
        }
    }
    if tied {
        return;
    }
    if let Some(i) = best {
        let line = lines.remove(i);
        if top {
            lines.insert(0, line);
        } else {
            lines.push(line);
        }
    }
}
