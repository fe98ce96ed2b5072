//! Vocabularies: section keywords, conditional keywords, known preamble tags.

use serde::Serialize;

/// What kind of region a section is. `Preamble` is the implicit first
/// section before any header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SectionKind {
    Preamble,
    Package,
    Description,
    Prep,
    Conf,
    GenerateBuildrequires,
    Build,
    Install,
    Check,
    Clean,
    Files,
    Changelog,
    Pre,
    Post,
    Preun,
    Postun,
    Pretrans,
    Posttrans,
    Preuntrans,
    Postuntrans,
    Verifyscript,
    Triggerprein,
    Triggerin,
    Triggerun,
    Triggerpostun,
    Filetriggerin,
    Filetriggerun,
    Filetriggerpostun,
    Transfiletriggerin,
    Transfiletriggerun,
    Transfiletriggerpostun,
    Sepolicy,
    Patchlist,
    Sourcelist,
}

/// Section keywords as rpm spells them (matched case-insensitively), with
/// rpm's historic aliases.
const KEYWORDS: &[(&str, SectionKind)] = &[
    ("package", SectionKind::Package),
    ("description", SectionKind::Description),
    ("prep", SectionKind::Prep),
    ("conf", SectionKind::Conf),
    ("generate_buildrequires", SectionKind::GenerateBuildrequires),
    ("build", SectionKind::Build),
    ("install", SectionKind::Install),
    ("check", SectionKind::Check),
    ("clean", SectionKind::Clean),
    ("files", SectionKind::Files),
    ("changelog", SectionKind::Changelog),
    ("pre", SectionKind::Pre),
    ("post", SectionKind::Post),
    ("preun", SectionKind::Preun),
    ("postun", SectionKind::Postun),
    ("pretrans", SectionKind::Pretrans),
    ("posttrans", SectionKind::Posttrans),
    ("preuntrans", SectionKind::Preuntrans),
    ("postuntrans", SectionKind::Postuntrans),
    ("verifyscript", SectionKind::Verifyscript),
    ("triggerprein", SectionKind::Triggerprein),
    ("triggerin", SectionKind::Triggerin),
    ("trigger", SectionKind::Triggerin),
    ("triggerun", SectionKind::Triggerun),
    ("triggerpostun", SectionKind::Triggerpostun),
    ("filetriggerin", SectionKind::Filetriggerin),
    ("filetrigger", SectionKind::Filetriggerin),
    ("filetriggerun", SectionKind::Filetriggerun),
    ("filetriggerpostun", SectionKind::Filetriggerpostun),
    ("transfiletriggerin", SectionKind::Transfiletriggerin),
    ("transfiletrigger", SectionKind::Transfiletriggerin),
    ("transfiletriggerun", SectionKind::Transfiletriggerun),
    ("transfiletriggerpostun", SectionKind::Transfiletriggerpostun),
    ("sepolicy", SectionKind::Sepolicy),
    ("patchlist", SectionKind::Patchlist),
    ("sourcelist", SectionKind::Sourcelist),
];

