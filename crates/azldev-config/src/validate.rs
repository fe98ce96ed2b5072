//! Semantic validation: the rules azldev enforces, and a few more, each reported
//! at the offending value. Runs per file on what the file itself says (so a rule
//! like "a reason is required with `check.skip`" is checked where it is written,
//! including in defaults that many components inherit), then across the merged
//! project (references to components, distros, test suites; package groups).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::diag::Diagnostic;
use crate::go_regex;
use crate::merge::Merged;
use crate::raw::*;
use crate::source::SourceMap;
use crate::span::{Loc, Sp};
use crate::suggest;

pub(crate) struct Ctx<'a> {
    pub files: &'a SourceMap,
    pub out: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn error(&mut self, code: &'static str, msg: impl Into<String>, loc: &Loc, label: impl Into<String>) {
        let d = Diagnostic::error(code, msg).at(self.files, loc, label);
        self.out.push(d);
    }

    fn error_help(
        &mut self,
        code: &'static str,
        msg: impl Into<String>,
        loc: &Loc,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let d = Diagnostic::error(code, msg).at(self.files, loc, label).help(help);
        self.out.push(d);
    }
}

/// Where a component configuration sits, which changes a few rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `[components.NAME]`
    Component,
    /// A `default-component-config` (project, distro version or group).
    Default,
}

fn blank(s: &Option<Sp<String>>) -> bool {
    s.as_ref().is_none_or(|v| v.trim().is_empty())
}

fn is_true(b: &Option<Sp<bool>>) -> bool {
    b.as_ref().is_some_and(|v| v.value)
}

/// A plain file name: no directories, not `.` or `..`, no NUL.
pub(crate) fn is_file_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\\') && !s.contains('\0')
}

/// File name endings of the archives `archive` overlays can edit.
const ARCHIVE_SUFFIXES: [&str; 10] = [
    ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".tzst", ".zip",
];

