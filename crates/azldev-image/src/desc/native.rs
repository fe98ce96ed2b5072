//! azldev's native image description (`definition = { type = "toml", path
//! = "x.image.toml" }`):
//!
//! ```toml
//! description = "…"
//! packages = ["bash", "hello"]          # installed with their dependencies
//! groups = ["core"]                     # the distro's [package-groups]
//! bootstrap-packages = []               # installed first
//! remove-packages = []                  # removed afterwards (rpm -e --nodeps)
//! formats = ["oci", "tar"]
//! kernel-cmdline = "console=ttyS0"
//! size-budget = "64 MiB"                # the root's installed size
//! services = ["demo.service"]           # enabled (WantedBy= symlinks)
//! scripts = ["setup.sh"]                # run inside the root, in order
//! arches = ["x86_64", "aarch64"]        # default: both
//! [[users]]   name, uid, groups, home, shell, realname, password (crypt hash)
//! [[files]]   path, content | source, mode ("0644")
//! [disk]      size, esp-size, root-filesystem = "ext4" | "erofs" | "squashfs",
//!             init = "/sbin/init"          # the root's init (init=; rdinit= with initrd kind "root")
//! [initrd]    kind = "minimal" | "root",   # azldev's init + modules, or the whole root
//!             modules = ["virtio_scsi"],   # kernel modules beyond the defaults
//!             programs = ["/usr/bin/x"],   # more programs (with their libraries)
//!             init = "/usr/lib/x/init"     # the initramfs's /init instead of azldev's
//! [container] name, tag, entrypoint, cmd, env, working-dir, user, labels, exposed-ports
//! [arch.aarch64] packages, remove-packages, kernel-cmdline   # per-arch additions
//! ```

use std::collections::BTreeMap;
use std::ops::Range;

use azldev_buildroot::arch::Arch;
use serde::Deserialize;
use toml::Spanned;

