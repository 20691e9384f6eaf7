//! Streaming bundle reading: objects are handed to a visitor one at a time, so a bundle of any
//! size is read in memory proportional to its largest object, not to the bundle.

use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::strict::StrictValue;

/// Receives the elements of a bundle's `objects`, in order.
pub trait BundleVisitor {
    /// `index` is the position in `objects`. Returning an error stops the reading; the message
    /// is reported as [`BundleError::Aborted`].
    fn object(&mut self, index: usize, value: Value, header: &BundleHeader) -> Result<(), String>;
}

/// The bundle's own properties, as far as they were read when an object is visited. STIX 2.0
/// bundles carry `spec_version`; 2.1 bundles do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleHeader {
    pub bundle_type: Option<String>,
    pub id: Option<String>,
    pub spec_version: Option<String>,
}

/// What a whole read found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleSummary {
    pub header: BundleHeader,
    pub object_count: usize,
    /// The input was one STIX object rather than a bundle; it was read as a bundle of one.
    pub single_object: bool,
}

/// Why a bundle could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not a STIX bundle: {0}")]
    NotABundle(String),
    /// Valid JSON, but not of a bundle's shape where it was read (a list of objects that is a
    /// string, a name twice in one object).
    #[error("not a STIX bundle at line {line}, column {column}: {message}")]
    Shape {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the bundle holds more than {limit} objects; split it or raise the limit")]
    TooManyObjects { limit: usize },
    #[error("reading stopped at object {index}: {message}")]
    Aborted { index: usize, message: String },
}

/// Reads bundles with a bound on how many objects one may hold.
#[derive(Debug, Clone, Copy)]
pub struct BundleReader {
    pub objects_max: usize,
}

impl Default for BundleReader {
    fn default() -> Self {
        // Enterprise ATT&CK is 25k objects; ten million leaves room for any real feed while
        // bounding a runaway producer.
        BundleReader {
            objects_max: 10_000_000,
        }
    }
}

impl BundleReader {
    /// Reads a bundle from bytes already in memory (the fastest path).
    pub fn read_slice<V: BundleVisitor>(
        &self,
        bytes: &[u8],
        visitor: &mut V,
    ) -> Result<BundleSummary, BundleError> {
        let mut deserializer = serde_json::Deserializer::from_slice(without_bom(bytes));
        self.run(&mut deserializer, visitor)
    }

    /// Reads a bundle from any reader; wrap files in a `BufReader`.
    pub fn read<R: Read, V: BundleVisitor>(
        &self,
        reader: R,
        visitor: &mut V,
    ) -> Result<BundleSummary, BundleError> {
        // An error reading the first bytes reads as one later on would (serde_json's).
        let reader = reader_without_bom(reader).map_err(|e| BundleError::Json {
            line: 1,
            column: 0,
            message: e.to_string(),
        })?;
        let mut deserializer = serde_json::Deserializer::from_reader(reader);
        self.run(&mut deserializer, visitor)
    }

    fn run<'de, R: serde_json::de::Read<'de>, V: BundleVisitor>(
        &self,
        deserializer: &mut serde_json::Deserializer<R>,
        visitor: &mut V,
    ) -> Result<BundleSummary, BundleError> {
        let mut state = State {
            visitor,
            objects_max: self.objects_max,
            summary: BundleSummary::default(),
            abort: None,
            other: serde_json::Map::new(),
        };
        let result = BundleSeed(&mut state)
            .deserialize(&mut *deserializer)
            .and_then(|()| deserializer.end());
        if let Some(abort) = state.abort {
            return Err(abort);
        }
        if let Err(e) = result {
            let (line, column, message) = (e.line(), e.column(), strip_position(&e.to_string()));
            return Err(if e.is_data() {
                BundleError::Shape {
                    line,
                    column,
                    message,
                }
            } else {
                BundleError::Json {
                    line,
                    column,
                    message,
                }
            });
        }
        let bundle_type = state.summary.header.bundle_type.clone();
        match bundle_type.as_deref() {
            // A JSON object under `objects` was kept for a lone observed-data; a bundle's must
            // be a list, and reading it as none would import nothing and say nothing.
            Some("bundle") if state.other.contains_key("objects") => {
                return Err(BundleError::NotABundle(
                    "its \"objects\" is a JSON object, not a list of objects".to_string(),
                ));
            }
            Some("bundle") => {}
            // Files holding one bare object are common in the wild (the OASIS examples have
            // them); such a file is read as a bundle of one.
            Some(object_type)
                if state.summary.object_count == 0 && state.summary.header.id.is_some() =>
            {
                let header = std::mem::take(&mut state.summary.header);
                let mut object = std::mem::take(&mut state.other);
                object.insert("type".into(), Value::String(object_type.to_string()));
                object.insert(
                    "id".into(),
                    Value::String(header.id.clone().unwrap_or_default()),
                );
                if let Some(version) = &header.spec_version {
                    object.insert("spec_version".into(), Value::String(version.clone()));
                }
                let header = BundleHeader::default();
                if let Err(message) = state.visitor.object(0, Value::Object(object), &header) {
                    return Err(BundleError::Aborted { index: 0, message });
                }
                return Ok(BundleSummary {
                    header,
                    object_count: 1,
                    single_object: true,
                });
            }
            Some(other) => {
                return Err(BundleError::NotABundle(format!(
                    "its type is {other:?}, not \"bundle\""
                )));
            }
            None => return Err(BundleError::NotABundle("it has no \"type\"".to_string())),
        }
        if state.summary.header.id.is_none() {
            return Err(BundleError::NotABundle("it has no \"id\"".to_string()));
        }
        Ok(state.summary)
    }
}

