//! Natural ordering of label values for `sort_by_label`, as the Go package Prometheus uses
//! (`facette/natsort` at 2cd4dd1): values are split into runs of ASCII digits and runs of
//! anything else; digit runs that fit an `i64` compare as numbers, everything else bytewise.
//! Its quirks are kept (a value whose last chunk ties precedes the other one, even when both
//! end there), because `sort_by_label`'s output order is what upstream's tests check.

fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut digits: Option<bool> = None;
    for (i, c) in s.char_indices() {
        let d = c.is_ascii_digit();
        if digits.is_some_and(|prev| prev != d) {
            if let Some(chunk) = s.get(start..i) {
                out.push(chunk);
            }
            start = i;
        }
        digits = Some(d);
    }
    if let Some(chunk) = s.get(start..).filter(|c| !c.is_empty()) {
        out.push(chunk);
    }
    out
}

fn as_int(chunk: &str) -> Option<i64> {
    if chunk.bytes().all(|b| b.is_ascii_digit()) {
        chunk.parse().ok()
    } else {
        None
    }
}

/// Whether `a` precedes `b` in natural order.
pub(crate) fn natural_less(a: &str, b: &str) -> bool {
    let ca = chunks(a);
    let cb = chunks(b);
    let (na, nb) = (ca.len(), cb.len());
    for (i, x) in ca.iter().enumerate() {
        let Some(y) = cb.get(i) else {
            return false;
        };
        let tied = match (as_int(x), as_int(y)) {
            (Some(xi), Some(yi)) => {
                if xi != yi {
                    return xi < yi;
                }
                true
            }
            _ => {
                if x != y {
                    return x < y;
                }
                true
            }
        };
        if tied {
            if i == na - 1 {
                return true;
            }
            if i == nb - 1 {
                return false;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_numerically() {
        let mut v = vec!["10", "2", "1", "100", "21", "0", "3", "11", "12", "20"];
        v.sort_by(|a, b| {
            if a == b {
                std::cmp::Ordering::Equal
            } else if natural_less(a, b) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        assert_eq!(v, ["0", "1", "2", "3", "10", "11", "12", "20", "21", "100"]);
    }

    #[test]
    fn mixed_chunks() {
        assert!(natural_less("4m5", "4m600"));
        assert!(natural_less("4m600", "4m1000"));
        assert!(natural_less("1.2.3", "1.11.3"));
        assert!(natural_less("1.11.3", "1.111.3"));
        assert!(natural_less("api-server", "app-server"));
        assert!(!natural_less("", "a"));
        assert!(!natural_less("b", "a"));
    }
}
