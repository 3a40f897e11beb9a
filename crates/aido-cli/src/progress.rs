//! How a run's progress is shown: a live list of steps with spinners,
//! durations and costs on a terminal; plain lines on stderr otherwise; one
//! JSON object per event on stdout with `--json`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use aido_core::engine::{EventSink, RunEvent};
use aido_core::redact::redact;

use crate::output::{Output, Tone};

/// Shows events as they come.
pub enum Progress {
    /// One JSON object per line on stdout, nothing else there.
    Json(Output),
    /// Readable lines on stderr.
    Lines(Output),
    /// Spinners on a terminal.
    Live(Live),
}

impl Progress {
    /// Picks the display for this output and terminal.
    pub fn new(out: &Output) -> Self {
        if out.json {
            Progress::Json(*out)
        } else if std::io::stderr().is_terminal() {
            Progress::Live(Live::new(*out))
        } else {
            Progress::Lines(*out)
        }
    }
}

impl EventSink for Progress {
    fn emit(&self, event: &RunEvent) {
        match self {
            Progress::Json(out) => {
                let line = serde_json::to_string(event).unwrap_or_default();
                out.line(&line);
            }
            Progress::Lines(out) => {
                if let Some(line) = describe(out, event) {
                    out.error(&line);
                }
            }
            Progress::Live(live) => live.emit(event),
        }
    }
}

/// One line for an event, or none for events a reader does not need.
fn describe(out: &Output, event: &RunEvent) -> Option<String> {
    Some(match event {
        RunEvent::RunStarted {
            run_id,
            workflow,
            resumed,
            ..
        } => {
            format!(
                "{} {workflow} ({run_id})",
                if *resumed { "resuming" } else { "running" }
            )
        }
        RunEvent::StepStarted { step, attempt } if *attempt > 1 => {
            format!("  … {step} (attempt {attempt})")
        }
        RunEvent::StepStarted { .. } => return None,
        RunEvent::StepSucceeded {
            step,
            duration_ms,
            cost_usd,
        } => {
            format!(
                "  {} {step}  {}{}",
                out.paint("✓", Tone::Good),
                format_ms(*duration_ms),
                format_cost(*cost_usd)
            )
        }
        RunEvent::StepReused { step } => format!(
            "  {} {step}  {}",
            out.paint("✓", Tone::Good),
            out.paint("(done in an earlier attempt)", Tone::Dim)
        ),
        RunEvent::StepSkipped { step } => format!(
            "  {} {step}  {}",
            out.paint("-", Tone::Dim),
            out.paint("(skipped)", Tone::Dim)
        ),
        RunEvent::StepRetried {
            step,
            attempt,
            delay_ms,
            error,
        } => {
            format!(
                "  {} {step}: attempt {attempt} failed ({error}); retrying in {}",
                out.paint("↻", Tone::Warn),
                format_ms(*delay_ms)
            )
        }
        RunEvent::StepFailed {
            step,
            error,
            continued,
        } => format!(
            "  {} {step}: {error}{}",
            out.paint("✗", Tone::Bad),
            if *continued { " (continuing)" } else { "" }
        ),
        RunEvent::StepRolledBack { step, error } => match error {
            None => format!("  {} {step} rolled back", out.paint("↶", Tone::Warn)),
            Some(error) => format!(
                "  {} {step} could not be rolled back: {error}",
                out.paint("✗", Tone::Bad)
            ),
        },
        RunEvent::RunFinished {
            run_id,
            status,
            error,
            cost_usd,
        } => {
            let tone = if status == "succeeded" {
                Tone::Good
            } else {
                Tone::Bad
            };
            let mut line = format!(
                "{} {run_id}{}",
                out.paint(status, tone),
                format_cost(*cost_usd)
            );
            if let Some(error) = error {
                line.push_str(&format!("\n  {error}"));
            }
            line
        }
    })
}

fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn format_cost(cost: f64) -> String {
    if cost > 0.0 {
        format!("  ${cost:.4}")
    } else {
        String::new()
    }
}

/// Spinners, one line per step.
pub struct Live {
    out: Output,
    bars: MultiProgress,
    steps: Mutex<HashMap<String, ProgressBar>>,
}

impl Live {
    fn new(out: Output) -> Self {
        Live {
            out,
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            steps: Mutex::default(),
        }
    }

    fn bar(&self, step: &str) -> Option<ProgressBar> {
        self.steps.lock().ok()?.get(step).cloned()
    }

    fn emit(&self, event: &RunEvent) {
        match event {
            RunEvent::RunStarted { steps, .. } => {
                if let Some(line) = describe(&self.out, event) {
                    let _ = self.bars.println(redact(&line));
                }
                let style = ProgressStyle::with_template("  {prefix} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                let mut map = match self.steps.lock() {
                    Ok(map) => map,
                    Err(poisoned) => poisoned.into_inner(),
                };
                for step in steps {
                    let bar = self
                        .bars
                        .add(ProgressBar::new_spinner().with_style(style.clone()));
                    bar.set_prefix(self.out.paint("·", Tone::Dim));
                    bar.set_message(self.out.paint(step, Tone::Dim));
                    map.insert(step.clone(), bar);
                }
            }
            RunEvent::StepStarted { step, attempt } => {
                if let Some(bar) = self.bar(step) {
                    let style = ProgressStyle::with_template("  {spinner} {msg} {elapsed:.dim}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    bar.set_style(style);
                    let label = if *attempt > 1 {
                        format!("{step} (attempt {attempt})")
                    } else {
                        step.clone()
                    };
                    bar.set_message(label);
                    bar.enable_steady_tick(Duration::from_millis(100));
                }
            }
            RunEvent::RunFinished { .. } => {
                if let Some(line) = describe(&self.out, event) {
                    let _ = self.bars.println(redact(&line));
                }
            }
            other => {
                let Some(step) = other.step() else { return };
                let Some(line) = describe(&self.out, other) else {
                    return;
                };
                match self.bar(step) {
                    Some(bar) if !matches!(other, RunEvent::StepRetried { .. }) => {
                        bar.set_style(
                            ProgressStyle::with_template("{msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.finish_with_message(redact(&line).into_owned());
                    }
                    Some(bar) => bar.set_message(redact(&line).trim().to_owned()),
                    None => {
                        let _ = self.bars.println(redact(&line));
                    }
                }
            }
        }
    }
}
