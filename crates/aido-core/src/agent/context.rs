//! `codebase_context`: the file tree and the files most relevant to a task,
//! within a token budget, for a model's prompt.
//!
//! The working copy is walked with the `ignore` crate: `.gitignore`,
//! `.ignore` and git's excludes are honoured (also outside a git
//! repository), `.git` is skipped, hidden files such as `.github/` are kept
//! and symlinks are not followed (they may lead outside). The tree lists
//! every file the walk sees, up to `max_tree_entries` lines. Only text files
//! are read for content: not binary (a NUL byte in the first 8 KiB), not
//! larger than `max_file_bytes`, matching `include` when given, and never a
//! file that `security.forbidden_paths` forbids (it would put secrets in a
//! prompt). Files are ranked by [`super::rank`].
//!
//! Tokens are estimated as `ceil(chars / 4)`. The tree is spent first; then
//! each file in rank order costs the tokens of its path plus its content and
//! is included if it fits what is left; a file that does not fit is skipped
//! and smaller ones may still fit. `truncated` says whether anything was
//! left out for lack of room (tree lines or files).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use aido_plugin_api::{Effect, Error, Result};
use async_trait::async_trait;
use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::path_policy::PathPolicy;
use super::rank::{query_terms, score};
use super::workdir::resolve_workdir;
use crate::workflow::builtins::{BuiltinAction, BuiltinContext, BuiltinSpec};

const NAME: &str = "codebase_context";

/// How many bytes decide whether a file is binary.
const BINARY_PROBE_BYTES: usize = 8 * 1024;
/// The most files read for ranking, so a huge checkout stays bounded.
const MAX_SCANNED_FILES: usize = 20_000;

/// Input of `codebase_context`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodebaseContextInput {
    /// What the files should be relevant to: the task's title and
    /// description.
    pub query: String,
    /// The token budget for the tree and the files (default 12000).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// A folder inside the workspace to look at; the workspace when absent.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Only files matching one of these globs (relative paths, e.g.
    /// `src/**/*.rs`) are read for content; the tree still shows every file.
    #[serde(default)]
    pub include: Vec<String>,
    /// Files larger than this many bytes are not read (default 100000).
    #[serde(default)]
    pub max_file_bytes: Option<u64>,
    /// The most lines of the tree (default 1000).
    #[serde(default)]
    pub max_tree_entries: Option<usize>,
}

/// One file's content in the context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContextFile {
    /// The file, relative to the working directory, `/`-separated.
    pub path: String,
    /// Its content (invalid UTF-8 replaced).
    pub content: String,
    /// Its relevance to the query (higher is more relevant).
    pub score: f64,
}

/// Output of `codebase_context`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CodebaseContextOutput {
    /// An indented tree of the files (folders end with `/`).
    pub tree: String,
    /// The most relevant files that fit the budget, most relevant first.
    pub files: Vec<ContextFile>,
    /// The estimated tokens of the tree and the files.
    pub tokens: u64,
    /// Whether tree lines or files were left out for lack of room.
    pub truncated: bool,
}

/// What `build_context` needs besides the folder and the query.
#[derive(Debug, Clone)]
pub struct ContextOptions {
    /// The token budget.
    pub max_tokens: u64,
    /// Only these globs are read for content (all files when empty).
    pub include: Vec<String>,
    /// Larger files are not read.
    pub max_file_bytes: u64,
    /// The most lines of the tree.
    pub max_tree_entries: usize,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            max_tokens: 12_000,
            include: Vec::new(),
            max_file_bytes: 100_000,
            max_tree_entries: 1000,
        }
    }
}

/// A file that may go into the context, ranked before its content is kept.
struct Candidate {
    path: String,
    score: f64,
    tokens: u64,
}

/// The estimated tokens of `text`: `ceil(chars / 4)`.
pub fn estimate_tokens(text: &str) -> u64 {
    let chars = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
    chars.div_ceil(4)
}

