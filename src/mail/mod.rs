//! Alert mail (docs/MAIL.md): how a decided mail is written ([`render`]) and how
//! it leaves ([`Transport`]): to an SMTP server through lettre, or, without
//! one, as an `.eml` file in an outbox directory.
//!
//! What is mailed, to whom and when is the daemon's business
//! (`daemon::notify`); this module knows nothing of alerts' state.

pub mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{Address, AsyncTransport, Tokio1Executor};

/// How mail leaves.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server, as the `--smtp-url` says.
    Smtp {
        /// Boxed, so that the enum stays small.
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        /// The URL without its password, for messages.
        shown: String,
        /// How long each step of the exchange may take (`--smtp-timeout`).
        step: Duration,
        /// How many steps an exchange with this server takes, at most: the
        /// whole of one send is given `step` for each.
        steps: u32,
    },
    /// Each mail written as `<Message-ID>.eml` into this directory.
    Dir(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Why a mail was not delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    /// Whether trying again cannot help: a 5xx reply or an authentication
    /// failure.
    pub permanent: bool,
    /// A bounded reason, for the failure counter: `temporary`, `timeout` (the
    /// server did not answer in time; tried again), `permanent` or `auth`.
    pub reason: &'static str,
    /// Whether the server could not be reached at all (rather than refusing
    /// this one mail): later mails would fail the same way.
    pub connection: bool,
    /// What the server said (with its reply code) or what went wrong.
    pub message: String,
    /// How long the server asked to wait before the next attempt (an HTTP
    /// `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The ways `--smtp-url` may say how to secure the connection; never guessed
/// from the port.
pub const SMTP_URL_FORMS: &str = "smtp://HOST:PORT (no encryption), \
smtp://HOST:PORT?tls=required (STARTTLS, refuse without it), \
smtp://HOST:PORT?tls=opportunistic (STARTTLS when offered), \
smtps://HOST:PORT (TLS from the first byte); add USER:PASSWORD@ before HOST to log in";

/// How long each step of an exchange with the SMTP server may take, unless
/// `--smtp-timeout` says otherwise.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The steps of one send over a plain connection without login, each a wait
/// for the server: connecting (the name looked up and the TCP connection
/// made), its greeting, the replies to EHLO, MAIL, RCPT and DATA, the reply
/// to the message's end, and to QUIT.
const PLAIN_STEPS: u32 = 8;
/// STARTTLS adds its reply, the TLS handshake and the second EHLO.
const STARTTLS_STEPS: u32 = 3;
/// TLS from the first byte adds the handshake.
const TLS_STEPS: u32 = 1;
/// Logging in adds up to three replies (AUTH LOGIN asks for the user name
/// and the password in turn; AUTH PLAIN takes one).
const AUTH_STEPS: u32 = 3;

impl Transport {
    /// The transport an `--smtp-url` names, or the outbox directory without one.
    ///
    /// # Errors
    ///
    /// The URL is not one of [`SMTP_URL_FORMS`].
    pub fn new(smtp_url: Option<&str>, outbox_dir: &Path) -> Result<Transport, String> {
        Transport::with_timeout(smtp_url, outbox_dir, DEFAULT_SMTP_TIMEOUT)
    }

    /// As [`Transport::new`], with `step` for each step of an exchange with the
    /// server (`--smtp-timeout`): connecting, the greeting, the reply to each
    /// command and to the message. lettre bounds only the TCP connection with
    /// it; the whole send is bounded here by `step` times the number of steps
    /// the URL's exchange takes, so that a server that accepts the connection
    /// and then says nothing (or too little, too slowly) fails the send with
    /// the reason `timeout` instead of holding all mail.
    ///
    /// # Errors
    ///
    /// As [`Transport::new`].
    pub fn with_timeout(
        smtp_url: Option<&str>,
        outbox_dir: &Path,
        step: Duration,
    ) -> Result<Transport, String> {
        let Some(url) = smtp_url.filter(|u| !u.trim().is_empty()) else {
            return Ok(Transport::Dir(outbox_dir.to_owned()));
        };
        let shown = crate::store::redact(url);
        let bad = |why: &str| format!("--smtp-url {shown}: {why}; use one of: {SMTP_URL_FORMS}");
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("not a URL"))?;
        let query = rest.split_once('?').map(|(_, q)| q);
        let tls = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|kv| kv.strip_prefix("tls="));
        match (scheme, tls) {
            ("smtp", None | Some("required" | "opportunistic")) | ("smtps", None) => {}
            ("smtp" | "smtps", Some(other)) => {
                return Err(bad(&format!(
                    "tls={other} is not a choice (required or opportunistic, with smtp://)"
                )));
            }
            (other, _) => return Err(bad(&format!("the scheme {other}:// is not SMTP"))),
        }
        // A user name without a password would silently send without logging in.
        let userinfo = rest.split('/').next().unwrap_or("").rsplit_once('@');
        if let Some((userinfo, _)) = userinfo
            && !userinfo.contains(':')
        {
            return Err(bad(
                "a user name without a password (write USER:PASSWORD@HOST)",
            ));
        }
        let steps = PLAIN_STEPS
            + match (scheme, tls) {
                ("smtps", _) => TLS_STEPS,
                (_, Some(_)) => STARTTLS_STEPS,
                _ => 0,
            }
            + if userinfo.is_some() { AUTH_STEPS } else { 0 };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| bad(&e.to_string()))?
            // lettre bounds the TCP connection (to each address the name
            // resolves to) with this, and nothing after it.
            .timeout(Some(step))
            .build();
        Ok(Transport::Smtp {
            transport: Box::new(transport),
            shown,
            step,
            steps,
        })
    }

    /// Where mail goes, for the log.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { shown, .. } => format!("SMTP server {shown}"),
            Transport::Dir(d) => format!("outbox directory {}", d.display()),
        }
    }

    /// Hands one message to the server (or writes it). `id` is its Message-ID,
    /// which names the file in an outbox directory, so that writing it again
    /// replaces it rather than adding a copy.
    ///
    /// # Errors
    ///
    /// The server refused, could not be reached or did not answer in time; the
    /// directory could not be written.
    pub async fn send(
        &self,
        id: &str,
        from: &Address,
        to: &str,
        message: &[u8],
    ) -> Result<(), SendError> {
        match self {
            Transport::Smtp {
                transport,
                step,
                steps,
                ..
            } => {
                let to: Address = to.parse().map_err(|e| SendError {
                    permanent: true,
                    reason: "permanent",
                    connection: false,
                    message: format!("{to} is not a mail address: {e}"),
                    retry_after: None,
                })?;
                let envelope = lettre::address::Envelope::new(Some(from.clone()), vec![to])
                    .map_err(|e| SendError {
                        permanent: true,
                        reason: "permanent",
                        connection: false,
                        message: e.to_string(),
                        retry_after: None,
                    })?;
                let deadline = *step * *steps;
                match tokio::time::timeout(deadline, transport.send_raw(&envelope, message)).await {
                    Ok(sent) => sent.map(|_| ()).map_err(|e| classify(&e)),
                    // The exchange is dropped, and its connection closed, here.
                    Err(_) => Err(SendError {
                        permanent: false,
                        reason: "timeout",
                        connection: true,
                        message: format!(
                            "the SMTP server did not finish the exchange within {}s \
                             ({} steps of {}s: --smtp-timeout)",
                            deadline.as_secs_f64(),
                            steps,
                            step.as_secs_f64()
                        ),
                        retry_after: None,
                    }),
                }
            }
            Transport::Dir(dir) => write_eml(dir, id, message).await.map_err(|e| SendError {
                permanent: false,
                reason: "temporary",
                connection: true,
                message: format!("writing {}: {e}", dir.join(eml_name(id)).display()),
                retry_after: None,
            }),
        }
    }
}

