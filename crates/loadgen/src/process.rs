//! What the relay's process costs, read from Linux's `/proc`: resident memory, and CPU time in
//! all of the process and in its log writer thread (whose CPU time per scan is the ceiling of
//! durable ingest however many cores the rest has).

use std::time::Duration;

use crate::{Error, Result};

/// The writer thread's name as the kernel keeps it (15 bytes of "gerbang-log-writer").
const WRITER_THREAD: &str = "gerbang-log-wri";
/// `/proc` counts CPU time in ticks of USER_HZ, 100 a second on Linux.
const TICK: Duration = Duration::from_millis(10);

/// CPU time (user and system) spent so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cpu {
    /// The whole process.
    pub process: Duration,
    /// The log writer thread alone.
    pub writer: Duration,
}

impl Cpu {
    /// The time spent since `earlier`.
    pub fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            process: self.process.saturating_sub(earlier.process),
            writer: self.writer.saturating_sub(earlier.writer),
        }
    }
}

/// The CPU time of process `pid` and of its writer thread (zero if it has none).
pub fn cpu(pid: u32) -> Result<Cpu> {
    let process = ticks(&format!("/proc/{pid}/stat"))?;
    let mut writer = Duration::ZERO;
    let tasks = format!("/proc/{pid}/task");
    let entries = std::fs::read_dir(&tasks).map_err(|e| Error::Memory(format!("{tasks}: {e}")))?;
    for task in entries.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == WRITER_THREAD {
            writer = ticks(&task.path().join("stat").to_string_lossy())?;
        }
    }
    Ok(Cpu { process, writer })
}

/// `utime + stime` of a `/proc/.../stat` file.
fn ticks(path: &str) -> Result<Duration> {
    let stat = std::fs::read_to_string(path).map_err(|e| Error::Memory(format!("{path}: {e}")))?;
    // The command name, field 2, is in parentheses and may hold spaces: count after it.
    let after = stat
        .rfind(')')
        .map(|at| &stat[at + 1..])
        .ok_or_else(|| Error::Memory(format!("{path} is not a stat file")))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file are the 12th and 13th after the name.
    let field = |i: usize| -> Result<u32> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| Error::Memory(format!("{path} has no CPU times")))
    };
    Ok(TICK * (field(11)? + field(12)?))
}

/// The resident memory of process `pid`, in bytes.
pub fn rss(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).map_err(|e| Error::Memory(format!("{path}: {e}")))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| Error::Memory(format!("{path} has no VmRSS line")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_memory_and_cpu_time() {
        let pid = std::process::id();
        assert!(super::rss(pid).unwrap() > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {}
        assert!(super::cpu(pid).unwrap().process > std::time::Duration::ZERO);
    }
}
