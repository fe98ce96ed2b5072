//! The configuration file format: one struct per TOML table, keys exactly as
//! azldev (Azure Linux 4.0) spells them. These types are deserialized from each
//! file, merged across files, and (for components) merged along the inheritance
//! chain; every leaf is an [`Sp`] so it remembers where it was written.
//!
//! The JSON Schema (`azldev config schema`) is generated from these types, and
//! the structural checker (`crate::check`) walks each file against that schema,
//! so the types are the single source of truth for the vocabulary.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::span::Sp;

type S = Sp<String>;

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// A distro configuration file (`distro.toml`, `azldev.toml`, or any included file).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "azldev configuration file")]
pub struct ConfigFile {
    /// URI of the JSON schema for this file (for editors).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<S>,
    /// Glob patterns (`**` allowed) of further configuration files to load,
    /// relative to this file. A pattern matching nothing is fine; a literal path that
    /// does not exist is an error.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub includes: Vec<S>,
    /// Basic properties of this project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Sp<ProjectInfo>>,
    /// Distros to build for or consume from (upstreams).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distros: BTreeMap<String, Sp<Distro>>,
    /// Reusable named resource definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Sp<Resources>>,
    /// Named sets of components sharing default configuration.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub component_groups: BTreeMap<String, Sp<ComponentGroup>>,
    /// Components (source packages) of the distro.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, Sp<ComponentConfig>>,
    /// Images assembled from the distro's packages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, Sp<Image>>,
    /// Configuration for tools used by azldev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Sp<Tools>>,
    /// Project-wide default applied to every component before group and component settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_component_config: Option<Sp<ComponentConfig>>,
    /// Project-wide default applied to every binary package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_package_config: Option<Sp<PackageConfig>>,
    /// Named sets of binary packages sharing configuration.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub package_groups: BTreeMap<String, Sp<PackageGroup>>,
    /// Test suites referenced by images.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub test_suites: BTreeMap<String, Sp<TestSuite>>,
}

/// `[project]`: basic properties of the project.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectInfo {
    /// Human readable project description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Log directory, relative to the defining file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<S>,
    /// Temporary working directory, relative to the defining file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<S>,
    /// Output directory, relative to the defining file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dir: Option<S>,
    /// Output directory of rendered specs, relative to the defining file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_specs_dir: Option<S>,
    /// Directory of per-component lock files (default `locks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_dir: Option<S>,
    /// The distro (and version) this project builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_distro: Option<Sp<DistroReference>>,
    /// Default e-mail for synthetic changelog entries and commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_author_email: Option<S>,
    /// Extension: the key `azldev repo sign` signs with (`--key` and
    /// `AZLDEV_SIGNING_KEY` override it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<Sp<Signing>>,
}

/// `[project.signing]`: the repository signing key, one of `key` or
/// `key-file`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Signing {
    /// A secret key of the signing user's GnuPG keyring (`GNUPGHOME` is
    /// honoured): key id, fingerprint or user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<S>,
    /// An armored OpenPGP secret key (without a passphrase) inside the
    /// project, relative to the defining file; imported into a throwaway
    /// keyring for each signing run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<S>,
}

/// A reference to a distro, optionally a version and a snapshot time.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DistroReference {
    /// Name of the referenced distro (a key of `[distros]`).
    pub name: S,
    /// Version of the referenced distro (a key of its `versions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<S>,
    /// RFC 3339 time: use the newest upstream commit at or before it. Only on the
    /// distro or group `default-component-config`, never per component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<S>,
}

/// `[distros.NAME]`: a distro built or consumed from.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Distro {
    /// Human readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Version used when a reference names no version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_version: Option<S>,
    /// Base URI of the distro's dist-git; `$pkg` is replaced by the package name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist_git_base_uri: Option<S>,
    /// Extension: directory of a package inside one repository holding many
    /// packages, e.g. `SPECS/$pkg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist_git_path: Option<S>,
    /// Base URI of the lookaside cache (`$pkg`, `$filename`, `$hashtype`, `$hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookaside_base_uri: Option<S>,
    /// Package repositories of the distro.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub repos: Vec<Sp<PackageRepository>>,
    /// Only take source files from the lookaside cache, never from their origins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_origins: Option<Sp<bool>>,
    /// Versions of the distro.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, Sp<DistroVersion>>,
}

