//! What each preset starts: the program, its headless flags, the flag that
//! carries the model, and how its output is read; and how one call's
//! command line is made from that and the prompt.
//!
//! The flags are the tools' documented non-interactive modes:
//!
//! - Claude Code: `claude -p --output-format json --permission-mode
//!   acceptEdits`. `-p`/`--print` runs one prompt and exits, reading the
//!   prompt from stdin when no argument is given; `--output-format json`
//!   prints one result object (`result`, `is_error`, `total_cost_usd`,
//!   `usage`); `acceptEdits` lets it edit files without a prompt nobody
//!   would answer, while other shell commands stay denied (override
//!   `command` with `--allowedTools` rules to let it run tests). Model:
//!   `--model`.
//! - Codex: `codex exec --sandbox workspace-write --json`. `exec` is the
//!   non-interactive mode and reads the prompt from stdin when none is
//!   given; `--sandbox workspace-write` allows edits inside the workspace
//!   only (it replaces the deprecated `--full-auto`); `--json` prints JSONL
//!   events (`item.completed` with the `agent_message`, `turn.completed`
//!   with `usage`). Model: `--model`.
//! - Aider: `aider --message=<prompt> --yes-always --no-auto-commits` plus
//!   switches that keep a headless run from touching anything but the code:
//!   no dirty commits, no `.gitignore` edit, no colours, no update check,
//!   no release notes, no analytics, no URL scraping, no model-warning
//!   prompt, and its chat history in aido's data folder instead of the
//!   workspace. Aider has no stdin mode, so the prompt is an argument,
//!   written `--message=...` so that a prompt starting with `-` is not
//!   taken for a flag. Model: `--model`.
//!
//! Claude Code and Codex get the prompt on stdin rather than as an argument
//! because Linux limits one argument to 128 KiB, and a prompt with code
//! context can be longer.

use std::path::{Path, PathBuf};

use super::config::Preset;

/// The text replaced by the prompt in a command's arguments.
pub(crate) const PROMPT_PLACEHOLDER: &str = "{prompt}";

/// How an agent's stdout is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Claude Code's `--output-format json` result object.
    ClaudeJson,
    /// Codex's `exec --json` JSONL events.
    CodexJsonl,
    /// Plain text: the whole stdout is the answer.
    Text,
    /// A Claude Code-shaped result object if stdout is one, else text (for
    /// `custom` commands, which may wrap any of the above).
    Auto,
}

/// What a preset starts by default.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PresetSpec {
    /// The program looked up on `PATH`.
    pub program: &'static str,
    /// The headless flags (Aider's history files are added by
    /// [`CommandTemplate::new`], since they depend on the data folder).
    pub args: &'static [&'static str],
    /// The flag the model is passed with.
    pub model_flag: Option<&'static str>,
    /// How its output is read.
    pub output: OutputFormat,
    /// What to do when the program is missing.
    pub install_hint: &'static str,
}

/// The preset's defaults.
pub(crate) fn spec(preset: Preset) -> PresetSpec {
    match preset {
        Preset::ClaudeCode => PresetSpec {
            program: "claude",
            args: &[
                "-p",
                "--output-format",
                "json",
                "--permission-mode",
                "acceptEdits",
            ],
            model_flag: Some("--model"),
            output: OutputFormat::ClaudeJson,
            install_hint: "install Claude Code (`npm install -g @anthropic-ai/claude-code`)",
        },
        Preset::Codex => PresetSpec {
            program: "codex",
            args: &["exec", "--sandbox", "workspace-write", "--json"],
            model_flag: Some("--model"),
            output: OutputFormat::CodexJsonl,
            install_hint: "install the Codex CLI (`npm install -g @openai/codex`)",
        },
        Preset::Aider => PresetSpec {
            program: "aider",
            args: &[
                "--message={prompt}",
                "--yes-always",
                "--no-auto-commits",
                "--no-dirty-commits",
                "--no-gitignore",
                "--no-pretty",
                "--no-check-update",
                "--no-show-release-notes",
                "--no-analytics",
                "--no-detect-urls",
                "--no-show-model-warnings",
            ],
            model_flag: Some("--model"),
            output: OutputFormat::Text,
            install_hint: "install Aider (`python -m pip install aider-install && aider-install`)",
        },
        Preset::Custom => PresetSpec {
            program: "",
            args: &[],
            model_flag: None,
            output: OutputFormat::Auto,
            install_hint: "check the program in connection.command",
        },
    }
}

