//! Image descriptions: native TOML and the kiwi XML subset, resolved per architecture.
//!
//! An [`ImageEntry`] (what `[images.NAME]` says) is loaded into a
//! [`Description`] (read once, checked: every unsupported element, attribute
//! or value is a [`Problem`] at file:line:column), then resolved for one
//! architecture into an [`ImageSpec`] in which every value says where it was
//! written ([`Sourced`]).

mod kiwi;
mod native;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use azldev_buildroot::arch::Arch;
use serde::Serialize;

use crate::format::{ContainerConfig, Format, RootFs};

/// What `[images.NAME]` in the distro configuration says.
#[derive(Debug, Clone)]
pub struct ImageEntry {
    pub name: String,
    pub description: Option<String>,
    /// `kiwi` or `toml`.
    pub kind: String,
    /// The definition file (absolute).
    pub path: PathBuf,
    pub profile: Option<String>,
    /// Where `[images.NAME]` is (`distro.toml:12:1`).
    pub declared_at: String,
    /// Paths in `from` fields are shown relative to this directory.
    pub display_root: PathBuf,
    /// The distro's `[package-groups]`: name → binary packages (native `groups`).
    pub package_groups: BTreeMap<String, Vec<String>>,
}

/// A value and where it was written (`file:line:column`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub from: String,
}

impl<T> Sourced<T> {
    pub fn new(value: T, from: impl Into<String>) -> Self {
        Sourced {
            value,
            from: from.into(),
        }
    }
}

/// A user account created in the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    pub name: String,
    pub uid: Option<u32>,
    /// Supplementary groups; the first is the primary group (created when missing).
    pub groups: Vec<String>,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub realname: Option<String>,
    /// A crypt(3) hash; the account is locked (`!`) when unset.
    pub password: Option<String>,
}

/// A file written into the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileEntry {
    /// Absolute path inside the root.
    pub path: String,
    /// Content given inline, or read from `source`.
    pub content: Option<String>,
    /// A file beside the description (absolute; not shown).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// `source` relative to the display root.
    #[serde(rename = "source")]
    pub source_display: Option<String>,
    pub mode: u32,
}

/// A script run inside the root after the packages are installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Script {
    /// The script on the host (absolute; not shown).
    #[serde(skip)]
    pub path: PathBuf,
    /// `path` relative to the display root.
    #[serde(rename = "path")]
    pub display: String,
    /// Kiwi's `config.sh`: it sees `/image/config.xml` and `/.profile`
    /// (`kiwi_profiles`, `kiwi_iname`, `kiwi_iversion`), removed afterwards.
    pub kiwi: bool,
}

/// A repository a kiwi description lists (shown; azldev installs from the
/// distro's repositories and the local build repository instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DescRepo {
    pub alias: Option<String>,
    pub kind: Option<String>,
    pub source: String,
}

/// What the initramfs of a disk image holds (`[initrd]` of a native description).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct InitrdConfig {
    pub kind: InitrdKind,
    /// Kernel modules (names or aliases) added to the defaults.
    pub modules: Vec<String>,
    /// Programs of the root added with their libraries (for a custom `init`).
    pub programs: Vec<String>,
    /// A program of the root that becomes the initramfs's `/init` instead
    /// of azldev's (it finds the modules' load order in `/etc/initrd-modules`).
    pub init: Option<String>,
}

/// The kind of initramfs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitrdKind {
    /// azldev's init, the programs it runs and the modules that reach the
    /// root partition; it mounts `root=` and switches to `init=`.
    #[default]
    Minimal,
    /// The whole image root as the initramfs, the image's init as `rdinit=`
    /// (no root partition is mounted).
    Root,
}

