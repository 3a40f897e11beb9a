//! The bare repositories behind the GitHub emulator's git service, and how
//! they are kept in step with its in-memory model.
//!
//! The REST routes read and write the in-memory model (branches as file
//! maps); git clients read and write real repositories. The two meet at
//! each git request:
//!
//! - before it, [`export`] writes every branch the model changed since the
//!   last request (a seeded file, a `PUT` of the contents API, a ref made
//!   through the API) into the bare repository as a commit, and gives the
//!   model the real commit's sha;
//! - after a push, [`import`] reads every branch of the bare repository
//!   back into the model (files from the commit's tree), so the REST
//!   routes (branches, contents, pull requests) see what was pushed.
//!
//! The model keeps no file modes: a branch changed through the API after a
//! push is exported with every file as a regular one.
//!
//! Each emulator keeps its repositories in a temporary folder of its own,
//! made on first use and removed when the emulator is dropped. Every git
//! call here runs with the machine's git configuration shut out, so a
//! user's `init.defaultBranch`, hooks or templates cannot change what the
//! emulator serves.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{BranchState, Repo};

/// Environment every git call of the emulator gets.
pub(crate) const ISOLATED_GIT: [(&str, &str); 3] = [
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_TERMINAL_PROMPT", "0"),
];

/// Who commits what the API wrote.
const COMMITTER: &str = "aido-emulator <emulator@example.com>";

/// The folder of one emulator's bare repositories.
#[derive(Debug)]
pub(crate) struct GitStore {
    root: PathBuf,
}

impl GitStore {
    /// A store in a new folder under the system's temporary folder (made on
    /// first use).
    pub(crate) fn new() -> GitStore {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let root = std::env::temp_dir().join(format!(
            "aido-github-emulator-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            crate::synth::unix_seconds()
        ));
        GitStore { root }
    }

    /// The folder `git http-backend` serves (`GIT_PROJECT_ROOT`).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The path of repository `key` (`owner/name`, lower case) below the
    /// root, as it appears in a URL: `owner/name.git`.
    pub(crate) fn relative(key: &str) -> String {
        format!("{key}.git")
    }

    fn dir(&self, key: &str) -> PathBuf {
        self.root.join(GitStore::relative(key))
    }
}

impl Drop for GitStore {
    fn drop(&mut self) {
        if self.root.exists()
            && let Err(err) = std::fs::remove_dir_all(&self.root)
        {
            tracing::warn!(
                "could not remove the GitHub emulator's repositories at {}: {err}",
                self.root.display()
            );
        }
    }
}

/// Writes the branches `repo` changed since the last git request into its
/// bare repository (made when missing), and points the model's branches at
/// the commits made.
pub(crate) fn export(store: &GitStore, key: &str, repo: &mut Repo) -> io::Result<()> {
    let dir = store.dir(key);
    if !dir.join("HEAD").exists() {
        create_bare(&dir, &repo.default_branch)?;
    }
    let refs = heads(&dir)?;
    let mut stream = Vec::new();
    let mut changed = Vec::new();
    for (branch, state) in &repo.branches {
        let current = refs.get(branch);
        if current == Some(&state.sha) {
            continue;
        }
        changed.push(branch.clone());
        if is_commit(&dir, &state.sha) {
            // A ref made through the API from a commit git already has.
            stream.extend_from_slice(
                format!("reset refs/heads/{branch}\nfrom {}\n\n", state.sha).as_bytes(),
            );
            continue;
        }
        commit_command(&mut stream, branch, current.map(String::as_str), state);
    }
    if !stream.is_empty() {
        git_with_input(&dir, &["fast-import", "--quiet", "--force"], &stream)?;
    }
    if !changed.is_empty() {
        let refs = heads(&dir)?;
        for branch in changed {
            if let (Some(state), Some(sha)) = (repo.branches.get_mut(&branch), refs.get(&branch)) {
                state.sha = sha.clone();
            }
        }
    }
    // HEAD names the default branch, as GitHub's does.
    git(
        &dir,
        &[
            "symbolic-ref",
            "HEAD",
            &format!("refs/heads/{}", repo.default_branch),
        ],
    )?;
    Ok(())
}

/// Reads every branch of the bare repository back into `repo`: new and
/// moved branches get the commit's files, deleted ones go. A push into an
/// empty repository that lacks its default branch makes the pushed branch
/// (the first by name, when several) the default one, as GitHub does.
pub(crate) fn import(store: &GitStore, key: &str, repo: &mut Repo) -> io::Result<()> {
    let dir = store.dir(key);
    let refs = heads(&dir)?;
    let was_empty = repo.branches.is_empty();
    repo.branches.retain(|branch, _| refs.contains_key(branch));
    for (branch, sha) in &refs {
        if repo.branches.get(branch).is_some_and(|b| &b.sha == sha) {
            continue;
        }
        let files = tree_files(&dir, sha)?;
        repo.branches.insert(
            branch.clone(),
            BranchState {
                sha: sha.clone(),
                files,
            },
        );
    }
    if was_empty
        && !refs.contains_key(&repo.default_branch)
        && let Some(first) = refs.keys().next()
    {
        repo.default_branch = first.clone();
        git(
            &dir,
            &["symbolic-ref", "HEAD", &format!("refs/heads/{first}")],
        )?;
    }
    Ok(())
}

fn create_bare(dir: &Path, default_branch: &str) -> io::Result<()> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let path = dir.to_string_lossy();
    let branch = format!("--initial-branch={default_branch}");
    run(None, &["init", "--quiet", "--bare", &branch, &path], None)?;
    // Pushes are what the emulator is for; http-backend refuses them
    // unless told.
    git(dir, &["config", "http.receivepack", "true"])?;
    Ok(())
}