/// A package repository.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageRepository {
    /// Base URI of the repository.
    pub base_uri: S,
}

/// `[distros.NAME.versions.VERSION]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DistroVersion {
    /// Human readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Formal `releasever`.
    pub release_ver: S,
    /// Branch of the dist-git repositories for this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist_git_branch: Option<S>,
    /// Default configuration of every component built for this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_component_config: Option<Sp<ComponentConfig>>,
    /// Mock configuration file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_config: Option<S>,
    /// Mock configuration file for x86_64.
    #[serde(
        rename = "mock-config-x86_64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mock_config_x86_64: Option<S>,
    /// Mock configuration file for aarch64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_config_aarch64: Option<S>,
}

/// Configuration of a component, or defaults for many.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentConfig {
    /// Where the component's spec comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Sp<SpecSource>>,
    /// How the Release tag is managed during rendering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Sp<ReleaseConfig>>,
    /// Edits applied to the component's spec and sources. Appended along inheritance.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub overlays: Vec<Sp<Overlay>>,
    /// Glob patterns of overlay files (one `[metadata]` plus `[[overlays]]` each),
    /// relative to the defining file; `{component}` is replaced by the component
    /// name. Replaced (not appended) along inheritance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay_files: Option<Sp<Vec<S>>>,
    /// Build options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Sp<BuildConfig>>,
    /// Rendering options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render: Option<Sp<RenderConfig>>,
    /// Source files beyond the upstream `sources` file. Appended along inheritance.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub source_files: Vec<Sp<SourceFileRef>>,
    /// Per binary package settings, keyed by exact package name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, Sp<PackageConfig>>,
    /// Publish channels of the component's packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Sp<ComponentPublish>>,
}

/// Kind of spec source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SpecType {
    #[default]
    Upstream,
    Local,
    /// Read for compatibility, never offered: not in the schema, so an
    /// editor and `config check` reject `type = ""`.
    #[serde(rename = "")]
    #[schemars(skip)]
    Unset,
}

/// `spec = { … }`: where the spec comes from.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SpecSource {
    /// `upstream` (a distro's dist-git) or `local` (kept in this repository).
    #[serde(rename = "type")]
    pub kind: Sp<SpecType>,
    /// Path of a local spec, relative to the defining file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<S>,
    /// The upstream distro providing the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_distro: Option<Sp<DistroReference>>,
    /// Name of the component in the upstream distro, when different.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_name: Option<S>,
    /// Upstream commit (7 to 40 hex digits) to pin to; takes priority over snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_commit: Option<S>,
}

/// How the Release tag is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseCalculation {
    Auto,
    Autorelease,
    Static,
    Manual,
}

/// `release = { … }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReleaseConfig {
    /// How the Release tag is managed; omitted means `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculation: Option<Sp<ReleaseCalculation>>,
}

/// The overlay vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OverlayType {
    SpecAddTag,
    SpecInsertTag,
    SpecSetTag,
    SpecUpdateTag,
    SpecRemoveTag,
    SpecPrependLines,
    SpecAppendLines,
    SpecSearchReplace,
    SpecRemoveSection,
    SpecRemoveSubpackage,
    PatchAdd,
    PatchRemove,
    FilePrependLines,
    FileSearchReplace,
    FileAdd,
    FileRemove,
    FileRename,
}

impl OverlayType {
    pub const ALL: [OverlayType; 17] = [
        Self::SpecAddTag,
        Self::SpecInsertTag,
        Self::SpecSetTag,
        Self::SpecUpdateTag,
        Self::SpecRemoveTag,
        Self::SpecPrependLines,
        Self::SpecAppendLines,
        Self::SpecSearchReplace,
        Self::SpecRemoveSection,
        Self::SpecRemoveSubpackage,
        Self::PatchAdd,
        Self::PatchRemove,
        Self::FilePrependLines,
        Self::FileSearchReplace,
        Self::FileAdd,
        Self::FileRemove,
        Self::FileRename,
    ];

    /// Whether the type edits sidecar files (and so may target an `archive`).
    #[must_use]
    pub fn is_file_overlay(self) -> bool {
        matches!(
            self,
            Self::FilePrependLines
                | Self::FileSearchReplace
                | Self::FileAdd
                | Self::FileRemove
                | Self::FileRename
        )
    }