/// An image description resolved for one architecture.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImageSpec {
    pub name: String,
    pub arch: Arch,
    pub description: Option<String>,
    /// `kiwi` or `toml`.
    pub kind: String,
    /// The definition file, relative to the display root.
    pub definition: String,
    pub profile: Option<String>,
    pub declared_at: String,
    /// Installed first (kiwi's `bootstrap` packages).
    pub bootstrap_packages: Vec<Sourced<String>>,
    /// The image's packages (`@group` for a kiwi namedCollection).
    pub packages: Vec<Sourced<String>>,
    /// Removed (without their dependents) after the install.
    pub remove_packages: Vec<Sourced<String>>,
    pub formats: Vec<Sourced<Format>>,
    pub root_filesystem: Option<Sourced<RootFs>>,
    pub disk_size: Option<Sourced<u64>>,
    pub esp_size: Option<Sourced<u64>>,
    pub kernel_cmdline: Option<Sourced<String>>,
    /// The first program of a disk image's boot (`rdinit=`); `/sbin/init` when unset.
    pub init: Option<Sourced<String>>,
    /// The initramfs of disk images (`[initrd]`); the defaults when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initrd: Option<Sourced<InitrdConfig>>,
    pub container: Option<Sourced<ContainerConfig>>,
    pub users: Vec<Sourced<User>>,
    pub files: Vec<Sourced<FileEntry>>,
    pub services: Vec<Sourced<String>>,
    pub scripts: Vec<Sourced<Script>>,
    /// Upper bound of the root's installed size in bytes.
    pub size_budget: Option<Sourced<u64>>,
    pub repositories: Vec<Sourced<DescRepo>>,
    /// Other settings kept for the record (locale, timezone, firmware, bootloader…).
    pub settings: BTreeMap<String, Sourced<String>>,
}

impl ImageSpec {
    /// Names of every package to install, bootstrap first, without duplicates.
    pub fn install_list(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        self.bootstrap_packages
            .iter()
            .chain(&self.packages)
            .filter(|p| seen.insert(p.value.clone()))
            .map(|p| p.value.clone())
            .collect()
    }
}

/// One problem in a description, at file:line:column.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[source_code]
    pub src: miette::NamedSource<String>,
    #[label("here")]
    pub span: miette::SourceSpan,
}

/// Failures of loading a description.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DescError {
    #[error("image `{image}`: cannot read {}: {source}", path.display())]
    Read {
        image: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "image `{image}`: the description has {} problem{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    )]
    Invalid {
        image: String,
        #[related]
        problems: Vec<Problem>,
    },
    #[error(
        "image `{image}`: unknown definition type `{kind}` (expected `kiwi` or `toml`); declared at {at}"
    )]
    UnknownKind { image: String, kind: String, at: String },
}

/// A file's text with offset → line:column.
#[derive(Debug, Clone)]
pub(crate) struct SourceText {
    pub display: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceText {
    pub fn new(display: String, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceText {
            display,
            text,
            line_starts,
        }
    }

    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }

    pub fn at(&self, offset: usize) -> String {
        let (l, c) = self.line_col(offset);
        format!("{}:{l}:{c}", self.display)
    }

    pub fn problem(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> Problem {
        let (line, column) = self.line_col(span.start);
        let len = span.end.saturating_sub(span.start).max(1);
        let start = span.start.min(self.text.len());
        Problem {
            file: self.display.clone(),
            line,
            column,
            message: message.into(),
            src: miette::NamedSource::new(self.display.clone(), self.text.clone()),
            span: (start, len.min(self.text.len().saturating_sub(start))).into(),
        }
    }
}

/// A value that may be limited to some architectures.
#[derive(Debug, Clone)]
pub(crate) struct ArchScoped<T> {
    pub value: Sourced<T>,
    /// Empty: every arch.
    pub arches: Vec<Arch>,
}

impl<T: Clone> ArchScoped<T> {
    fn for_arch(items: &[ArchScoped<T>], arch: Arch) -> Vec<Sourced<T>> {
        items
            .iter()
            .filter(|i| i.arches.is_empty() || i.arches.contains(&arch))
            .map(|i| i.value.clone())
            .collect()
    }
}

/// A description as read, before choosing an architecture.
#[derive(Debug, Clone, Default)]
pub struct Description {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) kind: String,
    pub(crate) definition: String,
    pub(crate) profile: Option<String>,
    pub(crate) declared_at: String,
    pub(crate) bootstrap_packages: Vec<ArchScoped<String>>,
    pub(crate) packages: Vec<ArchScoped<String>>,
    pub(crate) remove_packages: Vec<ArchScoped<String>>,
    pub(crate) formats: Vec<Sourced<Format>>,
    pub(crate) root_filesystem: Option<Sourced<RootFs>>,
    pub(crate) disk_size: Option<Sourced<u64>>,
    pub(crate) esp_size: Option<Sourced<u64>>,
    pub(crate) kernel_cmdline: Vec<ArchScoped<String>>,
    pub(crate) init: Option<Sourced<String>>,
    pub(crate) initrd: Option<Sourced<InitrdConfig>>,
    pub(crate) container: Option<Sourced<ContainerConfig>>,
    pub(crate) users: Vec<Sourced<User>>,
    pub(crate) files: Vec<Sourced<FileEntry>>,
    pub(crate) services: Vec<Sourced<String>>,
    pub(crate) scripts: Vec<Sourced<Script>>,
    pub(crate) size_budget: Option<Sourced<u64>>,
    pub(crate) repositories: Vec<ArchScoped<DescRepo>>,
    pub(crate) settings: BTreeMap<String, Sourced<String>>,
    /// Arches the description can be built for (empty: all).
    pub(crate) arches: Vec<Arch>,
    /// Every file the description reads (digested for the image cache).
    pub(crate) inputs: Vec<PathBuf>,
}

