//! One interval's events of one model version: a reservoir sample of at most `cap` rows, kept
//! column by column, and the exact number of events seen.
//!
//! Algorithm R with a generator seeded by the bucket's start time, so that replaying the same
//! events (after a restart) keeps the same sample. A window is read as a uniform sample of all
//! its buckets' events by taking from each bucket the same fraction of what it saw
//! ([`Bucket::sample_into`]): exact while no bucket overflowed.

use crate::ColumnKind;

/// Missing categorical value.
pub(crate) const MISSING_CODE: u32 = u32::MAX;

/// One feature's values in a bucket; NaN / [`MISSING_CODE`] mark missing values.
#[derive(Debug, Clone)]
pub(crate) enum Col {
    Num(Vec<f64>),
    Cat(Vec<u32>),
}

impl Col {
    fn new(kind: ColumnKind, rows: usize) -> Col {
        match kind {
            ColumnKind::Numerical => Col::Num(vec![f64::NAN; rows]),
            ColumnKind::Categorical => Col::Cat(vec![MISSING_CODE; rows]),
        }
    }

    fn set(&mut self, row: usize, v: Cell) {
        match (self, v) {
            (Col::Num(c), Cell::Num(x)) => {
                if let Some(s) = c.get_mut(row) {
                    *s = x;
                }
            }
            (Col::Cat(c), Cell::Cat(x)) => {
                if let Some(s) = c.get_mut(row) {
                    *s = x;
                }
            }
            (Col::Num(c), _) => {
                if let Some(s) = c.get_mut(row) {
                    *s = f64::NAN;
                }
            }
            (Col::Cat(c), _) => {
                if let Some(s) = c.get_mut(row) {
                    *s = MISSING_CODE;
                }
            }
        }
    }

    fn push_missing(&mut self) {
        match self {
            Col::Num(c) => c.push(f64::NAN),
            Col::Cat(c) => c.push(MISSING_CODE),
        }
    }

    fn keep(&mut self, rows: &[usize]) {
        match self {
            Col::Num(c) => *c = rows.iter().filter_map(|&r| c.get(r).copied()).collect(),
            Col::Cat(c) => *c = rows.iter().filter_map(|&r| c.get(r).copied()).collect(),
        }
    }
}

/// One value of one event, by feature index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    Num(f64),
    Cat(u32),
    Missing,
}

/// SplitMix64: small, fast, and good enough to pick reservoir slots.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The generator's state, for a snapshot.
    pub fn state(&self) -> u64 {
        self.0
    }

    /// Uniform in `0..n` (n > 0), by Lemire's multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(n);
        u64::try_from(wide >> 64).unwrap_or(0)
    }
}

/// A bucket of events.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    /// Events seen (sampled or not).
    pub seen: u64,
    /// Event timestamps of the kept rows, ms.
    pub ts: Vec<i64>,
    /// Kept values, one column per schema feature (shorter when features appeared later).
    pub cols: Vec<Col>,
    rng: Rng,
}

impl Bucket {
    pub fn new(start_ms: i64) -> Bucket {
        Bucket {
            seen: 0,
            ts: Vec::new(),
            cols: Vec::new(),
            rng: Rng::new(start_ms.unsigned_abs() ^ 0x5eed_5eed),
        }
    }

    /// A bucket as a snapshot stored it; `None` unless every column has one value per row.
    pub fn restore(seen: u64, ts: Vec<i64>, cols: Vec<Col>, rng_state: u64) -> Option<Bucket> {
        let rows = ts.len();
        let whole = cols.iter().all(|c| match c {
            Col::Num(v) => v.len() == rows,
            Col::Cat(v) => v.len() == rows,
        });
        (whole && seen >= rows as u64).then_some(Bucket {
            seen,
            ts,
            cols,
            rng: Rng::new(rng_state),
        })
    }

    /// The sampling generator's state, for a snapshot.
    pub fn rng_state(&self) -> u64 {
        self.rng.state()
    }

