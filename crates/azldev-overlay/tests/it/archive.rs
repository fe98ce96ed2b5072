//! Archive overlays: every archive-capable overlay type on real archives of
//! each format, deterministic repacking, digest verification, and archives
//! with unsafe members.

use std::io::{Read, Write};

use azldev_config::raw::HashType;
use azldev_overlay::archive::{Format, digest};
use azldev_overlay::{ArchiveErrorKind, ComponentTree, Error, OpError};

use crate::util::{Project, failure, read_input};

const SPEC: &str = "Name: pkg\nVersion: 1.0\nRelease: 1\nSummary: s\nLicense: MIT\nSource0: %{name}-%{version}.%{ext}\n\n%description\nd\n\n%prep\n%autosetup\n";

/// Newest mtime of the archives' members (zip keeps two-second resolution).
const NEWEST: u64 = 1_700_000_100;
const OLDER: u64 = 1_600_000_000;

// ----- building and reading archives with the codec crates ------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    File(Vec<u8>),
    Dir,
    Symlink(String),
    HardLink(String),
}

#[derive(Debug, Clone)]
struct In {
    path: String,
    body: Body,
    mode: u32,
    mtime: u64,
}

fn file(path: &str, data: &str, mode: u32, mtime: u64) -> In {
    In {
        path: path.into(),
        body: Body::File(data.as_bytes().to_vec()),
        mode,
        mtime,
    }
}

fn dir(path: &str) -> In {
    In {
        path: path.into(),
        body: Body::Dir,
        mode: 0o755,
        mtime: OLDER,
    }
}

fn symlink(path: &str, target: &str) -> In {
    In {
        path: path.into(),
        body: Body::Symlink(target.into()),
        mode: 0o777,
        mtime: OLDER,
    }
}

fn hardlink(path: &str, target: &str) -> In {
    In {
        path: path.into(),
        body: Body::HardLink(target.into()),
        mode: 0o644,
        mtime: OLDER,
    }
}

/// A tar made by the `tar` crate, as a developer's machine would: uid 1000,
/// user names, GNU long names for long paths.
fn build_tar(entries: &[In]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode);
        h.set_mtime(e.mtime);
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_username("dev").expect("uname");
        h.set_groupname("dev").expect("gname");
        match &e.body {
            Body::File(data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, &e.path, data.as_slice()).expect("append");
            }
            Body::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, format!("{}/", e.path), std::io::empty())
                    .expect("append");
            }
            Body::Symlink(t) | Body::HardLink(t) => {
                h.set_entry_type(if matches!(e.body, Body::Symlink(_)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.set_size(0);
                b.append_link(&mut h, &e.path, t).expect("append link");
            }
        }
    }
    b.into_inner().expect("finish tar")
}

fn zip_time(t: u64) -> zip::DateTime {
    // Only the two test times are used.
    if t == NEWEST {
        zip::DateTime::from_date_and_time(2023, 11, 14, 22, 15, 0).expect("date")
    } else {
        zip::DateTime::from_date_and_time(2020, 9, 13, 12, 26, 40).expect("date")
    }
}

/// A zip made by the `zip` crate.
fn build_zip(entries: &[In]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for e in entries {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip_time(e.mtime))
            .unix_permissions(e.mode);
        match &e.body {
            Body::File(data) => {
                w.start_file(e.path.as_str(), opts).expect("start");
                w.write_all(data).expect("write");
            }
            Body::Dir => w.add_directory(e.path.as_str(), opts).expect("dir"),
            Body::Symlink(t) => w.add_symlink(e.path.as_str(), t.as_str(), opts).expect("symlink"),
            Body::HardLink(_) => panic!("zip has no hard links"),
        }
    }
    w.finish().expect("finish zip").into_inner()
}

fn compress(format: Format, tar: Vec<u8>) -> Vec<u8> {
    match format {
        Format::Tar | Format::Zip => tar,
        Format::TarGz => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            w.write_all(&tar).expect("gz");
            w.finish().expect("gz")
        }
        Format::TarXz => {
            let mut w =
                lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).expect("xz");
            w.write_all(&tar).expect("xz");
            w.finish().expect("xz")
        }
        Format::TarBz2 => {
            let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            w.write_all(&tar).expect("bz2");
            w.finish().expect("bz2")
        }
        Format::TarZst => ruzstd::encoding::compress_to_vec(
            tar.as_slice(),
            ruzstd::encoding::CompressionLevel::Uncompressed,
        ),
    }
}

