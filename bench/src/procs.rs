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
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let Some(fields) = stat_fields(pid) else {
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

    /// User plus system CPU time so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let Some(fields) = stat_fields(self.pid) else {
            return 0.0;
        };
        // After "pid (comm)": state is field 3, utime 14 and stime 15.
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
        (ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0)) as f64 / TICKS_PER_SECOND
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

/// The fields of `/proc/<pid>/stat` after `pid (comm)`; comm may hold spaces.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// CPU time of the three processes that share the cores, at one instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    server: f64,
    nats: f64,
    bench: f64,
}

/// Cores used by each process between two samples.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub server: f64,
    pub nats: f64,
    pub bench: f64,
}

impl CpuSample {
    /// Samples `server` (when the server is a separate process), `nats` and this process.
    pub fn take(server: Option<Proc>, nats: Proc) -> Self {
        Self {
            at: Instant::now(),
            server: server.map_or(0.0, |p| p.cpu_seconds()),
            nats: nats.cpu_seconds(),
            bench: Proc::current().cpu_seconds(),
        }
    }

    /// Average cores used from `self` until `later`.
    pub fn until(&self, later: &CpuSample) -> CpuUse {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        CpuUse {
            server: (later.server - self.server) / wall,
            nats: (later.nats - self.nats) / wall,
            bench: (later.bench - self.bench) / wall,
        }
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "server {:.2} + nats-server {:.2} + bench {:.2} = {:.2} cores",
            self.server,
            self.nats,
            self.bench,
            self.server + self.nats + self.bench
        )
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
