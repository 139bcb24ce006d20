//! Alert mail (DESIGN §9): how a decided mail is written ([`render`]) and how
//! it leaves ([`Transport`]): to an SMTP server through lettre, or, without
//! one, as an `.eml` file in an outbox directory.
//!
//! What is mailed, to whom and when is the daemon's business
//! (`daemon::notify`); this module knows nothing of alerts' state.

pub mod render;

use std::path::{Path, PathBuf};

use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{Address, AsyncTransport, Tokio1Executor};

/// How mail leaves.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server, as the `--smtp-url` says.
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL without its password, for messages.
        shown: String,
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
    /// A bounded reason, for the failure counter: `temporary`, `permanent` or
    /// `auth`.
    pub reason: &'static str,
    /// Whether the server could not be reached at all (rather than refusing
    /// this one mail): later mails would fail the same way.
    pub connection: bool,
    /// What the server said (with its reply code) or what went wrong.
    pub message: String,
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

impl Transport {
    /// The transport an `--smtp-url` names, or the outbox directory without one.
    ///
    /// # Errors
    ///
    /// The URL is not one of [`SMTP_URL_FORMS`].
    pub fn new(smtp_url: Option<&str>, outbox_dir: &Path) -> Result<Transport, String> {
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
        if let Some((userinfo, _)) = rest.split('/').next().unwrap_or("").rsplit_once('@')
            && !userinfo.contains(':')
        {
            return Err(bad(
                "a user name without a password (write USER:PASSWORD@HOST)",
            ));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| bad(&e.to_string()))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Transport::Smtp { transport, shown })
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
    /// The server refused or could not be reached; the directory could not be
    /// written.
    pub async fn send(
        &self,
        id: &str,
        from: &Address,
        to: &str,
        message: &[u8],
    ) -> Result<(), SendError> {
        match self {
            Transport::Smtp { transport, .. } => {
                let to: Address = to.parse().map_err(|e| SendError {
                    permanent: true,
                    reason: "permanent",
                    connection: false,
                    message: format!("{to} is not a mail address: {e}"),
                })?;
                let envelope = lettre::address::Envelope::new(Some(from.clone()), vec![to])
                    .map_err(|e| SendError {
                        permanent: true,
                        reason: "permanent",
                        connection: false,
                        message: e.to_string(),
                    })?;
                transport
                    .send_raw(&envelope, message)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e))
            }
            Transport::Dir(dir) => write_eml(dir, id, message).await.map_err(|e| SendError {
                permanent: false,
                reason: "temporary",
                connection: true,
                message: format!("writing {}: {e}", dir.join(eml_name(id)).display()),
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
