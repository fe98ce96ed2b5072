//! What rpmautospec asks rpm about a spec: the expanded `epoch:version` and
//! the options of `%autorelease` (with `%autorelease` defined as
//! `E%{?-e*}_S%{?-s*}_P%{?-p:1}%{!?-p:0}_B%{?-b*}`, the expanded Release).
//!
//! The spec is evaluated by `azldev_spec`'s macro evaluator (the one the
//! build graph uses) for x86_64 Linux, over a few core macros (`%bcond*`,
//! `%with`, `%defined`…) and the caller's definitions. What it cannot
//! evaluate (`%()` beyond a few pure idioms, Lua touching the system) is
//! reported, never guessed. rpm's parse failures that matter here are
//! reproduced: a missing Name, Version, Release, Summary or License,
//! unbalanced conditionals, illegal characters in Version and Release, a
//! non-numeric Epoch.

use azldev_spec::eval::MacroContext;

/// The epoch-version and `%autorelease` flags of one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerFlags {
    /// `epoch:version` or `version`.
    pub epoch_version: String,
    /// `-e`.
    pub extraver: Option<String>,
    /// `-s`.
    pub snapinfo: Option<String>,
    /// `-p`.
    pub prerelease: bool,
    /// `-b` (1 when not given or when Release is not `%autorelease`).
    pub base: i64,
}

impl VerFlags {
    /// The complete release (no dist tag) rpmautospec writes for the raw
    /// release number `number`: `0.` for `-p`, the base added, then
    /// `.EXTRA` and `.SNAPSHOT`.
    pub fn release_string(&self, number: i64) -> String {
        let tags: String = [&self.extraver, &self.snapinfo]
            .iter()
            .filter_map(|t| t.as_deref())
            .map(|t| format!(".{t}"))
            .collect();
        format!(
            "{}{}{tags}",
            if self.prerelease { "0." } else { "" },
            number.saturating_add(self.base).saturating_sub(1)
        )
    }
}

/// The evaluation of one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// The flags, or why rpm would not parse the spec.
    pub flags: Result<VerFlags, String>,
    /// Constructs the evaluator could not expand (rpm might have).
    pub unresolved: Vec<String>,
}

/// The macros rpm's own macro file gives every spec that a Version or
/// Release needs (conditional builds and definedness tests), spelled for
/// the evaluator; rpmautospec's probe `%autorelease` comes last and cannot
/// be redefined by the spec.
const CORE_MACROS: &str = r#"%nil %{?_azldev_nothing}
%defined() %{expand:%%{?%{1}:1}%%{!?%{1}:0}}
%undefined() %{expand:%%{?%{1}:0}%%{!?%{1}:1}}
%with() %{expand:%%{?with_%{1}:1}%%{!?with_%{1}:0}}
%without() %{expand:%%{?with_%{1}:0}%%{!?with_%{1}:1}}
%bcond() %[ (%2) ? "%{expand:%%{!?_without_%{1}:%%global with_%{1} 1}}" : "%{expand:%%{?_with_%{1}:%%global with_%{1} 1}}" ]
%bcond_with() %bcond %{1} 0
%bcond_without() %bcond %{1} 1
"#;

/// rpmautospec's probe definition of `%autorelease`.
const AUTORELEASE_PROBE: &str = "autorelease(e:s:pb:n) E%{?-e*}_S%{?-s*}_P%{?-p:1}%{!?-p:0}_B%{?-b*}";

fn context(predefined: &[(String, String)]) -> MacroContext {
    let mut c = MacroContext::for_target("x86_64");
    c.define("_arch", "x86_64");
    c.define("_os", "linux");
    c.load_file("<core macros>", CORE_MACROS.as_bytes());
    for (k, v) in predefined {
        c.define(k, v);
    }
    if c.define_spec(AUTORELEASE_PROBE).is_ok() {
        c.pin("autorelease");
    }
    c
}

const VERREL_CHARS: &str = "._+%{}~^";

