//! The routing tree (Alertmanager's `dispatch/route.go`): which receivers an alert goes to, and
//! how it is grouped there.
//!
//! Matching is depth first, left to right: a node matches when its matchers hold; its children
//! are tried in order and the first that matches ends the search on that level unless it has
//! `continue: true`; a node none of whose children match is itself a result. Options are
//! inherited from the parent unless set. As in Alertmanager 0.25, `mute_time_intervals` and
//! `active_time_intervals` are *not* inherited, and an empty `group_by: []` keeps the parent's.
//!
//! The tree is an arena: nodes are addressed by [`RouteIndex`] (position in a pre-order walk,
//! the root is 0), so a dispatcher can key its aggregation groups by index and a route's
//! identity survives being handed across threads.

use std::collections::BTreeSet;

use vigil_model::Labels;

use crate::fingerprint::Fingerprint;
use crate::matcher::Matchers;

/// Position of a route in the tree's pre-order walk; the root is `RouteIndex(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteIndex(pub usize);

/// The defaults of the root route.
pub const DEFAULT_GROUP_WAIT_MS: u64 = 30_000;
pub const DEFAULT_GROUP_INTERVAL_MS: u64 = 5 * 60_000;
pub const DEFAULT_REPEAT_INTERVAL_MS: u64 = 4 * 3_600_000;

/// Options of a route after inheritance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOpts {
    pub receiver: String,
    /// Labels to group by (ignored when `group_by_all`).
    pub group_by: BTreeSet<String>,
    /// `group_by: ['...']`: every label of the alert.
    pub group_by_all: bool,
    pub group_wait_ms: u64,
    pub group_interval_ms: u64,
    pub repeat_interval_ms: u64,
    /// Names of time intervals during which notifications are muted.
    pub mute_time_intervals: Vec<String>,
    /// Names of time intervals outside which notifications are muted (none: always active).
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOpts {
    fn default() -> Self {
        RouteOpts {
            receiver: String::new(),
            group_by: BTreeSet::new(),
            group_by_all: false,
            group_wait_ms: DEFAULT_GROUP_WAIT_MS,
            group_interval_ms: DEFAULT_GROUP_INTERVAL_MS,
            repeat_interval_ms: DEFAULT_REPEAT_INTERVAL_MS,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// One node of the tree.
#[derive(Debug, Clone)]
pub struct Route {
    pub index: RouteIndex,
    pub parent: Option<RouteIndex>,
    pub children: Vec<RouteIndex>,
    /// Sorted (name, value, type), `match` and `match_re` included.
    pub matchers: Matchers,
    pub continue_matching: bool,
    pub opts: RouteOpts,
    key: String,
    id: String,
}

impl Route {
    /// Alertmanager's route key: the matchers of every node from the root down, joined by `/`
    /// (`{}/{severity="critical"}`). Not unique in general; it is the prefix of group keys.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Alertmanager's route ID (added after 0.25): the key with each node's position among its
    /// siblings appended (`{}/{severity="critical"}/0`), unique within a tree.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The alert's labels this route groups by.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        let kept = labels
            .iter()
            .filter(|l| self.opts.group_by_all || self.opts.group_by.contains(&l.name))
            .cloned()
            .collect();
        Labels::from_sorted_unchecked(kept)
    }

    /// The group key Alertmanager puts in notifications (`groupKey` of webhooks):
    /// `{route key}:{a="b", c="d"}` with Go-quoted values.
    pub fn group_key(&self, group_labels: &Labels) -> String {
        let mut s = String::with_capacity(self.key.len() + 32);
        s.push_str(&self.key);
        s.push_str(":{");
        for (i, l) in group_labels.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&l.name);
            s.push('=');
            s.push_str(&vigil_model::go_quote(&l.value, false));
        }
        s.push('}');
        s
    }

    /// The fingerprint of the group labels, which Alertmanager uses to find a route's group.
    pub fn group_fingerprint(group_labels: &Labels) -> Fingerprint {
        Fingerprint::of(group_labels)
    }
}

/// A node as the config validation hands it over: its own settings, children already built.
#[derive(Debug, Default)]
pub(crate) struct RouteSpec {
    pub receiver: Option<String>,
    /// `Some` when at least one label other than `...` was listed.
    pub group_by: Option<BTreeSet<String>>,
    pub group_by_all: bool,
    pub group_wait_ms: Option<u64>,
    pub group_interval_ms: Option<u64>,
    pub repeat_interval_ms: Option<u64>,
    pub matchers: Matchers,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    pub continue_matching: bool,
    pub routes: Vec<RouteSpec>,
}

/// The whole tree.
#[derive(Debug, Clone)]
pub struct RoutingTree {
    nodes: Vec<Route>,
}

impl RoutingTree {
    pub(crate) fn build(root: RouteSpec) -> RoutingTree {
        let mut tree = RoutingTree { nodes: Vec::new() };
        tree.add(root, None, None);
        tree
    }