/// Builds the context of `workdir` for `query`. Blocking: it walks and reads
/// the working copy.
pub fn build_context(
    workdir: &Path,
    query: &str,
    options: &ContextOptions,
    policy: &PathPolicy,
) -> Result<CodebaseContextOutput> {
    policy.check_config()?;
    let include = include_set(&options.include)?;
    let paths = walk(workdir);
    let (tree_lines, tree_complete) = tree_lines(&paths, options.max_tree_entries);
    let mut truncated = !tree_complete;

    let terms = query_terms(query);
    let mut candidates = Vec::new();
    for path in &paths {
        if candidates.len() >= MAX_SCANNED_FILES {
            truncated = true;
            break;
        }
        if policy.forbidden_reason(path).is_some()
            || include.as_ref().is_some_and(|set| !set.is_match(path))
        {
            continue;
        }
        if let Some(content) = read_text(&workdir.join(path), options.max_file_bytes) {
            let score = score(path, &content, &terms);
            candidates.push(Candidate {
                path: path.clone(),
                score: (score * 100.0).round() / 100.0,
                tokens: estimate_tokens(path) + estimate_tokens(&content),
            });
        }
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.path.cmp(&b.path))
    });

    // The tree first, cut to the budget if it alone does not fit, leaving
    // room for the note that says so.
    let line_cost = |line: &String| estimate_tokens(line) + 1;
    let mut tokens = 0;
    let mut tree = String::new();
    let full_cost: u64 = tree_lines.iter().map(line_cost).sum();
    if tree_complete && full_cost <= options.max_tokens {
        for line in &tree_lines {
            tree.push_str(line);
            tree.push('\n');
        }
        tokens = full_cost;
    } else {
        truncated = true;
        let note = |shown: usize| {
            format!(
                "... (tree truncated: {shown} of {} files shown)\n",
                paths.len()
            )
        };
        let reserve = estimate_tokens(&note(paths.len()));
        let mut shown = 0;
        for line in &tree_lines {
            let cost = line_cost(line);
            if tokens + cost + reserve > options.max_tokens {
                break;
            }
            tokens += cost;
            tree.push_str(line);
            tree.push('\n');
            shown += 1;
        }
        let note = note(count_files(&tree_lines[..shown]));
        if tokens + estimate_tokens(&note) <= options.max_tokens {
            tokens += estimate_tokens(&note);
            tree.push_str(&note);
        }
    }

    let mut files = Vec::new();
    for candidate in candidates {
        if tokens + candidate.tokens > options.max_tokens {
            truncated = true;
            continue;
        }
        // Read again: only the chosen files' contents are held in memory,
        // whatever the size of the checkout.
        let Some(content) = read_text(&workdir.join(&candidate.path), options.max_file_bytes)
        else {
            continue;
        };
        let cost = estimate_tokens(&candidate.path) + estimate_tokens(&content);
        if tokens + cost > options.max_tokens {
            truncated = true;
            continue;
        }
        tokens += cost;
        files.push(ContextFile {
            path: candidate.path,
            content,
            score: candidate.score,
        });
    }
    Ok(CodebaseContextOutput {
        tree,
        files,
        tokens,
        truncated,
    })
}

fn include_set(patterns: &[String]) -> Result<Option<GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|err| {
            Error::invalid_input(format!("`include` holds an invalid glob: {err}"))
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|err| Error::invalid_input(format!("`include` cannot be used: {err}")))
}

/// Every file the walk sees, relative and `/`-separated, sorted by path
/// components so the tree groups folders.
fn walk(workdir: &Path) -> Vec<String> {
    let walker = ignore::WalkBuilder::new(workdir)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    let mut paths: Vec<String> = walker
        // An unreadable entry is left out rather than failing the context.
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|entry| {
            let rel = entry.path().strip_prefix(workdir).ok()?;
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some(parts.join("/"))
        })
        .collect();
    paths.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    paths
}

/// The tree's lines (folders once, with `/`, children indented by two
/// spaces) and whether all fit in `max_entries`.
fn tree_lines(paths: &[String], max_entries: usize) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    for path in paths {
        let parts: Vec<&str> = path.split('/').collect();
        let Some((name, folders)) = parts.split_last() else {
            continue;
        };
        let common = open.iter().zip(folders).take_while(|(a, b)| a == b).count();
        open.truncate(common);
        for folder in &folders[common..] {
            if lines.len() >= max_entries {
                return (lines, false);
            }
            lines.push(format!("{}{folder}/", "  ".repeat(open.len())));
            open.push(folder);
        }
        if lines.len() >= max_entries {
            return (lines, false);
        }
        lines.push(format!("{}{name}", "  ".repeat(open.len())));
    }
    (lines, true)
}

