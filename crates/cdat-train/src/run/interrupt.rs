//! SIGINT (Ctrl-C) and SIGTERM: the first one asks the running training to stop after the step
//! in progress (it then flushes its metrics, writes a checkpoint and a `summary.json` with status
//! `interrupted`, and the process exits with 128 + the signal number); a second one stops the
//! process at once.
//!
//! [`install`] is called by the binary only: a library user (or a test harness) keeps its own
//! signal handling, and [`requested`] then stays `None`.

use std::sync::atomic::{AtomicI32, Ordering};

static REQUESTED: AtomicI32 = AtomicI32::new(0);

/// The signal that asked the run to stop, if one did.
pub fn requested() -> Option<i32> {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Marks a stop as requested by `signal` (what the handler does; also for tests).
pub fn request(signal: i32) {
    let _ = REQUESTED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
}

/// The name of a signal number (`SIGINT`, `SIGTERM`, or `signal N`).
pub fn signal_name(signal: i32) -> String {
    match signal {
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        s => format!("signal {s}"),
    }
}

/// The exit status of a process stopped by `signal` (the shell convention, 128 + N).
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// Installs the handlers of SIGINT and SIGTERM (a thread that waits for them). Fails only when
/// the handlers cannot be registered.
#[cfg(unix)]
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if requested().is_some() {
                    eprintln!(
                        "\n{} again: stopping at once (the last checkpoint is kept)",
                        signal_name(sig)
                    );
                    std::process::exit(i32::from(exit_status(sig)));
                }
                request(sig);
                eprintln!(
                    "\n{}: finishing the current step, then writing metrics, a checkpoint and \
                     summary.json (send it again to stop at once)",
                    signal_name(sig)
                );
            }
        })?;
    Ok(())
}

/// Not supported off Unix: Ctrl-C ends the process as usual.
#[cfg(not(unix))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}
