//! Request bodies read the way CB-Tumblebug's Go `encoding/json` reads them.
//!
//! Existing clients and test scripts rely on Go's forgiving decoder and on CB-Tumblebug having
//! switched some fields between string and integer across versions, so a strict serde decode
//! would reject requests the Go server accepts. The rules, applied at every depth:
//!
//! * object keys match struct fields case-insensitively; an exact match wins over a folded one,
//!   and among folded matches the first key (in map order) wins;
//! * unknown keys are ignored (unless the type denies them); `null` for a field is as if absent;
//! * integers and floats accept numbers and numeric strings (`"3"`, `" 3 "`, `"3.0"`); floats
//!   fill integers only when integral; an empty string is zero;
//! * strings accept numbers (`50` becomes `"50"`); booleans accept `"true"`/`"false"` in any
//!   case; `null` anywhere else leaves the zero value, as Go does;
//! * enum variant names (and the key of an externally tagged variant) match case-insensitively.
//!
//! The leniency lives in a serde `Deserializer` over [`serde_json::Value`]: serde hands the
//! field and variant names to `deserialize_struct`/`deserialize_enum`, which is where keys are
//! renamed. Types that buffer their input through serde's private `Content` (untagged or
//! internally tagged enums, `#[serde(flatten)]`) see the values but lose key renaming below
//! that point.

use std::collections::HashMap;
use std::fmt::{self, Display};

use serde::de::value::StringDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::{Map, Number, Value};

/// Most levels of nested arrays and objects accepted; deeper input is an error rather than a
/// stack overflow. (`from_slice` is already held to 127 by `serde_json`'s own parser limit.)
pub const MAX_DEPTH: usize = 128;

/// Longest string quoted back in an error message; the rest is elided.
const QUOTE_LIMIT: usize = 40;

/// Why a request body could not be read into the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LenientError {
    /// The bytes are not a JSON document.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line of the offending byte.
        line: usize,
        /// 1-based column of the offending byte (0 when the input ended early).
        column: usize,
        /// What the parser found wrong.
        message: String,
    },
    /// Well-formed JSON whose content does not fit the expected type.
    #[error("{}", located(.path, .message))]
    Invalid {
        /// Where in the document, e.g. `subGroups[0].subGroupSize`; empty for the whole body.
        path: String,
        /// What is wrong there, e.g. `expected an integer, got "abc"`.
        message: String,
    },
}

impl LenientError {
    /// The location of an [`LenientError::Invalid`] error, `None` for malformed JSON.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Malformed { .. } => None,
            Self::Invalid { path, .. } => Some(path),
        }
    }
}

fn located(path: &str, message: &str) -> String {
    if path.is_empty() { message.to_owned() } else { format!("{path}: {message}") }
}

/// Parses `bytes` as JSON and reads it into `T` with Go-like leniency.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, LenientError> {
    let value: Value = serde_json::from_slice(bytes).map_err(malformed)?;
    from_value(value)
}

/// Reads an already parsed JSON value into `T` with Go-like leniency.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, LenientError> {
    T::deserialize(Lenient { value, path: &Path::Root, depth: 0 })
        .map_err(|e| LenientError::Invalid { path: e.path.unwrap_or_default(), message: e.message })
}

fn malformed(error: serde_json::Error) -> LenientError {
    let (line, column) = (error.line(), error.column());
    let full = error.to_string();
    // serde_json appends the position to its message; it is reported in separate fields.
    let suffix = format!(" at line {line} column {column}");
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    LenientError::Malformed { line, column, message }
}

/// Where the value being read sits in the document; a stack-allocated linked list so that
/// nothing is rendered unless an error needs it.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut at = self;
        loop {
            match at {
                Path::Root => break,
                Path::Key(parent, key) => {
                    segments.push(Segment::Key(key));
                    at = parent;
                }
                Path::Index(parent, index) => {
                    segments.push(Segment::Index(*index));
                    at = parent;
                }
            }
        }
        let mut out = String::new();
        for segment in segments.iter().rev() {
            match segment {
                Segment::Key(key) if is_plain_key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Segment::Key(key) => out.push_str(&format!("[{key:?}]")),
                Segment::Index(index) => out.push_str(&format!("[{index}]")),
            }
        }
        out
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Keys that read unambiguously after a dot; others (label keys like `app.io/name`) are quoted.
fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// The error type seen by serde while reading; becomes [`LenientError::Invalid`].
#[derive(Debug)]
struct DeError {
    /// Set by the innermost reader the error passes through, so it names the deepest location.
    path: Option<String>,
    message: String,
}

impl DeError {
    fn at(mut self, path: &Path<'_>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.render());
        }
        self
    }
}

