//! A small SMTP server that keeps what it receives in memory: the tests' and the benchmark's
//! real SMTP peer, on loopback. It can be switched "down" (answers 421 and hangs up) to show
//! that nothing is lost while the mail server is away.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 on a free port; a thread per connection.
    pub fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let sink = SmtpSink {
            addr: listener.local_addr()?,
            received: Arc::new(Mutex::new(Vec::new())),
            down: Arc::new(AtomicBool::new(false)),
        };
        let shared = sink.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = shared.serve(stream);
                });
            }
        });
        Ok(sink)
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.received.lock().map(|r| r.len()).unwrap_or_default()
    }

    fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut writer = stream.try_clone()?;
        if self.down.load(Ordering::SeqCst) {
            writer.write_all(b"421 4.3.2 Service not available\r\n")?;
            return Ok(());
        }
        writer.write_all(b"220 sink.localhost ESMTP\r\n")?;
        let mut reader = BufReader::new(stream);
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_string();
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                writer.write_all(
                    b"250-sink.localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 20000000\r\n",
                )?;
            } else if upper.starts_with("HELO") {
                writer.write_all(b"250 sink.localhost\r\n")?;
            } else if upper.starts_with("MAIL FROM:") {
                from = address(&command[10..]);
                to.clear();
                writer.write_all(b"250 2.1.0 OK\r\n")?;
            } else if upper.starts_with("RCPT TO:") {
                to.push(address(&command[8..]));
                writer.write_all(b"250 2.1.5 OK\r\n")?;
            } else if upper == "DATA" {
                writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let mut data = Vec::new();
                let mut raw = Vec::new();
                loop {
                    raw.clear();
                    if reader.read_until(b'\n', &mut raw)? == 0 {
                        return Ok(());
                    }
                    if raw == b".\r\n" || raw == b".\n" {
                        break;
                    }
                    // Undo dot-stuffing.
                    let start = usize::from(raw.starts_with(b".."));
                    data.extend_from_slice(&raw[start..]);
                }
                if let Ok(mut received) = self.received.lock() {
                    received.push(Received {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                    });
                }
                writer.write_all(b"250 2.0.0 OK queued\r\n")?;
            } else if upper == "QUIT" {
                writer.write_all(b"221 2.0.0 Bye\r\n")?;
                return Ok(());
            } else if upper == "RSET" || upper == "NOOP" {
                writer.write_all(b"250 2.0.0 OK\r\n")?;
            } else {
                writer.write_all(b"502 5.5.2 Command not implemented\r\n")?;
            }
        }
    }
}

fn address(text: &str) -> String {
    text.trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_string()
}
