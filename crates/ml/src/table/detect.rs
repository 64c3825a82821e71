//! Column kinds: which columns are numerical and which categorical, and turning text cells into
//! a [`Column`] of that kind.
//!
//! Detection follows what Evidently sees after `pandas.read_csv`: a column whose every
//! non-missing value parses as a number has a numeric dtype and is a numerical feature,
//! anything else (booleans included: pandas gives `True`/`False` columns dtype `bool`) is
//! categorical. A numeric column with few distinct values stays numerical; Evidently changes the
//! stat test for it, not the kind. A column with no values at all is numerical, as pandas reads
//! it as all-NaN `float64`.
//!
//! Missing values: an empty field is missing in every column. In a numerical column (detected or
//! forced) pandas' default `na_values` are missing too, see [`NA_VALUES`]; in a categorical
//! column they stay text, so a label `"NA"` is not lost. This differs from pandas, which applies
//! `na_values` to every column, because a category named `None` or `NA` is data to a drift test.
//!
//! Numbers parse with Rust's `str::parse::<f64>` (correctly rounded, like pandas'
//! `float_precision="round_trip"`), after trimming ASCII whitespace; it accepts `inf`,
//! `-inf`, `infinity` and `NaN`, which [`Column::numerical`] turns into missing values.
//! Not accepted: thousands separators, hexadecimal, `True`/`False`.
//!
//! Does not own: splitting the input into cells (the [`csv`](super::csv) and
//! [`parquet`](super::parquet) readers do).

use std::collections::{HashMap, HashSet};

use super::{Location, TableError, TableLimits, TypeOverrides};
use crate::Column;

/// Text that means "missing" in a CSV column read as numerical: pandas' default `na_values`
/// (`pandas._libs.parsers.STR_NA_VALUES`, the same list in pandas 2.x and 3.x) other than the
/// empty string, which is missing in every column. Matched after trimming ASCII whitespace.
pub const NA_VALUES: [&str; 18] = [
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// A column's kind as the caller asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choice {
    /// Not named in the overrides: detected (CSV) or taken from the stored type (Parquet).
    Auto,
    /// Named in [`TypeOverrides::categorical`].
    Categorical,
    /// Named in [`TypeOverrides::numerical`].
    Numerical,
}

/// Rejects a column named both categorical and numerical.
///
/// # Errors
///
/// [`TableError::ConflictingKinds`] naming the first such column.
pub(super) fn check_overrides(types: &TypeOverrides) -> Result<(), TableError> {
    let categorical: HashSet<&str> = types.categorical.iter().map(String::as_str).collect();
    match types
        .numerical
        .iter()
        .find(|n| categorical.contains(n.as_str()))
    {
        Some(name) => Err(TableError::ConflictingKinds { name: name.clone() }),
        None => Ok(()),
    }
}

/// Each column's [`Choice`], in `names` order.
///
/// # Errors
///
/// [`TableError::UnknownColumn`] for an override naming a column not in `names` (unless
/// [`TypeOverrides::absent_ok`]);
/// [`TableError::ConflictingKinds`] as [`check_overrides`].
pub(super) fn choices(names: &[&str], types: &TypeOverrides) -> Result<Vec<Choice>, TableError> {
    check_overrides(types)?;
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut out = vec![Choice::Auto; names.len()];
    for (list, kind, choice) in [
        (&types.categorical, "categorical", Choice::Categorical),
        (&types.numerical, "numerical", Choice::Numerical),
    ] {
        for name in list {
            match index.get(name.as_str()).and_then(|&i| out.get_mut(i)) {
                Some(slot) => *slot = choice,
                None if types.absent_ok => {}
                None => {
                    return Err(TableError::UnknownColumn {
                        name: name.clone(),
                        kind,
                    })
                }
            }
        }
    }
    Ok(out)
}

/// A cell of a numerical column: `Ok(None)` when missing (empty after trimming, or one of
/// [`NA_VALUES`]), `Ok(Some(x))` for a number, `Err(())` for anything else.
pub(super) fn number(cell: &str) -> Result<Option<f64>, ()> {
    let text = cell.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() || NA_VALUES.contains(&text) {
        return Ok(None);
    }
    text.parse::<f64>().map(Some).map_err(|_| ())
}

/// [`number`] for a cell of column `column`, a non-number being [`TableError::NotNumeric`]
/// at `at()`.
pub(super) fn number_in(
    column: &str,
    cell: &str,
    at: impl FnOnce() -> Location,
) -> Result<Option<f64>, TableError> {
    number(cell).map_err(|()| TableError::NotNumeric {
        at: at(),
        column: column.to_owned(),
        value: cell.to_owned(),
    })
}

