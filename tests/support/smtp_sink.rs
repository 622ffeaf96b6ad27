//! A small SMTP server that keeps what it receives in memory: the tests' and the benchmark's
//! real SMTP peer, on loopback. It can be switched "down" (answers 421 and hangs up) to show
//! that nothing is lost while the mail server is away. It can also speak TLS, from the first
//! byte (`smtps://`) or after `STARTTLS`, with the certificate it is given, and require
//! `AUTH PLAIN` or `AUTH LOGIN` with a user name and password before it takes a message.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`), shown when a test prints a message.
    #[allow(dead_code)]
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    /// Whether the message came over TLS.
    pub encrypted: bool,
    /// The user name the client authenticated as.
    pub authenticated_as: Option<String>,
}

/// How the sink uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte, as on port 465 (`smtps://`).
    Implicit,
    /// Plain text until the client asks `STARTTLS`, as on port 587.
    StartTls,
}

/// What a sink demands of its clients; the default is a plain server that takes anything.
#[derive(Clone, Default)]
pub struct SinkOptions {
    /// TLS with this identity (certificate and key).
    pub tls: Option<(TlsMode, native_tls::Identity)>,
    /// `AUTH` with this user name and password is required before `MAIL FROM`.
    pub credentials: Option<(String, String)>,
    /// The mechanisms announced (`PLAIN LOGIN` when empty).
    pub auth_mechanisms: Option<String>,
}

impl SinkOptions {
    /// TLS with a PEM certificate (chain) and its PKCS #8 PEM private key.
    pub fn tls(mut self, mode: TlsMode, certificate_pem: &[u8], key_pem: &[u8]) -> Self {
        let identity = native_tls::Identity::from_pkcs8(certificate_pem, key_pem)
            .expect("a PEM certificate and its PKCS #8 key");
        self.tls = Some((mode, identity));
        self
    }

    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_string(), password.to_string()));
        self
    }

    /// Announces only these mechanisms, e.g. `LOGIN`.
    pub fn auth_mechanisms(mut self, mechanisms: &str) -> Self {
        self.auth_mechanisms = Some(mechanisms.to_string());
        self
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
    acceptor: Option<(TlsMode, native_tls::TlsAcceptor)>,
    credentials: Option<(String, String)>,
    mechanisms: String,
}

/// What a conversation ended with.
enum Ending<S> {
    Closed,
    /// The client asked for TLS: the plain stream, to wrap.
    StartTls(S),
}

impl SmtpSink {
    /// A plain server on 127.0.0.1 on a free port; a thread per connection.
    pub fn start() -> std::io::Result<SmtpSink> {
        Self::start_with(SinkOptions::default())
    }

    /// A server with TLS and authentication as `options` say.
    pub fn start_with(options: SinkOptions) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let acceptor = match options.tls {
            Some((mode, identity)) => Some((
                mode,
                native_tls::TlsAcceptor::new(identity).map_err(std::io::Error::other)?,
            )),
            None => None,
        };
        let sink = SmtpSink {
            addr: listener.local_addr()?,
            received: Arc::new(Mutex::new(Vec::new())),
            down: Arc::new(AtomicBool::new(false)),
            acceptor,
            credentials: options.credentials,
            mechanisms: options
                .auth_mechanisms
                .unwrap_or_else(|| "PLAIN LOGIN".into()),
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

    /// `smtp://127.0.0.1:PORT`; the caller adds the scheme's variations (`smtps://`, user,
    /// password, `?tls=required`) as its test needs.
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

    fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        if self.down.load(Ordering::SeqCst) {
            stream.write_all(b"421 4.3.2 Service not available\r\n")?;
            return Ok(());
        }
        match &self.acceptor {
            Some((TlsMode::Implicit, acceptor)) => {
                let tls = acceptor.accept(stream).map_err(std::io::Error::other)?;
                self.converse(tls, true, true)?;
            }
            Some((TlsMode::StartTls, acceptor)) => {
                if let Ending::StartTls(plain) = self.converse(stream, false, true)? {
                    let tls = acceptor.accept(plain).map_err(std::io::Error::other)?;
                    self.converse(tls, true, false)?;
                }
            }
            None => {
                self.converse(stream, false, true)?;
            }
        }
        Ok(())
    }