impl SectionKind {
    /// Look a keyword (without `%`) up, case-insensitively.
    pub fn from_keyword(word: &[u8]) -> Option<Self> {
        if word.len() > 22 {
            return None;
        }
        KEYWORDS
            .iter()
            .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(word))
            .map(|&(_, kind)| kind)
    }

    /// Parse a user-supplied section name such as `%files`, `files` or
    /// `Files`.
    pub fn parse_name(name: &str) -> Option<Self> {
        let word = name.trim().trim_start_matches('%');
        if word.eq_ignore_ascii_case("preamble") {
            return Some(Self::Preamble);
        }
        Self::from_keyword(word.as_bytes())
    }

    /// Every section keyword rpm knows (aliases included), without `%`.
    pub fn keywords() -> impl Iterator<Item = &'static str> {
        KEYWORDS.iter().map(|(k, _)| *k)
    }

    /// Canonical keyword, without `%`.
    pub fn keyword(self) -> &'static str {
        if self == Self::Preamble {
            return "preamble";
        }
        KEYWORDS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("preamble", |(w, _)| w)
    }

    /// Sections that belong to one (sub-)package and accept `-n NAME` or a
    /// name suffix.
    pub fn is_package_scoped(self) -> bool {
        !matches!(
            self,
            Self::Prep
                | Self::Conf
                | Self::GenerateBuildrequires
                | Self::Build
                | Self::Install
                | Self::Check
                | Self::Clean
                | Self::Changelog
                | Self::Patchlist
                | Self::Sourcelist
        )
    }

    /// Sections whose body holds preamble tags.
    pub fn holds_tags(self) -> bool {
        matches!(self, Self::Preamble | Self::Package)
    }

    /// Build-step sections (which accept rpm 4.20's `-a`/`-p` flags).
    pub fn is_build_step(self) -> bool {
        matches!(
            self,
            Self::Prep
                | Self::Conf
                | Self::GenerateBuildrequires
                | Self::Build
                | Self::Install
                | Self::Check
                | Self::Clean
        )
    }

    pub fn is_trigger(self) -> bool {
        matches!(
            self,
            Self::Triggerprein
                | Self::Triggerin
                | Self::Triggerun
                | Self::Triggerpostun
                | Self::Filetriggerin
                | Self::Filetriggerun
                | Self::Filetriggerpostun
                | Self::Transfiletriggerin
                | Self::Transfiletriggerun
                | Self::Transfiletriggerpostun
        )
    }

    /// Whether option `-c` takes an argument in this section's header.
    pub(crate) fn option_takes_arg(self, c: u8) -> bool {
        match self {
            Self::Package => c == b'n',
            Self::Description => matches!(c, b'n' | b'l'),
            Self::Files => matches!(c, b'n' | b'f'),
            k if k.is_build_step() => false,
            // Scriptlets and triggers: rpm's parseScript takes `-p PROG`,
            // `-n NAME`, `-f FILE` and `-P PRIORITY` (`-e`, `-q` are flags).
            k if k.is_package_scoped() => matches!(c, b'n' | b'p' | b'f' | b'P'),
            _ => false,
        }
    }
}

/// Conditional directive keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CondKind {
    If,
    Ifarch,
    Ifnarch,
    Ifos,
    Ifnos,
    Elif,
    Elifarch,
    Elifos,
    Else,
    Endif,
}

impl CondKind {
    pub fn keyword(self) -> &'static str {
        match self {
            Self::If => "%if",
            Self::Ifarch => "%ifarch",
            Self::Ifnarch => "%ifnarch",
            Self::Ifos => "%ifos",
            Self::Ifnos => "%ifnos",
            Self::Elif => "%elif",
            Self::Elifarch => "%elifarch",
            Self::Elifos => "%elifos",
            Self::Else => "%else",
            Self::Endif => "%endif",
        }
    }

    pub fn opens(self) -> bool {
        matches!(
            self,
            Self::If | Self::Ifarch | Self::Ifnarch | Self::Ifos | Self::Ifnos
        )
    }

    pub fn is_elif(self) -> bool {
        matches!(self, Self::Elif | Self::Elifarch | Self::Elifos)
    }

    /// Recognise a conditional directive at the start of `s` (leading
    /// whitespace already skipped). Like rpm: the `%if` family needs a blank
    /// or the end of the line after the keyword; `%else` and `%endif` only need
    /// a non-letter.
    pub fn detect(s: &[u8]) -> Option<Self> {
        if s.len() < 3 || s[0] != b'%' {
            return None;
        }
        const WITH_ARG: &[(&[u8], CondKind)] = &[
            (b"%if", CondKind::If),
            (b"%ifarch", CondKind::Ifarch),
            (b"%ifnarch", CondKind::Ifnarch),
            (b"%ifos", CondKind::Ifos),
            (b"%ifnos", CondKind::Ifnos),
            (b"%elif", CondKind::Elif),
            (b"%elifarch", CondKind::Elifarch),
            (b"%elifos", CondKind::Elifos),
        ];
        for &(kw, kind) in WITH_ARG {
            if s.starts_with(kw) {
                match s.get(kw.len()) {
                    None | Some(b' ' | b'\t' | b'\r' | b'\n') => return Some(kind),
                    _ => {}
                }
            }
        }
        for (kw, kind) in [(&b"%else"[..], CondKind::Else), (b"%endif", CondKind::Endif)] {
            if s.starts_with(kw) && !s.get(kw.len()).is_some_and(u8::is_ascii_alphabetic) {
                return Some(kind);
            }
        }
        None
    }
}

