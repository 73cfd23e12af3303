//! One run at a time per output folder: a lock file `.cdat-train.lock` holding the PID (and on
//! Linux the start time) of the process that writes the folder. It is created with
//! `create_new` (atomic), removed when the run ends (also when it fails or is interrupted), and
//! a lock left by a process that no longer runs (killed, machine restarted) is taken over with
//! a message.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::run::error::UserError;

/// File name of the lock inside a run folder.
pub const FILE_NAME: &str = ".cdat-train.lock";

/// Holds an output folder; the lock file is removed on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

/// Who holds a lock, as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Start time of the process (Linux: clock ticks since boot, `/proc/PID/stat` field 22),
    /// to tell a reused PID from the holder.
    pub start: Option<u64>,
}

impl Holder {
    /// This process.
    pub fn me() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start: start_time(pid),
        }
    }

    fn to_text(&self) -> String {
        let mut t = format!("pid = {}\n", self.pid);
        if let Some(s) = self.start {
            t.push_str(&format!("start = {s}\n"));
        }
        t
    }

    fn parse(text: &str) -> Option<Self> {
        let mut pid = None;
        let mut start = None;
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k.trim() {
                "pid" => pid = v.trim().parse().ok(),
                "start" => start = v.trim().parse().ok(),
                _ => {}
            }
        }
        Some(Self { pid: pid?, start })
    }

    /// Whether the process still runs (`true` when it cannot be told).
    pub fn is_alive(&self) -> bool {
        if cfg!(target_os = "linux") {
            let Some(now) = start_time(self.pid) else {
                // No /proc/PID: gone, when /proc itself is there.
                return !Path::new("/proc/self/stat").exists() && pid_exists(self.pid);
            };
            return self.start.is_none_or(|s| s == now);
        }
        pid_exists(self.pid)
    }
}

#[cfg(unix)]
fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks whether the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn pid_exists(_pid: u32) -> bool {
    true
}

/// Field 22 of `/proc/PID/stat` (Linux), `None` elsewhere or when the process does not exist.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl RunLock {
    /// Takes the lock of the output folder `dir` (which must exist) for `purpose` (the flag
    /// that named it, for messages). Refused with an input error naming the folder and the
    /// holder's PID when another running process holds it; a lock of a dead process is taken
    /// over (`notice` gets a message).
    pub fn acquire(dir: &Path, purpose: &str, notice: &mut dyn FnMut(&str)) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let me = Holder::me();
        for _ in 0..5 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let written = f
                        .write_all(me.to_text().as_bytes())
                        .and_then(|()| f.sync_all());
                    if let Err(e) = written {
                        // A full disk: an empty lock left behind would hold the folder.
                        drop(f);
                        let _ = std::fs::remove_file(&path);
                        return Err(
                            anyhow::Error::new(e).context(format!("writing {}", path.display()))
                        );
                    }
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("creating the lock file {}", path.display())))
                }
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                // Removed meanwhile by its holder: try again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("reading the lock file {}", path.display())))
                }
            };
            let holder = Holder::parse(&text);
            match holder {
                Some(h) if h.is_alive() => {
                    let who = if h.pid == me.pid {
                        "this process".to_string()
                    } else {
                        format!("process {}", h.pid)
                    };
                    return Err(UserError::new(format!(
                        "{purpose} `{}` is in use by another cdat-train run ({who}, lock file \
                         `{}`); wait for it to finish, stop it (Ctrl-C or kill {}), or use \
                         another folder (if no such process runs, delete the lock file)",
                        dir.display(),
                        path.display(),
                        h.pid
                    ))
                    .into());
                }
                Some(h) => notice(&format!(
                    "{purpose} `{}`: taking over the lock of process {}, which no longer runs \
                     (its run stopped without cleaning up; `--resume` continues it from its last \
                     checkpoint)",
                    dir.display(),
                    h.pid
                )),
                None => {
                    // Written by a process that died between creating and filling it, or
                    // damaged: only a file older than a few seconds counts as stale.
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .unwrap_or_default();
                    if age < std::time::Duration::from_secs(5) {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        continue;
                    }
                    notice(&format!(
                        "{purpose} `{}`: removing the unreadable lock file `{}`",
                        dir.display(),
                        path.display()
                    ));
                }
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("removing the stale lock file {}", path.display())))
                }
            }
        }
        Err(UserError::new(format!(
            "{purpose} `{}`: could not take the lock `{}` (other processes keep taking it)",
            dir.display(),
            path.display()
        ))
        .into())
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove only our own lock (not one that was taken over after ours was deemed stale).
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| Holder::parse(&t))
            .is_some_and(|h| h.pid == std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_the_first_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let mut notes = Vec::new();
        let lock =
            RunLock::acquire(dir.path(), "--out", &mut |m| notes.push(m.to_string())).unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert!(
            text.contains(&format!("pid = {}", std::process::id())),
            "{text}"
        );
        let e = RunLock::acquire(dir.path(), "--out", &mut |_| {}).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("in use") && msg.contains(FILE_NAME), "{msg}");
        drop(lock);
        assert!(!dir.path().join(FILE_NAME).exists());
        let again = RunLock::acquire(dir.path(), "--out", &mut |_| {}).unwrap();
        drop(again);
        assert!(notes.is_empty());
    }

    #[test]
    fn the_lock_of_a_dead_process_is_taken_over_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), format!("pid = {dead}\n")).unwrap();
        let mut notes = Vec::new();
        let lock =
            RunLock::acquire(dir.path(), "--out", &mut |m| notes.push(m.to_string())).unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains(&dead.to_string()), "{notes:?}");
        drop(lock);
        // A reused PID (our own, with another start time) is not the holder either.
        if cfg!(target_os = "linux") {
            std::fs::write(
                dir.path().join(FILE_NAME),
                format!("pid = {}\nstart = 1\n", std::process::id()),
            )
            .unwrap();
            let mut notes = Vec::new();
            drop(
                RunLock::acquire(dir.path(), "--out", &mut |m| notes.push(m.to_string())).unwrap(),
            );
            assert_eq!(notes.len(), 1, "{notes:?}");
        }
    }
}
