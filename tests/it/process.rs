//! The real `triage serve` binary as a child process, and a minimal HTTP/1.1 client over a
//! plain TCP stream: for the tests that need signals (SIGTERM, SIGKILL) sent to a real server.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use serde_json::Value;

use crate::common::{default_model_dir, default_policy_path};

pub struct ServerProcess {
    pub child: Child,
    pub address: String,
    /// Reads the log after the listening line as it comes, so a server that logs a lot never
    /// blocks on a full pipe; yields it all once the server has exited.
    log: Option<JoinHandle<String>>,
}

impl ServerProcess {
    /// Starts `triage serve --no-auth` on a free loopback port with JSON logs, the default
    /// model and policy, the decision log at `db`, plus `extra` flags; waits until it listens.
    pub fn start(db: impl AsRef<OsStr>, extra: &[&str]) -> Self {
        Self::start_with_policy(db, &default_policy_path(), extra)
    }

    /// `start`, serving the policy file at `policy`.
    pub fn start_with_policy(db: impl AsRef<OsStr>, policy: &Path, extra: &[&str]) -> Self {
        Self::start_serving(db, default_model_dir().as_os_str(), policy.as_os_str(), extra, &[])
    }

    /// `start` on the model and policy at `model` and `policy` (bundles, files or stores), with
    /// `env` added to the server's environment.
    pub fn start_serving(db: impl AsRef<OsStr>, model: &OsStr, policy: &OsStr, extra: &[&str], env: &[(&str, &OsStr)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(["serve", "--no-auth", "--addr", "127.0.0.1:0", "--log-format", "json", "--model"])
            .arg(model)
            .arg("--policy")
            .arg(policy)
            .arg("--db")
            .arg(db)
            .args(extra)
            .env("RUST_LOG", "triage=debug,info")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut log = BufReader::new(child.stderr.take().expect("stderr"));
        let address = listening_address(&mut log);
        let log = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = log.read_to_string(&mut rest);
            rest
        });
        Self { child, address, log: Some(log) }
    }

    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("kill");
        assert!(sent.success(), "kill {signal} failed");
    }

    /// Sends a POST and returns the open stream, to read the answer later.
    pub fn post(&self, path: &str, body: &str) -> TcpStream {
        self.send("POST", path, body)
    }

    /// Sends a GET and returns the answer.
    pub fn get(&self, path: &str) -> (u16, Value) {
        answer(self.send("GET", path, ""))
    }

    fn send(&self, method: &str, path: &str, body: &str) -> TcpStream {
        self.try_send(method, path, body).expect("send")
    }

    /// Sends a request, or fails when the server cannot be reached (killed).
    pub fn try_send(&self, method: &str, path: &str, body: &str) -> std::io::Result<TcpStream> {
        let mut stream = TcpStream::connect(&self.address)?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.address,
            body.len()
        )?;
        Ok(stream)
    }

    /// The rest of the server's log once it has exited.
    pub fn rest_of_log(&mut self) -> String {
        self.log.take().map(|reader| reader.join().expect("log reader")).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads an answer to its end: the status code and the body as JSON.
pub fn answer(stream: TcpStream) -> (u16, Value) {
    try_answer(stream).expect("an HTTP answer")
}

/// `answer`, or `None` when the connection broke before a whole answer came (a killed server).
pub fn try_answer(mut stream: TcpStream) -> Option<(u16, Value)> {
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.get(9..12).and_then(|code| code.parse().ok())?;
    let body_start = text.find("\r\n\r\n").map_or(text.len(), |end| end + 4);
    Some((status, serde_json::from_str(text[body_start..].trim()).unwrap_or(Value::Null)))
}

/// Reads the server's JSON log lines until one says where it listens.
fn listening_address(log: &mut impl BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(log.read_line(&mut line).expect("server log") > 0, "the server stopped before listening");
        let Ok(entry) = serde_json::from_str::<Value>(&line) else { continue };
        if let Some(address) = entry["fields"]["message"].as_str().and_then(|m| m.strip_prefix("listening on http://")) {
            return address.to_string();
        }
    }
}

/// Sends classify requests to `server` one after another until `stop` is set or the server
/// cannot be reached, counting the 200s in `acked`; returns every answer (status and body).
pub fn keep_classifying(server: &ServerProcess, prefix: &str, stop: &AtomicBool, acked: &AtomicUsize) -> Vec<(u16, Value)> {
    let mut answers = Vec::new();
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body =
            serde_json::json!({"id": format!("{prefix}-{i}"), "body": format!("order {i} never arrived and support is silent")});
        let Some((status, body)) = server.try_send("POST", "/v1/classify", &body.to_string()).ok().and_then(try_answer) else {
            break;
        };
        if status == 200 {
            acked.fetch_add(1, Ordering::Relaxed);
        }
        answers.push((status, body));
    }
    answers
}

/// The decision ids of the 200 answers.
pub fn acknowledged(answers: &[(u16, Value)]) -> Vec<String> {
    answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .filter_map(|(_, body)| body["decision_id"].as_str().map(String::from))
        .collect()
}

/// `triage ARGS` with the real binary: whether it succeeded, and what it printed.
pub fn triage_cli(args: &[&OsStr]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_triage")).args(args).output().expect("triage runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}