impl BundleReader {
    /// Splits a bundle held in memory into its objects' raw text, without building any object,
    /// handing each to `sink` as soon as it is read: callers parse the objects themselves, on
    /// other threads, while the rest is split. Returns the bundle's header once the whole
    /// bundle (`"type": "bundle"`, an `id`, a list of `objects`) split; `None` when it is not
    /// such a bundle (the sink may have seen objects by then), when it holds more than
    /// [`BundleReader::objects_max`] objects, or when the sink stopped the split. The caller
    /// should then use [`BundleReader::read_slice`], which explains the problem or reads a lone
    /// object.
    pub fn split_slice_into<'a>(
        &self,
        bytes: &'a [u8],
        sink: &mut impl SplitSink<'a>,
    ) -> Option<BundleHeader> {
        let mut deserializer = serde_json::Deserializer::from_slice(without_bom(bytes));
        let mut envelope = Envelope {
            sink,
            objects_max: self.objects_max,
            header: BundleHeader::default(),
        };
        (&mut envelope)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .ok()?;
        let header = envelope.header;
        (header.bundle_type.as_deref() == Some("bundle") && header.id.is_some()).then_some(header)
    }
}

/// Receives a bundle's objects as [`BundleReader::split_slice_into`] splits them off.
pub trait SplitSink<'a> {
    /// The bundle's `spec_version`, when it is read. It may come before or after the objects.
    fn spec_version(&mut self, _spec_version: &str) {}
    /// The raw text of the next object; false stops the split.
    fn object(&mut self, raw: &'a RawValue) -> bool;
}

/// The bundle's top level, read with each object passed on rather than collected.
struct Envelope<'s, S> {
    sink: &'s mut S,
    objects_max: usize,
    header: BundleHeader,
}

impl<'de, S: SplitSink<'de>> DeserializeSeed<'de> for &mut Envelope<'_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: SplitSink<'de>> Visitor<'de> for &mut Envelope<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a STIX bundle")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut objects_seen = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            // A repeated member makes the bundle ambiguous; the reader that explains problems
            // says so.
            let repeated = |seen: bool| refuse_repeat(seen, &key);
            match key.as_ref() {
                "type" => {
                    repeated(self.header.bundle_type.is_some())?;
                    self.header.bundle_type = Some(map.next_value()?);
                }
                "id" => {
                    repeated(self.header.id.is_some())?;
                    self.header.id = Some(map.next_value()?);
                }
                "spec_version" => {
                    repeated(self.header.spec_version.is_some())?;
                    let spec_version: String = map.next_value()?;
                    self.sink.spec_version(&spec_version);
                    self.header.spec_version = Some(spec_version);
                }
                "objects" => {
                    repeated(objects_seen)?;
                    objects_seen = true;
                    map.next_value_seed(ObjectList {
                        sink: &mut *self.sink,
                        objects_max: self.objects_max,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A bundle's `objects`, each handed on as it is read; `null` is an empty list.
struct ObjectList<'s, S> {
    sink: &'s mut S,
    objects_max: usize,
}

impl<'de, S: SplitSink<'de>> DeserializeSeed<'de> for ObjectList<'_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: SplitSink<'de>> Visitor<'de> for ObjectList<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut count = 0;
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            count += 1;
            if count > self.objects_max {
                return Err(de::Error::custom("too many objects"));
            }
            if !self.sink.object(raw) {
                return Err(de::Error::custom("the split was stopped"));
            }
        }
        Ok(())
    }
}