    /// Offers one event (cells by feature index) to the sample; `n_features` and `kind_of` are
    /// the schema's, for columns of features this bucket has not seen yet.
    pub fn offer(
        &mut self,
        ts: i64,
        cells: &[(usize, Cell)],
        n_features: usize,
        kind_of: impl Fn(usize) -> Option<ColumnKind>,
        cap: usize,
    ) {
        self.seen += 1;
        let row = if self.ts.len() < cap {
            self.ts.push(ts);
            for c in &mut self.cols {
                c.push_missing();
            }
            self.ts.len() - 1
        } else {
            let j = self.rng.below(self.seen);
            match usize::try_from(j) {
                Ok(j) if j < self.ts.len() => {
                    if let Some(t) = self.ts.get_mut(j) {
                        *t = ts;
                    }
                    for c in &mut self.cols {
                        c.set(j, Cell::Missing);
                    }
                    j
                }
                _ => return,
            }
        };
        let rows = self.ts.len();
        while self.cols.len() < n_features {
            let kind = kind_of(self.cols.len()).unwrap_or(ColumnKind::Numerical);
            self.cols.push(Col::new(kind, rows));
        }
        for &(f, v) in cells {
            if let Some(c) = self.cols.get_mut(f) {
                c.set(row, v);
            }
        }
    }

    /// Keeps a uniform random subset of at most `cap` rows.
    pub fn shrink(&mut self, cap: usize) {
        if self.ts.len() <= cap {
            return;
        }
        let mut idx: Vec<usize> = (0..self.ts.len()).collect();
        partial_shuffle(&mut idx, cap, &mut self.rng);
        idx.truncate(cap);
        idx.sort_unstable();
        self.ts = idx
            .iter()
            .filter_map(|&r| self.ts.get(r).copied())
            .collect();
        for c in &mut self.cols {
            c.keep(&idx);
        }
    }

    /// The rows with timestamps in `[from, to)`.
    pub fn rows_in(&self, from: i64, to: i64) -> Vec<usize> {
        self.ts
            .iter()
            .enumerate()
            .filter(|(_, &t)| t >= from && t < to)
            .map(|(i, _)| i)
            .collect()
    }

    /// How many events of `[from, to)` this bucket saw, estimated from its kept rows when only
    /// part of the bucket is in range.
    pub fn seen_in(&self, in_range: usize) -> f64 {
        if self.ts.is_empty() {
            return 0.0;
        }
        self.seen as f64 * in_range as f64 / self.ts.len() as f64
    }

    /// Appends `take` of `rows` (chosen at random, seeded by `seed`) to `out`, feature by
    /// feature.
    pub fn sample_into(&self, rows: &[usize], take: usize, seed: u64, out: &mut Sample) {
        let mut chosen: Vec<usize> = rows.to_vec();
        if take < chosen.len() {
            partial_shuffle(&mut chosen, take, &mut Rng::new(seed));
            chosen.truncate(take);
            chosen.sort_unstable();
        }
        out.rows += chosen.len();
        for (f, col) in out.cols.iter_mut().enumerate() {
            match (col, self.cols.get(f)) {
                (SampleCol::Num(dst), Some(Col::Num(src))) => {
                    dst.extend(
                        chosen
                            .iter()
                            .map(|&r| src.get(r).copied().unwrap_or(f64::NAN)),
                    );
                }
                (SampleCol::Cat(dst), Some(Col::Cat(src))) => {
                    dst.extend(
                        chosen
                            .iter()
                            .map(|&r| src.get(r).copied().unwrap_or(MISSING_CODE)),
                    );
                }
                (SampleCol::Num(dst), _) => dst.extend(chosen.iter().map(|_| f64::NAN)),
                (SampleCol::Cat(dst), _) => dst.extend(chosen.iter().map(|_| MISSING_CODE)),
            }
        }
    }
}