/// Preamble tags rpm knows (lower-case). `source`/`patch` also match with a
/// number suffix.
const KNOWN_TAGS: &[&str] = &[
    "name",
    "version",
    "release",
    "epoch",
    "serial",
    "summary",
    "license",
    "sourcelicense",
    "distribution",
    "disturl",
    "vendor",
    "group",
    "packager",
    "url",
    "bugurl",
    "vcs",
    "source",
    "patch",
    "nosource",
    "nopatch",
    "excludearch",
    "exclusivearch",
    "excludeos",
    "exclusiveos",
    "icon",
    "provides",
    "requires",
    "recommends",
    "suggests",
    "supplements",
    "enhances",
    "prereq",
    "conflicts",
    "obsoletes",
    "prefixes",
    "prefix",
    "buildroot",
    "buildarchitectures",
    "buildarch",
    "buildconflicts",
    "buildprereq",
    "buildrequires",
    "autoreqprov",
    "autoreq",
    "autoprov",
    "docdir",
    "disttag",
    "orderwithrequires",
    "removepathpostfixes",
    "modularitylabel",
    "buildsystem",
    "buildoption",
    "translationurl",
    "upstreamreleases",
];

/// Whether rpm knows a tag of this (lower-cased) name.
pub fn is_known_tag(lower: &str) -> bool {
    KNOWN_TAGS.contains(&lower)
}

/// Macros that expand to section headers of their own (rpm's and Fedora's
/// common ones): a line calling one at column 1 ends the section before it,
/// since what follows the expansion belongs to the sections it generates
/// (`%{?ldconfig_scriptlets}` becomes `%post -p /sbin/ldconfig` and
/// `%postun -p /sbin/ldconfig`). Macros that expand to shell code used
/// *inside* a scriptlet (`%systemd_post`, `%ldconfig`) are not listed.
const SECTION_MACROS: &[&str] = &[
    // rpm: -debuginfo / -debugsource sub-packages.
    "debug_package",
    // Fedora's ldconfig scriptlets.
    "ldconfig_scriptlets",
    "ldconfig_post",
    "ldconfig_postun",
    // Python extras metapackages.
    "python_extras_subpkg",
    "pyproject_extras_subpkg",
    // Go packaging (go-rpm-macros).
    "gopkg",
    "gopkgfiles",
    "godevelpkg",
    "godevelfiles",
    "goaltpkgs",
    "goaltfiles",
    "gocompatpkg",
    // Fonts (fonts-rpm-macros).
    "fontpkg",
    "fontmetapkg",
    "fontfiles",
    "fontsfiles",
    // Kernel modules, Perl tests, SUSE-style Python sub-packages.
    "kernel_module_package",
    "perl_default_subpackage_tests",
    "python_subpackages",
    // Texlive and Ruby gems generating sub-packages.
    "gem_subpackage",
];

/// Whether `name` (without `%`) is a macro that generates sections.
pub fn is_section_macro(name: &str) -> bool {
    SECTION_MACROS.contains(&name)
}

/// The macro a line calls when the whole line is one call of a
/// section-generating macro at column 1 (`%name args…`, `%{name}`,
/// `%{?name}`, `%{?name:…}`); see [`is_section_macro`].
pub fn section_macro_call(line: &[u8]) -> Option<&str> {
    macro_call_name(line).filter(|name| is_section_macro(name))
}

/// The macro a line calls when the whole line is one macro call at column
/// 1 (`%name args…`, `%{name}`, `%{?name}`, `%{?name:…}`).
pub fn macro_call_name(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(b"%")?;
    let (name, after): (&[u8], &[u8]) = if let Some(inner) = rest.strip_prefix(b"{") {
        let inner = inner.strip_prefix(b"?").unwrap_or(inner);
        let end = inner
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))?;
        // `%{name}` / `%{?name}` / `%{?name:…}` / `%{name args}`.
        if !matches!(inner[end], b'}' | b':' | b' ' | b'\t') {
            return None;
        }
        let close = rest.iter().rposition(|&b| b == b'}')?;
        let trailing = &rest[close + 1..];
        (&inner[..end], trailing)
    } else {
        let end = rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
            .unwrap_or(rest.len());
        let after = &rest[end..];
        // Arguments follow after white space, nothing is glued on.
        if !(after.is_empty() || after[0] == b' ' || after[0] == b'\t') {
            return None;
        }
        (&rest[..end], &[][..])
    };
    if !after.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let name = std::str::from_utf8(name).ok()?;
    (!name.is_empty()).then_some(name)
}