impl Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&located(self.path.as_deref().unwrap_or(""), &self.message))
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: Display>(msg: T) -> Self {
        Self { path: None, message: msg.to_string() }
    }
}

fn expected(what: &str, got: &Value) -> DeError {
    de::Error::custom(format_args!("expected {what}, got {}", describe(got)))
}

/// A short rendering of a JSON value for error messages; long strings are cut so that a large
/// (or secret) value is not echoed back whole.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() > QUOTE_LIMIT => {
            let head: String = s.chars().take(QUOTE_LIMIT).collect();
            format!("{head:?}...")
        }
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Go's field matching folds case; Unicode-aware so that non-ASCII names behave the same way.
fn fold_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// The name `key` refers to: an exact match first, then a case-folded one.
fn resolve<'n>(key: &str, names: &[&'n str]) -> Option<&'n str> {
    let exact = names.iter().find(|name| **name == key);
    exact.or_else(|| names.iter().find(|name| fold_eq(name, key))).copied()
}

fn integer_of(value: &Value) -> Option<i128> {
    match value {
        Value::Null => Some(0),
        Value::Number(n) => number_to_integer(n),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Some(0);
            }
            s.parse::<i128>().ok().or_else(|| s.parse::<f64>().ok().and_then(float_to_integer))
        }
        _ => None,
    }
}

fn number_to_integer(n: &Number) -> Option<i128> {
    n.as_u64().map(i128::from).or_else(|| n.as_i64().map(i128::from)).or_else(|| n.as_f64().and_then(float_to_integer))
}

fn float_to_integer(f: f64) -> Option<i128> {
    // 2^127 bounds i128; beyond it the cast would saturate silently.
    let bound = 2f64.powi(127);
    (f.is_finite() && f.fract() == 0.0 && f.abs() < bound).then_some(f as i128)
}

fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Null => Some(0.0),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Some(0.0);
            }
            s.parse::<f64>().ok().filter(|f| f.is_finite())
        }
        _ => None,
    }
}

fn bool_of(value: &Value) -> Option<bool> {
    match value {
        Value::Null => Some(false),
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || s.eq_ignore_ascii_case("false") {
                Some(false)
            } else if s.eq_ignore_ascii_case("true") {
                Some(true)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Drops a value without recursing: a value given to [`from_value`] may be nested deeper than
/// any parser allows, and the frame dropping it may already be [`MAX_DEPTH`] levels down.
fn drop_iteratively(value: Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(object) => pending.extend(object.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// The lenient reader for one JSON value at one place in the document.
struct Lenient<'a> {
    value: Value,
    path: &'a Path<'a>,
    depth: usize,
}

impl<'a> Lenient<'a> {
    /// Runs one read, refusing runaway nesting and stamping any error with this location.
    fn located<R>(self, read: impl FnOnce(Self) -> Result<R, DeError>) -> Result<R, DeError> {
        let path = self.path;
        let nests = matches!(self.value, Value::Array(_) | Value::Object(_));
        if nests && self.depth >= MAX_DEPTH {
            let error: DeError =
                de::Error::custom(format_args!("more than {MAX_DEPTH} levels of nested arrays and objects"));
            drop_iteratively(self.value);
            return Err(error.at(path));
        }
        read(self).map_err(|e| e.at(path))
    }

    fn integer<'de, V: Visitor<'de>>(self, wide: bool, visitor: V) -> Result<V::Value, DeError> {
        let Some(n) = integer_of(&self.value) else {
            return Err(expected("an integer", &self.value));
        };
        if let Ok(n) = u64::try_from(n) {
            visitor.visit_u64(n)
        } else if let Ok(n) = i64::try_from(n) {
            visitor.visit_i64(n)
        } else if wide {
            visitor.visit_i128(n)
        } else {
            Err(expected("an integer in range", &self.value))
        }
    }

    fn float<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match float_of(&self.value) {
            Some(f) => visitor.visit_f64(f),
            None => Err(expected("a number", &self.value)),
        }
    }

    fn boolean<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match bool_of(&self.value) {
            Some(b) => visitor.visit_bool(b),
            None => Err(expected("a boolean", &self.value)),
        }
    }

    fn string<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_string(String::new()),
            Value::String(s) => visitor.visit_string(s),
            Value::Number(n) => visitor.visit_string(n.to_string()),
            other => Err(expected("a string", &other)),
        }
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else if let Some(f) = n.as_f64() {
                    visitor.visit_f64(f)
                } else {
                    Err(expected("a representable number", &Value::Number(n)))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visitor.visit_seq(Elements::new(items, self.path, self.depth)),
            Value::Object(object) => visitor.visit_map(Entries::of_map(object, self.path, self.depth)),
        }
    }

    fn seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            // Go leaves a nil slice; an empty sequence is the closest Rust value.
            Value::Null => visitor.visit_seq(Elements::new(Vec::new(), self.path, self.depth)),
            Value::Array(items) => visitor.visit_seq(Elements::new(items, self.path, self.depth)),
            other => Err(expected("an array", &other)),
        }
    }

    fn map<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_map(Entries::of_map(Map::new(), self.path, self.depth)),
            Value::Object(object) => visitor.visit_map(Entries::of_map(object, self.path, self.depth)),
            other => Err(expected("an object", &other)),
        }
    }

    fn structure<'de, V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, DeError> {
        let object = match self.value {
            Value::Null => Map::new(),
            Value::Object(object) => object,
            other => return Err(expected("an object", &other)),
        };
        visitor.visit_map(Entries::of_struct(object, fields, self.path, self.depth))
    }

    fn enumeration<'de, V: Visitor<'de>>(
        self,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (given, content) = match self.value {
            Value::String(name) => (name, None),
            Value::Object(object) if object.len() == 1 => match object.into_iter().next() {
                Some((name, content)) => (name, Some(content)),
                None => return Err(de::Error::custom("expected an enum variant")),
            },
            other => {
                return Err(expected("a variant name or an object with a single key", &other));
            }
        };
        // An unknown name is passed through so serde reports it with the list of variants.
        let variant = resolve(&given, variants).map_or_else(|| given.clone(), str::to_owned);
        visitor.visit_enum(Variant { variant, given, content, path: self.path, depth: self.depth })
    }

    fn unit<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            other => Err(expected("null", &other)),
        }
    }
}

