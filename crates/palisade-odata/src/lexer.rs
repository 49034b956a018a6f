//! Tokeniser for `$filter` (and the identifier lists of `$orderby`/`$select`/`$expand`).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::ODataError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Guid(String),
    DateTime(OffsetDateTime),
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 0-based character offset of the first character.
    pub pos: usize,
    /// Source text of the token, for messages.
    pub text: String,
}

impl Token {
    /// How the token is shown after "found" in syntax errors.
    pub fn describe(&self) -> Option<String> {
        match self.tok {
            Tok::End => None,
            Tok::Str(_) => Some(self.text.clone()),
            _ => Some(format!("'{}'", self.text)),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, ODataError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            ':' => Some(Tok::Colon),
            '/' => Some(Tok::Slash),
            _ => None,
        };
        if let Some(tok) = single {
            i += 1;
            out.push(Token { tok, pos: start, text: c.to_string() });
            continue;
        }
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ODataError::syntax(
                            input,
                            chars.len(),
                            format!("closing quote of the string literal starting at position {start}"),
                            None,
                        ));
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Token { tok: Tok::Str(s), pos: start, text: text(start, i) });
            continue;
        }
        if let Some(end) = scan_guid(&chars, i) {
            let g = text(i, end);
            i = end;
            out.push(Token { tok: Tok::Guid(g.clone()), pos: start, text: g });
            continue;
        }
        if let Some((dt, end)) = scan_datetime(&chars, i)
            .map_err(|(pos, what)| ODataError::syntax(input, pos, what, chars.get(pos).map(|c| format!("'{c}'"))))?
        {
            i = end;
            out.push(Token { tok: Tok::DateTime(dt), pos: start, text: text(start, end) });
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let (tok, end) = scan_number(input, &chars, i)?;
            i = end;
            out.push(Token { tok, pos: start, text: text(start, end) });
            continue;
        }
        if is_ident_start(c) {
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word = text(start, i);
            out.push(Token { tok: Tok::Ident(word.clone()), pos: start, text: word });
            continue;
        }
        return Err(ODataError::syntax(input, start, "an expression", Some(format!("'{c}'"))));
    }
    out.push(Token { tok: Tok::End, pos: chars.len(), text: String::new() });
    Ok(out)
}

