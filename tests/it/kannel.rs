//! A real Kannel for the SMS tests: Debian's `bearerbox` and `smsbox` (package `kannel`) and
//! the `fakesmsc` fake SMS centre (package `kannel-extras`), on free loopback ports, with the
//! configuration written here. fakesmsc prints every message the gateway hands it; it also
//! injects a person's reply (a mobile-originated message), which smsbox's sms-service forwards
//! to the application's `/sms/inbound`. Without Kannel the tests print that they were skipped,
//! unless `PASSERELLE_REQUIRE_KANNEL=1` or `CI=true`, where they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::free_port;

pub const BEARERBOX: &str = "/usr/sbin/bearerbox";
pub const SMSBOX: &str = "/usr/sbin/smsbox";
pub const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";
pub const USER: &str = "passerelle";
pub const PASSWORD: &str = "kannel-s3cret";
pub const INBOUND_SECRET: &str = "secret-entrant";

pub fn required() -> bool {
    std::env::var("PASSERELLE_REQUIRE_KANNEL").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether Kannel is installed; panics when it is required and missing.
pub fn available() -> bool {
    let found = [BEARERBOX, SMSBOX, FAKESMSC]
        .iter()
        .all(|p| Path::new(p).exists());
    if !found {
        assert!(
            !required(),
            "Kannel is required here (apt-get install kannel kannel-extras) but {BEARERBOX}, {SMSBOX} or {FAKESMSC} is missing"
        );
        eprintln!(
            "Kannel not installed (apt-get install kannel kannel-extras): SMS gateway test SKIPPED"
        );
    }
    found
}

/// Ports chosen before the application starts (its `sms_url` names smsbox's).
pub struct Ports {
    admin: u16,
    smsbox: u16,
    fake: u16,
    pub sendsms: u16,
}

impl Ports {
    pub fn free() -> Ports {
        Ports {
            admin: free_port(),
            smsbox: free_port(),
            fake: free_port(),
            sendsms: free_port(),
        }
    }

    /// The application's `sms_url`.
    pub fn sms_url(&self) -> String {
        format!(
            "http://{USER}:{PASSWORD}@127.0.0.1:{}/cgi-bin/sendsms",
            self.sendsms
        )
    }
}

/// A received message, as fakesmsc prints it: `from to type text`.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub text: String,
}

pub struct Kannel {
    dir: tempfile::TempDir,
    ports: Ports,
    bearerbox: Child,
    smsbox: Child,
    fakesmsc: Option<Child>,
    /// Messages read from earlier fakesmsc runs (before an injection restarted it).
    log_files: Vec<PathBuf>,
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Kannel {
    /// Starts bearerbox, smsbox and fakesmsc; the sms-service forwards replies to `app_url`.
    pub fn start(ports: Ports, app_url: &str) -> Kannel {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display();
        let config = format!(
            r#"group = core
admin-port = {admin}
admin-password = "{PASSWORD}"
smsbox-port = {smsbox}
box-allow-ip = "127.0.0.1"
log-file = "{d}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {fake}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
log-file = "{d}/smsbox.log"
log-level = 1

group = sendsms-user
username = {USER}
password = "{PASSWORD}"
max-messages = 3
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{app_url}/sms/inbound?secret={INBOUND_SECRET}&from=%p&text=%a"
"#,
            admin = ports.admin,
            smsbox = ports.smsbox,
            fake = ports.fake,
            sendsms = ports.sendsms,
        );
        let path = dir.path().join("kannel.conf");
        std::fs::write(&path, config).expect("write kannel.conf");
        let spawn = |program: &str, name: &str| {
            Command::new(program)
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(dir.path().join(format!("{name}.out"))).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {program}: {e}"))
        };
        let bearerbox = spawn(BEARERBOX, "bearerbox");
        wait_for_port(ports.smsbox, "bearerbox");
        wait_for_port(ports.fake, "bearerbox's fake SMSC");
        let smsbox = spawn(SMSBOX, "smsbox");
        wait_for_port(ports.sendsms, "smsbox");
        let mut kannel = Kannel {
            dir,
            ports,
            bearerbox,
            smsbox,
            fakesmsc: None,
            log_files: Vec::new(),
        };
        kannel.start_receiver();
        kannel
    }

    fn start_receiver(&mut self) {
        let n = self.log_files.len();
        let log = self.dir.path().join(format!("fakesmsc-{n}.log"));
        // `-m 0`: sends nothing, prints every message the gateway hands it.
        let connected = self
            .bearerbox_log()
            .matches("Fakesmsc client connected")
            .count();
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(FAKESMSC)
            .args([
                "-H",
                "127.0.0.1",
                "-r",
                &self.ports.fake.to_string(),
                "-m",
                "0",
            ])
            // Kept open: at the end of its input fakesmsc would stop.
            .stdin(Stdio::piped())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start fakesmsc");
        self.log_files.push(log);
        self.fakesmsc = Some(child);
        // Connected once bearerbox says so.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self
            .bearerbox_log()
            .matches("Fakesmsc client connected")
            .count()
            <= connected
        {
            assert!(Instant::now() < deadline, "fakesmsc did not connect");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn bearerbox_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bearerbox.log")).unwrap_or_default()
    }

    pub fn smsbox_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("smsbox.log")).unwrap_or_default()
    }

