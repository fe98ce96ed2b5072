//! Merging: of configuration files into one project (include merge rules), and of
//! component configurations along the inheritance chain.
//!
//! Include merge rules (design, "Formats → Configuration"):
//! - `components`, `component-groups`, `images`, `package-groups`, `test-suites`:
//!   a name is defined in one file only;
//! - `distros` merge field by field (versions by name, then field by field);
//! - `project`, `tools`, `resources`, `default-package-config`: later non-empty
//!   fields win;
//! - `default-component-config`: merged like an inheritance layer.
//!
//! Inheritance (later wins): scalars and tables field by field, arrays append
//! (overlays, with, without, undefines, source-files), `overlay-files` replaces,
//! maps (defines, packages) merge by key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::raw::*;
use crate::source::SourceMap;
use crate::span::{FileId, Sp};

/// The project after merging every configuration file (before inheritance).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Merged {
    pub project: ProjectInfo,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub distros: BTreeMap<String, Sp<Distro>>,
    pub resources: Resources,
    pub tools: Tools,
    pub default_component_config: ComponentConfig,
    pub default_package_config: PackageConfig,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub component_groups: BTreeMap<String, Sp<ComponentGroup>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub package_groups: BTreeMap<String, Sp<PackageGroup>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, Sp<Image>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub test_suites: BTreeMap<String, Sp<TestSuite>>,
    pub components: BTreeMap<String, Sp<ComponentConfig>>,
}

fn ovr<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
    if src.is_some() {
        dst.clone_from(src);
    }
}

fn nested<T: Clone>(dst: &mut Option<Sp<T>>, src: &Option<Sp<T>>, f: impl FnOnce(&mut T, &T)) {
    if let Some(s) = src {
        match dst {
            Some(d) => {
                f(&mut d.value, &s.value);
                d.loc = s.loc.clone();
            }
            None => *dst = Some(s.clone()),
        }
    }
}

impl ProjectInfo {
    fn override_from(&mut self, o: &Self) {
        ovr(&mut self.description, &o.description);
        ovr(&mut self.log_dir, &o.log_dir);
        ovr(&mut self.work_dir, &o.work_dir);
        ovr(&mut self.output_dir, &o.output_dir);
        ovr(&mut self.rendered_specs_dir, &o.rendered_specs_dir);
        ovr(&mut self.lock_dir, &o.lock_dir);
        nested(
            &mut self.default_distro,
            &o.default_distro,
            DistroReference::override_from,
        );
        ovr(&mut self.default_author_email, &o.default_author_email);
        // A later `[project.signing]` replaces the whole table: `key` and
        // `key-file` are alternatives.
        ovr(&mut self.signing, &o.signing);
    }
}

impl DistroReference {
    fn override_from(&mut self, o: &Self) {
        self.name = o.name.clone();
        ovr(&mut self.version, &o.version);
        ovr(&mut self.snapshot, &o.snapshot);
    }
}

impl Distro {
    fn override_from(&mut self, o: &Self) {
        ovr(&mut self.description, &o.description);
        ovr(&mut self.default_version, &o.default_version);
        ovr(&mut self.dist_git_base_uri, &o.dist_git_base_uri);
        ovr(&mut self.dist_git_path, &o.dist_git_path);
        ovr(&mut self.lookaside_base_uri, &o.lookaside_base_uri);
        if !o.repos.is_empty() {
            self.repos.clone_from(&o.repos);
        }
        ovr(&mut self.disable_origins, &o.disable_origins);
        for (name, v) in &o.versions {
            match self.versions.get_mut(name) {
                Some(existing) => {
                    existing.value.override_from(&v.value);
                    existing.loc = v.loc.clone();
                }
                None => {
                    self.versions.insert(name.clone(), v.clone());
                }
            }
        }
    }
}

impl DistroVersion {
    fn override_from(&mut self, o: &Self) {
        ovr(&mut self.description, &o.description);
        self.release_ver = o.release_ver.clone();
        ovr(&mut self.dist_git_branch, &o.dist_git_branch);
        nested(
            &mut self.default_component_config,
            &o.default_component_config,
            ComponentConfig::inherit_from,
        );
        ovr(&mut self.mock_config, &o.mock_config);
        ovr(&mut self.mock_config_x86_64, &o.mock_config_x86_64);
        ovr(&mut self.mock_config_aarch64, &o.mock_config_aarch64);
    }
}

