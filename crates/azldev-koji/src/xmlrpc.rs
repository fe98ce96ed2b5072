//! XML-RPC as Koji speaks it: the standard types (`int`/`i4`, `boolean`,
//! `string`, `double`, `dateTime.iso8601`, `base64`, `array`, `struct`)
//! plus the two extensions Koji's hub enables, `nil` and `i8` (64-bit
//! integers; also accepted with the `ex:` prefix Apache's implementation
//! writes). Calls and responses are encoded to bytes and parsed from
//! bytes; a `<fault>` becomes [`XmlRpcError::Fault`] with its code and
//! string. The XML reader is a small one written for this dialect: elements,
//! attributes (ignored), text, the five named entities, character
//! references, CDATA, comments and the prolog.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`/`<i4>` when it fits 32 bits, `<i8>` otherwise.
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    /// `<dateTime.iso8601>`, kept as written (`20261203T19:53:04`).
    DateTime(String),
    Base64(Vec<u8>),
    Array(Vec<Value>),
    Struct(BTreeMap<String, Value>),
    /// `<nil/>`: Python's `None`.
    Nil,
}

/// What went wrong speaking XML-RPC.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum XmlRpcError {
    /// The server answered with a fault.
    #[error("fault {code}: {message}")]
    Fault { code: i64, message: String },
    /// The bytes are not the XML-RPC expected here.
    #[error("malformed XML-RPC at byte {offset}: {message}")]
    Malformed { offset: usize, message: String },
    /// A value XML cannot carry (a control character in a string).
    #[error("cannot encode {0}")]
    Unencodable(String),
}

fn malformed(offset: usize, message: impl Into<String>) -> XmlRpcError {
    XmlRpcError::Malformed {
        offset,
        message: message.into(),
    }
}

impl Value {
    /// A struct from pairs.
    #[must_use]
    pub fn st<const N: usize>(pairs: [(&str, Value); N]) -> Value {
        Value::Struct(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    #[must_use]
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_struct(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// A struct member (`None` when this is not a struct or has no such key).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_struct().and_then(|s| s.get(key))
    }

    #[must_use]
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

// ---------------------------------------------------------------- encoding

fn escape(out: &mut String, s: &str) -> Result<(), XmlRpcError> {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A literal CR would be normalised away by any XML reader.
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                return Err(XmlRpcError::Unencodable(format!(
                    "a string holding U+{:04X}, which XML 1.0 cannot carry",
                    c as u32
                )));
            }
            c => out.push(c),
        }
    }
    Ok(())
}

fn encode_double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        // Rust's shortest representation that reads back to the same bits,
        // without an exponent (XML-RPC's grammar has none).
        let s = format!("{d:?}");
        if s.contains('e') { format!("{d}") } else { s }
    }
}

