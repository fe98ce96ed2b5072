//! rpmautospec's history walk, on the package's commit graph.
//!
//! Two "visitors" look at each commit: the release visitor (the release
//! number: the maximum over the parents with the same epoch-version, plus one
//! when the spec is present, at least any `[bump release: N]`) and the
//! changelog visitor (entries from commit messages back to the last change
//! of the `changelog` file; merges follow the parent with the same tree or
//! are unresolvable). The walk goes from the head towards the roots in
//! linear "snippets" along first parents, holding a commit back until all
//! its children were seen; a commit is processed when a child's visitor asks
//! for it, otherwise only traversed. Which commits are processed decides
//! what the results may draw on, so that order is followed exactly; the
//! results are then computed parents first.

use std::collections::{HashMap, VecDeque};

use gix::ObjectId;

use crate::changelog::{Magic, parse_magic};
use crate::graph::{Graph, topo};
use crate::specinfo::{Evaluated, VerFlags};

/// Information a commit's visitor passes to its parents.
#[derive(Debug, Clone, Copy, Default)]
struct Info {
    must_continue: bool,
    /// Changelog visitor: the `changelog` file was removed later on.
    changelog_removed: Option<bool>,
}

impl Info {
    /// rpmautospec's `_merge_info`: any child must continue; the changelog
    /// was removed for all children that know.
    fn merge(self, other: Info) -> Info {
        Info {
            must_continue: self.must_continue || other.must_continue,
            changelog_removed: match (self.changelog_removed, other.changelog_removed) {
                (Some(a), Some(b)) => Some(a && b),
                (a, b) => a.or(b),
            },
        }
    }
}

/// What the changelog visitor found on its way down.
#[derive(Debug, Clone, Copy)]
struct ChangelogTop {
    changed: bool,
    blob: Option<ObjectId>,
    follow: Option<usize>,
    unresolvable: bool,
    spec_present: bool,
    child_removed: bool,
}

#[derive(Debug, Clone, Copy)]
enum Visit {
    Processed(Option<ChangelogTop>),
    Traversed,
}

/// What an entry of the list holds.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    Commit,
    UnresolvableMerge,
    Verbatim(ObjectId),
}

/// An entry in the persistent changelog lists (newest first, shared tails).
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub commit: usize,
    pub item: Item,
    pub epoch_version: Option<String>,
    pub release: String,
    pub next: Option<usize>,
}

#[derive(Debug, Clone)]
struct Res {
    release_number: i64,
    epoch_version: Option<String>,
    release: String,
    changelog: Option<usize>,
}

/// The walk's result at the head.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub release_number: i64,
    pub release: String,
    pub flags: Result<VerFlags, String>,
    /// Index into `links` of the newest entry.
    pub changelog: Option<usize>,
    pub links: Vec<Link>,
    /// How many commits were processed.
    pub processed: usize,
}