    /// The TOML spelling, e.g. `spec-add-tag`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SpecAddTag => "spec-add-tag",
            Self::SpecInsertTag => "spec-insert-tag",
            Self::SpecSetTag => "spec-set-tag",
            Self::SpecUpdateTag => "spec-update-tag",
            Self::SpecRemoveTag => "spec-remove-tag",
            Self::SpecPrependLines => "spec-prepend-lines",
            Self::SpecAppendLines => "spec-append-lines",
            Self::SpecSearchReplace => "spec-search-replace",
            Self::SpecRemoveSection => "spec-remove-section",
            Self::SpecRemoveSubpackage => "spec-remove-subpackage",
            Self::PatchAdd => "patch-add",
            Self::PatchRemove => "patch-remove",
            Self::FilePrependLines => "file-prepend-lines",
            Self::FileSearchReplace => "file-search-replace",
            Self::FileAdd => "file-add",
            Self::FileRemove => "file-remove",
            Self::FileRename => "file-rename",
        }
    }
}

/// Keys every overlay accepts, whatever its type.
pub const OVERLAY_COMMON_KEYS: &[&str] = &["type", "description", "metadata"];

impl OverlayType {
    /// Keys an overlay of this type must have (each non-empty). The
    /// validation pass, the JSON Schema and `docs/overlays.md` follow this
    /// table; a test checks each against it.
    #[must_use]
    pub fn required_keys(self) -> &'static [&'static str] {
        match self {
            Self::SpecAddTag | Self::SpecInsertTag | Self::SpecSetTag | Self::SpecUpdateTag => {
                &["tag", "value"]
            }
            Self::SpecRemoveTag => &["tag"],
            Self::SpecPrependLines | Self::SpecAppendLines => &["lines"],
            Self::SpecSearchReplace => &["regex"],
            Self::SpecRemoveSection => &["section"],
            Self::SpecRemoveSubpackage => &["package"],
            Self::PatchAdd => &["source"],
            Self::PatchRemove | Self::FileRemove => &["file"],
            Self::FilePrependLines => &["file", "lines"],
            Self::FileSearchReplace => &["file", "regex"],
            Self::FileAdd => &["file", "source"],
            Self::FileRename => &["file", "replacement"],
        }
    }

    /// Keys an overlay of this type may have besides the required ones and
    /// [`OVERLAY_COMMON_KEYS`].
    #[must_use]
    pub fn optional_keys(self) -> &'static [&'static str] {
        match self {
            Self::SpecAddTag | Self::SpecInsertTag | Self::SpecSetTag | Self::SpecUpdateTag => &["package"],
            Self::SpecRemoveTag => &["value", "package"],
            Self::SpecPrependLines | Self::SpecAppendLines => &["section", "package"],
            Self::SpecSearchReplace => &["replacement", "section", "package"],
            Self::SpecRemoveSection => &["package"],
            Self::SpecRemoveSubpackage | Self::PatchRemove => &[],
            Self::PatchAdd => &["file"],
            Self::FilePrependLines | Self::FileAdd | Self::FileRemove | Self::FileRename => &["archive"],
            Self::FileSearchReplace => &["replacement", "archive"],
        }
    }
}

impl std::fmt::Display for OverlayType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One overlay: a semantic edit of the spec or of a sidecar file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Overlay {
    /// The kind of edit.
    #[serde(rename = "type")]
    pub kind: Sp<OverlayType>,
    /// Why the overlay exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Non-spec file the overlay applies to (a glob for some types). With
    /// `archive`, a member (or glob of members) inside that archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<S>,
    /// File overlays only: an archive among the component's sources
    /// (`.tar`, `.tar.gz`, `.tar.xz`, `.tar.bz2`, `.tar.zst` or `.zip`) whose
    /// members the overlay edits; it is repacked deterministically with the
    /// same compression. Needs a `source-files` entry for the archive with
    /// `origin = { type = "overlay" }` and the digest after the overlays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<S>,
    /// Spec section the overlay applies to, e.g. `%prep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<S>,
    /// Sub-package the overlay applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<S>,
    /// Spec tag, e.g. `Source0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<S>,
    /// Exact value to set or match (TOML key `value`).
    #[serde(rename = "value", default, skip_serializing_if = "Option::is_none")]
    pub tag_value: Option<S>,
    /// Regular expression (RE2 syntax) to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<S>,
    /// Replacement text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<S>,
    /// Lines of text to insert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Sp<Vec<S>>>,
    /// Input file, relative to the file defining the overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<S>,
    /// Why and where from: documentation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Sp<OverlayMetadata>>,
}

