//! What `/proc` says about a process: CPU time, resident memory, open file
//! descriptors; and the descriptor limit this process passes to its children.

use std::time::Duration;

/// User plus system CPU time of every thread of `pid` so far
/// (`utime + stime` of `/proc/<pid>/stat`, in clock ticks).
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|error| panic!("read /proc/{pid}/stat: {error}"));
    // The command name (field 2) may hold spaces; count from after it.
    let after_name = &stat[stat.rfind(')').expect("a stat line names its command") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is fields[0], so utime (14) and stime (15) are 11 and 12.
    let ticks = |index: usize| -> u64 {
        fields[index]
            .parse()
            .unwrap_or_else(|_| panic!("/proc/{pid}/stat field {}", index + 3))
    };
    let total = ticks(11) + ticks(12);
    Duration::from_nanos(total * 1_000_000_000 / clock_ticks_per_second())
}

/// The unit [`cpu_time`] counts in: one clock tick.
pub fn clock_tick() -> Duration {
    Duration::from_nanos(1_000_000_000 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a configuration value and has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks)
        .ok()
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// Resident memory of `pid` in MiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|error| panic!("read /proc/{pid}/status: {error}"));
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"));
    kib / 1024.0
}

/// How many file descriptors `pid` has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(Iterator::count)
        .unwrap_or(0)
}

/// Raises this process's soft limit on open files to at least `wanted`
/// (capped by the hard limit); child processes inherit it. Returns the
/// limit now in force.
pub fn raise_open_files_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid resource and a valid pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    limit.rlim_cur
}
