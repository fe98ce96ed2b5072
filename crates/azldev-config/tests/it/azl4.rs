//! The real Azure Linux 4.0 configuration loads unchanged.

use std::collections::BTreeMap;

use azldev_config::raw::OverlayType;
use azldev_config::{Layer, load};

use crate::support::azl4_root;

/// Overlay counts per type, counted from the corpus's TOML with
/// `grep -rhoE 'type\s*=\s*"[^"]+"' --include='*.toml' distro base` (and checked by
/// hand against the README: 233 overlays in 97 components).
const EXPECTED: &[(OverlayType, usize)] = &[
    (OverlayType::SpecSearchReplace, 93),
    (OverlayType::SpecAddTag, 22),
    (OverlayType::SpecAppendLines, 18),
    (OverlayType::FileAdd, 16),
    (OverlayType::SpecRemoveTag, 15),
    (OverlayType::SpecUpdateTag, 14),
    (OverlayType::SpecRemoveSection, 12),
    (OverlayType::SpecInsertTag, 11),
    (OverlayType::FileSearchReplace, 10),
    (OverlayType::PatchAdd, 9),
    (OverlayType::SpecPrependLines, 5),
    (OverlayType::FileRename, 3),
    (OverlayType::SpecSetTag, 2),
    (OverlayType::FileRemove, 2),
    (OverlayType::PatchRemove, 1),
];

#[test]
fn azl4_loads_with_zero_diagnostics() {
    let loaded = load(&azl4_root()).expect("azl4 root readable");
    let shown: Vec<String> = loaded.diagnostics.iter().take(20).map(|d| d.short()).collect();
    assert!(
        loaded.diagnostics.is_empty(),
        "azl4 has diagnostics:\n{}",
        shown.join("\n")
    );
    let c = &loaded.config;

    assert_eq!(c.components.len(), 7_583);
    let in_components_toml = c
        .merged
        .components
        .values()
        .filter(|comp| {
            c.files
                .get(comp.loc.file)
                .is_some_and(|f| f.display == "base/comps/components.toml")
        })
        .count();
    assert_eq!(in_components_toml, 7_382);
    let comp_files = c
        .files
        .iter()
        .filter(|f| f.display.ends_with(".comp.toml"))
        .count();
    assert_eq!(comp_files, 201);

    let counts = c.overlay_counts();
    let expected: BTreeMap<OverlayType, usize> = EXPECTED.iter().copied().collect();
    assert_eq!(counts, expected);
    assert_eq!(counts.values().sum::<usize>(), 233);
    assert_eq!(
        c.components.values().filter(|x| !x.overlays.is_empty()).count(),
        97
    );

    // One component group of 182 components skipping %check; with the five
    // components that skip it themselves, 187 specs carry the check-skip lines.
    assert_eq!(c.merged.component_groups.len(), 1);
    let group = &c.merged.component_groups["check-skip-initial-failures"];
    assert_eq!(group.components.len(), 182);
    assert_eq!(c.components.values().filter(|x| x.check_skipped()).count(), 187);

    assert_eq!(c.merged.images.len(), 5);
    assert_eq!(c.merged.package_groups.len(), 3);
    assert_eq!(c.merged.distros.len(), 2);
    // 213 configuration files: everything but distro/stage2.toml, which no include matches.
    assert_eq!(c.config_files.len(), 213);
    assert_eq!(
        c.merged.distros["azurelinux"]
            .default_version
            .as_ref()
            .map(|v| v.as_str()),
        Some("4.0-stage2")
    );
}

#[test]
fn azl4_inheritance_and_provenance() {
    let loaded = load(&azl4_root()).expect("azl4 root readable");
    let c = &loaded.config;

    // A bare component inherits the distro default spec.
    let curl = &c.components["curl"];
    let spec = curl.config.spec.as_ref().expect("inherited spec");
    let ud = spec.upstream_distro.as_ref().expect("upstream distro");
    assert_eq!(ud.name.as_str(), "fedora");
    assert_eq!(ud.version.as_ref().map(|v| v.as_str()), Some("43"));
    assert_eq!(
        ud.snapshot.as_ref().map(|v| v.as_str()),
        Some("2026-02-24T00:00:00-08:00")
    );
    assert_eq!(
        c.files.describe_line(&ud.name.loc),
        "distro/azurelinux.distro.toml:38"
    );
    assert_eq!(
        curl.layers.first(),
        Some(&Layer::DistroDefault {
            distro: "azurelinux".into(),
            version: "4.0-stage2".into()
        })
    );

    // A pinned component keeps the inherited snapshot and adds its commit.
    let im = &c.components["ImageMagick"];
    let spec = im.config.spec.as_ref().expect("spec");
    assert_eq!(
        spec.upstream_commit.as_ref().map(|v| v.as_str()),
        Some("d19ffa4ff6561de088a5d92bfe95950591aa82f8")
    );
    assert!(
        spec.upstream_distro
            .as_ref()
            .and_then(|d| d.snapshot.as_ref())
            .is_some()
    );

    // Overlays carry their file and line; sources resolve next to the file.
    let kernel = &c.components["kernel"];
    assert_eq!(kernel.overlays.len(), 17);
    let first = &kernel.overlays[0];
    assert_eq!(
        c.files.describe_line(&first.overlay.loc),
        "base/comps/kernel/kernel.comp.toml:28"
    );
    assert_eq!(first.layer, Layer::Component);
    let add = kernel
        .overlays
        .iter()
        .find(|o| o.overlay.kind.value == OverlayType::FileAdd)
        .expect("file-add");
    let src = add.source_path.as_ref().expect("source path");
    assert!(src.ends_with("base/comps/kernel/6.18-x86_64-azl.config") && src.is_file());

    // Group membership applies the group's default.
    let git = &c.components["git"];
    assert_eq!(git.groups, vec!["check-skip-initial-failures".to_owned()]);
    assert!(git.check_skipped());
    assert!(git.layers.contains(&Layer::Group {
        name: "check-skip-initial-failures".into()
    }));
}
