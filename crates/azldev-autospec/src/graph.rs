//! The commit graph of a package, read with gix: every commit reachable from
//! the head, and for a package in a subdirectory (`dist-git-path`) the
//! history simplified to the commits that change that directory, the way
//! `git rev-list --simplify-merges -- <dir>` (and so `git filter-branch
//! --subdirectory-filter`) sees it.

use std::collections::{HashMap, HashSet, VecDeque};

use gix::ObjectId;

use crate::Error;

/// A commit as the history walk needs it.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    pub id: ObjectId,
    /// Parents, as indices into the graph.
    pub parents: Vec<usize>,
    /// What merges compare to find the parent they follow: the root tree,
    /// or the package directory's tree (`None` when it does not exist).
    pub key: Option<ObjectId>,
    /// The spec's entry (a blob, unless the repository is odd).
    pub spec: Option<ObjectId>,
    /// The `changelog` blob.
    pub changelog: Option<ObjectId>,
    /// Committer time, Unix seconds.
    pub time: i64,
    /// `Name <email>` of the author.
    pub author: String,
    pub message: String,
}

/// The graph; index 0 is the head.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub commits: Vec<Commit>,
}

fn git(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Git {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

/// An entry of a tree: its object and whether it is a tree.
type TreeEntry = Option<(ObjectId, bool)>;

/// Memoised tree lookups: (tree, name) → entry.
struct Trees<'r> {
    repo: &'r gix::Repository,
    cache: HashMap<(ObjectId, Vec<u8>), TreeEntry>,
}

impl Trees<'_> {
    /// The entry `name` of `tree`: its object and whether it is a tree.
    fn entry(&mut self, tree: ObjectId, name: &[u8]) -> Result<TreeEntry, Error> {
        let key = (tree, name.to_vec());
        if let Some(v) = self.cache.get(&key) {
            return Ok(*v);
        }
        let t = self.repo.find_tree(tree).map_err(|e| git("read a tree", e))?;
        let found = t.find_entry(name).map(|e| (e.object_id(), e.mode().is_tree()));
        self.cache.insert(key, found);
        Ok(found)
    }

    /// The tree at `dir` (components) under `root`.
    fn subtree(&mut self, root: ObjectId, dir: &[&str]) -> Result<Option<ObjectId>, Error> {
        let mut cur = root;
        for comp in dir {
            match self.entry(cur, comp.as_bytes())? {
                Some((id, true)) => cur = id,
                _ => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    fn blob(&mut self, tree: Option<ObjectId>, name: &str) -> Result<Option<ObjectId>, Error> {
        let Some(tree) = tree else { return Ok(None) };
        Ok(self
            .entry(tree, name.as_bytes())?
            .filter(|(_, is_tree)| !is_tree)
            .map(|(id, _)| id))
    }

    /// Any entry (a spec that is a directory still counts as present).
    fn any(&mut self, tree: Option<ObjectId>, name: &str) -> Result<Option<ObjectId>, Error> {
        let Some(tree) = tree else { return Ok(None) };
        Ok(self.entry(tree, name.as_bytes())?.map(|(id, _)| id))
    }
}

/// Read every commit reachable from `head` and build the package's graph.
/// `dir` is the package directory inside the repository ("" for the root).
pub(crate) fn load(
    repo: &gix::Repository,
    head: ObjectId,
    dir: &str,
    spec_name: &str,
) -> Result<Graph, Error> {
    let comps: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    let mut trees = Trees {
        repo,
        cache: HashMap::new(),
    };
    // All commits, in discovery order from the head.
    let mut index: HashMap<ObjectId, usize> = HashMap::new();
    let mut raw: Vec<(Commit, Vec<ObjectId>)> = Vec::new();
    let mut stack = vec![head];
    index.insert(head, 0);
    let mut order = vec![head];
    while let Some(id) = stack.pop() {
        let c = repo
            .find_commit(id)
            .map_err(|_| Error::NoCommit(id.to_string()))?;
        let d = c.decode().map_err(|e| git("decode a commit", e))?;
        let parents: Vec<ObjectId> = d.parents().collect();
        let tree = d.tree();
        let author = d.author();
        let author = format!("{} <{}>", author.name, author.email);
        let time = c.time().map_err(|e| git("read a commit date", e))?.seconds;
        let message = String::from_utf8_lossy(d.message).into_owned();
        let pkg = trees.subtree(tree, &comps)?;
        let spec = trees.any(pkg, spec_name)?;
        let changelog = trees.blob(pkg, "changelog")?;
        let key = if comps.is_empty() { Some(tree) } else { pkg };
        for p in &parents {
            if !index.contains_key(p) {
                index.insert(*p, order.len());
                order.push(*p);
                stack.push(*p);
            }
        }
        raw.push((
            Commit {
                id,
                parents: Vec::new(),
                key,
                spec,
                changelog,
                time,
                author,
                message,
            },
            parents,
        ));
    }
    let mut commits: Vec<Option<Commit>> = vec![None; order.len()];
    for (mut c, parents) in raw {
        c.parents = parents.iter().filter_map(|p| index.get(p).copied()).collect();
        let i = index[&c.id];
        commits[i] = Some(c);
    }
    let commits: Vec<Commit> = commits.into_iter().flatten().collect();
    let graph = Graph { commits };
    if comps.is_empty() {
        Ok(graph)
    } else {
        Ok(simplify(graph))
    }
}

/// History simplification for a path: keep the commits whose package
/// directory differs from every parent (a merge equal to one parent is
/// replaced by that parent's history), rewrite parents to the nearest kept
/// ancestors, drop parents that are ancestors of other parents, and replace
/// a merge left with one parent equal to it by that parent.
fn simplify(g: Graph) -> Graph {
    let n = g.commits.len();
    let key = |i: usize| g.commits[i].key;
    // Parents followed by default simplification.
    let followed: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let ps = &g.commits[i].parents;
            if ps.len() > 1
                && let Some(&p) = ps.iter().find(|&&p| key(p) == key(i))
            {
                return vec![p];
            }
            ps.clone()
        })
        .collect();
    let interesting: Vec<bool> = (0..n)
        .map(|i| {
            let ps = &g.commits[i].parents;
            match ps.len() {
                0 => key(i).is_some(),
                _ => ps.iter().all(|&p| key(p) != key(i)),
            }
        })
        .collect();
    // Nearest interesting commit at or below `i`, following followed parents.
    let mut memo: Vec<Option<Option<usize>>> = vec![None; n];
    let mut nearest = |start: usize| -> Option<usize> {
        let mut path = Vec::new();
        let mut cur = Some(start);
        let found = loop {
            let Some(c) = cur else { break None };
            if let Some(m) = memo[c] {
                break m;
            }
            if interesting[c] {
                break Some(c);
            }
            path.push(c);
            cur = followed[c].first().copied();
        };
        for p in path {
            memo[p] = Some(found);
        }
        found
    };
    // The kept commits reachable from the head, with rewritten parents.
    let Some(top) = nearest(0) else {
        return Graph {
            commits: vec![Commit {
                parents: Vec::new(),
                ..g.commits[0].clone()
            }],
        };
    };
    let mut rewritten: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut queue = VecDeque::from([top]);
    while let Some(c) = queue.pop_front() {
        if rewritten.contains_key(&c) {
            continue;
        }
        let mut ps: Vec<usize> = Vec::new();
        for &p in &followed[c] {
            if let Some(r) = nearest(p)
                && !ps.contains(&r)
            {
                ps.push(r);
            }
        }
        queue.extend(ps.iter().copied());
        rewritten.insert(c, ps);
    }
    // Topological order, parents first.
    let order = topo(top, |c| rewritten.get(&c).cloned().unwrap_or_default());
    // --simplify-merges: drop redundant parents; a commit left with one
    // parent equal to it is replaced by that parent.
    let mut replaced: HashMap<usize, usize> = HashMap::new();
    let mut final_parents: HashMap<usize, Vec<usize>> = HashMap::new();
    for &c in &order {
        let mut ps: Vec<usize> = Vec::new();
        for p in rewritten.get(&c).cloned().unwrap_or_default() {
            let r = replaced.get(&p).copied().unwrap_or(p);
            if !ps.contains(&r) {
                ps.push(r);
            }
        }
        if ps.len() > 1 {
            let all = ps.clone();
            ps.retain(|&p| !all.iter().any(|&q| q != p && is_ancestor(p, q, &final_parents)));
        }
        if ps.len() == 1 && rewritten.get(&c).is_some_and(|r| r.len() > 1) && key(ps[0]) == key(c) {
            replaced.insert(c, ps[0]);
        }
        final_parents.insert(c, ps);
    }
    let head = replaced.get(&top).copied().unwrap_or(top);
    // Renumber, head first.
    let keep = topo(head, |c| final_parents.get(&c).cloned().unwrap_or_default());
    let mut new_index: HashMap<usize, usize> = HashMap::new();
    for (k, &c) in keep.iter().rev().enumerate() {
        new_index.insert(c, k);
    }
    let mut commits: Vec<Commit> = Vec::with_capacity(keep.len());
    for &c in keep.iter().rev() {
        let mut commit = g.commits[c].clone();
        commit.parents = final_parents
            .get(&c)
            .map(|ps| ps.iter().filter_map(|p| new_index.get(p).copied()).collect())
            .unwrap_or_default();
        commits.push(commit);
    }
    Graph { commits }
}

/// Whether `a` is an ancestor of `b` in the (partial) parent map.
fn is_ancestor(a: usize, b: usize, parents: &HashMap<usize, Vec<usize>>) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![b];
    while let Some(c) = stack.pop() {
        for &p in parents.get(&c).map(Vec::as_slice).unwrap_or(&[]) {
            if p == a {
                return true;
            }
            if seen.insert(p) {
                stack.push(p);
            }
        }
    }
    false
}

/// Post-order from `start` over `parents`: every commit after its parents.
pub(crate) fn topo(start: usize, parents: impl Fn(usize) -> Vec<usize>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(start, parents(start), 0)];
    seen.insert(start);
    while let Some((c, ps, i)) = stack.last_mut() {
        if *i < ps.len() {
            let p = ps[*i];
            *i += 1;
            if seen.insert(p) {
                let pp = parents(p);
                stack.push((p, pp, 0));
            }
        } else {
            out.push(*c);
            stack.pop();
        }
    }
    out
}
