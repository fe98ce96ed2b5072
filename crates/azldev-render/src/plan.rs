//! Where each component's packaging comes from.

use std::path::{Path, PathBuf};

use azldev_config::raw::SpecType;
use azldev_config::{Config, ResolvedComponent};
use azldev_source::{Remote, ResolvedFrom};

use crate::RenderError;

/// The source of one component.
#[derive(Debug, Clone)]
pub enum SourcePlan {
    /// A dist-git repository (or a directory of one holding many packages).
    Upstream {
        remote: Remote,
        /// The URL as the configuration writes it (`$pkg` expanded): what
        /// lock files and fingerprints record, so they do not depend on
        /// where the distro repository is checked out.
        url: String,
        /// Directory inside the repository (`dist-git-path`), if any.
        subdir: Option<String>,
        /// Name of the package upstream (its spec is `<upstream_name>.spec`).
        upstream_name: String,
        /// What the pin should be resolved from.
        desired: ResolvedFrom,
    },
    /// Packaging kept in the distro repository.
    Local {
        spec_file: PathBuf,
        /// `spec_file` relative to the project root, for fingerprints.
        relative: String,
    },
}

fn expand_pkg(template: &str, pkg: &str) -> String {
    template.replace("$pkg", pkg).replace("${pkg}", pkg)
}

/// Work out a component's source from its effective configuration.
pub fn plan(config: &Config, c: &ResolvedComponent) -> Result<SourcePlan, RenderError> {
    let spec = c.config.spec.as_ref().map(|s| &s.value);
    let kind = spec.map_or(SpecType::Upstream, |s| s.kind.value);
    if kind == SpecType::Local {
        let spec_file = c.spec_path.clone().ok_or_else(|| RenderError::Config {
            component: c.name.clone(),
            message: "a local spec needs `path`".into(),
        })?;
        let relative = spec_file
            .strip_prefix(&config.root_dir)
            .unwrap_or(&spec_file)
            .to_string_lossy()
            .into_owned();
        return Ok(SourcePlan::Local { spec_file, relative });
    }
    let err = |message: String| RenderError::Config {
        component: c.name.clone(),
        message,
    };
    let distro_ref = spec
        .and_then(|s| s.upstream_distro.as_ref())
        .map(|d| &d.value)
        .ok_or_else(|| err("no upstream distro (`spec.upstream-distro`) for this component".into()))?;
    let distro_name = distro_ref.name.value.as_str();
    let distro = config
        .merged
        .distros
        .get(distro_name)
        .map(|d| &d.value)
        .ok_or_else(|| err(format!("upstream distro `{distro_name}` is not defined")))?;
    let version_name = distro_ref
        .version
        .as_ref()
        .map(|v| v.value.clone())
        .or_else(|| distro.default_version.as_ref().map(|v| v.value.clone()))
        .ok_or_else(|| err(format!("no version of distro `{distro_name}` selected")))?;
    let version = distro
        .versions
        .get(&version_name)
        .map(|v| &v.value)
        .ok_or_else(|| err(format!("distro `{distro_name}` has no version `{version_name}`")))?;
    let base = distro
        .dist_git_base_uri
        .as_ref()
        .ok_or_else(|| err(format!("distro `{distro_name}` has no `dist-git-base-uri`")))?;
    let upstream_name = spec
        .and_then(|s| s.upstream_name.as_ref())
        .map_or_else(|| c.name.clone(), |n| n.value.clone());
    let url = expand_pkg(&base.value, &upstream_name);
    let base_dir = config.files.dir_of(&base.loc);
    let remote = Remote::parse(&url, &base_dir).map_err(|e| err(e.to_string()))?;
    let subdir = distro
        .dist_git_path
        .as_ref()
        .map(|p| expand_pkg(&p.value, &upstream_name));
    let branch = version
        .dist_git_branch
        .as_ref()
        .map(|b| b.value.clone())
        .ok_or_else(|| {
            err(format!(
                "distro `{distro_name}` version `{version_name}` has no `dist-git-branch`"
            ))
        })?;
    let desired = if let Some(commit) = spec.and_then(|s| s.upstream_commit.as_ref()) {
        ResolvedFrom::Pin {
            commit: commit.value.clone(),
        }
    } else if let Some(snapshot) = distro_ref.snapshot.as_ref() {
        ResolvedFrom::Snapshot {
            branch,
            snapshot: snapshot.value.clone(),
        }
    } else {
        ResolvedFrom::Branch { branch }
    };
    Ok(SourcePlan::Upstream {
        remote,
        url,
        subdir,
        upstream_name,
        desired,
    })
}

/// `<out>/<first character, lower-cased>/<name>`.
pub fn component_dir(out: &Path, name: &str) -> PathBuf {
    let first = name
        .chars()
        .next()
        .map(|c| c.to_lowercase().collect::<String>())
        .unwrap_or_default();
    out.join(first).join(name)
}
