//! The errors of the tuners: an invalid config ([`ConfigError`], with the range checks that
//! name the field), a rejected step ([`StepError`]) and a state that cannot be restored
//! ([`StateError`]). The bottom of `tuners/`: it imports nothing from it.

/// An invalid tuner or base-optimizer config.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigError {
    /// A name that is not one of `valid`.
    UnknownName {
        /// `"tuner"` or `"base optimizer"`.
        kind: &'static str,
        /// What was given.
        given: String,
        /// The valid names.
        valid: &'static [&'static str],
    },
    /// A hyperparameter out of its range.
    Invalid {
        /// The field, as `tuner.field` (e.g. `cdat.sigma`).
        field: String,
        /// Its value.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
}

impl ConfigError {
    /// An out-of-range error for `field = value`.
    pub fn invalid(field: impl Into<String>, value: f64, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            value: format!("{value}"),
            reason: reason.into(),
        }
    }

    /// The offending field, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            Self::UnknownName { .. } => None,
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownName { kind, given, valid } => {
                write!(
                    f,
                    "unknown {kind} `{given}`; valid names: {}",
                    valid.join(", ")
                )
            }
            Self::Invalid {
                field,
                value,
                reason,
            } => write!(f, "invalid `{field}` = {value}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Range checks that name the field.
pub(crate) mod check {
    use super::ConfigError;

    pub fn finite(field: &str, v: f64) -> Result<(), ConfigError> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be finite"))
        }
    }

    pub fn positive(field: &str, v: f64) -> Result<(), ConfigError> {
        positive_named(field.to_string(), v)
    }

    pub fn positive_named(field: String, v: f64) -> Result<(), ConfigError> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be finite and > 0"))
        }
    }

    pub fn optional_positive(field: &str, v: Option<f64>) -> Result<(), ConfigError> {
        v.map_or(Ok(()), |v| positive(field, v))
    }

    pub fn at_least(field: &str, v: f64, min: f64) -> Result<(), ConfigError> {
        if v.is_finite() && v >= min {
            Ok(())
        } else {
            Err(ConfigError::invalid(
                field,
                v,
                format!("must be finite and ≥ {min}"),
            ))
        }
    }

    /// `v ∈ [0, 1)`.
    pub fn in_unit_interval(field: &str, v: f64) -> Result<(), ConfigError> {
        if (0.0..1.0).contains(&v) {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be in [0, 1)"))
        }
    }

    /// `v ∈ (0, 1)`.
    pub fn in_open_unit(field: &str, v: f64) -> Result<(), ConfigError> {
        if v > 0.0 && v < 1.0 {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be in (0, 1)"))
        }
    }

    /// `v ∈ [0, 1]`.
    pub fn in_closed_unit_named(field: String, v: f64) -> Result<(), ConfigError> {
        if (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be in [0, 1]"))
        }
    }
}

/// A step that could not be taken; the model is returned unchanged.
#[derive(Clone, Debug, PartialEq)]
pub enum StepError {
    /// A loss, gradient, direction or curvature was NaN or infinite.
    NonFinite {
        /// Which quantity.
        what: &'static str,
        /// Its value (for scalars) or NaN.
        value: f64,
    },
}

impl core::fmt::Display for StepError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StepError::NonFinite { what, value } => {
                write!(
                    f,
                    "step rejected: {what} is not finite ({value}); parameters unchanged"
                )
            }
        }
    }
}

impl std::error::Error for StepError {}

/// Why a saved state could not be restored.
#[derive(Clone, Debug, PartialEq)]
pub enum StateError {
    /// The bytes are not a tuner record.
    Decode(String),
    /// The record belongs to another tuner or base optimizer.
    Mismatch {
        /// What differs (`"tuner"` or `"base optimizer"`).
        what: &'static str,
        /// This tuner's.
        expected: String,
        /// The record's.
        found: String,
    },
    /// A value the tuner needs is absent from the record.
    Missing(String),
}

impl core::fmt::Display for StateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StateError::Decode(e) => write!(f, "cannot decode tuner state: {e}"),
            StateError::Mismatch {
                what,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tuner state is for {what} `{found}`, this one is `{expected}`"
                )
            }
            StateError::Missing(name) => write!(f, "tuner state lacks `{name}`"),
        }
    }
}

impl std::error::Error for StateError {}
