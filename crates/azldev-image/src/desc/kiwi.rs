//! The kiwi XML subset Azure Linux's image descriptions use. Everything
//! else is reported as unsupported at file:line:column, never ignored
//! silently.

use std::collections::BTreeSet;

use azldev_buildroot::arch::Arch;
use roxmltree::Node;

use super::{
    ArchScoped, DescRepo, Description, ImageEntry, Problem, Script, SourceText, Sourced, User, parse_arches,
    parse_size,
};
use crate::format::{ContainerConfig, Format, RootFs};

struct Reader<'s> {
    src: &'s SourceText,
    problems: Vec<Problem>,
    /// Profiles this build activates.
    active: BTreeSet<String>,
    /// Profiles the description defines.
    defined: BTreeSet<String>,
}

impl Reader<'_> {
    fn at(&self, n: Node<'_, '_>) -> String {
        self.src.at(n.range().start)
    }

    fn problem(&mut self, n: Node<'_, '_>, msg: impl Into<String>) {
        let r = n.range();
        // Point at the start tag only.
        let end = self.src.text[r.start..r.end]
            .find('>')
            .map_or(r.end, |i| r.start + i + 1);
        self.problems.push(self.src.problem(r.start..end, msg));
    }

    fn attr_problem(&mut self, n: Node<'_, '_>, name: &str, msg: impl Into<String>) {
        match n.attribute_node(name) {
            Some(a) => {
                let r = a.range();
                self.problems.push(self.src.problem(r, msg));
            }
            None => self.problem(n, msg),
        }
    }

    /// Reports attributes of `n` not in `allowed`.
    fn attrs(&mut self, n: Node<'_, '_>, allowed: &[&str]) {
        for a in n.attributes() {
            if !allowed.contains(&a.name()) {
                let msg = format!(
                    "unsupported attribute `{}` on <{}> (azldev reads: {})",
                    a.name(),
                    n.tag_name().name(),
                    if allowed.is_empty() {
                        "none".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                );
                self.problems.push(self.src.problem(a.range(), msg));
            }
        }
    }

    fn unsupported(&mut self, n: Node<'_, '_>, parent: &str) {
        let msg = format!("unsupported element <{}> in <{parent}>", n.tag_name().name());
        self.problem(n, msg);
    }

    /// Whether a `profiles="a,b"` section applies to this build.
    fn applies(&mut self, n: Node<'_, '_>) -> bool {
        let Some(list) = n.attribute("profiles") else {
            return true;
        };
        let names: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        for p in &names {
            if !self.defined.contains(*p) {
                let msg = format!(
                    "profile `{p}` is not defined in <profiles> (defined: {})",
                    if self.defined.is_empty() {
                        "none".to_owned()
                    } else {
                        self.defined.iter().cloned().collect::<Vec<_>>().join(", ")
                    }
                );
                self.attr_problem(n, "profiles", msg);
            }
        }
        names.iter().any(|p| self.active.contains(*p))
    }

    fn arch_of(&mut self, n: Node<'_, '_>) -> Vec<Arch> {
        match n.attribute("arch").map(parse_arches) {
            None => Vec::new(),
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                self.attr_problem(n, "arch", e);
                Vec::new()
            }
        }
    }

    fn bool_attr(&mut self, n: Node<'_, '_>, name: &str) -> Option<bool> {
        match n.attribute(name)? {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                let msg = format!("`{name}` must be `true` or `false`, not `{other}`");
                self.attr_problem(n, name, msg);
                None
            }
        }
    }
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(Node::is_element)
}

fn text(n: Node<'_, '_>) -> String {
    n.text().unwrap_or_default().trim().to_owned()
}

