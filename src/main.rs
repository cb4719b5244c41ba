use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    yearbook::cli::execute(yearbook::cli::Cli::parse())
}