/// Run the walk. `flags(i)` evaluates the spec of commit `i` (memoised by
/// the caller); `with_changelog` adds the changelog visitor, as
/// `process-distgit` does when the spec uses `%autochangelog`.
pub(crate) fn walk(
    g: &Graph,
    flags: &mut dyn FnMut(usize) -> std::rc::Rc<Evaluated>,
    with_changelog: bool,
) -> Outcome {
    let n = g.commits.len();
    let head = 0usize;
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, c) in g.commits.iter().enumerate() {
        for &p in &c.parents {
            children[p].push(i);
        }
    }
    let ev_of = |e: &Evaluated| -> Option<String> {
        e.flags
            .as_ref()
            .ok()
            .map(|f| f.epoch_version.clone())
            .filter(|v| !v.is_empty())
    };

    // Phase 1: from the head down, decide what is processed.
    let mut visit: Vec<Option<Visit>> = vec![None; n];
    let mut infos: Vec<[Info; 2]> = vec![[Info::default(); 2]; n];
    let mut heads: VecDeque<usize> = VecDeque::from([head]);
    let seed = Info {
        must_continue: true,
        changelog_removed: None,
    };
    while let Some(first) = heads.pop_front() {
        let mut keep = true;
        let mut c = first;
        loop {
            if visit[c].is_some() {
                break;
            }
            let child_info = if c == head {
                [seed, seed]
            } else {
                if !children[c].iter().all(|&ch| visit[ch].is_some()) {
                    heads.push_back(c);
                    break;
                }
                let mut merged = [Info::default(); 2];
                for (v, m) in merged.iter_mut().enumerate() {
                    let mut acc: Option<Info> = None;
                    for &ch in &children[c] {
                        let i = infos[ch][v];
                        acc = Some(acc.map_or(i, |a| a.merge(i)));
                    }
                    *m = acc.unwrap_or_default();
                }
                keep = keep && (merged[0].must_continue || (with_changelog && merged[1].must_continue));
                merged
            };
            if keep {
                // Release visitor, top half.
                let ev = ev_of(&flags(c));
                let rel_continue = match &ev {
                    None => true,
                    Some(ev) => {
                        let mut cont = None;
                        let mut evs = Vec::new();
                        for &p in &g.commits[c].parents {
                            match ev_of(&flags(p)) {
                                Some(pev) if flags(p).flags.is_ok() => evs.push(pev),
                                _ => {
                                    cont = Some(true);
                                    break;
                                }
                            }
                        }
                        cont.unwrap_or_else(|| evs.contains(ev))
                    }
                };
                let mut out = [
                    Info {
                        must_continue: rel_continue,
                        changelog_removed: None,
                    },
                    Info::default(),
                ];
                let top = if with_changelog {
                    let (info, top) = changelog_top(g, c, child_info[1]);
                    out[1] = info;
                    Some(top)
                } else {
                    None
                };
                infos[c] = out;
                visit[c] = Some(Visit::Processed(top));
            } else {
                infos[c] = [Info::default(); 2];
                visit[c] = Some(Visit::Traversed);
            }
            let ps = &g.commits[c].parents;
            let Some(&first_parent) = ps.first() else { break };
            for &p in &ps[1..] {
                if visit[p].is_none() {
                    heads.push_back(p);
                }
            }
            c = first_parent;
        }
    }

    // Phase 2: results, parents first.
    let order = topo(head, |c| g.commits[c].parents.clone());
    let mut results: Vec<Option<Res>> = vec![None; n];
    let mut links: Vec<Link> = Vec::new();
    let mut processed = 0;
    for c in order {
        let Some(Visit::Processed(top)) = visit[c] else {
            continue;
        };
        processed += 1;
        let commit = &g.commits[c];
        let evald = flags(c);
        let (ev, prerelease, base, tags) = match &evald.flags {
            Ok(f) => (
                Some(f.epoch_version.clone()).filter(|v| !v.is_empty()),
                f.prerelease,
                f.base,
                [&f.extraver, &f.snapinfo]
                    .iter()
                    .filter_map(|t| t.as_deref())
                    .map(|t| format!(".{t}"))
                    .collect::<String>(),
            ),
            Err(_) => (None, false, 1, String::new()),
        };
        let magic: Magic = parse_magic(&commit.message);
        let mut number = commit
            .parents
            .iter()
            .map(|&p| match &results[p] {
                Some(r) if ev.is_none() || r.epoch_version.is_none() || ev == r.epoch_version => {
                    r.release_number
                }
                _ => 0,
            })
            .max()
            .unwrap_or(0)
            .max(0);
        if commit.spec.is_some() {
            number += 1;
        }
        number = number.max(i64::try_from(magic.bump_release).unwrap_or(i64::MAX));
        let release = format!(
            "{}{}{tags}",
            if prerelease { "0." } else { "" },
            number.saturating_add(base).saturating_sub(1)
        );
        let mut changelog = None;
        if let Some(top) = top {
            let mut skip = magic.skip_changelog || !top.spec_present;
            let mut link = |item: Item, next: Option<usize>| {
                links.push(Link {
                    commit: c,
                    item,
                    epoch_version: ev.clone(),
                    release: release.clone(),
                    next,
                });
                Some(links.len() - 1)
            };
            if top.unresolvable {
                changelog = link(Item::UnresolvableMerge, None);
            } else if let (true, Some(blob)) = (top.changed, top.blob) {
                if !top.child_removed {
                    changelog = link(Item::Verbatim(blob), None);
                }
            } else {
                let mut previous = None;
                if commit.parents.len() == 1 {
                    previous = results[commit.parents[0]].as_ref().and_then(|r| r.changelog);
                } else if let Some(f) = top.follow
                    && let Some(r) = &results[f]
                {
                    previous = r.changelog;
                    skip = true;
                }
                changelog = if skip {
                    previous
                } else {
                    link(Item::Commit, previous)
                };
            }
        }
        results[c] = Some(Res {
            release_number: number,
            epoch_version: ev,
            release,
            changelog,
        });
    }
    let head_res = results[head].clone();
    Outcome {
        release_number: head_res.as_ref().map_or(0, |r| r.release_number),
        release: head_res.as_ref().map(|r| r.release.clone()).unwrap_or_default(),
        flags: flags(head).flags.clone(),
        changelog: head_res.and_then(|r| r.changelog),
        links,
        processed,
    }
}