use super::{
    ArchScoped, Description, FileEntry, ImageEntry, InitrdConfig, InitrdKind, Problem, Script, SourceText,
    Sourced, User, parse_arches, parse_size,
};
use crate::format::{ContainerConfig, Format, RootFs};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NativeFile {
    description: Option<Spanned<String>>,
    #[serde(default)]
    packages: Vec<Spanned<String>>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    #[serde(default)]
    bootstrap_packages: Vec<Spanned<String>>,
    #[serde(default)]
    remove_packages: Vec<Spanned<String>>,
    #[serde(default)]
    formats: Vec<Spanned<String>>,
    kernel_cmdline: Option<Spanned<String>>,
    size_budget: Option<Spanned<Size>>,
    #[serde(default)]
    services: Vec<Spanned<String>>,
    #[serde(default)]
    scripts: Vec<Spanned<String>>,
    #[serde(default)]
    arches: Vec<Spanned<String>>,
    #[serde(default)]
    users: Vec<Spanned<NativeUser>>,
    #[serde(default)]
    files: Vec<Spanned<NativeFileEntry>>,
    disk: Option<Spanned<NativeDisk>>,
    initrd: Option<Spanned<NativeInitrd>>,
    container: Option<Spanned<NativeContainer>>,
    #[serde(default)]
    arch: BTreeMap<String, Spanned<NativeArch>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NativeUser {
    name: String,
    uid: Option<u32>,
    #[serde(default)]
    groups: Vec<String>,
    home: Option<String>,
    shell: Option<String>,
    realname: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NativeFileEntry {
    path: Spanned<String>,
    content: Option<String>,
    source: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NativeDisk {
    size: Option<Spanned<Size>>,
    esp_size: Option<Spanned<Size>>,
    root_filesystem: Option<Spanned<String>>,
    init: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NativeInitrd {
    kind: Option<Spanned<String>>,
    #[serde(default)]
    modules: Vec<Spanned<String>>,
    #[serde(default)]
    programs: Vec<Spanned<String>>,
    init: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NativeContainer {
    name: Option<String>,
    tag: Option<String>,
    #[serde(default)]
    entrypoint: Vec<String>,
    #[serde(default)]
    cmd: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    working_dir: Option<String>,
    user: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    exposed_ports: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NativeArch {
    #[serde(default)]
    packages: Vec<Spanned<String>>,
    #[serde(default)]
    remove_packages: Vec<Spanned<String>>,
    kernel_cmdline: Option<Spanned<String>>,
}

fn size(src: &SourceText, s: &Spanned<Size>, problems: &mut Vec<Problem>) -> Option<Sourced<u64>> {
    let v = match s.get_ref() {
        Size::Bytes(b) => Some(*b),
        Size::Text(t) => parse_size(t, 1),
    };
    match v {
        Some(b) => Some(Sourced::new(b, src.at(s.span().start))),
        None => {
            problems.push(src.problem(
                s.span(),
                "a size is a number of bytes or a string such as \"64 MiB\" or \"2G\"",
            ));
            None
        }
    }
}

fn initrd(
    src: &SourceText,
    i: &Spanned<NativeInitrd>,
    problems: &mut Vec<Problem>,
) -> Option<Sourced<InitrdConfig>> {
    let v = i.get_ref();
    let before = problems.len();
    let kind = match v.kind.as_ref().map(|k| (k, k.get_ref().as_str())) {
        None | Some((_, "minimal")) => InitrdKind::Minimal,
        Some((_, "root")) => InitrdKind::Root,
        Some((k, other)) => {
            problems.push(src.problem(
                span_of(k),
                format!("initrd kind `{other}` is not supported (minimal, root)"),
            ));
            InitrdKind::Minimal
        }
    };
    for m in &v.modules {
        let ok = !m.get_ref().is_empty()
            && m.get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
        if !ok {
            problems.push(src.problem(
                span_of(m),
                "a kernel module is a module name or alias such as `virtio_scsi` (no path, no `.ko`)",
            ));
        }
    }
    for p in v.programs.iter().chain(v.init.as_ref()) {
        if !p.get_ref().starts_with('/') || p.get_ref().split('/').any(|c| c == "..") {
            problems.push(src.problem(
                span_of(p),
                "a program is an absolute path inside the image (no `..`)",
            ));
        }
    }
    (problems.len() == before).then(|| {
        Sourced::new(
            InitrdConfig {
                kind,
                modules: v.modules.iter().map(|m| m.get_ref().clone()).collect(),
                programs: v.programs.iter().map(|m| m.get_ref().clone()).collect(),
                init: v.init.as_ref().map(|m| m.get_ref().clone()),
            },
            src.at(i.span().start),
        )
    })
}

fn scoped(src: &SourceText, v: &[Spanned<String>], arches: &[Arch]) -> Vec<ArchScoped<String>> {
    v.iter()
        .map(|p| ArchScoped {
            value: Sourced::new(p.get_ref().clone(), src.at(p.span().start)),
            arches: arches.to_vec(),
        })
        .collect()
}

fn span_of<T>(s: &Spanned<T>) -> Range<usize> {
    s.span()
}

pub(super) fn read(src: &SourceText, entry: &ImageEntry, d: &mut Description) -> Vec<Problem> {
    let file: NativeFile = match toml::from_str(&src.text) {
        Ok(f) => f,
        Err(e) => {
            let span = e.span().unwrap_or(0..1);
            return vec![src.problem(span, e.message().to_owned())];
        }
    };
    let mut problems = Vec::new();
    let dir = entry
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    if let Some(desc) = &file.description
        && d.description.is_none()
    {
        d.description = Some(desc.get_ref().clone());
    }
    d.packages = scoped(src, &file.packages, &[]);
    for g in &file.groups {
        match entry.package_groups.get(g.get_ref()) {
            Some(members) => d.packages.extend(members.iter().map(|m| ArchScoped {
                value: Sourced::new(
                    m.clone(),
                    format!("{} (group `{}`)", src.at(g.span().start), g.get_ref()),
                ),
                arches: Vec::new(),
            })),
            None => {
                let known: Vec<&str> = entry.package_groups.keys().map(String::as_str).collect();
                problems.push(src.problem(
                    span_of(g),
                    format!(
                        "package group `{}` is not defined in [package-groups] (defined: {})",
                        g.get_ref(),
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
    }
    d.bootstrap_packages = scoped(src, &file.bootstrap_packages, &[]);
    d.remove_packages = scoped(src, &file.remove_packages, &[]);
    for f in &file.formats {
        match f.get_ref().parse::<Format>() {
            Ok(v) if d.formats.iter().any(|x| x.value == v) => {
                problems.push(src.problem(span_of(f), format!("format `{v}` is listed twice")));
            }
            Ok(v) => d.formats.push(Sourced::new(v, src.at(f.span().start))),
            Err(e) => problems.push(src.problem(span_of(f), e)),
        }
    }
    if file.formats.is_empty() {
        problems.push(src.problem(
            0..1,
            "`formats` is missing: list at least one (e.g. [\"oci\", \"tar\"])",
        ));
    }
    if let Some(c) = &file.kernel_cmdline {
        d.kernel_cmdline.push(ArchScoped {
            value: Sourced::new(c.get_ref().clone(), src.at(c.span().start)),
            arches: Vec::new(),
        });
    }
    if let Some(s) = &file.size_budget {
        d.size_budget = size(src, s, &mut problems);
    }
    d.services = file
        .services
        .iter()
        .map(|s| Sourced::new(s.get_ref().clone(), src.at(s.span().start)))
        .collect();
    for s in &file.scripts {
        let path = dir.join(s.get_ref());
        if !path.is_file() {
            problems.push(src.problem(
                span_of(s),
                format!("script `{}` does not exist ({})", s.get_ref(), path.display()),
            ));
            continue;
        }
        d.inputs.push(path.clone());
        d.scripts.push(Sourced::new(
            Script {
                display: super::display_path(&path, &entry.display_root),
                path,
                kiwi: false,
            },
            src.at(s.span().start),
        ));
    }
    for a in &file.arches {
        match parse_arches(a.get_ref()) {
            Ok(v) => d.arches.extend(v),
            Err(e) => problems.push(src.problem(span_of(a), e)),
        }
    }
    for u in &file.users {
        let v = u.get_ref();
        d.users.push(Sourced::new(
            User {
                name: v.name.clone(),
                uid: v.uid,
                groups: v.groups.clone(),
                home: v.home.clone(),
                shell: v.shell.clone(),
                realname: v.realname.clone(),
                password: v.password.clone(),
            },
            src.at(u.span().start),
        ));
    }
    for f in &file.files {
        let v = f.get_ref();
        if !v.path.get_ref().starts_with('/') || v.path.get_ref().split('/').any(|c| c == "..") {
            problems.push(src.problem(
                span_of(&v.path),
                "a file's `path` must be absolute and must not contain `..`",
            ));
            continue;
        }
        let mode = match &v.mode {
            None => 0o644,
            Some(m) => match u32::from_str_radix(m.get_ref().trim_start_matches("0o"), 8) {
                Ok(m) if m <= 0o7777 => m,
                _ => {
                    problems.push(src.problem(span_of(m), "`mode` is an octal string such as \"0644\""));
                    continue;
                }
            },
        };
        let source = match (&v.content, &v.source) {
            (Some(_), None) => None,
            (None, Some(s)) => {
                let p = dir.join(s.get_ref());
                if !p.is_file() {
                    problems.push(src.problem(span_of(s), format!("`{}` does not exist", p.display())));
                    continue;
                }
                d.inputs.push(p.clone());
                Some(p)
            }
            _ => {
                problems.push(src.problem(span_of(f), "a file needs exactly one of `content` and `source`"));
                continue;
            }
        };
        d.files.push(Sourced::new(
            FileEntry {
                path: v.path.get_ref().clone(),
                content: v.content.clone(),
                source_display: source
                    .as_ref()
                    .map(|p| super::display_path(p, &entry.display_root)),
                source,
                mode,
            },
            src.at(f.span().start),
        ));
    }
    if let Some(disk) = &file.disk {
        let v = disk.get_ref();
        if let Some(s) = &v.size {
            d.disk_size = size(src, s, &mut problems);
        }
        if let Some(s) = &v.esp_size {
            d.esp_size = size(src, s, &mut problems);
        }
        if let Some(i) = &v.init {
            if i.get_ref().starts_with('/') {
                d.init = Some(Sourced::new(i.get_ref().clone(), src.at(i.span().start)));
            } else {
                problems.push(src.problem(span_of(i), "`init` is an absolute path inside the image"));
            }
        }
        if let Some(fs) = &v.root_filesystem {
            let r = match fs.get_ref().as_str() {
                "ext4" => Some(RootFs::Ext4),
                "erofs" => Some(RootFs::Erofs),
                "squashfs" => Some(RootFs::Squashfs),
                other => {
                    problems.push(src.problem(
                        span_of(fs),
                        format!("root filesystem `{other}` is not supported (ext4, erofs, squashfs)"),
                    ));
                    None
                }
            };
            d.root_filesystem = r.map(|r| Sourced::new(r, src.at(fs.span().start)));
        }
    }
    if let Some(i) = &file.initrd {
        d.initrd = initrd(src, i, &mut problems);
    }
    if let Some(c) = &file.container {
        let v = c.get_ref();
        d.container = Some(Sourced::new(
            ContainerConfig {
                name: v.name.clone(),
                tag: v.tag.clone(),
                entrypoint: v.entrypoint.clone(),
                cmd: v.cmd.clone(),
                env: v.env.clone(),
                working_dir: v.working_dir.clone(),
                user: v.user.clone(),
                labels: v.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                exposed_ports: v.exposed_ports.clone(),
            },
            src.at(c.span().start),
        ));
    }
    for (name, a) in &file.arch {
        let arches = match parse_arches(name) {
            Ok(v) => v,
            Err(e) => {
                problems.push(src.problem(span_of(a), e));
                continue;
            }
        };
        let v = a.get_ref();
        d.packages.extend(scoped(src, &v.packages, &arches));
        d.remove_packages.extend(scoped(src, &v.remove_packages, &arches));
        if let Some(c) = &v.kernel_cmdline {
            d.kernel_cmdline.push(ArchScoped {
                value: Sourced::new(c.get_ref().clone(), src.at(c.span().start)),
                arches,
            });
        }
    }
    if d.packages.is_empty() {
        problems.push(src.problem(0..1, "the image installs no packages: `packages` is empty"));
    }
    problems
}