fn decompress(format: Format, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Tar | Format::Zip => out = data.to_vec(),
        Format::TarGz => {
            flate2::read::MultiGzDecoder::new(data)
                .read_to_end(&mut out)
                .expect("gunzip");
        }
        Format::TarXz => {
            lzma_rust2::XzReader::new(data, true)
                .read_to_end(&mut out)
                .expect("unxz");
        }
        Format::TarBz2 => {
            bzip2::read::MultiBzDecoder::new(data)
                .read_to_end(&mut out)
                .expect("bunzip2");
        }
        Format::TarZst => {
            let mut input = data;
            while !input.is_empty() {
                ruzstd::decoding::StreamingDecoder::new(&mut input)
                    .expect("zstd frame")
                    .read_to_end(&mut out)
                    .expect("unzstd");
            }
        }
    }
    out
}

fn build(format: Format, entries: &[In]) -> Vec<u8> {
    if format == Format::Zip {
        build_zip(entries)
    } else {
        compress(format, build_tar(entries))
    }
}

/// A member as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Out {
    path: String,
    body: Body,
    mode: u32,
    /// Seconds (tar) or the zip `DateTime` as seconds of its fields.
    mtime: u64,
    uid: Option<u64>,
    /// The raw tar header block.
    header: Option<Vec<u8>>,
}

fn read_members(format: Format, data: &[u8]) -> Vec<Out> {
    let raw = decompress(format, data);
    let mut out = Vec::new();
    if format == Format::Zip {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(raw)).expect("zip reads");
        for i in 0..z.len() {
            let mut f = z.by_index(i).expect("member");
            let name = f.name().expect("name").into_owned();
            let mode = f.unix_mode().expect("unix mode");
            let t = f.last_modified().expect("mtime");
            let mtime = if zip_time(NEWEST) == t { NEWEST } else { OLDER };
            let body = if f.is_dir() {
                Body::Dir
            } else {
                let mut buf = Vec::new();
                f.read_to_end(&mut buf).expect("read member");
                if f.is_symlink() {
                    Body::Symlink(String::from_utf8(buf).expect("utf-8 target"))
                } else {
                    Body::File(buf)
                }
            };
            out.push(Out {
                path: name.trim_end_matches('/').to_owned(),
                body,
                mode: mode & 0o7777,
                mtime,
                uid: None,
                header: None,
            });
        }
        return out;
    }
    let mut ar = tar::Archive::new(raw.as_slice());
    for e in ar.entries().expect("tar reads") {
        let mut e = e.expect("entry");
        let h = e.header().clone();
        let path = String::from_utf8(e.path_bytes().into_owned()).expect("utf-8 path");
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8(l.into_owned()).expect("utf-8 link"));
        let ty = h.entry_type();
        let body = if ty.is_dir() {
            Body::Dir
        } else if ty.is_symlink() {
            Body::Symlink(link.expect("target"))
        } else if ty.is_hard_link() {
            Body::HardLink(link.expect("target"))
        } else {
            let mut buf = Vec::new();
            e.read_to_end(&mut buf).expect("read");
            Body::File(buf)
        };
        out.push(Out {
            path: path.trim_end_matches('/').to_owned(),
            body,
            mode: h.mode().expect("mode") & 0o7777,
            mtime: h.mtime().expect("mtime"),
            uid: Some(h.uid().expect("uid")),
            header: Some(h.as_bytes().to_vec()),
        });
    }
    out
}

fn member<'a>(members: &'a [Out], path: &str) -> &'a Out {
    members
        .iter()
        .find(|m| m.path == path)
        .unwrap_or_else(|| panic!("no member `{path}` in {:?}", paths(members)))
}

fn paths(members: &[Out]) -> Vec<&str> {
    members.iter().map(|m| m.path.as_str()).collect()
}

// ----- the component ----------------------------------------------------------

fn name_of(format: Format) -> &'static str {
    match format {
        Format::Tar => "pkg-1.0.tar",
        Format::TarGz => "pkg-1.0.tar.gz",
        Format::TarXz => "pkg-1.0.tar.xz",
        Format::TarBz2 => "pkg-1.0.tar.bz2",
        Format::TarZst => "pkg-1.0.tar.zst",
        Format::Zip => "pkg-1.0.zip",
    }
}

