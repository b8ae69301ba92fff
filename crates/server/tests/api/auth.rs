use crate::common::{TestApp, assert_error, build};

fn basic(user: &str, pass: &str) -> String {
    // Small base64 encoder for the test.
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{pass}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

#[tokio::test]
async fn basic_auth_with_bcrypt_hash() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let cfg = tb_server::AuthConfig { enabled: true, username: "admin".into(), password_hash: hash };
    let router = build(dir.path(), cfg, None).await;
    let mut app = TestApp { router, dir, auth_header: None };

    // Probes are open.
    assert_eq!(app.get("/tumblebug/readyz").await.status, 200);
    assert_eq!(app.get("/tumblebug/livez").await.status, 200);
    assert_eq!(app.get("/tumblebug/httpVersion").await.status, 200);
    let r = app.get("/tumblebug/ns").await;
    assert_error(&r, 401, "Unauthorized");
    assert!(r.headers.get("www-authenticate").is_some());
    app.auth_header = Some(basic("admin", "wrong"));
    assert_error(&app.get("/tumblebug/ns").await, 401, "Unauthorized");
    app.auth_header = Some(basic("root", "s3cret"));
    assert_error(&app.get("/tumblebug/ns").await, 401, "Unauthorized");
    app.auth_header = Some(basic("admin", "s3cret"));
    assert_eq!(app.get("/tumblebug/ns").await.status, 200);
    // Second call uses the verified-password cache; a different password still fails.
    assert_eq!(app.get("/tumblebug/ns").await.status, 200);
    app.auth_header = Some(basic("admin", "s3cret2"));
    assert_eq!(app.get("/tumblebug/ns").await.status, 401);
    app.auth_header = Some("Basic ###".into());
    assert_eq!(app.get("/tumblebug/ns").await.status, 401);
}

#[tokio::test]
async fn auth_off_by_default() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/tumblebug/ns").await.status, 200);
}
