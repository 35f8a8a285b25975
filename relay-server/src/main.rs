//! `lifeos-relay`: parses the command line (and `.env`), then runs the library.

use std::process::ExitCode;

use clap::Parser;
use lifeos_relay::config::{Cli, Command};
use lifeos_relay::features::Features;
use lifeos_relay::{build, migrate, serve, shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    lifeos_relay::tune_allocator();
    // The real environment wins over .env: dotenvy never overwrites a set variable.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    let result = async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::User { action } => {
                let password = match action {
                    lifeos_relay::config::UserAction::Create { .. } => {
                        let mut line = String::new();
                        std::io::stdin().read_line(&mut line)?;
                        Some(line.trim_end_matches(['\r', '\n']).to_string())
                            .filter(|p| !p.is_empty())
                    }
                    _ => None,
                };
                println!(
                    "{}",
                    lifeos_relay::user_command(&cli.config, action, password).await?
                );
                Ok(())
            }
            Command::Backup { out } => {
                println!("{}", lifeos_relay::backup_command(&cli.config, &out).await?);
                Ok(())
            }
            Command::Restore { from } => {
                println!(
                    "{}",
                    lifeos_relay::restore_command(&cli.config, &from).await?
                );
                Ok(())
            }
            Command::Healthcheck => Ok(lifeos_relay::healthcheck(cli.config.bind)?),
            Command::Openapi => {
                println!("{}", lifeos_relay::http::openapi::document());
                Ok(())
            }
            Command::Migrate => {
                migrate(&cli.config).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Serve => {
                let features = Features::from_env()?;
                let bind = cli.config.bind;
                let state = build(cli.config, features).await?;
                let listener = tokio::net::TcpListener::bind(bind).await?;
                tracing::info!(address = %listener.local_addr()?, "lifeos-relay listening");
                serve(listener, state, shutdown_signal()).await
            }
        }
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("lifeos-relay: {e}");
            ExitCode::FAILURE
        }
    }
}