/// Section-generating macros known from macro files: a macro whose body
/// has a line that is a section header (`%post -p /sbin/ldconfig`,
/// `%package -n …`, `%files …`), or a line calling such a macro (through
/// `%{?cond:…}`, `%{!?cond:…}` and `%{expand:…}` prefixes), however deep
/// the calls go — a fixed point over the definitions, so bounded by their
/// number. Built from bytes the caller reads (this crate does no I/O);
/// used with the table of rpm's and Fedora's common ones
/// ([`is_section_macro`]), see [`crate::Spec::set_section_macros`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionMacros {
    names: std::collections::BTreeSet<String>,
}

/// What one body line of a macro definition does.
enum BodyLine<'a> {
    Header,
    Calls(&'a str),
    Other,
}

fn body_line(line: &str) -> BodyLine<'_> {
    // A body as written (a buildroot definition's value) may still have
    // its backslash continuations.
    let mut l = line
        .trim_matches([' ', '\t', '\r'])
        .trim_end_matches('\\')
        .trim_end_matches([' ', '\t']);
    // Braces the peeled prefixes opened: closed at the end of the line.
    let mut opened = 0;
    // Peel `%{expand:`, `%{?name:` and `%{!?name:` prefixes (bounded).
    for _ in 0..8 {
        // `%%post` in an `%{expand:…}` becomes `%post`.
        if l.starts_with("%%") {
            l = &l[1..];
        }
        if let Some(r) = l.strip_prefix("%{expand:") {
            l = r;
            opened += 1;
            continue;
        }
        let cond = l.strip_prefix("%{!?").or_else(|| l.strip_prefix("%{?"));
        if let Some(r) = cond {
            let end = r
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(r.len());
            if end > 0 && r[end..].starts_with(':') {
                l = &r[end + 1..];
                opened += 1;
                continue;
            }
        }
        break;
    }
    let Some(rest) = l.strip_prefix('%') else {
        return BodyLine::Other;
    };
    let word_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if word_end > 0 && SectionKind::from_keyword(&rest.as_bytes()[..word_end]).is_some() {
        return BodyLine::Header;
    }
    for _ in 0..opened {
        l = l.strip_suffix('}').unwrap_or(l);
    }
    match macro_call_name(l.trim_end().as_bytes()) {
        Some(name) => BodyLine::Calls(name),
        None => BodyLine::Other,
    }
}

