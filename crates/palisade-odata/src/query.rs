//! The system query options of a request (`$filter`, `$top`, …): parsing from the raw query string,
//! validation against a schema, `$select` projection and `@odata.nextLink` construction.

use serde_json::{Map, Value};

use crate::lexer::{Tok, tokenize};
use crate::{Expr, Filter, ODataError, Property, Schema, parse_filter};

/// Sort direction of one `$orderby` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `asc` (the default when omitted).
    #[default]
    Asc,
    /// `desc`.
    Desc,
}

/// The OData system query options of one request.
///
/// Produced by [`QueryOptions::parse`] (syntax only) or [`QueryOptions::parse_for`] (syntax plus
/// schema checks, `$top` clamping and property names rewritten to the schema's casing).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryOptions {
    /// `$filter`, parsed.
    pub filter: Option<Expr>,
    /// `$top`; after validation never above the schema's `max_top`.
    pub top: Option<u32>,
    /// `$skip`.
    pub skip: Option<u32>,
    /// `$select` property names; `None` when absent or `*` (all properties).
    pub select: Option<Vec<String>>,
    /// `$orderby` items in order.
    pub orderby: Vec<(String, Direction)>,
    /// `$expand` navigation names (e.g. `evidence` on alerts); check with
    /// [`QueryOptions::check_expand`], since expandable names are per endpoint.
    pub expand: Vec<String>,
    /// `$count=true`: the caller should add `@odata.count`.
    pub count: bool,
}

const OPTIONS: &[&str] = &["$filter", "$top", "$skip", "$select", "$orderby", "$expand", "$count"];

