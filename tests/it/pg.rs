//! A throwaway PostgreSQL cluster for the tests that need a real database: `initdb` in a
//! temporary directory, `postgres` on a free loopback port, torn down on drop. Uses the
//! server binaries of Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`, or
//! the directory in `TRIAGE_PG_BIN`). Where they are missing the tests that need them print
//! why and check nothing, unless `TRIAGE_REQUIRE_POSTGRES` is set (as `.ci/run` does): then a
//! missing PostgreSQL fails them. As root (PostgreSQL refuses to run as root) the cluster runs
//! as the `postgres` user the package creates.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    user: Option<(u32, u32)>,
    server: Option<Child>,
    _dir: tempfile::TempDir,
}

/// The newest installed server's binaries.
fn server_binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TRIAGE_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|line| line.starts_with("postgres:"))?;
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0").unwrap_or(false)
}

impl TestPostgres {
    /// A fresh cluster, running; `None` (after printing why) when PostgreSQL is not installed
    /// and not required.
    pub fn start(test: &str) -> Option<Self> {
        let Some(bin) = server_binaries() else {
            assert!(
                std::env::var_os("TRIAGE_REQUIRE_POSTGRES").is_none(),
                "{test}: TRIAGE_REQUIRE_POSTGRES is set but no PostgreSQL server binaries were found \
                 (install Debian's postgresql package or set TRIAGE_PG_BIN)"
            );
            eprintln!("{test}: SKIPPED (checked nothing): PostgreSQL is not installed (Debian package postgresql)");
            return None;
        };
        let user = if is_root() { Some(postgres_user().expect("running as root needs the postgres user")) } else { None };
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster's directory");
        }
        let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("port").port();
        let mut cluster = Self { bin, data, port, user, server: None, _dir: dir };
        let initdb = cluster
            .command("initdb")
            .args(["--auth=trust", "--username=triage", "--encoding=UTF8", "--no-sync", "-D"])
            .arg(&cluster.data)
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(initdb.status.success(), "initdb failed: {}", String::from_utf8_lossy(&initdb.stderr));
        cluster.resume();
        Some(cluster)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// The URL `--db` takes.
    pub fn url(&self) -> String {
        format!("postgres://triage@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) on the same data and port, and waits until it accepts
    /// connections.
    pub fn resume(&mut self) {
        let socket_dir = self.data.parent().expect("cluster directory").to_path_buf();
        let server = self
            .command("postgres")
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!("unix_socket_directories={}", socket_dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        self.server = Some(server);
        let started = Instant::now();
        while !self.accepts_connections() {
            assert!(started.elapsed() < Duration::from_secs(30), "postgres did not accept connections within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn accepts_connections(&self) -> bool {
        self.command("pg_isready")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "triage", "-d", "postgres"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Stops the server the way an outage would (fast shutdown: sessions are cut off), and
    /// waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = Command::new("kill").args(["-INT", &server.id().to_string()]).status();
            let _ = server.wait();
        }
    }

    /// Runs `sql` through psql and returns its unaligned output, for checks that read the
    /// database without triage.
    pub fn psql(&self, sql: &str) -> String {
        let out = self
            .command("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "triage", "-d", "postgres", "-At", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}
