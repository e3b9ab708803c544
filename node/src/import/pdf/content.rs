//! The content-stream interpreter: text state, graphics state, form
//! XObjects (under depth, count and cycle limits), glyphs placed on the page.

use super::*;

#[derive(Clone)]
pub(super) struct State {
    pub(super) ctm: Matrix,
    pub(super) font: Option<Rc<Font>>,
    pub(super) size: f64,
    pub(super) char_spacing: f64,
    pub(super) word_spacing: f64,
    pub(super) scale: f64,
    pub(super) leading: f64,
}

impl State {
    pub(super) fn new(ctm: Matrix) -> State {
        State {
            ctm,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
        }
    }
}

/// Reads the pages of one document, sharing fonts and budgets.
pub(super) struct Reader<'d> {
    pub(super) doc: &'d Document,
    pub(super) limits: Limits,
    pub(super) page_count: u32,
    /// Bytes of text on the pages before this one.
    pub(super) text_before: usize,
    pub(super) names: Glyphs,
    /// Fonts read, by the address of their dictionary in the document
    /// (which outlives the reader): a font written into a page's
    /// resources, not referenced, is read once too.
    pub(super) fonts: HashMap<usize, Rc<Font>>,
    pub(super) operations: usize,
    pub(super) max_operations: usize,
    /// Content bytes interpreted so far.
    pub(super) content_bytes: usize,
    pub(super) forms: HashMap<ObjectId, Rc<Vec<u8>>>,
    pub(super) form_cache_bytes: usize,
    /// Glyphs shown.
    pub(super) glyphs: usize,
    /// Glyphs without a Unicode value, by font: the first page it was met
    /// on and how many.
    pub(super) unmapped: BTreeMap<String, (usize, usize)>,
    pub(super) images: usize,
}

