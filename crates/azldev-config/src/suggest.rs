//! "Did you mean …?" for misspelt keys, enum values and names.

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
pub fn closest<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let normalized = normalize(input);
    let mut best: Option<(f64, &'a str)> = None;
    for cand in candidates {
        if cand == input {
            continue;
        }
        // Treat `skip-reason`/`skip_reason`/`SkipReason` as the same word.
        let score = if normalize(cand) == normalized {
            1.0
        } else {
            strsim::jaro_winkler(&normalized, &normalize(cand))
        };
        if score >= 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, cand));
        }
    }
    best.map(|(_, c)| c)
}

fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Help text: "did you mean `x`?" when there is a close candidate, otherwise the
/// list of valid values when it is short.
pub(crate) fn help_for(input: &str, candidates: &[&str], what: &str) -> Option<String> {
    if let Some(c) = closest(input, candidates.iter().copied()) {
        return Some(format!("did you mean `{c}`?"));
    }
    if candidates.is_empty() {
        return None;
    }
    if candidates.len() <= 20 {
        let list = candidates
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Some(format!("{what}: {list}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words() {
        assert_eq!(
            closest("spec-serch-replace", ["spec-search-replace", "spec-set-tag"]),
            Some("spec-search-replace")
        );
        assert_eq!(
            closest("skip-reason", ["skip", "skip_reason"]),
            Some("skip_reason")
        );
        assert_eq!(closest("zzz", ["spec", "build"]), None);
    }
}
