//! Fonts as a content stream needs them: a code's Unicode text (from
//! `/ToUnicode`, else the encoding and its `/Differences` glyph names) and
//! its advance width.

use super::*;

/// What a content stream needs of a font: Unicode for each code, and the
/// code's advance width.
#[derive(Debug)]
pub(super) struct Font {
    /// The resource name and base font, for messages: `F1 (ABCDEF+Arial)`.
    pub(super) label: String,
    /// Codes are two bytes (a Type0 font), else one.
    pub(super) two_byte: bool,
    pub(super) to_unicode: HashMap<u32, String>,
    /// A simple font's encoding: 256 entries, empty where no glyph is named.
    pub(super) encoding: Vec<String>,
    /// Widths in glyph space (thousandths of the font size).
    pub(super) widths: HashMap<u32, f64>,
    pub(super) default_width: f64,
    /// No `/Widths`: every glyph is guessed half an em wide, so gaps are
    /// judged less finely.
    pub(super) estimated: bool,
    /// Glyph space to text space: 1/1000, or a Type3 font's matrix.
    pub(super) scale: f64,
}

impl Font {
    pub(super) fn unicode(&self, code: u32) -> Option<&str> {
        if let Some(s) = self.to_unicode.get(&code) {
            return Some(s);
        }
        if self.two_byte {
            return None;
        }
        let s = self.encoding.get(code as usize)?;
        (!s.is_empty()).then_some(s.as_str())
    }

    pub(super) fn width(&self, code: u32) -> f64 {
        self.widths
            .get(&code)
            .copied()
            .unwrap_or(self.default_width)
            * self.scale
    }
}

/// The base encodings and glyph names, from lopdf's tables, looked up
/// once per file.
pub(super) struct Glyphs {
    pub(super) bases: HashMap<&'static [u8], Rc<Vec<String>>>,
    pub(super) names: HashMap<Vec<u8>, String>,
}

impl Glyphs {
    pub(super) fn new() -> Glyphs {
        Glyphs {
            bases: HashMap::new(),
            names: HashMap::new(),
        }
    }

    /// The 256 characters of a base encoding through lopdf.
    pub(super) fn base(&mut self, doc: &Document, name: &'static [u8]) -> Rc<Vec<String>> {
        self.bases
            .entry(name)
            .or_insert_with(|| {
                let font = font_with_encoding(Object::Name(name.to_vec()));
                let table = match font.get_font_encoding(doc) {
                    Ok(encoding) => (0..=255u8)
                        .map(|b| encoding.bytes_to_string(&[b]).unwrap_or_default())
                        .collect(),
                    Err(_) => vec![String::new(); 256],
                };
                Rc::new(table)
            })
            .clone()
    }

    /// The character a glyph name stands for, as the Adobe Glyph List
    /// rules read it: lopdf's list, then `uniXXXX` and `uXXXX[XX]`; a
    /// suffix after `.` dropped (`a.sc`), components joined by `_` read one
    /// by one (`f_f_i`). Empty if none.
    pub(super) fn name(&mut self, doc: &Document, name: &[u8]) -> String {
        if let Some(s) = self.names.get(name) {
            return s.clone();
        }
        let mut s = listed_glyph(doc, name);
        if s.is_empty() {
            let base = name.split(|b| *b == b'.').next().unwrap_or(name);
            s = base
                .split(|b| *b == b'_')
                .take(16)
                .map(|part| {
                    let listed = listed_glyph(doc, part);
                    if listed.is_empty() {
                        unicode_glyph_name(part).unwrap_or_default()
                    } else {
                        listed
                    }
                })
                .collect();
        }
        if self.names.len() < MAX_MAP_ENTRIES {
            self.names.insert(name.to_vec(), s.clone());
        }
        s
    }
}