/// Sorts an SMTP error into what can be tried again and what cannot.
pub fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string());
    let said = crate::error_chain(e);
    let message = match &code {
        Some(c) if !said.contains(c.as_str()) => format!("{c} {said}"),
        _ => said,
    };
    if e.is_permanent() {
        let auth = matches!(code.as_deref(), Some("530" | "534" | "535" | "538"));
        return SendError {
            permanent: true,
            reason: if auth { "auth" } else { "permanent" },
            connection: false,
            message,
            retry_after: None,
        };
    }
    // What lettre refuses itself, with no reply from the server: no login
    // mechanism in common (often a login without tls=required), no STARTTLS
    // where required, an address the server cannot take. Trying again cannot
    // help.
    if e.is_client() {
        let auth = message.to_ascii_lowercase().contains("authentic");
        return SendError {
            permanent: true,
            reason: if auth { "auth" } else { "permanent" },
            connection: false,
            message,
            retry_after: None,
        };
    }
    // lettre's own deadline (on the TCP connection), or the system's.
    if e.is_timeout() {
        return SendError {
            permanent: false,
            reason: "timeout",
            connection: true,
            message,
            retry_after: None,
        };
    }
    SendError {
        permanent: false,
        reason: "temporary",
        // A 4xx reply is about this mail, except 421 (the server is closing
        // the connection); anything else (refused, timed out, TLS) is about
        // the connection.
        connection: !e.is_transient() || code.as_deref() == Some("421"),
        message,
        retry_after: None,
    }
}

/// The file name of a message in an outbox directory.
pub fn eml_name(id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.eml")
}