fn check_verrel(tag: &str, v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err(format!("{tag} field must be present in package: (main package)"));
    }
    if let Some(c) = v
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !VERREL_CHARS.contains(*c))
    {
        return Err(format!("Illegal char '{c}' (0x{:x}) in: {tag}: {v}", c as u32));
    }
    if v.contains("..") {
        return Err(format!("Illegal sequence \"..\" in: {tag}: {v}"));
    }
    Ok(())
}

/// Evaluate a spec as rpmautospec's rpm query would: first the lines
/// before `%prep` (what rpmautospec hands rpm first), the whole spec only
/// when that fails.
pub fn evaluate(src: &[u8], predefined: &[(String, String)]) -> Evaluated {
    let ctx = context(predefined);
    let abridged = abridge(src);
    let attempt = |text: &[u8]| {
        let ev = azldev_spec::eval::evaluate(text, &ctx, "x86_64");
        let mut unresolved: Vec<String> = Vec::new();
        for u in &ev.unresolved {
            if !unresolved.contains(&u.what) {
                unresolved.push(u.what.clone());
            }
        }
        Evaluated {
            flags: flags_of(&ev),
            unresolved,
        }
    };
    let first = attempt(abridged);
    if first.flags.is_ok() || abridged.len() == src.len() {
        return first;
    }
    attempt(src)
}

/// The flags from an evaluation, with rpm's failures that matter to
/// rpmautospec: errors while reading (conditionals, bad lines), then a
/// missing Name, Version, Release, Summary or License, illegal characters
/// in Version and Release, a non-numeric Epoch. (Checks rpm makes at the
/// end that do not apply to the abridged spec, such as `%description`,
/// are left out.)
fn flags_of(ev: &azldev_spec::eval::Evaluation) -> Result<VerFlags, String> {
    if let Some((line, msg)) = &ev.error {
        match line {
            Some(l) => return Err(format!("line {l}: {msg}")),
            None if msg == "Unclosed %if" => return Err(msg.clone()),
            None => {}
        }
    }
    let t = &ev.tags;
    if t.name.as_deref().is_none_or(str::is_empty) {
        return Err("Name field must be present in package: (main package)".into());
    }
    let version = t.version.clone().unwrap_or_default();
    check_verrel("Version", &version)?;
    let release = t.release.clone().unwrap_or_default();
    check_verrel("Release", &release)?;
    if !t.summary {
        return Err("Summary field must be present in package: (main package)".into());
    }
    if !t.license {
        return Err("License field must be present in package: (main package)".into());
    }
    let epoch_version = match &t.epoch {
        Some(e) => {
            let n: u32 = e
                .parse()
                .map_err(|_| format!("Epoch field must be an unsigned number: {e}"))?;
            format!("{n}:{version}")
        }
        None => version,
    };
    Ok(parse_probe(&release, epoch_version))
}

/// Python's `bytes.strip()`.
fn py_bytes_strip(s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ws(b)).map_or(start, |p| p + 1);
    &s[start..end]
}

/// The spec up to (without) the first line that is `%prep` once stripped.
fn abridge(src: &[u8]) -> &[u8] {
    let mut start = 0;
    while start < src.len() {
        let end = src[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |p| start + p + 1);
        if py_bytes_strip(&src[start..end]) == b"%prep" {
            return &src[..start];
        }
        start = end;
    }
    src
}