/// Builds a column from CSV cells (`None` = an empty field), detecting its kind under
/// `Choice::Auto`. `locate(i)` gives the location of the `i`-th (0-based) cell for errors.
///
/// # Errors
///
/// [`TableError::NotNumeric`] for a non-number in a forced-numerical column;
/// [`TableError::TooManyCategories`] for a categorical column over the limit.
pub(super) fn text_column<'a, I>(
    name: &str,
    cells: I,
    choice: Choice,
    locate: impl Fn(usize) -> Location,
    limits: &TableLimits,
) -> Result<Column, TableError>
where
    I: Iterator<Item = Option<&'a str>> + Clone,
{
    if choice != Choice::Categorical {
        // Each cell is parsed once: under `Auto` the first non-number makes the column
        // categorical and the numbers parsed so far are dropped.
        let mut values = Vec::with_capacity(cells.size_hint().0);
        for (i, cell) in cells.clone().enumerate() {
            let value = match cell {
                None => None,
                Some(text) if choice == Choice::Auto => match number(text) {
                    Ok(value) => value,
                    Err(()) => return text_categories(name, cells, limits),
                },
                Some(text) => number_in(name, text, || locate(i))?,
            };
            values.push(value);
        }
        return Ok(Column::numerical(name, values));
    }
    text_categories(name, cells, limits)
}

/// A categorical column of CSV cells, checked against the category limit before its text is
/// copied.
fn text_categories<'a>(
    name: &str,
    cells: impl Iterator<Item = Option<&'a str>> + Clone,
    limits: &TableLimits,
) -> Result<Column, TableError> {
    check_categories(name, cells.clone().flatten(), limits)?;
    Ok(Column::categorical(
        name,
        cells.map(|c| c.map(str::to_owned)),
    ))
}

/// Checks that a categorical column's distinct values stay within the limit.
///
/// # Errors
///
/// [`TableError::TooManyCategories`] naming the column.
pub(super) fn check_categories<'a>(
    name: &str,
    values: impl Iterator<Item = &'a str>,
    limits: &TableLimits,
) -> Result<(), TableError> {
    let mut seen: HashSet<&str, ahash::RandomState> = HashSet::default();
    for value in values {
        if seen.insert(value) && seen.len() > limits.max_categories_per_column {
            return Err(TableError::TooManyCategories {
                column: name.to_owned(),
                limit: limits.max_categories_per_column,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_accepts_what_pandas_reads_as_float() {
        assert_eq!(number("1"), Ok(Some(1.0)));
        assert_eq!(number(" 2.5 "), Ok(Some(2.5)));
        assert_eq!(number("1e3"), Ok(Some(1000.0)));
        assert_eq!(number(".5"), Ok(Some(0.5)));
        assert_eq!(number("-inf"), Ok(Some(f64::NEG_INFINITY)));
        assert_eq!(number("NA"), Ok(None));
        assert_eq!(number(""), Ok(None));
        assert_eq!(number("  "), Ok(None));
        assert_eq!(number("true"), Err(()));
        assert_eq!(number("1,000"), Err(()));
        assert_eq!(number("0x10"), Err(()));
    }

    #[test]
    fn number_is_correctly_rounded() {
        // The halfway case that naive digit-by-digit parsers get wrong.
        assert_eq!(number("9007199254740993"), Ok(Some(9007199254740992.0)));
        assert_eq!(number("0.1"), Ok(Some(0.1)));
    }

    #[test]
    fn choices_reject_unknown_and_conflicting_names() {
        let types = TypeOverrides {
            categorical: vec!["b".into()],
            numerical: vec!["a".into()],
            ..TypeOverrides::default()
        };
        assert_eq!(
            choices(&["a", "b", "c"], &types),
            Ok(vec![Choice::Numerical, Choice::Categorical, Choice::Auto])
        );
        let unknown = TypeOverrides {
            numerical: vec!["z".into()],
            ..TypeOverrides::default()
        };
        assert_eq!(
            choices(&["a"], &unknown),
            Err(TableError::UnknownColumn {
                name: "z".into(),
                kind: "numerical"
            })
        );
        // Passed over when absent columns are allowed (a reference lacking a configured
        // feature).
        let absent_ok = TypeOverrides {
            absent_ok: true,
            ..unknown
        };
        assert_eq!(choices(&["a"], &absent_ok), Ok(vec![Choice::Auto]));
        let both = TypeOverrides {
            categorical: vec!["a".into()],
            numerical: vec!["a".into()],
            ..TypeOverrides::default()
        };
        assert_eq!(
            choices(&["a"], &both),
            Err(TableError::ConflictingKinds { name: "a".into() })
        );
    }
}
