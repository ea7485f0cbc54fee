//! The `gazette` binary: parses the command line, runs the library, prints
//! the whole error chain and maps it to a documented exit code.

use clap::Parser;
use gazette::ExitCode;
use gazette::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "warn,gazette=info",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("GAZETTE_LOG").unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: cron mails and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();

    match gazette::app::run(&cli.into_request()) {
        Ok(()) => std::process::ExitCode::from(ExitCode::Success as u8),
        Err(error) => {
            eprintln!("error: {error}");
            let mut causes = error.chain().skip(1).peekable();
            if causes.peek().is_some() {
                eprintln!("\nCaused by:");
                for cause in causes {
                    eprintln!("    {cause}");
                }
            }
            std::process::ExitCode::from(ExitCode::for_error(&error) as u8)
        }
    }
}