fn encode_value(out: &mut String, v: &Value) -> Result<(), XmlRpcError> {
    out.push_str("<value>");
    match v {
        Value::Int(i) if i32::try_from(*i).is_ok() => {
            let _ = write!(out, "<int>{i}</int>");
        }
        Value::Int(i) => {
            let _ = write!(out, "<i8>{i}</i8>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::Str(s) => {
            out.push_str("<string>");
            escape(out, s)?;
            out.push_str("</string>");
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{}</double>", encode_double(*d));
        }
        Value::DateTime(s) => {
            out.push_str("<dateTime.iso8601>");
            escape(out, s)?;
            out.push_str("</dateTime.iso8601>");
        }
        Value::Base64(b) => {
            let _ = write!(out, "<base64>{}</base64>", base64_encode(b));
        }
        Value::Array(a) => {
            out.push_str("<array><data>");
            for x in a {
                encode_value(out, x)?;
            }
            out.push_str("</data></array>");
        }
        Value::Struct(s) => {
            out.push_str("<struct>");
            for (k, x) in s {
                out.push_str("<member><name>");
                escape(out, k)?;
                out.push_str("</name>");
                encode_value(out, x)?;
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
        Value::Nil => out.push_str("<nil/>"),
    }
    out.push_str("</value>");
    Ok(())
}

fn encode_params(out: &mut String, params: &[Value]) -> Result<(), XmlRpcError> {
    out.push_str("<params>");
    for p in params {
        out.push_str("<param>");
        encode_value(out, p)?;
        out.push_str("</param>");
    }
    out.push_str("</params>");
    Ok(())
}

/// A `<methodCall>` document.
///
/// # Errors
/// A string XML cannot carry.
pub fn encode_call(method: &str, params: &[Value]) -> Result<Vec<u8>, XmlRpcError> {
    let mut out = String::from("<?xml version='1.0'?>\n<methodCall><methodName>");
    escape(&mut out, method)?;
    out.push_str("</methodName>");
    encode_params(&mut out, params)?;
    out.push_str("</methodCall>\n");
    Ok(out.into_bytes())
}

/// A `<methodResponse>` document with one value (what a server sends).
///
/// # Errors
/// A string XML cannot carry.
pub fn encode_response(value: &Value) -> Result<Vec<u8>, XmlRpcError> {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>");
    encode_params(&mut out, std::slice::from_ref(value))?;
    out.push_str("</methodResponse>\n");
    Ok(out.into_bytes())
}

/// A `<methodResponse>` holding a fault.
///
/// # Errors
/// A string XML cannot carry.
pub fn encode_fault(code: i64, message: &str) -> Result<Vec<u8>, XmlRpcError> {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse><fault>");
    encode_value(
        &mut out,
        &Value::st([
            ("faultCode", Value::Int(code)),
            ("faultString", Value::str(message)),
        ]),
    )?;
    out.push_str("</fault></methodResponse>\n");
    Ok(out.into_bytes())
}

// ---------------------------------------------------------------- base64

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
#[must_use]
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64, ignoring whitespace (Python wraps lines at 76).
///
/// # Errors
/// A character outside the alphabet, or a truncated group.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut pad = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            other => return Err(format!("`{}` is not base64", other as char)),
        };
        if pad > 0 {
            return Err("data after base64 padding".into());
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    if bits >= 6 {
        return Err("truncated base64".into());
    }
    Ok(out)
}

// ---------------------------------------------------------------- XML reader

#[derive(Debug)]
struct Element {
    name: String,
    offset: usize,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Elem(Element),
    Text(String),
}

impl Element {
    fn elems(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Elem(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    fn only(&self, what: &str) -> Result<&Element, XmlRpcError> {
        let mut it = self.elems();
        match (it.next(), it.next()) {
            (Some(e), None) => Ok(e),
            _ => Err(malformed(
                self.offset,
                format!("<{}> must hold exactly one {what}", self.name),
            )),
        }
    }

    fn child(&self, name: &str) -> Result<&Element, XmlRpcError> {
        self.elems()
            .find(|e| local(&e.name) == name)
            .ok_or_else(|| malformed(self.offset, format!("<{}> has no <{name}>", self.name)))
    }
}

/// The name without an `ex:` (or any) namespace prefix.
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_misc(&mut self) -> Result<(), XmlRpcError> {
        loop {
            let trimmed = self.rest().trim_start();
            self.pos = self.s.len() - trimmed.len();
            if self.rest().starts_with("<?") {
                let end = self
                    .rest()
                    .find("?>")
                    .ok_or_else(|| malformed(self.pos, "unterminated <?"))?;
                self.pos += end + 2;
            } else if self.rest().starts_with("<!--") {
                self.skip_comment()?;
            } else if self.rest().starts_with("<!DOCTYPE") {
                return Err(malformed(self.pos, "a DOCTYPE is not accepted"));
            } else {
                return Ok(());
            }
        }
    }

    fn skip_comment(&mut self) -> Result<(), XmlRpcError> {
        let end = self
            .rest()
            .find("-->")
            .ok_or_else(|| malformed(self.pos, "unterminated comment"))?;
        self.pos += end + 3;
        Ok(())
    }

    fn name(&mut self) -> Result<String, XmlRpcError> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(malformed(start, "expected a name"));
        }
        self.pos += len;
        Ok(self.s[start..start + len].to_owned())
    }

    /// Skips attributes up to `>` or `/>`; true when self-closing.
    fn tag_end(&mut self) -> Result<bool, XmlRpcError> {
        let mut quote: Option<char> = None;
        for (i, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    let closing = self.rest()[..i].trim_end().ends_with('/');
                    self.pos += i + 1;
                    return Ok(closing);
                }
                (None, '<') => break,
                _ => {}
            }
        }
        Err(malformed(self.pos, "unterminated tag"))
    }

    fn element(&mut self) -> Result<Element, XmlRpcError> {
        let offset = self.pos;
        if !self.rest().starts_with('<') {
            return Err(malformed(offset, "expected an element"));
        }
        self.pos += 1;
        let name = self.name()?;
        let mut el = Element {
            name,
            offset,
            children: Vec::new(),
        };
        if self.tag_end()? {
            return Ok(el);
        }
        let mut text = String::new();
        loop {
            if self.pos >= self.s.len() {
                return Err(malformed(offset, format!("<{}> is not closed", el.name)));
            }
            let rest = self.rest();
            if rest.starts_with("</") {
                self.pos += 2;
                let close = self.name()?;
                if close != el.name {
                    return Err(malformed(self.pos, format!("</{close}> closes <{}>", el.name)));
                }
                let r = self.rest();
                let t = r.trim_start();
                if !t.starts_with('>') {
                    return Err(malformed(self.pos, "expected `>`"));
                }
                self.pos += r.len() - t.len() + 1;
                if !text.is_empty() {
                    el.children.push(Node::Text(text));
                }
                return Ok(el);
            } else if rest.starts_with("<!--") {
                self.skip_comment()?;
            } else if let Some(r) = rest.strip_prefix("<![CDATA[") {
                let end = r
                    .find("]]>")
                    .ok_or_else(|| malformed(self.pos, "unterminated CDATA"))?;
                text.push_str(&r[..end]);
                self.pos += 9 + end + 3;
            } else if rest.starts_with('<') {
                if !text.is_empty() {
                    el.children.push(Node::Text(std::mem::take(&mut text)));
                }
                let child = self.element()?;
                el.children.push(Node::Elem(child));
            } else if rest.starts_with('&') {
                let end = rest
                    .find(';')
                    .filter(|e| *e < 12)
                    .ok_or_else(|| malformed(self.pos, "unterminated entity"))?;
                let ent = &rest[1..end];
                let c = match ent {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => {
                        let code = if let Some(h) = ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X"))
                        {
                            u32::from_str_radix(h, 16).ok()
                        } else if let Some(d) = ent.strip_prefix('#') {
                            d.parse().ok()
                        } else {
                            None
                        };
                        code.and_then(char::from_u32)
                            .ok_or_else(|| malformed(self.pos, format!("unknown entity &{ent};")))?
                    }
                };
                text.push(c);
                self.pos += end + 1;
            } else {
                let end = rest.find(['<', '&']).unwrap_or(rest.len());
                // XML's end-of-line handling: CRLF and lone CR read as LF.
                text.push_str(&rest[..end].replace("\r\n", "\n").replace('\r', "\n"));
                self.pos += end;
            }
        }
    }
}