    fn add(
        &mut self,
        spec: RouteSpec,
        parent: Option<RouteIndex>,
        pos: Option<usize>,
    ) -> RouteIndex {
        let parent_node = parent.and_then(|p| self.nodes.get(p.0));
        let mut opts = parent_node.map_or_else(RouteOpts::default, |p| p.opts.clone());
        if let Some(r) = spec.receiver.filter(|r| !r.is_empty()) {
            opts.receiver = r;
        }
        if let Some(g) = spec.group_by {
            opts.group_by = g;
            opts.group_by_all = false;
        } else if spec.group_by_all {
            opts.group_by_all = true;
        }
        if let Some(v) = spec.group_wait_ms {
            opts.group_wait_ms = v;
        }
        if let Some(v) = spec.group_interval_ms {
            opts.group_interval_ms = v;
        }
        if let Some(v) = spec.repeat_interval_ms {
            opts.repeat_interval_ms = v;
        }
        opts.mute_time_intervals = spec.mute_time_intervals;
        opts.active_time_intervals = spec.active_time_intervals;
        let mut matchers = spec.matchers;
        matchers.sort();
        let own = matchers.to_string();
        let (key, id) = match (parent_node, pos) {
            (Some(p), Some(pos)) => (format!("{}/{own}", p.key), format!("{}/{own}/{pos}", p.id)),
            _ => (own.clone(), own),
        };
        let index = RouteIndex(self.nodes.len());
        self.nodes.push(Route {
            index,
            parent,
            children: Vec::new(),
            matchers,
            continue_matching: spec.continue_matching,
            opts,
            key,
            id,
        });
        for (i, child) in spec.routes.into_iter().enumerate() {
            let c = self.add(child, Some(index), Some(i));
            if let Some(n) = self.nodes.get_mut(index.0) {
                n.children.push(c);
            }
        }
        index
    }

    /// The root route.
    pub fn root(&self) -> &Route {
        // The tree is never empty: `build` always pushes the root first.
        &self.nodes[0]
    }

    pub fn get(&self, i: RouteIndex) -> Option<&Route> {
        self.nodes.get(i.0)
    }

    /// Every route in pre-order (parents before children, siblings in file order).
    pub fn walk(&self) -> impl Iterator<Item = &Route> {
        self.nodes.iter()
    }

    /// The routes an alert with `labels` is delivered through, in tree order; empty only when
    /// the root itself does not match (it has no matchers, so never for a valid config).
    pub fn match_labels(&self, labels: &Labels) -> Vec<&Route> {
        let mut out = Vec::new();
        self.match_node(RouteIndex(0), labels, &mut out);
        out
    }

    fn match_node<'a>(&'a self, i: RouteIndex, labels: &Labels, out: &mut Vec<&'a Route>) -> bool {
        let Some(node) = self.nodes.get(i.0) else {
            return false;
        };
        if !node.matchers.matches(labels) {
            return false;
        }
        let before = out.len();
        for c in &node.children {
            let matched = self.match_node(*c, labels, out);
            let cont = self.nodes.get(c.0).is_some_and(|n| n.continue_matching);
            if matched && !cont {
                break;
            }
        }
        if out.len() == before {
            out.push(node);
        }
        true
    }

    /// The receiver names an alert routes to, in order (what `amtool config routes test`
    /// prints, comma-separated).
    pub fn receivers_for(&self, labels: &Labels) -> Vec<&str> {
        self.match_labels(labels)
            .into_iter()
            .map(|r| r.opts.receiver.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::parse_matchers;

    fn spec(matchers: &str, receiver: &str, cont: bool, routes: Vec<RouteSpec>) -> RouteSpec {
        RouteSpec {
            receiver: (!receiver.is_empty()).then(|| receiver.to_owned()),
            matchers: Matchers(parse_matchers(matchers).expect("matchers")),
            continue_matching: cont,
            routes,
            ..RouteSpec::default()
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).expect("labels")
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let mut root = spec(
            "",
            "default",
            false,
            vec![
                spec(
                    "team=a",
                    "a",
                    true,
                    vec![spec("severity=page", "a-pager", false, vec![])],
                ),
                spec("team=~a|b", "ab", false, vec![]),
                spec("team=a", "never", false, vec![]),
            ],
        );
        root.group_by = Some(BTreeSet::from(["alertname".to_owned()]));
        let t = RoutingTree::build(root);
        assert_eq!(t.receivers_for(&labels(&[("team", "a")])), vec!["a", "ab"]);
        assert_eq!(
            t.receivers_for(&labels(&[("team", "a"), ("severity", "page")])),
            vec!["a-pager", "ab"]
        );
        assert_eq!(t.receivers_for(&labels(&[("team", "c")])), vec!["default"]);
        let pager = t.match_labels(&labels(&[("team", "a"), ("severity", "page")]));
        let first = pager.first().expect("route");
        assert_eq!(first.key(), r#"{}/{team="a"}/{severity="page"}"#);
        assert_eq!(first.id(), r#"{}/{team="a"}/0/{severity="page"}/0"#);
        assert_eq!(
            first.opts.group_by,
            BTreeSet::from(["alertname".to_owned()])
        );
    }

    #[test]
    fn group_key_quotes_like_go() {
        let mut root = spec("", "r", false, vec![]);
        root.group_by_all = true;
        let t = RoutingTree::build(root);
        let l = labels(&[("b", "x\"y"), ("a", "1")]);
        let g = t.root().group_labels(&l);
        assert_eq!(t.root().group_key(&g), r#"{}:{a="1", b="x\"y"}"#);
    }
}
