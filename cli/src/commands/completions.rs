//! `daedalus completions <shell>`: shell completions on stdout, e.g.
//! `daedalus completions bash > /etc/bash_completion.d/daedalus`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// `daedalus completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completions of the command line `C` for the shell.
pub(crate) fn run<C: CommandFactory>(a: &CompletionsArgs) -> anyhow::Result<()> {
    let mut cmd = C::command();
    clap_complete::generate(a.shell, &mut cmd, "daedalus", &mut std::io::stdout());
    Ok(())
}