impl QueryOptions {
    /// Parses a raw URL query string (with or without the leading `?`): splits on `&`, percent-decodes
    /// keys and values (`+` is a space) and parses every `$`-option. System option names are
    /// case-insensitive. Parameters without `$` belong to the endpoint and are ignored; unknown or
    /// repeated `$`-options are errors.
    pub fn parse(query: &str) -> Result<QueryOptions, ODataError> {
        let mut q = QueryOptions::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for pair in query.strip_prefix('?').unwrap_or(query).split('&') {
            if pair.is_empty() {
                continue;
            }
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let Ok(key) = decode(raw_key) else { continue };
            if !key.starts_with('$') {
                continue;
            }
            let Some(&name) = OPTIONS.iter().find(|o| o.eq_ignore_ascii_case(&key)) else {
                return Err(ODataError::UnsupportedOption(key));
            };
            if seen.contains(&name) {
                return Err(ODataError::DuplicateOption(name.to_string()));
            }
            seen.push(name);
            let value = decode(raw_value)?;
            match name {
                "$filter" => q.filter = Some(parse_filter(&value)?),
                "$top" => q.top = Some(parse_count(name, &value, true)?),
                "$skip" => q.skip = Some(parse_count(name, &value, false)?),
                "$select" => {
                    q.select = if value.trim() == "*" { None } else { Some(parse_names(&value)?) };
                }
                "$orderby" => q.orderby = parse_orderby(&value)?,
                "$expand" => q.expand = parse_names(&value)?,
                "$count" => {
                    q.count = match value.trim().to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ODataError::InvalidValue {
                                option: name.to_string(),
                                value,
                                reason: "expected true or false".to_string(),
                            });
                        }
                    }
                }
                _ => unreachable!("every name in OPTIONS is handled"),
            }
        }
        Ok(q)
    }

    /// [`QueryOptions::parse`] followed by [`QueryOptions::validate`]: what an endpoint handler calls.
    pub fn parse_for(query: &str, schema: &Schema) -> Result<QueryOptions, ODataError> {
        let mut q = QueryOptions::parse(query)?;
        q.validate(schema)?;
        Ok(q)
    }

    /// Checks every property named in `$filter` (filterable, type-correct), `$orderby` (sortable)
    /// and `$select` (exists) against `schema`, rewrites the names to the schema's spelling (clients
    /// may write `ComputerDnsName`), and clamps `$top` to `max_top` (spec §5, marked \[infer\]: clamp rather
    /// than reject).
    pub fn validate(&mut self, schema: &Schema) -> Result<(), ODataError> {
        if let Some(f) = &mut self.filter {
            Filter::new(f, schema)?;
            f.rename_properties(&|n| schema.property(n).map(|p| p.name));
        }
        for (name, _) in &mut self.orderby {
            *name = sortable_property(schema, name)?.name.to_string();
        }
        // A property sorted on again changes nothing (its ties are already broken); dropping the
        // repeats keeps the ORDER BY within the schema's size, never past SQLite's 2,000 terms.
        let mut seen = std::collections::HashSet::new();
        self.orderby.retain(|(name, _)| seen.insert(name.clone()));
        if let Some(select) = &mut self.select {
            let mut canonical: Vec<String> = Vec::with_capacity(select.len());
            for name in select.iter() {
                let p = schema.property(name).ok_or_else(|| ODataError::UnknownProperty {
                    name: name.clone(),
                    entity_set: schema.entity_set.to_string(),
                    option: "$select",
                    allowed: schema.names(),
                })?;
                if !canonical.iter().any(|c| c == p.name) {
                    canonical.push(p.name.to_string());
                }
            }
            *select = canonical;
        }
        if let Some(top) = &mut self.top {
            *top = (*top).min(schema.max_top);
        }
        Ok(())
    }

    /// The checked `$filter`, ready for [`Filter::to_sql`] / [`Filter::matches`]; `None` if absent.
    pub fn compiled_filter(&self, schema: &Schema) -> Result<Option<Filter>, ODataError> {
        self.filter.as_ref().map(|f| Filter::new(f, schema)).transpose()
    }

    /// Rows to return: `$top` if given (clamped), else the schema's `max_top` (spec §5, marked \[infer\]: the
    /// default page size is the maximum page size).
    pub fn page_size(&self, schema: &Schema) -> u32 {
        self.top.unwrap_or(schema.max_top).min(schema.max_top)
    }

    /// Rejects `$expand` names not in `allowed` (matched case-insensitively) and rewrites accepted
    /// ones to the spelling in `allowed`. Endpoints without navigation properties pass `&[]`.
    pub fn check_expand(&mut self, entity_set: &str, allowed: &[&'static str]) -> Result<(), ODataError> {
        for name in &mut self.expand {
            match allowed.iter().find(|a| a.eq_ignore_ascii_case(name)) {
                Some(a) => *name = a.to_string(),
                None => {
                    return Err(ODataError::UnknownProperty {
                        name: name.clone(),
                        entity_set: entity_set.to_string(),
                        option: "$expand",
                        allowed: allowed.to_vec(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The properties to project for `$select`, in the schema's spelling, or `None` for all.
    pub fn selected(&self, schema: &Schema) -> Result<Option<Vec<&'static str>>, ODataError> {
        let Some(select) = &self.select else { return Ok(None) };
        select
            .iter()
            .map(|n| {
                schema.property(n).map(|p| p.name).ok_or_else(|| ODataError::UnknownProperty {
                    name: n.clone(),
                    entity_set: schema.entity_set.to_string(),
                    option: "$select",
                    allowed: schema.names(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

pub(crate) fn sortable_property(schema: &Schema, name: &str) -> Result<&'static Property, ODataError> {
    match schema.property(name) {
        None => Err(ODataError::UnknownProperty {
            name: name.to_string(),
            entity_set: schema.entity_set.to_string(),
            option: "$orderby",
            allowed: schema.sortable_names(),
        }),
        Some(p) if !p.sortable || p.kind == crate::Kind::StringCollection => Err(ODataError::PropertyNotAllowed {
            name: p.name.to_string(),
            entity_set: schema.entity_set.to_string(),
            option: "$orderby",
            allowed: schema.sortable_names(),
        }),
        Some(p) => Ok(p),
    }
}

/// Percent-decodes one query component; `+` means space. A `%` not followed by two hex digits is
/// kept literally (lenient, like browsers), but the result must be UTF-8.
fn decode(s: &str) -> Result<String, ODataError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ODataError::Encoding(format!("'{s}' does not decode to UTF-8 text")))
}

fn parse_count(option: &str, value: &str, saturate: bool) -> Result<u32, ODataError> {
    let v = value.trim();
    let invalid = |reason: &str| ODataError::InvalidValue {
        option: option.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("expected a non-negative integer"));
    }
    match v.parse::<u32>() {
        Ok(n) => Ok(n),
        Err(_) if saturate => Ok(u32::MAX),
        Err(_) => Err(invalid("the number is too large")),
    }
}

/// `name (, name)*` for `$select` / `$expand`.
fn parse_names(value: &str) -> Result<Vec<String>, ODataError> {
    let toks = tokenize(value)?;
    let mut names = Vec::new();
    let mut i = 0;
    loop {
        match &toks[i].tok {
            Tok::Ident(w) => names.push(w.clone()),
            _ => return Err(ODataError::syntax(value, toks[i].pos, "a property name", toks[i].describe())),
        }
        i += 1;
        match toks[i].tok {
            Tok::End => return Ok(names),
            Tok::Comma => i += 1,
            _ => return Err(ODataError::syntax(value, toks[i].pos, "',' or end of input", toks[i].describe())),
        }
    }
}

/// `name [asc|desc] (, name [asc|desc])*`, keywords case-insensitive.
fn parse_orderby(value: &str) -> Result<Vec<(String, Direction)>, ODataError> {
    let toks = tokenize(value)?;
    let mut items = Vec::new();
    let mut i = 0;
    loop {
        let name = match &toks[i].tok {
            Tok::Ident(w) => w.clone(),
            _ => return Err(ODataError::syntax(value, toks[i].pos, "a property name", toks[i].describe())),
        };
        i += 1;
        let mut dir = Direction::Asc;
        if let Tok::Ident(w) = &toks[i].tok {
            if w.eq_ignore_ascii_case("asc") {
                i += 1;
            } else if w.eq_ignore_ascii_case("desc") {
                dir = Direction::Desc;
                i += 1;
            } else {
                return Err(ODataError::syntax(
                    value,
                    toks[i].pos,
                    "'asc', 'desc', ',' or end of input",
                    toks[i].describe(),
                ));
            }
        }
        items.push((name, dir));
        match toks[i].tok {
            Tok::End => return Ok(items),
            Tok::Comma => i += 1,
            _ => return Err(ODataError::syntax(value, toks[i].pos, "',' or end of input", toks[i].describe())),
        }
    }
}

/// Keeps only the `$select`ed properties of an entity (plus `@odata.*` annotations), in the order
/// given. Properties missing from the entity are emitted as `null`, as the API emits nulls
/// explicitly (spec §4).
pub fn project(entity: &Value, names: &[&str]) -> Value {
    let Some(obj) = entity.as_object() else { return entity.clone() };
    let mut out = Map::new();
    for (k, v) in obj {
        if k.starts_with('@') {
            out.insert(k.clone(), v.clone());
        }
    }
    for name in names {
        out.insert((*name).to_string(), obj.get(*name).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// The `@odata.nextLink` for a page, or `None` when this was the last page.
///
/// `request_url` is the URL the client called (absolute, so the link echoes its host), `skip` and
/// `top` the effective `$skip` (0 if absent) and page size, and `returned` the number of rows
/// fetched. A page is considered possibly-not-last when `returned >= top`, so a store may fetch
/// `top + 1` rows to avoid emitting a link to an empty page. The link is the same URL with `$skip`
/// replaced (or added) as `skip + top`; every other parameter is kept byte-for-byte (spec §5
/// \[infer\]: keep `$top`/`$filter`/`$select`). Any `#fragment` is dropped.
pub fn next_link(request_url: &str, skip: u32, top: u32, returned: usize) -> Option<String> {
    if top == 0 || returned < top as usize {
        return None;
    }
    let next = skip.checked_add(top)?;
    let url = request_url.split('#').next().unwrap_or(request_url);
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut parts: Vec<String> = Vec::new();
    let mut placed = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split('=').next().unwrap_or(pair);
        if decode(key).is_ok_and(|k| k.eq_ignore_ascii_case("$skip")) {
            if !placed {
                parts.push(format!("$skip={next}"));
                placed = true;
            }
            continue;
        }
        parts.push(pair.to_string());
    }
    if !placed {
        parts.push(format!("$skip={next}"));
    }
    Some(format!("{base}?{}", parts.join("&")))
}