/// What is started for every call: the program and its arguments, with
/// `{prompt}` still in them.
#[derive(Debug, Clone)]
pub(crate) struct CommandTemplate {
    preset: Preset,
    program: String,
    args: Vec<String>,
    model_flag: Option<&'static str>,
    output: OutputFormat,
    support_dir: Option<PathBuf>,
}

/// One call's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandLine {
    /// The arguments after the program.
    pub args: Vec<String>,
    /// The prompt, when no argument carries it.
    pub stdin: Option<String>,
}

impl CommandTemplate {
    /// The template of `preset`, or of `command` when it overrides the
    /// preset. `data_dir` is where Aider's history files go.
    pub(crate) fn new(preset: Preset, command: Option<&[String]>, data_dir: &Path) -> Self {
        let spec = spec(preset);
        let (program, args, support_dir) = match command {
            Some([program, args @ ..]) => (program.clone(), args.to_vec(), None),
            // An empty command is refused by the configuration checks; the
            // preset's own command is the only sensible reading of it.
            Some([]) | None => {
                let mut args: Vec<String> = spec.args.iter().map(|a| (*a).to_owned()).collect();
                let support_dir = (preset == Preset::Aider).then(|| aider_dir(data_dir));
                if let Some(dir) = &support_dir {
                    // Aider writes its chat and input history next to the
                    // code by default, where aido's commit would pick them
                    // up.
                    args.push(format!(
                        "--chat-history-file={}",
                        dir.join("chat.history.md").display()
                    ));
                    args.push(format!(
                        "--input-history-file={}",
                        dir.join("input.history").display()
                    ));
                }
                (spec.program.to_owned(), args, support_dir)
            }
        };
        CommandTemplate {
            preset,
            program,
            args,
            model_flag: spec.model_flag,
            output: spec.output,
            support_dir,
        }
    }

    /// The preset.
    pub(crate) fn preset(&self) -> Preset {
        self.preset
    }

    /// The program as configured (a name or a path), for messages and
    /// lookup.
    pub(crate) fn program(&self) -> &str {
        &self.program
    }

    /// How the output is read.
    pub(crate) fn output(&self) -> OutputFormat {
        self.output
    }

    /// A folder the preset writes to that must exist before a run.
    pub(crate) fn support_dir(&self) -> Option<&Path> {
        self.support_dir.as_deref()
    }

    /// Whether the prompt goes into an argument (else it goes to stdin).
    pub(crate) fn prompt_in_arguments(&self) -> bool {
        self.args.iter().any(|arg| arg.contains(PROMPT_PLACEHOLDER))
    }

    /// The command line for one call: `{prompt}` replaced (or the prompt on
    /// stdin when no argument has it), and the model flag added at the end
    /// when there is a model and the preset has a flag for it.
    pub(crate) fn render(&self, prompt: &str, model: Option<&str>) -> CommandLine {
        let mut args: Vec<String> = self
            .args
            .iter()
            .map(|arg| arg.replace(PROMPT_PLACEHOLDER, prompt))
            .collect();
        if let (Some(flag), Some(model)) = (self.model_flag, model) {
            args.push(flag.to_owned());
            args.push(model.to_owned());
        }
        let stdin = (!self.prompt_in_arguments()).then(|| prompt.to_owned());
        CommandLine { args, stdin }
    }

    /// `program arg...` with the prompt shown as `{prompt}`, for logs.
    pub(crate) fn describe(&self) -> String {
        let mut line = self.program.clone();
        for arg in &self.args {
            line.push(' ');
            line.push_str(arg);
        }
        line
    }
}