fn parse_document(bytes: &[u8]) -> Result<Element, XmlRpcError> {
    let s =
        std::str::from_utf8(bytes).map_err(|e| malformed(e.valid_up_to(), "the document is not UTF-8"))?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    let mut r = Reader { s, pos: 0 };
    r.skip_misc()?;
    let root = r.element()?;
    r.skip_misc()?;
    if r.pos != s.len() {
        return Err(malformed(r.pos, "data after the document element"));
    }
    Ok(root)
}

fn parse_value(el: &Element) -> Result<Value, XmlRpcError> {
    if local(&el.name) != "value" {
        return Err(malformed(
            el.offset,
            format!("expected <value>, found <{}>", el.name),
        ));
    }
    let Some(t) = el.elems().next() else {
        // No type element: a string.
        return Ok(Value::Str(el.text()));
    };
    if el.elems().count() > 1 {
        return Err(malformed(el.offset, "<value> holds more than one type"));
    }
    let text = t.text();
    let int = |s: &str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| malformed(t.offset, format!("`{s}` is not an integer")))
    };
    Ok(match local(&t.name) {
        "int" | "i4" | "i1" | "i2" => {
            let v = int(&text)?;
            if i32::try_from(v).is_err() {
                return Err(malformed(t.offset, format!("{v} does not fit <{}>", t.name)));
            }
            Value::Int(v)
        }
        "i8" => Value::Int(int(&text)?),
        "boolean" => match text.trim() {
            "1" => Value::Bool(true),
            "0" => Value::Bool(false),
            other => return Err(malformed(t.offset, format!("`{other}` is not a boolean"))),
        },
        "string" => Value::Str(text),
        "double" => {
            let s = text.trim();
            Value::Double(match s {
                "nan" | "NaN" => f64::NAN,
                "inf" | "Infinity" => f64::INFINITY,
                "-inf" | "-Infinity" => f64::NEG_INFINITY,
                _ => s
                    .parse()
                    .map_err(|_| malformed(t.offset, format!("`{s}` is not a double")))?,
            })
        }
        "dateTime.iso8601" => Value::DateTime(text.trim().to_owned()),
        "base64" => Value::Base64(base64_decode(&text).map_err(|m| malformed(t.offset, m))?),
        "nil" => Value::Nil,
        "array" => {
            let data = t.child("data")?;
            Value::Array(data.elems().map(parse_value).collect::<Result<_, _>>()?)
        }
        "struct" => {
            let mut m = BTreeMap::new();
            for member in t.elems() {
                if local(&member.name) != "member" {
                    return Err(malformed(member.offset, "expected <member>"));
                }
                let name = member.child("name")?.text();
                let value = parse_value(member.child("value")?)?;
                m.insert(name, value);
            }
            Value::Struct(m)
        }
        other => return Err(malformed(t.offset, format!("unknown type <{other}>"))),
    })
}

