//! The GitHub emulator's git service: clones, fetches and pushes over
//! git's smart HTTP protocol at `/{owner}/{repo}.git/...` (the `.git` may
//! be left out, as on GitHub).
//!
//! Authentication is GitHub's for git: HTTP Basic with the token as the
//! password (any user name, `x-access-token` by convention) or as the user
//! name, or `Authorization: Bearer <token>`. Without it, or with a wrong
//! one, the answer is a 401 with `WWW-Authenticate: Basic realm="GitHub"`,
//! which is what makes git ask its credential helper. Every repository
//! acts as a private one: reads need the token too.
//!
//! Each request is served by `git http-backend` ([`super::cgi`]) over the
//! bare repository [`super::bare`] keeps in step with the REST model:
//! exported before the request, imported after a push.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;

use super::{GitHubState, LOGIN, bare, base64_decode, cgi, repo_key};
use crate::faults::plain;
use crate::incoming::Incoming;
use crate::recorder::lock;

/// What a request to the git service asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitPath {
    /// `owner/name`, lower case: the repository's key.
    key: String,
    /// What follows the repository: `info/refs`, `git-upload-pack`,
    /// `git-receive-pack`.
    service: String,
}

/// The git request in `segments` (a path split at `/`, decoded), if it is
/// one: `{owner}/{repo}[.git]/info/refs`, `.../git-upload-pack` or
/// `.../git-receive-pack`.
pub(crate) fn git_path(segments: &[String]) -> Option<GitPath> {
    let [owner, repo, rest @ ..] = segments else {
        return None;
    };
    let service = rest.join("/");
    if !matches!(
        service.as_str(),
        "info/refs" | "git-upload-pack" | "git-receive-pack"
    ) {
        return None;
    }
    let name = repo.strip_suffix(".git").unwrap_or(repo);
    (is_name(owner) && is_name(name)).then(|| GitPath {
        key: repo_key(owner, name),
        service,
    })
}

/// A GitHub owner or repository name: letters, digits, `-`, `_`, `.`, and
/// not `.` or `..` (which would leave the project root on disk).
pub(crate) fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text != "."
        && text != ".."
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Serves one git request.
pub(crate) async fn serve(state: &Arc<GitHubState>, request: &Incoming, path: GitPath) -> Response {
    if !authenticated(state, request) {
        return unauthorized(request.header("authorization").is_some());
    }
    if !lock(&state.world).repos.contains_key(&path.key) {
        return plain(
            StatusCode::NOT_FOUND,
            "Repository not found.\n",
            "text/plain; charset=utf-8",
        );
    }
    // One git request at a time: an export, a push and its import must not
    // interleave with another's.
    let _serial = state.git_lock.lock().await;
    if let Err(err) = sync(state, &path.key, bare::export).await {
        return failure(&format!(
            "the emulator could not prepare the repository: {err}"
        ));
    }
    let query = request.uri.query().unwrap_or("");
    let cgi_request = cgi::CgiRequest {
        method: request.method.as_str(),
        path_info: format!("/{}/{}", bare::GitStore::relative(&path.key), path.service),
        query,
        content_type: request.header("content-type"),
        content_encoding: request.header("content-encoding"),
        git_protocol: request.header("git-protocol"),
        remote_user: LOGIN,
        body: &request.body,
    };
    let answer = match cgi::run(state.store.root(), &cgi_request, &bare::ISOLATED_GIT).await {
        Ok(answer) => answer,
        Err(err) => return failure(&err.to_string()),
    };
    let pushed = request.method == Method::POST && path.service == "git-receive-pack";
    if pushed
        && answer.status == 200
        && let Err(err) = sync(state, &path.key, bare::import).await
    {
        return failure(&format!("the emulator could not read the push back: {err}"));
    }
    respond(answer)
}

