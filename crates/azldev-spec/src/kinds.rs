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
    is_section_macro(name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