fn scan_number(input: &str, chars: &[char], start: usize) -> Result<(Tok, usize), ODataError> {
    let mut i = start;
    if chars[i] == '-' {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    digits(&mut i);
    let mut float = false;
    if chars.get(i) == Some(&'.') {
        i += 1;
        if !digits(&mut i) {
            return Err(ODataError::syntax(input, i, "a digit after the decimal point", found_char(chars, i)));
        }
        float = true;
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        i += 1;
        if matches!(chars.get(i), Some('+' | '-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return Err(ODataError::syntax(input, i, "a digit in the exponent", found_char(chars, i)));
        }
        float = true;
    }
    if chars.get(i).is_some_and(|&c| is_ident_char(c) || c == '.') {
        return Err(ODataError::syntax(input, i, "a delimiter after the number", found_char(chars, i)));
    }
    let s: String = chars[start..i].iter().collect();
    let tok = if float {
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Tok::Float(x),
            _ => return Err(ODataError::syntax(input, start, "a finite number", Some(format!("'{s}'")))),
        }
    } else {
        match s.parse::<i64>() {
            Ok(n) => Tok::Int(n),
            Err(_) => {
                return Err(ODataError::syntax(input, start, "an integer within 64 bits", Some(format!("'{s}'"))));
            }
        }
    };
    Ok((tok, i))
}

fn found_char(chars: &[char], i: usize) -> Option<String> {
    chars.get(i).map(|c| format!("'{c}'"))
}

/// Recognises `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` starting at `i`, not followed by an identifier
/// character. Returns the end offset.
fn scan_guid(chars: &[char], i: usize) -> Option<usize> {
    let end = i + 36;
    if chars.len() < end {
        return None;
    }
    for (k, c) in chars[i..end].iter().enumerate() {
        let ok = if matches!(k, 8 | 13 | 18 | 23) { *c == '-' } else { c.is_ascii_hexdigit() };
        if !ok {
            return None;
        }
    }
    if chars.get(end).is_some_and(|&c| is_ident_char(c) || c == '-') {
        return None;
    }
    Some(end)
}

fn fixed_digits(chars: &[char], i: usize, n: usize) -> Option<u32> {
    let s = chars.get(i..i + n)?;
    if !s.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(s.iter().fold(0u32, |acc, c| acc * 10 + c.to_digit(10).unwrap_or(0)))
}

type ScanError = (usize, String);

/// Recognises a datetime literal at `i`: `YYYY-MM-DD` followed by `Thh:mm[:ss[.fffffff]]` and an
/// optional `Z`/`±hh:mm` offset, or by `Z` alone (the doc's `2018-08-01Z`), or by nothing (a plain
/// date). Missing offsets mean UTC. An offset whose `+` was decoded to a space (`…T10:00:00 02:00`,
/// from clients that forget to escape `+`) is accepted too. Returns `Ok(None)` if the text does not
/// start like a date at all, and an error if it starts like one but is malformed.
pub(crate) fn scan_datetime(chars: &[char], i: usize) -> Result<Option<(OffsetDateTime, usize)>, ScanError> {
    let (Some(year), Some('-')) = (fixed_digits(chars, i, 4), chars.get(i + 4)) else {
        return Ok(None);
    };
    if chars.get(i + 5).is_some_and(|c| !c.is_ascii_digit()) {
        return Ok(None);
    }
    let month = fixed_digits(chars, i + 5, 2).ok_or((i + 5, "a two-digit month".to_string()))?;
    if chars.get(i + 7) != Some(&'-') {
        return Err((i + 7, "'-' in date".to_string()));
    }
    let day = fixed_digits(chars, i + 8, 2).ok_or((i + 8, "a two-digit day".to_string()))?;
    let date = Month::try_from(month as u8)
        .ok()
        .and_then(|m| Date::from_calendar_date(year as i32, m, day as u8).ok())
        .ok_or((i, "a valid calendar date".to_string()))?;
    let mut j = i + 10;
    let mut time = Time::MIDNIGHT;
    let mut offset = UtcOffset::UTC;
    match chars.get(j) {
        Some('T' | 't') => {
            j += 1;
            let hour = fixed_digits(chars, j, 2).ok_or((j, "a two-digit hour".to_string()))?;
            if chars.get(j + 2) != Some(&':') {
                return Err((j + 2, "':' in time".to_string()));
            }
            let minute = fixed_digits(chars, j + 3, 2).ok_or((j + 3, "two-digit minutes".to_string()))?;
            j += 5;
            let mut second = 0;
            let mut nanos = 0u32;
            if chars.get(j) == Some(&':') {
                second = fixed_digits(chars, j + 1, 2).ok_or((j + 1, "two-digit seconds".to_string()))?;
                j += 3;
                if chars.get(j) == Some(&'.') {
                    j += 1;
                    let s = j;
                    while chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
                        j += 1;
                    }
                    if j == s {
                        return Err((j, "fractional seconds".to_string()));
                    }
                    // Keep nanosecond precision; extra digits are ignored.
                    let frac: String = chars[s..j].iter().take(9).collect();
                    let scale = 10u32.pow(9 - frac.len() as u32);
                    nanos = frac.parse::<u32>().unwrap_or(0) * scale;
                }
            }
            time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos)
                .map_err(|_| (i + 11, "a valid time of day".to_string()))?;
            match chars.get(j) {
                Some('Z' | 'z') => j += 1,
                Some(&sign @ ('+' | '-')) => {
                    let (off, end) = scan_offset(chars, j + 1, sign == '-')?;
                    offset = off;
                    j = end;
                }
                Some(' ') if fixed_digits(chars, j + 1, 2).is_some() && chars.get(j + 3) == Some(&':') => {
                    let (off, end) = scan_offset(chars, j + 1, false)?;
                    offset = off;
                    j = end;
                }
                _ => {}
            }
        }
        Some('Z' | 'z') => j += 1,
        _ => {}
    }
    if chars.get(j).is_some_and(|&c| is_ident_char(c) || c == '.' || c == ':') {
        return Err((j, "end of datetime literal".to_string()));
    }
    Ok(Some((PrimitiveDateTime::new(date, time).assume_offset(offset), j)))
}

fn scan_offset(chars: &[char], j: usize, negative: bool) -> Result<(UtcOffset, usize), ScanError> {
    let h = fixed_digits(chars, j, 2).ok_or((j, "a two-digit offset hour".to_string()))?;
    if chars.get(j + 2) != Some(&':') {
        return Err((j + 2, "':' in offset".to_string()));
    }
    let m = fixed_digits(chars, j + 3, 2).ok_or((j + 3, "two-digit offset minutes".to_string()))?;
    let sign = if negative { -1 } else { 1 };
    let off = UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).map_err(|_| (j, "a valid offset".to_string()))?;
    Ok((off, j + 5))
}

/// Parses a complete datetime string the way `$filter` literals are parsed.
pub(crate) fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let chars: Vec<char> = s.trim().chars().collect();
    match scan_datetime(&chars, 0) {
        Ok(Some((dt, end))) if end == chars.len() => Some(dt),
        _ => None,
    }
}

/// Unix milliseconds of an instant, rounded toward negative infinity (so sub-millisecond digits are
/// simply dropped, the same way for stored values and literals).
pub(crate) fn to_millis(dt: OffsetDateTime) -> i64 {
    dt.unix_timestamp_nanos().div_euclid(1_000_000) as i64
}
