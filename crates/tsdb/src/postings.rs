//! Postings: sorted lists of series ids per label pair, set operations over them, and the
//! resolution of label matchers into a list, shared by the head and by blocks through
//! [`IndexView`].
//!
//! Matcher semantics are Prometheus's: a series without a label sees the empty string, so a
//! matcher that matches "" selects series lacking the label plus those whose value matches; it is
//! computed as "all series minus those whose value does not match".

use vigil_model::{MatchOp, Matcher};

/// What matcher resolution needs from an index.
pub trait IndexView {
    /// Every series id, sorted.
    fn all_postings(&self) -> Vec<u64>;
    /// Ids of series having label `name` with exactly `value`, sorted.
    fn postings_exact(&self, name: &str, value: &str) -> Vec<u64>;
    /// Ids of series having label `name` with a value for which `pred` holds, sorted, unique.
    fn postings_matching(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> Vec<u64>;
}

/// Sorted ids of series matching all `matchers` (every series when there are none).
pub fn postings_for_matchers(ix: &dyn IndexView, matchers: &[Matcher]) -> Vec<u64> {
    let mut positive: Vec<Vec<u64>> = Vec::new();
    let mut negative: Vec<Vec<u64>> = Vec::new();
    for m in matchers {
        if m.matches_empty() {
            let excl = ix.postings_matching(&m.name, &mut |v| !m.matches(v));
            if !excl.is_empty() {
                negative.push(excl);
            }
        } else {
            let p = if m.op == MatchOp::Equal {
                ix.postings_exact(&m.name, &m.value)
            } else {
                ix.postings_matching(&m.name, &mut |v| m.matches(v))
            };
            if p.is_empty() {
                return Vec::new();
            }
            positive.push(p);
        }
    }
    positive.sort_by_key(Vec::len);
    let mut it = positive.into_iter();
    let mut acc = match it.next() {
        Some(first) => first,
        None => ix.all_postings(),
    };
    for p in it {
        acc = intersect(&acc, &p);
        if acc.is_empty() {
            return acc;
        }
    }
    for n in &negative {
        acc = subtract(&acc, n);
    }
    acc
}

/// Intersection of two sorted lists.
pub fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(*x);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// `a` minus `b`, both sorted.
pub fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for x in a {
        while b.get(j).is_some_and(|y| y < x) {
            j += 1;
        }
        if b.get(j) != Some(x) {
            out.push(*x);
        }
    }
    out
}

/// Union of sorted lists.
pub fn union(lists: Vec<Vec<u64>>) -> Vec<u64> {
    let mut lists = lists;
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut all: Vec<u64> = lists.into_iter().flatten().collect();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

/// Inserts `id` into a sorted list (usually at the end: ids grow over time).
pub fn insert_sorted(list: &mut Vec<u64>, id: u64) {
    match list.last() {
        None => list.push(id),
        Some(last) if *last < id => list.push(id),
        _ => {
            if let Err(pos) = list.binary_search(&id) {
                list.insert(pos, id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Fake(BTreeMap<(String, String), Vec<u64>>, Vec<u64>);

    impl IndexView for Fake {
        fn all_postings(&self) -> Vec<u64> {
            self.1.clone()
        }
        fn postings_exact(&self, name: &str, value: &str) -> Vec<u64> {
            self.0
                .get(&(name.to_owned(), value.to_owned()))
                .cloned()
                .unwrap_or_default()
        }
        fn postings_matching(&self, name: &str, pred: &mut dyn FnMut(&str) -> bool) -> Vec<u64> {
            union(
                self.0
                    .iter()
                    .filter(|((n, v), _)| n == name && pred(v))
                    .map(|(_, p)| p.clone())
                    .collect(),
            )
        }
    }

    #[test]
    fn set_ops() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5]), vec![3, 5]);
        assert_eq!(subtract(&[1, 3, 5, 7], &[3, 4, 5]), vec![1, 7]);
        assert_eq!(union(vec![vec![1, 5], vec![2, 5, 9]]), vec![1, 2, 5, 9]);
        let mut l = vec![1, 5, 9];
        insert_sorted(&mut l, 7);
        insert_sorted(&mut l, 10);
        insert_sorted(&mut l, 7);
        assert_eq!(l, vec![1, 5, 7, 9, 10]);
    }

    #[test]
    fn matcher_semantics() {
        let mut m = BTreeMap::new();
        m.insert(("job".to_owned(), "a".to_owned()), vec![1, 2]);
        m.insert(("job".to_owned(), "b".to_owned()), vec![3]);
        m.insert(("env".to_owned(), "prod".to_owned()), vec![1, 3]);
        let ix = Fake(m, vec![1, 2, 3, 4]);
        let q = |ms: &[Matcher]| postings_for_matchers(&ix, ms);
        let mk = |op, n: &str, v: &str| Matcher::new(op, n, v).expect("matcher");
        assert_eq!(q(&[mk(MatchOp::Equal, "job", "a")]), vec![1, 2]);
        assert_eq!(q(&[mk(MatchOp::NotEqual, "job", "a")]), vec![3, 4]);
        assert_eq!(q(&[mk(MatchOp::Equal, "env", "")]), vec![2, 4]);
        assert_eq!(q(&[mk(MatchOp::NotEqual, "env", "")]), vec![1, 3]);
        assert_eq!(
            q(&[
                mk(MatchOp::Regex, "job", "a|b"),
                mk(MatchOp::NotRegex, "env", "prod")
            ]),
            vec![2]
        );
        assert_eq!(q(&[]), vec![1, 2, 3, 4]);
        assert_eq!(q(&[mk(MatchOp::Equal, "job", "zzz")]), Vec::<u64>::new());
    }
}
