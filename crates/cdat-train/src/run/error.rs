//! Errors caused by the user's input (flags, config files, data folders, output folders): the
//! binary reports them as `error: …` and exits with status 2; other failures exit with 1.

/// A problem with the user's input; the message names the flag or file and what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    message: String,
}

impl UserError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A run stopped by SIGINT/SIGTERM (its checkpoint and summary were written); the binary exits
/// with 128 + the signal number.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}", crate::run::interrupt::signal_name(*signal))]
pub struct Interrupted {
    /// The signal number.
    pub signal: i32,
}

/// Exit status for input errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit status for other failures.
pub const EXIT_FAILURE: u8 = 1;

/// The exit status for an error: 128 + N for an [`Interrupted`] one, [`EXIT_USAGE`] when it
/// is (or wraps) a [`UserError`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(i) = err.chain().find_map(|e| e.downcast_ref::<Interrupted>()) {
        crate::run::interrupt::exit_status(i.signal)
    } else if err.chain().any(|e| e.downcast_ref::<UserError>().is_some()) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}