/// Branch → commit sha of every `refs/heads/*`.
fn heads(dir: &Path) -> io::Result<BTreeMap<String, String>> {
    let listed = git(
        dir,
        &[
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            "refs/heads/",
        ],
    )?;
    Ok(String::from_utf8_lossy(&listed)
        .lines()
        .filter_map(|line| {
            let (sha, name) = line.split_once(' ')?;
            Some((name.strip_prefix("refs/heads/")?.to_owned(), sha.to_owned()))
        })
        .collect())
}

fn is_commit(dir: &Path, sha: &str) -> bool {
    sha.len() == 40
        && sha.bytes().all(|b| b.is_ascii_hexdigit())
        && git(dir, &["cat-file", "-e", &format!("{sha}^{{commit}}")]).is_ok()
}

/// A `git fast-import` command making one commit on `branch` whose tree is
/// exactly the branch's files.
fn commit_command(stream: &mut Vec<u8>, branch: &str, parent: Option<&str>, state: &BranchState) {
    let message = b"Changes made through the API\n";
    let now = crate::synth::unix_seconds();
    stream.extend_from_slice(
        format!(
            "commit refs/heads/{branch}\ncommitter {COMMITTER} {now} +0000\ndata {}\n",
            message.len()
        )
        .as_bytes(),
    );
    stream.extend_from_slice(message);
    if let Some(parent) = parent {
        stream.extend_from_slice(format!("from {parent}\n").as_bytes());
    }
    stream.extend_from_slice(b"deleteall\n");
    for (path, content) in &state.files {
        stream.extend_from_slice(format!("M 100644 inline {}\n", quote(path)).as_bytes());
        stream.extend_from_slice(format!("data {}\n", content.len()).as_bytes());
        stream.extend_from_slice(content);
        stream.push(b'\n');
    }
    stream.push(b'\n');
}

/// A path as fast-import reads a C-style quoted one, whatever it holds.
fn quote(path: &str) -> String {
    let mut out = String::from("\"");
    for c in path.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Every file of commit `sha`'s tree, by path (symbolic links as their
/// target, submodules left out).
fn tree_files(dir: &Path, sha: &str) -> io::Result<BTreeMap<String, Vec<u8>>> {
    let listed = git(dir, &["ls-tree", "-r", "-z", sha])?;
    let mut entries = Vec::new();
    for entry in listed.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let text = String::from_utf8_lossy(entry);
        let Some((meta, path)) = text.split_once('\t') else {
            continue;
        };
        let mut fields = meta.split(' ');
        let (_mode, kind, object) = (fields.next(), fields.next(), fields.next());
        if let (Some("blob"), Some(object)) = (kind, object) {
            entries.push((path.to_owned(), object.to_owned()));
        }
    }
    let contents = blobs(dir, entries.iter().map(|(_, object)| object.as_str()))?;
    Ok(entries
        .into_iter()
        .map(|(path, _)| path)
        .zip(contents)
        .collect())
}

/// The contents of `objects`, in order, through one `git cat-file --batch`.
fn blobs<'a>(dir: &Path, objects: impl Iterator<Item = &'a str>) -> io::Result<Vec<Vec<u8>>> {
    let mut input = Vec::new();
    let mut count = 0;
    for object in objects {
        input.extend_from_slice(object.as_bytes());
        input.push(b'\n');
        count += 1;
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    let output = git_with_input(dir, &["cat-file", "--batch"], &input)?;
    let mut rest = output.as_slice();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let newline = rest.iter().position(|b| *b == b'\n').ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "git cat-file's answer ended early",
            )
        })?;
        let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
        let size = header
            .rsplit(' ')
            .next()
            .and_then(|size| size.parse::<usize>().ok())
            .filter(|_| !header.ends_with("missing"))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("git cat-file answered `{header}`"),
                )
            })?;
        let start = newline + 1;
        let end = start + size;
        if rest.len() < end + 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "git cat-file's answer ended early",
            ));
        }
        out.push(rest[start..end].to_vec());
        rest = &rest[end + 1..];
    }
    Ok(out)
}

/// `git <args>` on the bare repository `dir`; its standard output.
fn git(dir: &Path, args: &[&str]) -> io::Result<Vec<u8>> {
    run(Some(dir), args, None)
}

/// `git <args>` on `dir` with `input` on its standard input.
fn git_with_input(dir: &Path, args: &[&str], input: &[u8]) -> io::Result<Vec<u8>> {
    run(Some(dir), args, Some(input))
}

/// Runs git (on the bare repository `dir`, when given); its standard
/// output, or an error naming the command and quoting git's message.
fn run(dir: Option<&Path>, args: &[&str], input: Option<&[u8]>) -> io::Result<Vec<u8>> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("--git-dir").arg(dir);
    }
    command
        .args(args)
        .envs(ISOLATED_GIT)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("git did not start (is it installed?): {err}"),
        )
    })?;
    // Input is written from a thread of its own while the output is read:
    // `cat-file --batch` answers as it reads and could fill its output
    // pipe before taking all its input.
    let writer = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => {
            let input = input.to_vec();
            Some(std::thread::spawn(move || stdin.write_all(&input)))
        }
        _ => None,
    };
    let output = child.wait_with_output()?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(io::Error::other(format!(
            "`git {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_fast_import() {
        assert_eq!(quote("a b/c.md"), "\"a b/c.md\"");
        assert_eq!(quote("we\"ird\\\n"), "\"we\\\"ird\\\\\\n\"");
    }
}
