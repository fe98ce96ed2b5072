//! Table-driven malformed inputs: each case lists every diagnostic it must
//! produce as `path:line:column: message` (exact, in report order). All rendered
//! reports are also kept as one insta snapshot.

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::support::load_files;

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    expect: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "unknown top-level key",
        files: &[("distro.toml", "[compnents.a]\n")],
        expect: &["distro.toml:1:2: unknown key `compnents` at the top level"],
    },
    Case {
        name: "unknown component key",
        files: &[(
            "distro.toml",
            "[components.a]\nrelase = { calculation = \"manual\" }\n",
        )],
        expect: &["distro.toml:2:1: unknown key `relase` in `components.a`"],
    },
    Case {
        name: "misspelt overlay type",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-serch-replace\"\nregex = \"x\"\n",
        )],
        expect: &["distro.toml:2:8: `spec-serch-replace` is not a valid value for `type`"],
    },
    Case {
        name: "overlay without type",
        files: &[("distro.toml", "[[components.a.overlays]]\ntag = \"Release\"\n")],
        expect: &["distro.toml:1:1: missing required key `type` in `components.a.overlays[0]`"],
    },
    Case {
        name: "string where an array is expected",
        files: &[("distro.toml", "[components.a.build]\nwithout = \"debug\"\n")],
        expect: &[
            "distro.toml:2:11: wrong type for `components.a.build.without`: expected an array, found a string",
        ],
    },
    Case {
        name: "string where a boolean is expected",
        files: &[(
            "distro.toml",
            "[components.a.build]\ncheck = { skip = \"yes\", skip_reason = \"x\" }\n",
        )],
        expect: &[
            "distro.toml:2:18: wrong type for `components.a.build.check.skip`: expected a boolean, found a string",
        ],
    },
    Case {
        name: "skip-reason spelt with a dash",
        files: &[(
            "distro.toml",
            "[components.a.build]\ncheck = { skip = true, skip-reason = \"flaky\" }\n",
        )],
        expect: &["distro.toml:2:24: unknown key `skip-reason` in `components.a.build.check`"],
    },
    Case {
        name: "check skip without reason",
        files: &[("distro.toml", "[components.a.build]\ncheck = { skip = true }\n")],
        expect: &["distro.toml:2:18: `check.skip = true` requires a `skip_reason`"],
    },
    Case {
        name: "check skip without reason in a group default",
        files: &[(
            "distro.toml",
            "[components.a]\n\n[component-groups.g]\ncomponents = [\"a\"]\n\n[component-groups.g.default-component-config.build]\ncheck = { skip = true, skip_reason = \"  \" }\n",
        )],
        expect: &["distro.toml:7:18: `check.skip = true` requires a `skip_reason`"],
    },
    Case {
        name: "expected failure without reason",
        files: &[("distro.toml", "[components.a.build.failure]\nexpected = true\n")],
        expect: &["distro.toml:2:12: `failure.expected = true` requires an `expected-reason`"],
    },
    Case {
        name: "bootstrap-prebuilt entries that are not names, and a duplicate",
        files: &[(
            "distro.toml",
            "[components.a.build]\nbootstrap-prebuilt = [\"gcc\", \"gcc >= 2\", \"\", \"gcc\"]\n",
        )],
        expect: &[
            "distro.toml:2:30: `bootstrap-prebuilt` entry `gcc >= 2` is not a capability name",
            "distro.toml:2:42: `bootstrap-prebuilt` entry `` is not a capability name",
            "distro.toml:2:46: `gcc` is listed twice in `bootstrap-prebuilt`",
        ],
    },
    Case {
        name: "hash without hash-type",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"a.tar.gz\"\nhash = \"abc\"\norigin = { type = \"download\", uri = \"https://x/a.tar.gz\" }\n",
        )],
        expect: &["distro.toml:3:8: `hash` of source file `a.tar.gz` has no `hash-type`"],
    },
    Case {
        name: "misspelt hash type",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"a.tar.gz\"\nhash-type = \"SHA-256\"\n",
        )],
        expect: &["distro.toml:3:13: `SHA-256` is not a valid value for `hash-type`"],
    },
    Case {
        name: "hash of the wrong length",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"a.tar.gz\"\nhash = \"abcd\"\nhash-type = \"SHA256\"\n",
        )],
        expect: &["distro.toml:3:8: `hash` of source file `a.tar.gz` is not a SHA256 digest (64 hex digits)"],
    },
    Case {
        name: "duplicate source file names",
        files: &[(
            "distro.toml",
            "[components.a]\nsource-files = [\n  { filename = \"x.tar\" },\n  { filename = \"x.tar\" },\n]\n",
        )],
        expect: &["distro.toml:4:16: source file `x.tar` is listed twice"],
    },
    Case {
        name: "replace-upstream without reason",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\nreplace-upstream = true\n",
        )],
        expect: &["distro.toml:3:20: `replace-upstream = true` on `x.tar` requires a `replace-reason`"],
    },
    Case {
        name: "replace-reason without replace-upstream",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\nreplace-reason = \"newer\"\n",
        )],
        expect: &[
            "distro.toml:3:18: `replace-reason` on `x.tar` is only valid with `replace-upstream = true`",
        ],
    },
    Case {
        name: "download origin without uri",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\norigin = { type = \"download\" }\n",
        )],
        expect: &["distro.toml:3:19: download origin of `x.tar` needs a `uri`"],
    },
    Case {
        name: "misspelt origin type",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\norigin = { type = \"downlaod\", uri = \"https://x\" }\n",
        )],
        expect: &["distro.toml:3:19: `downlaod` is not a valid value for `type`"],
    },
    Case {
        name: "custom origin without script",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\norigin = { type = \"custom\" }\n",
        )],
        expect: &["distro.toml:3:19: custom origin of `x.tar` needs a `script`"],
    },
    Case {
        name: "overlay origin without replace-upstream",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\norigin = { type = \"overlay\" }\nhash = \"abababababababababababababababababababababababababababababababab\"\nhash-type = \"SHA256\"\n",
        )],
        expect: &["distro.toml:3:19: overlay origin of `x.tar` requires `replace-upstream = true`"],
    },
    Case {
        name: "overlay origin without hash",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\norigin = { type = \"overlay\" }\nreplace-upstream = true\nreplace-reason = \"edited\"\n",
        )],
        expect: &["distro.toml:3:19: overlay origin of `x.tar` requires `hash` and `hash-type`"],
    },
    Case {
        name: "overlay origin with hash but no hash-type",
        files: &[(
            "distro.toml",
            "[[components.a.source-files]]\nfilename = \"x.tar\"\norigin = { type = \"overlay\" }\nreplace-upstream = true\nreplace-reason = \"edited\"\nhash = \"abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab\"\n",
        )],
        expect: &["distro.toml:6:8: `hash` of source file `x.tar` has no `hash-type`"],
    },
    Case {
        name: "archive on a spec overlay",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Requires\"\narchive = \"a-1.0.tar.gz\"\n",
        )],
        expect: &["distro.toml:4:11: overlay type `spec-remove-tag` does not accept `archive`"],
    },
    Case {
        name: "archive on patch-remove",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"patch-remove\"\nfile = \"*.patch\"\narchive = \"a-1.0.tar.gz\"\n",
        )],
        expect: &["distro.toml:4:11: overlay type `patch-remove` does not accept `archive`"],
    },
    Case {
        name: "archive given as a path",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"file-remove\"\nfile = \"a-1.0/docs/*\"\narchive = \"../a-1.0.tar.gz\"\n",
        )],
        expect: &[
            "distro.toml:4:11: `archive` must be the file name of one of the component's sources, got `../a-1.0.tar.gz`",
        ],
    },
    Case {
        name: "archive of an unsupported type",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"file-remove\"\nfile = \"a-1.0/docs/*\"\narchive = \"a-1.0.rar\"\n",
        )],
        expect: &["distro.toml:4:11: `a-1.0.rar` is not an archive overlays can edit"],
    },
    Case {
        name: "archive without a source-files entry",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"file-search-replace\"\nfile = \"a-1.0/configure\"\nregex = \"-Werror\"\narchive = \"a-1.0.tar.gz\"\n",
        )],
        expect: &["distro.toml:5:11: archive `a-1.0.tar.gz` has no `source-files` entry"],
    },
    Case {
        name: "archive whose source file is not an overlay origin",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"file-remove\"\nfile = \"a-1.0/docs/*\"\narchive = \"a-1.0.tar.gz\"\n\n[[components.a.source-files]]\nfilename = \"a-1.0.tar.gz\"\norigin = { type = \"download\", uri = \"https://example.org/a-1.0.tar.gz\" }\n",
        )],
        expect: &[
            "distro.toml:4:11: archive `a-1.0.tar.gz` is edited by overlays, so its `source-files` entry needs `origin = { type = \"overlay\" }`",
        ],
    },
    Case {
        name: "archive source file without replace-reason",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"file-remove\"\nfile = \"a-1.0/docs/*\"\narchive = \"a-1.0.tar.gz\"\n\n[[components.a.source-files]]\nfilename = \"a-1.0.tar.gz\"\norigin = { type = \"overlay\" }\nreplace-upstream = true\nhash = \"abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab\"\nhash-type = \"SHA512\"\n",
        )],
        expect: &[
            "distro.toml:9:20: `replace-upstream = true` on `a-1.0.tar.gz` requires a `replace-reason`",
        ],
    },
    Case {
        name: "archive overlay in an overlay file without a source-files entry",
        files: &[
            (
                "distro.toml",
                "[components.a]\noverlay-files = [\"overlays/*.toml\"]\n",
            ),
            (
                "overlays/docs.toml",
                "[metadata]\ncategory = \"azl-pruning\"\nupstream-status = \"inapplicable\"\n\n[[overlays]]\ntype = \"file-remove\"\nfile = \"a-1.0/docs/**\"\narchive = \"a-1.0.tar.xz\"\n",
            ),
        ],
        expect: &["overlays/docs.toml:8:11: archive `a-1.0.tar.xz` has no `source-files` entry"],
    },
    Case {
        name: "spec-add-tag without value",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-add-tag\"\ntag = \"Requires\"\n",
        )],
        expect: &["distro.toml:2:8: overlay type `spec-add-tag` requires `value`"],
    },
    Case {
        name: "invalid regex",
        files: &[(
            "distro.toml",
            "[components.a]\noverlays = [\n  { type = \"spec-search-replace\", regex = \"(unclosed\", replacement = \"\" },\n]\n",
        )],
        expect: &["distro.toml:3:43: invalid regular expression: unclosed group"],
    },
    Case {
        name: "spec macros in a regex are literal braces, not an error",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-search-replace\"\nregex = \"cp -a %{SOURCE1} .\"\nreplacement = \"\"\n\n[[components.a.overlays]]\ntype = \"spec-search-replace\"\nregex = \"a{2\"\n",
        )],
        expect: &[],
    },
    Case {
        name: "file-rename to a path",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"file-rename\"\nfile = \"a.conf\"\nreplacement = \"etc/b.conf\"\n",
        )],
        expect: &[
            "distro.toml:4:15: overlay type `file-rename` requires `replacement` to be a file name, not a path: `etc/b.conf`",
        ],
    },
    Case {
        name: "spec-remove-subpackage with a section",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-remove-subpackage\"\npackage = \"doc\"\nsection = \"%files\"\n",
        )],
        expect: &["distro.toml:4:11: overlay type `spec-remove-subpackage` does not accept `section`"],
    },
    Case {
        name: "file-add without source and file",
        files: &[("distro.toml", "[[components.a.overlays]]\ntype = \"file-add\"\n")],
        expect: &[
            "distro.toml:2:8: overlay type `file-add` requires `file`",
            "distro.toml:2:8: overlay type `file-add` requires `source`",
        ],
    },
    Case {
        name: "misspelt metadata category",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Requires\"\nmetadata = { category = \"upstream-backprot\", upstream-status = \"upstreamed\" }\n",
        )],
        expect: &["distro.toml:4:25: `upstream-backprot` is not a valid value for `category`"],
    },
    Case {
        name: "backport metadata without commits",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Requires\"\nmetadata = { category = \"upstream-backport\", upstream-status = \"unknown\" }\n",
        )],
        expect: &[
            "distro.toml:4:25: overlay category `upstream-backport` requires at least one entry in `commits`",
            "distro.toml:4:64: overlay category `upstream-backport` contradicts this `upstream-status`",
        ],
    },
    Case {
        name: "metadata link that is not a URL",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Requires\"\n[components.a.overlays.metadata]\ncategory = \"azl-pruning\"\nupstream-status = \"inapplicable\"\nbugs = [{ url = \"bug 123\" }]\n",
        )],
        expect: &["distro.toml:7:17: `bug 123` is not an http(s) URL"],
    },
    Case {
        name: "group member that does not exist",
        files: &[(
            "distro.toml",
            "[components.curl]\n\n[component-groups.net]\ncomponents = [\"crul\"]\n",
        )],
        expect: &["distro.toml:4:15: component group `net` lists `crul`, which is not a defined component"],
    },
    Case {
        name: "package in two package groups",
        files: &[(
            "distro.toml",
            "[package-groups.base]\npackages = [\"curl\", \"wget\"]\n\n[package-groups.sdk]\npackages = [\"gcc\", \"curl\"]\n",
        )],
        expect: &["distro.toml:5:20: package `curl` is in package groups `base` and `sdk`"],
    },
    Case {
        name: "component defined in two files",
        files: &[
            (
                "distro.toml",
                "includes = [\"comps/*.toml\"]\n\n[components.curl]\n",
            ),
            (
                "comps/net.toml",
                "# network tools\n[components.curl]\nrelease = { calculation = \"manual\" }\n",
            ),
        ],
        expect: &["comps/net.toml:2:1: component `curl` is defined more than once"],
    },
    Case {
        name: "missing literal include, glob matching nothing is fine",
        files: &[(
            "distro.toml",
            "includes = [\"nothing/*.toml\", \"base/project.toml\"]\n",
        )],
        expect: &["distro.toml:1:31: included file `base/project.toml` does not exist"],
    },
    Case {
        name: "include cycle",
        files: &[
            ("distro.toml", "includes = [\"a.toml\"]\n"),
            ("a.toml", "includes = [\"b.toml\"]\n"),
            ("b.toml", "\nincludes = [\"a.toml\"]\n"),
        ],
        expect: &["b.toml:2:13: include cycle: a.toml → b.toml → a.toml"],
    },
    Case {
        name: "TOML syntax error",
        files: &[(
            "distro.toml",
            "[components.a]\nrelease = { calculation = manual }\n",
        )],
        expect: &["distro.toml:2:27: invalid TOML: string values must be quoted, expected literal string"],
    },
    Case {
        name: "a valid configuration produces no diagnostics",
        files: &[(
            "distro.toml",
            concat!(
                "[project]\ndefault-distro = { name = \"fedora\" }\n\n[distros.fedora]\ndefault-version = \"43\"\n\n[distros.fedora.versions.43]\nrelease-ver = \"43\"\n",
                "\n[components.a]\nspec = { type = \"upstream\", upstream-distro = { name = \"fedora\", version = \"43\" } }\n"
            ),
        )],
        expect: &[],
    },
    Case {
        name: "unknown distro",
        files: &[(
            "distro.toml",
            "[distros.fedora]\n[distros.fedora.versions.43]\nrelease-ver = \"43\"\n\n[components.a]\nspec = { type = \"upstream\", upstream-distro = { name = \"fedroa\" } }\n",
        )],
        expect: &["distro.toml:6:56: distro `fedroa` is not defined"],
    },
    Case {
        name: "unknown distro version",
        files: &[(
            "distro.toml",
            "[distros.fedora]\n[distros.fedora.versions.43]\nrelease-ver = \"43\"\n\n[components.a]\nspec = { type = \"upstream\", upstream-distro = { name = \"fedora\", version = \"44\" } }\n",
        )],
        expect: &["distro.toml:6:76: distro `fedora` has no version `44`"],
    },
    Case {
        name: "default version not defined",
        files: &[("distro.toml", "[distros.fedora]\ndefault-version = \"rawhide\"\n")],
        expect: &["distro.toml:2:19: default version `rawhide` of distro `fedora` is not defined"],
    },
    Case {
        name: "upstream commit that is not hex",
        files: &[(
            "distro.toml",
            "[components.a]\nspec = { type = \"upstream\", upstream-commit = \"main\" }\n",
        )],
        expect: &["distro.toml:2:47: `upstream-commit` must be 7 to 40 hexadecimal digits, got `main`"],
    },
    Case {
        name: "per-component snapshot",
        files: &[(
            "distro.toml",
            "[distros.f]\n[distros.f.versions.1]\nrelease-ver = \"1\"\n[components.a]\nspec = { type = \"upstream\", upstream-distro = { name = \"f\", snapshot = \"2026-01-01T00:00:00Z\" } }\n",
        )],
        expect: &["distro.toml:5:72: a component may not set its own `snapshot`"],
    },
    Case {
        name: "snapshot that is not a date-time",
        files: &[(
            "distro.toml",
            "[distros.f]\n[distros.f.versions.1]\nrelease-ver = \"1\"\ndefault-component-config.spec = { type = \"upstream\", upstream-distro = { name = \"f\", snapshot = \"yesterday\" } }\n",
        )],
        expect: &["distro.toml:4:97: `snapshot` is not an RFC 3339 date-time: `yesterday`"],
    },
    Case {
        name: "unquoted date-time where a string is expected",
        files: &[(
            "distro.toml",
            "[distros.f]\n[distros.f.versions.1]\nrelease-ver = \"1\"\n[distros.f.versions.1.default-component-config.spec]\ntype = \"upstream\"\nupstream-distro = { name = \"f\", snapshot = 2026-02-24T00:00:00-08:00 }\n",
        )],
        expect: &[
            "distro.toml:6:44: wrong type for `distros.f.versions.1.default-component-config.spec.upstream-distro.snapshot`: expected a string, found a date-time",
        ],
    },
    Case {
        name: "local spec without path",
        files: &[("distro.toml", "[components.a]\nspec = { type = \"local\" }\n")],
        expect: &["distro.toml:2:17: a local spec needs a `path`"],
    },
    Case {
        name: "local spec that does not exist",
        files: &[(
            "distro.toml",
            "[components.a]\nspec = { type = \"local\", path = \"a/a.spec\" }\n",
        )],
        expect: &["distro.toml:2:33: local spec `a/a.spec` does not exist"],
    },
    Case {
        name: "misspelt release calculation",
        files: &[(
            "distro.toml",
            "[components.a]\nrelease = { calculation = \"manaul\" }\n",
        )],
        expect: &["distro.toml:2:27: `manaul` is not a valid value for `calculation`"],
    },
    Case {
        name: "missing literal overlay file",
        files: &[(
            "distro.toml",
            "[components.a]\noverlay-files = [\"overlays/*.toml\", \"a.overlay.toml\"]\n",
        )],
        expect: &["distro.toml:2:37: overlay file `a.overlay.toml` does not exist"],
    },
    Case {
        name: "overlay file with per-overlay metadata and a bad type",
        files: &[
            (
                "distro.toml",
                "[components.a]\noverlay-files = [\"overlays/*.toml\"]\n",
            ),
            (
                "overlays/drop-docs.toml",
                "[metadata]\ncategory = \"azl-pruning\"\nupstream-status = \"inapplicable\"\n\n[[overlays]]\ntype = \"spec-remove-subpackage\"\npackage = \"doc\"\nmetadata = { category = \"azl-pruning\", upstream-status = \"unknown\" }\n\n[[overlays]]\ntype = \"spec-remove-sektion\"\nsection = \"%check\"\n",
            ),
        ],
        expect: &["overlays/drop-docs.toml:11:8: `spec-remove-sektion` is not a valid value for `type`"],
    },
    Case {
        name: "overlay file: per-overlay metadata",
        files: &[
            (
                "distro.toml",
                "[components.a]\noverlay-files = [\"overlays/*.toml\"]\n",
            ),
            (
                "overlays/drop-docs.toml",
                "[metadata]\ncategory = \"azl-pruning\"\nupstream-status = \"inapplicable\"\n\n[[overlays]]\ntype = \"spec-remove-subpackage\"\npackage = \"doc\"\nmetadata = { category = \"azl-pruning\", upstream-status = \"unknown\" }\n",
            ),
        ],
        expect: &[
            "overlays/drop-docs.toml:8:12: an overlay in an overlay file may not have its own `metadata`",
        ],
    },
    Case {
        name: "overlay file without overlays or metadata",
        files: &[
            ("distro.toml", "[components.a]\noverlay-files = [\"a.toml\"]\n"),
            ("a.toml", "[overlays]\ntype = \"spec-remove-tag\"\n"),
        ],
        expect: &[
            "a.toml:1:1: missing required key `metadata` at the top level",
            "a.toml:1:1: wrong type for `overlays`: expected an array, found a table",
        ],
    },
    Case {
        name: "bad overlay in the project default is reported where it is written",
        files: &[(
            "distro.toml",
            "[default-component-config]\noverlays = [{ type = \"spec-search-replace\", regex = \"[z-a]\" }]\n\n[components.a]\n[components.b]\n",
        )],
        expect: &[
            "distro.toml:2:53: invalid regular expression: invalid character class range, the start must be <= the end",
        ],
    },
    Case {
        name: "image refers to an unknown test suite",
        files: &[(
            "distro.toml",
            "[test-suites.smoke]\n\n[images.vm]\ntests = { test-suites = [{ name = \"smok\" }] }\n",
        )],
        expect: &["distro.toml:4:35: image `vm` refers to test suite `smok`, which is not defined"],
    },
    Case {
        name: "dist-git-path without $pkg",
        files: &[(
            "distro.toml",
            "[distros.azl3]\ndist-git-base-uri = \"https://x/azl.git\"\ndist-git-path = \"SPECS\"\n",
        )],
        expect: &["distro.toml:3:17: `dist-git-path` must contain `$pkg`"],
    },
    Case {
        name: "component name with a slash",
        files: &[("distro.toml", "[components.\"a/b\"]\n")],
        expect: &["distro.toml:1:1: invalid component name `a/b`: `/` is not allowed"],
    },
    Case {
        name: "every problem of a file is reported, not just the first",
        files: &[(
            "distro.toml",
            "[components.a]\nspek = {}\n\n[components.b.build]\nwith = [1]\n\n[components.c]\nrelease = { calcualtion = \"auto\" }\n",
        )],
        expect: &[
            "distro.toml:2:1: unknown key `spek` in `components.a`",
            "distro.toml:5:9: wrong type for `components.b.build.with[0]`: expected a string, found an integer",
            "distro.toml:8:13: unknown key `calcualtion` in `components.c.release`",
        ],
    },
    Case {
        name: "problems in several files are all reported",
        files: &[
            ("distro.toml", "includes = [\"*.comp.toml\"]\n"),
            ("a.comp.toml", "[components.a]\nbiuld = {}\n"),
            (
                "b.comp.toml",
                "[[components.b.overlays]]\ntype = \"spec-set-tag\"\ntag = \"Version\"\n",
            ),
        ],
        expect: &[
            "a.comp.toml:2:1: unknown key `biuld` in `components.a`",
            "b.comp.toml:2:8: overlay type `spec-set-tag` requires `value`",
        ],
    },
    Case {
        name: "overlay source that does not exist",
        files: &[(
            "distro.toml",
            "[[components.a.overlays]]\ntype = \"file-add\"\nfile = \"x.conf\"\nsource = \"files/x.conf\"\n",
        )],
        expect: &["distro.toml:4:10: overlay source `files/x.conf` does not exist"],
    },
    Case {
        name: "rpm repo with two sources and no key",
        files: &[(
            "distro.toml",
            "[resources.rpm-repos.base]\nbase-uri = \"https://x/base\"\nmetalink = \"https://x/ml\"\n",
        )],
        expect: &[
            "distro.toml:1:1: rpm-repo `base` checks GPG signatures (the default) but has no `gpg-key`",
            "distro.toml:3:12: rpm-repo `base` must not set both `base-uri` and `metalink`",
        ],
    },
    Case {
        name: "distro version without release-ver",
        files: &[(
            "distro.toml",
            "[distros.f.versions.1]\ndist-git-branch = \"f1\"\n",
        )],
        expect: &["distro.toml:1:1: missing required key `release-ver` in `distros.f.versions.1`"],
    },
];