/// A glyph name in lopdf's Adobe Glyph List, through a one-entry
/// `/Differences`; empty if it is not there.
pub(super) fn listed_glyph(doc: &Document, name: &[u8]) -> String {
    if name.is_empty() {
        return String::new();
    }
    let mut encoding = Dictionary::new();
    encoding.set(
        "Differences",
        Object::Array(vec![Object::Integer(0), Object::Name(name.to_vec())]),
    );
    font_with_encoding(Object::Dictionary(encoding))
        .get_font_encoding(doc)
        .ok()
        .and_then(|e| e.bytes_to_string(&[0]).ok())
        .unwrap_or_default()
}

pub(super) fn font_with_encoding(encoding: Object) -> Dictionary {
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Encoding", encoding);
    font
}

/// `uni00F5` (groups of four hex digits) or `u1F600` (four to six).
pub(super) fn unicode_glyph_name(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    let name = name.split('.').next()?;
    if let Some(hex) = name.strip_prefix("uni") {
        if hex.is_empty() || hex.len() % 4 != 0 {
            return None;
        }
        let units: Option<Vec<u16>> = (0..hex.len() / 4)
            .map(|i| {
                hex.get(i * 4..i * 4 + 4)
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
            })
            .collect();
        return String::from_utf16(&units?).ok();
    }
    let hex = name.strip_prefix('u')?;
    if !(4..=6).contains(&hex.len()) {
        return None;
    }
    let code = u32::from_str_radix(hex, 16).ok()?;
    char::from_u32(code).map(String::from)
}

pub(super) fn name_of(object: &Object) -> Option<&[u8]> {
    object.as_name().ok()
}

pub(super) fn known_base(name: &[u8]) -> Option<&'static [u8]> {
    Some(match name {
        b"WinAnsiEncoding" => b"WinAnsiEncoding",
        b"MacRomanEncoding" => b"MacRomanEncoding",
        b"StandardEncoding" => b"StandardEncoding",
        b"MacExpertEncoding" => b"MacExpertEncoding",
        b"PDFDocEncoding" => b"PDFDocEncoding",
        _ => return None,
    })
}

