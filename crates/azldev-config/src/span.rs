//! Source locations: which loaded file, which byte range.
//!
//! Every leaf of the raw configuration is wrapped in [`Sp`], which remembers the
//! file and byte span it was read from. The span comes from `toml::Spanned`; the
//! file is taken from a per-thread "file being deserialized" marker that the loader
//! sets for the duration of one `toml::from_str` call (see [`with_current_file`]).
//! This way the typed structs carry full provenance through merging and
//! inheritance without a second pass over the TOML tree.

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, Range};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Index of a loaded file in the [`crate::SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub(crate) u32);

impl FileId {
    /// Position of the file in load order.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range in one loaded file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Loc {
    pub file: FileId,
    pub span: Range<usize>,
}

impl Loc {
    #[must_use]
    pub fn new(file: FileId, span: Range<usize>) -> Self {
        Self { file, span }
    }
}

thread_local! {
    static CURRENT_FILE: Cell<FileId> = const { Cell::new(FileId(0)) };
    static ANNOTATE: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` with [`Sp`] values serializing as `{"$value": v, "$loc": [file, offset]}`
/// on this thread, so a view can recover where each value came from.
pub(crate) fn annotated<R>(f: impl FnOnce() -> R) -> R {
    let previous = ANNOTATE.with(|c| c.replace(true));
    let out = f();
    ANNOTATE.with(|c| c.set(previous));
    out
}

/// Run `f` with `file` as the file that [`Sp`] values deserialized on this thread
/// belong to.
pub(crate) fn with_current_file<R>(file: FileId, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT_FILE.with(|c| c.replace(file));
    let out = f();
    CURRENT_FILE.with(|c| c.set(previous));
    out
}

/// A value together with where it was written.
///
/// Serializes as the bare value; compares, orders and hashes by value only.
#[derive(Clone, Default)]
pub struct Sp<T> {
    pub value: T,
    pub loc: Loc,
}

impl<T> Sp<T> {
    pub fn new(value: T, loc: Loc) -> Self {
        Self { value, loc }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sp<U> {
        Sp {
            value: f(self.value),
            loc: self.loc,
        }
    }

    pub fn as_ref(&self) -> Sp<&T> {
        Sp {
            value: &self.value,
            loc: self.loc.clone(),
        }
    }
}

impl<T> Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Sp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} @{}:{:?}", self.value, self.loc.file.0, self.loc.span)
    }
}

impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Sp<T> {}
impl<T: PartialOrd> PartialOrd for Sp<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Sp<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T: Hash> Hash for Sp<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(deserializer)?;
        let span = spanned.span();
        let file = CURRENT_FILE.with(Cell::get);
        Ok(Sp {
            value: spanned.into_inner(),
            loc: Loc { file, span },
        })
    }
}

impl<T: Serialize> Serialize for Sp<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if ANNOTATE.with(Cell::get) {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(2))?;
            map.serialize_entry("$value", &self.value)?;
            map.serialize_entry("$loc", &(self.loc.file.0, self.loc.span.start))?;
            map.end()
        } else {
            self.value.serialize(serializer)
        }
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}
