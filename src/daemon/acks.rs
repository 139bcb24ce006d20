//! Acknowledgements (docs/CHANNELS.md): a signed link in each firing notice;
//! opening it asks to confirm, confirming records who and when, and the
//! episode gets no reminders while it stays at the status acknowledged.
//!
//! The link names the episode (objective, group, the instant it fired) and
//! carries an HMAC-SHA256 of it under `--ack-secret`, so that only a link the
//! daemon wrote acknowledges anything, and a link acknowledges only its own
//! episode: a new breach of the same series needs a new acknowledgement.

use chrono::{DateTime, Utc};

/// The key acknowledgement links are signed with.
pub struct AckKey(ring::hmac::Key);

impl std::fmt::Debug for AckKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckKey(…)")
    }
}

/// An episode, as a link names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    pub objective: String,
    pub group: String,
    pub fired_at: DateTime<Utc>,
}

/// How many bytes of the HMAC a link carries: 128 bits.
const SIGNATURE_BYTES: usize = 16;

impl AckKey {
    /// The key of `secret` (`--ack-secret`).
    pub fn new(secret: &str) -> AckKey {
        AckKey(ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            secret.as_bytes(),
        ))
    }

    fn message(e: &Episode) -> String {
        format!(
            "handoff-ack\n{}\n{}\n{}",
            e.objective,
            e.group,
            e.fired_at.timestamp_micros()
        )
    }

    /// The signature of `e`, in hex.
    pub fn sign(&self, e: &Episode) -> String {
        let tag = ring::hmac::sign(&self.0, AckKey::message(e).as_bytes());
        hex(&tag.as_ref()[..SIGNATURE_BYTES])
    }

    /// Whether `signature` is that of `e` (compared in constant time).
    pub fn verify(&self, e: &Episode, signature: &str) -> bool {
        let Some(given) = unhex(signature) else {
            return false;
        };
        let tag = ring::hmac::sign(&self.0, AckKey::message(e).as_bytes());
        // Every byte compared, whatever the first difference.
        given.len() == SIGNATURE_BYTES
            && tag.as_ref()[..SIGNATURE_BYTES]
                .iter()
                .zip(&given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The link that acknowledges `e`, under the status page's base URL.
    pub fn link(&self, base: &str, e: &Episode) -> String {
        format!(
            "{}/ack?o={}&g={}&e={}&s={}",
            base.trim_end_matches('/'),
            percent(&e.objective),
            percent(&e.group),
            e.fired_at.timestamp_micros(),
            self.sign(e)
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// `s` percent-encoded for a query value: only unreserved characters stay.
pub fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode() -> Episode {
        Episode {
            objective: "speed-to-lead".into(),
            group: "paid social".into(),
            fired_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_link_acknowledges_its_own_episode_only() {
        let k = AckKey::new("s3cret");
        let e = episode();
        let s = k.sign(&e);
        assert_eq!(s.len(), 32);
        assert!(k.verify(&e, &s));
        // Another episode of the same series, another series, another key,
        // a cut or altered signature: refused.
        let later = Episode {
            fired_at: e.fired_at + chrono::TimeDelta::microseconds(1),
            ..e.clone()
        };
        assert!(!k.verify(&later, &s));
        let other = Episode {
            group: "webinar".into(),
            ..e.clone()
        };
        assert!(!k.verify(&other, &s));
        assert!(!AckKey::new("other").verify(&e, &s));
        assert!(!k.verify(&e, &s[..30]));
        assert!(!k.verify(&e, "zz"));
        let mut flipped = s.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(!k.verify(&e, &String::from_utf8(flipped).unwrap()));
    }

    #[test]
    fn the_link_encodes_names_for_a_query() {
        let k = AckKey::new("s3cret");
        let link = k.link("https://handoff.acme.example/", &episode());
        assert!(
            link.starts_with(
                "https://handoff.acme.example/ack?o=speed-to-lead&g=paid%20social&e=1790000000000000&s="
            ),
            "{link}"
        );
    }
}