fn render(d: &azldev_config::Diagnostic) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, d).is_err() {
        out = format!("{d}\n");
    }
    out
}

#[test]
fn malformed_inputs_report_message_and_position() {
    assert!(CASES.len() >= 40, "the table must hold at least 40 cases");
    let mut failures = Vec::new();
    let mut reports = String::new();
    for case in CASES {
        let (_project, loaded) = load_files(case.files);
        let got: Vec<String> = loaded.diagnostics.iter().map(|d| d.short()).collect();
        let want: Vec<String> = case.expect.iter().map(|s| (*s).to_owned()).collect();
        if got != want {
            failures.push(format!(
                "case `{}`:\n  want {want:#?}\n  got  {got:#?}",
                case.name
            ));
        }
        for d in loaded.diagnostics.iter() {
            assert!(
                d.position.is_some(),
                "case `{}`: diagnostic without position: {d}",
                case.name
            );
        }
        reports.push_str(&format!("=== {}\n", case.name));
        for d in loaded.diagnostics.iter() {
            reports.push_str(&render(d));
        }
        reports.push('\n');
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    insta::assert_snapshot!("malformed_reports", reports);
}

#[test]
fn suggestions_name_the_intended_word() {
    let cases: &[(&str, &str)] = &[
        ("[compnents.a]\n", "did you mean `components`?"),
        (
            "[[components.a.overlays]]\ntype = \"spec-serch-replace\"\n",
            "did you mean `spec-search-replace`?",
        ),
        (
            "[components.a.build]\ncheck = { skip = true, skip-reason = \"x\" }\n",
            "did you mean `skip_reason`?",
        ),
        (
            "[[components.a.source-files]]\nfilename = \"a\"\nhash-type = \"SHA-256\"\n",
            "did you mean `SHA256`?",
        ),
        (
            "[[components.a.overlays]]\ntype = \"spec-remove-tag\"\ntag = \"x\"\nmetadata = { category = \"azl-prunning\", upstream-status = \"unknown\" }\n",
            "did you mean `azl-pruning`?",
        ),
        (
            "[components.curl]\n[component-groups.g]\ncomponents = [\"crul\"]\n",
            "did you mean `curl`?",
        ),
    ];
    for (text, help) in cases {
        let (_p, loaded) = load_files(&[("distro.toml", text)]);
        let helps: Vec<String> = loaded.diagnostics.iter().filter_map(|d| d.help.clone()).collect();
        assert!(
            helps.iter().any(|h| h == help),
            "{text:?}: want help {help:?}, got {helps:?}"
        );
    }
}

#[test]
fn duplicate_definition_points_at_both_files() {
    let (_p, loaded) = load_files(&[
        (
            "distro.toml",
            "includes = [\"comps/*.toml\"]\n\n[components.curl]\n",
        ),
        ("comps/net.toml", "[components.curl]\n"),
    ]);
    let d = loaded.diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(d.notes.len(), 1);
    assert_eq!(
        d.notes[0].short(),
        "distro.toml:3:1: first defined here, in distro.toml"
    );
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "\0",
        "[",
        "[[",
        "]]",
        "a",
        "a =",
        "= 1",
        "[components]\na = 1\n",
        "[components.a]\noverlays = 3\n",
        "[components.a]\noverlays = [1, 2]\n",
        "[components.a]\nbuild = []\n",
        "components = \"x\"\n",
        "[components.a.build.defines]\nx = 1\n",
        "includes = \"x\"\n",
        "includes = [1]\n",
        "[[components]]\n",
        "[components.a]\nspec = { type = \"\" }\n",
        "\u{feff}[components.a]\n",
        "[components.\"\"]\n",
        "[distros.a.versions]\nx = 1\n",
        "[project]\ndefault-distro = \"f\"\n",
        "[components.a]\noverlay-files = [\"\", \"[\"]\n",
        "[[components.a.overlays]]\ntype = \"patch-remove\"\nfile = \"[\"\n",
    ];
    for text in inputs {
        let (_p, loaded) = load_files(&[("distro.toml", text)]);
        for d in loaded.diagnostics.iter() {
            let _ = render(d);
        }
    }
}
