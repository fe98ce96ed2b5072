//! Shell completion of the project's names. `azldev completions SHELL`
//! prints a script that asks `azldev` itself (`COMPLETE=SHELL azldev -- …`)
//! for candidates, so component, group and image names come from the
//! configuration in the current directory as it is when TAB is pressed.

use clap_complete::engine::CompletionCandidate;

/// The project in the current directory; nothing when there is none or it
/// does not load (completion never prints errors).
fn with_config(
    f: impl FnOnce(&azldev_config::Config) -> Vec<CompletionCandidate>,
) -> Vec<CompletionCandidate> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    match azldev_config::load_from_dir(&cwd) {
        Ok(loaded) => f(&loaded.config),
        Err(_) => Vec::new(),
    }
}

/// Component names.
pub fn components() -> Vec<CompletionCandidate> {
    with_config(|c| c.components.keys().map(CompletionCandidate::new).collect())
}

/// Component group names.
pub fn groups() -> Vec<CompletionCandidate> {
    with_config(|c| {
        c.merged
            .component_groups
            .keys()
            .map(CompletionCandidate::new)
            .collect()
    })
}

/// Image names.
pub fn images() -> Vec<CompletionCandidate> {
    with_config(|c| c.merged.images.keys().map(CompletionCandidate::new).collect())
}

/// Components and images (commands taking either).
#[allow(dead_code)]
pub fn components_and_images() -> Vec<CompletionCandidate> {
    let mut v = components();
    v.extend(images());
    v
}