/// Classification of an overlay's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OverlayCategory {
    UpstreamBackport,
    AzlPruning,
    AzlCompatibility,
    AzlTempWorkaround,
    AzlBrandingPolicy,
    AzlDisableFlakyTests,
    AzlDisableUnsupportedTests,
    AzlSecurityCompliance,
    AzlReleaseManagement,
    AzlPlatformAdaptation,
}

/// An overlay's relationship to its upstream project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamStatus {
    Upstreamed,
    Upstreamable,
    NeedsUpstreamHook,
    Inapplicable,
    Unknown,
}

/// A link to an external resource.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UrlRef {
    /// http(s) URL.
    pub url: S,
}

/// `[metadata]`: intent and provenance of an overlay.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OverlayMetadata {
    /// Why the overlay exists.
    pub category: Sp<OverlayCategory>,
    /// Upstream commits backported or referenced.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub commits: Vec<Sp<UrlRef>>,
    /// Issue tracker entries.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub bugs: Vec<Sp<UrlRef>>,
    /// Relationship to upstream.
    pub upstream_status: Sp<UpstreamStatus>,
}

/// An overlay file: one `[metadata]` shared by its `[[overlays]]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "azldev overlay file")]
pub struct OverlayFile {
    /// Metadata stamped onto every overlay of the file.
    pub metadata: Sp<OverlayMetadata>,
    /// The overlays, applied in order.
    #[serde(default)]
    pub overlays: Vec<Sp<Overlay>>,
}

/// `build = { … }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildConfig {
    /// `--with` options.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub with: Vec<S>,
    /// `--without` options.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub without: Vec<S>,
    /// Macro definitions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub defines: BTreeMap<String, S>,
    /// Macros to undefine.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub undefines: Vec<S>,
    /// `%check` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Sp<CheckConfig>>,
    /// Expected build failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Sp<FailureConfig>>,
    /// Scheduling hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<Sp<BuildHints>>,
    /// Bootstrap: BuildRequires (by capability name, as written after
    /// `BuildRequires:`) this component takes prebuilt from the
    /// buildroot's repositories instead of from this distro's build; the
    /// graph drops their edges, which is how a dependency cycle is broken.
    /// Extension beyond azldev.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub bootstrap_prebuilt: Vec<S>,
}

/// `check = { … }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Disable `%check` (prepends `exit 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<Sp<bool>>,
    /// Required justification when `skip = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<S>,
}

/// `failure = { … }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FailureConfig {
    /// The component is expected to fail building.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Sp<bool>>,
    /// Required justification when `expected = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_reason: Option<S>,
}

/// `hints = { … }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildHints {
    /// Building is expensive; schedule with care.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expensive: Option<Sp<bool>>,
}

/// `render = { … }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RenderConfig {
    /// Skip post-render file filtering (specs with unexpandable Source/Patch macros).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_file_filter: Option<Sp<bool>>,
}

/// Hash algorithm of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum HashType {
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA512")]
    Sha512,
}

/// `[[source-files]]`: a source file beyond upstream's `sources`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceFileRef {
    /// File name (no directories); unique within the component.
    pub filename: S,
    /// Hex digest. With `origin = { type = "overlay" }` (required there): the
    /// digest of the archive after its `archive` overlays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<S>,
    /// Algorithm of `hash`; required with `hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_type: Option<Sp<HashType>>,
    /// Where the file comes from; omitted means the lookaside cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Sp<Origin>>,
    /// Replace a same-named entry of upstream's `sources`; needs `replace-reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_upstream: Option<Sp<bool>>,
    /// Why an upstream entry is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_reason: Option<S>,
}

/// Kind of source file origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OriginType {
    Download,
    Custom,
    Overlay,
}