/// rpmautospec's `^E(?P<extraver>[^_]*)_S(?P<snapinfo>[^_]*)_P(?P<prerelease>[01])_B(?P<base>\d*)$`.
fn parse_probe(release: &str, epoch_version: String) -> VerFlags {
    let none = VerFlags {
        epoch_version: epoch_version.clone(),
        extraver: None,
        snapinfo: None,
        prerelease: false,
        base: 1,
    };
    let Some(rest) = release.strip_prefix('E') else {
        return none;
    };
    let Some((e, rest)) = rest.split_once("_S") else {
        return none;
    };
    let Some((s, rest)) = rest.split_once("_P") else {
        return none;
    };
    let Some((p, b)) = rest.split_once("_B") else {
        return none;
    };
    if e.contains('_') || s.contains('_') || !matches!(p, "0" | "1") || !b.bytes().all(|c| c.is_ascii_digit())
    {
        return none;
    }
    VerFlags {
        epoch_version,
        extraver: (!e.is_empty()).then(|| e.to_owned()),
        snapinfo: (!s.is_empty()).then(|| s.to_owned()),
        prerelease: p == "1",
        base: if b.is_empty() {
            1
        } else {
            b.parse().unwrap_or(i64::MAX)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(spec: &str) -> Result<VerFlags, String> {
        evaluate(spec.as_bytes(), &[]).flags
    }

    const HEAD: &str = "Name: foo\nSummary: s\nLicense: MIT\n";

    #[test]
    fn release_strings_as_rpmautospec_writes_them() {
        let plain = flags(&format!("{HEAD}Version: 1\nRelease: %autorelease\n")).expect("flags");
        assert_eq!(plain.release_string(3), "3");
        let all = flags(&format!(
            "{HEAD}Version: 1\nRelease: %autorelease -p -b 10 -e rc2 -s 20240101git\n"
        ))
        .expect("flags");
        assert_eq!(all.release_string(3), "0.12.rc2.20240101git");
    }

    #[test]
    fn plain_and_autorelease() {
        let f = flags(&format!(
            "{HEAD}Version: 1.2\nRelease: %autorelease -b 2 -e pre1\n"
        ))
        .expect("parses");
        assert_eq!(
            f,
            VerFlags {
                epoch_version: "1.2".into(),
                extraver: Some("pre1".into()),
                snapinfo: None,
                prerelease: false,
                base: 2
            }
        );
        let f = flags(&format!(
            "{HEAD}Epoch: 02\nVersion: 3\nRelease: %{{autorelease -p -s 20240101git}}\n"
        ))
        .expect("parses");
        assert_eq!(f.epoch_version, "2:3");
        assert!(f.prerelease);
        assert_eq!(f.snapinfo.as_deref(), Some("20240101git"));
        let f = flags(&format!("{HEAD}Version: 3\nRelease: 4%{{?dist}}\n")).expect("parses");
        assert_eq!((f.base, f.prerelease, f.extraver), (1, false, None));
    }

    #[test]
    fn macros_and_conditionals() {
        let spec = format!(
            "%global major 2\n%define minor %{{major}}1\n%bcond_without docs\n%if %{{with docs}} && 0%{{?fedora}} == 0\n%global patch 7\n%else\n%global patch 9\n%endif\n%ifarch x86_64\n%global arch_suffix .x\n%endif\n{HEAD}Version: %{{major}}.%{{minor}}.%{{patch}}%{{?arch_suffix}}%{{!?nothing:.y}}\nRelease: %autorelease\n"
        );
        assert_eq!(flags(&spec).expect("parses").epoch_version, "2.21.7.x.y");
    }

    #[test]
    fn rpm_failures() {
        assert!(flags(&format!("{HEAD}Release: 1\n")).is_err());
        assert!(flags(&format!("{HEAD}Version: 1-2\nRelease: 1\n")).is_err());
        assert!(flags(&format!("{HEAD}Version: 1\nRelease: 1\n%if 1\n")).is_err());
        assert!(flags("Name: foo\nVersion: 1\nRelease: 1\n").is_err());
        // `-e` with a dash makes rpm reject the Release.
        assert!(flags(&format!("{HEAD}Version: 1\nRelease: %autorelease -e rc-1\n")).is_err());
    }

    #[test]
    fn unresolved_is_reported() {
        let e = evaluate(
            format!("{HEAD}Version: %(hostname)\nRelease: 1\n").as_bytes(),
            &[],
        );
        assert!(!e.unresolved.is_empty());
    }

    #[test]
    fn lua_release_is_evaluated() {
        let spec = format!(
            "%define autorelease(e:s:pb:n) %{{lua: print('ignored')}}\n{HEAD}Version: %{{lua: print(1 + 1)}}\nRelease: %autorelease -b 3\n"
        );
        let f = flags(&spec).expect("parses");
        assert_eq!((f.epoch_version.as_str(), f.base), ("2", 3));
    }
}
