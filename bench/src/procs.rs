//! What `/proc` says about the processes under test: CPU time and resident
//! memory, plus the machine and nats-server facts printed in the header.
//!
//! The server and nats-server are children of this process (started by
//! `ChildServer` and `NatsServer`, which do not expose their pids), so they
//! are found by parent pid and executable name.

use std::fs;
use std::process::Command;
use std::time::Instant;

/// `USER_HZ`: the unit of utime/stime in `/proc/<pid>/stat`. It is fixed at
/// 100 by the Linux ABI on x86 and arm64, and `libc::sysconf` would need
/// `unsafe`, which the workspace forbids.
const TICKS_PER_SECOND: f64 = 100.0;

/// One process, by pid.
#[derive(Debug, Clone, Copy)]
pub struct Proc {
    pub pid: u32,
}

impl Proc {
    /// This benchmark process.
    pub fn current() -> Self {
        Self {
            pid: std::process::id(),
        }
    }

    /// A direct child of this process whose executable is named `name`.
    pub fn child_named(name: &str) -> anyhow::Result<Self> {
        let me = std::process::id();
        for entry in fs::read_dir("/proc")?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Some(fields) = stat_fields(&pid.to_string()) else {
                continue;
            };
            let is_child = fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(me);
            let exe = fs::read_link(format!("/proc/{pid}/exe")).ok();
            let named = exe.as_deref().and_then(|p| p.file_name()) == Some(name.as_ref());
            if is_child && named {
                return Ok(Self { pid });
            }
        }
        anyhow::bail!("no child process named {name} found in /proc")
    }

    /// User plus system CPU time of all its threads so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&self.pid.to_string())
    }

    /// A `/proc/<pid>/status` size in MiB: `VmRSS` (now) or `VmHWM` (peak).
    pub fn memory_mib(&self, field: &str) -> f64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

/// utime + stime of `/proc/<path>/stat`: a whole process for `<pid>`, one
/// thread for `<pid>/task/<tid>` (`/proc/<tid>` would count the whole process).
fn cpu_seconds_of(path: &str) -> f64 {
    let Some(fields) = stat_fields(path) else {
        return 0.0;
    };
    // After "pid (comm)": state is field 3, utime 14 and stime 15.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    (ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0)) as f64 / TICKS_PER_SECOND
}

/// The fields of `/proc/<path>/stat` after `pid (comm)`; comm may hold spaces.
fn stat_fields(path: &str) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{path}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// CPU time of the processes that share the cores, at one instant.
#[derive(Debug, Clone)]
pub struct CpuSample {
    at: Instant,
    server: f64,
    nats: f64,
    bench: f64,
    /// Seconds of the whole machine: busy (also counts PostgreSQL), iowait,
    /// and stolen by the hypervisor.
    machine: MachineSeconds,
    /// The server's threads by name (this process's without a server), to
    /// tell a pegged thread from a busy pool.
    threads: Vec<(String, f64)>,
}

/// Cores used by each process between two samples.
#[derive(Debug, Clone)]
pub struct CpuUse {
    pub server: f64,
    pub nats: f64,
    pub bench: f64,
    pub machine_busy: f64,
    pub machine_iowait: f64,
    /// Cores the hypervisor gave to other guests while ours wanted them: a
    /// run with much of it says more about the host than about Omnibus.
    pub machine_steal: f64,
    /// The server's thread groups by name, busiest first.
    pub threads: Vec<(String, f64)>,
}

impl CpuSample {
    /// Samples `server` (when the server is a separate process), `nats`,
    /// this process and the machine.
    pub fn take(server: Option<Proc>, nats: Proc) -> Self {
        Self {
            at: Instant::now(),
            server: server.map_or(0.0, |p| p.cpu_seconds()),
            nats: nats.cpu_seconds(),
            bench: Proc::current().cpu_seconds(),
            machine: machine_seconds(),
            threads: server.unwrap_or_else(Proc::current).threads(),
        }
    }