/// Runs `step` (export or import) on repository `key` under the model's
/// lock, on a thread that may block.
async fn sync(
    state: &Arc<GitHubState>,
    key: &str,
    step: fn(&bare::GitStore, &str, &mut super::Repo) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let state = Arc::clone(state);
    let key = key.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut world = lock(&state.world);
        match world.repos.get_mut(&key) {
            Some(repo) => step(&state.store, &key, repo),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("repository `{key}` is gone"),
            )),
        }
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Whether the request carries the token as GitHub's git service takes it.
fn authenticated(state: &GitHubState, request: &Incoming) -> bool {
    let Some(header) = request.header("authorization") else {
        return false;
    };
    let Some((scheme, value)) = header.trim().split_once(' ') else {
        return false;
    };
    let value = value.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" | "token" => value == state.token,
        "basic" => base64_decode(value)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|pair| {
                let (user, password) = pair.split_once(':')?;
                Some(password == state.token || user == state.token)
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// GitHub's 401 for git: a Basic challenge, and its message when
/// credentials were sent but are wrong.
fn unauthorized(credentials_sent: bool) -> Response {
    let body = if credentials_sent {
        "Invalid username or token. Password authentication is not supported for Git operations.\n"
    } else {
        ""
    };
    let mut response = plain(StatusCode::UNAUTHORIZED, body, "text/plain; charset=utf-8");
    response.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"GitHub\""),
    );
    response
}

fn failure(message: &str) -> Response {
    tracing::warn!("the GitHub emulator's git service failed: {message}");
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("{message}\n"),
        "text/plain; charset=utf-8",
    )
}