/// `origin = { … }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Origin {
    /// `download` (from `uri`), `custom` (generated by `script`) or `overlay`
    /// (an upstream archive modified by overlays).
    #[serde(rename = "type")]
    pub kind: Sp<OriginType>,
    /// URI to download from (`download`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<S>,
    /// Generation script, a file name next to the defining file (`custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<S>,
    /// Extra packages installed for the script (`custom`).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub mock_packages: Vec<S>,
    /// Further input files of the script (`custom`).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub inputs: Vec<S>,
}

/// Publish settings of a binary package.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageConfig {
    /// Publish channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Sp<PackagePublish>>,
}

/// `publish = { … }` of a binary package.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackagePublish {
    /// Channel of the binary package (`none`: do not publish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm_channel: Option<S>,
    /// Channel of its debuginfo package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debuginfo_channel: Option<S>,
    /// Deprecated spelling of `rpm-channel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<S>,
}

/// `publish = { … }` of a component.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentPublish {
    /// Channel of the binary packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm_channel: Option<S>,
    /// Channel of the source package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srpm_channel: Option<S>,
    /// Channel of the debuginfo packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debuginfo_channel: Option<S>,
}

/// `[component-groups.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentGroup {
    /// Description of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Member components, by name; each must be defined.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub components: Vec<S>,
    /// Glob patterns of local specs whose components belong to the group.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub specs: Vec<S>,
    /// Glob patterns excluded from `specs`.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub excluded_paths: Vec<S>,
    /// Defaults inherited by every member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_component_config: Option<Sp<ComponentConfig>>,
}

/// `[package-groups.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageGroup {
    /// Description of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Binary package names; a package belongs to at most one group.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub packages: Vec<S>,
    /// Settings inherited by every member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_package_config: Option<Sp<PackageConfig>>,
}

/// `[images.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Image {
    /// Description of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Where the image definition is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Sp<ImageDefinition>>,
    /// What the image can do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Sp<ImageCapabilities>>,
    /// Tests of the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Sp<ImageTests>>,
    /// Publish settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Sp<ImagePublish>>,
}

/// `definition = { … }` of an image.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageDefinition {
    /// Kind of definition, e.g. `kiwi`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<S>,
    /// Definition file, relative to the defining file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<S>,
    /// Profile to build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<S>,
}

/// `capabilities = { … }` of an image.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageCapabilities {
    /// Boots on a machine (bare metal or VM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_bootable: Option<Sp<bool>>,
    /// Runs on an OCI container host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Sp<bool>>,
    /// Runs systemd as init.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<Sp<bool>>,
    /// Packages can be installed or removed at runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_package_management: Option<Sp<bool>>,
}

/// `tests = { … }` of an image.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageTests {
    /// Test suites (keys of `[test-suites]`).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub test_suites: Vec<Sp<TestSuiteRef>>,
}

/// A reference to a test suite.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestSuiteRef {
    /// Name of the suite.
    pub name: S,
}

/// `publish = { … }` of an image.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImagePublish {
    /// Publish channels.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub channels: Vec<S>,
}

/// `[test-suites.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestSuite {
    /// Description of the suite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
}

/// `[tools]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tools {
    /// Image Customizer settings.
    #[serde(rename = "imageCustomizer", default, skip_serializing_if = "Option::is_none")]
    pub image_customizer: Option<Sp<ImageCustomizer>>,
}

/// `[tools.imageCustomizer]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageCustomizer {
    /// Container tag of the Image Customizer container.
    #[serde(rename = "containerTag", default, skip_serializing_if = "Option::is_none")]
    pub container_tag: Option<S>,
}

/// `[resources]`: reusable named resources.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resources {
    /// RPM repositories, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rpm_repos: BTreeMap<String, Sp<RpmRepo>>,
}

/// Repository protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RpmRepoType {
    RpmMd,
}

/// `[resources.rpm-repos.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RpmRepo {
    /// Description (diagnostics only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<S>,
    /// Protocol; defaults to `rpm-md`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Sp<RpmRepoType>>,
    /// Base URI (exclusive with `metalink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_uri: Option<S>,
    /// Metalink URL (exclusive with `base-uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metalink: Option<S>,
    /// Opt out of GPG checking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_gpg_check: Option<Sp<bool>>,
    /// GPG key: http(s)/file URI, or a path relative to the defining file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpg_key: Option<S>,
    /// Restrict to these architectures.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub arches: Vec<S>,
}
