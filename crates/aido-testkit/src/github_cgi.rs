//! One request answered by `git http-backend`, run as a CGI program: the
//! request becomes its environment and standard input, its standard output
//! becomes the answer.
//!
//! git's own server for the smart HTTP protocol is the reference
//! implementation of that protocol, so the emulator runs it rather than
//! speaking pack negotiation itself. The CGI variables it reads are those
//! of RFC 3875 plus `GIT_PROJECT_ROOT` (where repositories live),
//! `GIT_HTTP_EXPORT_ALL` (serve every repository there), and the request
//! headers it cares about as `HTTP_*` variables: `HTTP_CONTENT_ENCODING`
//! (git sends large fetch negotiations gzipped; http-backend inflates
//! them) and `HTTP_GIT_PROTOCOL` (protocol version 2).

use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How long one git request may take before it is given up on.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The request, as the CGI program sees it.
#[derive(Debug)]
pub(crate) struct CgiRequest<'a> {
    /// `GET` or `POST`.
    pub(crate) method: &'a str,
    /// The path below the project root: `/<owner>/<name>.git/info/refs`.
    pub(crate) path_info: String,
    /// The query string, without `?`.
    pub(crate) query: &'a str,
    /// The request's `Content-Type`.
    pub(crate) content_type: Option<&'a str>,
    /// The request's `Content-Encoding` (`gzip` for large negotiations).
    pub(crate) content_encoding: Option<&'a str>,
    /// The request's `Git-Protocol` header (`version=2`).
    pub(crate) git_protocol: Option<&'a str>,
    /// Who authenticated; http-backend allows pushes only when it is set.
    pub(crate) remote_user: &'a str,
    /// The request body.
    pub(crate) body: &'a [u8],
}

/// What the program answered.
#[derive(Debug)]
pub(crate) struct CgiAnswer {
    /// The status from its `Status:` header; 200 when it sent none.
    pub(crate) status: u16,
    /// Its other headers, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// Everything after the headers.
    pub(crate) body: Vec<u8>,
}

/// Runs `git http-backend` for `request`, serving the repositories under
/// `project_root`. `env` is added to its environment (the emulator keeps
/// the machine's git configuration out with it).
pub(crate) async fn run(
    project_root: &Path,
    request: &CgiRequest<'_>,
    env: &[(&str, &str)],
) -> io::Result<CgiAnswer> {
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &request.path_info)
        .env("QUERY_STRING", request.query)
        .env("REQUEST_METHOD", request.method)
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_USER", request.remote_user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in [
        ("CONTENT_TYPE", request.content_type),
        ("HTTP_CONTENT_ENCODING", request.content_encoding),
        ("HTTP_GIT_PROTOCOL", request.git_protocol),
    ] {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("`git http-backend` did not start (is git installed?): {err}"),
        )
    })?;
    let stdin = child.stdin.take();
    // The body is written while the answer is read: a program that starts
    // answering before it has read everything must not block on a full
    // pipe.
    let write = async move {
        if let Some(mut stdin) = stdin {
            // A program that stops reading early closes the pipe; its
            // answer says why, so a write error here is not the story.
            let _ = stdin.write_all(request.body).await;
            let _ = stdin.shutdown().await;
        }
    };
    let run = async {
        let ((), output) = tokio::join!(write, child.wait_with_output());
        output
    };
    let output = tokio::time::timeout(TIMEOUT, run).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("`git http-backend` took longer than {TIMEOUT:?}"),
        )
    })??;
    if !output.stderr.is_empty() {
        tracing::debug!(
            path = %request.path_info,
            "git http-backend: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if output.stdout.is_empty() && !output.status.success() {
        return Err(io::Error::other(format!(
            "`git http-backend` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    parse(&output.stdout)
}

/// Splits a CGI program's output into status, headers and body.
pub(crate) fn parse(output: &[u8]) -> io::Result<CgiAnswer> {
    let (head, body) = split_head(output).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the CGI program's answer has no blank line after its headers",
        )
    })?;
    let head = String::from_utf8_lossy(head);
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the CGI program sent a header line without `:`: `{line}`"),
            ));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("");
            status = code
                .parse::<u16>()
                .ok()
                .filter(|code| (100..=599).contains(code))
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the CGI program sent an invalid status `{value}`"),
                    )
                })?;
        } else {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    Ok(CgiAnswer {
        status,
        headers,
        body: body.to_vec(),
    })
}

/// The headers and the body, split at the first empty line (`\r\n\r\n`,
/// or `\n\n` from programs that end lines with `\n` only).
fn split_head(output: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = find(output, b"\r\n\r\n").map(|at| (at, 4));
    let lf = find(output, b"\n\n").map(|at| (at, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => return None,
    };
    Some((&output[..at], &output[at + len..]))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_headers_and_body_are_split() {
        let answer =
            parse(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope\r\n\r\nmore")
                .unwrap();
        assert_eq!(answer.status, 404);
        assert_eq!(
            answer.headers,
            vec![("Content-Type".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(answer.body, b"nope\r\n\r\nmore");
    }

    #[test]
    fn no_status_is_200_and_bare_newlines_work() {
        let answer = parse(b"Expires: never\n\n\x00\x01binary").unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, b"\x00\x01binary");
    }

    #[test]
    fn bad_output_is_an_error_naming_it() {
        let err = parse(b"no blank line").unwrap_err();
        assert!(err.to_string().contains("blank line"), "{err}");
        let err = parse(b"Status: abc\r\n\r\n").unwrap_err();
        assert!(err.to_string().contains("`abc`"), "{err}");
        let err = parse(b"garbage\r\n\r\n").unwrap_err();
        assert!(err.to_string().contains("`garbage`"), "{err}");
    }
}