pub(super) fn read(src: &SourceText, entry: &ImageEntry, d: &mut Description) -> Vec<Problem> {
    let doc = match roxmltree::Document::parse(&src.text) {
        Ok(doc) => doc,
        Err(e) => {
            let pos = e.pos();
            let offset = src
                .text
                .split_inclusive('\n')
                .take(pos.row.saturating_sub(1) as usize)
                .map(str::len)
                .sum::<usize>()
                + pos.col.saturating_sub(1) as usize;
            return vec![src.problem(offset..offset + 1, format!("not well-formed XML: {e}"))];
        }
    };
    let root = doc.root_element();
    let mut r = Reader {
        src,
        problems: Vec::new(),
        active: BTreeSet::new(),
        defined: BTreeSet::new(),
    };
    if root.tag_name().name() != "image" {
        r.problem(root, "the root element of a kiwi description must be <image>");
        return r.problems;
    }
    r.attrs(root, &["schemaversion", "name", "displayname", "id"]);
    if let Some(n) = root.attribute("name") {
        d.settings
            .insert("kiwi-name".into(), Sourced::new(n.to_owned(), r.at(root)));
    }

    // Profiles first: every other section is filtered by them.
    let mut import = Vec::new();
    let profiles_node = elements(root).find(|n| n.has_tag_name("profiles"));
    if let Some(p) = profiles_node {
        r.attrs(p, &[]);
        for c in elements(p) {
            if !c.has_tag_name("profile") {
                r.unsupported(c, "profiles");
                continue;
            }
            r.attrs(c, &["name", "description", "import", "arch"]);
            if let Some(n) = c.attribute("name") {
                r.defined.insert(n.to_owned());
                if r.bool_attr(c, "import") == Some(true) {
                    import.push(n.to_owned());
                }
            } else {
                r.problem(c, "<profile> needs a `name`");
            }
        }
    }
    match &entry.profile {
        Some(p) if !r.defined.contains(p) => {
            let msg = format!(
                "image `{}` (declared at {}) asks for profile `{p}`, which this description does not define (defined: {})",
                entry.name,
                entry.declared_at,
                if r.defined.is_empty() {
                    "none".to_owned()
                } else {
                    r.defined.iter().cloned().collect::<Vec<_>>().join(", ")
                }
            );
            let n = profiles_node.unwrap_or(root);
            r.problem(n, msg);
        }
        Some(p) => {
            r.active.insert(p.clone());
        }
        None => r.active.extend(import),
    }
    if !r.active.is_empty() {
        d.settings.insert(
            "kiwi-profiles".into(),
            Sourced::new(
                r.active.iter().cloned().collect::<Vec<_>>().join(","),
                entry.declared_at.clone(),
            ),
        );
    }

    let mut saw_type = false;
    for n in elements(root) {
        match n.tag_name().name() {
            "profiles" => {}
            "description" => {
                r.attrs(n, &["type"]);
                for c in elements(n) {
                    match c.tag_name().name() {
                        "author" | "contact" | "license" => {}
                        "specification" => {
                            d.settings
                                .insert("specification".into(), Sourced::new(text(c), r.at(c)));
                        }
                        _ => r.unsupported(c, "description"),
                    }
                }
            }
            "preferences" => {
                r.attrs(n, &["profiles", "arch"]);
                let applies = r.applies(n);
                let arches = r.arch_of(n);
                if !applies {
                    continue;
                }
                if !arches.is_empty() {
                    d.arches = arches;
                }
                for c in elements(n) {
                    let name = c.tag_name().name();
                    match name {
                        "type" => {
                            saw_type = true;
                            read_type(&mut r, c, d);
                        }
                        "packagemanager" => {
                            let v = text(c);
                            if !matches!(v.as_str(), "dnf" | "dnf4" | "dnf5" | "microdnf") {
                                r.problem(
                                    c,
                                    format!(
                                        "package manager `{v}` is not supported (azldev installs with dnf)"
                                    ),
                                );
                            }
                            d.settings.insert(name.into(), Sourced::new(v, r.at(c)));
                        }
                        "version"
                        | "locale"
                        | "keytable"
                        | "timezone"
                        | "release-version"
                        | "rpm-check-signatures"
                        | "rpm-excludedocs"
                        | "hwclock" => {
                            r.attrs(c, &[]);
                            d.settings.insert(name.into(), Sourced::new(text(c), r.at(c)));
                        }
                        _ => r.unsupported(c, "preferences"),
                    }
                }
            }
            "repository" => {
                r.attrs(
                    n,
                    &[
                        "type",
                        "alias",
                        "priority",
                        "imageinclude",
                        "profiles",
                        "arch",
                        "repository_gpgcheck",
                        "package_gpgcheck",
                    ],
                );
                let applies = r.applies(n);
                let arches = r.arch_of(n);
                let mut source = None;
                for c in elements(n) {
                    if c.has_tag_name("source") {
                        r.attrs(c, &["path"]);
                        source = c.attribute("path").map(str::to_owned);
                    } else {
                        r.unsupported(c, "repository");
                    }
                }
                let Some(source) = source else {
                    r.problem(n, "<repository> needs a <source path=…>");
                    continue;
                };
                if applies {
                    d.repositories.push(ArchScoped {
                        value: Sourced::new(
                            DescRepo {
                                alias: n.attribute("alias").map(str::to_owned),
                                kind: n.attribute("type").map(str::to_owned),
                                source,
                            },
                            r.at(n),
                        ),
                        arches,
                    });
                }
            }
            "packages" => read_packages(&mut r, n, d),
            "users" => {
                r.attrs(n, &["profiles"]);
                let applies = r.applies(n);
                for c in elements(n) {
                    if !c.has_tag_name("user") {
                        r.unsupported(c, "users");
                        continue;
                    }
                    r.attrs(
                        c,
                        &[
                            "name",
                            "password",
                            "pwdformat",
                            "home",
                            "groups",
                            "id",
                            "shell",
                            "realname",
                        ],
                    );
                    let Some(name) = c.attribute("name") else {
                        r.problem(c, "<user> needs a `name`");
                        continue;
                    };
                    let uid = match c.attribute("id").map(str::parse::<u32>) {
                        None => None,
                        Some(Ok(u)) => Some(u),
                        Some(Err(_)) => {
                            r.attr_problem(c, "id", "`id` must be a number");
                            None
                        }
                    };
                    if c.attribute("pwdformat") == Some("plain") {
                        r.attr_problem(
                            c,
                            "pwdformat",
                            "plain-text passwords are not supported; give a crypt(3) hash",
                        );
                    }
                    if applies {
                        d.users.push(Sourced::new(
                            User {
                                name: name.to_owned(),
                                uid,
                                groups: c
                                    .attribute("groups")
                                    .map(|g| {
                                        g.split(',')
                                            .map(str::trim)
                                            .filter(|s| !s.is_empty())
                                            .map(str::to_owned)
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                                home: c.attribute("home").map(str::to_owned),
                                shell: c.attribute("shell").map(str::to_owned),
                                realname: c.attribute("realname").map(str::to_owned),
                                password: c
                                    .attribute("password")
                                    .filter(|p| !p.is_empty())
                                    .map(str::to_owned),
                            },
                            r.at(c),
                        ));
                    }
                }
            }
            _ => r.unsupported(n, "image"),
        }
    }
    if !saw_type {
        r.problem(
            root,
            "no <type> applies to this build (a <preferences> section for the active profiles needs one)",
        );
    }

    // Kiwi's hooks beside the description.
    if let Some(dir) = entry.path.parent() {
        let config_sh = dir.join("config.sh");
        if config_sh.is_file() {
            d.inputs.push(config_sh.clone());
            d.scripts.push(Sourced::new(
                Script {
                    path: config_sh.clone(),
                    display: super::display_path(&config_sh, &entry.display_root),
                    kiwi: true,
                },
                format!("{}:1:1", super::display_path(&config_sh, &entry.display_root)),
            ));
        }
        for hook in [
            "images.sh",
            "root",
            "root.tar.gz",
            "config.yaml",
            "disk.sh",
            "pre_disk_sync.sh",
        ] {
            if dir.join(hook).exists() {
                r.problem(
                    root,
                    format!("kiwi's `{hook}` beside the description is not supported"),
                );
            }
        }
    }
    r.problems
}

fn read_type(r: &mut Reader<'_>, n: Node<'_, '_>, d: &mut Description) {
    r.attrs(
        n,
        &[
            "image",
            "primary",
            "format",
            "formatoptions",
            "filesystem",
            "kernelcmdline",
            "firmware",
            "efipartsize",
            "rootfs_label",
            "initrd_system",
            "overlayroot",
            "eficsm",
            "bootpartition",
            "volid",
            "publisher",
        ],
    );
    let at = r.at(n);
    let image = n.attribute("image").unwrap_or_default();
    let mut formats = Vec::new();
    match image {
        "oci" => formats.push(Format::Oci),
        "docker" => formats.push(Format::OciArchive),
        // kiwi's `tbz` is an xz-compressed tar.
        "tbz" => formats.push(Format::TarXz),
        "iso" => formats.push(Format::Iso),
        "ext4" => formats.push(Format::Ext4),
        "erofs" => formats.push(Format::Erofs),
        "squashfs" => formats.push(Format::Squashfs),
        "oem" => match n.attribute("format") {
            None | Some("raw") => formats.push(Format::Raw),
            Some("vhd-fixed" | "vhd") => formats.push(Format::Vhd),
            Some("vhdx") => formats.push(Format::Vhdx),
            Some("qcow2") => formats.push(Format::Qcow2),
            Some(other) => {
                let msg = format!(
                    "disk format `{other}` is not supported (azldev writes raw, qcow2, vhd-fixed, vhdx)"
                );
                r.attr_problem(n, "format", msg);
            }
        },
        "" => r.problem(n, "<type> needs an `image` attribute"),
        other => {
            let msg = format!(
                "image type `{other}` is not supported (azldev builds oci, docker, tbz, iso, oem, ext4, erofs, squashfs)"
            );
            r.attr_problem(n, "image", msg);
        }
    }
    if n.attribute("format").is_some() && image != "oem" {
        r.attr_problem(n, "format", "`format` applies to `image=\"oem\"` only");
    }
    for f in formats {
        if !d.formats.iter().any(|x| x.value == f) {
            d.formats.push(Sourced::new(f, at.clone()));
        }
    }
    if let Some(fs) = n.attribute("filesystem") {
        let v = match fs {
            "ext4" => Some(RootFs::Ext4),
            "erofs" => Some(RootFs::Erofs),
            "squashfs" => Some(RootFs::Squashfs),
            other => {
                let msg = format!("root filesystem `{other}` is not supported (ext4, erofs, squashfs)");
                r.attr_problem(n, "filesystem", msg);
                None
            }
        };
        if let Some(v) = v {
            d.root_filesystem = Some(Sourced::new(v, at.clone()));
        }
    }
    if let Some(c) = n.attribute("kernelcmdline") {
        d.kernel_cmdline.push(ArchScoped {
            value: Sourced::new(c.to_owned(), at.clone()),
            arches: Vec::new(),
        });
    }
    if let Some(fw) = n.attribute("firmware") {
        if !matches!(fw, "uefi" | "efi") {
            let msg = format!("firmware `{fw}` is not supported (azldev's disks boot with UEFI)");
            r.attr_problem(n, "firmware", msg);
        }
        d.settings
            .insert("firmware".into(), Sourced::new(fw.to_owned(), at.clone()));
    }
    if let Some(s) = n.attribute("efipartsize") {
        match parse_size(s, 1 << 20) {
            Some(b) => d.esp_size = Some(Sourced::new(b, at.clone())),
            None => r.attr_problem(n, "efipartsize", "`efipartsize` must be a number of MiB"),
        }
    }
    for key in [
        "rootfs_label",
        "initrd_system",
        "formatoptions",
        "volid",
        "publisher",
    ] {
        if let Some(v) = n.attribute(key) {
            d.settings
                .insert(key.replace('_', "-"), Sourced::new(v.to_owned(), at.clone()));
        }
    }
    for key in ["overlayroot", "eficsm", "bootpartition"] {
        if r.bool_attr(n, key) == Some(true) {
            let msg = format!("`{key}=\"true\"` is not supported");
            r.attr_problem(n, key, msg);
        }
    }
    let _ = r.bool_attr(n, "primary");
    for c in elements(n) {
        match c.tag_name().name() {
            "bootloader" => {
                r.attrs(c, &["name", "bls", "console", "timeout", "timeout_style"]);
                if let Some(name) = c.attribute("name") {
                    d.settings
                        .insert("bootloader".into(), Sourced::new(name.to_owned(), r.at(c)));
                }
            }
            "size" => {
                r.attrs(c, &["unit", "additive"]);
                let unit = match c.attribute("unit") {
                    None | Some("M") => 1 << 20,
                    Some("G") => 1 << 30,
                    Some(other) => {
                        let msg = format!("size unit `{other}` is not supported (M or G)");
                        r.attr_problem(c, "unit", msg);
                        1 << 20
                    }
                };
                match text(c).parse::<u64>().ok().and_then(|v| v.checked_mul(unit)) {
                    Some(b) => d.disk_size = Some(Sourced::new(b, r.at(c))),
                    None => r.problem(c, "<size> must hold a whole number"),
                }
            }
            "oemconfig" => {
                r.attrs(c, &[]);
                for o in elements(c) {
                    match o.tag_name().name() {
                        "oem-resize" | "oem-swap" | "oem-skip-verify" | "oem-multipath-scan" => {}
                        _ => r.unsupported(o, "oemconfig"),
                    }
                }
            }
            "containerconfig" => read_container(r, c, d),
            _ => r.unsupported(c, "type"),
        }
    }
}

fn arguments(r: &mut Reader<'_>, n: Node<'_, '_>) -> Vec<String> {
    let mut v = Vec::new();
    for a in elements(n) {
        if a.has_tag_name("argument") {
            r.attrs(a, &["name"]);
            if let Some(x) = a.attribute("name") {
                v.push(x.to_owned());
            }
        } else {
            let parent = n.tag_name().name().to_owned();
            r.unsupported(a, &parent);
        }
    }
    v
}

fn read_container(r: &mut Reader<'_>, n: Node<'_, '_>, d: &mut Description) {
    r.attrs(
        n,
        &[
            "name",
            "tag",
            "additionalnames",
            "user",
            "workingdir",
            "maintainer",
        ],
    );
    let mut c = ContainerConfig {
        name: n.attribute("name").map(str::to_owned),
        tag: n.attribute("tag").map(str::to_owned),
        user: n.attribute("user").map(str::to_owned),
        working_dir: n.attribute("workingdir").map(str::to_owned),
        ..ContainerConfig::default()
    };
    if let Some(m) = n.attribute("maintainer") {
        c.labels
            .push(("org.opencontainers.image.authors".into(), m.to_owned()));
    }
    if let Some(a) = n.attribute("additionalnames") {
        d.settings.insert(
            "container-additional-names".into(),
            Sourced::new(a.to_owned(), r.at(n)),
        );
    }
    for e in elements(n) {
        match e.tag_name().name() {
            "subcommand" | "entrypoint" => {
                r.attrs(e, &["execute", "clear"]);
                let clear = r.bool_attr(e, "clear") == Some(true);
                let mut argv: Vec<String> = e.attribute("execute").map(str::to_owned).into_iter().collect();
                argv.extend(arguments(r, e));
                if clear && !argv.is_empty() {
                    r.problem(e, "`clear=\"true\"` with a command");
                }
                if e.has_tag_name("subcommand") {
                    c.cmd = argv;
                } else {
                    c.entrypoint = argv;
                }
            }
            "environment" => {
                r.attrs(e, &[]);
                for v in elements(e) {
                    if v.has_tag_name("env") {
                        r.attrs(v, &["name", "value"]);
                        if let (Some(k), Some(val)) = (v.attribute("name"), v.attribute("value")) {
                            c.env.push(format!("{k}={val}"));
                        } else {
                            r.problem(v, "<env> needs `name` and `value`");
                        }
                    } else {
                        r.unsupported(v, "environment");
                    }
                }
            }
            "labels" => {
                r.attrs(e, &[]);
                for v in elements(e) {
                    if v.has_tag_name("label") {
                        r.attrs(v, &["name", "value"]);
                        if let (Some(k), Some(val)) = (v.attribute("name"), v.attribute("value")) {
                            c.labels.push((k.to_owned(), val.to_owned()));
                        } else {
                            r.problem(v, "<label> needs `name` and `value`");
                        }
                    } else {
                        r.unsupported(v, "labels");
                    }
                }
            }
            "expose" => {
                r.attrs(e, &[]);
                for v in elements(e) {
                    if v.has_tag_name("port") {
                        r.attrs(v, &["number"]);
                        if let Some(p) = v.attribute("number") {
                            c.exposed_ports.push(if p.contains('/') {
                                p.to_owned()
                            } else {
                                format!("{p}/tcp")
                            });
                        }
                    } else {
                        r.unsupported(v, "expose");
                    }
                }
            }
            _ => r.unsupported(e, "containerconfig"),
        }
    }
    d.container = Some(Sourced::new(c, r.at(n)));
}

fn read_packages(r: &mut Reader<'_>, n: Node<'_, '_>, d: &mut Description) {
    r.attrs(n, &["type", "profiles", "patternType"]);
    let applies = r.applies(n);
    let kind = n.attribute("type").unwrap_or("image");
    if !matches!(kind, "image" | "bootstrap" | "delete" | "uninstall") {
        let msg = format!("packages type `{kind}` is not supported (image, bootstrap, delete, uninstall)");
        r.attr_problem(n, "type", msg);
        return;
    }
    for c in elements(n) {
        let name = match c.tag_name().name() {
            "package" => {
                r.attrs(c, &["name", "arch", "bootinclude", "bootdelete"]);
                c.attribute("name").map(str::to_owned)
            }
            "namedCollection" => {
                r.attrs(c, &["name", "arch"]);
                c.attribute("name").map(|g| format!("@{g}"))
            }
            _ => {
                r.unsupported(c, "packages");
                continue;
            }
        };
        let arches = r.arch_of(c);
        let Some(name) = name else {
            r.problem(c, "needs a `name`");
            continue;
        };
        if !applies {
            continue;
        }
        let item = ArchScoped {
            value: Sourced::new(name, r.at(c)),
            arches,
        };
        match kind {
            "bootstrap" => d.bootstrap_packages.push(item),
            "delete" | "uninstall" => d.remove_packages.push(item),
            _ => d.packages.push(item),
        }
    }
}