impl<'d> Reader<'d> {
    pub(super) fn new(doc: &'d Document, limits: Limits, page_count: u32) -> Reader<'d> {
        Reader {
            doc,
            limits,
            page_count,
            text_before: 0,
            names: Glyphs::new(),
            fonts: HashMap::new(),
            operations: 0,
            max_operations: MAX_OPERATIONS,
            content_bytes: 0,
            forms: HashMap::new(),
            form_cache_bytes: 0,
            glyphs: 0,
            unmapped: BTreeMap::new(),
            images: 0,
        }
    }

    /// The text of page `number` (1-based), lines separated by `\n`.
    pub(super) fn page(&mut self, page_id: ObjectId, number: usize) -> Result<String, Failure> {
        let doc = self.doc;
        for id in doc.get_page_contents(page_id) {
            match doc.get_object(id) {
                Ok(Object::Stream(_)) => {}
                Ok(other) => {
                    return Err(Failure::new(
                        FailureKind::Corrupt,
                        format!(
                            "page {number}: its content (object {} {}) is {}, not a stream",
                            id.0,
                            id.1,
                            other.enum_variant()
                        ),
                    ));
                }
                Err(_) => {
                    return Err(Failure::new(
                        FailureKind::Corrupt,
                        format!(
                            "page {number}: its content stream (object {} {}) is missing: the file is damaged \
                             or cut short",
                            id.0, id.1
                        ),
                    ));
                }
            }
        }
        let content = doc
            .get_page_content_with_limit(page_id, STREAM_CAP)
            .map_err(|err| match err {
                lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                    ..
                }) => Failure::new(
                    FailureKind::TooLarge,
                    format!("page {number}: its content inflates to more than {STREAM_CAP} bytes"),
                ),
                other => Failure::new(
                    FailureKind::Corrupt,
                    format!("page {number}: its content cannot be read: {other}"),
                ),
            })?;
        self.charge(content.len(), number)?;
        let resources = page_resources(doc, page_id);
        let mut page = PageText::default();
        let mut forms = Vec::new();
        self.run(
            &content,
            &resources,
            Matrix::IDENTITY,
            &mut page,
            &mut forms,
            number,
        )?;
        Ok(page.finish())
    }

    /// Interprets one content stream (a page's, or a form's drawn on it).
    pub(super) fn run(
        &mut self,
        content: &[u8],
        resources: &[&'d Dictionary],
        ctm: Matrix,
        page: &mut PageText,
        forms: &mut Vec<Option<ObjectId>>,
        number: usize,
    ) -> Result<(), Failure> {
        let mut state = State::new(ctm);
        let mut saved: Vec<State> = Vec::new();
        let mut unsaved = 0usize;
        let mut tm = Matrix::IDENTITY;
        let mut tlm = Matrix::IDENTITY;
        for (index, operation) in lopdf::content::Content::decode_iter(content).enumerate() {
            let operation = operation.map_err(|err| {
                Failure::new(
                    FailureKind::Corrupt,
                    format!(
                        "page {number}: its content stream does not parse after {index} operations: {err}"
                    ),
                )
            })?;
            self.operations += 1;
            if self.operations > self.max_operations {
                return Err(Failure::new(
                    FailureKind::TooLarge,
                    format!(
                        "more than {} content operations by page {number} (forms drawn within forms?)",
                        self.max_operations
                    ),
                ));
            }
            let ops = operation.operands.as_slice();
            let first = || ops.first().and_then(number_of);
            if matches!(
                operation.operator.as_str(),
                "BT" | "Td" | "TD" | "Tm" | "T*" | "'" | "\""
            ) {
                page.moved = true;
            }
            match operation.operator.as_str() {
                "q" => {
                    if saved.len() < MAX_STATE_DEPTH {
                        saved.push(state.clone());
                    } else {
                        unsaved += 1;
                    }
                }
                "Q" => {
                    if unsaved > 0 {
                        unsaved -= 1;
                    } else if let Some(s) = saved.pop() {
                        state = s;
                    }
                }
                "cm" => {
                    if let Some(m) = Matrix::of(ops) {
                        state.ctm = m.then(state.ctm);
                    }
                }
                "BT" => {
                    tm = Matrix::IDENTITY;
                    tlm = Matrix::IDENTITY;
                }
                "Td" | "TD" => {
                    if let (Some(x), Some(y)) = (first(), ops.get(1).and_then(number_of)) {
                        if operation.operator == "TD" {
                            state.leading = -y;
                        }
                        tlm = Matrix::translate(x, y).then(tlm);
                        tm = tlm;
                    }
                }
                "Tm" => {
                    if let Some(m) = Matrix::of(ops) {
                        tlm = m;
                        tm = m;
                    }
                }
                "T*" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                    tm = tlm;
                }
                "Tc" => state.char_spacing = first().unwrap_or(0.0),
                "Tw" => state.word_spacing = first().unwrap_or(0.0),
                "Tz" => state.scale = first().unwrap_or(100.0) / 100.0,
                "TL" => state.leading = first().unwrap_or(0.0),
                "Tf" => {
                    let name = ops.first().and_then(name_of).unwrap_or(b"");
                    state.font = self.font(resources, name);
                    state.size = ops.get(1).and_then(number_of).unwrap_or(0.0);
                }
                "Tj" | "'" | "\"" => {
                    let string = if operation.operator == "\"" {
                        state.word_spacing = first().unwrap_or(state.word_spacing);
                        state.char_spacing =
                            ops.get(1).and_then(number_of).unwrap_or(state.char_spacing);
                        ops.get(2)
                    } else {
                        ops.first()
                    };
                    if operation.operator != "Tj" {
                        tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                        tm = tlm;
                    }
                    if let Some(Object::String(bytes, _)) = string {
                        self.show(page, &state, &mut tm, bytes, number);
                    }
                }
                "TJ" => {
                    let Some(Object::Array(items)) = ops.first() else {
                        continue;
                    };
                    for item in items {
                        match item {
                            Object::String(bytes, _) => {
                                self.show(page, &state, &mut tm, bytes, number);
                            }
                            other => {
                                if let Some(n) = number_of(other) {
                                    let tx = -n / 1000.0 * state.size * state.scale;
                                    tm = Matrix::translate(tx, 0.0).then(tm);
                                }
                            }
                        }
                    }
                }
                "BI" => self.images += 1,
                "Do" => {
                    let Some(name) = ops.first().and_then(name_of) else {
                        continue;
                    };
                    self.draw(name, resources, &state, page, forms, number)?;
                }
                _ => {}
            }
            self.check_text_size(page, number)?;
        }
        Ok(())
    }

    /// Counts content bytes about to be interpreted against
    /// [`MAX_CONTENT_BYTES`].
    pub(super) fn charge(&mut self, bytes: usize, number: usize) -> Result<(), Failure> {
        self.content_bytes = self.content_bytes.saturating_add(bytes);
        if self.content_bytes > MAX_CONTENT_BYTES {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "more than {MAX_CONTENT_BYTES} bytes of page content by page {number} \
                     (forms drawn many times count each time)"
                ),
            ));
        }
        Ok(())
    }

    /// `too-large` as soon as the text is far over `max_body_bytes`.
    /// Clean-up shrinks text only by little (NFKC, rejoined words), so
    /// twice the cap cannot come under it; the exact check, after
    /// clean-up, is [`super::extract`]'s.
    pub(super) fn check_text_size(&self, page: &PageText, number: usize) -> Result<(), Failure> {
        let cap = self
            .limits
            .max_body_bytes
            .saturating_mul(2)
            .saturating_add(64 * 1024);
        let size = self.text_before.saturating_add(page.bytes);
        if size <= cap {
            return Ok(());
        }
        let mut failure = too_large_text(size, &self.limits);
        failure.detail = format!(
            "{}; reading stopped at page {number} of {}",
            failure.detail, self.page_count
        );
        Err(failure)
    }

    /// `Do`: an image is counted, a form's content is read in place.
    pub(super) fn draw(
        &mut self,
        name: &[u8],
        resources: &[&'d Dictionary],
        state: &State,
        page: &mut PageText,
        forms: &mut Vec<Option<ObjectId>>,
        number: usize,
    ) -> Result<(), Failure> {
        let Some((id, object)) = self.resource(resources, b"XObject", name) else {
            return Ok(());
        };
        let Ok(stream) = object.as_stream() else {
            return Ok(());
        };
        match stream.dict.get(b"Subtype").ok().and_then(name_of) {
            Some(b"Image") => self.images += 1,
            Some(b"Form") => {
                if forms.len() >= MAX_FORM_DEPTH || (id.is_some() && forms.contains(&id)) {
                    return Ok(());
                }
                let cached = id.and_then(|id| self.forms.get(&id).cloned());
                let data = match cached {
                    Some(data) => data,
                    None => {
                        let Ok(data) = stream.get_plain_content_with_limit(STREAM_CAP) else {
                            return Ok(());
                        };
                        let data = Rc::new(data);
                        if let Some(id) = id
                            && self.form_cache_bytes.saturating_add(data.len()) <= FORM_CACHE_BYTES
                        {
                            self.form_cache_bytes += data.len();
                            self.forms.insert(id, data.clone());
                        }
                        data
                    }
                };
                self.charge(data.len(), number)?;
                let matrix = stream
                    .dict
                    .get(b"Matrix")
                    .ok()
                    .and_then(|o| o.as_array().ok())
                    .and_then(|a| Matrix::of(a))
                    .unwrap_or(Matrix::IDENTITY);
                let mut inner: Vec<&'d Dictionary> = Vec::with_capacity(resources.len() + 1);
                if let Some(own) = stream
                    .dict
                    .get(b"Resources")
                    .ok()
                    .and_then(|o| self.doc.dereference(o).ok())
                    .and_then(|(_, o)| o.as_dict().ok())
                {
                    inner.push(own);
                }
                inner.extend_from_slice(resources);
                forms.push(id);
                let result = self.run(&data, &inner, matrix.then(state.ctm), page, forms, number);
                forms.pop();
                result?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Shows one string: its text onto the page, the text matrix moved past
    /// its glyphs.
    pub(super) fn show(
        &mut self,
        page: &mut PageText,
        state: &State,
        tm: &mut Matrix,
        bytes: &[u8],
        number: usize,
    ) {
        let Some(font) = state.font.clone() else {
            self.glyphs += bytes.len();
            self.unmapped
                .entry("a font missing from the page's resources".to_string())
                .or_insert((number, 0))
                .1 += bytes.len();
            return;
        };
        let start = tm.then(state.ctm);
        let size = (state.size * start.c.hypot(start.d)).abs();
        let length = start.a.hypot(start.b);
        let direction = if length > 0.0 {
            (start.a / length, start.b / length)
        } else {
            (1.0, 0.0)
        };
        let mut unmapped = 0;
        let mut text = String::new();
        // How far along the baseline the glyphs have moved, in text space.
        let mut pen = 0.0;
        let step = if font.two_byte { 2 } else { 1 };
        // Glyph by glyph: character and word spacing (`Tc`, `Tw`) can open
        // a gap inside one string, which some writers use for the spaces
        // between words.
        for chunk in bytes.chunks(step) {
            let code = code_of(chunk);
            self.glyphs += 1;
            text.clear();
            match font.unicode(code) {
                // A map to the replacement character maps nothing.
                Some(s) if s.contains('\u{fffd}') => unmapped += 1,
                Some(s) => {
                    for c in s.chars() {
                        match c {
                            '\t' => text.push(' '),
                            // Control characters, and the private use
                            // area where symbol fonts put bullets and
                            // icons: nothing a reader reads.
                            c if c.is_control() || ('\u{e000}'..='\u{f8ff}').contains(&c) => {}
                            c => text.push(c),
                        }
                    }
                }
                None => unmapped += 1,
            }
            // `translate(x, 0) × Tm × CTM` has its origin at `start + x·(a, b)`.
            let at = |x: f64| (start.e + x * start.a, start.f + x * start.b);
            let width = font.width(code) * state.size * state.scale;
            let glyph_start = at(pen);
            let glyph_end = at(pen + width);
            let space_gap = if font.estimated && page.moved {
                GUESSED_SPACE_GAP
            } else {
                SPACE_GAP
            };
            page.push(glyph_start, glyph_end, size, direction, space_gap, &text);
            let mut advance = font.width(code) * state.size + state.char_spacing;
            if step == 1 && code == 32 {
                advance += state.word_spacing;
            }
            pen += advance * state.scale;
        }
        *tm = Matrix::translate(pen, 0.0).then(*tm);
        if unmapped > 0 {
            self.unmapped
                .entry(font.label.clone())
                .or_insert((number, 0))
                .1 += unmapped;
        }
    }

    pub(super) fn font(&mut self, resources: &[&'d Dictionary], name: &[u8]) -> Option<Rc<Font>> {
        let (_, object) = self.resource(resources, b"Font", name)?;
        let dict = object.as_dict().ok()?;
        let key = std::ptr::from_ref(dict) as usize;
        if let Some(font) = self.fonts.get(&key) {
            return Some(font.clone());
        }
        let font = Rc::new(load_font(self.doc, name, dict, &mut self.names));
        self.fonts.insert(key, font.clone());
        Some(font)
    }

    /// A named resource of a category (`/Font`, `/XObject`), from the
    /// innermost resource dictionary that has it.
    pub(super) fn resource(
        &self,
        resources: &[&'d Dictionary],
        category: &[u8],
        name: &[u8],
    ) -> Option<(Option<ObjectId>, &'d Object)> {
        let doc = self.doc;
        resources.iter().find_map(|r| {
            let (_, names) = doc.dereference(r.get(category).ok()?).ok()?;
            let object = names.as_dict().ok()?.get(name).ok()?;
            doc.dereference(object).ok()
        })
    }

    /// `garbled` when most glyphs shown have no Unicode value.
    pub(super) fn unmapped_failure(&self) -> Option<Failure> {
        let unmapped: usize = self.unmapped.values().map(|(_, n)| n).sum();
        if self.glyphs == 0 || unmapped.saturating_mul(2) <= self.glyphs {
            return None;
        }
        let mut fonts: Vec<(&String, &(usize, usize))> =
            self.unmapped.iter().filter(|(_, (_, n))| *n > 0).collect();
        fonts.sort_by_key(|font| std::cmp::Reverse(font.1.1));
        let named: Vec<String> = fonts
            .iter()
            .take(3)
            .map(|(label, (page, _))| format!("{label} from page {page}"))
            .collect();
        let more = fonts.len().saturating_sub(3);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Some(Failure::new(
            FailureKind::Garbled,
            format!(
                "{unmapped} of {} characters shown ({:.0}%) have no Unicode value: fonts without a \
                 /ToUnicode map or a named encoding ({}{more}); the text cannot be read, run OCR on it",
                self.glyphs,
                unmapped as f64 * 100.0 / self.glyphs as f64,
                named.join(", ")
            ),
        ))
    }
}

pub(super) fn number_of(object: &Object) -> Option<f64> {
    number(object)
}

/// A page's resource dictionaries, its own first, then those it inherits.
pub(super) fn page_resources(doc: &Document, page_id: ObjectId) -> Vec<&Dictionary> {
    let Ok((own, inherited)) = doc.get_page_resources(page_id) else {
        return Vec::new();
    };
    own.into_iter()
        .chain(
            inherited
                .iter()
                .filter_map(|id| doc.get_dictionary(*id).ok()),
        )
        .collect()
}