const LONG: &str = "pkg-1.0/a-directory-with-a-rather-long-name/and-another-one-below-it/so-that-the-path/exceeds-one-hundred.txt";

/// The upstream archive: a tree of files with various modes and times.
fn upstream(format: Format) -> Vec<In> {
    let mut v = vec![
        dir("pkg-1.0"),
        file(
            "pkg-1.0/configure",
            "#!/bin/sh\nCFLAGS=\"-O2 -Werror\"\n",
            0o755,
            OLDER,
        ),
        file("pkg-1.0/README.md", "# pkg\n", 0o644, OLDER),
        dir("pkg-1.0/src"),
        file(
            "pkg-1.0/src/main.c",
            "int main(void) { return 0; }\n",
            0o644,
            NEWEST,
        ),
        file("pkg-1.0/src/util.h", "#define UTIL 1\n", 0o600, OLDER),
        dir("pkg-1.0/docs"),
        file("pkg-1.0/docs/a.txt", "a\n", 0o644, OLDER),
        file("pkg-1.0/docs/b.txt", "b\n", 0o644, OLDER),
        symlink("pkg-1.0/README", "README.md"),
    ];
    if format != Format::Zip {
        v.push(hardlink("pkg-1.0/util-copy.h", "pkg-1.0/src/util.h"));
        v.push(file(LONG, "long\n", 0o644, OLDER));
    }
    v
}

/// Every archive-capable overlay type, on `archive`.
fn overlays(archive: &str) -> String {
    format!(
        r#"[[components.pkg.overlays]]
type = "file-search-replace"
archive = "{archive}"
file = "pkg-1.0/*"
regex = ' -Werror'
replacement = ""

[[components.pkg.overlays]]
type = "file-prepend-lines"
archive = "{archive}"
file = "**/*.c"
lines = ["/* Azure Linux */"]

[[components.pkg.overlays]]
type = "file-add"
archive = "{archive}"
file = "pkg-1.0/src/azl.c"
source = "azl.c"

[[components.pkg.overlays]]
type = "file-rename"
archive = "{archive}"
file = "pkg-1.0/src/util.h"
replacement = "util2.h"

[[components.pkg.overlays]]
type = "file-remove"
archive = "{archive}"
file = "**/b.txt"
"#
    )
}

fn project(archive: &str, hash: &str, overlays: &str) -> Project {
    let toml = format!(
        r#"[components.pkg]

[[components.pkg.source-files]]
filename = "{archive}"
origin = {{ type = "overlay" }}
replace-upstream = true
replace-reason = "built with -Werror upstream"
hash = "{hash}"
hash-type = "SHA512"

{overlays}"#
    );
    Project::new(&toml, &[("azl.c", b"int azl;\n")])
}

fn tree(archive: &str, data: &[u8]) -> ComponentTree {
    let mut t = ComponentTree::new("pkg");
    t.insert("pkg.spec", SPEC.as_bytes().to_vec());
    t.insert(
        "sources",
        format!(
            "SHA512 (other.tar.gz) = 00\nSHA512 ({archive}) = {}\n",
            digest(HashType::Sha512, data)
        ),
    );
    t.insert(archive, data.to_vec());
    t
}

fn apply(tree: &mut ComponentTree, p: &Project) -> Result<(), Error> {
    azldev_overlay::apply_overlays(tree, &p.component("pkg").overlays, &read_input)
}

/// Apply to a fresh tree with a wrong digest: the failure names the right one.
fn digest_from_mismatch(archive: &str, input: &[u8], overlays: &str) -> String {
    let p = project(archive, &"0".repeat(128), overlays);
    let mut t = tree(archive, input);
    let before = t.clone();
    let f = failure(apply(&mut t, &p));
    assert_eq!(t, before, "a digest mismatch leaves the tree unchanged");
    match &f.error {
        OpError::Archive(e) => match &e.kind {
            ArchiveErrorKind::DigestMismatch {
                hash_type,
                expected,
                actual,
            } => {
                assert_eq!(hash_type, "SHA512");
                assert_eq!(*expected, "0".repeat(128));
                let msg = f.to_string();
                assert!(
                    msg.contains(expected.as_str()) && msg.contains(actual.as_str()),
                    "{msg}"
                );
                assert!(msg.contains(archive), "{msg}");
                actual.clone()
            }
            other => panic!("expected a digest mismatch, got {other}"),
        },
        other => panic!("expected an archive error, got {other}"),
    }
}

