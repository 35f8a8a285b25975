//! Outgoing mail. With `LIFEOS_MAIL_OUTBOX_DIR` every mail is written there as
//! one RFC 5322 `.eml` file (like a file-based mail backend); SMTP sending
//! (`LIFEOS_SMTP_URL`) is not part of this build yet, and a relay with neither
//! logs that it could not send, without the mail's contents.

use std::path::PathBuf;

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Write `.eml` files into this directory.
    Outbox(PathBuf),
    /// Nowhere: the relay cannot send mail.
    Disabled,
}

/// One plain-text mail.
pub struct Mail<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// Subject line (ASCII).
    pub subject: &'a str,
    /// Body, plain text.
    pub body: String,
}

impl Mailer {
    /// Delivers `mail`; errors are logged, never shown to the requester
    /// (whose answer must not depend on whether an account exists).
    pub async fn send(&self, mail: Mail<'_>) {
        match self {
            Mailer::Outbox(dir) => {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let id = uuid::Uuid::new_v4();
                let date = lifeos_core::time::format_timestamp(
                    lifeos_core::time::Timestamp::from_millis(i64::try_from(millis).unwrap_or(0)),
                );
                let eml = format!(
                    "From: LifeOS <no-reply@lifeos.invalid>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@lifeos.invalid>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
                    to = mail.to,
                    subject = mail.subject,
                    body = mail.body.replace('\n', "\r\n"),
                );
                let path = dir.join(format!("{millis}-{id}.eml"));
                let written = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&path, eml).await
                }
                .await;
                match written {
                    Ok(()) => tracing::info!(path = %path.display(), "mail written to the outbox"),
                    Err(e) => tracing::error!(error = %e, "cannot write mail to the outbox"),
                }
            }
            Mailer::Disabled => tracing::warn!(
                subject = mail.subject,
                "no mail transport configured: mail not sent"
            ),
        }
    }
}