    /// What fakesmsc received so far, readable from another thread.
    pub fn reader(&self) -> Reader {
        Reader {
            files: self.log_files.clone(),
            smsbox_log: self.dir.path().join("smsbox.log"),
        }
    }

    /// A person texts `text` from `from`: fakesmsc sends it as a mobile-originated message
    /// (the receiving fakesmsc is restarted around it: the fake SMSC takes one client at a
    /// time). Returns once smsbox handed it to the application.
    pub fn inject(&mut self, from: &str, text: &str) {
        let before = self.smsbox_log().matches("Starting to service").count();
        if let Some(mut child) = self.fakesmsc.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // fakesmsc goes on listening after its message: stopped once smsbox took it.
        let mut sender = Command::new(FAKESMSC)
            .args([
                "-H",
                "127.0.0.1",
                "-r",
                &self.ports.fake.to_string(),
                "-m",
                "1",
                &format!("{from} 38000 text {text}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run fakesmsc");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.smsbox_log().matches("Starting to service").count() <= before {
            if Instant::now() > deadline {
                let _ = sender.kill();
                let _ = sender.wait();
                panic!("smsbox did not take the reply: {}", self.smsbox_log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = sender.kill();
        let _ = sender.wait();
        self.start_receiver();
    }
}

/// The messages fakesmsc printed.
pub struct Reader {
    files: Vec<PathBuf>,
    smsbox_log: PathBuf,
}

impl Reader {
    /// Every message fakesmsc received so far.
    pub fn received(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for file in &self.files {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for line in text.lines() {
                let Some(start) = line.find("Got message ") else {
                    continue;
                };
                let rest = &line[start..];
                let Some(open) = rest.find(": <") else {
                    continue;
                };
                let body = rest[open + 3..].trim_end().trim_end_matches('>');
                let mut parts = body.splitn(4, ' ');
                let (Some(from), Some(to), Some(kind)) = (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let raw = parts.next().unwrap_or_default().to_string();
                // Unicode messages come URL-encoded UCS-2.
                let text = if kind == "ucs2" {
                    decode_ucs2(&raw)
                } else {
                    raw
                };
                out.push(Received {
                    from: from.to_string(),
                    to: to.to_string(),
                    kind: kind.to_string(),
                    text,
                });
            }
        }
        out
    }

    /// Waits until fakesmsc received `count` messages in all.
    pub fn wait_received(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "fakesmsc received {} of {count} messages: {got:?}\nsmsbox: {}",
                got.len(),
                std::fs::read_to_string(&self.smsbox_log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn decode_ucs2(encoded: &str) -> String {
    let mut bytes = Vec::new();
    let raw = encoded.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            if let Ok(b) = u8::from_str_radix(&encoded[i + 1..i + 3], 16) {
                bytes.push(b);
                i += 3;
                continue;
            }
        }
        bytes.push(if raw[i] == b'+' { b' ' } else { raw[i] });
        i += 1;
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

impl Drop for Kannel {
    fn drop(&mut self) {
        if let Some(mut child) = self.fakesmsc.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for child in [&mut self.smsbox, &mut self.bearerbox] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