/// The whole round trip for one format.
fn round_trip(format: Format) {
    let archive = name_of(format);
    let input = build(format, &upstream(format));
    assert_eq!(Format::sniff(&input), Some(format));
    let ovl = overlays(archive);

    // A wrong digest fails, naming both digests; the right one succeeds.
    let hash = digest_from_mismatch(archive, &input, &ovl);
    let p = project(archive, &hash, &ovl);
    let mut t = tree(archive, &input);
    apply(&mut t, &p).unwrap_or_else(|e| panic!("{archive}: {e}"));
    let output = t.files[archive].data.clone();
    assert_eq!(digest(HashType::Sha512, &output), hash);

    // Deterministic: a second run from scratch gives the same bytes.
    let mut again = tree(archive, &input);
    apply(&mut again, &p).expect("second run");
    assert_eq!(
        again.files[archive].data, output,
        "{archive}: byte-identical across runs"
    );

    // The `sources` line of the archive now has the new digest.
    let sources = String::from_utf8(t.files["sources"].data.clone()).expect("utf-8");
    assert_eq!(
        sources,
        format!("SHA512 (other.tar.gz) = 00\nSHA512 ({archive}) = {hash}\n")
    );

    // Same compression, and gzip without timestamp or name.
    assert_eq!(
        Format::sniff(&output),
        Some(format),
        "{archive}: keeps its compression"
    );
    if format == Format::TarGz {
        assert_eq!(&output[3..8], &[0, 0, 0, 0, 0], "no flags, no mtime");
    }

    let before = read_members(format, &input);
    let after = read_members(format, &output);
    let mut want: Vec<&str> = paths(&before)
        .into_iter()
        .filter(|p| *p != "pkg-1.0/docs/b.txt")
        .map(|p| {
            if p == "pkg-1.0/src/util.h" {
                "pkg-1.0/src/util2.h"
            } else {
                p
            }
        })
        .collect();
    want.push("pkg-1.0/src/azl.c");
    assert_eq!(paths(&after), want, "{archive}: order kept, new member last");

    // file-search-replace: new contents, fixed metadata, mode kept.
    let configure = member(&after, "pkg-1.0/configure");
    assert_eq!(
        configure.body,
        Body::File(b"#!/bin/sh\nCFLAGS=\"-O2\"\n".to_vec())
    );
    assert_eq!(configure.mode, 0o755, "an edited script stays executable");
    assert_eq!(configure.mtime, NEWEST);
    // file-prepend-lines
    assert_eq!(
        member(&after, "pkg-1.0/src/main.c").body,
        Body::File(b"/* Azure Linux */\nint main(void) { return 0; }\n".to_vec())
    );
    // file-add: 0644, newest mtime, root.
    let added = member(&after, "pkg-1.0/src/azl.c");
    assert_eq!(added.body, Body::File(b"int azl;\n".to_vec()));
    assert_eq!((added.mode, added.mtime), (0o644, NEWEST));
    // file-rename keeps the mode.
    let renamed = member(&after, "pkg-1.0/src/util2.h");
    assert_eq!(renamed.body, Body::File(b"#define UTIL 1\n".to_vec()));
    assert_eq!(renamed.mode, 0o600);
    // Untouched members keep their metadata (tar: the very same header),
    // including `README.md`, which the search-replace glob matched without
    // finding anything to change.
    for path in [
        "pkg-1.0/README.md",
        "pkg-1.0/docs/a.txt",
        "pkg-1.0/README",
        "pkg-1.0",
    ] {
        let (b, a) = (member(&before, path), member(&after, path));
        assert_eq!(a, b, "{archive}: `{path}` untouched");
    }
    if format == Format::Zip {
        return;
    }
    for m in [configure, added, renamed] {
        assert_eq!(m.uid, Some(0), "{}: fixed owner", m.path);
    }
    assert_eq!(member(&after, "pkg-1.0/README.md").uid, Some(1000));
    // The hard link follows the rename; the long name survives.
    assert_eq!(
        member(&after, "pkg-1.0/util-copy.h").body,
        Body::HardLink("pkg-1.0/src/util2.h".into())
    );
    assert_eq!(member(&after, LONG).body, Body::File(b"long\n".to_vec()));
}

#[test]
fn tar_round_trip() {
    round_trip(Format::Tar);
}

#[test]
fn tar_gz_round_trip() {
    round_trip(Format::TarGz);
}