/// Where Aider's history files go: aido's data folder, made absolute since
/// Aider runs in the workspace.
fn aider_dir(data_dir: &Path) -> PathBuf {
    let dir = data_dir.join("agent-cli").join("aider");
    std::path::absolute(&dir).unwrap_or(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn claude_code_reads_the_prompt_from_stdin_and_prints_json() {
        let template = CommandTemplate::new(Preset::ClaudeCode, None, Path::new("/data"));
        assert_eq!(template.program(), "claude");
        let line = template.render("Fix the bug", Some("sonnet"));
        assert_eq!(
            line.args,
            strings(&[
                "-p",
                "--output-format",
                "json",
                "--permission-mode",
                "acceptEdits",
                "--model",
                "sonnet"
            ])
        );
        assert_eq!(line.stdin.as_deref(), Some("Fix the bug"));
        assert_eq!(template.output(), OutputFormat::ClaudeJson);
    }

    #[test]
    fn codex_runs_exec_in_a_workspace_write_sandbox() {
        let template = CommandTemplate::new(Preset::Codex, None, Path::new("/data"));
        let line = template.render("Task", None);
        assert_eq!(
            line.args,
            strings(&["exec", "--sandbox", "workspace-write", "--json"])
        );
        assert_eq!(line.stdin.as_deref(), Some("Task"));
        assert_eq!(template.output(), OutputFormat::CodexJsonl);
    }

    #[test]
    fn aider_gets_the_prompt_as_one_argument_and_keeps_history_out_of_the_workspace() {
        let template = CommandTemplate::new(Preset::Aider, None, Path::new("/data"));
        let line = template.render("-starts with a dash", Some("gpt-4o"));
        assert_eq!(line.args[0], "--message=-starts with a dash");
        assert!(line.args.contains(&"--yes-always".to_owned()));
        assert!(line.args.contains(&"--no-auto-commits".to_owned()));
        assert!(
            line.args
                .contains(&"--chat-history-file=/data/agent-cli/aider/chat.history.md".to_owned()),
            "{:?}",
            line.args
        );
        assert_eq!(&line.args[line.args.len() - 2..], ["--model", "gpt-4o"]);
        assert_eq!(line.stdin, None);
        assert_eq!(
            template.support_dir(),
            Some(Path::new("/data/agent-cli/aider"))
        );
    }

    #[test]
    fn custom_commands_take_the_placeholder_anywhere_or_use_stdin() {
        let command = strings(&["./agent", "--task={prompt}!", "{prompt}"]);
        let template = CommandTemplate::new(Preset::Custom, Some(&command), Path::new("/d"));
        assert_eq!(template.program(), "./agent");
        let line = template.render("p", Some("ignored"));
        assert_eq!(line.args, strings(&["--task=p!", "p"]));
        assert_eq!(line.stdin, None);

        let command = strings(&["agent", "--quiet"]);
        let template = CommandTemplate::new(Preset::Custom, Some(&command), Path::new("/d"));
        let line = template.render("on stdin", None);
        assert_eq!(line.args, strings(&["--quiet"]));
        assert_eq!(line.stdin.as_deref(), Some("on stdin"));
        assert_eq!(template.output(), OutputFormat::Auto);
    }

    #[test]
    fn an_override_keeps_the_presets_output_format_and_model_flag() {
        let command = strings(&["/opt/claude", "-p", "--output-format", "json"]);
        let template = CommandTemplate::new(Preset::ClaudeCode, Some(&command), Path::new("/d"));
        let line = template.render("x", Some("opus"));
        assert_eq!(
            line.args,
            strings(&["-p", "--output-format", "json", "--model", "opus"])
        );
        assert_eq!(template.output(), OutputFormat::ClaudeJson);
        assert_eq!(template.support_dir(), None);
        assert_eq!(template.describe(), "/opt/claude -p --output-format json");
    }
}