/// A bundle member met a second time makes the bundle ambiguous (which `objects`, which
/// `type`?), so both readers refuse it.
fn refuse_repeat<E: de::Error>(seen: bool, name: &str) -> Result<(), E> {
    if seen {
        Err(crate::strict::repeated_name(name))
    } else {
        Ok(())
    }
}

/// The UTF-8 byte order mark some editors on Windows put at the start of a file. JSON must
/// not carry one, but RFC 8259 lets a reader ignore it, and refusing a whole bundle over three
/// invisible bytes helps no analyst.
const UTF8_BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// `bytes` without the byte order mark at their start, if they have one.
pub fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(&UTF8_BOM).unwrap_or(bytes)
}

/// `reader` without the byte order mark at its start, if it has one.
fn reader_without_bom<R: Read>(mut reader: R) -> std::io::Result<impl Read> {
    let mut start = [0u8; UTF8_BOM.len()];
    let mut read = 0;
    while read < start.len() {
        match reader.read(&mut start[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let kept = if start[..read] == UTF8_BOM { 0 } else { read };
    Ok(std::io::Cursor::new(start).take(kept as u64).chain(reader))
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

struct State<'v, V> {
    visitor: &'v mut V,
    objects_max: usize,
    summary: BundleSummary,
    abort: Option<BundleError>,
    /// Top-level members other than the bundle's own, kept in case the input is a single object.
    other: serde_json::Map<String, Value>,
}

struct BundleSeed<'s, 'v, V>(&'s mut State<'v, V>);

impl<'de, V: BundleVisitor> DeserializeSeed<'de> for BundleSeed<'_, '_, V> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, V: BundleVisitor> Visitor<'de> for BundleSeed<'_, '_, V> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a STIX bundle (a JSON object with \"type\": \"bundle\" and \"objects\")")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut objects_seen = false;
        while let Some(key) = map.next_key::<String>()? {
            let header = &mut self.0.summary.header;
            // Whether this turns out a bundle or a lone object, a member named twice is
            // refused.
            let repeated = |seen: bool| refuse_repeat(seen, &key);
            match key.as_str() {
                "objects" => {
                    repeated(objects_seen)?;
                    objects_seen = true;
                    map.next_value_seed(ObjectsSeed(&mut *self.0))?;
                }
                "type" => {
                    repeated(header.bundle_type.is_some())?;
                    header.bundle_type = Some(map.next_value::<String>()?);
                }
                "id" => {
                    repeated(header.id.is_some())?;
                    header.id = Some(map.next_value::<String>()?);
                }
                "spec_version" => {
                    repeated(header.spec_version.is_some())?;
                    header.spec_version = Some(map.next_value::<String>()?);
                }
                _ if self.0.other.len() < OTHER_MEMBERS_MAX => {
                    repeated(self.0.other.contains_key(&key))?;
                    let value = map.next_value::<StrictValue>()?.0;
                    self.0.other.insert(key, value);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Top-level members kept besides the bundle's own; a single STIX object has fewer than this.
const OTHER_MEMBERS_MAX: usize = 1_000;

struct ObjectsSeed<'s, 'v, V>(&'s mut State<'v, V>);

impl<'de, V: BundleVisitor> DeserializeSeed<'de> for ObjectsSeed<'_, '_, V> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, V: BundleVisitor> Visitor<'de> for ObjectsSeed<'_, '_, V> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of STIX objects")
    }

    /// A dictionary under `objects` is not a bundle's list but a lone observed-data's
    /// (deprecated) `objects` property; keep it for the single-object reading.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = StrictValue::deserialize(de::value::MapAccessDeserializer::new(map))?.0;
        self.0.other.insert("objects".to_string(), value);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.0;
        while let Some(StrictValue(value)) = seq.next_element()? {
            let index = state.summary.object_count;
            if index >= state.objects_max {
                state.abort = Some(BundleError::TooManyObjects {
                    limit: state.objects_max,
                });
                return Err(de::Error::custom("too many objects"));
            }
            state.summary.object_count += 1;
            if let Err(message) = state.visitor.object(index, value, &state.summary.header) {
                state.abort = Some(BundleError::Aborted { index, message });
                return Err(de::Error::custom("aborted"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<Value>);
    impl BundleVisitor for Collect {
        fn object(&mut self, _: usize, value: Value, _: &BundleHeader) -> Result<(), String> {
            self.0.push(value);
            Ok(())
        }
    }

    #[test]
    fn streams_objects_and_reads_the_header() {
        let text = r#"{"type":"bundle","id":"bundle--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22","spec_version":"2.0","objects":[{"a":1},{"b":2}],"x":[1]}"#;
        let mut c = Collect(Vec::new());
        let s = BundleReader::default()
            .read_slice(text.as_bytes(), &mut c)
            .unwrap();
        assert_eq!(s.object_count, 2);
        assert_eq!(s.header.spec_version.as_deref(), Some("2.0"));
        assert_eq!(c.0.len(), 2);
    }

    /// Every object's text and each `spec_version` as the split hands them on; stops after
    /// `stop_after` objects.
    #[derive(Default)]
    struct Split<'a> {
        seen: Vec<String>,
        raw: Vec<&'a RawValue>,
        stop_after: Option<usize>,
    }

    impl<'a> SplitSink<'a> for Split<'a> {
        fn spec_version(&mut self, spec_version: &str) {
            self.seen.push(format!("spec_version {spec_version}"));
        }

        fn object(&mut self, raw: &'a RawValue) -> bool {
            self.seen.push(format!("object {}", self.raw.len()));
            self.raw.push(raw);
            self.stop_after != Some(self.raw.len())
        }
    }

    #[test]
    fn splits_only_well_formed_bundles() {
        let r = BundleReader::default();
        let text = br#"{"type":"bundle","id":"bundle--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22","objects":[{"a":[1,{"b":"]"}]},{"c":2}],"spec_version":"2.0","x_other":[1]}"#;
        let mut split = Split::default();
        let header = r.split_slice_into(text, &mut split).unwrap();
        assert_eq!(header.spec_version.as_deref(), Some("2.0"));
        assert_eq!(split.raw[0].get(), r#"{"a":[1,{"b":"]"}]}"#);
        assert_eq!(split.raw[1].get(), r#"{"c":2}"#);
        // In the order the bundle gives them: the version after the objects here.
        assert_eq!(split.seen, ["object 0", "object 1", "spec_version 2.0"]);

        let refused: [&[u8]; 4] = [
            &text[..40],
            br#"{"type":"campaign","id":"x"}"#,
            br#"{"type":"bundle","objects":[]}"#,
            br#"{"type":"bundle","id":"bundle--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22","objects":[],"objects":[]}"#,
        ];
        for bytes in refused {
            assert!(r.split_slice_into(bytes, &mut Split::default()).is_none());
        }
        let mut split = Split::default();
        assert!(
            BundleReader { objects_max: 1 }
                .split_slice_into(text, &mut split)
                .is_none()
        );
        assert_eq!(split.raw.len(), 1);
        let mut split = Split {
            stop_after: Some(1),
            ..Split::default()
        };
        assert!(r.split_slice_into(text, &mut split).is_none());
        assert_eq!(split.seen, ["object 0"]);
        // `null` objects are none.
        let empty = br#"{"type":"bundle","id":"bundle--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22","objects":null}"#;
        let mut split = Split::default();
        assert!(r.split_slice_into(empty, &mut split).is_some());
        assert!(split.raw.is_empty());
    }

    #[test]
    fn reads_a_lone_object_as_a_bundle_of_one() {
        let text = r#"{"type":"campaign","id":"campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","name":"x","objects":{"0":{"type":"file"}}}"#;
        let mut c = Collect(Vec::new());
        let s = BundleReader::default()
            .read_slice(text.as_bytes(), &mut c)
            .unwrap();
        assert!(s.single_object);
        assert_eq!(c.0.len(), 1);
        assert_eq!(c.0[0]["name"], "x");
        assert_eq!(c.0[0]["objects"]["0"]["type"], "file");
    }

    #[test]
    fn explains_bad_input() {
        let r = BundleReader::default();
        let mut c = Collect(Vec::new());
        match r.read_slice(b"{\"type\":\"bundle\",\"objects\":[{\"a\":1}", &mut c) {
            Err(BundleError::Json { line: 1, .. }) => {}
            other => panic!("{other:?}"),
        }
        // Valid JSON of another shape.
        assert!(matches!(
            r.read_slice(b"[1,2]", &mut c),
            Err(BundleError::Shape { line: 1, .. })
        ));
        assert!(matches!(
            r.read_slice(b"{\"name\":\"x\"}", &mut c),
            Err(BundleError::NotABundle(_))
        ));
        assert!(matches!(
            r.read_slice(b"{\"type\":\"indicator\"}", &mut c),
            Err(BundleError::NotABundle(_))
        ));
        assert!(matches!(
            r.read_slice(b"\x00\x01garbage", &mut c),
            Err(BundleError::Json { .. })
        ));
        let small = BundleReader { objects_max: 1 };
        assert!(matches!(
            small.read_slice(
                b"{\"type\":\"bundle\",\"id\":\"b\",\"objects\":[{},{}]}",
                &mut c
            ),
            Err(BundleError::TooManyObjects { limit: 1 })
        ));
    }

    #[test]
    fn a_name_twice_is_refused_wherever_it_is() {
        let r = BundleReader::default();
        let id = r#""id":"bundle--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22""#;
        let lone = r#"{"type":"campaign","id":"campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","name":"x","name":"y"}"#;
        // (text, the name repeated, whether the split refuses it too: it reads the bundle's
        // own members, and leaves the objects to be parsed, and refused, where they are judged)
        for (text, name, split_refuses) in [
            // Two lists of objects: which one is the bundle's?
            (
                format!(r#"{{"type":"bundle",{id},"objects":[{{"a":1}}],"objects":[{{"b":2}}]}}"#),
                "objects",
                true,
            ),
            (
                format!(r#"{{"type":"bundle","type":"campaign",{id},"objects":[]}}"#),
                "type",
                true,
            ),
            // Inside an object, at any depth.
            (
                format!(r#"{{"type":"bundle",{id},"objects":[{{"a":1,"a":2}}]}}"#),
                "a",
                false,
            ),
            (
                format!(
                    r#"{{"type":"bundle",{id},"objects":[{{"a":{{"b":[{{"c":0,"c":0}}]}}}}]}}"#
                ),
                "c",
                false,
            ),
            // A lone object's own members.
            (lone.to_string(), "name", true),
        ] {
            match r.read_slice(text.as_bytes(), &mut Collect(Vec::new())) {
                Err(BundleError::Shape { message, .. }) => assert!(
                    message.contains(&format!("the name \"{name}\" appears twice")),
                    "{text}: {message}"
                ),
                other => panic!("{text}: {other:?}"),
            }
            let split = r.split_slice_into(text.as_bytes(), &mut Split::default());
            assert_eq!(split.is_none(), split_refuses, "{text}");
        }
    }

    #[test]
    fn a_bundle_whose_objects_are_not_a_list_is_refused() {
        let text = br#"{"type":"bundle","id":"bundle--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22","objects":{}}"#;
        match BundleReader::default().read_slice(text, &mut Collect(Vec::new())) {
            Err(BundleError::NotABundle(why)) => assert!(why.contains("not a list"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let text = b"\xef\xbb\xbf{\"type\":\"bundle\",\"id\":\"bundle--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22\",\"objects\":[{\"a\":1}]}";
        let r = BundleReader::default();
        let mut c = Collect(Vec::new());
        assert_eq!(r.read_slice(text, &mut c).unwrap().object_count, 1);
        assert_eq!(r.read(&text[..], &mut c).unwrap().object_count, 1);
        assert!(r.split_slice_into(text, &mut Split::default()).is_some());
        assert_eq!(c.0.len(), 2);
        // Only at the start, and only the whole mark.
        assert!(matches!(
            r.read_slice(&text[1..], &mut c),
            Err(BundleError::Json { .. })
        ));
        // Short inputs are read as they are.
        for short in [&b""[..], b"{", b"\xef\xbb"] {
            assert!(matches!(
                r.read(short, &mut c),
                Err(BundleError::Json { .. })
            ));
        }
    }
}