/// Moves a uniform random choice of `k` elements to the front (Fisher-Yates, stopped early).
fn partial_shuffle(v: &mut [usize], k: usize, rng: &mut Rng) {
    let n = v.len();
    for i in 0..k.min(n) {
        let span = u64::try_from(n - i).unwrap_or(u64::MAX);
        let j = i + usize::try_from(rng.below(span)).unwrap_or(0);
        v.swap(i, j.min(n - 1));
    }
}

/// A window's sampled values, one column per schema feature.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sample {
    pub rows: usize,
    pub cols: Vec<SampleCol>,
}

/// One feature's sampled values.
#[derive(Debug, Clone)]
pub(crate) enum SampleCol {
    Num(Vec<f64>),
    Cat(Vec<u32>),
}

impl Sample {
    pub fn new(kinds: &[ColumnKind]) -> Sample {
        Sample {
            rows: 0,
            cols: kinds
                .iter()
                .map(|k| match k {
                    ColumnKind::Numerical => SampleCol::Num(Vec::new()),
                    ColumnKind::Categorical => SampleCol::Cat(Vec::new()),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [ColumnKind; 2] = [ColumnKind::Numerical, ColumnKind::Categorical];

    #[test]
    fn keeps_everything_under_the_cap() {
        let mut b = Bucket::new(0);
        for i in 0..10 {
            b.offer(
                i,
                &[(0, Cell::Num(i as f64)), (1, Cell::Cat(1))],
                2,
                |f| KINDS.get(f).copied(),
                100,
            );
        }
        assert_eq!(b.seen, 10);
        assert_eq!(b.ts.len(), 10);
        let mut s = Sample::new(&KINDS);
        b.sample_into(&b.rows_in(0, 100), 10, 1, &mut s);
        assert_eq!(s.rows, 10);
        match &s.cols[0] {
            SampleCol::Num(v) => assert_eq!(v, &(0..10).map(|i| i as f64).collect::<Vec<_>>()),
            SampleCol::Cat(_) => panic!("kind"),
        }
    }

    #[test]
    fn reservoir_is_roughly_uniform() {
        // 100,000 events into 1,000 slots: each tenth of the stream keeps about 100 rows.
        let mut b = Bucket::new(7);
        for i in 0..100_000i64 {
            b.offer(
                i,
                &[(0, Cell::Num(i as f64))],
                1,
                |f| KINDS.get(f).copied(),
                1_000,
            );
        }
        assert_eq!(b.ts.len(), 1_000);
        let mut deciles = [0u32; 10];
        for &t in &b.ts {
            deciles[usize::try_from(t / 10_000).unwrap_or(0)] += 1;
        }
        for d in deciles {
            assert!((60..=140).contains(&d), "{deciles:?}");
        }
    }

    #[test]
    fn a_late_feature_is_missing_for_earlier_rows() {
        let mut b = Bucket::new(0);
        b.offer(1, &[(0, Cell::Num(1.0))], 1, |f| KINDS.get(f).copied(), 10);
        b.offer(
            2,
            &[(0, Cell::Num(2.0)), (1, Cell::Cat(3))],
            2,
            |f| KINDS.get(f).copied(),
            10,
        );
        match &b.cols[1] {
            Col::Cat(v) => assert_eq!(v, &vec![MISSING_CODE, 3]),
            Col::Num(_) => panic!("kind"),
        }
    }

    #[test]
    fn shrink_keeps_a_subset_in_order() {
        let mut b = Bucket::new(0);
        for i in 0..100 {
            b.offer(
                i,
                &[(0, Cell::Num(i as f64))],
                1,
                |f| KINDS.get(f).copied(),
                1_000,
            );
        }
        b.shrink(10);
        assert_eq!(b.ts.len(), 10);
        assert!(b.ts.windows(2).all(|w| w[0] < w[1]));
        match &b.cols[0] {
            Col::Num(v) => assert!(v.iter().zip(&b.ts).all(|(v, t)| *v == *t as f64)),
            Col::Cat(_) => panic!("kind"),
        }
    }
}
