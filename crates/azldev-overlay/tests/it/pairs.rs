//! The five real overlay changes of `../shared/corpus/azl4-pairs`: applying
//! `comp.after.toml`'s overlays to the pristine `before.spec` reproduces
//! `after.spec`, except for what the corpus README says differs: azldev
//! rewrites an edited tag as `Tag: value` (we keep upstream alignment), and
//! `519f1a1614d1-*` carry a Release bump from azldev's release calculation
//! (a separate feature). open-vm-tools' rpmautospec changelog also moved with
//! the commit date.

use azldev_overlay::{BuildSettings, SPEC_HEADER};

use crate::util::{Project, corpus, read_input, spec_text};

/// Remove azldev's three-line header wherever it is.
fn strip_header(text: &str) -> String {
    let block = format!("{}\n{}\n\n", SPEC_HEADER[0], SPEC_HEADER[1]);
    assert!(text.contains(&block), "the header is present");
    text.replacen(&block, "", 1)
}

/// `Tag:<any blanks>value` → `Tag: value`.
fn normalize_tag(line: &str) -> String {
    let Some(colon) = line.find(':') else {
        return line.to_owned();
    };
    let name = &line[..colon];
    let is_tag = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "()_,-".contains(c));
    if is_tag {
        format!("{name}: {}", line[colon + 1..].trim_start())
    } else {
        line.to_owned()
    }
}

#[test]
fn real_overlay_changes_reproduce_azldev_output() {
    let dir = corpus().join("azl4-pairs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("pairs dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 5);
    for name in names {
        let d = dir.join(&name);
        let component = name.split_once('-').expect("<commit>-<component>").1;
        let toml = std::fs::read_to_string(d.join("comp.after.toml")).expect("toml");
        let before = std::fs::read_to_string(d.join("before.spec")).expect("before");
        let after = std::fs::read_to_string(d.join("after.spec")).expect("after");
        let project = Project::new(&toml, &[]);
        let comp = project.component(component);
        let mut tree = azldev_overlay::ComponentTree::new(component);
        tree.insert(tree.spec_path(), strip_header(&before).into_bytes());
        // Sidecar files the overlays rename exist upstream.
        for o in &comp.overlays {
            if let Some(f) = &o.overlay.value.file {
                tree.insert(f.value.clone(), b"upstream file".to_vec());
            }
        }
        azldev_overlay::apply_overlays(&mut tree, &comp.overlays, &read_input)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        azldev_overlay::apply_build_config(&mut tree, &BuildSettings::of(comp))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = spec_text(&tree);
        assert!(ours.starts_with(&format!("{}\n{}\n\n", SPEC_HEADER[0], SPEC_HEADER[1])));
        let (ours, theirs) = (strip_header(&ours), strip_header(&after));
        let (ol, tl): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
        assert_eq!(ol.len(), tl.len(), "{name}: line count");
        let mut differences = 0;
        for (i, (o, t)) in ol.iter().zip(&tl).enumerate() {
            if o == t {
                continue;
            }
            differences += 1;
            let release_bump = name.starts_with("519f1a1614d1") && o.starts_with("Release:");
            let changelog_date = o.starts_with("* ") && t.starts_with("* ");
            assert!(
                normalize_tag(o) == normalize_tag(t) || release_bump || changelog_date,
                "{name}: line {} differs:\n ours:   {o}\n azldev: {t}",
                i + 1
            );
        }
        assert_ne!(
            ours,
            strip_header(&before),
            "{name}: the overlays changed something"
        );
        assert!(differences <= 3, "{name}: only the documented differences");
        // Renamed files are in the tree under their new names.
        for o in &comp.overlays {
            if o.overlay.value.kind.value == azldev_config::raw::OverlayType::FileRename {
                let new = &o.overlay.value.replacement.as_ref().expect("replacement").value;
                assert!(tree.files.contains_key(new), "{name}: {new} exists");
            }
        }
    }
}