    /// One SMTP conversation on `stream`, plain or already encrypted.
    fn converse<S: Read + Write>(
        &self,
        stream: S,
        encrypted: bool,
        greet: bool,
    ) -> std::io::Result<Ending<S>> {
        let mut reader = BufReader::new(stream);
        macro_rules! reply {
            ($text:expr) => {{
                let stream = reader.get_mut();
                stream.write_all($text)?;
                stream.flush()?;
            }};
        }
        if greet {
            reply!(b"220 sink.localhost ESMTP\r\n");
        }
        let can_start_tls = !encrypted && matches!(self.acceptor, Some((TlsMode::StartTls, _)));
        // Credentials never travel in clear where TLS is on offer.
        let offers_auth = self.credentials.is_some() && (encrypted || self.acceptor.is_none());
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut authenticated_as: Option<String> = None;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(Ending::Closed);
            }
            let command = line.trim_end().to_string();
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                let mut answer =
                    String::from("250-sink.localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n");
                if can_start_tls {
                    answer.push_str("250-STARTTLS\r\n");
                }
                if offers_auth {
                    answer.push_str(&format!("250-AUTH {}\r\n", self.mechanisms));
                }
                answer.push_str("250 SIZE 20000000\r\n");
                reply!(answer.as_bytes());
            } else if upper.starts_with("HELO") {
                reply!(b"250 sink.localhost\r\n");
            } else if upper == "STARTTLS" && can_start_tls {
                reply!(b"220 2.0.0 Ready to start TLS\r\n");
                return Ok(Ending::StartTls(reader.into_inner()));
            } else if upper.starts_with("AUTH ") && offers_auth {
                let user = self.authenticate(&mut reader, &command)?;
                match user {
                    Some(user) => {
                        authenticated_as = Some(user);
                        reply!(b"235 2.7.0 Authentication successful\r\n");
                    }
                    None => reply!(b"535 5.7.8 Authentication credentials invalid\r\n"),
                }
            } else if upper.starts_with("MAIL FROM:") {
                if self.credentials.is_some() && authenticated_as.is_none() {
                    reply!(b"530 5.7.0 Authentication required\r\n");
                    continue;
                }
                from = address(&command[10..]);
                to.clear();
                reply!(b"250 2.1.0 OK\r\n");
            } else if upper.starts_with("RCPT TO:") {
                to.push(address(&command[8..]));
                reply!(b"250 2.1.5 OK\r\n");
            } else if upper == "DATA" {
                reply!(b"354 End data with <CR><LF>.<CR><LF>\r\n");
                let mut data = Vec::new();
                let mut raw = Vec::new();
                loop {
                    raw.clear();
                    if reader.read_until(b'\n', &mut raw)? == 0 {
                        return Ok(Ending::Closed);
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
                        encrypted,
                        authenticated_as: authenticated_as.clone(),
                    });
                }
                reply!(b"250 2.0.0 OK queued\r\n");
            } else if upper == "QUIT" {
                reply!(b"221 2.0.0 Bye\r\n");
                return Ok(Ending::Closed);
            } else if upper == "RSET" || upper == "NOOP" {
                reply!(b"250 2.0.0 OK\r\n");
            } else {
                reply!(b"502 5.5.2 Command not implemented\r\n");
            }
        }
    }

    /// Reads an `AUTH PLAIN` or `AUTH LOGIN` exchange; the user name when the password matches.
    fn authenticate<S: Read + Write>(
        &self,
        reader: &mut BufReader<S>,
        command: &str,
    ) -> std::io::Result<Option<String>> {
        let Some((user, password)) = &self.credentials else {
            return Ok(None);
        };
        let mut words = command.split_whitespace().skip(1);
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next().map(str::to_string);
        if !self
            .mechanisms
            .split_whitespace()
            .any(|m| m.eq_ignore_ascii_case(&mechanism))
        {
            return Ok(None);
        }
        let mut ask = |challenge: &str| -> std::io::Result<String> {
            let stream = reader.get_mut();
            stream.write_all(format!("334 {challenge}\r\n").as_bytes())?;
            stream.flush()?;
            let mut answer = String::new();
            reader.read_line(&mut answer)?;
            Ok(answer.trim_end().to_string())
        };
        let decode = |text: &str| -> String {
            STANDARD
                .decode(text)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        let (given_user, given_password) = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(initial) => initial,
                    None => ask("")?,
                };
                // authorization identity \0 user \0 password
                let decoded = decode(&response);
                let mut parts = decoded.split('\0').skip(1);
                (
                    parts.next().unwrap_or_default().to_string(),
                    parts.next().unwrap_or_default().to_string(),
                )
            }
            "LOGIN" => {
                let given_user = match initial {
                    Some(initial) => decode(&initial),
                    None => decode(&ask(&STANDARD.encode("Username:"))?),
                };
                let given_password = decode(&ask(&STANDARD.encode("Password:"))?);
                (given_user, given_password)
            }
            _ => return Ok(None),
        };
        Ok((given_user == *user && given_password == *password).then_some(given_user))
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