#[test]
fn tar_xz_round_trip() {
    round_trip(Format::TarXz);
}

#[test]
fn tar_bz2_round_trip() {
    round_trip(Format::TarBz2);
}

#[test]
fn tar_zst_round_trip() {
    round_trip(Format::TarZst);
}

#[test]
fn zip_round_trip() {
    round_trip(Format::Zip);
}

#[test]
fn repacking_is_idempotent() {
    // Our own output, edited again to the same contents, comes out byte for
    // byte the same: untouched members are copied, the edited one gets the
    // same fixed metadata, the compressor has fixed settings.
    let archive = name_of(Format::TarGz);
    let input = build(Format::TarGz, &upstream(Format::TarGz));
    let edit = |regex: &str, replacement: &str| {
        format!(
            "[[components.pkg.overlays]]\ntype = \"file-search-replace\"\narchive = \"{archive}\"\nfile = \"pkg-1.0/configure\"\nregex = '{regex}'\nreplacement = \"{replacement}\"\n"
        )
    };
    let ovl = edit(" -Werror", "");
    let hash = digest_from_mismatch(archive, &input, &ovl);
    let mut t = tree(archive, &input);
    apply(&mut t, &project(archive, &hash, &ovl)).expect("applies");
    let once = t.files[archive].data.clone();

    let ovl = edit("O2", "O2");
    let mut t = tree(archive, &once);
    apply(&mut t, &project(archive, &hash, &ovl)).expect("the same digest again");
    assert_eq!(t.files[archive].data, once);
}

#[test]
fn overlays_on_one_archive_split_by_another_overlay_are_verified_once_at_the_end() {
    let archive = name_of(Format::Tar);
    let input = build(Format::Tar, &upstream(Format::Tar));
    let ovl = format!(
        "[[components.pkg.overlays]]\ntype = \"file-remove\"\narchive = \"{archive}\"\nfile = \"pkg-1.0/docs/a.txt\"\n\n\
         [[components.pkg.overlays]]\ntype = \"spec-set-tag\"\ntag = \"Release\"\nvalue = \"2\"\n\n\
         [[components.pkg.overlays]]\ntype = \"file-remove\"\narchive = \"{archive}\"\nfile = \"pkg-1.0/docs\"\n"
    );
    let hash = digest_from_mismatch(archive, &input, &ovl);
    let p = project(archive, &hash, &ovl);
    let mut t = tree(archive, &input);
    apply(&mut t, &p).expect("applies");
    let after = read_members(Format::Tar, &t.files[archive].data);
    assert!(
        !paths(&after).iter().any(|p| p.starts_with("pkg-1.0/docs")),
        "removing a directory removes what is below it: {:?}",
        paths(&after)
    );
    assert!(String::from_utf8_lossy(t.spec().expect("spec")).contains("Release: 2"));
}

// ----- failures ---------------------------------------------------------------

fn archive_error(f: &azldev_overlay::OverlayFailure) -> &ArchiveErrorKind {
    match &f.error {
        OpError::Archive(e) => &e.kind,
        other => panic!("expected an archive error, got {other}"),
    }
}

/// Apply `overlay_toml` (one overlay on `archive`) to a tree holding `data`
/// as `archive`; the failure, after checking the tree is unchanged.
fn fail(archive: &str, data: &[u8], overlay_toml: &str) -> azldev_overlay::OverlayFailure {
    let p = project(archive, &"0".repeat(128), overlay_toml);
    let mut t = tree(archive, data);
    let before = t.clone();
    let f = failure(apply(&mut t, &p));
    assert_eq!(t, before, "a failure leaves the tree unchanged");
    f
}

fn remove_docs(archive: &str) -> String {
    format!(
        "[[components.pkg.overlays]]\ndescription = \"drop docs\"\ntype = \"file-remove\"\narchive = \"{archive}\"\nfile = \"**/*.txt\"\n"
    )
}

