//! Mail through SMTP (lettre) to a minimal SMTP server run by the test.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{Backend, spawn_app_configured};

/// Accepts one SMTP session and returns the DATA it received.
async fn smtp_server(listener: TcpListener) -> String {
    let (socket, _) = listener.accept().await.unwrap();
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
    let mut data = String::new();
    let mut in_data = false;
    while let Some(line) = lines.next_line().await.unwrap() {
        if in_data {
            if line == "." {
                in_data = false;
                write.write_all(b"250 queued\r\n").await.unwrap();
            } else {
                data.push_str(&line);
                data.push('\n');
            }
            continue;
        }
        let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 test\r\n",
            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
            "DATA" => {
                in_data = true;
                b"354 go ahead\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await.unwrap();
                break;
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await.unwrap();
    }
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_mail_goes_through_smtp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(smtp_server(listener));
    let app = spawn_app_configured(Backend::Sqlite, Default::default(), |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.mail_from = "LifeOS Test <relay@example.org>".into();
    })
    .await;
    app.register("smtp@example.com").await;
    let r = app
        .post(
            "/api/v1/auth/password-reset/request",
            json!({ "email": "smtp@example.com" }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let data = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the relay delivers within 10 s")
        .unwrap();
    assert!(
        data.contains("From: \"LifeOS Test\" <relay@example.org>"),
        "{data}"
    );
    assert!(data.contains("To: smtp@example.com"), "{data}");
    let token = data
        .lines()
        .find_map(|l| l.strip_prefix("Reset token: "))
        .expect("a 'Reset token: ' line")
        .trim()
        .to_string();
    assert!(app.mails().is_empty(), "SMTP wins over the outbox");
    let r = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({ "token": token, "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn unusable_smtp_settings_stop_the_relay_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::spawn_config(dir.path());
    config.smtp_url = Some("gopher://mail.example.com".into());
    let error = lifeos_relay::build(config, Default::default())
        .await
        .err()
        .expect("refused");
    let text = error.to_string();
    assert!(text.contains("LIFEOS_SMTP_URL"), "{text}");
    let mut config = crate::helpers::spawn_config(dir.path());
    config.mail_from = "not an address".into();
    let error = lifeos_relay::build(config, Default::default())
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("LIFEOS_MAIL_FROM"));
}
