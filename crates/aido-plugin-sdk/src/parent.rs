//! Noticing that the host is gone even while stdin stays open (a child the
//! plugin started may hold the pipe): our parent process changed (we were
//! adopted), or the `parent_pid` of `initialize` no longer exists.

use std::time::Duration;

/// What the session polls to tell whether the host still lives.
#[derive(Debug, Clone)]
pub(crate) struct ParentWatch {
    /// The parent when serving started.
    parent: u32,
    interval: Duration,
}

impl ParentWatch {
    /// Watches the current parent, every `interval`.
    pub fn new(interval: Duration) -> Self {
        ParentWatch {
            parent: current_parent(),
            interval,
        }
    }

    /// How often to look.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether the host is gone: our parent changed, or `host_pid` (from
    /// `initialize`) is dead.
    pub fn is_gone(&self, host_pid: Option<u32>) -> bool {
        current_parent() != self.parent || host_pid.is_some_and(|pid| !alive(pid))
    }
}

#[cfg(unix)]
fn current_parent() -> u32 {
    // SAFETY: getppid has no preconditions and cannot fail.
    let pid = unsafe { libc::getppid() };
    u32::try_from(pid).unwrap_or(0)
}

#[cfg(not(unix))]
fn current_parent() -> u32 {
    0
}

/// Whether process `pid` exists (it may belong to someone else).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_living_parent_is_not_gone_and_a_dead_pid_is() {
        let watch = ParentWatch::new(Duration::from_secs(1));
        assert!(!watch.is_gone(None));
        assert!(!watch.is_gone(Some(std::process::id())));
        // Beyond the largest pid Linux hands out.
        assert!(watch.is_gone(Some(4_194_304 + 17)));
    }
}