#[test]
fn overlay_failures_inside_an_archive_point_at_the_overlay() {
    let archive = name_of(Format::TarXz);
    let input = build(Format::TarXz, &upstream(Format::TarXz));
    let ovl = format!(
        "[[components.pkg.overlays]]\ntype = \"file-remove\"\narchive = \"{archive}\"\nfile = \"**/a.txt\"\n\n\
         [[components.pkg.overlays]]\ntype = \"file-search-replace\"\narchive = \"{archive}\"\nfile = \"**/*.c\"\nregex = 'not-there'\n"
    );
    let p = project(archive, &"0".repeat(128), &ovl);
    let mut t = tree(archive, &input);
    let before = t.clone();
    let f = failure(apply(&mut t, &p));
    assert_eq!(f.index, 1);
    assert!(matches!(f.error, OpError::NoTextMatch { .. }), "{f}");
    assert!(
        p.describe(&f.loc).contains("distro.toml:16"),
        "{}",
        p.describe(&f.loc)
    );
    assert_eq!(t, before);

    for (overlay, check) in [
        (
            format!("type = \"file-remove\"\narchive = \"{archive}\"\nfile = \"nothing/*\""),
            (|e: &OpError| matches!(e, OpError::NoFileMatch(_))) as fn(&OpError) -> bool,
        ),
        (
            format!(
                "type = \"file-rename\"\narchive = \"{archive}\"\nfile = \"pkg-1.0/nope\"\nreplacement = \"x\""
            ),
            |e| matches!(e, OpError::FileMissing(_)),
        ),
        (
            format!(
                "type = \"file-rename\"\narchive = \"{archive}\"\nfile = \"pkg-1.0/README\"\nreplacement = \"README.md\""
            ),
            |e| matches!(e, OpError::FileExists(_)),
        ),
        (
            format!(
                "type = \"file-add\"\narchive = \"{archive}\"\nfile = \"pkg-1.0/configure\"\nsource = \"azl.c\""
            ),
            |e| matches!(e, OpError::FileExists(_)),
        ),
        (
            format!("type = \"file-add\"\narchive = \"{archive}\"\nfile = \"../azl.c\"\nsource = \"azl.c\""),
            |e| matches!(e, OpError::Path(_)),
        ),
        (
            // A hard link may not lose its target.
            format!("type = \"file-remove\"\narchive = \"{archive}\"\nfile = \"pkg-1.0/src/util.h\""),
            |e| matches!(e, OpError::Archive(a) if matches!(&a.kind, ArchiveErrorKind::HardLinkTarget { member, .. } if member == "pkg-1.0/util-copy.h")),
        ),
    ] {
        let f = fail(
            archive,
            &input,
            &format!("[[components.pkg.overlays]]\n{overlay}\n"),
        );
        assert!(check(&f.error), "{overlay}: {f}");
    }
}

#[test]
fn a_missing_or_mislabelled_archive_is_a_clear_error() {
    let archive = "pkg-1.0.tar.gz";
    // Not in the tree.
    let p = project(archive, &"0".repeat(128), &remove_docs(archive));
    let mut t = ComponentTree::new("pkg");
    t.insert("pkg.spec", SPEC.as_bytes().to_vec());
    let f = failure(apply(&mut t, &p));
    assert_eq!(archive_error(&f), &ArchiveErrorKind::NotInTree);
    assert!(
        f.to_string()
            .contains("archive `pkg-1.0.tar.gz`: it is not in the component's files"),
        "{f}"
    );
    assert_eq!(f.description.as_deref(), Some("drop docs"));

    // Named .tar.gz, but xz inside.
    let xz = build(Format::TarXz, &upstream(Format::TarXz));
    let f = fail(archive, &xz, &remove_docs(archive));
    assert!(
        matches!(archive_error(&f), ArchiveErrorKind::FormatMismatch { named, found } if named == "gzip" && found == "xz"),
        "{f}"
    );
    // Garbage.
    let f = fail(archive, b"\x1f\x8bnot really gzip", &remove_docs(archive));
    assert!(matches!(archive_error(&f), ArchiveErrorKind::Corrupt(_)), "{f}");
}

#[test]
fn an_archive_overlay_without_its_source_file_is_refused() {
    // Configuration errors are reported by validation; the engine still
    // refuses to edit an archive whose digest it cannot check.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("distro.toml"),
        "[[components.pkg.overlays]]\ntype = \"file-remove\"\narchive = \"pkg-1.0.tar\"\nfile = \"**/*.txt\"\n",
    )
    .expect("write");
    let loaded = azldev_config::load(&dir.path().join("distro.toml")).expect("load");
    assert!(loaded.diagnostics.has_errors());
    let input = build(Format::Tar, &upstream(Format::Tar));
    let mut t = tree("pkg-1.0.tar", &input);
    let before = t.clone();
    let r = azldev_overlay::apply_overlays(&mut t, &loaded.config.components["pkg"].overlays, &read_input);
    assert_eq!(archive_error(&failure(r)), &ArchiveErrorKind::NoSourceFile);
    assert_eq!(t, before);
}

