//! One column of a dataset window, as the drift statistics read it.

/// Whether a column is compared as numbers or as categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Real numbers (integers included).
    Numerical,
    /// Labels compared by equality.
    Categorical,
}

impl ColumnKind {
    /// The kind's name as it serialises: `numerical` or `categorical`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Numerical => "numerical",
            ColumnKind::Categorical => "categorical",
        }
    }
}

/// A column's values; `None` is a missing value.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Numbers. NaN and ±inf are missing values: [`Column::numerical`] turns them into `None`.
    Numerical(Vec<Option<f64>>),
    /// Categories.
    Categorical(Vec<Option<String>>),
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The feature's name.
    pub name: String,
    /// Its values.
    pub values: Values,
}

impl Column {
    /// A numerical column; non-finite values become missing, as Evidently treats them.
    pub fn numerical(
        name: impl Into<String>,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Self {
        Column {
            name: name.into(),
            values: Values::Numerical(
                values
                    .into_iter()
                    .map(|v| v.filter(|x| x.is_finite()))
                    .collect(),
            ),
        }
    }

    /// A categorical column.
    pub fn categorical(
        name: impl Into<String>,
        values: impl IntoIterator<Item = Option<String>>,
    ) -> Self {
        Column {
            name: name.into(),
            values: Values::Categorical(values.into_iter().collect()),
        }
    }

    /// A column of the same name and kind without rows.
    pub fn empty_like(&self) -> Column {
        Column {
            name: self.name.clone(),
            values: match self.values {
                Values::Numerical(_) => Values::Numerical(Vec::new()),
                Values::Categorical(_) => Values::Categorical(Vec::new()),
            },
        }
    }

    /// The column's kind.
    pub fn kind(&self) -> ColumnKind {
        match self.values {
            Values::Numerical(_) => ColumnKind::Numerical,
            Values::Categorical(_) => ColumnKind::Categorical,
        }
    }

    /// Number of rows, missing values included.
    pub fn len(&self) -> usize {
        match &self.values {
            Values::Numerical(v) => v.len(),
            Values::Categorical(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