fn parse_params(el: &Element) -> Result<Vec<Value>, XmlRpcError> {
    el.elems()
        .map(|p| {
            if p.name != "param" {
                return Err(malformed(p.offset, "expected <param>"));
            }
            parse_value(p.only("<value>")?)
        })
        .collect()
}

/// A `<methodResponse>`: its value, or its fault as
/// [`XmlRpcError::Fault`].
///
/// # Errors
/// A fault, or bytes that are not a method response.
pub fn parse_response(bytes: &[u8]) -> Result<Value, XmlRpcError> {
    let root = parse_document(bytes)?;
    if root.name != "methodResponse" {
        return Err(malformed(root.offset, "expected <methodResponse>"));
    }
    let body = root.only("<params> or <fault>")?;
    match body.name.as_str() {
        "params" => {
            let mut v = parse_params(body)?;
            if v.len() != 1 {
                return Err(malformed(body.offset, "a response holds exactly one <param>"));
            }
            Ok(v.remove(0))
        }
        "fault" => {
            let v = parse_value(body.only("<value>")?)?;
            let code = v.get("faultCode").and_then(Value::as_i64);
            let message = v.get("faultString").and_then(Value::as_str);
            match (code, message) {
                (Some(code), Some(message)) => Err(XmlRpcError::Fault {
                    code,
                    message: message.to_owned(),
                }),
                _ => Err(malformed(body.offset, "a fault needs faultCode and faultString")),
            }
        }
        other => Err(malformed(body.offset, format!("unexpected <{other}>"))),
    }
}