impl Description {
    /// Reads and checks the definition `entry` names.
    pub fn load(entry: &ImageEntry) -> Result<Description, DescError> {
        let text = std::fs::read_to_string(&entry.path).map_err(|source| DescError::Read {
            image: entry.name.clone(),
            path: entry.path.clone(),
            source,
        })?;
        let display = display_path(&entry.path, &entry.display_root);
        let src = SourceText::new(display.clone(), text);
        let mut d = Description {
            name: entry.name.clone(),
            description: entry.description.clone(),
            kind: entry.kind.clone(),
            definition: display,
            profile: entry.profile.clone(),
            declared_at: entry.declared_at.clone(),
            inputs: vec![entry.path.clone()],
            ..Description::default()
        };
        let problems = match entry.kind.as_str() {
            "kiwi" => kiwi::read(&src, entry, &mut d),
            "toml" => native::read(&src, entry, &mut d),
            other => {
                return Err(DescError::UnknownKind {
                    image: entry.name.clone(),
                    kind: other.to_owned(),
                    at: entry.declared_at.clone(),
                });
            }
        };
        if !problems.is_empty() {
            let mut problems = problems;
            problems.sort_by_key(|p| (p.line, p.column));
            return Err(DescError::Invalid {
                image: entry.name.clone(),
                problems,
            });
        }
        d.inputs.sort();
        d.inputs.dedup();
        Ok(d)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Arches it can be built for.
    pub fn arches(&self) -> Vec<Arch> {
        if self.arches.is_empty() {
            Arch::ALL.to_vec()
        } else {
            self.arches.clone()
        }
    }

    /// Every host file the description reads (the definition, scripts, files).
    pub fn inputs(&self) -> &[PathBuf] {
        &self.inputs
    }

    /// The description for one architecture.
    pub fn resolve(&self, arch: Arch) -> ImageSpec {
        let cmdline = ArchScoped::for_arch(&self.kernel_cmdline, arch);
        let kernel_cmdline = (!cmdline.is_empty()).then(|| {
            Sourced::new(
                cmdline
                    .iter()
                    .map(|c| c.value.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                cmdline
                    .iter()
                    .map(|c| c.from.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        });
        ImageSpec {
            name: self.name.clone(),
            arch,
            description: self.description.clone(),
            kind: self.kind.clone(),
            definition: self.definition.clone(),
            profile: self.profile.clone(),
            declared_at: self.declared_at.clone(),
            bootstrap_packages: dedup(ArchScoped::for_arch(&self.bootstrap_packages, arch)),
            packages: dedup(ArchScoped::for_arch(&self.packages, arch)),
            remove_packages: dedup(ArchScoped::for_arch(&self.remove_packages, arch)),
            formats: self.formats.clone(),
            root_filesystem: self.root_filesystem.clone(),
            disk_size: self.disk_size.clone(),
            esp_size: self.esp_size.clone(),
            kernel_cmdline,
            init: self.init.clone(),
            initrd: self.initrd.clone(),
            container: self.container.clone(),
            users: self.users.clone(),
            files: self.files.clone(),
            services: self.services.clone(),
            scripts: self.scripts.clone(),
            size_budget: self.size_budget.clone(),
            repositories: ArchScoped::for_arch(&self.repositories, arch),
            settings: self.settings.clone(),
        }
    }
}

/// First occurrence of each value wins (its `from` is kept).
fn dedup(v: Vec<Sourced<String>>) -> Vec<Sourced<String>> {
    let mut seen = std::collections::BTreeSet::new();
    v.into_iter().filter(|s| seen.insert(s.value.clone())).collect()
}

pub(crate) fn display_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// `5G`, `200M`, `64 MiB`, `1024` (bytes) → bytes.
pub(crate) fn parse_size(s: &str, default_unit: u64) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit = unit.trim();
    let mult: u64 = match unit {
        "" => default_unit,
        "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        _ => return None,
    };
    if num.contains('.') {
        let f: f64 = num.parse().ok()?;
        if !(f.is_finite() && f >= 0.0) {
            return None;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        return Some((f * mult as f64) as u64);
    }
    num.parse::<u64>().ok()?.checked_mul(mult)
}

pub(crate) fn parse_arches(s: &str) -> Result<Vec<Arch>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| match a {
            "x86_64" => Ok(Arch::X86_64),
            "aarch64" => Ok(Arch::Aarch64),
            other => Err(format!(
                "unsupported architecture `{other}` (azldev builds x86_64 and aarch64)"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("5", 1 << 30), Some(5 << 30));
        assert_eq!(parse_size("200M", 1), Some(200 << 20));
        assert_eq!(parse_size("64 MiB", 1), Some(64 << 20));
        assert_eq!(parse_size("1.5G", 1), Some(3 << 29));
        assert_eq!(parse_size("12 parsecs", 1), None);
    }

    fn entry(dir: &Path, kind: &str, file: &str, text: &str) -> ImageEntry {
        std::fs::write(dir.join(file), text).expect("write");
        ImageEntry {
            name: "t".into(),
            description: None,
            kind: kind.into(),
            path: dir.join(file),
            profile: None,
            declared_at: "distro.toml:1:1".into(),
            display_root: dir.to_owned(),
            package_groups: BTreeMap::from([(
                "core".to_owned(),
                vec!["bash".to_owned(), "coreutils".to_owned()],
            )]),
        }
    }

    #[test]
    fn native_resolves_per_arch_with_origins() {
        let t = tempfile::tempdir().expect("tempdir");
        let e = entry(
            t.path(),
            "toml",
            "t.image.toml",
            "packages = [\"hello\"]\ngroups = [\"core\"]\nformats = [\"tar\"]\nkernel-cmdline = \"quiet\"\n\
             [arch.aarch64]\npackages = [\"grub2-efi-aa64\"]\nkernel-cmdline = \"console=ttyAMA0\"\n",
        );
        let d = Description::load(&e).expect("loads");
        let x = d.resolve(Arch::X86_64);
        let a = d.resolve(Arch::Aarch64);
        let names = |s: &ImageSpec| s.packages.iter().map(|p| p.value.clone()).collect::<Vec<_>>();
        assert_eq!(names(&x), ["hello", "bash", "coreutils"]);
        assert_eq!(names(&a), ["hello", "bash", "coreutils", "grub2-efi-aa64"]);
        assert_eq!(x.packages[1].from, "t.image.toml:2:11 (group `core`)");
        assert_eq!(a.packages[3].from, "t.image.toml:6:13");
        assert_eq!(x.kernel_cmdline.as_ref().map(|c| c.value.as_str()), Some("quiet"));
        assert_eq!(
            a.kernel_cmdline.as_ref().map(|c| c.value.as_str()),
            Some("quiet console=ttyAMA0")
        );
    }

    #[test]
    fn kiwi_profiles_and_arches() {
        let t = tempfile::tempdir().expect("tempdir");
        let xml = r#"<image schemaversion="8.3" name="k">
  <profiles><profile name="a" description="A"/><profile name="b" description="B" import="true"/></profiles>
  <preferences><type image="tbz"/></preferences>
  <preferences profiles="a"><type image="oci"><containerconfig name="x" tag="1"><entrypoint execute="/bin/sh"><argument name="-c"/></entrypoint></containerconfig></type></preferences>
  <packages type="image"><package name="all"/><package name="only-arm" arch="aarch64"/></packages>
  <packages type="image" profiles="a"><package name="in-a"/></packages>
  <packages type="delete"><package name="gone"/></packages>
</image>"#;
        let mut e = entry(t.path(), "kiwi", "k.kiwi", xml);
        // No profile asked: the import="true" ones.
        let d = Description::load(&e).expect("loads");
        let x = d.resolve(Arch::X86_64);
        assert_eq!(
            x.packages.iter().map(|p| p.value.as_str()).collect::<Vec<_>>(),
            ["all"]
        );
        assert_eq!(
            x.formats.iter().map(|f| f.value).collect::<Vec<_>>(),
            [Format::TarXz]
        );
        assert_eq!(x.remove_packages[0].value, "gone");
        e.profile = Some("a".into());
        let d = Description::load(&e).expect("loads");
        let a = d.resolve(Arch::Aarch64);
        assert_eq!(
            a.packages.iter().map(|p| p.value.as_str()).collect::<Vec<_>>(),
            ["all", "only-arm", "in-a"]
        );
        assert_eq!(
            a.formats.iter().map(|f| f.value).collect::<Vec<_>>(),
            [Format::TarXz, Format::Oci]
        );
        let c = &a.container.as_ref().expect("container").value;
        assert_eq!(c.entrypoint, ["/bin/sh", "-c"]);
        e.profile = Some("zzz".into());
        match Description::load(&e) {
            Err(DescError::Invalid { problems, .. }) => {
                assert_eq!(problems.len(), 1);
                assert!(
                    problems[0].message.contains("asks for profile `zzz`"),
                    "{}",
                    problems[0].message
                );
                assert_eq!((problems[0].line, problems[0].column), (2, 3));
            }
            other => panic!("expected a problem, got {other:?}"),
        }
    }

    #[test]
    fn native_initrd_settings_and_their_errors() {
        let t = tempfile::tempdir().expect("tempdir");
        let e = entry(
            t.path(),
            "toml",
            "t.image.toml",
            "packages = [\"hello\"]\nformats = [\"raw\"]\n[initrd]\nmodules = [\"virtio_scsi\", \"crc32c\"]\n\
             programs = [\"/usr/bin/cat\"]\n",
        );
        let d = Description::load(&e).expect("loads");
        let spec = d.resolve(Arch::X86_64);
        let i = spec.initrd.as_ref().expect("initrd");
        assert_eq!(i.value.kind, InitrdKind::Minimal);
        assert_eq!(i.value.modules, ["virtio_scsi", "crc32c"]);
        assert_eq!(i.value.programs, ["/usr/bin/cat"]);
        assert_eq!(i.from, format!("{}:3:1", "t.image.toml"));
        let e = entry(
            t.path(),
            "toml",
            "t.image.toml",
            "packages = [\"hello\"]\nformats = [\"raw\"]\n[initrd]\nkind = \"dracut\"\n\
             modules = [\"fs/ext4.ko\"]\ninit = \"init\"\n",
        );
        match Description::load(&e) {
            Err(DescError::Invalid { problems, .. }) => {
                let got: Vec<(usize, usize, &str)> = problems
                    .iter()
                    .map(|p| (p.line, p.column, p.message.as_str()))
                    .collect();
                assert_eq!(got.len(), 3, "{got:?}");
                assert_eq!((got[0].0, got[0].1), (4, 8));
                assert!(got[0].2.contains("`dracut` is not supported"), "{got:?}");
                assert_eq!((got[1].0, got[1].1), (5, 12));
                assert!(got[1].2.contains("no path, no `.ko`"), "{got:?}");
                assert_eq!((got[2].0, got[2].1), (6, 8));
                assert!(got[2].2.contains("absolute path"), "{got:?}");
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn line_columns() {
        let s = SourceText::new("f".into(), "ab\ncdé\nx".into());
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(7), (2, 4));
        assert_eq!(s.at(8), "f:3:1");
    }
}