impl SectionMacros {
    /// From rpm macro files (name for diagnostics, bytes), in load order:
    /// the newest definition of a name counts.
    pub fn from_macro_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut ctx = crate::eval::MacroContext::new();
        for (name, bytes) in files {
            ctx.load_file(name, bytes);
        }
        Self::from_definitions(
            ctx.table
                .iter()
                .filter_map(|(n, defs)| defs.last().map(|d| (n.as_str(), &*d.body))),
        )
    }

    /// From `(name, body)` definitions (a buildroot definition's macros;
    /// a leading `%` of the name is ignored).
    pub fn from_definitions<'a>(defs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut direct = std::collections::BTreeSet::new();
        let mut calls: Vec<(&str, Vec<&str>)> = Vec::new();
        for (name, body) in defs {
            // `%name(opts)` as a buildroot definition may spell it.
            let name = name.trim_start_matches('%');
            let name = name.split_once('(').map_or(name, |(n, _)| n).trim();
            let mut called = Vec::new();
            for line in body.lines() {
                match body_line(line) {
                    BodyLine::Header => {
                        direct.insert(name.to_owned());
                    }
                    BodyLine::Calls(c) => called.push(c),
                    BodyLine::Other => {}
                }
            }
            if !called.is_empty() {
                calls.push((name, called));
            }
        }
        let mut names = direct;
        // Callers of generating macros generate too: a fixed point, at most
        // one round per definition.
        loop {
            let before = names.len();
            for (name, called) in &calls {
                if !names.contains(*name) && called.iter().any(|c| names.contains(*c) || is_section_macro(c))
                {
                    names.insert((*name).to_owned());
                }
            }
            if names.len() == before {
                break;
            }
        }
        Self { names }
    }

    /// Whether `name` (without `%`) generates sections.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Add the names of `other`.
    pub fn extend(&mut self, other: &SectionMacros) {
        self.names.extend(other.names.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_macros_from_macro_files() {
        let file =
            b"%my_scriptlets %{?ldconfig:\\\n%post -p /sbin/ldconfig\\\n%postun -p /sbin/ldconfig\\\n}\n\
%my_wrapper(n:) \\\n%{?with_x:%my_scriptlets}\\\n%{nil}\n\
%my_outer %{expand:%%my_wrapper -n foo}\n\
%my_pkg %{expand:\\\n%%package -n foo\\\nSummary: x\\\n}\n\
%my_shell \\\nif [ $1 -eq 1 ]; then\\\n  %post_hook\\\nfi\n\
%my_postfix %{?postfix}\n\
%my_ld %{?ldconfig_scriptlets}\n";
        let m = SectionMacros::from_macro_files([("macros.mine", &file[..])]);
        assert_eq!(
            m.names().collect::<Vec<_>>(),
            ["my_ld", "my_outer", "my_pkg", "my_scriptlets", "my_wrapper"]
        );
        let d = SectionMacros::from_definitions([
            ("%fromdef", "%files -n x\n/x"),
            ("%continued", "%{?x:\\\n%fromdef \\\n}"),
            ("%param(n:)", "%package -n %{-n*}"),
        ]);
        assert!(d.contains("fromdef") && d.contains("continued") && d.contains("param"));
    }

    #[test]
    fn section_generating_macro_lines() {
        for (line, want) in [
            ("%{?ldconfig_scriptlets}", Some("ldconfig_scriptlets")),
            ("%ldconfig_scriptlets", Some("ldconfig_scriptlets")),
            ("%{ldconfig_scriptlets}  ", Some("ldconfig_scriptlets")),
            ("%ldconfig_scriptlets libs", Some("ldconfig_scriptlets")),
            (
                "%python_extras_subpkg -n python3-foo -i %{python3_sitelib}/*.egg-info toml",
                Some("python_extras_subpkg"),
            ),
            (
                "%{?python_extras_subpkg:%python_extras_subpkg -n python3-x -i x a}",
                Some("python_extras_subpkg"),
            ),
            (
                "%pyproject_extras_subpkg -n python3-x a b",
                Some("pyproject_extras_subpkg"),
            ),
            ("%gopkg", Some("gopkg")),
            ("%debug_package", Some("debug_package")),
            ("%{?ldconfig_scriptlets} x", None),
            ("%ldconfig", None),
            ("%systemd_post foo.service", None),
            ("%ldconfig_scriptletsx", None),
            ("%ldconfig_scriptlets/x", None),
            (" %ldconfig_scriptlets", None),
            ("make check", None),
        ] {
            assert_eq!(section_macro_call(line.as_bytes()), want, "{line}");
        }
    }

    #[test]
    fn keywords_case_insensitive() {
        assert_eq!(
            SectionKind::from_keyword(b"Description"),
            Some(SectionKind::Description)
        );
        assert_eq!(SectionKind::from_keyword(b"FILES"), Some(SectionKind::Files));
        assert_eq!(
            SectionKind::from_keyword(b"trigger"),
            Some(SectionKind::Triggerin)
        );
        assert_eq!(SectionKind::from_keyword(b"verify"), None);
        assert_eq!(SectionKind::parse_name("%Files"), Some(SectionKind::Files));
        assert_eq!(SectionKind::Verifyscript.keyword(), "verifyscript");
    }

    #[test]
    fn conditionals() {
        assert_eq!(CondKind::detect(b"%if 0%{?fedora}"), Some(CondKind::If));
        assert_eq!(CondKind::detect(b"%ifarch x86_64"), Some(CondKind::Ifarch));
        assert_eq!(CondKind::detect(b"%endif"), Some(CondKind::Endif));
        assert_eq!(CondKind::detect(b"%endif # x"), Some(CondKind::Endif));
        assert_eq!(CondKind::detect(b"%else"), Some(CondKind::Else));
        assert_eq!(CondKind::detect(b"%if"), Some(CondKind::If));
        assert_eq!(CondKind::detect(b"%ifx"), None);
        assert_eq!(CondKind::detect(b"%iffy 1"), None);
        assert_eq!(CondKind::detect(b"%elsewhere"), None);
        assert_eq!(CondKind::detect(b"%{if}"), None);
    }
}