/// The CGI program's answer as an HTTP response (headers that are not
/// valid HTTP are left out).
fn respond(answer: cgi::CgiAnswer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_json::{Value, json};

    use super::*;
    use crate::GitHubEmulator;
    use crate::github::base64_encode_wrapped;

    fn segments(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn git_paths_are_recognised() {
        let path = git_path(&segments("Acme/Widgets.git/info/refs")).unwrap();
        assert_eq!(path.key, "acme/widgets");
        assert_eq!(path.service, "info/refs");
        assert!(git_path(&segments("acme/widgets/git-receive-pack")).is_some());
        assert!(git_path(&segments("repos/acme/widgets")).is_none());
        assert!(git_path(&segments("acme/widgets.git/objects/info/packs")).is_none());
        assert!(git_path(&segments("../widgets.git/info/refs")).is_none());
        assert!(git_path(&segments("acme/..git/info/refs")).is_none());
    }

    /// A folder removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "aido-testkit-{name}-{}-{}",
                std::process::id(),
                crate::synth::next_number()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn basic(token: &str) -> String {
        let encoded = base64_encode_wrapped(format!("x-access-token:{token}").as_bytes());
        format!("Basic {}", encoded.replace('\n', ""))
    }

    /// `git ARGS` in `dir` with the token as a header (when given) and
    /// the machine's configuration shut out; (success, stdout, stderr).
    fn git(dir: &Path, token: Option<&str>, args: &[&str]) -> (bool, String, String) {
        let mut command = Command::new("git");
        command.current_dir(dir).envs(bare::ISOLATED_GIT);
        if let Some(token) = token {
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env(
                    "GIT_CONFIG_VALUE_0",
                    format!("Authorization: {}", basic(token)),
                );
        }
        let output = command
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        )
    }

    fn ok(dir: &Path, token: Option<&str>, args: &[&str]) -> String {
        let (success, stdout, stderr) = git(dir, token, args);
        assert!(success, "git {args:?}: {stderr}");
        stdout
    }

    async fn api(
        emulator: &GitHubEmulator,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let client = reqwest::Client::new();
        let mut request = client
            .request(method, format!("{}{path}", emulator.base_url()))
            .header("authorization", format!("Bearer {}", emulator.token()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn clone_push_and_pull_request_over_git() {
        let emulator = GitHubEmulator::start().await.unwrap();
        emulator.create_repo_with_files(
            "acme",
            "calc",
            &[
                ("calc.py", b"def add(a, b):\n    return a - b\n"),
                ("docs/a b.md", b"notes\n"),
            ],
        );
        let token = emulator.token().to_owned();
        let scratch = Scratch::new("git");
        let url = emulator.clone_url("acme", "calc");
        ok(
            &scratch.0,
            Some(&token),
            &["clone", "--quiet", &url, "work"],
        );
        let work = scratch.0.join("work");
        assert_eq!(
            std::fs::read_to_string(work.join("docs/a b.md")).unwrap(),
            "notes\n"
        );
        let config = std::fs::read_to_string(work.join(".git/config")).unwrap();
        assert!(!config.contains(&token), "{config}");

        // A branch pushed is a branch the API shows, with its files.
        ok(&work, None, &["checkout", "--quiet", "-b", "fix/add"]);
        std::fs::write(work.join("calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
        ok(&work, None, &["commit", "--quiet", "-am", "Fix add"]);
        ok(
            &work,
            Some(&token),
            &["push", "--quiet", "origin", "fix/add"],
        );
        let commit = ok(&work, None, &["rev-parse", "HEAD"]);
        assert_eq!(emulator.branches("acme", "calc")["fix/add"], commit);
        let (status, branches) =
            api(&emulator, Method::GET, "/repos/acme/calc/branches", None).await;
        assert_eq!(status, 200);
        assert!(
            branches
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["name"] == "fix/add" && b["commit"]["sha"] == commit.as_str()),
            "{branches}"
        );
        let (_, file) = api(
            &emulator,
            Method::GET,
            "/repos/acme/calc/contents/calc.py?ref=fix/add",
            None,
        )
        .await;
        let text = crate::github::base64_decode(file["content"].as_str().unwrap()).unwrap();
        assert_eq!(text, b"def add(a, b):\n    return a + b\n");

        // A pull request for it, whose head follows later pushes.
        let (status, pull) = api(
            &emulator,
            Method::POST,
            "/repos/acme/calc/pulls",
            Some(json!({"title": "Fix add", "head": "fix/add", "base": "main"})),
        )
        .await;
        assert_eq!(status, 201, "{pull}");
        assert_eq!(pull["head"]["sha"], commit.as_str());
        std::fs::write(work.join("more.txt"), "more\n").unwrap();
        ok(&work, None, &["add", "more.txt"]);
        ok(&work, None, &["commit", "--quiet", "-m", "More"]);
        ok(
            &work,
            Some(&token),
            &["push", "--quiet", "origin", "fix/add"],
        );
        let second = ok(&work, None, &["rev-parse", "HEAD"]);
        let (_, pull) = api(&emulator, Method::GET, "/repos/acme/calc/pulls/1", None).await;
        assert_eq!(pull["head"]["sha"], second.as_str());
        assert_eq!(pull["head"]["ref"], "fix/add");

        // What the API writes, git fetches, on top of what was pushed.
        let (status, _) = api(
            &emulator,
            Method::PUT,
            "/repos/acme/calc/contents/api.txt",
            Some(json!({"message": "From the API", "content": "YXBp", "branch": "fix/add"})),
        )
        .await;
        assert_eq!(status, 201);
        ok(
            &work,
            Some(&token),
            &["pull", "--quiet", "--ff-only", "origin", "fix/add"],
        );
        assert_eq!(
            std::fs::read_to_string(work.join("api.txt")).unwrap(),
            "api"
        );
        assert_eq!(ok(&work, None, &["rev-parse", "HEAD~1"]), second);
        assert_eq!(
            std::fs::read_to_string(work.join("docs/a b.md")).unwrap(),
            "notes\n"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_empty_repository_takes_its_first_push() {
        let emulator = GitHubEmulator::start().await.unwrap();
        let (status, repo) = api(
            &emulator,
            Method::POST,
            "/orgs/acme/repos",
            Some(json!({"name": "fresh"})),
        )
        .await;
        assert_eq!(status, 201, "{repo}");
        assert_eq!(repo["clone_url"], emulator.clone_url("acme", "fresh"));
        let (status, again) = api(
            &emulator,
            Method::POST,
            "/orgs/acme/repos",
            Some(json!({"name": "fresh"})),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(
            again["errors"][0]["message"],
            "name already exists on this account"
        );
        let (status, _) = api(
            &emulator,
            Method::POST,
            "/orgs/acme/repos",
            Some(json!({"name": "../x"})),
        )
        .await;
        assert_eq!(status, 422);

        let token = emulator.token().to_owned();
        let scratch = Scratch::new("empty");
        ok(
            &scratch.0,
            None,
            &["init", "--quiet", "--initial-branch=trunk", "work"],
        );
        let work = scratch.0.join("work");
        std::fs::write(work.join("a.txt"), "a\n").unwrap();
        ok(&work, None, &["add", "a.txt"]);
        ok(&work, None, &["commit", "--quiet", "-m", "first"]);
        let url = emulator.clone_url("acme", "fresh");
        ok(&work, Some(&token), &["push", "--quiet", &url, "trunk"]);
        let (_, repo) = api(&emulator, Method::GET, "/repos/acme/fresh", None).await;
        assert_eq!(repo["default_branch"], "trunk");
        assert_eq!(
            emulator.file("acme", "fresh", "trunk", "a.txt").unwrap(),
            b"a\n"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn git_refuses_missing_and_wrong_tokens() {
        let emulator = GitHubEmulator::start().await.unwrap();
        emulator.create_repo("acme", "widgets");
        let url = format!(
            "{}/acme/widgets.git/info/refs?service=git-upload-pack",
            emulator.base_url()
        );
        let client = reqwest::Client::new();
        let answer = client.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 401);
        assert_eq!(
            answer.headers()["www-authenticate"],
            "Basic realm=\"GitHub\""
        );
        let answer = client
            .get(&url)
            .header("authorization", basic("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
        assert!(
            answer
                .text()
                .await
                .unwrap()
                .contains("Invalid username or token")
        );
        let answer = client
            .get(&url)
            .header("authorization", format!("Bearer {}", emulator.token()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(
            answer.headers()["content-type"],
            "application/x-git-upload-pack-advertisement"
        );
        let missing = format!(
            "{}/acme/nothing.git/info/refs?service=git-upload-pack",
            emulator.base_url()
        );
        let answer = client
            .get(&missing)
            .header("authorization", basic(emulator.token()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404);

        // git itself fails at once without asking anyone.
        let scratch = Scratch::new("refused");
        let clone_url = emulator.clone_url("acme", "widgets");
        let (success, _, stderr) = git(
            &scratch.0,
            Some("wrong"),
            &["clone", "--quiet", &clone_url, "w"],
        );
        assert!(!success);
        // The header was refused, so git asks for credentials, and with
        // prompts off it stops there.
        assert!(
            stderr.contains("could not read Username") || stderr.contains("Authentication failed"),
            "{stderr}"
        );
        let (success, _, _) = git(&scratch.0, None, &["clone", "--quiet", &clone_url, "w2"]);
        assert!(!success);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn gzipped_negotiations_are_inflated() {
        let emulator = GitHubEmulator::start().await.unwrap();
        emulator.create_repo("acme", "widgets");
        let token = emulator.token().to_owned();
        let scratch = Scratch::new("gzip");
        let url = emulator.clone_url("acme", "widgets");
        ok(&scratch.0, None, &["init", "--quiet", "work"]);
        let work = scratch.0.join("work");
        // Many local commits the server lacks, none in common, make long
        // lists of `have` lines, which git sends gzipped.
        for n in 0..200 {
            ok(
                &work,
                None,
                &[
                    "commit",
                    "--quiet",
                    "--allow-empty",
                    "-m",
                    &format!("local {n}"),
                ],
            );
        }
        ok(
            &work,
            Some(&token),
            &["fetch", "--quiet", &url, "main:theirs"],
        );
        assert_eq!(ok(&work, None, &["show", "theirs:README.md"]), "# widgets");
        assert!(
            emulator
                .requests()
                .iter()
                .any(|r| r.header("content-encoding") == Some("gzip")),
            "git sent no gzipped request"
        );
    }
}