macro_rules! forward {
    ($($method:ident => $reader:ident $(($($arg:expr),*))?;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.located(|de| de.$reader($($($arg,)*)? visitor))
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Lenient<'_> {
    type Error = DeError;

    forward! {
        deserialize_any => any;
        deserialize_bool => boolean;
        deserialize_i8 => integer(false);
        deserialize_i16 => integer(false);
        deserialize_i32 => integer(false);
        deserialize_i64 => integer(false);
        deserialize_i128 => integer(true);
        deserialize_u8 => integer(false);
        deserialize_u16 => integer(false);
        deserialize_u32 => integer(false);
        deserialize_u64 => integer(false);
        deserialize_u128 => integer(true);
        deserialize_f32 => float;
        deserialize_f64 => float;
        deserialize_char => string;
        deserialize_str => string;
        deserialize_string => string;
        deserialize_identifier => string;
        deserialize_bytes => any;
        deserialize_byte_buf => any;
        deserialize_unit => unit;
        deserialize_seq => seq;
        deserialize_map => map;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.located(|de| match de.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(de),
        })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.located(|de| de.unit(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.located(|de| visitor.visit_newtype_struct(de))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.located(|de| de.seq(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.located(|de| de.seq(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.located(|de| de.structure(fields, visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.located(|de| de.enumeration(variants, visitor))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Skipped without a depth check, so it may be as deep as the caller built it.
        drop_iteratively(self.value);
        visitor.visit_unit()
    }
}

/// Array elements, each read leniently one level deeper.
struct Elements<'a> {
    items: std::vec::IntoIter<Value>,
    next_index: usize,
    path: &'a Path<'a>,
    depth: usize,
}

impl<'a> Elements<'a> {
    fn new(items: Vec<Value>, path: &'a Path<'a>, depth: usize) -> Self {
        Self { items: items.into_iter(), next_index: 0, path, depth: depth + 1 }
    }
}

impl<'de> SeqAccess<'de> for Elements<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(self.path, self.next_index);
        self.next_index += 1;
        seed.deserialize(Lenient { value, path: &path, depth: self.depth }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// One object member as handed to serde.
struct Entry {
    /// The key serde sees: the struct field it was matched to, or the key itself.
    key: String,
    /// The key as the client wrote it, for error paths.
    given: String,
    value: Value,
}

/// Object members, each value read leniently one level deeper.
struct Entries<'a> {
    entries: std::vec::IntoIter<Entry>,
    pending: Option<(String, Value)>,
    path: &'a Path<'a>,
    depth: usize,
}

impl<'a> Entries<'a> {
    /// A map's keys are data and stay exactly as written.
    fn of_map(object: Map<String, Value>, path: &'a Path<'a>, depth: usize) -> Self {
        let entries = object.into_iter().map(|(key, value)| Entry { given: key.clone(), key, value }).collect();
        Self::new(entries, path, depth)
    }

    /// A struct's keys are renamed to the field they fold to; nulls are dropped (absent).
    fn of_struct(object: Map<String, Value>, fields: &[&str], path: &'a Path<'a>, depth: usize) -> Self {
        let mut entries: Vec<Entry> = Vec::with_capacity(object.len());
        // Per field: which entry holds it and whether that key matched exactly.
        let mut claims: HashMap<&str, (usize, bool)> = HashMap::new();
        for (given, value) in object {
            if value.is_null() {
                continue;
            }
            let Some(name) = resolve(&given, fields) else {
                entries.push(Entry { key: given.clone(), given, value });
                continue;
            };
            let exact = given == name;
            let entry = Entry { key: name.to_owned(), given, value };
            match claims.get(name).copied() {
                None => {
                    claims.insert(name, (entries.len(), exact));
                    entries.push(entry);
                }
                Some((at, false)) if exact => {
                    if let Some(slot) = entries.get_mut(at) {
                        *slot = entry;
                    }
                    claims.insert(name, (at, true));
                }
                // Serde would reject a duplicate field; Go keeps one value, so do we.
                Some(_) => {}
            }
        }
        Self::new(entries, path, depth)
    }

    fn new(entries: Vec<Entry>, path: &'a Path<'a>, depth: usize) -> Self {
        Self { entries: entries.into_iter(), pending: None, path, depth: depth + 1 }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some(Entry { key, given, value }) = self.entries.next() else {
            return Ok(None);
        };
        let path = Path::Key(self.path, &given);
        // Keys go through the lenient reader too, so `HashMap<u32, _>` accepts `"3"` keys.
        let read = seed.deserialize(Lenient { value: Value::String(key), path: &path, depth: self.depth })?;
        self.pending = Some((given, value));
        Ok(Some(read))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((given, value)) = self.pending.take() else {
            return Err(de::Error::custom("map value requested before its key"));
        };
        let path = Path::Key(self.path, &given);
        seed.deserialize(Lenient { value, path: &path, depth: self.depth })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum value: a variant name, possibly with content (`{"Variant": content}`).
struct Variant<'a> {
    /// The canonical variant name, or the given one if nothing matched.
    variant: String,
    given: String,
    content: Option<Value>,
    path: &'a Path<'a>,
    depth: usize,
}

impl Variant<'_> {
    /// Reads the variant's content one level deeper, under the variant's key.
    fn content<R>(self, read: impl FnOnce(Lenient<'_>) -> Result<R, DeError>) -> Result<R, DeError> {
        let Some(value) = self.content else {
            return Err(de::Error::custom(format_args!("variant `{}` needs a value", self.variant)));
        };
        let path = Path::Key(self.path, &self.given);
        read(Lenient { value, path: &path, depth: self.depth + 1 })
    }
}

impl<'de> EnumAccess<'de> for Variant<'_> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), DeError> {
        let name: StringDeserializer<DeError> = self.variant.clone().into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match &self.content {
            None | Some(Value::Null) => Ok(()),
            Some(other) => {
                let error = expected(&format!("no value for variant `{}`", self.variant), other);
                Err(error.at(&Path::Key(self.path, &self.given)))
            }
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        self.content(|de| seed.deserialize(de))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.content(|de| de::Deserializer::deserialize_tuple(de, len, visitor))
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, DeError> {
        self.content(|de| de::Deserializer::deserialize_struct(de, "", fields, visitor))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fmt::Debug;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct SubnetReq {
        name: String,
        #[serde(rename = "ipv4_CIDR")]
        ipv4_cidr: String,
        zone: String,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    struct VNetReq {
        name: String,
        connection_name: String,
        cidr_block: String,
        subnet_info_list: Vec<SubnetReq>,
        description: Option<String>,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Direction {
        #[default]
        Inbound,
        Outbound,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    struct FirewallRule {
        from_port: u16,
        to_port: u16,
        ip_protocol: String,
        direction: Direction,
        cidr: String,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    struct SubGroupReq {
        name: String,
        sub_group_size: u32,
        root_disk_size: String,
        cpu_ratio: f64,
        priority: i64,
        data_disk_ids: Vec<Option<String>>,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    struct MciReq {
        name: String,
        install_mon_agent: bool,
        label: HashMap<String, String>,
        sub_groups: Vec<SubGroupReq>,
        description: Option<String>,
        bastions: Vec<Option<SubnetReq>>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
    enum Target {
        All,
        Mci(String),
        Vm { mci_id: String, vm_id: String },
        Range(u32, u32),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Port(u16);

    /// No `#[serde(default)]`: its field is required.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Named {
        name: String,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct Node {
        children: Vec<Node>,
    }

    #[track_caller]
    fn check<T: DeserializeOwned + PartialEq + Debug>(json: &str, expected: T) {
        match from_slice::<T>(json.as_bytes()) {
            Ok(got) => assert_eq!(got, expected, "input: {json}"),
            Err(e) => panic!("input {json} was rejected: {e}"),
        }
    }

    #[track_caller]
    fn check_err<T: DeserializeOwned + Debug>(json: &str, expected: &str) {
        match from_slice::<T>(json.as_bytes()) {
            Ok(got) => panic!("input {json} was accepted as {got:?}"),
            Err(e) => assert_eq!(e.to_string(), expected, "input: {json}"),
        }
    }

    fn subnet(name: &str, cidr: &str, zone: &str) -> SubnetReq {
        SubnetReq { name: name.into(), ipv4_cidr: cidr.into(), zone: zone.into() }
    }

    fn sub_group(size: u32) -> SubGroupReq {
        SubGroupReq { sub_group_size: size, ..Default::default() }
    }

    fn mci_with_groups(groups: Vec<SubGroupReq>) -> MciReq {
        MciReq { sub_groups: groups, ..Default::default() }
    }

    #[test]
    fn keys_match_fields_case_insensitively() {
        check(
            r#"{"Name":"vnet01","ConnectionName":"aws-ap-northeast-2","CIDRBLOCK":"10.0.0.0/16",
                "SubnetInfoList":[{"Name":"sub01","IPv4_CIDR":"10.0.1.0/24","Zone":"ap-northeast-2a"},
                                  {"NAME":"sub02","ipv4_cidr":"10.0.2.0/24"}]}"#,
            VNetReq {
                name: "vnet01".into(),
                connection_name: "aws-ap-northeast-2".into(),
                cidr_block: "10.0.0.0/16".into(),
                subnet_info_list: vec![
                    subnet("sub01", "10.0.1.0/24", "ap-northeast-2a"),
                    subnet("sub02", "10.0.2.0/24", ""),
                ],
                description: None,
            },
        );
        // The v0.8 firewall rule shape, with ports as strings.
        check(
            r#"{"FromPort":"1","ToPort":"65535","IPProtocol":"tcp","Direction":"inbound","CIDR":"0.0.0.0/0"}"#,
            FirewallRule {
                from_port: 1,
                to_port: 65535,
                ip_protocol: "tcp".into(),
                direction: Direction::Inbound,
                cidr: "0.0.0.0/0".into(),
            },
        );
    }

    #[test]
    fn exact_key_wins_over_folded_key() {
        check(r#"{"NAME":"folded","name":"exact"}"#, subnet("exact", "", ""));
        check(r#"{"name":"exact","NAME":"folded"}"#, subnet("exact", "", ""));
        check(r#"{"Name":"folded","zone":"z","name":"exact"}"#, subnet("exact", "", "z"));
        // Two folded keys: one of them is kept rather than failing on a duplicate field.
        check(r#"{"NAME":"first","Name":"second"}"#, subnet("first", "", ""));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        check(r#"{"name":"s","unknownField":1,"nested":{"deep":[1,{"x":null}]},"zone":"z"}"#, subnet("s", "", "z"));
    }

    #[test]
    fn absent_and_null_fields_take_defaults() {
        check("{}", VNetReq::default());
        check(r#"{"name":null,"description":null,"subnetInfoList":null,"CidrBlock":null}"#, VNetReq::default());
        check(r#"{"description":"d"}"#, VNetReq { description: Some("d".into()), ..Default::default() });
        // Null is absent even for a field without a default, so the error is "missing".
        check_err::<Named>(r#"{"name":null}"#, "missing field `name`");
        // A null body leaves the zero value, as Go does.
        check("null", VNetReq::default());
    }

    #[test]
    fn numeric_strings_fill_numbers_and_numbers_fill_strings() {
        let group = |json: &str| format!(r#"{{"subGroups":[{json}]}}"#);
        check(&group(r#"{"subGroupSize":"3"}"#), mci_with_groups(vec![sub_group(3)]));
        check(&group(r#"{"subGroupSize":3}"#), mci_with_groups(vec![sub_group(3)]));
        check(&group(r#"{"subGroupSize":3.0}"#), mci_with_groups(vec![sub_group(3)]));
        check(&group(r#"{"subGroupSize":"3.0"}"#), mci_with_groups(vec![sub_group(3)]));
        check(&group(r#"{"subGroupSize":" 7 "}"#), mci_with_groups(vec![sub_group(7)]));
        check(&group(r#"{"subGroupSize":"1e2"}"#), mci_with_groups(vec![sub_group(100)]));
        check(&group(r#"{"subGroupSize":""}"#), mci_with_groups(vec![sub_group(0)]));
        let with = |f: fn(&mut SubGroupReq)| {
            let mut g = SubGroupReq::default();
            f(&mut g);
            mci_with_groups(vec![g])
        };
        check(&group(r#"{"priority":"-5"}"#), with(|g| g.priority = -5));
        check(&group(r#"{"cpuRatio":"0.5"}"#), with(|g| g.cpu_ratio = 0.5));
        check(&group(r#"{"cpuRatio":2}"#), with(|g| g.cpu_ratio = 2.0));
        check(&group(r#"{"rootDiskSize":50}"#), with(|g| g.root_disk_size = "50".into()));
        check(&group(r#"{"rootDiskSize":50.5}"#), with(|g| g.root_disk_size = "50.5".into()));
        check(&group(r#"{"rootDiskSize":-1}"#), with(|g| g.root_disk_size = "-1".into()));
        check(&group(r#"{"rootDiskSize":"default"}"#), with(|g| g.root_disk_size = "default".into()));
        check(r#""22""#, Port(22));
        check(r#"["3", 4]"#, (3u32, "4".to_owned()));
        check(r#""-170141183460469231731687303715884105728""#, i128::MIN);
    }

    #[test]
    fn boolean_strings_fill_booleans() {
        let mon = |on: bool| MciReq { install_mon_agent: on, ..Default::default() };
        check(r#"{"installMonAgent":true}"#, mon(true));
        check(r#"{"installMonAgent":"true"}"#, mon(true));
        check(r#"{"InstallMonAgent":"TRUE"}"#, mon(true));
        check(r#"{"installMonAgent":"False"}"#, mon(false));
        check(r#"{"installMonAgent":""}"#, mon(false));
    }

    #[test]
    fn enum_variants_match_case_insensitively() {
        let rule = |direction| FirewallRule { direction, ..Default::default() };
        check(r#"{"direction":"inbound"}"#, rule(Direction::Inbound));
        check(r#"{"Direction":"Outbound"}"#, rule(Direction::Outbound));
        check(r#"{"DIRECTION":"OUTBOUND"}"#, rule(Direction::Outbound));
        check(r#""ALL""#, Target::All);
        check(r#"{"all":null}"#, Target::All);
        check(r#"{"MCI":"mci01"}"#, Target::Mci("mci01".into()));
        check(r#"{"VM":{"MciId":"mci01","VMID":"vm-1"}}"#, Target::Vm { mci_id: "mci01".into(), vm_id: "vm-1".into() });
        check(r#"{"range":["1", 2.0]}"#, Target::Range(1, 2));
    }

    #[test]
    fn maps_keep_keys_but_read_values_leniently() {
        let labels = |pairs: &[(&str, &str)]| MciReq {
            label: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..Default::default()
        };
        check(
            r#"{"Label":{"Env":"prod","sys.id":3,"empty":null}}"#,
            labels(&[("Env", "prod"), ("sys.id", "3"), ("empty", "")]),
        );
        let by_id: HashMap<u32, bool> = [(1, true), (20, false)].into_iter().collect();
        check(r#"{"1":"true","20":false}"#, by_id);
    }

    #[test]
    fn nested_options_and_sequences() {
        check(
            r#"{"bastions":[null,{"NAME":"b1","Zone":"z"}],
                "subGroups":[{"dataDiskIds":["d1",null,7]}],"Description":"x"}"#,
            MciReq {
                bastions: vec![None, Some(subnet("b1", "", "z"))],
                sub_groups: vec![SubGroupReq {
                    data_disk_ids: vec![Some("d1".into()), None, Some("7".into())],
                    ..Default::default()
                }],
                description: Some("x".into()),
                ..Default::default()
            },
        );
        // Go's nil slice for a null array; zero values for null elements.
        check::<Vec<u32>>("null", vec![]);
        check(r#"[1, null, "2"]"#, vec![1u32, 0, 2]);
    }

    #[test]
    fn untyped_values_pass_through_unchanged() {
        let value = json!({"a": [1, -2, 2.5, "x", null, true, {"B": {}}], "n": u64::MAX});
        check(&value.to_string(), value.clone());
    }

    #[test]
    fn errors_name_the_path_of_the_bad_field() {
        check_err::<MciReq>(
            r#"{"subGroups":[{"subGroupSize":"abc"}]}"#,
            r#"subGroups[0].subGroupSize: expected an integer, got "abc""#,
        );
        check_err::<MciReq>(
            r#"{"subGroups":[{},{"subGroupSize":2.5}]}"#,
            "subGroups[1].subGroupSize: expected an integer, got 2.5",
        );
        check_err::<MciReq>(
            r#"{"subGroups":[{"subGroupSize":-1}]}"#,
            "subGroups[0].subGroupSize: invalid value: integer `-1`, expected u32",
        );
        check_err::<MciReq>(
            r#"{"subGroups":[{"subGroupSize":1e30}]}"#,
            "subGroups[0].subGroupSize: expected an integer in range, got 1e+30",
        );
        // The path shows the keys as the client wrote them.
        check_err::<MciReq>(
            r#"{"SubGroups":[{"SubGroupSize":[]}]}"#,
            "SubGroups[0].SubGroupSize: expected an integer, got an array",
        );
        check_err::<MciReq>(r#"{"installMonAgent":"yes"}"#, r#"installMonAgent: expected a boolean, got "yes""#);
        check_err::<MciReq>(
            r#"{"subGroups":[{"cpuRatio":"fast"}]}"#,
            r#"subGroups[0].cpuRatio: expected a number, got "fast""#,
        );
        check_err::<MciReq>(r#"{"name":{}}"#, "name: expected a string, got an object");
        check_err::<MciReq>(r#"{"name":false}"#, "name: expected a string, got false");
        check_err::<MciReq>(
            r#"{"label":{"app.io/name":[1]}}"#,
            r#"label["app.io/name"]: expected a string, got an array"#,
        );
        check_err::<MciReq>(
            r#"{"bastions":[{"zone":1},{"zone":{}}]}"#,
            "bastions[1].zone: expected a string, got an object",
        );
        check_err::<MciReq>(r#"{"subGroups":{}}"#, "subGroups: expected an array, got an object");
        check_err::<MciReq>(r#"{"label":"x"}"#, r#"label: expected an object, got "x""#);
        check_err::<VNetReq>("[1]", "expected an object, got an array");
        check_err::<FirewallRule>(
            r#"{"direction":"sideways"}"#,
            "direction: unknown variant `sideways`, expected `inbound` or `outbound`",
        );
        check_err::<Target>("3", "expected a variant name or an object with a single key, got 3");
        check_err::<Target>(r#""mci""#, "variant `mci` needs a value");
        check_err::<Target>(r#"{"all":1}"#, "all: expected no value for variant `all`, got 1");
        check_err::<Target>(r#"{"vm":{"mciId":"m","vmId":[7.5]}}"#, "vm.vmId: expected a string, got an array");
        check_err::<Vec<Named>>(r#"[{"name":"a"},{}]"#, "[1]: missing field `name`");
        check_err::<HashMap<u8, String>>(r#"{"300":"x"}"#, "300: invalid value: integer `300`, expected u8");
        check_err::<Port>(r#""http""#, r#"expected an integer, got "http""#);
        check_err::<char>(r#""ab""#, r#"invalid value: string "ab", expected a character"#);
    }

    #[test]
    fn long_strings_are_cut_in_messages() {
        let long = "x".repeat(100);
        let err = from_value::<u32>(json!(long)).unwrap_err();
        assert_eq!(err.to_string(), format!("expected an integer, got \"{}\"...", "x".repeat(QUOTE_LIMIT)));
        assert_eq!(err.path(), Some(""));
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = from_slice::<VNetReq>(br#"{"name": }"#).unwrap_err();
        assert_eq!(err, LenientError::Malformed { line: 1, column: 10, message: "expected value".into() });
        assert_eq!(err.to_string(), "malformed JSON at line 1, column 10: expected value");
        assert_eq!(err.path(), None);
        let err = from_slice::<VNetReq>(b"{\n  \"name\": \"a\",\n}").unwrap_err();
        assert_eq!(err.to_string(), "malformed JSON at line 3, column 1: trailing comma");
        let err = from_slice::<VNetReq>(b"{} {}").unwrap_err();
        assert!(matches!(err, LenientError::Malformed { line: 1, .. }), "{err}");
        let err = from_slice::<VNetReq>(b"").unwrap_err();
        assert!(matches!(err, LenientError::Malformed { .. }), "{err}");
        let err = from_slice::<VNetReq>(b"\xff\xfe").unwrap_err();
        assert!(matches!(err, LenientError::Malformed { .. }), "{err}");
    }

    /// Built by hand: `json!` would clone its argument through a recursive serialisation.
    fn nested_arrays(levels: usize) -> Value {
        let mut value = Value::Array(vec![]);
        for _ in 1..levels {
            value = Value::Array(vec![value]);
        }
        value
    }

    #[test]
    fn nesting_is_capped() {
        let ok = nested_arrays(MAX_DEPTH);
        assert_eq!(from_value::<Value>(ok.clone()).unwrap(), ok);

        let err = from_value::<Value>(nested_arrays(MAX_DEPTH + 1)).unwrap_err();
        let LenientError::Invalid { path, message } = &err else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(path, &"[0]".repeat(MAX_DEPTH));
        assert_eq!(message, "more than 128 levels of nested arrays and objects");

        // A recursive type fed a far deeper value stops at the cap instead of the stack's end.
        let mut deep = Value::Object(Map::new());
        for _ in 0..2_000 {
            let mut node = Map::new();
            node.insert("children".into(), Value::Array(vec![deep]));
            deep = Value::Object(node);
        }
        let err = from_value::<Node>(deep).unwrap_err();
        assert!(err.to_string().ends_with("levels of nested arrays and objects"), "{err}");
        assert!(err.path().is_some_and(|p| p.starts_with("children[0].children[0]")));

        // An ignored field may be deeper still: it is skipped, not read.
        let mut object = Map::new();
        object.insert("name".into(), json!("s"));
        object.insert("unknown".into(), nested_arrays(20_000));
        assert_eq!(from_value::<SubnetReq>(Value::Object(object)).unwrap(), subnet("s", "", ""));

        // The parser has its own, slightly lower, limit.
        let text = format!("{}{}", "[".repeat(500), "]".repeat(500));
        let err = from_slice::<Value>(text.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recursion limit exceeded"), "{err}");
    }

    /// Deterministic pseudo-random source (an LCG), enough to shake out panics.
    struct Garbage(u64);

    impl Garbage {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            let i = self.next() as usize % items.len();
            items[i]
        }

        fn value(&mut self, depth: usize) -> Value {
            const KEYS: &[&str] = &[
                "name",
                "NAME",
                "subGroups",
                "SubGroups",
                "subGroupSize",
                "label",
                "zone",
                "ipv4_CIDR",
                "IPV4_cidr",
                "direction",
                "children",
                "mci",
                "VM",
                "range",
                "all",
                "bastions",
                "dataDiskIds",
                "cpuRatio",
                "priority",
                "installMonAgent",
                "",
                "\u{212a}elvin",
                "ß",
            ];
            const STRINGS: &[&str] = &[
                "",
                "3",
                " 42 ",
                "-1",
                "1e400",
                "2.5",
                "NaN",
                "inf",
                "true",
                "FALSE",
                "abc",
                "inbound",
                "OUTBOUND",
                "ALL",
                "18446744073709551616",
                "\u{0}",
                "ü",
                "💥",
            ];
            let kind = if depth >= 6 { self.next() % 5 } else { self.next() % 7 };
            match kind {
                0 => Value::Null,
                1 => Value::Bool(self.next().is_multiple_of(2)),
                2 => match self.next() % 4 {
                    0 => json!(self.next()),
                    1 => json!(-(self.next() as i64)),
                    2 => json!((self.next() as f64) / 7.0 - 1e9),
                    _ => json!(u64::MAX - self.next() % 3),
                },
                3 | 4 => Value::String(self.pick(STRINGS).to_owned()),
                5 => {
                    let len = self.next() % 4;
                    Value::Array((0..len).map(|_| self.value(depth + 1)).collect())
                }
                _ => {
                    let len = self.next() % 5;
                    Value::Object((0..len).map(|_| (self.pick(KEYS).to_owned(), self.value(depth + 1))).collect())
                }
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut garbage = Garbage(7);
        let mut accepted = 0;
        for _ in 0..3_000 {
            let value = garbage.value(0);
            // The untyped target is the identity: nothing is lost or invented.
            assert_eq!(from_value::<Value>(value.clone()).unwrap(), value);
            let results = [
                from_value::<MciReq>(value.clone()).is_ok(),
                from_value::<VNetReq>(value.clone()).is_ok(),
                from_value::<FirewallRule>(value.clone()).is_ok(),
                from_value::<Target>(value.clone()).is_ok(),
                from_value::<Node>(value.clone()).is_ok(),
                from_value::<Vec<Option<SubnetReq>>>(value.clone()).is_ok(),
                from_value::<HashMap<u8, bool>>(value.clone()).is_ok(),
                from_value::<(u8, i8, f32, char)>(value.clone()).is_ok(),
                from_value::<(String, i128, u128, Option<Port>)>(value.clone()).is_ok(),
            ];
            accepted += results.iter().filter(|ok| **ok).count();
            // Errors always carry a message.
            if let Err(e) = from_value::<MciReq>(value.clone()) {
                assert!(!e.to_string().is_empty());
            }
            let bytes: Vec<u8> = value.to_string().bytes().collect();
            let mut cut = bytes.clone();
            cut.truncate(garbage.next() as usize % (bytes.len() + 1));
            let _ = from_slice::<MciReq>(&cut);
        }
        // The generator must exercise both outcomes for the run to mean anything.
        assert!(accepted > 1_000, "only {accepted} accepted");
        assert!(accepted < 27_000 - 1_000, "{accepted} accepted");
    }
}