pub(super) fn load_font(
    doc: &Document,
    resource: &[u8],
    dict: &Dictionary,
    glyphs: &mut Glyphs,
) -> Font {
    let get = |d: &Dictionary, key: &[u8]| -> Option<Object> {
        let object = d.get(key).ok()?;
        doc.dereference(object).ok().map(|(_, o)| o.clone())
    };
    let subtype = get(dict, b"Subtype");
    let subtype = subtype.as_ref().and_then(name_of).unwrap_or(b"Type1");
    let base_font = get(dict, b"BaseFont")
        .as_ref()
        .and_then(name_of)
        .map(|n| String::from_utf8_lossy(n).into_owned());
    let label = match base_font {
        Some(base) => format!("{} ({base})", String::from_utf8_lossy(resource)),
        None => String::from_utf8_lossy(resource).into_owned(),
    };
    let two_byte = subtype == b"Type0";
    let to_unicode = dict
        .get(b"ToUnicode")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_stream().ok())
        .and_then(|s| s.get_plain_content_with_limit(CMAP_CAP).ok())
        .map(|data| parse_cmap(&data, two_byte))
        .unwrap_or_default();
    let mut font = Font {
        label,
        two_byte,
        to_unicode,
        encoding: Vec::new(),
        widths: HashMap::new(),
        default_width: 500.0,
        estimated: false,
        scale: 0.001,
    };
    if two_byte {
        let descendant = get(dict, b"DescendantFonts")
            .and_then(|o| o.as_array().ok().and_then(|a| a.first().cloned()))
            .and_then(|o| doc.dereference(&o).ok().map(|(_, o)| o.clone()))
            .and_then(|o| o.as_dict().ok().cloned());
        if let Some(descendant) = descendant {
            font.default_width = get(&descendant, b"DW")
                .as_ref()
                .and_then(number)
                .unwrap_or(1000.0);
            if let Some(Object::Array(w)) = get(&descendant, b"W") {
                font.widths = cid_widths(doc, &w);
            }
        } else {
            font.default_width = 1000.0;
        }
        return font;
    }
    // A simple font: its encoding, then its widths.
    let default_base: &'static [u8] = if subtype == b"TrueType" {
        b"WinAnsiEncoding"
    } else {
        b"StandardEncoding"
    };
    let (base, differences) = match get(dict, b"Encoding") {
        Some(Object::Name(name)) => (known_base(&name), None),
        Some(Object::Dictionary(enc)) => (
            get(&enc, b"BaseEncoding")
                .as_ref()
                .and_then(name_of)
                .and_then(known_base),
            get(&enc, b"Differences").and_then(|o| o.as_array().ok().cloned()),
        ),
        _ => (None, None),
    };
    let mut table = glyphs.base(doc, base.unwrap_or(default_base)).to_vec();
    if let Some(differences) = differences {
        let mut code: usize = 0;
        for entry in differences.iter().take(MAX_MAP_ENTRIES) {
            match entry {
                Object::Integer(i) => code = usize::try_from(*i).unwrap_or(usize::MAX),
                Object::Name(name) => {
                    if let Some(slot) = table.get_mut(code) {
                        *slot = glyphs.name(doc, name);
                    }
                    code = code.saturating_add(1);
                }
                _ => {}
            }
        }
    }
    font.encoding = table;
    if subtype == b"Type3" {
        font.scale = get(dict, b"FontMatrix")
            .and_then(|o| o.as_array().ok().and_then(|a| a.first().and_then(number)))
            .filter(|s| *s != 0.0)
            .unwrap_or(0.001);
    }
    let first = get(dict, b"FirstChar")
        .as_ref()
        .and_then(number)
        .unwrap_or(0.0);
    let widths = get(dict, b"Widths");
    font.estimated = !matches!(widths, Some(Object::Array(_)));
    if let Some(Object::Array(widths)) = widths {
        for (i, w) in widths.iter().take(256).enumerate() {
            let w = doc.dereference(w).ok().and_then(|(_, o)| number(o));
            if let (Some(w), Ok(code)) = (w, u32::try_from((first as i64).saturating_add(i as i64)))
            {
                font.widths.insert(code, w);
            }
        }
        font.default_width = get(dict, b"FontDescriptor")
            .and_then(|d| d.as_dict().ok().cloned())
            .and_then(|d| get(&d, b"MissingWidth"))
            .as_ref()
            .and_then(number)
            .unwrap_or(0.0);
    }
    font
}

/// A CID font's `/W` array: `c [w1 w2 …]` and `c_first c_last w`.
pub(super) fn cid_widths(doc: &Document, w: &[Object]) -> HashMap<u32, f64> {
    let mut widths = HashMap::new();
    let value = |o: &Object| doc.dereference(o).ok().map(|(_, o)| o.clone());
    let mut work = 0usize;
    let mut i = 0;
    while i < w.len() && widths.len() < MAX_MAP_ENTRIES && work < 4 * MAX_MAP_ENTRIES {
        let Some(first) = w.get(i).and_then(value).as_ref().and_then(number) else {
            break;
        };
        let first = first as u32;
        match w.get(i + 1).and_then(value) {
            Some(Object::Array(list)) => {
                for (k, width) in list.iter().take(MAX_MAP_ENTRIES).enumerate() {
                    work += 1;
                    if let Some(width) = value(width).as_ref().and_then(number) {
                        widths.insert(first.saturating_add(k as u32), width);
                    }
                }
                i += 2;
            }
            Some(last) => {
                let (Some(last), Some(width)) = (
                    number(&last),
                    w.get(i + 2).and_then(value).as_ref().and_then(number),
                ) else {
                    break;
                };
                let last = (last as u32).min(first.saturating_add(MAX_MAP_ENTRIES as u32));
                for code in first..=last {
                    work += 1;
                    if widths.len() >= MAX_MAP_ENTRIES || work > 4 * MAX_MAP_ENTRIES {
                        break;
                    }
                    widths.insert(code, width);
                }
                i += 3;
            }
            None => break,
        }
    }
    widths
}