impl ComponentConfig {
    /// Apply a later inheritance layer on top of this one.
    pub fn inherit_from(&mut self, o: &Self) {
        nested(&mut self.spec, &o.spec, SpecSource::inherit_from);
        nested(&mut self.release, &o.release, |d, s| {
            ovr(&mut d.calculation, &s.calculation)
        });
        self.overlays.extend(o.overlays.iter().cloned());
        ovr(&mut self.overlay_files, &o.overlay_files);
        nested(&mut self.build, &o.build, BuildConfig::inherit_from);
        nested(&mut self.render, &o.render, |d, s| {
            ovr(&mut d.skip_file_filter, &s.skip_file_filter);
        });
        self.source_files.extend(o.source_files.iter().cloned());
        for (name, p) in &o.packages {
            match self.packages.get_mut(name) {
                Some(existing) => {
                    existing.value.override_from(&p.value);
                    existing.loc = p.loc.clone();
                }
                None => {
                    self.packages.insert(name.clone(), p.clone());
                }
            }
        }
        nested(&mut self.publish, &o.publish, |d, s| {
            ovr(&mut d.rpm_channel, &s.rpm_channel);
            ovr(&mut d.srpm_channel, &s.srpm_channel);
            ovr(&mut d.debuginfo_channel, &s.debuginfo_channel);
        });
    }
}

impl SpecSource {
    fn inherit_from(&mut self, o: &Self) {
        self.kind = o.kind.clone();
        ovr(&mut self.path, &o.path);
        nested(
            &mut self.upstream_distro,
            &o.upstream_distro,
            DistroReference::override_from,
        );
        ovr(&mut self.upstream_name, &o.upstream_name);
        ovr(&mut self.upstream_commit, &o.upstream_commit);
    }
}

impl BuildConfig {
    fn inherit_from(&mut self, o: &Self) {
        self.with.extend(o.with.iter().cloned());
        self.without.extend(o.without.iter().cloned());
        for (k, v) in &o.defines {
            self.defines.insert(k.clone(), v.clone());
        }
        self.undefines.extend(o.undefines.iter().cloned());
        self.bootstrap_prebuilt
            .extend(o.bootstrap_prebuilt.iter().cloned());
        nested(&mut self.check, &o.check, |d, s| {
            ovr(&mut d.skip, &s.skip);
            ovr(&mut d.skip_reason, &s.skip_reason);
        });
        nested(&mut self.failure, &o.failure, |d, s| {
            ovr(&mut d.expected, &s.expected);
            ovr(&mut d.expected_reason, &s.expected_reason);
        });
        nested(&mut self.hints, &o.hints, |d, s| {
            ovr(&mut d.expensive, &s.expensive)
        });
    }
}

impl PackageConfig {
    fn override_from(&mut self, o: &Self) {
        nested(&mut self.publish, &o.publish, |d, s| {
            ovr(&mut d.rpm_channel, &s.rpm_channel);
            ovr(&mut d.debuginfo_channel, &s.debuginfo_channel);
            ovr(&mut d.channel, &s.channel);
        });
    }
}

fn unique<T: Clone>(
    kind: &str,
    dst: &mut BTreeMap<String, Sp<T>>,
    src: &BTreeMap<String, Sp<T>>,
    files: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) {
    for (name, def) in src {
        if let Some(first) = dst.get(name) {
            let first_file = files
                .get(first.loc.file)
                .map_or_else(String::new, |f| f.display.clone());
            diags.push(
                Diagnostic::error(
                    "config::duplicate-definition",
                    format!("{kind} `{name}` is defined more than once"),
                )
                .at(files, &def.loc, format!("{kind} `{name}` defined again here"))
                .also(files, &first.loc, format!("first defined here, in {first_file}"))
                .help(format!(
                    "a {kind} may be defined in one file only; remove one of the definitions"
                )),
            );
        } else {
            dst.insert(name.clone(), def.clone());
        }
    }
}

/// Merge the configuration files, in load order.
pub(crate) fn merge_files(
    files_in_order: &[(FileId, ConfigFile)],
    files: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Merged {
    let mut m = Merged::default();
    for (_, f) in files_in_order {
        if let Some(p) = &f.project {
            m.project.override_from(&p.value);
        }
        if let Some(t) = &f.tools {
            nested(
                &mut m.tools.image_customizer,
                &t.value.image_customizer,
                |d, s| {
                    ovr(&mut d.container_tag, &s.container_tag);
                },
            );
        }
        if let Some(r) = &f.resources {
            for (k, v) in &r.value.rpm_repos {
                m.resources.rpm_repos.insert(k.clone(), v.clone());
            }
        }
        if let Some(d) = &f.default_package_config {
            m.default_package_config.override_from(&d.value);
        }
        if let Some(d) = &f.default_component_config {
            m.default_component_config.inherit_from(&d.value);
        }
        for (name, d) in &f.distros {
            match m.distros.get_mut(name) {
                Some(existing) => existing.value.override_from(&d.value),
                None => {
                    m.distros.insert(name.clone(), d.clone());
                }
            }
        }
        unique("component", &mut m.components, &f.components, files, diags);
        unique(
            "component group",
            &mut m.component_groups,
            &f.component_groups,
            files,
            diags,
        );
        unique("image", &mut m.images, &f.images, files, diags);
        unique(
            "package group",
            &mut m.package_groups,
            &f.package_groups,
            files,
            diags,
        );
        unique("test suite", &mut m.test_suites, &f.test_suites, files, diags);
    }
    m
}
