//! The operators themselves, on single values.

use promql_parser::parser::token::{
    TokenType, T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS,
    T_MOD, T_MUL, T_NEQ, T_POW, T_SUB,
};

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    pub fn from_token(t: TokenType) -> Option<Op> {
        Some(match t.id() {
            T_ADD => Op::Add,
            T_SUB => Op::Sub,
            T_MUL => Op::Mul,
            T_DIV => Op::Div,
            T_MOD => Op::Mod,
            T_POW => Op::Pow,
            T_ATAN2 => Op::Atan2,
            T_EQLC => Op::Eq,
            T_NEQ => Op::Ne,
            T_GTR => Op::Gt,
            T_LSS => Op::Lt,
            T_GTE => Op::Ge,
            T_LTE => Op::Le,
            T_LAND => Op::And,
            T_LOR => Op::Or,
            T_LUNLESS => Op::Unless,
            _ => return None,
        })
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    pub fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// Arithmetic changes what the value means, so the result loses the metric name (and the
    /// other metadata labels, `__type__` and `__unit__`).
    pub fn changes_schema(self) -> bool {
        matches!(
            self,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod | Op::Pow | Op::Atan2
        )
    }
}

/// Token text of an unsupported operator, for error messages.
pub(crate) fn token_text(t: TokenType) -> String {
    t.to_string()
}

/// Between two scalars: comparisons give 1 or 0 (the parser only allows them with `bool`).
pub(crate) fn scalar_op(op: Op, l: f64, r: f64) -> f64 {
    let (v, keep) = elem_op(op, l, r);
    if op.is_comparison() {
        if keep {
            1.0
        } else {
            0.0
        }
    } else {
        v
    }
}

/// Between two vector elements (or an element and a scalar, in their original order):
/// the value, and whether a filtering comparison keeps the element. A comparison's value is
/// its left operand. `%` is IEEE `fmod` (Go's `math.Mod`), and division by zero gives ±Inf or
/// NaN.
#[inline]
pub(crate) fn elem_op(op: Op, l: f64, r: f64) -> (f64, bool) {
    match op {
        Op::Add => (l + r, true),
        Op::Sub => (l - r, true),
        Op::Mul => (l * r, true),
        Op::Div => (l / r, true),
        Op::Mod => (l % r, true),
        Op::Pow => (l.powf(r), true),
        Op::Atan2 => (l.atan2(r), true),
        Op::Eq => (l, l == r),
        Op::Ne => (l, l != r),
        Op::Gt => (l, l > r),
        Op::Lt => (l, l < r),
        Op::Ge => (l, l >= r),
        Op::Le => (l, l <= r),
        Op::And | Op::Or | Op::Unless => (l, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_semantics_of_division_and_modulo() {
        assert_eq!(elem_op(Op::Div, 1.0, 0.0).0, f64::INFINITY);
        assert_eq!(elem_op(Op::Div, -1.0, 0.0).0, f64::NEG_INFINITY);
        assert!(elem_op(Op::Div, 0.0, 0.0).0.is_nan());
        assert!(elem_op(Op::Mod, 5.0, 0.0).0.is_nan());
        assert_eq!(elem_op(Op::Mod, -7.0, 3.0).0, -1.0);
        assert_eq!(elem_op(Op::Mod, 7.5, f64::INFINITY).0, 7.5);
        assert!(elem_op(Op::Mod, f64::INFINITY, 2.0).0.is_nan());
        assert_eq!(elem_op(Op::Mod, 1000.0, 0.3).0, 1000.0 % 0.3);
        assert_eq!(elem_op(Op::Pow, 2.0, 9.0).0, 512.0);
        assert_eq!(elem_op(Op::Pow, 1.0, f64::NAN).0, 1.0);
    }

    #[test]
    fn comparisons() {
        assert_eq!(elem_op(Op::Gt, 3.0, 2.0), (3.0, true));
        assert_eq!(elem_op(Op::Le, 3.0, 2.0), (3.0, false));
        assert!(!elem_op(Op::Eq, f64::NAN, f64::NAN).1);
        assert!(elem_op(Op::Ne, f64::NAN, f64::NAN).1);
        assert_eq!(scalar_op(Op::Eq, 1.0, 1.0), 1.0);
        assert_eq!(scalar_op(Op::Eq, 0.0, 1.0), 0.0);
        assert!((scalar_op(Op::Atan2, 10.0, 20.0) - 0.4636476090008061).abs() < 1e-15);
    }
}