/// A `<methodCall>`: the method and its parameters.
///
/// # Errors
/// Bytes that are not a method call.
pub fn parse_call(bytes: &[u8]) -> Result<(String, Vec<Value>), XmlRpcError> {
    let root = parse_document(bytes)?;
    if root.name != "methodCall" {
        return Err(malformed(root.offset, "expected <methodCall>"));
    }
    let name = root.child("methodName")?.text();
    let params = match root.elems().find(|e| e.name == "params") {
        Some(p) => parse_params(p)?,
        None => Vec::new(),
    };
    Ok((name, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn xml_char() -> impl Strategy<Value = char> {
        any::<char>().prop_filter("XML 1.0 characters", |c| {
            matches!(*c, '\t' | '\n' | '\r') || (*c as u32 >= 0x20 && *c != '\u{fffe}' && *c != '\u{ffff}')
        })
    }

    fn xml_string() -> impl Strategy<Value = String> {
        proptest::collection::vec(xml_char(), 0..24).prop_map(|v| v.into_iter().collect())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            any::<i32>().prop_map(|i| Value::Int(i64::from(i))),
            any::<bool>().prop_map(Value::Bool),
            xml_string().prop_map(Value::Str),
            any::<f64>()
                .prop_filter("finite", |d| d.is_finite())
                .prop_map(Value::Double),
            "[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}".prop_map(Value::DateTime),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Base64),
            Just(Value::Nil),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(xml_string(), inner, 0..6).prop_map(Value::Struct),
            ]
        })
    }

    proptest! {
        #[test]
        fn calls_round_trip(method in "[a-zA-Z.]{1,20}", params in proptest::collection::vec(value(), 0..5)) {
            let bytes = encode_call(&method, &params).expect("encodes");
            let (m, p) = parse_call(&bytes).expect("parses");
            prop_assert_eq!(m, method);
            prop_assert_eq!(p, params);
        }

        #[test]
        fn responses_round_trip(v in value()) {
            let bytes = encode_response(&v).expect("encodes");
            prop_assert_eq!(parse_response(&bytes).expect("parses"), v);
        }

        #[test]
        fn faults_round_trip(code in any::<i32>(), message in xml_string()) {
            let bytes = encode_fault(i64::from(code), &message).expect("encodes");
            prop_assert_eq!(
                parse_response(&bytes),
                Err(XmlRpcError::Fault { code: i64::from(code), message })
            );
        }

        #[test]
        fn base64_round_trips(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(base64_decode(&base64_encode(&data)).expect("decodes"), data);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_response(&bytes);
            let _ = parse_call(&bytes);
        }
    }

    #[test]
    fn reads_what_python_writes() {
        // Python's xmlrpc.client.dumps((..,), methodresponse=True,
        // allow_none=True) with Koji's i8 extension.
        let doc = b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n\
<member>\n<name>id</name>\n<value><int>12</int></value>\n</member>\n\
<member>\n<name>big</name>\n<value><i8>8589934592</i8></value>\n</member>\n\
<member>\n<name>owner</name>\n<value><nil/></value>\n</member>\n\
<member>\n<name>label</name>\n<value>a &amp; b &lt;c&gt;</value>\n</member>\n\
<member>\n<name>ok</name>\n<value><boolean>1</boolean></value>\n</member>\n\
<member>\n<name>t</name>\n<value><double>1.5</double></value>\n</member>\n\
<member>\n<name>data</name>\n<value><base64>\naGVsbG8=\n</base64></value>\n</member>\n\
<member>\n<name>list</name>\n<value><array><data>\n<value><string>x</string></value>\n<value><ex:nil/></value>\n</data></array></value>\n</member>\n\
</struct></value>\n</param>\n</params>\n</methodResponse>\n";
        let v = parse_response(doc).expect("parses");
        assert_eq!(v.get("id"), Some(&Value::Int(12)));
        assert_eq!(v.get("big"), Some(&Value::Int(8_589_934_592)));
        assert_eq!(v.get("owner"), Some(&Value::Nil));
        assert_eq!(v.get("label"), Some(&Value::str("a & b <c>")));
        assert_eq!(v.get("ok"), Some(&Value::Bool(true)));
        assert_eq!(v.get("t"), Some(&Value::Double(1.5)));
        assert_eq!(v.get("data"), Some(&Value::Base64(b"hello".to_vec())));
        assert_eq!(
            v.get("list"),
            Some(&Value::Array(vec![Value::str("x"), Value::Nil]))
        );
    }

    #[test]
    fn big_integers_use_i8_and_small_ones_int() {
        let s = String::from_utf8(encode_response(&Value::Int(1 << 40)).expect("encodes")).expect("utf-8");
        assert!(s.contains("<i8>1099511627776</i8>"), "{s}");
        let s = String::from_utf8(encode_response(&Value::Int(7)).expect("encodes")).expect("utf-8");
        assert!(s.contains("<int>7</int>"), "{s}");
        assert!(matches!(
            parse_response(b"<methodResponse><params><param><value><int>4294967296</int></value></param></params></methodResponse>"),
            Err(XmlRpcError::Malformed { .. })
        ));
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(matches!(
            encode_call("x", &[Value::str("a\u{1}b")]),
            Err(XmlRpcError::Unencodable(_))
        ));
    }

    #[test]
    fn malformed_documents_name_the_offset() {
        let e = parse_response(
            b"<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
        )
        .expect_err("not an int");
        assert!(matches!(e, XmlRpcError::Malformed { offset: 38, .. }), "{e:?}");
        // 38: the `<int>` element.
        assert!(parse_response(b"<methodResponse><params>").is_err());
        assert!(parse_response(b"<a></b>").is_err());
    }
}