fn count_files(lines: &[String]) -> usize {
    lines.iter().filter(|l| !l.ends_with('/')).count()
}

/// The file's text, or `None` when it is too large, binary or unreadable.
fn read_text(path: &Path, max_bytes: u64) -> Option<String> {
    let file = File::open(path).ok()?;
    if file.metadata().ok()?.len() > max_bytes {
        return None;
    }
    let mut bytes = Vec::new();
    // Read at most one byte more than allowed: the file may have grown.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .ok()?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_bytes
        || bytes[..bytes.len().min(BINARY_PROBE_BYTES)].contains(&0)
    {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The `codebase_context` built-in action.
pub struct CodebaseContext {
    spec: BuiltinSpec,
    policy: Arc<PathPolicy>,
}

impl CodebaseContext {
    /// The action; it never reads a file that `policy` forbids.
    pub fn new(policy: Arc<PathPolicy>) -> Self {
        CodebaseContext {
            spec: BuiltinSpec::new::<CodebaseContextInput, CodebaseContextOutput>(
                NAME,
                "The working copy's file tree and the files most relevant to a query (the task), within a token budget; honours .gitignore, skips binary, large and forbidden files.",
                Effect::Read,
            ),
            policy,
        }
    }
}

#[async_trait]
impl BuiltinAction for CodebaseContext {
    fn spec(&self) -> &BuiltinSpec {
        &self.spec
    }

    async fn run(&self, cx: &BuiltinContext, input: Value) -> Result<Value> {
        let input: CodebaseContextInput = super::decode(NAME, input)?;
        let defaults = ContextOptions::default();
        let options = ContextOptions {
            max_tokens: input.max_tokens.map_or(defaults.max_tokens, u64::from),
            include: input.include,
            max_file_bytes: input.max_file_bytes.unwrap_or(defaults.max_file_bytes),
            max_tree_entries: input.max_tree_entries.unwrap_or(defaults.max_tree_entries),
        };
        let policy = Arc::clone(&self.policy);
        let workspace = cx.workspace.clone();
        let output = super::blocking(move || {
            let workdir = resolve_workdir(&workspace, input.workdir.as_deref())?;
            build_context(&workdir, &input.query, &options, &policy)
        })
        .await?;
        super::encode(&output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecurityConfig;
    use std::fs;

    fn write(root: &Path, path: &str, content: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn policy() -> PathPolicy {
        PathPolicy::new(&SecurityConfig::default().forbidden_paths)
    }

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "README.md", "# Shop\nAn online shop.\n");
        write(root, "Cargo.toml", "[package]\nname = \"shop\"\n");
        write(root, "src/main.rs", "fn main() { shop::run(); }\n");
        write(
            root,
            "src/auth/login.rs",
            "pub fn login(user: &str, password: &str) -> bool {\n    check_password(user, password)\n}\n",
        );
        write(
            root,
            "src/cart.rs",
            "pub struct Cart { items: Vec<Item> }\n",
        );
        write(
            root,
            "src/payment.rs",
            "// payment processing, no authentication here\n",
        );
        write(root, ".gitignore", "target/\n*.log\n");
        write(root, "target/debug/login.rs", "generated login login login");
        write(root, "debug.log", "login failed");
        write(root, ".env", "PASSWORD=login-secret");
        write(root, ".git/config", "[core] login");
        write(root, ".github/workflows/ci.yml", "on: push\n");
        fs::write(root.join("logo-login.bin"), b"login\0\x01\x02").unwrap();
        dir
    }

    #[test]
    fn ranks_the_relevant_file_first() {
        let dir = project();
        let out = build_context(
            &dir.path().canonicalize().unwrap(),
            "Fix the login: reject an empty password",
            &ContextOptions::default(),
            &policy(),
        )
        .unwrap();
        assert_eq!(out.files[0].path, "src/auth/login.rs", "{:?}", out.files);
        assert!(out.files[0].score > out.files[1].score);
        assert!(!out.truncated);
        let paths: Vec<&str> = out.files.iter().map(|f| f.path.as_str()).collect();
        for absent in [
            "target/debug/login.rs",
            "debug.log",
            ".env",
            ".git/config",
            "logo-login.bin",
        ] {
            assert!(!paths.contains(&absent), "{absent} in {paths:?}");
        }
        assert!(paths.contains(&".github/workflows/ci.yml"), "{paths:?}");
    }

    #[test]
    fn the_tree_honours_gitignore_and_skips_git() {
        let dir = project();
        let out = build_context(dir.path(), "x", &ContextOptions::default(), &policy()).unwrap();
        assert_eq!(
            out.tree,
            ".env\n.github/\n  workflows/\n    ci.yml\n.gitignore\nCargo.toml\nREADME.md\nlogo-login.bin\nsrc/\n  auth/\n    login.rs\n  cart.rs\n  main.rs\n  payment.rs\n"
        );
    }

    #[test]
    fn respects_the_token_budget() {
        let dir = project();
        write(dir.path(), "src/auth/big_login.rs", &"login ".repeat(2000));
        let options = ContextOptions {
            max_tokens: 200,
            ..ContextOptions::default()
        };
        let out = build_context(dir.path(), "login", &options, &policy()).unwrap();
        assert!(out.tokens <= 200, "{}", out.tokens);
        assert!(out.truncated);
        let paths: Vec<&str> = out.files.iter().map(|f| f.path.as_str()).collect();
        // The big file ranks high but does not fit; smaller ones still do.
        assert!(!paths.contains(&"src/auth/big_login.rs"), "{paths:?}");
        assert_eq!(paths.first(), Some(&"src/auth/login.rs"));
        let expected: u64 = estimate_tokens(&out.tree)
            + out
                .files
                .iter()
                .map(|f| estimate_tokens(&f.path) + estimate_tokens(&f.content))
                .sum::<u64>();
        assert!(out.tokens >= expected, "{} < {expected}", out.tokens);
    }

    #[test]
    fn a_tiny_budget_is_never_exceeded() {
        let dir = project();
        for max_tokens in [0, 3, 12, 25, 40] {
            let options = ContextOptions {
                max_tokens,
                ..ContextOptions::default()
            };
            let out = build_context(dir.path(), "login", &options, &policy()).unwrap();
            assert!(out.tokens <= max_tokens, "{} > {max_tokens}", out.tokens);
            assert!(out.truncated);
        }
    }

    #[test]
    fn truncates_a_long_tree_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..30 {
            write(dir.path(), &format!("f{i:02}.txt"), "x");
        }
        let options = ContextOptions {
            max_tree_entries: 10,
            ..ContextOptions::default()
        };
        let out = build_context(dir.path(), "x", &options, &policy()).unwrap();
        assert!(out.truncated);
        assert_eq!(out.tree.lines().count(), 11);
        assert!(
            out.tree
                .ends_with("... (tree truncated: 10 of 30 files shown)\n"),
            "{}",
            out.tree
        );
    }

    #[test]
    fn include_and_size_limits_select_files() {
        let dir = project();
        let options = ContextOptions {
            include: vec!["src/**/*.rs".into()],
            max_file_bytes: 60,
            ..ContextOptions::default()
        };
        let out = build_context(dir.path(), "payment authentication", &options, &policy()).unwrap();
        let paths: Vec<&str> = out.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["src/payment.rs", "src/cart.rs", "src/main.rs"]);
        let bad = ContextOptions {
            include: vec!["a[".into()],
            ..ContextOptions::default()
        };
        let err = build_context(dir.path(), "x", &bad, &policy()).unwrap_err();
        assert!(err.message().contains("`include`"), "{err}");
    }

    #[tokio::test]
    async fn the_action_uses_the_workspace_and_defaults() {
        let dir = project();
        let action = super::super::agent_builtins(&SecurityConfig::default())
            .into_iter()
            .find(|a| a.spec().name == NAME)
            .unwrap();
        let cx = BuiltinContext {
            run_id: "r".into(),
            step: "s".into(),
            workspace: dir.path().to_owned(),
            idempotency_key: "k".into(),
        };
        let out = action
            .run(
                &cx,
                serde_json::json!({"query": "cart items", "workdir": "src"}),
            )
            .await
            .unwrap();
        assert_eq!(out["files"][0]["path"], "cart.rs");
        assert!(
            out["tree"]
                .as_str()
                .unwrap()
                .starts_with("auth/\n  login.rs\n")
        );
    }
}