/// Writes a message whole or not at all: to a temporary name, then renamed.
async fn write_eml(dir: &Path, id: &str, message: &[u8]) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let path = dir.join(eml_name(id));
    let tmp = dir.join(format!(".{}.tmp", eml_name(id)));
    tokio::fs::write(&tmp, message).await?;
    tokio::fs::rename(&tmp, &path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_say_how_to_secure_the_connection() {
        let dir = Path::new("outbox");
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.com:587?tls=required",
            "smtp://mail.example.com:587?tls=opportunistic",
            "smtps://user:secret@mail.example.com:465",
        ] {
            let t = Transport::new(Some(ok), dir).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(t.describe().starts_with("SMTP server"), "{ok}");
            assert!(
                !t.describe().contains("secret"),
                "password shown: {}",
                t.describe()
            );
        }
        for (bad, says) in [
            ("smtp://h:25?tls=yes", "tls=yes is not a choice"),
            ("smtp://alerts@h:587?tls=required", "without a password"),
            ("smtps://h:465?tls=required", "tls=required is not a choice"),
            ("http://h", "not SMTP"),
            ("mail.example.com:25", "not a URL"),
        ] {
            let e = Transport::new(Some(bad), dir).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(e.contains("smtps://HOST:PORT"), "{bad}: {e}");
        }
        assert!(matches!(Transport::new(None, dir), Ok(Transport::Dir(_))));
        assert!(matches!(
            Transport::new(Some(""), dir),
            Ok(Transport::Dir(_))
        ));
    }

    #[test]
    fn eml_names_are_safe_file_names() {
        assert_eq!(
            eml_name("breach.0af3@acme.example"),
            "breach.0af3@acme.example.eml"
        );
        assert_eq!(eml_name("a/../b c"), "a_.._b_c.eml");
    }

    /// How a hand-written SMTP server on 127.0.0.1 behaves.
    #[derive(Clone, Copy)]
    enum Server {
        /// Accepts the connection and says nothing.
        Silent,
        /// Answers everything, but never the end of the message.
        SilentAfterData,
        /// Answers everything, each reply (the greeting too) this late.
        Slow(Duration),
    }

    /// Starts a server that takes one connection and behaves as `how`; it
    /// gives back the lines of the message it was sent, up to the dot, if it
    /// got that far. Every loop is bounded, and the server gives up after
    /// a minute whatever happens.
    async fn fake_smtp(how: Server) -> (String, tokio::task::JoinHandle<Option<String>>) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let server = async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            if let Server::Silent = how {
                // Hold the connection until the client hangs up (reading what
                // it sends: a TLS client starts the handshake).
                let mut buf = [0; 4096];
                for _ in 0..1000 {
                    if !matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {
                        break;
                    }
                }
                return None;
            }
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            let delay = match how {
                Server::Slow(d) => d,
                _ => Duration::ZERO,
            };
            let reply = async |write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
                tokio::time::sleep(delay).await;
                let _ = write.write_all(text.as_bytes()).await;
            };
            reply(&mut write, "220 fake ESMTP\r\n").await;
            let mut message = None;
            for _ in 0..100 {
                let Ok(Some(line)) = lines.next_line().await else {
                    break;
                };
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                match verb.as_str() {
                    "EHLO" => reply(&mut write, "250-fake\r\n250 8BITMIME\r\n").await,
                    "MAIL" | "RCPT" => reply(&mut write, "250 OK\r\n").await,
                    "DATA" => {
                        reply(&mut write, "354 go on\r\n").await;
                        let mut body = Vec::new();
                        for _ in 0..10_000 {
                            match lines.next_line().await {
                                Ok(Some(l)) if l == "." => break,
                                Ok(Some(l)) => body.push(l),
                                _ => return None,
                            }
                        }
                        message = Some(body.join("\n"));
                        if let Server::SilentAfterData = how {
                            // Until the client hangs up.
                            for _ in 0..100 {
                                if !matches!(lines.next_line().await, Ok(Some(_))) {
                                    break;
                                }
                            }
                            return message;
                        }
                        reply(&mut write, "250 queued\r\n").await;
                    }
                    "QUIT" => {
                        reply(&mut write, "221 bye\r\n").await;
                        break;
                    }
                    _ => reply(&mut write, "500 what?\r\n").await,
                }
            }
            message
        };
        let handle = tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(60), server)
                .await
                .ok()
                .flatten()
        });
        (url, handle)
    }

    /// The lines a server receives of the message [`send_within`] sends: lettre
    /// writes `\r\n.\r\n` after a message that already ends in `\r\n`, so
    /// an empty line comes before the dot.
    const RECEIVED: &str = "Subject: hi\n\nbody\n";

    /// Sends one mail through `url` with `step` for each step, within a
    /// generous `bound` (which the old transport, with no deadline after the
    /// TCP connection, overran); the result and how long it took.
    async fn send_within(
        url: &str,
        step: Duration,
        bound: Duration,
    ) -> (Result<(), SendError>, Duration) {
        let t = Transport::with_timeout(Some(url), Path::new("unused"), step).unwrap();
        let from: Address = "handoff@acme.example".parse().unwrap();
        let started = std::time::Instant::now();
        let sent = tokio::time::timeout(
            bound,
            t.send(
                "m1@acme.example",
                &from,
                "a@acme.example",
                b"Subject: hi\r\n\r\nbody\r\n",
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{url}: no answer within {bound:?}"));
        (sent, started.elapsed())
    }

    fn assert_timeout(sent: Result<(), SendError>) {
        let e = sent.expect_err("a server that does not answer is no delivery");
        assert_eq!(e.reason, "timeout", "{e:?}");
        assert!(e.connection, "later mail would wait the same: {e:?}");
        assert!(!e.permanent, "tried again: {e:?}");
        assert!(e.message.contains("8 steps of 1s"), "{e:?}");
    }

    #[tokio::test]
    async fn a_server_that_never_greets_fails_the_send_as_a_timeout() {
        let (url, server) = fake_smtp(Server::Silent).await;
        // A plain exchange without login is 8 steps: given 1 s each, the send
        // gives up after 8 s.
        let (sent, took) = send_within(&url, Duration::from_secs(1), Duration::from_secs(30)).await;
        assert_timeout(sent);
        assert!(took >= Duration::from_secs(8), "{took:?}");
        assert_eq!(server.await.unwrap(), None, "the client hung up");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_the_message_fails_the_send_as_a_timeout() {
        let (url, server) = fake_smtp(Server::SilentAfterData).await;
        let (sent, _) = send_within(&url, Duration::from_secs(1), Duration::from_secs(30)).await;
        assert_timeout(sent);
        assert_eq!(
            server.await.unwrap().as_deref(),
            Some(RECEIVED),
            "the message was sent; its reply never came"
        );
    }

    #[tokio::test]
    async fn a_slow_server_that_answers_each_step_in_time_gets_the_mail() {
        // Seven replies (greeting, EHLO, MAIL, RCPT, DATA, the message, QUIT)
        // 0.6 s late each: 4.2 s in all, more than one step of 1 s but each
        // within its own, and within the 8 s of the whole.
        let (url, server) = fake_smtp(Server::Slow(Duration::from_millis(600))).await;
        let (sent, took) = send_within(&url, Duration::from_secs(1), Duration::from_secs(30)).await;
        sent.unwrap();
        assert!(took >= Duration::from_millis(4200), "{took:?}");
        assert_eq!(server.await.unwrap().as_deref(), Some(RECEIVED));
    }

    #[tokio::test]
    async fn the_whole_send_is_given_a_step_for_each_step_its_url_takes() {
        // 8 for a plain exchange; STARTTLS adds 3 (its reply, the handshake,
        // EHLO again), TLS from the start 1 (the handshake), a login 3.
        for (form, steps) in [
            ("smtp://{}?tls=opportunistic", 11),
            ("smtp://u:p@{}", 11),
            ("smtp://u:p@{}?tls=required", 14),
            ("smtps://u:p@{}", 12),
        ] {
            let (url, server) = fake_smtp(Server::Silent).await;
            let url = form.replace("{}", url.trim_start_matches("smtp://"));
            let (sent, took) =
                send_within(&url, Duration::from_millis(100), Duration::from_secs(30)).await;
            let e = sent.expect_err(&url);
            assert_eq!(e.reason, "timeout", "{url}: {e:?}");
            assert!(
                e.message.contains(&format!("{steps} steps of 0.1s")),
                "{url}: {e:?}"
            );
            assert!(
                took >= Duration::from_millis(100 * steps),
                "{url}: {took:?}"
            );
            assert_eq!(server.await.unwrap(), None, "{url}");
        }
    }

    #[tokio::test]
    async fn the_outbox_directory_gets_one_file_per_message_id() {
        let dir = tempfile::tempdir().unwrap();
        let t = Transport::new(None, dir.path()).unwrap();
        let from: Address = "handoff@acme.example".parse().unwrap();
        t.send("m1@acme.example", &from, "a@acme.example", b"one")
            .await
            .unwrap();
        t.send("m1@acme.example", &from, "a@acme.example", b"one again")
            .await
            .unwrap();
        t.send("m2@acme.example", &from, "a@acme.example", b"two")
            .await
            .unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["m1@acme.example.eml", "m2@acme.example.eml"]);
        assert_eq!(
            std::fs::read(dir.path().join("m1@acme.example.eml")).unwrap(),
            b"one again"
        );
    }
}
