//! Outgoing mail, built with lettre. `LIFEOS_SMTP_URL` sends it through an
//! SMTP server; `LIFEOS_MAIL_OUTBOX_DIR` writes each mail as one RFC 5322
//! `.eml` file (like a file-based mail backend, for development and tests); a
//! relay with neither logs that it could not send, without the contents.

use std::path::PathBuf;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::StartupError;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// Through an SMTP server.
    Smtp {
        /// The connection settings (connections are made per mail).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The sender.
        from: Mailbox,
    },
    /// Write `.eml` files into this directory.
    Outbox {
        /// The directory.
        dir: PathBuf,
        /// The sender.
        from: Mailbox,
    },
    /// Nowhere: the relay cannot send mail.
    Disabled,
}

/// One plain-text mail.
pub struct Mail<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Body, plain text.
    pub body: String,
}

impl Mailer {
    /// The mailer the settings ask for: SMTP if `smtp_url` is set, else the
    /// outbox if `outbox` is set, else none.
    pub fn from_settings(
        smtp_url: Option<&str>,
        outbox: Option<&PathBuf>,
        from: &str,
    ) -> Result<Self, StartupError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| StartupError::Config(format!("LIFEOS_MAIL_FROM {from:?}: {e}")))?;
        if let Some(url) = smtp_url {
            // The URL holds a password: never echo it, only lettre's reason.
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| StartupError::Config(format!("LIFEOS_SMTP_URL is not usable: {e}")))?
                .timeout(Some(std::time::Duration::from_secs(20)))
                .build();
            return Ok(Mailer::Smtp { transport, from });
        }
        Ok(match outbox {
            Some(dir) => Mailer::Outbox {
                dir: dir.clone(),
                from,
            },
            None => Mailer::Disabled,
        })
    }

    /// Delivers `mail`; errors are logged, never shown to the requester
    /// (whose answer must not depend on whether an account exists).
    pub async fn send(&self, mail: Mail<'_>) {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
            Mailer::Disabled => {
                tracing::warn!(
                    subject = mail.subject,
                    "no mail transport configured: mail not sent"
                );
                return;
            }
        };
        let message = match build(from, &mail) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot build mail");
                return;
            }
        };
        match self {
            Mailer::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => tracing::info!(subject = mail.subject, "mail sent"),
                Err(e) => tracing::error!(error = %e, "cannot send mail through SMTP"),
            },
            Mailer::Outbox { dir, .. } => {
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let path = dir.join(format!("{millis}-{}.eml", uuid::Uuid::new_v4()));
                let written = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&path, message.formatted()).await
                }
                .await;
                match written {
                    Ok(()) => tracing::info!(path = %path.display(), "mail written to the outbox"),
                    Err(e) => tracing::error!(error = %e, "cannot write mail to the outbox"),
                }
            }
            Mailer::Disabled => {}
        }
    }
}

fn build(from: Mailbox, mail: &Mail<'_>) -> Result<Message, String> {
    let to: Mailbox = mail.to.parse().map_err(|e| format!("recipient: {e}"))?;
    // 8bit keeps every line as written (quoted-printable would wrap the
    // token line, which CONTRACT.md promises is a line of its own).
    let body = Body::new_with_encoding(mail.body.clone(), ContentTransferEncoding::EightBit)
        .map_err(|_| "body lines too long for 8bit".to_string())?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())
}