pub(crate) fn is_archive_name(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ARCHIVE_SUFFIXES
        .iter()
        .any(|suffix| lower.len() > suffix.len() && lower.ends_with(suffix))
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Check every rule that can be checked on one file by itself.
pub(crate) fn validate_file(cfg: &ConfigFile, ctx: &mut Ctx<'_>) {
    for (name, comp) in &cfg.components {
        validate_component_name(name, &comp.loc, ctx);
        validate_component_config(&comp.value, Scope::Component, ctx);
    }
    if let Some(d) = &cfg.default_component_config {
        validate_component_config(&d.value, Scope::Default, ctx);
    }
    for distro in cfg.distros.values() {
        for v in distro.versions.values() {
            if let Some(d) = &v.default_component_config {
                validate_component_config(&d.value, Scope::Default, ctx);
            }
        }
        if let Some(p) = &distro.dist_git_path
            && !p.contains("$pkg")
        {
            ctx.error_help(
                "config::dist-git-path",
                "`dist-git-path` must contain `$pkg`",
                &p.loc,
                "no `$pkg` here",
                "the path names each package's directory inside the repository, e.g. `SPECS/$pkg`",
            );
        }
    }
    for g in cfg.component_groups.values() {
        if let Some(d) = &g.default_component_config {
            validate_component_config(&d.value, Scope::Default, ctx);
        }
    }
    for g in cfg.package_groups.values() {
        let mut seen: HashMap<&str, &Loc> = HashMap::new();
        for p in &g.packages {
            if let Some(first) = seen.get(p.as_str()) {
                let d = Diagnostic::error(
                    "config::duplicate-package",
                    format!("package `{}` is listed twice in the same package group", p.value),
                )
                .at(ctx.files, &p.loc, "listed again here")
                .also(ctx.files, first, "first listed here");
                ctx.out.push(d);
            } else {
                seen.insert(p.as_str(), &p.loc);
            }
        }
    }
    if let Some(r) = &cfg.resources {
        for (name, repo) in &r.rpm_repos {
            validate_rpm_repo(name, repo, ctx);
        }
    }
}

/// Longest component name: `<name>-<version>-<release>.<arch>.rpm` and
/// `<name>.spec` must fit a 255-byte file name.
pub const MAX_COMPONENT_NAME: usize = 200;

/// Why `name` is not a valid component (rpm package) name, if it is not.
/// rpm accepts ASCII letters and digits and `. - _ +` in `Name:`, and no
/// `..`; a name also names directories and is given as a command-line
/// argument, so it must start with a letter, digit or `_`.
#[must_use]
pub fn component_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > MAX_COMPONENT_NAME {
        return Some(format!(
            "it is {} bytes long; at most {MAX_COMPONENT_NAME} are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')))
    {
        return Some(format!("`{}` is not allowed", c.escape_default()));
    }
    if name.contains("..") {
        return Some("`..` is not allowed".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return Some("it must start with a letter, a digit or `_`".into());
    }
    None
}

fn validate_component_name(name: &str, loc: &Loc, ctx: &mut Ctx<'_>) {
    if let Some(why) = component_name_problem(name) {
        let shown: String = name.chars().take(60).collect();
        let shown = if shown.len() < name.len() {
            format!("{}…", shown.escape_default())
        } else {
            shown.escape_default().to_string()
        };
        ctx.error_help(
            "config::component-name",
            format!("invalid component name `{shown}`: {why}"),
            loc,
            "invalid name",
            format!(
                "a component name is an rpm package name: ASCII letters, digits and `. - _ +`, \
                 starting with a letter, digit or `_`, no `..`, at most {MAX_COMPONENT_NAME} bytes"
            ),
        );
    }
}

fn validate_rpm_repo(name: &str, repo: &Sp<RpmRepo>, ctx: &mut Ctx<'_>) {
    match (&repo.base_uri, &repo.metalink) {
        (None, None) => ctx.error(
            "config::rpm-repo",
            format!("rpm-repo `{name}` must set one of `base-uri` or `metalink`"),
            &repo.loc,
            "neither is set",
        ),
        (Some(_), Some(m)) => ctx.error(
            "config::rpm-repo",
            format!("rpm-repo `{name}` must not set both `base-uri` and `metalink`"),
            &m.loc,
            "second source given here",
        ),
        _ => {}
    }
    for uri in [&repo.base_uri, &repo.metalink].into_iter().flatten() {
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            ctx.error(
                "config::rpm-repo",
                format!("rpm-repo `{name}`: `{}` is not an http(s) URL", uri.value),
                &uri.loc,
                "expected http:// or https://",
            );
        }
    }
    if !is_true(&repo.disable_gpg_check) && blank(&repo.gpg_key) {
        ctx.error_help(
            "config::rpm-repo",
            format!("rpm-repo `{name}` checks GPG signatures (the default) but has no `gpg-key`"),
            &repo.loc,
            "no `gpg-key`",
            "set `gpg-key`, or opt out with `disable-gpg-check = true`",
        );
    }
}

pub(crate) fn validate_component_config(cfg: &ComponentConfig, scope: Scope, ctx: &mut Ctx<'_>) {
    if let Some(spec) = &cfg.spec {
        validate_spec(spec, scope, ctx);
    }
    for o in &cfg.overlays {
        validate_overlay(o, ctx);
    }
    if let Some(of) = &cfg.overlay_files {
        for p in of.iter() {
            if p.trim().is_empty() {
                ctx.error(
                    "config::overlay-files",
                    "empty `overlay-files` entry",
                    &p.loc,
                    "empty pattern",
                );
            }
        }
    }
    if let Some(b) = &cfg.build {
        validate_build(b, ctx);
    }
    validate_source_files(&cfg.source_files, ctx);
}

fn validate_spec(spec: &Sp<SpecSource>, scope: Scope, ctx: &mut Ctx<'_>) {
    if spec.kind.value == SpecType::Local && blank(&spec.path) {
        ctx.error(
            "config::spec-path",
            "a local spec needs a `path`",
            &spec.kind.loc,
            "`type = \"local\"` without `path`",
        );
    }
    if let Some(c) = &spec.upstream_commit
        && !(is_hex(c) && (7..=40).contains(&c.len()))
    {
        ctx.error_help(
            "config::upstream-commit",
            format!(
                "`upstream-commit` must be 7 to 40 hexadecimal digits, got `{}`",
                c.value
            ),
            &c.loc,
            "not a commit hash",
            "use the full 40-digit commit id, e.g. from `git rev-parse`",
        );
    }
    if let Some(d) = &spec.upstream_distro
        && let Some(s) = &d.snapshot
    {
        if scope == Scope::Component {
            ctx.error_help(
                "config::component-snapshot",
                "a component may not set its own `snapshot`",
                &s.loc,
                "per-component snapshot",
                "set the snapshot on the distro or group `default-component-config`, or pin this component with `upstream-commit`",
            );
        }
        let ok = s
            .parse::<toml::value::Datetime>()
            .is_ok_and(|dt| dt.date.is_some() && dt.time.is_some() && dt.offset.is_some());
        if !ok {
            ctx.error_help(
                "config::snapshot",
                format!("`snapshot` is not an RFC 3339 date-time: `{}`", s.value),
                &s.loc,
                "not a date-time",
                "write e.g. \"2026-02-24T00:00:00-08:00\"",
            );
        }
    }
}

fn validate_build(b: &Sp<BuildConfig>, ctx: &mut Ctx<'_>) {
    let mut seen: HashMap<&str, &Loc> = HashMap::new();
    for cap in &b.bootstrap_prebuilt {
        let v = cap.value.trim();
        if v.is_empty() || v.contains(char::is_whitespace) || v.starts_with('(') {
            ctx.error_help(
                "config::bootstrap-prebuilt",
                format!("`bootstrap-prebuilt` entry `{}` is not a capability name", cap.value),
                &cap.loc,
                "not a name",
                "write the name a BuildRequires asks for, without a version (e.g. \"gcc\" or \"pkgconfig(zlib)\")",
            );
        } else if seen.insert(v, &cap.loc).is_some() {
            ctx.error(
                "config::bootstrap-prebuilt-duplicate",
                format!("`{v}` is listed twice in `bootstrap-prebuilt`"),
                &cap.loc,
                "listed again here",
            );
        }
    }
    if let Some(check) = &b.check
        && let Some(skip) = &check.skip
        && skip.value
        && blank(&check.skip_reason)
    {
        ctx.error_help(
            "config::check-skip-reason",
            "`check.skip = true` requires a `skip_reason`",
            &skip.loc,
            "skipping %check without a reason",
            "add `skip_reason = \"…\"` explaining why %check is disabled",
        );
    }
    if let Some(f) = &b.failure
        && let Some(exp) = &f.expected
        && exp.value
        && blank(&f.expected_reason)
    {
        ctx.error_help(
            "config::failure-reason",
            "`failure.expected = true` requires an `expected-reason`",
            &exp.loc,
            "expected failure without a reason",
            "add `expected-reason = \"…\"` explaining why the build is expected to fail",
        );
    }
}

fn validate_source_files(list: &[Sp<SourceFileRef>], ctx: &mut Ctx<'_>) {
    let mut seen: HashMap<&str, &Loc> = HashMap::new();
    for sf in list {
        let name = &sf.filename;
        if !is_file_name(name) {
            ctx.error(
                "config::source-file-name",
                format!("source file name `{}` must be a plain file name", name.value),
                &name.loc,
                "not a plain file name",
            );
        }
        if let Some(first) = seen.get(name.as_str()) {
            let d = Diagnostic::error(
                "config::duplicate-source-file",
                format!("source file `{}` is listed twice", name.value),
            )
            .at(ctx.files, &name.loc, "listed again here")
            .also(ctx.files, first, "first listed here")
            .help("each `source-files` filename must be unique within a component");
            ctx.out.push(d);
        } else {
            seen.insert(name.as_str(), &name.loc);
        }
        if let Some(h) = &sf.hash {
            match &sf.hash_type {
                None => ctx.error_help(
                    "config::hash-type",
                    format!("`hash` of source file `{}` has no `hash-type`", name.value),
                    &h.loc,
                    "hash without hash-type",
                    "add `hash-type = \"SHA256\"` or `hash-type = \"SHA512\"`",
                ),
                Some(t) => {
                    let want = match t.value {
                        HashType::Sha256 => 64,
                        HashType::Sha512 => 128,
                    };
                    if !(is_hex(h) && h.len() == want) {
                        ctx.error(
                            "config::hash",
                            format!(
                                "`hash` of source file `{}` is not a {} digest ({want} hex digits)",
                                name.value,
                                serde_json::to_value(t.value)
                                    .ok()
                                    .and_then(|v| v.as_str().map(str::to_owned))
                                    .unwrap_or_default()
                            ),
                            &h.loc,
                            format!("{} characters", h.len()),
                        );
                    }
                }
            }
        }
        let replace = is_true(&sf.replace_upstream);
        if replace
            && blank(&sf.replace_reason)
            && let Some(r) = &sf.replace_upstream
        {
            ctx.error_help(
                "config::replace-reason",
                format!(
                    "`replace-upstream = true` on `{}` requires a `replace-reason`",
                    name.value
                ),
                &r.loc,
                "replacing upstream without a reason",
                "add `replace-reason = \"…\"` documenting the override",
            );
        }
        if !replace && let Some(reason) = &sf.replace_reason {
            ctx.error(
                "config::replace-reason",
                format!(
                    "`replace-reason` on `{}` is only valid with `replace-upstream = true`",
                    name.value
                ),
                &reason.loc,
                "no `replace-upstream = true`",
            );
        }
        if let Some(o) = &sf.origin {
            validate_origin(sf, o, ctx);
        }
    }
}

fn validate_origin(sf: &SourceFileRef, o: &Sp<Origin>, ctx: &mut Ctx<'_>) {
    let name = &sf.filename.value;
    let kind = o.kind.value;
    match kind {
        OriginType::Download => match &o.uri {
            None => ctx.error(
                "config::origin",
                format!("download origin of `{name}` needs a `uri`"),
                &o.kind.loc,
                "no `uri`",
            ),
            Some(u) if !u.contains("://") => ctx.error(
                "config::origin",
                format!("`uri` of `{name}` has no scheme: `{}`", u.value),
                &u.loc,
                "expected e.g. https://…",
            ),
            Some(_) => {}
        },
        OriginType::Custom => {
            match &o.script {
                None => ctx.error(
                    "config::origin",
                    format!("custom origin of `{name}` needs a `script`"),
                    &o.kind.loc,
                    "no `script`",
                ),
                Some(s) if !is_file_name(s) => ctx.error(
                    "config::origin",
                    format!("`script` of `{name}` must be a file name next to the defining file"),
                    &s.loc,
                    "not a plain file name",
                ),
                Some(_) => {}
            }
            let mut seen: HashMap<&str, &Loc> = HashMap::new();
            for i in &o.inputs {
                if !is_file_name(i) {
                    ctx.error(
                        "config::origin",
                        format!("input `{}` must be a plain file name", i.value),
                        &i.loc,
                        "not a plain file name",
                    );
                }
                if seen.insert(i.as_str(), &i.loc).is_some() {
                    ctx.error(
                        "config::origin",
                        format!("input `{}` is listed twice", i.value),
                        &i.loc,
                        "duplicate input",
                    );
                }
            }
        }
        OriginType::Overlay => {
            if !is_true(&sf.replace_upstream) {
                ctx.error_help(
                    "config::origin",
                    format!("overlay origin of `{name}` requires `replace-upstream = true`"),
                    &o.kind.loc,
                    "archive is modified by overlays",
                    "the archive already exists upstream; set `replace-upstream = true` and a `replace-reason`",
                );
            }
            if sf.hash.is_none() {
                ctx.error_help(
                    "config::origin",
                    format!("overlay origin of `{name}` requires `hash` and `hash-type`"),
                    &o.kind.loc,
                    "no digest of the edited archive",
                    "set `hash` to the digest of the archive after its overlays (a failed render prints it) and `hash-type = \"SHA512\"`",
                );
            }
        }
    }
    if kind != OriginType::Download
        && let Some(u) = &o.uri
    {
        ctx.error(
            "config::origin",
            format!("`uri` is only valid for a download origin (`{name}`)"),
            &u.loc,
            "unexpected `uri`",
        );
    }
    if kind != OriginType::Custom {
        if let Some(s) = &o.script {
            ctx.error(
                "config::origin",
                format!("`script` is only valid for a custom origin (`{name}`)"),
                &s.loc,
                "unexpected `script`",
            );
        }
        if let Some(m) = o.mock_packages.first() {
            ctx.error(
                "config::origin",
                format!("`mock-packages` is only valid for a custom origin (`{name}`)"),
                &m.loc,
                "unexpected `mock-packages`",
            );
        }
        if let Some(i) = o.inputs.first() {
            ctx.error(
                "config::origin",
                format!("`inputs` is only valid for a custom origin (`{name}`)"),
                &i.loc,
                "unexpected `inputs`",
            );
        }
    }
}

/// The rules of one overlay: required fields per type, regexes, paths, metadata.
pub(crate) fn validate_overlay(o: &Sp<Overlay>, ctx: &mut Ctx<'_>) {
    use OverlayType as T;
    let kind = o.kind.value;
    let at = o.kind.loc.clone();
    let missing = |field: &str, ctx: &mut Ctx<'_>| {
        ctx.error(
            "config::overlay-missing-field",
            format!("overlay type `{kind}` requires `{field}`"),
            &at,
            format!("this overlay has no `{field}`"),
        );
    };
    let lines_empty = o.lines.as_ref().is_none_or(|l| l.is_empty());
    match kind {
        T::SpecAddTag | T::SpecInsertTag | T::SpecSetTag | T::SpecUpdateTag => {
            if blank(&o.tag) {
                missing("tag", ctx);
            }
            if o.tag_value.as_ref().is_none_or(|v| v.is_empty()) {
                missing("value", ctx);
            }
        }
        T::SpecRemoveTag => {
            if blank(&o.tag) {
                missing("tag", ctx);
            }
        }
        T::SpecPrependLines | T::SpecAppendLines => {
            if lines_empty {
                missing("lines", ctx);
            }
        }
        T::SpecSearchReplace => {
            if o.regex.as_ref().is_none_or(|r| r.is_empty()) {
                missing("regex", ctx);
            }
        }
        T::SpecRemoveSection => {
            if blank(&o.section) {
                missing("section", ctx);
            }
        }
        T::SpecRemoveSubpackage => {
            if blank(&o.package) {
                missing("package", ctx);
            }
            if let Some(s) = &o.section {
                ctx.error(
                    "config::overlay-unexpected-field",
                    format!("overlay type `{kind}` does not accept `section`"),
                    &s.loc,
                    "remove this",
                );
            }
        }
        T::PatchAdd => {
            if blank(&o.source) {
                missing("source", ctx);
            }
        }
        T::PatchRemove | T::FileRemove => {
            if blank(&o.file) {
                missing("file", ctx);
            }
        }
        T::FilePrependLines => {
            if blank(&o.file) {
                missing("file", ctx);
            }
            if lines_empty {
                missing("lines", ctx);
            }
        }
        T::FileSearchReplace => {
            if blank(&o.file) {
                missing("file", ctx);
            }
            if o.regex.as_ref().is_none_or(|r| r.is_empty()) {
                missing("regex", ctx);
            }
        }
        T::FileAdd => {
            if blank(&o.file) {
                missing("file", ctx);
            }
            if blank(&o.source) {
                missing("source", ctx);
            }
        }
        T::FileRename => {
            if blank(&o.file) {
                missing("file", ctx);
            }
            match &o.replacement {
                None => missing("replacement", ctx),
                Some(r) if !is_file_name(r) => ctx.error(
                    "config::overlay-replacement",
                    format!(
                        "overlay type `{kind}` requires `replacement` to be a file name, not a path: `{}`",
                        r.value
                    ),
                    &r.loc,
                    "not a plain file name",
                ),
                Some(_) => {}
            }
        }
    }
    if let Some(a) = &o.archive {
        if !kind.is_file_overlay() {
            ctx.error_help(
                "config::overlay-archive",
                format!("overlay type `{kind}` does not accept `archive`"),
                &a.loc,
                "remove this",
                "`archive` is only valid on file-prepend-lines, file-search-replace, file-add, file-remove and file-rename",
            );
        } else if !is_file_name(a) {
            ctx.error(
                "config::overlay-archive",
                format!(
                    "`archive` must be the file name of one of the component's sources, got `{}`",
                    a.value
                ),
                &a.loc,
                "not a plain file name",
            );
        } else if !is_archive_name(a) {
            ctx.error_help(
                "config::overlay-archive",
                format!("`{}` is not an archive overlays can edit", a.value),
                &a.loc,
                "unsupported archive type",
                "supported: .tar, .tar.gz (.tgz), .tar.xz (.txz), .tar.bz2 (.tbz2), .tar.zst (.tzst) and .zip",
            );
        }
    }
    if let Some(f) = &o.file
        && Path::new(f.as_str()).is_absolute()
    {
        ctx.error(
            "config::overlay-file-path",
            format!(
                "`file` must be a path relative to the component's sources, got `{}`",
                f.value
            ),
            &f.loc,
            "absolute path",
        );
    }
    if kind == T::PatchRemove
        && let Some(f) = &o.file
        && let Err(e) = glob::Pattern::new(f)
    {
        ctx.error(
            "config::overlay-glob",
            format!("invalid glob pattern `{}`: {}", f.value, e.msg),
            &f.loc,
            "invalid glob",
        );
    }
    if let Some(re) = &o.regex
        && !re.is_empty()
        && let Err(e) = go_regex::compile(re)
    {
        let text = e.to_string();
        let reason = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or("invalid regular expression")
            .to_owned();
        ctx.error_help(
            "config::overlay-regex",
            format!("invalid regular expression: {reason}"),
            &re.loc,
            reason,
            text,
        );
    }
    if let Some(m) = &o.metadata {
        validate_metadata(m, ctx);
    }
}

pub(crate) fn validate_metadata(m: &Sp<OverlayMetadata>, ctx: &mut Ctx<'_>) {
    if m.category.value == OverlayCategory::UpstreamBackport {
        if m.commits.is_empty() {
            ctx.error_help(
                "config::metadata",
                "overlay category `upstream-backport` requires at least one entry in `commits`",
                &m.category.loc,
                "no `commits`",
                "add `commits = [{ url = \"https://…\" }]` pointing at the backported change",
            );
        }
        if !matches!(
            m.upstream_status.value,
            UpstreamStatus::Upstreamed | UpstreamStatus::Upstreamable
        ) {
            ctx.error_help(
                "config::metadata",
                "overlay category `upstream-backport` contradicts this `upstream-status`",
                &m.upstream_status.loc,
                "contradicts the category",
                "a backport is `upstreamed` or `upstreamable`",
            );
        }
    }
    for r in m.commits.iter().chain(m.bugs.iter()) {
        let u = &r.url;
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() <= "https://".len() {
            ctx.error(
                "config::metadata",
                format!("`{}` is not an http(s) URL", u.value),
                &u.loc,
                "expected http:// or https://",
            );
        }
    }
}

/// Every component configuration of the merged project with its scope.
pub(crate) fn all_component_configs(m: &Merged) -> Vec<&ComponentConfig> {
    let mut v = vec![&m.default_component_config];
    for d in m.distros.values() {
        for ver in d.versions.values() {
            if let Some(c) = &ver.default_component_config {
                v.push(&c.value);
            }
        }
    }
    for g in m.component_groups.values() {
        if let Some(c) = &g.default_component_config {
            v.push(&c.value);
        }
    }
    v.extend(m.components.values().map(|c| &c.value));
    v
}

/// Rules across files: references must resolve; a package in one group only.
pub(crate) fn validate_merged(m: &Merged, ctx: &mut Ctx<'_>) {
    let names: Vec<&str> = m.components.keys().map(String::as_str).collect();
    for (gname, g) in &m.component_groups {
        for member in &g.components {
            if !m.components.contains_key(member.as_str()) {
                let mut d = Diagnostic::error(
                    "config::unknown-component",
                    format!(
                        "component group `{gname}` lists `{}`, which is not a defined component",
                        member.value
                    ),
                )
                .at(ctx.files, &member.loc, "no such component");
                if let Some(s) = suggest::closest(member, names.iter().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                ctx.out.push(d);
            }
        }
    }

    let mut owner: BTreeMap<&str, (&str, &Loc)> = BTreeMap::new();
    for (gname, g) in &m.package_groups {
        for p in &g.packages {
            match owner.get(p.as_str()) {
                Some((other, first)) if *other != gname.as_str() => {
                    let d = Diagnostic::error(
                        "config::package-in-two-groups",
                        format!(
                            "package `{}` is in package groups `{other}` and `{gname}`",
                            p.value
                        ),
                    )
                    .at(ctx.files, &p.loc, format!("listed in `{gname}` here"))
                    .also(ctx.files, first, format!("listed in `{other}` here"))
                    .help("a binary package belongs to at most one package group");
                    ctx.out.push(d);
                }
                Some(_) => {}
                None => {
                    owner.insert(p.as_str(), (gname.as_str(), &p.loc));
                }
            }
        }
    }

    for (dname, d) in &m.distros {
        if let Some(v) = &d.default_version
            && !d.versions.contains_key(v.as_str())
        {
            let versions: Vec<&str> = d.versions.keys().map(String::as_str).collect();
            let mut diag = Diagnostic::error(
                "config::unknown-distro-version",
                format!("default version `{}` of distro `{dname}` is not defined", v.value),
            )
            .at(ctx.files, &v.loc, "no such version");
            if let Some(h) = suggest::help_for(v, &versions, "defined versions") {
                diag = diag.help(h);
            }
            ctx.out.push(diag);
        }
    }
    if let Some(r) = &m.project.default_distro {
        check_distro_ref(m, r, ctx);
    }
    for c in all_component_configs(m) {
        if let Some(spec) = &c.spec
            && let Some(r) = &spec.upstream_distro
        {
            check_distro_ref(m, r, ctx);
        }
    }

    let suites: Vec<&str> = m.test_suites.keys().map(String::as_str).collect();
    for (iname, img) in &m.images {
        if let Some(t) = &img.tests {
            for r in &t.test_suites {
                if !m.test_suites.contains_key(r.name.as_str()) {
                    let mut d = Diagnostic::error(
                        "config::unknown-test-suite",
                        format!(
                            "image `{iname}` refers to test suite `{}`, which is not defined",
                            r.name.value
                        ),
                    )
                    .at(ctx.files, &r.name.loc, "no such test suite");
                    if let Some(h) = suggest::help_for(&r.name, &suites, "defined test suites") {
                        d = d.help(h);
                    }
                    ctx.out.push(d);
                }
            }
        }
    }
}

fn check_distro_ref(m: &Merged, r: &Sp<DistroReference>, ctx: &mut Ctx<'_>) {
    let Some(d) = m.distros.get(r.name.as_str()) else {
        let names: Vec<&str> = m.distros.keys().map(String::as_str).collect();
        let mut diag = Diagnostic::error(
            "config::unknown-distro",
            format!("distro `{}` is not defined", r.name.value),
        )
        .at(ctx.files, &r.name.loc, "no such distro");
        if let Some(h) = suggest::help_for(&r.name, &names, "defined distros") {
            diag = diag.help(h);
        }
        ctx.out.push(diag);
        return;
    };
    if let Some(v) = &r.version
        && !d.versions.contains_key(v.as_str())
    {
        let versions: Vec<&str> = d.versions.keys().map(String::as_str).collect();
        let mut diag = Diagnostic::error(
            "config::unknown-distro-version",
            format!("distro `{}` has no version `{}`", r.name.value, v.value),
        )
        .at(ctx.files, &v.loc, "no such version");
        if let Some(h) = suggest::help_for(v, &versions, "defined versions") {
            diag = diag.help(h);
        }
        ctx.out.push(diag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_names_follow_rpm() {
        for ok in [
            "hello",
            "libstdc++",
            "perl-Foo-Bar",
            "python3.12",
            "_x",
            "7zip",
            "a_b+c",
        ] {
            assert_eq!(component_name_problem(ok), None, "{ok}");
        }
        let why = |n: &str| component_name_problem(n).unwrap_or_default();
        assert!(why("-rf").contains("start with"));
        assert!(why("+x").contains("start with"));
        assert!(why("a:b").contains("`:`"));
        assert!(why("héllo").contains("not allowed"));
        assert!(why("a..b").contains("`..`"));
        assert!(why("a/b").contains("`/`"));
        assert!(why("").contains("empty"));
        assert!(why("a%{x}").contains("`%`"));
        assert!(why(&"a".repeat(MAX_COMPONENT_NAME + 1)).contains("at most"));
        assert_eq!(component_name_problem(&"a".repeat(MAX_COMPONENT_NAME)), None);
    }
}