/// The changelog visitor's top half for commit `c`.
fn changelog_top(g: &Graph, c: usize, child: Info) -> (Info, ChangelogTop) {
    let commit = &g.commits[c];
    let blob = commit.changelog;
    let mut our_removed = false;
    let changed = if commit.parents.is_empty() {
        blob.is_some()
    } else {
        let mut changed = true;
        for &p in &commit.parents {
            let pb = g.commits[p].changelog;
            if pb.is_some() {
                our_removed = our_removed || blob.is_none();
            }
            if blob == pb {
                changed = false;
            }
        }
        changed
    };
    let mut unresolvable = false;
    let follow = if commit.parents.len() < 2 {
        commit.parents.first().copied()
    } else {
        let f = commit
            .parents
            .iter()
            .copied()
            .find(|&p| g.commits[p].key == commit.key);
        unresolvable = f.is_none() && !changed;
        f
    };
    let converted = changed && blob.is_some();
    let info = Info {
        must_continue: !(converted || unresolvable) && child.must_continue,
        changelog_removed: Some(!converted && (child.changelog_removed.unwrap_or(false) || our_removed)),
    };
    let top = ChangelogTop {
        changed,
        blob,
        follow,
        unresolvable,
        spec_present: commit.spec.is_some(),
        child_removed: child.changelog_removed.unwrap_or(false),
    };
    (info, top)
}

/// Memoised spec evaluation per blob.
pub(crate) struct SpecCache<'r> {
    pub repo: &'r gix::Repository,
    pub predefined: &'r [(String, String)],
    pub by_blob: HashMap<ObjectId, std::rc::Rc<Evaluated>>,
    pub missing: std::rc::Rc<Evaluated>,
}

impl SpecCache<'_> {
    pub fn get(&mut self, blob: Option<ObjectId>) -> std::rc::Rc<Evaluated> {
        let Some(id) = blob else {
            return self.missing.clone();
        };
        if let Some(e) = self.by_blob.get(&id) {
            return e.clone();
        }
        let e = match self.repo.find_blob(id) {
            Ok(b) => crate::specinfo::evaluate(&b.data, self.predefined),
            Err(e) => Evaluated {
                flags: Err(format!("cannot read the spec: {e}")),
                unresolved: Vec::new(),
            },
        };
        let e = std::rc::Rc::new(e);
        self.by_blob.insert(id, e.clone());
        e
    }
}
