//! Which mock configuration file defines a distro version's buildroot for an
//! architecture, resolved against the file that names it.

use std::path::PathBuf;

use crate::load::Config;
use crate::span::Loc;

/// A distro version's mock configuration for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfigRef {
    pub distro: String,
    pub version: String,
    /// The key that named it: `mock-config-x86_64`, `mock-config-aarch64`,
    /// or the arch-independent `mock-config`.
    pub key: &'static str,
    /// The value as written.
    pub value: String,
    /// The value resolved against the directory of the declaring file.
    pub path: PathBuf,
    /// The file that declared it.
    pub declared_in: PathBuf,
    /// Where the value is written.
    pub loc: Loc,
}

impl Config {
    /// The project's default distro and version: `project.default-distro`,
    /// its `version` or else the distro's `default-version`.
    #[must_use]
    pub fn default_distro_version(&self) -> Option<(String, String)> {
        let r = self.merged.project.default_distro.as_ref()?;
        let name = r.name.value.clone();
        let version = match &r.version {
            Some(v) => v.value.clone(),
            None => self
                .merged
                .distros
                .get(&name)?
                .default_version
                .as_ref()?
                .value
                .clone(),
        };
        Some((name, version))
    }

    /// The mock config of `distro` `version` for `arch` (`x86_64`, `aarch64`):
    /// `mock-config-<arch>`, else `mock-config`. `None` when the version does
    /// not exist or names no mock config for that arch.
    #[must_use]
    pub fn mock_config(&self, distro: &str, version: &str, arch: &str) -> Option<MockConfigRef> {
        let v = &self.merged.distros.get(distro)?.versions.get(version)?.value;
        let (key, s) = match arch {
            "x86_64" => v.mock_config_x86_64.as_ref().map(|s| ("mock-config-x86_64", s)),
            "aarch64" => v.mock_config_aarch64.as_ref().map(|s| ("mock-config-aarch64", s)),
            _ => None,
        }
        .or_else(|| v.mock_config.as_ref().map(|s| ("mock-config", s)))?;
        let file = self.files.get(s.loc.file)?;
        Some(MockConfigRef {
            distro: distro.to_owned(),
            version: version.to_owned(),
            key,
            value: s.value.clone(),
            path: file.dir().join(&s.value),
            declared_in: file.path.clone(),
            loc: s.loc.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn azl4_mock_configs_resolve_against_the_declaring_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/azl4/azldev.toml");
        assert!(root.is_file(), "the test corpus is missing: {}", root.display());
        let loaded = crate::load(&root).expect("loads");
        let c = &loaded.config;
        assert_eq!(
            c.default_distro_version(),
            Some(("azurelinux".to_owned(), "4.0-stage2".to_owned()))
        );
        let m = c
            .mock_config("azurelinux", "4.0-stage2", "aarch64")
            .expect("declared");
        assert_eq!(m.key, "mock-config-aarch64");
        assert_eq!(m.value, "mock/azl4/stage2/azurelinux-4.0-aarch64.cfg");
        assert_eq!(m.declared_in, c.root_dir.join("distro/azurelinux.distro.toml"));
        assert_eq!(
            m.path,
            c.root_dir
                .join("distro/mock/azl4/stage2/azurelinux-4.0-aarch64.cfg")
        );
        assert!(m.path.is_file());
        assert_eq!(c.files.describe(&m.loc), "distro/azurelinux.distro.toml:34:23");
        assert!(c.mock_config("azurelinux", "4.0-stage2", "riscv64").is_none());
        assert!(c.mock_config("azurelinux", "9", "x86_64").is_none());
    }
}