// ----- unsafe members -----------------------------------------------------------

/// A tar header block with raw fields (the `tar` crate refuses to write
/// unsafe names, which is the point of these archives).
fn raw_header(name: &str, kind: u8, link: &str, size: usize) -> [u8; 512] {
    let mut h = tar::Header::new_ustar();
    {
        let bytes = h.as_old_mut();
        bytes.name[..name.len()].copy_from_slice(name.as_bytes());
        bytes.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_mode(0o644);
    h.set_mtime(OLDER);
    h.set_size(size as u64);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    let mut out = [0u8; 512];
    out.copy_from_slice(h.as_bytes());
    out
}

/// name, tar type flag, link target, data
type TarEntry<'a> = (&'a str, u8, &'a str, &'a [u8]);

fn raw_tar(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, link, data) in entries {
        out.extend_from_slice(&raw_header(name, *kind, link, data.len()));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A stored zip with raw names and Unix modes (type bits included).
/// name, Unix mode with type bits, data
type ZipEntry<'a> = (&'a str, u32, &'a [u8]);

fn raw_zip(entries: &[ZipEntry<'_>]) -> Vec<u8> {
    let (mut out, mut cd) = (Vec::new(), Vec::new());
    for (name, mode, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let n = name.len() as u16;
        let len = data.len() as u32;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [10u16, 0, 0, 0, 0x5721] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [0x031eu16, 10, 0, 0, 0, 0x5721] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, len, len] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        for v in [n, 0, 0, 0, 0] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        cd.extend_from_slice(&(mode << 16).to_le_bytes());
        cd.extend_from_slice(&offset.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_size, count) = (out.len() as u32, cd.len() as u32, entries.len() as u16);
    out.extend_from_slice(&cd);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn unsafe_tar_members_are_refused_by_name() {
    let ok: TarEntry<'_> = ("pkg-1.0/docs/a.txt", b'0', "", b"a\n");
    type Check = fn(&ArchiveErrorKind) -> bool;
    let cases: Vec<(&str, Vec<TarEntry<'_>>, Check)> = vec![
        (
            "absolute path",
            vec![ok, ("/etc/cron.d/evil", b'0', "", b"x")],
            |k| matches!(k, ArchiveErrorKind::AbsolutePath(m) if m == "/etc/cron.d/evil"),
        ),
        (
            "parent directory",
            vec![ok, ("pkg-1.0/../../evil", b'0', "", b"x")],
            |k| matches!(k, ArchiveErrorKind::ParentDir(m) if m == "pkg-1.0/../../evil"),
        ),
        (
            "character device",
            vec![ok, ("pkg-1.0/null", b'3', "", b"")],
            |k| matches!(k, ArchiveErrorKind::SpecialFile { member, what } if member == "pkg-1.0/null" && what == "character device"),
        ),
        (
            "block device",
            vec![ok, ("pkg-1.0/sda", b'4', "", b"")],
            |k| matches!(k, ArchiveErrorKind::SpecialFile { member, .. } if member == "pkg-1.0/sda"),
        ),
        (
            "fifo",
            vec![ok, ("pkg-1.0/pipe", b'6', "", b"")],
            |k| matches!(k, ArchiveErrorKind::SpecialFile { member, what } if member == "pkg-1.0/pipe" && what == "fifo"),
        ),
        (
            "symlink escaping",
            vec![ok, ("pkg-1.0/etc", b'2', "../../etc", b"")],
            |k| matches!(k, ArchiveErrorKind::LinkEscapes { member, target } if member == "pkg-1.0/etc" && target == "../../etc"),
        ),
        (
            "absolute symlink",
            vec![ok, ("pkg-1.0/passwd", b'2', "/etc/passwd", b"")],
            |k| matches!(k, ArchiveErrorKind::LinkEscapes { member, .. } if member == "pkg-1.0/passwd"),
        ),
        (
            "symlink escaping through another symlink",
            vec![
                ok,
                ("here", b'2', ".", b""),
                ("pkg-1.0/up", b'2', "../here/..", b""),
            ],
            |k| matches!(k, ArchiveErrorKind::LinkEscapes { member, .. } if member == "pkg-1.0/up"),
        ),
        (
            "hard link escaping",
            vec![ok, ("pkg-1.0/shadow", b'1', "../etc/shadow", b"")],
            |k| matches!(k, ArchiveErrorKind::LinkEscapes { member, target } if member == "pkg-1.0/shadow" && target == "../etc/shadow"),
        ),
        (
            "absolute hard link",
            vec![ok, ("pkg-1.0/shadow", b'1', "/etc/shadow", b"")],
            |k| matches!(k, ArchiveErrorKind::LinkEscapes { member, .. } if member == "pkg-1.0/shadow"),
        ),
        (
            "hard link to nothing",
            vec![ok, ("pkg-1.0/l", b'1', "pkg-1.0/missing", b"")],
            |k| matches!(k, ArchiveErrorKind::HardLinkTarget { member, .. } if member == "pkg-1.0/l"),
        ),
        (
            "duplicate",
            vec![ok, ("pkg-1.0/x", b'0', "", b"1"), ("./pkg-1.0/x", b'0', "", b"2")],
            |k| matches!(k, ArchiveErrorKind::Duplicate(m) if m == "pkg-1.0/x"),
        ),
    ];
    for format in [Format::Tar, Format::TarGz, Format::TarZst] {
        let archive = name_of(format);
        for (what, entries, check) in &cases {
            let data = compress(format, raw_tar(entries));
            let f = fail(archive, &data, &remove_docs(archive));
            assert_eq!(f.index, 0);
            assert!(check(archive_error(&f)), "{archive}, {what}: {f}");
        }
        // The same members without the unsafe one are fine.
        let data = compress(format, raw_tar(&[ok, ("pkg-1.0/y", b'0', "", b"y")]));
        let f = fail(archive, &data, &remove_docs(archive));
        assert!(
            matches!(archive_error(&f), ArchiveErrorKind::DigestMismatch { .. }),
            "{f}"
        );
    }
}

#[test]
fn unsafe_zip_members_are_refused_by_name() {
    let archive = name_of(Format::Zip);
    let ok: ZipEntry<'_> = ("pkg-1.0/docs/a.txt", 0o100_644, b"a\n");
    type Check = fn(&ArchiveErrorKind) -> bool;
    let cases: Vec<(&str, Vec<ZipEntry<'_>>, Check)> = vec![
        (
            "absolute path",
            vec![ok, ("/etc/evil", 0o100_644, b"x")],
            |k| matches!(k, ArchiveErrorKind::AbsolutePath(m) if m == "/etc/evil"),
        ),
        (
            "parent directory",
            vec![ok, ("../evil", 0o100_644, b"x")],
            |k| matches!(k, ArchiveErrorKind::ParentDir(m) if m == "../evil"),
        ),
        (
            "parent directory, DOS style",
            vec![ok, ("..\\..\\evil", 0o100_644, b"x")],
            |k| matches!(k, ArchiveErrorKind::ParentDir(m) if m == "..\\..\\evil"),
        ),
        (
            "character device",
            vec![ok, ("pkg-1.0/null", 0o020_644, b"")],
            |k| matches!(k, ArchiveErrorKind::SpecialFile { member, .. } if member == "pkg-1.0/null"),
        ),
        (
            "socket",
            vec![ok, ("pkg-1.0/sock", 0o140_644, b"")],
            |k| matches!(k, ArchiveErrorKind::SpecialFile { member, what } if member == "pkg-1.0/sock" && what == "socket"),
        ),
        (
            "symlink escaping",
            vec![ok, ("pkg-1.0/l", 0o120_777, b"../../x")],
            |k| matches!(k, ArchiveErrorKind::LinkEscapes { member, .. } if member == "pkg-1.0/l"),
        ),
        (
            "duplicate",
            vec![ok, ok],
            |k| matches!(k, ArchiveErrorKind::Duplicate(m) if m == "pkg-1.0/docs/a.txt"),
        ),
    ];
    for (what, entries, check) in &cases {
        let f = fail(archive, &raw_zip(entries), &remove_docs(archive));
        assert!(check(archive_error(&f)), "{what}: {f}");
    }
    let fine = raw_zip(&[ok, ("pkg-1.0/y", 0o100_644, b"y")]);
    let f = fail(archive, &fine, &remove_docs(archive));
    assert!(
        matches!(archive_error(&f), ArchiveErrorKind::DigestMismatch { .. }),
        "{f}"
    );
}
