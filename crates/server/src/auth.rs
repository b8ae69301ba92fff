//! HTTP Basic authentication with CB-Tumblebug's settings: `TB_AUTH_ENABLED`,
//! `TB_API_USERNAME`, and `TB_API_PASSWORD` holding a bcrypt hash of the password.
//! Probes (`readyz`, `livez`, `httpVersion`) stay open.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    pub enabled: bool,
    pub username: String,
    /// bcrypt hash (`$2a$`/`$2b$`/`$2y$`) of the password.
    pub password_hash: String,
}

impl AuthConfig {
    /// Reads `TB_AUTH_ENABLED`, `TB_API_USERNAME`, `TB_API_PASSWORD`.
    pub fn from_env() -> AuthConfig {
        let enabled = std::env::var("TB_AUTH_ENABLED").map(|v| v.eq_ignore_ascii_case("true")).unwrap_or(false);
        AuthConfig {
            enabled,
            username: std::env::var("TB_API_USERNAME").unwrap_or_else(|_| "default".into()),
            password_hash: std::env::var("TB_API_PASSWORD").unwrap_or_default(),
        }
    }
}

/// Paths reachable without credentials.
const OPEN_PATHS: [&str; 3] = ["/tumblebug/readyz", "/tumblebug/livez", "/tumblebug/httpVersion"];

pub struct Authenticator {
    config: AuthConfig,
    /// SHA-256 of the last password bcrypt accepted, so that bcrypt (tens of milliseconds by
    /// design) runs once per password rather than once per request.
    verified: Mutex<Option<[u8; 32]>>,
}

impl Authenticator {
    pub fn new(config: AuthConfig) -> Arc<Authenticator> {
        Arc::new(Authenticator { config, verified: Mutex::new(None) })
    }

    fn check(&self, header: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = header.and_then(|h| h.to_str().ok()).and_then(parse_basic) else {
            return false;
        };
        if !constant_time_eq(user.as_bytes(), self.config.username.as_bytes()) {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let cached = self.verified.lock().map(|g| *g).unwrap_or(None);
        if cached.is_some_and(|c| constant_time_eq(&c, &digest)) {
            return true;
        }
        let ok = bcrypt::verify(&password, &self.config.password_hash).unwrap_or(false);
        if ok && let Ok(mut g) = self.verified.lock() {
            *g = Some(digest);
        }
        ok
    }
}

fn parse_basic(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64_decode(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Standard base64 (with or without padding).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn require_auth(State(auth): State<Arc<Authenticator>>, req: Request, next: Next) -> Response {
    if !auth.config.enabled || OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    if auth.check(req.headers().get(header::AUTHORIZATION)) {
        return next.run(req).await;
    }
    let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized: valid HTTP Basic credentials are required")
        .into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tumblebug\""));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic() {
        assert_eq!(parse_basic("Basic ZGVmYXVsdDpkZWZhdWx0"), Some(("default".into(), "default".into())));
        assert_eq!(parse_basic("Basic YTpiOmM="), Some(("a".into(), "b:c".into())));
        assert_eq!(parse_basic("Bearer x"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }
}
