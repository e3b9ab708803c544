//! `/ToUnicode` CMaps, read by a bounded parser of our own.

use super::*;

#[derive(Debug, PartialEq)]
pub(super) enum Token<'a> {
    Hex(Vec<u8>),
    Word(&'a [u8]),
    Open,
    Close,
}

/// The tokens of a CMap; literal strings and comments skipped.
pub(super) fn cmap_tokens(data: &[u8]) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    let delimiter = |b: u8| b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b);
    while let Some(&b) = data.get(i) {
        match b {
            b if b.is_ascii_whitespace() => i += 1,
            b'%' => {
                while data.get(i).is_some_and(|&b| b != b'\n' && b != b'\r') {
                    i += 1;
                }
            }
            b'[' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b']' => {
                tokens.push(Token::Close);
                i += 1;
            }
            b'<' if data.get(i + 1) == Some(&b'<') => i += 2,
            b'>' => i += 1,
            b'<' => {
                let start = i + 1;
                let end = data
                    .get(start..)
                    .and_then(|rest| rest.iter().position(|&b| b == b'>'))
                    .map_or(data.len(), |p| start + p);
                tokens.push(Token::Hex(hex_bytes(data.get(start..end).unwrap_or(&[]))));
                i = end + 1;
            }
            b'(' => {
                let mut depth = 0usize;
                while let Some(&c) = data.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                let start = i;
                i += 1;
                while data.get(i).is_some_and(|&b| !delimiter(b)) {
                    i += 1;
                }
                tokens.push(Token::Word(data.get(start..i).unwrap_or(&[])));
            }
        }
    }
    tokens
}

pub(super) fn hex_bytes(hex: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .iter()
        .filter_map(|b| (*b as char).to_digit(16))
        .map(|d| d as u8)
        .collect();
    digits
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => hi << 4 | lo,
            [hi] => hi << 4,
            _ => 0,
        })
        .collect()
}

pub(super) fn code_of(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |code, b| code << 8 | u32::from(*b))
}

pub(super) fn utf16_text(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => u16::from_be_bytes([*hi, *lo]),
            [lo] => u16::from(*lo),
            _ => 0,
        })
        .collect();
    String::from_utf16_lossy(&units)
}

/// A `/ToUnicode` CMap's `bfchar` and `bfrange` entries, code → text. A
/// one-byte font's codes are its bytes; a Type0 font's are two bytes.
pub(super) fn parse_cmap(data: &[u8], two_byte: bool) -> HashMap<u32, String> {
    let tokens = cmap_tokens(data);
    let mut map = HashMap::new();
    // Overlapping ranges rewrite entries without growing the map: the work
    // is bounded too.
    let mut work = 0usize;
    let mut i = 0;
    let keep = |bytes: &[u8]| two_byte || bytes.len() <= 1;
    while let Some(token) = tokens.get(i) {
        i += 1;
        match token {
            Token::Word(b"beginbfchar") => {
                while let (Some(Token::Hex(src)), Some(Token::Hex(dst))) =
                    (tokens.get(i), tokens.get(i + 1))
                {
                    if keep(src) && map.len() < MAX_MAP_ENTRIES {
                        map.insert(code_of(src), utf16_text(dst));
                    }
                    i += 2;
                }
            }
            Token::Word(b"beginbfrange") => {
                while let (Some(Token::Hex(lo)), Some(Token::Hex(hi))) =
                    (tokens.get(i), tokens.get(i + 1))
                {
                    let (lo_code, hi_code) = (code_of(lo), code_of(hi));
                    let span = hi_code.saturating_sub(lo_code) as usize;
                    match tokens.get(i + 2) {
                        Some(Token::Hex(dst)) => {
                            i += 3;
                            if !keep(lo) {
                                continue;
                            }
                            let mut units: Vec<u16> = dst
                                .chunks(2)
                                .map(|p| match p {
                                    [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                                    [lo] => u16::from(*lo),
                                    _ => 0,
                                })
                                .collect();
                            for k in 0..=span {
                                work += 1;
                                if map.len() >= MAX_MAP_ENTRIES || work > 4 * MAX_MAP_ENTRIES {
                                    break;
                                }
                                map.insert(
                                    lo_code.saturating_add(k as u32),
                                    String::from_utf16_lossy(&units),
                                );
                                if let Some(last) = units.last_mut() {
                                    *last = last.wrapping_add(1);
                                }
                            }
                        }
                        Some(Token::Open) => {
                            i += 3;
                            let mut k = 0u32;
                            while let Some(Token::Hex(dst)) = tokens.get(i) {
                                if keep(lo) && map.len() < MAX_MAP_ENTRIES {
                                    map.insert(lo_code.saturating_add(k), utf16_text(dst));
                                }
                                k = k.saturating_add(1);
                                i += 1;
                            }
                            if tokens.get(i) == Some(&Token::Close) {
                                i += 1;
                            }
                        }
                        _ => break,
                    }
                }
            }
            _ => {}
        }
    }
    map
}
