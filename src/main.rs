//! The `handoff` binary: parse the command line, start logging, hand over to
//! the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let mut cli = handoff::cli::Cli::parse();
    handoff::cli::init_tracing(&cli);
    if let Err(e) = cli.read_secret_files() {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(handoff::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", handoff::error_chain(e.as_ref()));
            if e.is::<handoff::cli::Usage>() {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