    /// Average cores used from `self` until `later`.
    pub fn until(&self, later: &CpuSample) -> CpuUse {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let rate = |before: f64, after: f64| (after - before) / wall;
        let mut threads: Vec<(String, f64)> = later
            .threads
            .iter()
            .map(|(name, after)| {
                let before = self.threads.iter().find(|(n, _)| n == name);
                (name.clone(), rate(before.map_or(0.0, |(_, b)| *b), *after))
            })
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        CpuUse {
            server: rate(self.server, later.server),
            nats: rate(self.nats, later.nats),
            bench: rate(self.bench, later.bench),
            machine_busy: rate(self.machine.busy, later.machine.busy),
            machine_iowait: rate(self.machine.iowait, later.machine.iowait),
            machine_steal: rate(self.machine.steal, later.machine.steal),
            threads,
        }
    }
}

impl Proc {
    /// CPU seconds per thread name (`tokio-runtime-w`, `sqlx-sqlite-wor`, …),
    /// summed over threads of the same name.
    fn threads(&self) -> Vec<(String, f64)> {
        let mut names: Vec<(String, f64)> = Vec::new();
        let tasks = fs::read_dir(format!("/proc/{}/task", self.pid));
        for task in tasks.into_iter().flatten().flatten() {
            let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let path = format!("/proc/{}/task/{tid}/comm", self.pid);
            let name = fs::read_to_string(path)
                .unwrap_or_default()
                .trim()
                .to_owned();
            let seconds = cpu_seconds_of(&format!("{}/task/{tid}", self.pid));
            match names.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += seconds,
                None => names.push((name, seconds)),
            }
        }
        names
    }
}

/// Machine-wide CPU seconds from `/proc/stat`.
#[derive(Debug, Clone, Copy)]
struct MachineSeconds {
    /// All but idle and iowait, steal included.
    busy: f64,
    iowait: f64,
    steal: f64,
}

fn machine_seconds() -> MachineSeconds {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    MachineSeconds {
        busy: busy / TICKS_PER_SECOND,
        iowait: at(4) / TICKS_PER_SECOND,
        steal: at(7) / TICKS_PER_SECOND,
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "server {:.2} + nats-server {:.2} + bench {:.2} + others {:.2} cores; \
             stolen by the host {:.2}; iowait {:.2}",
            self.server,
            self.nats,
            self.bench,
            self.others(),
            self.machine_steal,
            self.machine_iowait
        )
    }
}

impl CpuUse {
    /// The rest of the machine's busy time: PostgreSQL, or anything else
    /// running beside the benchmark (which then skews it); time stolen by
    /// the host is shown on its own.
    pub fn others(&self) -> f64 {
        (self.machine_busy - self.machine_steal - self.server - self.nats - self.bench).max(0.0)
    }

    /// `tokio-runtime-w 0.55, sqlx-sqlite-wor 0.20, …` (threads above 0.01 core).
    pub fn server_threads(&self) -> String {
        let busy: Vec<String> = self
            .threads
            .iter()
            .filter(|(_, cores)| *cores >= 0.01)
            .map(|(name, cores)| format!("{name} {cores:.2}"))
            .collect();
        busy.join(", ")
    }
}

/// Core count and CPU model, for the report header.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    format!("{cores} cores, {model}")
}

/// Cores the machine is busy with over `window`, before anything starts:
/// other work on the machine (a build) lowers every figure.
pub fn busy_cores(window: std::time::Duration) -> f64 {
    let (before, at) = (machine_seconds().busy, Instant::now());
    std::thread::sleep(window);
    (machine_seconds().busy - before) / at.elapsed().as_secs_f64()
}

/// `nats-server --version`, e.g. `v2.9.10`.
pub fn nats_version() -> String {
    Command::new("nats-server")
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .and_then(|text| text.rsplit(' ').next().map(str::to_owned))
        .unwrap_or_else(|| "not found".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_of(machine_busy: f64, machine_steal: f64) -> CpuUse {
        CpuUse {
            server: 0.8,
            nats: 0.3,
            bench: 0.1,
            machine_busy,
            machine_iowait: 0.0,
            machine_steal,
            threads: Vec::new(),
        }
    }

    #[test]
    fn stolen_time_is_not_counted_as_other_programs() {
        let quiet = use_of(1.2, 0.0);
        assert!(quiet.others().abs() < 1e-9);
        let stolen = use_of(1.6, 0.4);
        assert!(stolen.others().abs() < 1e-9, "{}", stolen.others());
        assert!(stolen.to_string().contains("stolen by the host 0.40"));
        let postgres = use_of(1.9, 0.1);
        assert!((postgres.others() - 0.6).abs() < 1e-9);
    }
}
